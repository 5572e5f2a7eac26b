/* The lifecycle verbs of `mtk container`: run, create, start, stop,
 * restart, kill, rm, wait and prune, as docker's.  Containers on disk are
 * src/runtime/container.h's (mtk_ctr_*), running them is the supervisor's
 * (src/sup/sup.h: attached in this process, or a detached monitor).
 * Docker's exit codes: 125 for a bad flag and for an error before the
 * container runs, 126/127 when its command cannot run, the container's own
 * code for an attached run; verbs over several containers go on after a
 * failure, print it, and exit 1. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/image.h"
#include "image/progress.h"
#include "image/store.h"
#include "runtime/container.h"
#include "sup/sup.h"
#include "util/cleanup.h"
#include "util/gostr.h"

/* Usage errors exit 125 in docker's container commands (main() would give 16). */
static int status_of(struct mtk_cli *cli, int r, struct mtk_err **err)
{
  if (r < 0 && err && *err && (*err)->code == MTK_E_USAGE) {
    mtk_cli_print_err(cli, *err);
    mtk_err_free(err);
    return MTK_CTR_EXIT_RUN_ERROR;
  }
  return r;
}

/* Prints e (and frees it); returns status. */
static int report(struct mtk_cli *cli, struct mtk_err **e, int status)
{
  if (*e)
    mtk_cli_print_err(cli, *e);
  mtk_err_free(e);
  return status;
}

#define GETOPT_LOOP(shortopts, longopts)                                                           \
  opterr = 0;                                                                                      \
  optind = 0;                                                                                      \
  for (int c_; (c_ = getopt_long(argc, argv, "+:" shortopts, longopts, NULL)) != -1;)              \
    switch (c_)

/* ------------------------------------------------------------ run / create */

static int pull_image(struct mtk_cli *cli, const struct mtk_cli_run *rr, struct mtk_err **err)
{
  mtk_autoptr(mtk_store) s = NULL;
  if (mtk_store_open(cli->root, &s, err) < 0)
    return -1;
  struct mtk_progress *p = rr->quiet ? NULL : mtk_progress_new(stderr, isatty(STDERR_FILENO));
  struct mtk_store_image *img = mtk_image_pull(s, rr->image, rr->platform, p, err);
  mtk_progress_free(p);
  if (!img)
    return -1;
  mtk_store_image_free(img);
  return 0;
}

/* --cidfile: claimed before the container exists, as docker does. */
static int cidfile_open(const char *path, struct mtk_err **err)
{
  if (!path)
    return -1;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST) {
    mtk_err_set(err, EEXIST,
                "container ID file found, make sure the other container isn't "
                "running or delete %s",
                path);
    return -2;
  }
  if (fd < 0) {
    mtk_err_set(err, errno, "failed to create the container ID file: %s: %s", path,
                strerror(errno));
    return -2;
  }
  return fd;
}

/* Parses, pulls when asked, creates.  Returns 0, 1 (help printed), or -1
 * with *err; *c gets the created container. */
static int create_common(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                         struct mtk_cli_run *rr, struct mtk_ctr **c, struct mtk_err **err)
{
  int r = mtk_cli_run_parse(cmd, argc, argv, rr, err);
  if (r != 0)
    return r;
  json_t *req = rr->req;
  bool tty = json_is_true(json_object_get(req, "Tty"));
  bool in = json_is_true(json_object_get(req, "OpenStdin"));
  bool attach = strcmp(cmd->name, "run") == 0 && !rr->detach;
  json_object_set_new(req, "AttachStdin", json_boolean(attach && in));
  json_object_set_new(req, "AttachStdout", json_boolean(attach));
  json_object_set_new(req, "AttachStderr", json_boolean(attach));
  json_object_set_new(req, "StdinOnce", json_boolean(attach && in));
  if (attach && tty && in && !isatty(STDIN_FILENO)) {
    mtk_err_set(err, ENOTTY, "the input device is not a TTY");
    mtk_err_hint(err, "Drop -t to pipe data into the container, or run it from a terminal.");
    return -1;
  }
  if (strcmp(rr->pull, "always") == 0 && pull_image(cli, rr, err) < 0)
    return -1;
  int fd = cidfile_open(rr->cidfile, err);
  if (fd == -2)
    return -1;
  r = mtk_ctr_create(cli->root, cli->runroot, req, rr->name, c, err);
  if (fd >= 0) {
    if (r == 0 && dprintf(fd, "%s", (*c)->id) < 0)
      r = mtk_err_set(err, errno, "writing %s: %s", rr->cidfile, strerror(errno));
    close(fd);
    if (r < 0)
      unlink(rr->cidfile);
  }
  if (r < 0 && strcmp(rr->pull, "never") != 0 && *err && (*err)->code == ENOENT &&
      strstr((*err)->msg, "Unable to find image"))
    mtk_err_hint(err, "Pull it first: mtk image pull %s (or run with --pull always).", rr->image);
  return r;
}

