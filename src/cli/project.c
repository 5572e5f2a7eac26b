/* The project commands: `up` and `down` (and the helpers the other project
 * commands share: loading the project, listing its containers).  The work
 * is done by src/orch/ (plan, supervisor), src/runtime/container.h
 * (create, stop, remove) and src/net/ (networks). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/project.h"
#include "compose/graph.h"
#include "image/image.h"
#include "image/store.h"
#include "net/net.h"
#include "orch/orch.h"
#include "runtime/container.h"
#include "util/cleanup.h"

struct mtk_project *mtk_cli_project_load(const struct mtk_cli *cli, struct mtk_err **err)
{
  struct mtk_compose_opts co = {
      .files = cli->files.v,
      .n_files = cli->files.n,
      .project_name = cli->project_name,
      .project_dir = cli->project_dir,
      .env_files = cli->env_files.v,
      .n_env_files = cli->env_files.n,
      .profiles = cli->profiles.v,
      .n_profiles = cli->profiles.n,
      .all_resources = cli->all_resources,
  };
  return mtk_compose_load(&co, err);
}

int mtk_cli_project_ctrs(const struct mtk_cli *cli, const char *project, struct mtk_ctr ***out,
                         size_t *n, struct mtk_err **err)
{
  struct mtk_ctr **all = NULL;
  size_t n_all = 0;
  *out = NULL;
  *n = 0;
  if (mtk_ctr_list(cli->root, cli->runroot, &all, &n_all, err) < 0)
    return -1;
  for (size_t i = 0; i < n_all; i++) {
    const char *p = mtk_orch_ctr_label(all[i], MTK_LABEL_PROJECT);
    if (p && strcmp(p, project) == 0) {
      *out = mtk_xrealloc(*out, (*n + 1) * sizeof(**out));
      (*out)[(*n)++] = all[i];
    } else {
      mtk_ctr_free(all[i]);
    }
  }
  free(all);
  return 0;
}

static void status_line(const struct mtk_cli *cli, const char *kind, const char *name,
                        const char *what)
{
  fprintf(stderr, " %s %s %s  %s\n", cli->color ? "\033[32m\u2714\033[0m" : "\u2714", kind, name,
          what);
}

/* ------------------------------------------------------------ resources */

/* The project's networks: external ones must exist, the others are created
 * when missing. */
static int ensure_networks(const struct mtk_cli *cli, const struct mtk_project *p,
                           struct mtk_err **err)
{
  const char *key;
  json_t *def;
  json_object_foreach(json_object_get(p->model, "networks"), key, def)
  {
    const char *name = json_string_value(json_object_get(def, "name"));
    if (!name)
      continue;
    json_t *have = NULL;
    struct mtk_err *e = NULL;
    if (mtk_net_load(cli->root, name, &have, &e) == 0) {
      json_decref(have);
      continue;
    }
    if (e->code != ENOENT) {
      *err = e;
      return -1;
    }
    mtk_err_free(&e);
    if (json_is_true(json_object_get(def, "external"))) {
      mtk_err_set(err, ENOENT, "network %s declared as external, but could not be found", name);
      mtk_err_hint(err, "create it first: mtk network create %s", name);
      return -1;
    }
    const json_t *ipam = json_array_get(json_object_get(json_object_get(def, "ipam"), "config"), 0);
    mtk_autofree char *l1 = mtk_xasprintf("%s=%s", MTK_LABEL_PROJECT, p->name);
    mtk_autofree char *l2 = mtk_xasprintf("%s=%s", MTK_LABEL_NETWORK, key);
    const char *labels[] = {l1, l2};
    struct mtk_net_create_opts o = {
        .name = name,
        .subnet = json_string_value(json_object_get(ipam, "subnet")),
        .gateway = json_string_value(json_object_get(ipam, "gateway")),
        .internal = json_is_true(json_object_get(def, "internal")),
        .ipv6 = json_is_true(json_object_get(def, "enable_ipv6")),
        .labels = labels,
        .n_labels = 2,
    };
    if (mtk_net_create(cli->root, &o, NULL, err) < 0)
      return mtk_err_wrap(err, "network %s", key);
    status_line(cli, "Network", name, "Created");
  }
  return 0;
}

