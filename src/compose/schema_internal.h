/* The compiled form of the Compose JSON schema, shared by schema.c (which
 * compiles the embedded JSON once) and schema_check.c (which validates a
 * node tree against it).  Private to those two files. */
#ifndef MTK_COMPOSE_SCHEMA_INTERNAL_H
#define MTK_COMPOSE_SCHEMA_INTERNAL_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "compose/node.h"
#include "mtk/err.h"

/* JSON types as a bit set, in the order santhosh-tekuri lists them. */
enum {
  MTK_SCHEMA_T_NULL = 1 << 0,
  MTK_SCHEMA_T_BOOLEAN = 1 << 1,
  MTK_SCHEMA_T_NUMBER = 1 << 2,
  MTK_SCHEMA_T_INTEGER = 1 << 3,
  MTK_SCHEMA_T_STRING = 1 << 4,
  MTK_SCHEMA_T_ARRAY = 1 << 5,
  MTK_SCHEMA_T_OBJECT = 1 << 6,
};

/* A regular expression of the schema (Go RE2 syntax), matched as Go's
 * regexp.MatchString does (unanchored search). */
struct mtk_schema_re {
  const char *src;    /* borrowed: the pattern as written in the schema */
  const char *prefix; /* borrowed: set when the pattern is "^literal": a prefix test */
  size_t prefix_len;
  bool compiled; /* re is valid (prefix == NULL) */
  regex_t re;    /* POSIX translation of src */
};

struct mtk_schema_prop {
  const char *name;          /* borrowed (schema JSON) */
  struct mtk_schema *schema; /* borrowed (compiled schema graph) */
};

struct mtk_schema_pattern {
  struct mtk_schema_re *re;  /* owned */
  struct mtk_schema *schema; /* borrowed */
};

struct mtk_schema_list {
  struct mtk_schema **v; /* owned array of borrowed schemas */
  size_t n;
};

/* One compiled (sub)schema.  Everything lives as long as the process; the
 * JSON values (names, enum, const) are borrowed from the parsed schema. */
struct mtk_schema {
  int boolean;                   /* -1: an object schema; 0/1: the schema `false`/`true` */
  unsigned types;                /* MTK_SCHEMA_T_* bits, 0 = any */
  const json_t *constv;          /* borrowed, or NULL */
  const json_t *enumv;           /* borrowed array, or NULL */
  struct mtk_schema *ref;        /* $ref target, or NULL */
  struct mtk_schema_prop *props; /* owned, sorted by name */
  size_t n_props;
  struct mtk_schema_pattern *patterns; /* owned, in schema order */
  size_t n_patterns;
  struct mtk_schema *additional; /* additionalProperties schema (true/false schemas too), or NULL */
  const char **required;         /* owned array of borrowed names */
  size_t n_required;
  long min_props, max_props; /* -1 when absent */
  struct mtk_schema *items;  /* or NULL */
  bool unique_items;
  long min_items, max_items;       /* -1 when absent */
  long min_length, max_length;     /* -1 when absent */
  struct mtk_schema_re *pattern;   /* owned, or NULL */
  const json_t *minimum, *maximum; /* borrowed numbers, or NULL */
  const json_t *exclusive_minimum, *exclusive_maximum;
  struct mtk_schema_list all_of, any_of, one_of;
  struct mtk_schema *not_; /* or NULL */
};

/* The compiled root schema, or NULL with *err. */
const struct mtk_schema *mtk_compose_schema_root(struct mtk_err **err);

/* Go's regexp.MatchString(s) for a compiled schema expression. */
bool mtk_compose_schema_re_match(const struct mtk_schema_re *re, const char *s);

#endif
