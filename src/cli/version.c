/* `mtk version`: the version of mtk, as text or as JSON ({"Version": ...}). */
#include "config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"

int mtk_cli_version(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                    struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"format", required_argument, NULL, 'f'},
      {"short", no_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *format = "pretty";
  bool short_form = false;
  int c;
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, "+:f:h", longopts, NULL)) != -1) {
    switch (c) {
      case 'f':
        format = optarg;
        break;
      case 's':
        short_form = true;
        break;
      case 'h':
        mtk_cli_print_cmd_help(stdout, cmd);
        return 0;
      default:
        return mtk_cli_getopt_error(cmd, c, argv, err);
    }
  }
  if (optind < argc)
    return mtk_cli_usage_error(cmd, err, "unexpected argument \"%s\"", argv[optind]);
  if (short_form) {
    printf("%s\n", MTK_VERSION);
    return 0;
  }
  if (strcmp(format, "json") == 0) {
    /* One line, as `docker compose version --format json` prints it. */
    json_t *obj = json_pack("{ss}", "Version", MTK_VERSION);
    mtk_autofree char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    printf("%s\n", text);
    return 0;
  }
  if (strcmp(format, "pretty") != 0 && format[0] != '\0')
    return mtk_cli_usage_error(cmd, err, "invalid value \"%s\" for --format (pretty or json)",
                               format);
  printf("mtk version %s\n", MTK_VERSION);
  return 0;
}