/* The project's named volumes (external ones must exist). */
static int ensure_volumes(const struct mtk_cli *cli, const struct mtk_project *p,
                          struct mtk_err **err)
{
  const char *key;
  json_t *def;
  json_object_foreach(json_object_get(p->model, "volumes"), key, def)
  {
    const char *name = json_string_value(json_object_get(def, "name"));
    if (!name)
      continue;
    json_t *have = NULL;
    struct mtk_err *e = NULL;
    if (mtk_volume_inspect(cli->root, name, &have, &e) == 0) {
      json_decref(have);
      continue;
    }
    mtk_err_free(&e);
    if (json_is_true(json_object_get(def, "external"))) {
      mtk_err_set(err, ENOENT, "external volume \"%s\" not found", name);
      mtk_err_hint(err, "create it first: mtk volume create %s", name);
      return -1;
    }
    mtk_autofree char *l1 = mtk_xasprintf("%s=%s", MTK_LABEL_PROJECT, p->name);
    mtk_autofree char *l2 = mtk_xasprintf("%s=%s", MTK_LABEL_VOLUME, key);
    const char *labels[] = {l1, l2};
    if (mtk_volume_create(cli->root, name, labels, 2, NULL, err) < 0)
      return mtk_err_wrap(err, "volume %s", key);
    status_line(cli, "Volume", name, "Created");
  }
  return 0;
}

/* Every image the services need is in the store (pulled when missing unless
 * --pull never); services with only `build:` need the builder. */
static int ensure_images(const struct mtk_cli *cli, const struct mtk_project *p,
                         const struct mtk_orch_plan *plan, const char *pull, struct mtk_err **err)
{
  mtk_autoptr(mtk_store) s = NULL;
  if (mtk_store_open(cli->root, &s, err) < 0)
    return -1;
  const json_t *services = json_object_get(p->model, "services");
  for (size_t i = 0; i < plan->n; i++) {
    const struct mtk_orch_step *st = &plan->steps[i];
    if (st->action == MTK_ORCH_KEEP || st->action == MTK_ORCH_REMOVE)
      continue;
    if (i > 0 && strcmp(plan->steps[i - 1].service, st->service) == 0)
      continue;
    const json_t *svc = json_object_get(services, st->service);
    const char *image = json_string_value(json_object_get(svc, "image"));
    mtk_autofree char *def = image ? NULL : mtk_xasprintf("%s-%s", p->name, st->service);
    mtk_autoptr(mtk_store_image) img = NULL;
    struct mtk_err *e = NULL;
    bool have = mtk_store_resolve(s, image ? image : def, &img, &e) == 0;
    mtk_err_free(&e);
    if (!image) {
      if (have)
        continue;
      mtk_err_set(err, MTK_E_BUILD, "service %s has no image and must be built (%s)", st->service,
                  def);
      mtk_err_hint(err, "building images is not available in this version yet: build it "
                        "elsewhere and `mtk image load` it, or give the service an image");
      return -1;
    }
    bool always = pull && strcmp(pull, "always") == 0;
    if (have && !always)
      continue;
    if (pull && strcmp(pull, "never") == 0) {
      mtk_err_set(err, ENOENT, "service %s: image %s is not present and --pull never was given",
                  st->service, image);
      mtk_err_hint(err, "pull it first: mtk image pull %s", image);
      return -1;
    }
    fprintf(stderr, " Pulling %s (%s)\n", st->service, image);
    mtk_autoptr(mtk_store_image) got = mtk_image_pull(s, image, NULL, NULL, err);
    if (!got)
      return mtk_err_wrap(err, "service %s", st->service);
  }
  return 0;
}

/* ------------------------------------------------------------ stopping */

struct stop_job {
  const struct mtk_cli *cli;
  struct mtk_ctr *c;
  int timeout;
  bool remove, volumes, threaded;
  struct mtk_ctr_stop_result res;
  struct mtk_err *err;
};

