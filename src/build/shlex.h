/* Shell-word expansion of Dockerfile instructions, with the behaviour of BuildKit's
 * shell lexer (moby/buildkit frontend/dockerfile/shell, Lex.ProcessWord, ProcessWords and
 * ProcessWordWithMatches): $VAR, ${VAR}, ${VAR:-w} ${VAR-w} ${VAR:+w} ${VAR+w} ${VAR:?w}
 * ${VAR?w}, ${VAR#p} ${VAR##p} ${VAR%p} ${VAR%%p}, ${VAR/p/r} ${VAR//p/r}, single and double
 * quotes, the escape token (`\` or the backtick of `# escape=``), word splitting after
 * expansion, and BuildKit's error texts.  Characters are Unicode as Go sees them: letters and
 * digits of variable names and white space that splits words follow Go's `unicode` tables,
 * and a byte of the word that is not valid UTF-8 comes out as U+FFFD.  Two deliberate
 * differences, for hostile input only: ${...} nested more than 256 deep is an error (BuildKit
 * has no limit; a C stack has one), and so is an expansion longer than the lexer's size limit
 * (nested ${X//p/r} multiply lengths; BuildKit would exhaust memory). */
#ifndef MTK_BUILD_SHLEX_H
#define MTK_BUILD_SHLEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtk/err.h"

struct mtk_strmap;

/* A lexer with an escape token; not safe to share between threads during a call. */
struct mtk_shlex;

/* BuildKit's Lex switches (all off after mtk_shlex_new). */
enum mtk_shlex_flags {
  MTK_SHLEX_RAW_QUOTES = 1u << 0,          /* Lex.RawQuotes: quote characters are kept */
  MTK_SHLEX_RAW_ESCAPES = 1u << 1,         /* Lex.RawEscapes: escape tokens are kept */
  MTK_SHLEX_SKIP_PROCESS_QUOTES = 1u << 2, /* Lex.SkipProcessQuotes: quotes are plain text */
  MTK_SHLEX_SKIP_UNSET_ENV = 1u << 3,      /* Lex.SkipUnsetEnv: an unset $X stays "$X" */
};

/* A lexer whose escape token is `escape` ('\\' or '`'); never NULL. */
struct mtk_shlex *mtk_shlex_new(char escape);
void mtk_shlex_free(struct mtk_shlex *l);
/* Sets the switches (an OR of enum mtk_shlex_flags); replaces the earlier ones. */
void mtk_shlex_set_flags(struct mtk_shlex *l, unsigned flags);
unsigned mtk_shlex_flags(const struct mtk_shlex *l);

/* The longest expansion a call may build, in bytes (default MTK_SHLEX_DEFAULT_LIMIT); a
   longer one fails with "expansion longer than N bytes". */
#define MTK_SHLEX_DEFAULT_LIMIT ((size_t) 64 << 20)
void mtk_shlex_set_limit(struct mtk_shlex *l, size_t bytes);

/* Lex.ProcessWord: `word` with its variables expanded and its quotes and escapes removed.
   env: a key with a NULL value counts as unset.  Returns an owned string, or NULL with *err
   (code MTK_E_BUILD, BuildKit's text: `failed to process "WORD": syntax error: missing '}'`,
   `... : NAME: is not allowed to be unset`, ...). */
char *mtk_shlex_word(struct mtk_shlex *l, const char *word, const struct mtk_strmap *env,
                     struct mtk_err **err);

/* Lex.ProcessWords: like mtk_shlex_word, then split into words at unquoted white space
   (also white space that came from an unquoted $VAR).  Returns an owned NULL-terminated array
   of owned strings (free it with mtk_shlex_words_free) and its length in *n (may be NULL);
   NULL with *err on failure.  BuildKit's quirks are kept: empty quotes make no word, and
   text of the current word before a ${VAR<op>...} is dropped ("a${X:-b}c" -> "bc"). */
char **mtk_shlex_words(struct mtk_shlex *l, const char *word, const struct mtk_strmap *env,
                       size_t *n, struct mtk_err **err);
/* mtk_shlex_words on word[0..len), which may hold NUL bytes (a Dockerfile line may): when
   `lens` is not NULL, *lens receives an owned array (free()) of the words' lengths, as a word
   may hold NUL bytes too. */
char **mtk_shlex_words_n(struct mtk_shlex *l, const char *word, size_t len,
                         const struct mtk_strmap *env, size_t *n, size_t **lens,
                         struct mtk_err **err);
void mtk_shlex_words_free(char **words);

/* Lex.ProcessWordWithMatches: like mtk_shlex_word, and adds (key, NULL value) to `matched` for
   each variable that was looked up and set, and to `unmatched` for each that was looked up and
   unset (BuildKit's unmatched set, which the UndefinedVar build check reports).  Either map may
   be NULL; entries are added, never removed, also when the call fails part way. */
char *mtk_shlex_word_ex(struct mtk_shlex *l, const char *word, const struct mtk_strmap *env,
                        struct mtk_strmap *matched, struct mtk_strmap *unmatched,
                        struct mtk_err **err);

/* --- Internal to src/build/shlex*.c (the patterns, shlex_glob.c; characters are classed by
   util/gostr.h) --- */

/* ${VAR#p} ${VAR##p} (suffix false) and ${VAR%p} ${VAR%%p} (suffix true): `value` without its
   shortest (greedy: longest) prefix or suffix matching the shell pattern `pattern` (`*`, `?`,
   `\*` `\?` `\\`, `\}` and `\/`).  Returns an owned string, or NULL with *err for an invalid
   escape in the pattern. */
char *mtk_shlex_trim(const char *value, const char *pattern, bool suffix, bool greedy,
                     struct mtk_err **err);

/* ${VAR/p/r} and ${VAR//p/r} (all): `value` with the first (every) leftmost match of `pattern`
   (`*` greedy) replaced by `repl`; for `all`, `repl` is a Go regexp template ($0, ${0}, $$).
   Returns an owned string, or NULL with *err for an invalid pattern or a result longer than
   `limit` bytes. */
char *mtk_shlex_replace(const char *value, const char *pattern, const char *repl, bool all,
                        size_t limit, struct mtk_err **err);

#endif
