/* mtk: entry point. */
#include "config.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "version") == 0) {
    printf("mtk version %s\n", MTK_VERSION);
    return 0;
  }
  fprintf(stderr, "usage: mtk COMMAND\n");
  return 16;
}
