/* Private interface between the files of the Dockerfile parser
 * (src/build/dockerfile*.c): the result arena, Go-compatible UTF-8 and
 * Unicode helpers (unicode.IsSpace, strings.ToLower, strconv.Quote), the
 * instruction line parsers, the JSON exec form and heredoc detection.
 *
 * Text is handled as (pointer, length) because a Dockerfile may contain NUL
 * bytes; every string stored in the tree is also NUL-terminated. */
#ifndef MTK_BUILD_DOCKERFILE_INT_H
#define MTK_BUILD_DOCKERFILE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build/dockerfile.h"
#include "util/strbuf.h"

#define DF_RUNE_ERROR 0xFFFD
#define DF_MAX_LINE 65535 /* bufio.MaxScanTokenSize - 1 */

/* Every allocation of a result: freed in one call. */
struct mtk_df_arena {
  void **ptrs; /* owned: malloc'd blocks (zeroed) */
  size_t n;    /* entries used */
  size_t cap;  /* entries allocated */
  char *cur;   /* borrowed: free space of the current chunk */
  size_t left; /* bytes left at cur */
};

void *mtk_df_arena_alloc(struct mtk_df_arena *a, size_t n); /* zeroed */
char *mtk_df_arena_strndup(struct mtk_df_arena *a, const char *s, size_t n);
void mtk_df_arena_free(struct mtk_df_arena *a);

/* --- UTF-8 and Unicode with Go's semantics (dockerfile_unicode.c) --- */

/* utf8.DecodeRune: the rune at s (n > 0 bytes); an invalid or truncated
 * sequence gives DF_RUNE_ERROR with *width 1. */
int32_t mtk_df_utf8_decode(const char *s, size_t n, int *width);
/* utf8.DecodeLastRune of s[0:n] (n > 0). */
int32_t mtk_df_utf8_decode_last(const char *s, size_t n, int *width);
/* strings.Builder.WriteRune: invalid runes are written as U+FFFD. */
void mtk_df_utf8_add(struct mtk_strbuf *sb, int32_t r);

bool mtk_df_is_space(int32_t r);    /* unicode.IsSpace */
bool mtk_df_is_letter(int32_t r);   /* unicode.IsLetter */
bool mtk_df_is_digit(int32_t r);    /* unicode.IsDigit */
bool mtk_df_is_print(int32_t r);    /* strconv.IsPrint */
int32_t mtk_df_to_lower(int32_t r); /* unicode.ToLower */

/* strings.TrimLeftFunc / TrimRightFunc(unicode.IsSpace): bytes to skip at
 * the start, bytes kept from the start. */
size_t mtk_df_space_prefix(const char *s, size_t n);
size_t mtk_df_trim_right_len(const char *s, size_t n);
/* strings.ToLower into sb (appended). */
void mtk_df_lower(struct mtk_strbuf *sb, const char *s, size_t n);
/* strconv.Quote appended to sb. */
void mtk_df_quote(struct mtk_strbuf *sb, const char *s, size_t n);

/* --- instruction lines (dockerfile_instr.c) --- */

/* The parser state the line parsers read. */
struct df_ctx {
  struct mtk_df_arena *arena; /* borrowed */
  char escape;                /* escape token: '\\' or '`' */
  char *emsg;                 /* owned: error message of the failing call */
};

/* newNodeFromLine: splits an instruction line into keyword, flags and
 * arguments and dispatches on the keyword.  NULL with ctx->emsg on error. */
struct mtk_df_node *mtk_df_node_from_line(struct df_ctx *ctx, const char *line, size_t n);
/* parseJSON: 1 = a JSON array of strings (*out = argument chain, may be NULL),
 * 0 = not a JSON array (fall back to the shell form), -1 = an array holding
 * something else than strings (ctx->emsg set). */
int mtk_df_parse_json(struct df_ctx *ctx, const char *s, size_t n, struct mtk_df_node **out);

/* --- heredocs (dockerfile_heredoc.c) --- */

/* Whether an instruction node may carry heredocs (canContainHeredoc). */
bool mtk_df_can_contain_heredoc(const struct mtk_df_node *node);
/* heredocsFromLine: the heredocs announced on an instruction line, names
 * in the arena; *n receives the count.  -1 with ctx->emsg on error. */
int mtk_df_heredocs_from_line(struct df_ctx *ctx, const char *line, size_t n,
                              struct mtk_df_heredoc **out, size_t *count);

/* --- parser directives (dockerfile_directive.c) --- */

struct df_directives {
  bool done;    /* the directive section is over */
  int line;     /* lines seen */
  bool seen[3]; /* syntax, escape, check */
};

/* DirectiveParser.ParseLine for one line: 1 and *name/value (spans of line)
 * when it is a directive, 0 when not, -1 with *emsg on a repeated one. */
int mtk_df_directive_line(struct df_directives *d, const char *line, size_t n, int *kind,
                          const char **value, size_t *value_len, char **emsg);
/* The names of the kinds returned by mtk_df_directive_line. */
extern const char *const mtk_df_directive_names[3];
/* The value of directive `name` as BuildKit's DetectSyntax (syntax: also
 * "//" comments and after a "#!" line) and ParseDirective (check) find it. */
char *mtk_df_detect_directive(struct mtk_df_arena *a, const char *name, const char *text,
                              size_t len);

#endif
