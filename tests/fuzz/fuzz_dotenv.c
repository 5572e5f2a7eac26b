/* libFuzzer target for the .env parser (src/compose/dotenv.c): the input is a .env text,
 * parsed with a small lookup environment.  Checks that a parse either succeeds without an
 * error or fails with an MTK_E_INVALID error naming the file and a line within the text. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compose/dotenv.h"
#include "compose/interp.h"
#include "util/strmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  mtk_autostrmap env = MTK_STRMAP_INIT;
  mtk_autostrmap out = MTK_STRMAP_INIT;
  struct mtk_err *err = NULL;
  mtk_strmap_set(&env, "A", "a");
  mtk_strmap_set(&env, "E", "");
  mtk_strmap_set(&env, "D", "${A}$$");
  int r = mtk_dotenv_parse((const char *) data, size, "fuzz.env", mtk_interp_strmap_lookup, &env,
                           &out, &err);
  if ((r < 0) != (err != NULL))
    abort();
  if (err) {
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
      lines += data[i] == '\n';
    if (err->code != MTK_E_INVALID || !err->msg[0] || strcmp(err->file, "fuzz.env") != 0 ||
        err->line < 1 || (size_t) err->line > lines + 1)
      abort();
  }
  for (size_t i = 0; i < out.len; i++)
    if (!out.keys[i] || !out.vals[i])
      abort();
  mtk_err_free(&err);
  return 0;
}
