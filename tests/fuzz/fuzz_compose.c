/* libFuzzer target for the whole compose loader: the input is written as a
 * compose file in a private directory and loaded through mtk_compose_load,
 * as `mtk config` would (YAML, interpolation, merge, schema, canonical form,
 * normalisation).  Any crash, leak or sanitizer report is a bug; errors are
 * expected. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtk/compose.h"

static char dir[] = "/tmp/mtk-fuzz-compose-XXXXXX";
static char path[sizeof(dir) + 32];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (path[0] == '\0') {
    if (mkdtemp(dir) == NULL)
      abort();
    snprintf(path, sizeof(path), "%s/compose.yaml", dir);
  }
  FILE *f = fopen(path, "w");
  if (f == NULL)
    abort();
  fwrite(data, 1, size, f);
  fclose(f);
  static char *env[] = {"HOME=/home/fuzz", "PATH=/usr/bin:/bin", "FOO=foo", "EMPTY=", NULL};
  const char *files[] = {path};
  struct mtk_compose_opts o = {
      .files = files,
      .n_files = 1,
      .environ = env,
      .workdir = dir,
  };
  struct mtk_err *err = NULL;
  struct mtk_project *p = mtk_compose_load(&o, &err);
  mtk_project_free(p);
  mtk_err_free(&err);
  return 0;
}
