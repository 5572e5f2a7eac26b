/* The project commands besides up/down: ps, logs, stop, start, restart,
 * kill, rm, exec, top, port, create, ls, wait.  They work from the on-disk
 * state of the project's containers (their compose labels), so they work
 * whether or not the project's supervisor runs; ps/exec/top/port reuse the
 * `container` verbs on the project's containers. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/project.h"
#include "image/image.h"
#include "image/progress.h"
#include "image/store.h"
#include "orch/orch.h"
#include "runtime/container.h"
#include "sup/sup.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* The project's containers, narrowed to the services named (all when none;
 * an unknown service is an error). */
struct sel {
  struct mtk_project *p;
  struct mtk_ctr **v;
  size_t n;
};

static void sel_free(struct sel *s)
{
  for (size_t i = 0; i < s->n; i++)
    mtk_ctr_free(s->v[i]);
  free(s->v);
  mtk_project_free(s->p);
  memset(s, 0, sizeof(*s));
}

static int sel_load(const struct mtk_cli *cli, char *const *services, size_t n_services,
                    bool running_only, struct sel *s, struct mtk_err **err)
{
  memset(s, 0, sizeof(*s));
  s->p = mtk_cli_project_load(cli, err);
  if (!s->p)
    return -1;
  const json_t *model_services = json_object_get(s->p->model, "services");
  for (size_t i = 0; i < n_services; i++)
    if (!json_object_get(model_services, services[i])) {
      mtk_err_set(err, ENOENT, "no such service: %s", services[i]);
      sel_free(s);
      return -1;
    }
  struct mtk_ctr **all = NULL;
  size_t n_all = 0;
  if (mtk_cli_project_ctrs(cli, s->p->name, &all, &n_all, err) < 0) {
    sel_free(s);
    return -1;
  }
  s->v = mtk_xcalloc(n_all + 1, sizeof(*s->v));
  for (size_t i = 0; i < n_all; i++) {
    const char *svc = mtk_orch_ctr_label(all[i], MTK_LABEL_SERVICE);
    const char *oneoff = mtk_orch_ctr_label(all[i], MTK_LABEL_ONEOFF);
    bool want = n_services == 0;
    for (size_t k = 0; k < n_services && svc; k++)
      want |= strcmp(svc, services[k]) == 0;
    if (oneoff && strcmp(oneoff, "True") == 0 && n_services == 0)
      want = false;
    if (running_only && !mtk_ctr_is_running(all[i]))
      want = false;
    if (want)
      s->v[s->n++] = all[i];
    else
      mtk_ctr_free(all[i]);
  }
  free(all);
  return 0;
}

static const struct mtk_cli_cmd *container_verb(const char *verb)
{
  const struct mtk_cli_cmd *noun = mtk_cli_cmd_find(mtk_cli_commands, "container");
  return noun ? mtk_cli_cmd_find(noun->subs, verb) : NULL;
}

/* Simple flag parsing for the verbs below: the flags in `spec` (getopt
 * short string) and their long names; returns optind, or -1. */
struct pflags {
  bool all, follow, timestamps, no_prefix, force, stop_first, volumes, quiet;
  int timeout;
  long tail;
  const char *signal, *format, *since;
};