static int do_run(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv)
{
  struct mtk_cli_run rr;
  struct mtk_err *e = NULL;
  mtk_autoptr(mtk_ctr) c = NULL;
  int r = create_common(cli, cmd, argc, argv, &rr, &c, &e);
  int code = MTK_CTR_EXIT_RUN_ERROR;
  if (r == 1 || (r < 0 && e->code == ENOTTY))
    code = r == 1 ? 0 : 1;
  else if (r == 0 && rr.detach &&
           mtk_sup_spawn_monitor(cli->root, cli->runroot, c->id, &code, &e) == 0)
    printf("%s\n", c->id), code = 0;
  else if (r == 0 && !rr.detach) {
    fflush(stdout);
    if (mtk_sup_run_attached(cli->root, cli->runroot, c->id, &code, &e) < 0 && code == 0)
      code = MTK_CTR_EXIT_RUN_ERROR;
  }
  mtk_cli_run_clear(&rr);
  return report(cli, &e, code);
}

int mtk_cli_container_run(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                          struct mtk_err **err)
{
  (void) err;
  return do_run(cli, cmd, argc, argv);
}

int mtk_cli_container_create(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                             char **argv, struct mtk_err **err)
{
  struct mtk_cli_run rr;
  mtk_autoptr(mtk_ctr) c = NULL;
  int r = create_common(cli, cmd, argc, argv, &rr, &c, err);
  if (r == 0)
    printf("%s\n", c->id);
  mtk_cli_run_clear(&rr);
  if (r < 0 && (*err)->code != MTK_E_USAGE)
    return report(cli, err, MTK_CTR_EXIT_RUN_ERROR);
  return status_of(cli, r == 1 ? 0 : r, err);
}

/* ------------------------------------------------------------ many refs */

typedef int (*each_fn)(struct mtk_cli *cli, struct mtk_ctr *c, const char *ref, void *data,
                       struct mtk_err **err);

/* Applies fn to every CONTAINER argument; prints the ref after a success
 * when print_ref, the error after a failure; 0 or 1. */
static int each(struct mtk_cli *cli, int argc, char **argv, bool print_ref, each_fn fn, void *data,
                bool missing_ok)
{
  int status = 0;
  for (int i = optind; i < argc; i++) {
    struct mtk_err *e = NULL;
    mtk_autoptr(mtk_ctr) c = NULL;
    int r = mtk_ctr_load(cli->root, cli->runroot, argv[i], &c, &e);
    if (r < 0 && missing_ok && e->code == ENOENT) {
      mtk_err_free(&e);
      continue;
    }
    if (r == 0)
      r = fn(cli, c, argv[i], data, &e);
    if (r < 0) {
      status = report(cli, &e, 1);
      continue;
    }
    if (print_ref) {
      printf("%s\n", argv[i]);
      fflush(stdout);
    }
  }
  return status;
}

static int need_args(const struct mtk_cli_cmd *cmd, int argc, struct mtk_err **err)
{
  if (optind < argc)
    return 0;
  return mtk_cli_usage_error(cmd, err, "\"container %s\" requires at least 1 argument", cmd->name);
}

