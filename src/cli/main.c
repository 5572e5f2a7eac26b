/* mtk: entry point.  Parses the global options (only before the command:
 * getopt_long with "+" stops at the first non-option), decides colour,
 * dispatches the command through the table in commands.c, and is the one
 * place that prints errors ("mtk: " + message, then "hint: ...") and turns
 * them into Docker Compose's exit statuses. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/cleanup.h"

enum {
  OPT_PROJECT_DIR = 256,
  OPT_ENV_FILE,
  OPT_PROFILE,
  OPT_ROOT,
  OPT_RUNROOT,
  OPT_LOG_LEVEL,
  OPT_ANSI,
  OPT_ALL_RESOURCES,
};

static const struct option global_longopts[] = {
    {"file", required_argument, NULL, 'f'},
    {"project-name", required_argument, NULL, 'p'},
    {"project-directory", required_argument, NULL, OPT_PROJECT_DIR},
    {"env-file", required_argument, NULL, OPT_ENV_FILE},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"root", required_argument, NULL, OPT_ROOT},
    {"runroot", required_argument, NULL, OPT_RUNROOT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"ansi", required_argument, NULL, OPT_ANSI},
    {"all-resources", no_argument, NULL, OPT_ALL_RESOURCES},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

void mtk_cli_strv_push(struct mtk_cli_strv *sv, const char *s)
{
  sv->v = mtk_xrealloc(sv->v, (sv->n + 2) * sizeof(*sv->v));
  sv->v[sv->n++] = s;
  sv->v[sv->n] = NULL;
}

void mtk_cli_strv_free(struct mtk_cli_strv *sv)
{
  free(sv->v);
  sv->v = NULL;
  sv->n = 0;
}

/* Index of word in the NULL-terminated words, or -1. */
static int pick(const char *word, const char *const *words)
{
  for (int i = 0; words[i]; i++)
    if (strcmp(word, words[i]) == 0)
      return i;
  return -1;
}

static int set_choice(const char *opt, const char *val, const char *const *words, int *out,
                      struct mtk_err **err)
{
  int i = pick(val, words);
  if (i < 0) {
    mtk_cli_usage_error(NULL, err, "invalid value \"%s\" for %s", val, opt);
    return -1;
  }
  *out = i;
  return 0;
}

static int global_option(struct mtk_cli *cli, int c, const char *arg, struct mtk_err **err)
{
  static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
  static const char *const ansi[] = {"auto", "never", "always", NULL};
  int v;
  switch (c) {
    case 'f':
      mtk_cli_strv_push(&cli->files, arg);
      return 0;
    case 'p':
      cli->project_name = arg;
      return 0;
    case OPT_PROJECT_DIR:
      cli->project_dir = arg;
      return 0;
    case OPT_ENV_FILE:
      mtk_cli_strv_push(&cli->env_files, arg);
      return 0;
    case OPT_PROFILE:
      mtk_cli_strv_push(&cli->profiles, arg);
      return 0;
    case OPT_ROOT:
      cli->root = arg;
      return 0;
    case OPT_RUNROOT:
      cli->runroot = arg;
      return 0;
    case OPT_ALL_RESOURCES:
      cli->all_resources = true;
      return 0;
    case OPT_LOG_LEVEL:
      if (set_choice("--log-level", arg, levels, &v, err) < 0)
        return -1;
      cli->log_level = (enum mtk_cli_log_level) v;
      return 0;
    case OPT_ANSI:
      if (set_choice("--ansi", arg, ansi, &v, err) < 0)
        return -1;
      cli->ansi = (enum mtk_cli_ansi) v;
      return 0;
    default:
      return -1;
  }
}

/* Returns the index of the command in argv, 0 when mtk must exit with
 * *status (help, version), -1 on a bad option (*err set). */
static int parse_globals(struct mtk_cli *cli, int argc, char **argv, int *status,
                         struct mtk_err **err)
{
  int c;
  opterr = 0;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+:f:p:hv", global_longopts, NULL)) != -1) {
    if (c == '?' || c == ':') {
      mtk_cli_getopt_error(NULL, c, argv, err);
      return -1;
    }
    if (c == 'h' || c == 'v') {
      if (c == 'h')
        mtk_cli_print_main_help(stdout);
      else
        printf("mtk version %s\n", MTK_VERSION);
      *status = 0;
      return 0;
    }
    if (global_option(cli, c, optarg, err) < 0)
      return -1;
  }
  if (optind >= argc) {
    /* As docker compose: no command prints the usage. */
    mtk_cli_print_main_help(stdout);
    *status = 0;
    return 0;
  }
  return optind;
}

static void init_cli(struct mtk_cli *cli)
{
  memset(cli, 0, sizeof(*cli));
  const char *root = getenv("MTK_ROOT"), *runroot = getenv("MTK_RUNROOT");
  cli->root = root && *root ? root : MTK_DEFAULT_ROOT;
  cli->runroot = runroot && *runroot ? runroot : MTK_DEFAULT_RUNROOT;
  cli->log_level = MTK_CLI_LOG_WARN;
  cli->ansi = MTK_CLI_ANSI_AUTO;
}

static bool want_color(enum mtk_cli_ansi ansi)
{
  if (ansi != MTK_CLI_ANSI_AUTO)
    return ansi == MTK_CLI_ANSI_ALWAYS;
  const char *no_color = getenv("NO_COLOR");
  return isatty(STDERR_FILENO) && !(no_color && *no_color);
}

/* The one place errors are printed. */
static void print_error(const struct mtk_err *err, bool color)
{
  mtk_autofree char *text = mtk_err_format(err);
  fflush(stdout);
  fprintf(stderr, "%smtk:%s %s\n", color ? "\033[1;31m" : "", color ? "\033[0m" : "", text);
  if (err->hint)
    fprintf(stderr, "%shint:%s %s\n", color ? "\033[1;33m" : "", color ? "\033[0m" : "", err->hint);
}

int main(int argc, char **argv)
{
  struct mtk_cli cli;
  struct mtk_err *err = NULL;
  int status = 0;

  init_cli(&cli);
  int cmd = parse_globals(&cli, argc, argv, &status, &err);
  /* Colour depends on --ansi: decide it once the globals are read (a bad
   * global option is printed plain unless NO_COLOR/TTY say otherwise). */
  cli.color = want_color(cli.ansi);
  if (cmd > 0)
    status = mtk_cli_cmd_dispatch(&cli, mtk_cli_commands, argc - cmd, argv + cmd, &err);
  if (err) {
    print_error(err, cli.color);
    status = mtk_err_exit_code(err);
    mtk_err_free(&err);
  } else if (status < 0) {
    status = 1;
  }
  mtk_cli_strv_free(&cli.files);
  mtk_cli_strv_free(&cli.env_files);
  mtk_cli_strv_free(&cli.profiles);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "mtk: error writing to stdout\n");
    if (status == 0)
      status = 1;
  }
  return status;
}