static void *stop_thread(void *arg)
{
  struct stop_job *j = arg;
  if (mtk_ctr_is_running(j->c) &&
      mtk_ctr_stop(j->cli->root, j->cli->runroot, j->c, 0, j->timeout, &j->res, &j->err) < 0)
    return NULL;
  if (j->remove)
    mtk_ctr_remove(j->cli->root, j->cli->runroot, j->c, true, j->volumes, &j->err);
  return NULL;
}

struct levels {
  const json_t *model;
  struct mtk_graph *g;
};

/* The start level of a container's service; orphans (unknown services)
 * above every level, so they stop first. */
static int level_of(const struct levels *lv, const struct mtk_ctr *c)
{
  const char *svc = mtk_orch_ctr_label(c, MTK_LABEL_SERVICE);
  for (size_t i = 0; svc && lv->g && i < mtk_graph_len(lv->g); i++)
    if (strcmp(mtk_graph_at(lv->g, i), svc) == 0)
      return mtk_graph_level(lv->g, i);
  return 1 << 20;
}

/* Stops (and removes) containers in reverse dependency order, all of one
 * level at the same time; prints docker compose's progress lines and the
 * containers whose PID 1 could not receive the stop signal. */
int mtk_cli_project_stop(const struct mtk_cli *cli, const json_t *model, struct mtk_ctr **v,
                         size_t n, int timeout, bool remove, bool volumes, struct mtk_err **err)
{
  struct levels lv = {.model = model, .g = NULL};
  struct mtk_err *ge = NULL;
  if (model)
    lv.g = mtk_graph_from_model(model, &ge);
  mtk_err_free(&ge);
  int *lvl = mtk_xcalloc(n ? n : 1, sizeof(*lvl));
  for (size_t i = 0; i < n; i++)
    lvl[i] = level_of(&lv, v[i]);
  struct stop_job *jobs = mtk_xcalloc(n ? n : 1, sizeof(*jobs));
  pthread_t *th = mtk_xcalloc(n ? n : 1, sizeof(*th));
  int rc = 0;
  for (int level = INT_MAX;;) {
    int next = -1; /* the highest level below `level` */
    for (size_t i = 0; i < n; i++)
      if (lvl[i] < level && lvl[i] > next)
        next = lvl[i];
    if (next < 0)
      break;
    level = next;
    for (size_t i = 0; i < n; i++) {
      if (lvl[i] != level)
        continue;
      jobs[i] = (struct stop_job){
          .cli = cli, .c = v[i], .timeout = timeout, .remove = remove, .volumes = volumes};
      if (mtk_ctr_is_running(v[i]))
        fprintf(stderr, " Container %s  Stopping\n", v[i]->name);
      jobs[i].threaded = pthread_create(&th[i], NULL, stop_thread, &jobs[i]) == 0;
      if (!jobs[i].threaded)
        stop_thread(&jobs[i]);
    }
    for (size_t i = 0; i < n; i++) {
      if (lvl[i] != level)
        continue;
      if (jobs[i].threaded)
        pthread_join(th[i], NULL);
      struct stop_job *j = &jobs[i];
      if (j->err) {
        if (!*err)
          *err = j->err;
        else
          mtk_err_free(&j->err);
        rc = -1;
        continue;
      }
      if (j->res.was_running)
        status_line(cli, "Container", v[i]->name, "Stopped");
      if (j->res.not_caught)
        fprintf(stderr,
                "   %s: PID 1 does not handle %s, so it was killed at once instead of waiting "
                "(hint: `init: true` or a `stop_signal` it handles)\n",
                v[i]->name, strsignal(j->res.stop_signal));
      if (remove)
        status_line(cli, "Container", v[i]->name, "Removed");
    }
  }
  free(lvl);
  free(jobs);
  free(th);
  mtk_graph_free(lv.g);
  return rc;
}

/* ------------------------------------------------------------------ up */

struct up_opts {
  struct mtk_orch_plan_opts plan;
  struct mtk_orch_up_opts sup;
  struct mtk_cli_strv scale;
  bool wait, no_start;
  int wait_timeout;
  const char *pull;
};