/* ------------------------------------------------------------ stop / kill */

struct stop_opts {
  int sig;     /* 0 = the container's stop signal */
  int timeout; /* -1 = the container's */
};

static void not_caught_note(struct mtk_cli *cli, const char *ref,
                            const struct mtk_ctr_stop_result *res)
{
  char buf[16];
  const char *name = mtk_cli_signal_name(res->stop_signal, buf);
  bool color = cli->color;
  fflush(stdout);
  fprintf(stderr,
          "%smtk:%s note: %s: its PID 1 does not catch %s, and the kernel drops a signal that a "
          "container's init does not handle: SIGKILL was sent at once\n",
          color ? "\033[1;33m" : "", color ? "\033[0m" : "", ref, name);
  fprintf(stderr,
          "%shint:%s run it with --init (a small init forwards %s to the process), or set "
          "--stop-signal to a signal PID 1 handles.\n",
          color ? "\033[1;33m" : "", color ? "\033[0m" : "", name);
}

static int stop_one(struct mtk_cli *cli, struct mtk_ctr *c, const char *ref, void *data,
                    struct mtk_err **err)
{
  const struct stop_opts *o = data;
  struct mtk_ctr_stop_result res = {0};
  if (mtk_ctr_stop(cli->root, cli->runroot, c, o->sig, o->timeout, &res, err) < 0)
    return -1;
  if (res.was_running && res.not_caught)
    not_caught_note(cli, ref, &res);
  return 0;
}

static int stop_flags(const struct mtk_cli_cmd *cmd, int argc, char **argv, struct stop_opts *o,
                      struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"time", required_argument, NULL, 't'},
      {"timeout", required_argument, NULL, 't'},
      {"signal", required_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  char *end;
  *o = (struct stop_opts){0, -1};
  GETOPT_LOOP("t:s:h", longopts)
  {
    case 't':
      o->timeout = (int) strtol(optarg, &end, 10);
      if (!*optarg || *end)
        return mtk_cli_usage_error(cmd, err,
                                   "invalid argument \"%s\" for \"-t, --timeout\" flag: "
                                   "strconv.ParseInt: parsing \"%s\": invalid syntax",
                                   optarg, optarg);
      break;
    case 's':
      if (mtk_cli_signal_parse(optarg, &o->sig, err) < 0)
        return (*err)->code = MTK_E_USAGE, -1;
      break;
    case 'h':
      mtk_cli_print_cmd_help(stdout, cmd);
      return 1;
    default:
      return mtk_cli_getopt_error(cmd, c_, argv, err);
  }
  return need_args(cmd, argc, err);
}

int mtk_cli_container_stop(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                           char **argv, struct mtk_err **err)
{
  struct stop_opts o;
  int r = stop_flags(cmd, argc, argv, &o, err);
  if (r != 0)
    return status_of(cli, r == 1 ? 0 : r, err);
  return each(cli, argc, argv, true, stop_one, &o, false);
}

static int kill_one(struct mtk_cli *cli, struct mtk_ctr *c, const char *ref, void *data,
                    struct mtk_err **err)
{
  (void) ref;
  return mtk_ctr_kill(cli->root, cli->runroot, c, *(int *) data, err);
}

int mtk_cli_container_kill(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                           char **argv, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"signal", required_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int sig = SIGKILL;
  int r = 0;
  GETOPT_LOOP("s:h", longopts)
  {
    case 's':
      if (mtk_cli_signal_parse(optarg, &sig, err) < 0) {
        (*err)->code = MTK_E_USAGE;
        return status_of(cli, -1, err);
      }
      break;
    case 'h':
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    default:
      return status_of(cli, mtk_cli_getopt_error(cmd, c_, argv, err), err);
  }
  if ((r = need_args(cmd, argc, err)) < 0)
    return status_of(cli, r, err);
  return each(cli, argc, argv, true, kill_one, &sig, false);
}

