/* libFuzzer target for the interpolation engine (src/compose/interp.c): the input is a
 * template; its first byte picks one of a few variable sets.  Checks that a call either
 * returns a string or sets an MTK_E_INVALID error, never both or neither. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose/interp.h"
#include "util/cleanup.h"
#include "util/strmap.h"

static const char *const envs[][6] = {
    {"A", "a", "B", "", "C", "${A}$$"},
    {"FOO", "first", "BAR", "", "JSON", "{\"json\":2}"},
    {"_", "}", "x", "${", "K", "\xE2\x84\xAA"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  mtk_autostrmap env = MTK_STRMAP_INIT;
  const char *const *e = envs[data[0] % (sizeof(envs) / sizeof(envs[0]))];
  for (int i = 0; i < 6; i += 2)
    mtk_strmap_set(&env, e[i], e[i + 1]);
  /* The template is a C string: it ends at the first NUL. */
  mtk_autofree char *tmpl = mtk_xstrndup((const char *) data + 1, size - 1);
  struct mtk_err *err = NULL;
  char *bad = NULL;
  char *r = mtk_interp_substitute_ex(tmpl, mtk_interp_strmap_lookup, &env, &bad, &err);
  if ((r == NULL) == (err == NULL))
    abort();
  if (err && (err->code != MTK_E_INVALID || !err->msg[0]))
    abort();
  /* A bad template is a piece of the input. */
  if (bad && !strstr(tmpl, bad))
    abort();
  if (!strchr(tmpl, '$') && (!r || strcmp(r, tmpl) != 0))
    abort();
  free(r);
  free(bad);
  mtk_err_free(&err);
  return 0;
}