enum {
  OPT_WAIT = 256,
  OPT_WAIT_TIMEOUT,
  OPT_NO_START,
  OPT_NO_DEPS,
  OPT_FORCE_RECREATE,
  OPT_NO_RECREATE,
  OPT_REMOVE_ORPHANS,
  OPT_ABORT,
  OPT_EXIT_CODE_FROM,
  OPT_SCALE,
  OPT_PULL,
  OPT_NO_LOG_PREFIX,
  OPT_TIMESTAMPS,
  OPT_RMI,
};

static int parse_int(const struct mtk_cli_cmd *cmd, const char *flag, const char *v, int *out,
                     struct mtk_err **err)
{
  char *end;
  long n = strtol(v, &end, 10);
  if (!*v || *end || n < -1 || n > 1000000)
    return mtk_cli_usage_error(cmd, err, "invalid value \"%s\" for %s", v, flag);
  *out = (int) n;
  return 0;
}

static int parse_up(const struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                    struct up_opts *o, struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"detach", no_argument, NULL, 'd'},
      {"wait", no_argument, NULL, OPT_WAIT},
      {"wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT},
      {"no-start", no_argument, NULL, OPT_NO_START},
      {"no-deps", no_argument, NULL, OPT_NO_DEPS},
      {"force-recreate", no_argument, NULL, OPT_FORCE_RECREATE},
      {"no-recreate", no_argument, NULL, OPT_NO_RECREATE},
      {"remove-orphans", no_argument, NULL, OPT_REMOVE_ORPHANS},
      {"abort-on-container-exit", no_argument, NULL, OPT_ABORT},
      {"exit-code-from", required_argument, NULL, OPT_EXIT_CODE_FROM},
      {"scale", required_argument, NULL, OPT_SCALE},
      {"timeout", required_argument, NULL, 't'},
      {"pull", required_argument, NULL, OPT_PULL},
      {"no-log-prefix", no_argument, NULL, OPT_NO_LOG_PREFIX},
      {"timestamps", no_argument, NULL, OPT_TIMESTAMPS},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  o->sup.timeout = -1;
  o->wait_timeout = 0;
  o->sup.color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && cli->color;
  opterr = 0;
  optind = 0;
  for (int c; (c = getopt_long(argc, argv, "+:dt:h", longopts, NULL)) != -1;) {
    switch (c) {
      case 'd':
        o->sup.detach = true;
        break;
      case OPT_WAIT:
        o->wait = o->sup.detach = true;
        break;
      case OPT_WAIT_TIMEOUT:
        if (parse_int(cmd, "--wait-timeout", optarg, &o->wait_timeout, err) < 0)
          return -1;
        break;
      case OPT_NO_START:
        o->no_start = true;
        break;
      case OPT_NO_DEPS:
        o->plan.no_deps = true;
        break;
      case OPT_FORCE_RECREATE:
        o->plan.force_recreate = true;
        break;
      case OPT_NO_RECREATE:
        o->plan.no_recreate = true;
        break;
      case OPT_REMOVE_ORPHANS:
        o->plan.remove_orphans = true;
        break;
      case OPT_ABORT:
        o->sup.abort_on_exit = true;
        break;
      case OPT_EXIT_CODE_FROM:
        o->sup.exit_code_from = optarg;
        break;
      case OPT_SCALE:
        mtk_cli_strv_push(&o->scale, optarg);
        break;
      case 't':
        if (parse_int(cmd, "--timeout", optarg, &o->sup.timeout, err) < 0)
          return -1;
        break;
      case OPT_PULL:
        if (strcmp(optarg, "always") && strcmp(optarg, "missing") && strcmp(optarg, "never"))
          return mtk_cli_usage_error(
              cmd, err, "invalid --pull value \"%s\": always, missing or never", optarg);
        o->pull = optarg;
        break;
      case OPT_NO_LOG_PREFIX:
        o->sup.no_log_prefix = true;
        break;
      case OPT_TIMESTAMPS:
        o->sup.timestamps = true;
        break;
      case 'h':
        mtk_cli_print_cmd_help(stdout, cmd);
        return 1;
      default:
        return mtk_cli_getopt_error(cmd, c, argv, err);
    }
  }
  if (o->sup.detach && (o->sup.abort_on_exit || o->sup.exit_code_from))
    return mtk_cli_usage_error(cmd, err,
                               "--abort-on-container-exit and --exit-code-from cannot "
                               "be combined with --detach");
  if (o->plan.force_recreate && o->plan.no_recreate)
    return mtk_cli_usage_error(cmd, err, "--force-recreate and --no-recreate are incompatible");
  o->plan.services = (const char *const *) argv + optind;
  o->plan.n_services = (size_t) (argc - optind);
  o->plan.scale = o->scale.v;
  o->plan.n_scale = o->scale.n;
  return 0;
}