/* ------------------------------------------------------- start / restart */

static int start_one(struct mtk_cli *cli, struct mtk_ctr *c, const char *ref, void *data,
                     struct mtk_err **err)
{
  (void) ref, (void) data;
  int code = 0;
  if (mtk_ctr_is_running(c))
    return 0; /* docker: starting a running container is a no-op */
  return mtk_sup_spawn_monitor(cli->root, cli->runroot, c->id, &code, err);
}

int mtk_cli_container_start(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                            char **argv, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"attach", optional_argument, NULL, 'a'},
      {"interactive", optional_argument, NULL, 'i'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool attach = false, interactive = false;
  GETOPT_LOOP("aih", longopts)
  {
    case 'a':
    case 'i':
      if (optarg && !mtk_go_parse_bool(optarg, c_ == 'a' ? &attach : &interactive))
        return status_of(cli, mtk_cli_usage_error(cmd, err, "invalid boolean \"%s\"", optarg), err);
      if (!optarg)
        *(c_ == 'a' ? &attach : &interactive) = true;
      break;
    case 'h':
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    default:
      return status_of(cli, mtk_cli_getopt_error(cmd, c_, argv, err), err);
  }
  int r = need_args(cmd, argc, err);
  if (r < 0)
    return status_of(cli, r, err);
  if (!attach && !interactive) {
    int st = each(cli, argc, argv, true, start_one, NULL, false);
    return st;
  }
  if (argc - optind > 1)
    return mtk_err_set(err, EINVAL, "you cannot start and attach multiple containers at once");
  mtk_autoptr(mtk_ctr) c = NULL;
  if (mtk_ctr_load(cli->root, cli->runroot, argv[optind], &c, err) < 0)
    return -1;
  if (mtk_ctr_is_running(c))
    return mtk_err_set(err, EBUSY,
                       "container %s is already running: attaching to a running "
                       "container is not available",
                       argv[optind]);
  int code = 0;
  struct mtk_err *e = NULL;
  if (mtk_sup_run_attached(cli->root, cli->runroot, c->id, &code, &e) < 0 && code == 0)
    code = 1;
  return report(cli, &e, code);
}

static int restart_one(struct mtk_cli *cli, struct mtk_ctr *c, const char *ref, void *data,
                       struct mtk_err **err)
{
  if (stop_one(cli, c, ref, data, err) < 0)
    return -1;
  mtk_autoptr(mtk_ctr) fresh = NULL;
  if (mtk_ctr_load(cli->root, cli->runroot, c->id, &fresh, err) < 0)
    return -1;
  return start_one(cli, fresh, ref, NULL, err);
}

int mtk_cli_container_restart(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                              char **argv, struct mtk_err **err)
{
  struct stop_opts o;
  int r = stop_flags(cmd, argc, argv, &o, err);
  if (r != 0)
    return status_of(cli, r == 1 ? 0 : r, err);
  return each(cli, argc, argv, true, restart_one, &o, false);
}

/* ------------------------------------------------------------- rm / wait */

struct rm_opts {
  bool force, volumes;
};

static int rm_one(struct mtk_cli *cli, struct mtk_ctr *c, const char *ref, void *data,
                  struct mtk_err **err)
{
  (void) ref;
  const struct rm_opts *o = data;
  return mtk_ctr_remove(cli->root, cli->runroot, c, o->force, o->volumes, err);
}

int mtk_cli_container_rm(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                         struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"force", optional_argument, NULL, 'f'},
      {"volumes", optional_argument, NULL, 'v'},
      {"link", optional_argument, NULL, 'l'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct rm_opts o = {0};
  bool link = false;
  GETOPT_LOOP("fvlh", longopts)
  {
    case 'f':
    case 'v':
    case 'l': {
      bool *b = c_ == 'f' ? &o.force : c_ == 'v' ? &o.volumes : &link;
      *b = true;
      if (optarg && !mtk_go_parse_bool(optarg, b))
        return status_of(cli, mtk_cli_usage_error(cmd, err, "invalid boolean \"%s\"", optarg), err);
      break;
    }
    case 'h':
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    default:
      return status_of(cli, mtk_cli_getopt_error(cmd, c_, argv, err), err);
  }
  int r = need_args(cmd, argc, err);
  if (r < 0)
    return status_of(cli, r, err);
  if (link)
    return mtk_err_set(err, EINVAL, "--link: mtk has no legacy links to remove");
  return each(cli, argc, argv, true, rm_one, &o, o.force);
}