static int pparse(const struct mtk_cli_cmd *cmd, int argc, char **argv, struct pflags *f,
                  bool *help, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"all", no_argument, NULL, 'a'},
      {"follow", no_argument, NULL, 'f'},
      {"timestamps", no_argument, NULL, 'T'},
      {"no-log-prefix", no_argument, NULL, 'P'},
      {"force", no_argument, NULL, 'F'},
      {"stop", no_argument, NULL, 's'},
      {"volumes", no_argument, NULL, 'v'},
      {"quiet", no_argument, NULL, 'q'},
      {"timeout", required_argument, NULL, 't'},
      {"tail", required_argument, NULL, 'n'},
      {"signal", required_argument, NULL, 'S'},
      {"format", required_argument, NULL, 'o'},
      {"since", required_argument, NULL, 'i'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  memset(f, 0, sizeof(*f));
  f->timeout = -1;
  f->tail = -1;
  *help = false;
  opterr = 0;
  optind = 0;
  /* -t is --timestamps for logs, --timeout elsewhere; -s is --signal for kill */
  const char *shorts = strcmp(cmd->name, "logs") == 0   ? "+:fTtqhn:"
                       : strcmp(cmd->name, "kill") == 0 ? "+:s:h"
                                                        : "+:afsvqht:";
  for (int c; (c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1;) {
    if (c == 't' && strcmp(cmd->name, "logs") == 0)
      c = 'T';
    if (c == 's' && strcmp(cmd->name, "kill") == 0)
      c = 'S';
    switch (c) {
      case 'a':
        f->all = true;
        break;
      case 'f':
        if (strcmp(cmd->name, "rm") == 0)
          f->force = true;
        else
          f->follow = true;
        break;
      case 'T':
        f->timestamps = true;
        break;
      case 'P':
        f->no_prefix = true;
        break;
      case 'F':
        f->force = true;
        break;
      case 's':
        f->stop_first = true;
        break;
      case 'v':
        f->volumes = true;
        break;
      case 'q':
        f->quiet = true;
        break;
      case 't':
        f->timeout = atoi(optarg);
        break;
      case 'n':
        f->tail = strcmp(optarg, "all") == 0 ? -1 : strtol(optarg, NULL, 10);
        break;
      case 'S':
        f->signal = optarg;
        break;
      case 'o':
        f->format = optarg;
        break;
      case 'i':
        f->since = optarg;
        break;
      case 'h':
        mtk_cli_print_cmd_help(stdout, cmd);
        *help = true;
        return optind;
      default:
        return mtk_cli_getopt_error(cmd, c, argv, err);
    }
  }
  return optind;
}

/* The prologue of most verbs: their flags, then the project's containers
 * of the services named after them.  The index of the first service (> 0),
 * 0 when --help was printed (nothing loaded), or -1 with *err. */
static int begin(const struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                 bool running_only, struct pflags *f, struct sel *s, struct mtk_err **err)
{
  bool help;
  int i = pparse(cmd, argc, argv, f, &help, err);
  if (i < 0 || help)
    return i < 0 ? i : 0;
  if (sel_load(cli, argv + i, (size_t) (argc - i), running_only, s, err) < 0)
    return -1;
  return i;
}

/* ------------------------------------------------------------------- ps */

int mtk_cli_project_ps(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                       struct mtk_err **err)
{
  struct pflags f;
  struct sel s;
  int i = begin(cli, cmd, argc, argv, false, &f, &s, err);
  if (i <= 0)
    return i;
  /* `container ps` over exactly these containers */
  struct mtk_cli_strv a = {0};
  mtk_cli_strv_push(&a, "ps");
  if (f.all)
    mtk_cli_strv_push(&a, "-a");
  if (f.quiet)
    mtk_cli_strv_push(&a, "-q");
  if (f.format) {
    mtk_cli_strv_push(&a, "--format");
    mtk_cli_strv_push(&a, f.format);
  }
  mtk_autofree char *proj = mtk_xasprintf("label=%s=%s", MTK_LABEL_PROJECT, s.p->name);
  mtk_cli_strv_push(&a, "--filter");
  mtk_cli_strv_push(&a, proj);
  if (argc - i == 1) {
    mtk_autofree char *svc = mtk_xasprintf("label=%s=%s", MTK_LABEL_SERVICE, argv[i]);
    mtk_cli_strv_push(&a, "--filter");
    mtk_cli_strv_push(&a, svc);
  }
  int rc = mtk_cli_container_ps(cli, container_verb("ps"), (int) a.n, (char **) a.v, err);
  mtk_cli_strv_free(&a);
  sel_free(&s);
  return rc;
}

/* ----------------------------------------------------------------- logs */

struct log_job {
  const struct mtk_cli *cli;
  struct mtk_ctr *c;
  const struct pflags *f;
  int width, colour;
  pthread_mutex_t *lock;
  struct mtk_err *err;
};

static int log_line(void *data, int stream, int64_t ts_ns, const char *text, size_t len,
                    bool partial)
{
  struct log_job *j = data;
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  bool color = j->cli->color && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
  if (!j->f->no_prefix) {
    if (color)
      mtk_strbuf_addf(&sb, "\033[%dm%-*s |\033[0m ", j->colour, j->width, j->c->name);
    else
      mtk_strbuf_addf(&sb, "%-*s | ", j->width, j->c->name);
  }
  if (j->f->timestamps) {
    time_t sec = (time_t) (ts_ns / 1000000000);
    struct tm tm;
    char t[32];
    strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", gmtime_r(&sec, &tm));
    mtk_strbuf_addf(&sb, "%s.%09lldZ ", t, (long long) (ts_ns % 1000000000));
  }
  mtk_strbuf_add(&sb, text, len);
  mtk_strbuf_addc(&sb, '\n');
  (void) partial;
  pthread_mutex_lock(j->lock);
  fwrite(sb.buf, 1, sb.len, stream == 2 ? stderr : stdout);
  fflush(stream == 2 ? stderr : stdout);
  pthread_mutex_unlock(j->lock);
  mtk_strbuf_free(&sb);
  return 0;
}

static void *log_thread(void *arg)
{
  struct log_job *j = arg;
  struct mtk_ctr_log_opts o = {.follow = j->f->follow, .tail = j->f->tail};
  if (j->f->since &&
      mtk_ctr_parse_time(j->f->since, (int64_t) time(NULL) * 1000000000, &o.since, &j->err) < 0)
    return NULL;
  mtk_ctr_logs(j->cli->root, j->cli->runroot, j->c, &o, log_line, j, &j->err);
  return NULL;
}

int mtk_cli_project_logs(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                         struct mtk_err **err)
{
  static const int colours[] = {36, 33, 32, 35, 34, 96, 93, 92, 95, 94};
  struct pflags f;
  struct sel s;
  int i = begin(cli, cmd, argc, argv, false, &f, &s, err);
  if (i <= 0)
    return i;
  int width = 0;
  for (size_t k = 0; k < s.n; k++)
    if ((int) strlen(s.v[k]->name) > width)
      width = (int) strlen(s.v[k]->name);
  pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  struct log_job *jobs = mtk_xcalloc(s.n + 1, sizeof(*jobs));
  pthread_t *th = mtk_xcalloc(s.n + 1, sizeof(*th));
  const char *key;
  json_t *v;
  for (size_t k = 0; k < s.n; k++) {
    int idx = 0, c = 0;
    const char *svc = mtk_orch_ctr_label(s.v[k], MTK_LABEL_SERVICE);
    json_object_foreach(json_object_get(s.p->model, "services"), key, v)
    {
      if (svc && strcmp(key, svc) == 0)
        c = idx;
      idx++;
    }
    jobs[k] = (struct log_job){
        .cli = cli, .c = s.v[k], .f = &f, .width = width, .colour = colours[c % 10], .lock = &lock};
    if (pthread_create(&th[k], NULL, log_thread, &jobs[k]) != 0)
      log_thread(&jobs[k]), th[k] = 0;
  }
  int rc = 0;
  for (size_t k = 0; k < s.n; k++) {
    if (th[k])
      pthread_join(th[k], NULL);
    if (jobs[k].err) {
      if (!*err)
        *err = jobs[k].err, rc = -1;
      else
        mtk_err_free(&jobs[k].err);
    }
  }
  free(jobs);
  free(th);
  sel_free(&s);
  return rc;
}

/* ------------------------------------------------- stop, kill, rm, start */

int mtk_cli_project_stop_cmd(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                             char **argv, struct mtk_err **err)
{
  struct pflags f;
  struct sel s;
  int i = begin(cli, cmd, argc, argv, true, &f, &s, err);
  if (i <= 0)
    return i;
  int rc = mtk_cli_project_stop(cli, s.p->model, s.v, s.n, f.timeout, false, false, err);
  sel_free(&s);
  return rc;
}

int mtk_cli_project_kill(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                         struct mtk_err **err)
{
  struct pflags f;
  bool help;
  int i = pparse(cmd, argc, argv, &f, &help, err);
  if (i < 0 || help)
    return i < 0 ? i : 0;
  int sig = SIGKILL;
  if (f.signal && mtk_cli_signal_parse(f.signal, &sig, err) < 0)
    return -1;
  struct sel s;
  if (sel_load(cli, argv + i, (size_t) (argc - i), true, &s, err) < 0)
    return -1;
  int rc = 0;
  for (size_t k = 0; k < s.n; k++) {
    struct mtk_err *e = NULL;
    if (mtk_ctr_kill(cli->root, cli->runroot, s.v[k], sig, &e) < 0) {
      if (!*err)
        *err = e, rc = -1;
      else
        mtk_err_free(&e);
      continue;
    }
    fprintf(stderr, " \u2714 Container %s  Killed\n", s.v[k]->name);
  }
  sel_free(&s);
  return rc;
}

int mtk_cli_project_rm(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                       struct mtk_err **err)
{
  struct pflags f;
  struct sel s;
  int i = begin(cli, cmd, argc, argv, false, &f, &s, err);
  if (i <= 0)
    return i;
  int rc = 0;
  if (f.stop_first)
    rc = mtk_cli_project_stop(cli, s.p->model, s.v, s.n, f.timeout, false, false, err);
  size_t k = 0;
  for (size_t j = 0; j < s.n; j++) /* running ones stay (as docker compose rm) */
    if (!mtk_ctr_is_running(s.v[j]))
      s.v[k++] = s.v[j];
    else
      mtk_ctr_free(s.v[j]);
  s.n = k;
  if (s.n == 0) {
    fprintf(stderr, "No stopped containers\n");
  } else if (rc == 0) {
    if (!f.force) {
      fprintf(stderr, "Going to remove");
      for (size_t j = 0; j < s.n; j++)
        fprintf(stderr, " %s", s.v[j]->name);
      fprintf(stderr, "\n");
      if (isatty(STDIN_FILENO)) {
        fprintf(stderr, "? Are you sure? [yN] ");
        int c = getchar();
        if (c != 'y' && c != 'Y') {
          sel_free(&s);
          return 0;
        }
      }
    }
    rc = mtk_cli_project_stop(cli, s.p->model, s.v, s.n, 0, true, f.volumes, err);
  }
  sel_free(&s);
  return rc;
}

/* start/restart: the project's stopped containers go back under a
 * (detached) supervisor, in dependency order. */
static int start_sel(struct mtk_cli *cli, struct sel *s, struct mtk_err **err)
{
  struct mtk_cli_strv ids = {0};
  for (size_t k = 0; k < s->n; k++)
    if (!mtk_ctr_is_running(s->v[k]))
      mtk_cli_strv_push(&ids, s->v[k]->id);
  int rc = 0, code = 0;
  struct mtk_orch_up_opts o = {.detach = true, .timeout = -1};
  if (ids.n)
    rc = mtk_orch_supervise(cli->root, cli->runroot, s->p, ids.v, ids.n, &o, &code, err);
  mtk_cli_strv_free(&ids);
  return rc;
}

int mtk_cli_project_start(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                          struct mtk_err **err)
{
  struct pflags f;
  struct sel s;
  int i = begin(cli, cmd, argc, argv, false, &f, &s, err);
  if (i <= 0)
    return i;
  int rc = start_sel(cli, &s, err);
  sel_free(&s);
  return rc;
}

int mtk_cli_project_restart(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                            char **argv, struct mtk_err **err)
{
  struct pflags f;
  struct sel s;
  int i = begin(cli, cmd, argc, argv, false, &f, &s, err);
  if (i <= 0)
    return i;
  int rc = mtk_cli_project_stop(cli, s.p->model, s.v, s.n, f.timeout, false, false, err);
  sel_free(&s);
  if (rc == 0 && sel_load(cli, argv + i, (size_t) (argc - i), false, &s, err) == 0) {
    rc = start_sel(cli, &s, err);
    sel_free(&s);
  }
  return rc;
}

/* ----------------------------------------------------- exec, top, port */

/* The container of SERVICE with --index N (default 1). */
static int service_ctr(const struct mtk_cli *cli, const char *service, int index, char **name,
                       struct mtk_err **err)
{
  struct sel s;
  char *svc[] = {(char *) service};
  if (sel_load(cli, svc, 1, false, &s, err) < 0)
    return -1;
  int rc = -1;
  for (size_t k = 0; k < s.n && rc < 0; k++) {
    const char *num = mtk_orch_ctr_label(s.v[k], MTK_LABEL_NUMBER);
    if (num && atoi(num) == index) {
      *name = mtk_xstrdup(s.v[k]->name);
      rc = 0;
    }
  }
  if (rc < 0)
    mtk_err_set(err, ENOENT, "service \"%s\" is not running", service);
  sel_free(&s);
  return rc;
}

int mtk_cli_project_exec(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                         struct mtk_err **err)
{
  /* exec [OPTIONS] SERVICE CMD...: options go to `container exec`; -T
   * (no tty) is accepted; --index N picks the replica. */
  struct mtk_cli_strv a = {0};
  mtk_cli_strv_push(&a, "exec");
  int index = 1, k = 1;
  bool tty = isatty(STDIN_FILENO), detach = false;
  for (; k < argc && argv[k][0] == '-'; k++) {
    if (strcmp(argv[k], "-T") == 0 || strcmp(argv[k], "--no-TTY") == 0) {
      tty = false;
    } else if (strcmp(argv[k], "--index") == 0 && k + 1 < argc) {
      index = atoi(argv[++k]);
    } else if (strncmp(argv[k], "--index=", 8) == 0) {
      index = atoi(argv[k] + 8);
    } else if (strcmp(argv[k], "-d") == 0 || strcmp(argv[k], "--detach") == 0) {
      detach = true;
      mtk_cli_strv_push(&a, argv[k]);
    } else if (strcmp(argv[k], "-h") == 0 || strcmp(argv[k], "--help") == 0) {
      mtk_cli_print_cmd_help(stdout, cmd);
      mtk_cli_strv_free(&a);
      return 0;
    } else {
      mtk_cli_strv_push(&a, argv[k]);
      if ((strcmp(argv[k], "-e") == 0 || strcmp(argv[k], "-u") == 0 || strcmp(argv[k], "-w") == 0 ||
           strcmp(argv[k], "--env") == 0 || strcmp(argv[k], "--user") == 0 ||
           strcmp(argv[k], "--workdir") == 0) &&
          k + 1 < argc)
        mtk_cli_strv_push(&a, argv[++k]);
    }
  }
  if (argc - k < 2) {
    mtk_cli_strv_free(&a);
    return mtk_cli_usage_error(cmd, err, "\"exec\" requires at least 2 arguments");
  }
  if (tty && !detach)
    mtk_cli_strv_push(&a, "-it");
  else if (!detach)
    mtk_cli_strv_push(&a, "-i");
  mtk_autofree char *name = NULL;
  int rc = service_ctr(cli, argv[k], index, &name, err);
  if (rc == 0) {
    mtk_cli_strv_push(&a, name);
    for (int j = k + 1; j < argc; j++)
      mtk_cli_strv_push(&a, argv[j]);
    rc = mtk_cli_container_exec(cli, container_verb("exec"), (int) a.n, (char **) a.v, err);
  }
  mtk_cli_strv_free(&a);
  return rc;
}

int mtk_cli_project_port(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                         struct mtk_err **err)
{
  int index = 1, k = 1;
  for (; k < argc && argv[k][0] == '-'; k++) {
    if (strcmp(argv[k], "--index") == 0 && k + 1 < argc)
      index = atoi(argv[++k]);
    else if (strcmp(argv[k], "-h") == 0 || strcmp(argv[k], "--help") == 0) {
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    }
  }
  if (argc - k != 2)
    return mtk_cli_usage_error(cmd, err, "\"port\" requires exactly 2 arguments");
  mtk_autofree char *name = NULL;
  if (service_ctr(cli, argv[k], index, &name, err) < 0)
    return -1;
  char *a[] = {"port", name, argv[k + 1], NULL};
  return mtk_cli_container_port(cli, container_verb("port"), 3, a, err);
}

int mtk_cli_project_top(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                        struct mtk_err **err)
{
  struct pflags f;
  struct sel s;
  int i = begin(cli, cmd, argc, argv, true, &f, &s, err);
  if (i <= 0)
    return i;
  int rc = 0;
  for (size_t k = 0; k < s.n && rc == 0; k++) {
    printf("%s\n", s.v[k]->name);
    char *a[] = {"top", s.v[k]->name, NULL};
    fflush(stdout);
    rc = mtk_cli_container_top(cli, container_verb("top"), 2, a, err);
    printf("\n");
  }
  sel_free(&s);
  return rc;
}

/* ------------------------------------------------------------------ run */

/* `run [OPTIONS] SERVICE [COMMAND...]`: a one-off container of the service
 * (its dependencies started first unless --no-deps), attached. */
int mtk_cli_project_run(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                        struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"rm", no_argument, NULL, 'R'},
      {"detach", no_argument, NULL, 'd'},
      {"env", required_argument, NULL, 'e'},
      {"user", required_argument, NULL, 'u'},
      {"workdir", required_argument, NULL, 'w'},
      {"entrypoint", required_argument, NULL, 'E'},
      {"name", required_argument, NULL, 'n'},
      {"service-ports", no_argument, NULL, 'P'},
      {"no-deps", no_argument, NULL, 'D'},
      {"no-TTY", no_argument, NULL, 'T'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool rm = false, detach = false, service_ports = false, no_deps = false;
  bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
  const char *user = NULL, *workdir = NULL, *entrypoint = NULL, *name = NULL;
  struct mtk_cli_strv env = {0};
  opterr = 0;
  optind = 0;
  for (int c; (c = getopt_long(argc, argv, "+:de:u:w:Th", longopts, NULL)) != -1;) {
    switch (c) {
      case 'R':
        rm = true;
        break;
      case 'd':
        detach = true;
        break;
      case 'e':
        mtk_cli_strv_push(&env, optarg);
        break;
      case 'u':
        user = optarg;
        break;
      case 'w':
        workdir = optarg;
        break;
      case 'E':
        entrypoint = optarg;
        break;
      case 'n':
        name = optarg;
        break;
      case 'P':
        service_ports = true;
        break;
      case 'D':
        no_deps = true;
        break;
      case 'T':
        tty = false;
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
    return mtk_cli_usage_error(cmd, err, "\"run\" requires at least 1 argument");
  }
  const char *service = argv[optind];
  int rc = -1, code = 0;
  json_t *req = NULL;
  mtk_autofree char *gen = NULL;
  mtk_autoptr(mtk_ctr) c = NULL;
  mtk_autoptr(mtk_project) p = mtk_cli_project_load(cli, err);
  if (!p)
    goto out;
  json_t *svc = json_object_get(json_object_get(p->model, "services"), service);
  if (!svc) {
    mtk_err_set(err, ENOENT, "no such service: %s", service);
    goto out;
  }
  /* the dependencies, as `up -d DEP...` would start them */
  const char *dep;
  json_t *v;
  struct mtk_cli_strv up = {0};
  mtk_cli_strv_push(&up, "up");
  mtk_cli_strv_push(&up, "-d");
  json_object_foreach(json_object_get(svc, "depends_on"), dep, v) mtk_cli_strv_push(&up, dep);
  const struct mtk_cli_cmd *upcmd = mtk_cli_cmd_find(mtk_cli_commands, "up");
  if (!no_deps && up.n > 2 && mtk_cli_up(cli, upcmd, (int) up.n, (char **) up.v, err) != 0) {
    mtk_cli_strv_free(&up);
    goto out;
  }
  mtk_cli_strv_free(&up);
  req = mtk_orch_ctr_request(p, service, 1, err);
  if (!req)
    goto out;
  json_t *labels = json_object_get(req, "Labels");
  json_object_set_new(labels, MTK_LABEL_ONEOFF, json_string("True"));
  json_object_del(labels, MTK_LABEL_NUMBER);
  json_t *hc = json_object_get(req, "HostConfig");
  if (!service_ports)
    json_object_del(hc, "PortBindings");
  json_object_set_new(hc, "RestartPolicy", json_pack("{s:s}", "Name", "no"));
  json_object_set_new(hc, "AutoRemove", json_boolean(rm));
  json_object_set_new(req, "Tty", json_boolean(tty && !detach));
  json_object_set_new(req, "OpenStdin", json_boolean(!detach));
  if (optind + 1 < argc) {
    json_t *cmdv = json_array();
    for (int k = optind + 1; k < argc; k++)
      json_array_append_new(cmdv, json_string(argv[k]));
    json_object_set_new(req, "Cmd", cmdv);
  }
  if (entrypoint)
    json_object_set_new(req, "Entrypoint", json_pack("[s]", entrypoint));
  if (user)
    json_object_set_new(req, "User", json_string(user));
  if (workdir)
    json_object_set_new(req, "WorkingDir", json_string(workdir));
  for (size_t k = 0; k < env.n; k++)
    json_array_append_new(json_object_get(req, "Env"), json_string(env.v[k]));
  if (!name) {
    unsigned r = (unsigned) getpid() ^ (unsigned) time(NULL);
    gen = mtk_xasprintf("%s-%s-run-%06x", p->name, service, r & 0xffffff);
    name = gen;
  }
  if (mtk_ctr_create(cli->root, cli->runroot, req, name, &c, err) < 0)
    goto out;
  if (detach) {
    rc = mtk_sup_spawn_monitor(cli->root, cli->runroot, c->id, &code, err);
    if (rc == 0)
      printf("%s\n", name);
  } else {
    rc = mtk_sup_run_attached(cli->root, cli->runroot, c->id, &code, err);
  }
out:
  json_decref(req);
  mtk_cli_strv_free(&env);
  return rc < 0 ? rc : code;
}

/* `create [SERVICE...]`: `up --no-start`. */
int mtk_cli_project_create(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                           char **argv, struct mtk_err **err)
{
  struct mtk_cli_strv a = {0};
  mtk_cli_strv_push(&a, "up");
  mtk_cli_strv_push(&a, "--no-start");
  for (int k = 1; k < argc; k++) {
    if (strcmp(argv[k], "-h") == 0 || strcmp(argv[k], "--help") == 0) {
      mtk_cli_strv_free(&a);
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    }
    mtk_cli_strv_push(&a, argv[k]);
  }
  int rc = mtk_cli_up(cli, mtk_cli_cmd_find(mtk_cli_commands, "up"), (int) a.n, (char **) a.v, err);
  mtk_cli_strv_free(&a);
  return rc;
}

/* `wait SERVICE...`: blocks until their containers stop; prints the exit
 * codes. */
int mtk_cli_project_wait(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                         struct mtk_err **err)
{
  struct pflags f;
  bool help;
  int i = pparse(cmd, argc, argv, &f, &help, err);
  if (i < 0 || help)
    return i < 0 ? i : 0;
  if (i >= argc)
    return mtk_cli_usage_error(cmd, err, "\"wait\" requires at least 1 argument");
  struct sel s;
  if (sel_load(cli, argv + i, (size_t) (argc - i), false, &s, err) < 0)
    return -1;
  int rc = 0, last = 0;
  for (size_t k = 0; k < s.n && rc == 0; k++) {
    rc = mtk_ctr_wait(cli->root, cli->runroot, s.v[k], &last, err);
    if (rc == 0)
      printf("%d\n", last);
  }
  sel_free(&s);
  return rc;
}

/* `ls`: the projects that have containers, with their status counts. */
int mtk_cli_project_ls(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                       struct mtk_err **err)
{
  struct pflags f;
  bool help;
  int i = pparse(cmd, argc, argv, &f, &help, err);
  if (i < 0 || help)
    return i < 0 ? i : 0;
  struct mtk_ctr **all = NULL;
  size_t n = 0;
  if (mtk_ctr_list(cli->root, cli->runroot, &all, &n, err) < 0)
    return -1;
  json_t *projects = json_object(); /* name -> {running, exited, files} */
  for (size_t k = 0; k < n; k++) {
    const char *proj = mtk_orch_ctr_label(all[k], MTK_LABEL_PROJECT);
    if (proj) {
      json_t *e = json_object_get(projects, proj);
      if (!e) {
        e = json_pack("{s:i, s:i, s:s}", "running", 0, "exited", 0, "files",
                      mtk_orch_ctr_label(all[k], MTK_LABEL_FILES) ?: "");
        json_object_set_new(projects, proj, e);
      }
      const char *key = mtk_ctr_is_running(all[k]) ? "running" : "exited";
      json_object_set_new(e, key, json_integer(json_integer_value(json_object_get(e, key)) + 1));
    }
    mtk_ctr_free(all[k]);
  }
  free(all);
  bool json = f.format && strcmp(f.format, "json") == 0;
  if (!json && !f.quiet)
    printf("%-20s%-20s%s\n", "NAME", "STATUS", "CONFIG FILES");
  json_t *out = json_array();
  const char *name;
  json_t *e;
  json_object_foreach(projects, name, e)
  {
    int r = (int) json_integer_value(json_object_get(e, "running"));
    int x = (int) json_integer_value(json_object_get(e, "exited"));
    if (!f.all && r == 0)
      continue;
    mtk_autofree char *status = r && x ? mtk_xasprintf("running(%d), exited(%d)", r, x)
                                : r    ? mtk_xasprintf("running(%d)", r)
                                       : mtk_xasprintf("exited(%d)", x);
    const char *files = json_string_value(json_object_get(e, "files"));
    if (json)
      json_array_append_new(
          out, json_pack("{s:s, s:s, s:s}", "Name", name, "Status", status, "ConfigFiles", files));
    else if (f.quiet)
      printf("%s\n", name);
    else
      printf("%-20s%-20s%s\n", name, status, files);
  }
  if (json) {
    mtk_autofree char *t = json_dumps(out, JSON_COMPACT);
    printf("%s\n", t);
  }
  json_decref(out);
  json_decref(projects);
  return 0;
}

/* ----------------------------------------------------------- pull, images */

/* `pull [-q] [--ignore-pull-failures] [SERVICE...]`: the services' images
 * (services with only `build:` are skipped, as docker compose does). */
int mtk_cli_project_pull(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                         struct mtk_err **err)
{
  bool quiet = false, ignore = false;
  int k = 1;
  for (; k < argc && argv[k][0] == '-'; k++) {
    if (strcmp(argv[k], "-q") == 0 || strcmp(argv[k], "--quiet") == 0)
      quiet = true;
    else if (strcmp(argv[k], "--ignore-pull-failures") == 0)
      ignore = true;
    else if (strcmp(argv[k], "-h") == 0 || strcmp(argv[k], "--help") == 0) {
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    } else
      return mtk_cli_usage_error(cmd, err, "unknown option \"%s\"", argv[k]);
  }
  mtk_autoptr(mtk_project) p = mtk_cli_project_load(cli, err);
  if (!p)
    return -1;
  const json_t *services = json_object_get(p->model, "services");
  for (int i = k; i < argc; i++)
    if (!json_object_get(services, argv[i]))
      return mtk_err_set(err, ENOENT, "no such service: %s", argv[i]);
  mtk_autoptr(mtk_store) s = NULL;
  if (mtk_store_open(cli->root, &s, err) < 0)
    return -1;
  struct mtk_progress *prog = quiet ? NULL : mtk_progress_new(stderr, isatty(STDERR_FILENO));
  int rc = 0;
  const char *name;
  json_t *svc;
  json_object_foreach((json_t *) services, name, svc)
  {
    bool wanted = k == argc;
    for (int i = k; i < argc; i++)
      wanted |= strcmp(argv[i], name) == 0;
    const char *image = json_string_value(json_object_get(svc, "image"));
    if (!wanted || !image)
      continue;
    if (!quiet)
      fprintf(stderr, " %s Pulling %s\n", name, image);
    struct mtk_err *e = NULL;
    mtk_autoptr(mtk_store_image) img = mtk_image_pull(s, image, NULL, prog, &e);
    if (!img) {
      if (ignore) {
        mtk_autofree char *t = mtk_err_format(e);
        fprintf(stderr, " %s: %s\n", name, t);
        mtk_err_free(&e);
        continue;
      }
      *err = e;
      mtk_err_wrap(err, "service %s", name);
      rc = -1;
      break;
    }
    if (!quiet)
      fprintf(stderr, " \u2714 %s Pulled\n", name);
  }
  mtk_progress_free(prog);
  return rc;
}

/* `images [-q] [SERVICE...]`: the images of the project's containers. */
int mtk_cli_project_images(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                           char **argv, struct mtk_err **err)
{
  struct pflags f;
  struct sel s;
  int i = begin(cli, cmd, argc, argv, false, &f, &s, err);
  if (i <= 0)
    return i;
  if (!f.quiet)
    printf("%-28s%-24s%-12s%s\n", "CONTAINER", "REPOSITORY", "TAG", "IMAGE ID");
  for (size_t k = 0; k < s.n; k++) {
    const char *id = json_string_value(json_object_get(s.v[k]->config, "Image"));
    const char *ref =
        json_string_value(json_object_get(json_object_get(s.v[k]->config, "Config"), "Image"));
    const char *hex = id && strncmp(id, "sha256:", 7) == 0 ? id + 7 : id ? id : "";
    if (f.quiet) {
      printf("%s\n", hex);
      continue;
    }
    mtk_autofree char *repo = mtk_xstrdup(ref ? ref : "<none>");
    const char *tag = "latest";
    char *colon = strrchr(repo, ':');
    if (colon && !strchr(colon, '/')) {
      *colon = 0;
      tag = colon + 1;
    }
    printf("%-28s%-24s%-12s%.12s\n", s.v[k]->name, repo, tag, hex);
  }
  sel_free(&s);
  return 0;
}
