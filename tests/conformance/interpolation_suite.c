/* The interpolation suite of mtk-conformance (placeholder until it is written). */
#include "config.h"

#include <stdio.h>

#include "conformance.h"

int mtk_conf_interpolation(int argc, char **argv)
{
  fprintf(stderr, "mtk-conformance: the interpolation suite is not built yet\n");
  return 2;
}