/* Carries out the removals and creations of the plan; the IDs to start go
 * to *ids (copies, owned by the caller). */
static int apply_plan(const struct mtk_cli *cli, const struct mtk_project *p,
                      const struct mtk_orch_plan *plan, struct mtk_ctr **ctrs, size_t n_ctrs,
                      const struct up_opts *o, struct mtk_cli_strv *ids, struct mtk_err **err)
{
  /* stop and remove what goes away or is recreated, in reverse order */
  struct mtk_ctr **gone = mtk_xcalloc(plan->n + 1, sizeof(*gone));
  size_t n_gone = 0;
  for (size_t i = 0; i < plan->n; i++) {
    const struct mtk_orch_step *st = &plan->steps[i];
    if (st->action != MTK_ORCH_REMOVE && st->action != MTK_ORCH_RECREATE)
      continue;
    for (size_t k = 0; k < n_ctrs; k++)
      if (strcmp(ctrs[k]->id, st->ctr_id) == 0)
        gone[n_gone++] = ctrs[k];
  }
  int rc = mtk_cli_project_stop(cli, p->model, gone, n_gone, o->sup.timeout, true, false, err);
  free(gone);
  if (rc < 0)
    return -1;
  for (size_t i = 0; i < plan->n; i++) {
    const struct mtk_orch_step *st = &plan->steps[i];
    if (st->action == MTK_ORCH_START) {
      mtk_cli_strv_push(ids, mtk_xstrdup(st->ctr_id));
      continue;
    }
    if (st->action == MTK_ORCH_KEEP) {
      status_line(cli, "Container", st->name, "Running");
      continue;
    }
    if (st->action != MTK_ORCH_CREATE && st->action != MTK_ORCH_RECREATE)
      continue;
    json_t *req = mtk_orch_ctr_request(p, st->service, st->number, err);
    if (!req)
      return -1;
    mtk_autoptr(mtk_ctr) c = NULL;
    rc = mtk_ctr_create(cli->root, cli->runroot, req, st->name, &c, err);
    json_decref(req);
    if (rc < 0)
      return mtk_err_wrap(err, "service %s", st->service);
    status_line(cli, "Container", st->name,
                st->action == MTK_ORCH_RECREATE ? "Recreated" : "Created");
    mtk_cli_strv_push(ids, mtk_xstrdup(c->id));
  }
  return 0;
}

/* A second `up -d` while the project's supervisor runs: it adopts and
 * starts the new containers (one supervisor per project).  False when no
 * supervisor answers (then a new one is started); *rc otherwise. */
static bool hand_over(const struct mtk_cli *cli, const struct mtk_project *p,
                      const struct mtk_cli_strv *ids, int *rc, struct mtk_err **err)
{
  json_t *resp = NULL, *ping = json_pack("{s:s}", "cmd", "ping");
  struct mtk_err *e = NULL;
  int r = mtk_orch_sup_call(cli->runroot, p->name, ping, &resp, &e);
  json_decref(ping);
  mtk_err_free(&e);
  bool alive = r == 0 && json_is_true(json_object_get(resp, "ok"));
  json_decref(resp);
  if (!alive)
    return false;
  json_t *list = json_array();
  for (size_t i = 0; i < ids->n; i++)
    json_array_append_new(list, json_string(ids->v[i]));
  json_t *req = json_pack("{s:s, s:o}", "cmd", "start", "ids", list);
  r = mtk_orch_sup_call(cli->runroot, p->name, req, &resp, &e);
  json_decref(req);
  if (r < 0) { /* it went away meanwhile: start a new one */
    mtk_err_free(&e);
    return false;
  }
  size_t i;
  json_t *line;
  json_array_foreach(json_object_get(resp, "progress"), i, line)
      fprintf(stderr, "%s\n", json_string_value(line));
  *rc = 0;
  if (!json_is_true(json_object_get(resp, "ok"))) {
    const char *msg = json_string_value(json_object_get(resp, "error"));
    int code = (int) json_integer_value(json_object_get(resp, "code"));
    *rc = mtk_err_set(err, code ? code : MTK_E_GENERIC, "%s", msg ? msg : "start failed");
  }
  json_decref(resp);
  return true;
}

