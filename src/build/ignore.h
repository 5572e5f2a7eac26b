/* .dockerignore: reading the file and matching context paths against its
 * patterns with Docker's exact semantics (moby/patternmatcher at 5a6d842:
 * ignorefile.ReadAll, New, MatchesOrParentMatches).  This includes the
 * quirks that come from patternmatcher turning a pattern into a Go regexp
 * (`\d` is a digit class, `[[:alpha:]]` a POSIX class, a bad range is only
 * reported when the pattern is first evaluated, ...): see the top of
 * ignore.c. */
#ifndef MTK_BUILD_IGNORE_H
#define MTK_BUILD_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "mtk/err.h"
#include "util/cleanup.h"
#include "util/path.h"

/* A compiled pattern list. */
struct mtk_ignore;

/* ignorefile.ReadAll: splits an ignore file's text into its patterns (UTF-8
 * BOM stripped, `#` comments in column 1 dropped, whitespace trimmed, blank
 * lines skipped, each pattern cleaned like Go's filepath.Clean and one
 * leading `/` removed, a leading `!` kept).  *patterns receives a
 * NULL-terminated array of *n owned strings (free with
 * mtk_ignore_patterns_free).  Fails (MTK_E_INVALID, with the line) on a line
 * of 64 KiB or more (Go's bufio.Scanner limit) or one holding a NUL byte. */
int mtk_ignore_read(const char *text, size_t len, char ***patterns, size_t *n,
                    struct mtk_err **err);
void mtk_ignore_patterns_free(char **patterns, size_t n);

/* ReadAll + New for an ignore file's text: errors name `file` (may be NULL)
 * and the line of the offending pattern, also those reported later by
 * mtk_ignore_matches. */
struct mtk_ignore *mtk_ignore_load(const char *text, size_t len, const char *file,
                                   struct mtk_err **err);

/* patternmatcher.New: compiles the patterns (in file order).  Fails
 * (MTK_E_INVALID) on a bare `!` or a pattern that Go's filepath.Match
 * rejects.  Patterns whose regexp Go would reject compile here too; the
 * error is reported by mtk_ignore_matches when the pattern is evaluated. */
struct mtk_ignore *mtk_ignore_new(const char *const *patterns, size_t n, struct mtk_err **err);

/* MatchesOrParentMatches: *excluded is true when the `/`-separated,
 * context-relative path (or one of its parent directories) is excluded by
 * the last pattern that matches it.  The path is used as given (not
 * cleaned) except that a path cleaning to "." (the context root) is never
 * excluded.  Fails (MTK_E_INVALID) when an evaluated pattern is invalid. */
int mtk_ignore_matches(const struct mtk_ignore *m, const char *path, bool *excluded,
                       struct mtk_err **err);

/* True when some pattern is an exception (`!...`). */
bool mtk_ignore_has_exceptions(const struct mtk_ignore *m);

/* Number of compiled patterns (empty ones are dropped) and the cleaned text
 * of pattern i without its `!`; *exception (may be NULL) tells whether it
 * had one. */
size_t mtk_ignore_len(const struct mtk_ignore *m);
const char *mtk_ignore_pattern(const struct mtk_ignore *m, size_t i, bool *exception);

void mtk_ignore_free(struct mtk_ignore *m);
MTK_DEFINE_AUTOPTR(mtk_ignore, mtk_ignore_free)

/* Go's path/filepath.Match (as of Go 1.19, the version the conformance
 * vectors were checked with): `*`, `?`, `[...]` (negated with `^`), `\`
 * escapes; `*` and `?` never match '/'.  Fails (MTK_E_INVALID) on a
 * malformed pattern.  Used for COPY source wildcards. */
int mtk_ignore_glob_match(const char *pattern, const char *name, bool *matched,
                          struct mtk_err **err);

/* Go's path/filepath.Clean for `/`-separated paths ("" -> ".").  Owned result.  The old name
   of mtk_path_clean (util/path.h), for the callers not yet switched. */
static inline char *mtk_ignore_clean_path(const char *path)
{
  return mtk_path_clean(path);
}

#endif
