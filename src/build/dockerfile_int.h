/* Private interface between the files of the Dockerfile parser
 * (src/build/dockerfile*.c): the result arena, the instruction line parsers,
 * the JSON exec form and heredoc detection.  Strings are handled as Go's
 * (unicode.IsSpace, strings.ToLower, strconv.Quote) by util/gostr.h.
 *
 * Text is handled as (pointer, length) because a Dockerfile may contain NUL
 * bytes; every string stored in the tree is also NUL-terminated. */
#ifndef MTK_BUILD_DOCKERFILE_INT_H
#define MTK_BUILD_DOCKERFILE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build/dockerfile.h"
#include "util/gostr.h"
#include "util/strbuf.h"

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
