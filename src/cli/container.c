/* The handlers of `mtk container ...`: for now `container run` in the
 * foreground (runtime/container.c does the work).  Errors of a run are
 * printed here because their exit codes are Docker's (125, 126, 127), not
 * the ones main() maps error codes to. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"

static void print_run_error(const struct mtk_err *err, bool color)
{
  mtk_autofree char *text = mtk_err_format(err);
  fflush(stdout);
  fprintf(stderr, "%smtk:%s %s\n", color ? "\033[1;31m" : "", color ? "\033[0m" : "", text);
  if (err->hint)
    fprintf(stderr, "%shint:%s %s\n", color ? "\033[1;33m" : "", color ? "\033[0m" : "", err->hint);
}

int mtk_cli_container_run(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                          struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"rm", no_argument, NULL, 'R'},
      {"name", required_argument, NULL, 'n'},
      {"env", required_argument, NULL, 'e'},
      {"workdir", required_argument, NULL, 'w'},
      {"user", required_argument, NULL, 'u'},
      {"entrypoint", required_argument, NULL, 'E'},
      {"runtime", required_argument, NULL, 'r'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct mtk_container_run_opts o = {0};
  struct mtk_cli_strv env = {0};
  opterr = 0;
  optind = 0;
  for (int c; (c = getopt_long(argc, argv, "+:e:w:u:h", longopts, NULL)) != -1;) {
    switch (c) {
      case 'R':
        o.rm = true;
        break;
      case 'n':
        o.name = optarg;
        break;
      case 'e':
        mtk_cli_strv_push(&env, optarg);
        break;
      case 'w':
        o.workdir = optarg;
        break;
      case 'u':
        o.user = optarg;
        break;
      case 'E':
        o.entrypoint = optarg;
        break;
      case 'r':
        o.runtime = optarg;
        break;
      case 'h':
        mtk_cli_strv_free(&env);
        mtk_cli_print_cmd_help(stdout, cmd);
        return 0;
      default:
        mtk_cli_strv_free(&env);
        return mtk_cli_getopt_error(cmd, c, argv, err);
    }
  }
  if (optind >= argc) {
    mtk_cli_strv_free(&env);
    return mtk_cli_usage_error(cmd, err, "\"container run\" requires at least 1 argument");
  }
  o.image = argv[optind];
  o.cmd = (const char *const *) argv + optind + 1;
  o.n_cmd = (size_t) (argc - optind - 1);
  o.env = env.v;
  o.n_env = env.n;
  int status = 125;
  struct mtk_err *e = NULL;
  if (mtk_container_run(cli->root, cli->runroot, &o, &status, &e) < 0) {
    print_run_error(e, cli->color);
    mtk_err_free(&e);
  }
  mtk_cli_strv_free(&env);
  return status;
}
