/* The YAML document tree of the compose loader: every node keeps the file,
 * line and column it came from, so that each later stage (interpolation,
 * canonical form, merge, normalisation) can point errors at the input.
 * Scalars keep their text and their YAML 1.2 core-schema type. */
#ifndef MTK_COMPOSE_NODE_H
#define MTK_COMPOSE_NODE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtk/err.h"
#include "util/cleanup.h"

enum mtk_node_kind {
  MTK_NODE_SCALAR,
  MTK_NODE_SEQ,
  MTK_NODE_MAP,
};

/* Core-schema type of a scalar.  A quoted scalar is always STR; so is the
 * result of interpolation until a stage that knows the attribute casts it. */
enum mtk_scalar_type {
  MTK_SCALAR_STR,
  MTK_SCALAR_NULL,
  MTK_SCALAR_BOOL,
  MTK_SCALAR_INT,
  MTK_SCALAR_FLOAT,
};

struct mtk_node;

struct mtk_node_pair {
  char *key; /* owned: mapping key as text */
  int line;  /* position of the key */
  int col;
  struct mtk_node *val; /* owned */
};

struct mtk_node {
  enum mtk_node_kind kind;
  enum mtk_scalar_type type;   /* SCALAR only */
  char *str;                   /* owned: SCALAR text (NULL scalar: "" or "null" or "~") */
  int64_t ival;                /* SCALAR INT value; BOOL: 0/1 */
  double fval;                 /* SCALAR FLOAT value */
  char *tag;                   /* owned: explicit tag ("!reset", "!override") or NULL */
  const char *file;            /* borrowed: interned path (mtk_node_intern), may be NULL */
  int line;                    /* 1-based; 0 for synthesised nodes */
  int col;                     /* 1-based; 0 for synthesised nodes */
  struct mtk_node **items;     /* owned: SEQ items */
  struct mtk_node_pair *pairs; /* owned: MAP entries, in document order, keys unique */
  size_t len;                  /* SEQ items / MAP pairs used */
  size_t cap;                  /* allocated */
};

/* Returns a string with process lifetime equal to s (file names in nodes). */
const char *mtk_node_intern(const char *s);

/* Constructors.  `at` (may be NULL) gives the file/line/col to copy. */
struct mtk_node *mtk_node_new_map(const struct mtk_node *at);
struct mtk_node *mtk_node_new_seq(const struct mtk_node *at);
struct mtk_node *mtk_node_new_str(const char *s, const struct mtk_node *at);
struct mtk_node *mtk_node_new_null(const struct mtk_node *at);
struct mtk_node *mtk_node_new_bool(bool b, const struct mtk_node *at);
struct mtk_node *mtk_node_new_int(int64_t v, const struct mtk_node *at);
struct mtk_node *mtk_node_new_float(double v, const struct mtk_node *at);
/* A plain (unquoted) scalar resolved with the YAML 1.2 core schema as
 * go-yaml v4 does (null/~/"", true/false, ints incl. 0x, 0o and leading-0
 * octal and '_' separators, floats, .inf/.nan; anything else a string). */
struct mtk_node *mtk_node_new_plain(const char *s, const struct mtk_node *at);

/* Deep copy (positions and tags kept). */
struct mtk_node *mtk_node_copy(const struct mtk_node *n);
void mtk_node_free(struct mtk_node *n);
/* Releases the contents of n and turns it into a null scalar ("" text, no
 * tag) in place; its position is kept. */
void mtk_node_clear(struct mtk_node *n);
/* `mtk_autoptr(mtk_node) n = ...` frees n at scope exit. */
MTK_DEFINE_AUTOPTR(mtk_node, mtk_node_free)

bool mtk_node_is_null(const struct mtk_node *n); /* NULL pointer or null scalar */
bool mtk_node_is_str(const struct mtk_node *n);  /* STR scalar */
bool mtk_node_is_map(const struct mtk_node *n);
bool mtk_node_is_seq(const struct mtk_node *n);
bool mtk_node_has_tag(const struct mtk_node *n, const char *tag);
/* Name of the node's kind for messages: "a mapping", "a sequence", "a string", "a number"... */
const char *mtk_node_kind_name(const struct mtk_node *n);

/* The Go type compose-go would see for n after decoding ("string", "int",
 * "float64", "bool", "<nil>", "map[string]interface {}", "[]interface {}"),
 * for messages worded as compose-go's. */
const char *mtk_compose_go_type(const struct mtk_node *n);

/* fmt.Sprint of a scalar, i.e. how compose-go turns a decoded YAML value into
 * a string: STR as is, INT in decimal, FLOAT as Go's %v (mtk_compose_go_float),
 * BOOL true/false, null "".  For a mapping, a sequence or a NULL node: a copy
 * of `otherwise`, or NULL when otherwise is NULL.  Owned. */
char *mtk_node_scalar_text(const struct mtk_node *n, const char *otherwise);

/* compose-go's isTrue (Normalize): strconv.ParseBool of the scalar's
 * fmt.Sprint text ("1", "t", "T", "TRUE", "true", "True"); false otherwise. */
bool mtk_node_is_true(const struct mtk_node *n);

/* The bool compose-go's decoding makes of a scalar: a BOOL (or INT) as is, a
 * string through toBoolean (mtk_compose_parse_bool: true/false, y/yes/on,
 * n/no/off in any case).  Returns false, *out false, when n is null, not a
 * scalar, a float, or a string that is not a boolean. */
bool mtk_node_decode_bool(const struct mtk_node *n, bool *out);

/* MAP access. get returns a borrowed node or NULL. set takes ownership of
 * val, replacing (and freeing) an existing value in place or appending.
 * take removes the entry and returns its value (caller owns) or NULL. */
struct mtk_node *mtk_node_get(const struct mtk_node *map, const char *key);
const struct mtk_node_pair *mtk_node_get_pair(const struct mtk_node *map, const char *key);
void mtk_node_set(struct mtk_node *map, const char *key, struct mtk_node *val);
struct mtk_node *mtk_node_take(struct mtk_node *map, const char *key);
/* Appends key/val (val owned) without looking for an existing key: for
 * callers that know the key is new (the parser checks with an index). */
void mtk_node_append(struct mtk_node *map, const char *key, struct mtk_node *val);
bool mtk_node_del(struct mtk_node *map, const char *key);
/* Text of a STR/INT/FLOAT/BOOL scalar entry, NULL when absent or not a scalar. */
const char *mtk_node_get_str(const struct mtk_node *map, const char *key);

/* SEQ: append, taking ownership. */
void mtk_node_push(struct mtk_node *seq, struct mtk_node *item);

/* Sets *err to "file:line:col: msg" (code MTK_E_INVALID) positioned at n. */
int mtk_node_err(const struct mtk_node *n, struct mtk_err **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* JSON of the tree: scalars by type (INT -> integer, FLOAT -> real, BOOL,
 * NULL -> null, STR -> string); tags dropped. New reference. */
json_t *mtk_node_to_json(const struct mtk_node *n);
/* The reverse, positions taken from `at` (may be NULL). */
struct mtk_node *mtk_node_from_json(const json_t *j, const struct mtk_node *at);

#endif
