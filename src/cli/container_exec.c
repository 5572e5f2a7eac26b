/* `mtk container exec [-d] [-i] [-t] [-e K=V] [--env-file F] [-u USER]
 * [-w DIR] [--privileged] CONTAINER COMMAND [ARG...]`: a supervisor loop in
 * this process runs the command in the running container (src/sup/sup.h
 * mtk_sup_exec), attached to our stdio unless -d; the exit code is the
 * command's (126/127 as docker exec when it cannot run). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cli/cli.h"
#include "runtime/container.h"
#include "sup/sup.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/gostr.h"

struct exec_done {
  bool done;
  int code;
};

static void on_done(void *data, int exit_code, const char *out, size_t len)
{
  struct exec_done *d = data;
  (void) out, (void) len;
  d->done = true;
  d->code = exit_code;
}

/* --env-file for exec: docker's env-file rules, lines appended to env. */
static int env_file(const char *path, struct mtk_cli_strv *env, json_t *keep, struct mtk_err **err)
{
  size_t len = 0;
  mtk_autofree char *text = mtk_file_read(path, 16 << 20, &len, err);
  if (!text)
    return -1;
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    size_t n = strlen(l);
    if (n && l[n - 1] == '\r')
      l[--n] = '\0';
    l += mtk_go_space_prefix(l, n);
    if (!*l || *l == '#')
      continue;
    const char *eq = strchr(l, '='), *val = eq ? NULL : getenv(l);
    json_t *s = val ? json_sprintf("%s=%s", l, val) : json_string(l);
    json_array_append_new(keep, s);
    mtk_cli_strv_push(env, json_string_value(s));
  }
  return 0;
}

struct exec_flags {
  struct mtk_sup_exec_opts o;
  struct mtk_cli_strv env;
  json_t *keep; /* owned: strings env points into */
};

static int exec_flags(const struct mtk_cli_cmd *cmd, int argc, char **argv, struct exec_flags *f,
                      struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"detach", no_argument, NULL, 'd'},
      {"interactive", no_argument, NULL, 'i'},
      {"tty", no_argument, NULL, 't'},
      {"env", required_argument, NULL, 'e'},
      {"env-file", required_argument, NULL, 'E'},
      {"user", required_argument, NULL, 'u'},
      {"workdir", required_argument, NULL, 'w'},
      {"privileged", no_argument, NULL, 'P'},
      {"help", no_argument, NULL, 'H'},
      {NULL, 0, NULL, 0},
  };
  opterr = 0;
  optind = 0;
  for (int c; (c = getopt_long(argc, argv, "+:dite:u:w:", longopts, NULL)) != -1;) {
    switch (c) {
      case 'd':
        f->o.detach = true;
        break;
      case 'i':
        f->o.interactive = true;
        break;
      case 't':
        f->o.tty = true;
        break;
      case 'e': {
        const char *eq = strchr(optarg, '='), *val = eq ? NULL : getenv(optarg);
        if (eq == optarg || !*optarg)
          return mtk_cli_usage_error(cmd, err, "invalid environment variable: %s", optarg);
        json_t *s = val ? json_sprintf("%s=%s", optarg, val) : json_string(optarg);
        json_array_append_new(f->keep, s);
        mtk_cli_strv_push(&f->env, json_string_value(s));
        break;
      }
      case 'E':
        if (env_file(optarg, &f->env, f->keep, err) < 0)
          return (*err)->code = MTK_E_USAGE, -1;
        break;
      case 'u':
        f->o.user = optarg;
        break;
      case 'w':
        f->o.workdir = optarg;
        break;
      case 'P':
        f->o.privileged = true;
        break;
      case 'H':
        mtk_cli_print_cmd_help(stdout, cmd);
        return 1;
      default:
        return mtk_cli_getopt_error(cmd, c, argv, err);
    }
  }
  if (argc - optind < 2)
    return mtk_cli_usage_error(cmd, err, "\"container exec\" requires at least 2 arguments");
  f->o.cmd = (const char *const *) argv + optind + 1;
  f->o.n_cmd = (size_t) (argc - optind - 1);
  f->o.env = f->env.v;
  f->o.n_env = f->env.n;
  return 0;
}

/* Runs the loop until the exec is done, then closes the supervisor. */
static int exec_run(struct mtk_cli *cli, const struct mtk_ctr *c, const struct exec_flags *f,
                    int *code, struct mtk_err **err)
{
  uv_loop_t loop;
  if (uv_loop_init(&loop) < 0)
    return mtk_err_set(err, ENOMEM, "cannot create the event loop");
  struct mtk_sup *s = mtk_sup_new(&loop, cli->root, cli->runroot, err);
  int r = -1;
  struct exec_done d = {0};
  if (s) {
    struct mtk_sup_attach at = {
        .in_fd = f->o.interactive ? STDIN_FILENO : -1,
        .out_fd = STDOUT_FILENO,
        .err_fd = STDERR_FILENO,
        .sig_proxy = true,
    };
    r = mtk_sup_exec(s, c->id, &f->o, f->o.detach ? NULL : &at, on_done, &d, err);
    while (r == 0 && !d.done && uv_run(&loop, UV_RUN_ONCE) >= 0 && !d.done)
      ;
    mtk_sup_free(s);
  }
  for (int i = 0; i < 100 && uv_loop_close(&loop) == UV_EBUSY; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  *code = d.code;
  return r;
}

int mtk_cli_container_exec(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                           char **argv, struct mtk_err **err)
{
  struct exec_flags f = {.keep = json_array()};
  int r = exec_flags(cmd, argc, argv, &f, err);
  int code = 0;
  mtk_autoptr(mtk_ctr) c = NULL;
  if (r == 0 && f.o.tty && f.o.interactive && !f.o.detach && !isatty(STDIN_FILENO))
    r = mtk_err_set(err, ENOTTY, "the input device is not a TTY");
  if (r == 0)
    r = mtk_ctr_load(cli->root, cli->runroot, argv[optind], &c, err);
  if (r == 0 && !mtk_ctr_is_running(c))
    r = mtk_err_set(err, EINVAL, "container %s is not running", c->id);
  if (r == 0)
    fflush(stdout), r = exec_run(cli, c, &f, &code, err);
  mtk_cli_strv_free(&f.env);
  json_decref(f.keep);
  if (r == 1)
    return 0;
  if (r < 0 && (*err)->code == MTK_E_USAGE) {
    mtk_cli_print_err(cli, *err);
    mtk_err_free(err);
    return MTK_CTR_EXIT_RUN_ERROR;
  }
  if (r < 0 && code > 0) { /* a command that could not run: docker's 126/127 */
    mtk_cli_print_err(cli, *err);
    mtk_err_free(err);
    return code;
  }
  return r < 0 ? -1 : code < 0 ? 1 : code;
}
