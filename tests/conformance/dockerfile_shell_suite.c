/* The dockerfile-shell and dockerfile-words suites of mtk-conformance: BuildKit's shell
 * expansion vectors (shared/conformance/dockerfile/shell/envVarTest and wordsTest, format in
 * shared/conformance/dockerfile/README.md sections 4 and 5), read line by line exactly as
 * BuildKit's lex_test.go reads them, run through mtk_shlex_word / mtk_shlex_words.  Lines
 * tagged W (Windows only) are skipped, as BuildKit skips them on Linux.  Prints one line per
 * failing case and ends with "N passed, M failed". */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/shlex.h"
#include "conformance.h"
#include "util/cleanup.h"
#include "util/gostr.h"
#include "util/strbuf.h"
#include "util/strmap.h"

struct tally {
  size_t passed; /* cases that passed */
  size_t failed; /* cases that failed (each printed) */
};

MTK_DEFINE_AUTOPTR(mtk_shlex, mtk_shlex_free)

static char *quote(const char *s)
{
  return mtk_go_quote(s, strlen(s));
}

/* Go's strings.TrimSpace (Unicode white space at both ends); returns an owned copy. */
static char *trim_space(const char *s)
{
  size_t n = strlen(s), start = mtk_go_space_prefix(s, n);
  return mtk_xstrndup(s + start, mtk_go_trim_right_len(s + start, n - start));
}

/* Splits s at every `sep` (Go's strings.Split); returns an owned NULL-terminated array. */
static char **split(const char *s, char sep, size_t *n)
{
  size_t cap = 2;
  char **v = mtk_xcalloc(cap + 1, sizeof(*v));
  *n = 0;
  for (;;) {
    const char *e = strchr(s, sep);
    if (*n + 1 >= cap) {
      cap *= 2;
      v = mtk_xrealloc(v, (cap + 1) * sizeof(*v));
    }
    v[(*n)++] = e ? mtk_xstrndup(s, (size_t) (e - s)) : mtk_xstrdup(s);
    v[*n] = NULL;
    if (!e)
      return v;
    s = e + 1;
  }
}

static void strv_free(char ***v)
{
  mtk_shlex_words_free(*v);
  *v = NULL;
}

#define mtk_autostrv __attribute__((cleanup(strv_free))) char **

/* Reads the next line as bufio.Scanner does (a "\r" before the "\n" is dropped). */
static char *read_line(FILE *f, char **buf, size_t *cap)
{
  ssize_t len = getline(buf, cap, f);
  if (len < 0)
    return NULL;
  if (len > 0 && (*buf)[len - 1] == '\n')
    (*buf)[--len] = '\0';
  if (len > 0 && (*buf)[len - 1] == '\r')
    (*buf)[--len] = '\0';
  return *buf;
}

static void count(struct tally *t, bool ok)
{
  if (ok)
    t->passed++;
  else
    t->failed++;
}

/* One envVarTest case: ProcessWord(source) must give `expected`, or fail for "error". */
static bool run_word(struct mtk_shlex *lex, const struct mtk_strmap *env, const char *file,
                     int line, const char *source, const char *expected)
{
  struct mtk_err *err = NULL;
  mtk_autofree char *got = mtk_shlex_word(lex, source, env, &err);
  mtk_autofree char *qs = quote(source);
  if (strcmp(expected, "error") == 0) {
    if (!got) {
      mtk_err_free(&err);
      return true;
    }
    mtk_autofree char *qg = quote(got);
    printf("FAIL %s:%d: %s: expected an error, got %s\n", file, line, qs, qg);
    return false;
  }
  mtk_autofree char *qe = quote(expected);
  if (!got) {
    printf("FAIL %s:%d: %s: expected %s, got error: %s\n", file, line, qs, qe, err->msg);
    mtk_err_free(&err);
    return false;
  }
  if (strcmp(got, expected) == 0)
    return true;
  mtk_autofree char *qg = quote(got);
  printf("FAIL %s:%d: %s: expected %s, got %s\n", file, line, qs, qe, qg);
  return false;
}

/* One envVarTest line: "platform | source | expected". */
static void env_var_line(struct mtk_shlex *lex, const struct mtk_strmap *env, const char *file,
                         int lineno, const char *raw, struct tally *t)
{
  size_t n;
  mtk_autofree char *line = trim_space(raw);
  if (raw[0] == '#' || !line[0])
    return;
  mtk_autostrv f = split(line, '|', &n);
  if (n != 3) {
    printf("FAIL %s:%d: malformed line (%zu fields, want 3)\n", file, lineno, n);
    t->failed++;
    return;
  }
  mtk_autofree char *platform = trim_space(f[0]);
  mtk_autofree char *source = trim_space(f[1]);
  mtk_autofree char *expected = trim_space(f[2]);
  if (strcmp(platform, "W") == 0)
    return; /* Windows only */
  if (strcmp(platform, "A") != 0 && strcmp(platform, "U") != 0) {
    printf("FAIL %s:%d: invalid platform tag %s (want W, A or U)\n", file, lineno, platform);
    t->failed++;
    return;
  }
  count(t, run_word(lex, env, file, lineno, source, expected));
}