static int wait_one(struct mtk_cli *cli, struct mtk_ctr *c, const char *ref, void *data,
                    struct mtk_err **err)
{
  (void) ref, (void) data;
  int code = 0;
  if (mtk_ctr_wait(cli->root, cli->runroot, c, &code, err) < 0)
    return -1;
  printf("%d\n", code);
  fflush(stdout);
  return 0;
}

int mtk_cli_container_wait(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                           char **argv, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  GETOPT_LOOP("h", longopts)
  {
    case 'h':
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    default:
      return status_of(cli, mtk_cli_getopt_error(cmd, c_, argv, err), err);
  }
  int r = need_args(cmd, argc, err);
  if (r < 0)
    return status_of(cli, r, err);
  return each(cli, argc, argv, false, wait_one, NULL, false);
}

/* ------------------------------------------------------------------ prune */

static bool confirm(const char *warning)
{
  printf("%s [y/N] ", warning);
  fflush(stdout);
  char line[64];
  if (!fgets(line, sizeof(line), stdin))
    return false;
  return line[0] == 'y' || line[0] == 'Y';
}

int mtk_cli_container_prune(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                            char **argv, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"force", no_argument, NULL, 'f'},
      {"filter", required_argument, NULL, 'F'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool force = false;
  struct mtk_cli_strv filters = {0};
  GETOPT_LOOP("fh", longopts)
  {
    case 'f':
      force = true;
      break;
    case 'F':
      mtk_cli_strv_push(&filters, optarg);
      break;
    case 'h':
      mtk_cli_strv_free(&filters);
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    default:
      mtk_cli_strv_free(&filters);
      return status_of(cli, mtk_cli_getopt_error(cmd, c_, argv, err), err);
  }
  if (optind < argc) {
    mtk_cli_strv_free(&filters);
    return status_of(cli, mtk_cli_usage_error(cmd, err, "\"container prune\" accepts no arguments"),
                     err);
  }
  if (!force && !confirm("WARNING! This will remove all stopped containers.\nAre you sure you "
                         "want to continue?")) {
    mtk_cli_strv_free(&filters);
    return 0;
  }
  struct mtk_ctr **v = NULL;
  size_t n = 0;
  int r = mtk_ctr_list(cli->root, cli->runroot, &v, &n, err);
  int64_t reclaimed = 0;
  bool header = false;
  for (size_t i = 0; r == 0 && i < n; i++) {
    struct mtk_err *e = NULL;
    if (mtk_ctr_is_running(v[i]))
      continue;
    bool match = false;
    if (mtk_cli_ctr_filter(v[i], filters.v, filters.n, &match, err) < 0) {
      r = -1;
      break;
    }
    if (!match)
      continue;
    mtk_autofree char *dir = mtk_xasprintf("%s/containers/%s/upper", cli->root, v[i]->id);
    int64_t size = mtk_cli_du(dir);
    if (mtk_ctr_remove(cli->root, cli->runroot, v[i], false, false, &e) < 0) {
      report(cli, &e, 1);
      continue;
    }
    if (!header)
      printf("Deleted Containers:\n"), header = true;
    printf("%s\n", v[i]->id);
    reclaimed += size;
  }
  mtk_ctr_list_free(v, n);
  mtk_cli_strv_free(&filters);
  if (r < 0)
    return status_of(cli, r, err);
  char buf[32];
  printf("%sTotal reclaimed space: %s\n", header ? "\n" : "",
         mtk_progress_human_size((double) reclaimed, 4, buf));
  return 0;
}