/* --wait: every started container running, and healthy when it has a
 * health check. */
static int wait_healthy(const struct mtk_cli *cli, const struct mtk_cli_strv *ids, int timeout,
                        struct mtk_err **err)
{
  time_t until = timeout > 0 ? time(NULL) + timeout : 0;
  for (;;) {
    bool all = true;
    for (size_t i = 0; i < ids->n; i++) {
      mtk_autoptr(mtk_ctr) c = NULL;
      if (mtk_ctr_load(cli->root, cli->runroot, ids->v[i], &c, err) < 0)
        return -1;
      const char *health =
          json_string_value(json_object_get(json_object_get(c->state, "Health"), "Status"));
      bool has_check =
          json_object_get(json_object_get(c->config, "Config"), "Healthcheck") &&
          strcmp(
              json_string_value(json_array_get(
                  json_object_get(
                      json_object_get(json_object_get(c->config, "Config"), "Healthcheck"), "Test"),
                  0))
                  ?: "NONE",
              "NONE") != 0;
      if (!mtk_ctr_is_running(c)) {
        mtk_err_set(err, MTK_E_GENERIC, "container %s exited (%d)", c->name,
                    (int) json_integer_value(json_object_get(c->state, "ExitCode")));
        return -1;
      }
      if (health && strcmp(health, "unhealthy") == 0)
        return mtk_err_set(err, MTK_E_GENERIC, "container %s is unhealthy", c->name);
      if (has_check && !(health && strcmp(health, "healthy") == 0))
        all = false;
    }
    if (all)
      return 0;
    if (until && time(NULL) >= until)
      return mtk_err_set(err, MTK_E_GENERIC, "timeout waiting for the services to be healthy");
    usleep(100000);
  }
}

int mtk_cli_up(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
               struct mtk_err **err)
{
  struct up_opts o = {0};
  int r = parse_up(cli, cmd, argc, argv, &o, err);
  if (r != 0) {
    mtk_cli_strv_free(&o.scale);
    return r < 0 ? r : 0;
  }
  mtk_autoptr(mtk_project) p = mtk_cli_project_load(cli, err);
  struct mtk_ctr **ctrs = NULL;
  size_t n_ctrs = 0;
  struct mtk_orch_plan plan = {0};
  struct mtk_cli_strv ids = {0};
  int rc = -1, exit_code = 0;
  if (!p || mtk_cli_project_ctrs(cli, p->name, &ctrs, &n_ctrs, err) < 0 ||
      mtk_orch_plan(p, ctrs, n_ctrs, &o.plan, &plan, err) < 0)
    goto out;
  if (plan.n_orphans) {
    fprintf(stderr, "WARN[0000] Found orphan containers (");
    for (size_t i = 0; i < plan.n_orphans; i++)
      fprintf(stderr, "%s[%s]", i ? " " : "", plan.orphans[i]);
    fprintf(stderr, ") for this project. If you removed or renamed this service in your compose "
                    "file, you can run this command with the --remove-orphans flag to clean it "
                    "up.\n");
  }
  if (ensure_images(cli, p, &plan, o.pull, err) < 0 || ensure_networks(cli, p, err) < 0 ||
      ensure_volumes(cli, p, err) < 0 || apply_plan(cli, p, &plan, ctrs, n_ctrs, &o, &ids, err) < 0)
    goto out;
  rc = 0;
  if (o.no_start || ids.n == 0)
    goto out;
  if (o.sup.detach && hand_over(cli, p, &ids, &rc, err))
    ; /* the project's running supervisor took them */
  else
    rc = mtk_orch_supervise(cli->root, cli->runroot, p, ids.v, ids.n, &o.sup, &exit_code, err);
  if (rc == 0 && o.wait)
    rc = wait_healthy(cli, &ids, o.wait_timeout, err);
out:
  mtk_orch_plan_free(&plan);
  for (size_t i = 0; i < n_ctrs; i++)
    mtk_ctr_free(ctrs[i]);
  free(ctrs);
  for (size_t i = 0; i < ids.n; i++) /* copies: the containers they came from are gone */
    free((char *) ids.v[i]);
  mtk_cli_strv_free(&ids);
  mtk_cli_strv_free(&o.scale);
  return rc < 0 ? rc : exit_code;
}

