/* libFuzzer target for .dockerignore matching (src/build/ignore.c and
 * ignore_regexp.c).  The input is an ignore file's text whose last line is
 * the path to match: the text goes through mtk_ignore_read and
 * mtk_ignore_load (ReadAll + New), the path (and its parents) through
 * mtk_ignore_matches, and the first line is also tried as a
 * filepath.Match glob.  Checks that every call either succeeds without an
 * error or fails with one, that errors of a loaded file name it and a line
 * inside it, that matching is repeatable, and that ReadAll and load agree
 * on the number of patterns. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "build/ignore.h"

static void check_err(int r, struct mtk_err **err)
{
  if ((r < 0) != (*err != NULL))
    abort();
  if (*err && (!(*err)->msg || !(*err)->msg[0]))
    abort();
  mtk_err_free(err);
}

static void match_all(const struct mtk_ignore *m, const char *path)
{
  struct mtk_err *err = NULL;
  bool ex1 = false, ex2 = false;
  int r1 = mtk_ignore_matches(m, path, &ex1, &err);
  check_err(r1, &err);
  int r2 = mtk_ignore_matches(m, path, &ex2, &err);
  check_err(r2, &err);
  if (r1 != r2 || (r1 == 0 && ex1 != ex2))
    abort();
  /* Each parent directory of the path, as a walk would ask. */
  mtk_autofree char *p = mtk_xstrdup(path);
  for (char *s = strrchr(p, '/'); s; s = strrchr(p, '/')) {
    *s = '\0';
    check_err(mtk_ignore_matches(m, p, &ex1, &err), &err);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct mtk_err *err = NULL;
  /* Paths hold no NUL byte: the path stops at one. */
  const char *text = (const char *) data, *nl = memrchr(text, '\n', size);
  size_t tlen = nl ? (size_t) (nl - text) : 0;
  mtk_autofree char *path = mtk_xstrndup(nl ? nl + 1 : text, nl ? size - tlen - 1 : size);
  char **pats = NULL;
  size_t n = 0;
  int r = mtk_ignore_read(text, tlen, &pats, &n, &err);
  check_err(r, &err);
  mtk_autoptr(mtk_ignore) m = mtk_ignore_load(text, tlen, "fuzz/.dockerignore", &err);
  if ((m == NULL) != (err != NULL))
    abort();
  if (err) {
    size_t lines = 1;
    for (size_t i = 0; i < tlen; i++)
      lines += text[i] == '\n';
    if (err->code != MTK_E_INVALID || !err->file || strcmp(err->file, "fuzz/.dockerignore") != 0 ||
        err->line < 1 || (size_t) err->line > lines)
      abort();
    mtk_err_free(&err);
  } else {
    if (r < 0 || mtk_ignore_len(m) > n)
      abort();
    match_all(m, path);
  }
  if (r == 0 && n > 0) {
    bool g;
    check_err(mtk_ignore_glob_match(pats[0], path, &g, &err), &err);
  }
  if (r == 0)
    mtk_ignore_patterns_free(pats, n);
  return 0;
}
