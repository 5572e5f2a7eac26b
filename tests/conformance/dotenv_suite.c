/* The dotenv suite of mtk-conformance (placeholder until it is written). */
#include "config.h"

#include <stdio.h>

#include "conformance.h"

int mtk_conf_dotenv(int argc, char **argv)
{
  fprintf(stderr, "mtk-conformance: the dotenv suite is not built yet\n");
  return 2;
}
