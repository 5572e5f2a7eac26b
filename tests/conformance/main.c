/* mtk-conformance: dispatch to the vector suites (see conformance.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "conformance.h"

static const struct {
  const char *name;
  int (*fn)(int, char **);
  const char *usage;
} suites[] = {
    {"interpolation", mtk_conf_interpolation, "interpolation FILE"},
    {"dotenv", mtk_conf_dotenv, "dotenv FILE"},
    {"compose", mtk_conf_compose, "compose [--mtk PATH] DIR|CASE..."},
    {"dockerfile-shell", mtk_conf_dockerfile_shell, "dockerfile-shell FILE"},
    {"dockerfile-words", mtk_conf_dockerfile_words, "dockerfile-words FILE"},
    {"dockerignore", mtk_conf_dockerignore, "dockerignore FILE"},
    {"dockerfile-parser", mtk_conf_dockerfile_parser, "dockerfile-parser DIR..."},
};

int main(int argc, char **argv)
{
  if (argc >= 2)
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
      if (strcmp(argv[1], suites[i].name) == 0)
        return suites[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "usage: mtk-conformance SUITE ARGS\nsuites:\n");
  for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
    fprintf(stderr, "  %s\n", suites[i].usage);
  return 2;
}
