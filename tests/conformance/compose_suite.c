/* The compose suite of mtk-conformance (placeholder until it is written). */
#include "config.h"

#include <stdio.h>

#include "conformance.h"

int mtk_conf_compose(int argc, char **argv)
{
  fprintf(stderr, "mtk-conformance: the compose suite is not built yet\n");
  return 2;
}