int mtk_conf_dockerfile_shell(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: mtk-conformance dockerfile-shell FILE\n");
    return 2;
  }
  mtk_autofclose FILE *f = fopen(argv[1], "r");
  if (!f) {
    fprintf(stderr, "mtk-conformance: %s: %m\n", argv[1]);
    return 2;
  }
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_strmap_set(&env, "PWD", "/home");
  mtk_strmap_set(&env, "SHELL", "bash");
  mtk_strmap_set(&env, "KOREAN", "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4");
  mtk_strmap_set(&env, "NULL", "");
  mtk_autoptr(mtk_shlex) lex = mtk_shlex_new('\\');
  mtk_autofree char *buf = NULL;
  size_t cap = 0;
  struct tally t = {0, 0};
  for (int lineno = 1; read_line(f, &buf, &cap); lineno++)
    env_var_line(lex, &env, argv[1], lineno, buf, &t);
  printf("%zu passed, %zu failed\n", t.passed, t.failed);
  return t.failed ? 1 : 0;
}

/* Joins a word list for messages: ["a" "b"]. */
static char *list_text(char **v)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_addc(&sb, '[');
  for (size_t i = 0; v && v[i]; i++) {
    mtk_autofree char *q = quote(v[i]);
    mtk_strbuf_addf(&sb, "%s%s", i ? " " : "", q);
  }
  mtk_strbuf_addc(&sb, ']');
  return mtk_strbuf_steal(&sb);
}

/* One wordsTest case: "input | w1,w2,..." (or "error"). */
static bool run_words(struct mtk_shlex *lex, const struct mtk_strmap *env, const char *file,
                      int lineno, const char *line)
{
  size_t n, nexp, ngot = 0;
  mtk_autostrv f = split(line, '|', &n);
  if (n != 2) {
    printf("FAIL %s:%d: malformed line (%zu '|', want 1)\n", file, lineno, n - 1);
    return false;
  }
  mtk_autofree char *input = trim_space(f[0]);
  /* strings.TrimLeft(right, " "): trailing spaces are significant. */
  mtk_autostrv expected = split(f[1] + strspn(f[1], " "), ',', &nexp);
  struct mtk_err *err = NULL;
  mtk_autostrv got = mtk_shlex_words(lex, input, env, &ngot, &err);
  if (!got) {
    mtk_err_free(&err);
    got = split("error", ',', &ngot);
  }
  bool ok = ngot == nexp;
  for (size_t i = 0; ok && i < nexp; i++)
    ok = strcmp(got[i], expected[i]) == 0;
  if (!ok) {
    mtk_autofree char *qi = quote(input);
    mtk_autofree char *qe = list_text(expected);
    mtk_autofree char *qg = list_text(got);
    printf("FAIL %s:%d: %s: expected %s, got %s\n", file, lineno, qi, qe, qg);
  }
  return ok;
}

int mtk_conf_dockerfile_words(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: mtk-conformance dockerfile-words FILE\n");
    return 2;
  }
  mtk_autofclose FILE *f = fopen(argv[1], "r");
  if (!f) {
    fprintf(stderr, "mtk-conformance: %s: %m\n", argv[1]);
    return 2;
  }
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_autoptr(mtk_shlex) lex = mtk_shlex_new('\\');
  mtk_autofree char *buf = NULL;
  size_t cap = 0;
  struct tally t = {0, 0};
  for (int lineno = 1; read_line(f, &buf, &cap); lineno++) {
    if (buf[0] == '#')
      continue;
    if (strncmp(buf, "ENV ", 4) == 0) {
      /* "ENV name=value": a later entry for a name wins; no '=' means set and empty. */
      const char *e = buf + 3 + strspn(buf + 3, " ");
      const char *eq = strchr(e, '=');
      mtk_autofree char *k = eq ? mtk_xstrndup(e, (size_t) (eq - e)) : mtk_xstrdup(e);
      mtk_strmap_set(&env, k, eq ? eq + 1 : "");
      continue;
    }
    count(&t, run_words(lex, &env, argv[1], lineno, buf));
  }
  printf("%zu passed, %zu failed\n", t.passed, t.failed);
  return t.failed ? 1 : 0;
}
