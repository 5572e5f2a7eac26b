/* libFuzzer target for the shell-word lexer (src/build/shlex.c, shlex_glob.c).  The first
 * input byte picks the escape token, the Lex switches and a variable set; the rest is the
 * word.  Checks: a call returns a value or a build error starting "failed to process ", never
 * both or neither; ProcessWord and ProcessWords fail on the same words; words are never empty and
 * the array is NULL-terminated; matched names are set and unmatched ones unset; a plain word (no $
 * < quotes or escape token, valid UTF-8, no BOM) comes back unchanged. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "build/shlex.h"
#include "util/cleanup.h"
#include "util/gostr.h"
#include "util/strmap.h"

static const char *const envs[][8] = {
    {"A", "xxyy", "B", "", "P", "*x?", "S", " a  b "},
    {"A", "/foo*/*/*.txt", "B", "\\*/", "P", "$0$$${0}", "S", "a\nb\nc"},
    {"A", "\xFF\xC3 \xE2\x80\x83", "B", "}", "P", "\\", "S", "${A:-x}"},
    {"\xED\x95\x9C", "han", "_1", "one", "P", "**a*a*b", "S", "\xC2\xA0"},
};

/* No byte of s is one the lexer treats specially, and s is valid UTF-8 without a BOM. */
static bool plain(const char *s, char esc)
{
  size_t n = strlen(s);
  uint32_t r;
  if (strpbrk(s, "$<'\"") || strchr(s, esc))
    return false;
  for (size_t i = 0, w; i < n; i += w) {
    w = mtk_utf8_decode(s + i, n - i, &r);
    if ((r == 0xFFFD && w == 1) || (i == 0 && r == 0xFEFF))
      return false;
  }
  return true;
}

static void check_err(char *r, struct mtk_err **err)
{
  if ((r == NULL) == (*err == NULL))
    abort();
  if (*err && ((*err)->code != MTK_E_BUILD || strncmp((*err)->msg, "failed to process ", 18)))
    abort();
}

static void check_names(const struct mtk_strmap *env, const struct mtk_strmap *m, bool set)
{
  for (size_t i = 0; i < m->len; i++)
    if ((mtk_strmap_get(env, m->keys[i], NULL) != NULL) != set)
      abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_autostrmap matched = MTK_STRMAP_INIT;
  mtk_autostrmap unmatched = MTK_STRMAP_INIT;
  const char *const *e = envs[data[0] & 3];
  for (int i = 0; i < 8; i += 2)
    mtk_strmap_set(&env, e[i], e[i + 1]);
  mtk_strmap_set(&env, "U", NULL);
  char esc = (data[0] & 4) ? '`' : '\\';
  unsigned flags = (data[0] >> 3) & 15;
  /* The word is a C string: it ends at the first NUL. */
  mtk_autofree char *word = mtk_xstrndup((const char *) data + 1, size - 1);
  struct mtk_shlex *l = mtk_shlex_new(esc);
  mtk_shlex_set_flags(l, flags);
  /* Nested ${X//p/r} multiply lengths: keep each run short. */
  mtk_shlex_set_limit(l, 1 << 16);
  struct mtk_err *err = NULL, *err2 = NULL;
  char *r = mtk_shlex_word_ex(l, word, &env, &matched, &unmatched, &err);
  check_err(r, &err);
  check_names(&env, &matched, true);
  check_names(&env, &unmatched, false);
  if (r && plain(word, esc) && strcmp(r, word) != 0)
    abort();
  size_t n = 0;
  char **w = mtk_shlex_words(l, word, &env, &n, &err2);
  check_err(w ? (char *) w : NULL, &err2);
  if ((r == NULL) != (w == NULL))
    abort();
  for (size_t i = 0; w && i < n; i++)
    if (!w[i] || !w[i][0])
      abort();
  if (w && w[n])
    abort();
  mtk_shlex_words_free(w);
  free(r);
  mtk_err_free(&err);
  mtk_err_free(&err2);
  mtk_shlex_free(l);
  return 0;
}