/* ---------------------------------------------------------------- down */

int mtk_cli_down(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                 struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"volumes", no_argument, NULL, 'v'},
      {"remove-orphans", no_argument, NULL, OPT_REMOVE_ORPHANS},
      {"rmi", required_argument, NULL, OPT_RMI},
      {"timeout", required_argument, NULL, 't'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool volumes = false, orphans = false;
  int timeout = -1;
  opterr = 0;
  optind = 0;
  for (int c; (c = getopt_long(argc, argv, "+:vt:h", longopts, NULL)) != -1;) {
    switch (c) {
      case 'v':
        volumes = true;
        break;
      case OPT_REMOVE_ORPHANS:
        orphans = true;
        break;
      case OPT_RMI:
        return mtk_cli_usage_error(cmd, err, "--rmi is not available in this version yet");
      case 't':
        if (parse_int(cmd, "--timeout", optarg, &timeout, err) < 0)
          return -1;
        break;
      case 'h':
        mtk_cli_print_cmd_help(stdout, cmd);
        return 0;
      default:
        return mtk_cli_getopt_error(cmd, c, argv, err);
    }
  }
  if (optind < argc)
    return mtk_cli_usage_error(cmd, err, "\"down\" accepts no arguments");
  mtk_autoptr(mtk_project) p = mtk_cli_project_load(cli, err);
  if (!p)
    return -1;
  struct mtk_ctr **ctrs = NULL;
  size_t n = 0;
  if (mtk_cli_project_ctrs(cli, p->name, &ctrs, &n, err) < 0)
    return -1;
  /* orphans stay unless asked */
  const json_t *services = json_object_get(p->model, "services");
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const char *svc = mtk_orch_ctr_label(ctrs[i], MTK_LABEL_SERVICE);
    if (orphans || (svc && json_object_get(services, svc)))
      ctrs[k++] = ctrs[i];
    else
      mtk_ctr_free(ctrs[i]);
  }
  int rc = mtk_cli_project_stop(cli, p->model, ctrs, k, timeout, true, volumes, err);
  for (size_t i = 0; i < k; i++)
    mtk_ctr_free(ctrs[i]);
  free(ctrs);
  const char *key;
  json_t *def;
  json_object_foreach(json_object_get(p->model, "networks"), key, def)
  {
    const char *name = json_string_value(json_object_get(def, "name"));
    if (!name || json_is_true(json_object_get(def, "external")))
      continue;
    struct mtk_err *e = NULL;
    if (mtk_net_remove(cli->root, name, &e) == 0)
      status_line(cli, "Network", name, "Removed");
    else if (e->code != ENOENT && rc == 0 && !*err)
      *err = e, e = NULL, rc = -1;
    mtk_err_free(&e);
  }
  if (volumes) {
    json_object_foreach(json_object_get(p->model, "volumes"), key, def)
    {
      const char *name = json_string_value(json_object_get(def, "name"));
      if (!name || json_is_true(json_object_get(def, "external")))
        continue;
      mtk_autofree char *dir = mtk_xasprintf("%s/volumes/%s", cli->root, name);
      if (access(dir, F_OK) != 0)
        continue;
      struct mtk_err *e = NULL;
      if (mtk_volume_remove(cli->root, name, false, &e) == 0)
        status_line(cli, "Volume", name, "Removed");
      else if (rc == 0 && !*err)
        *err = e, e = NULL, rc = -1;
      mtk_err_free(&e);
    }
  }
  return rc;
}
