/* Containers as found on disk: lookup by ID, name or prefix, the list, the
 * state file and its truth correction (a container recorded as running whose
 * process and monitor are gone, or whose bundle vanished with a reboot, is
 * exited), and the short helpers over the state. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "runtime/ctr_internal.h"
#include "util/cleanup.h"

#define GONE_ERROR "the container's monitor is gone; its exit code is unknown"

void mtk_ctr_free(struct mtk_ctr *c)
{
  if (!c)
    return;
  free(c->name);
  json_decref(c->config);
  json_decref(c->state);
  free(c);
}

void mtk_ctr_timestamp(char out[40])
{
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 40 - n, ".%09ldZ", ts.tv_nsec % 1000000000L);
}

const char *mtk_ctr_status(const struct mtk_ctr *c)
{
  const char *s = json_string_value(json_object_get(c->state, "Status"));
  return s ? s : "created";
}

bool mtk_ctr_is_running(const struct mtk_ctr *c)
{
  const char *s = mtk_ctr_status(c);
  return strcmp(s, "running") == 0 || strcmp(s, "paused") == 0 || strcmp(s, "restarting") == 0;
}

pid_t mtk_ctr_pid(const struct mtk_ctr *c)
{
  if (!mtk_ctr_is_running(c))
    return 0;
  return (pid_t) json_integer_value(json_object_get(c->state, "Pid"));
}

json_t *mtk_ctr_state_new(void)
{
  return json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:s, s:s, s:i, s:i, s:i, s:i,"
                   " s:{}, s:{}, s:b}",
                   "Status", "created", "Running", 0, "Paused", 0, "Restarting", 0, "OOMKilled", 0,
                   "Dead", 0, "Pid", 0, "ExitCode", 0, "Error", "", "StartedAt", MTK_CTR_ZERO_TIME,
                   "FinishedAt", MTK_CTR_ZERO_TIME, "PidStart", 0, "MonitorPid", 0, "MonitorStart",
                   0, "RestartCount", 0, "Ports", "Networks", "ManualStop", 0);
}

void mtk_ctr_state_set_exited(json_t *st, int exit_code, const char *error)
{
  char now[40];
  mtk_ctr_timestamp(now);
  json_object_set_new(st, "Status", json_string("exited"));
  json_object_set_new(st, "Running", json_false());
  json_object_set_new(st, "Paused", json_false());
  json_object_set_new(st, "Restarting", json_false());
  json_object_set_new(st, "Pid", json_integer(0));
  json_object_set_new(st, "PidStart", json_integer(0));
  json_object_set_new(st, "ExitCode", json_integer(exit_code));
  json_object_set_new(st, "Error", json_string(error ? error : ""));
  json_object_set_new(st, "FinishedAt", json_string(now));
}

/* The truth: true when the state was corrected. */
static bool correct(const char *runroot, struct mtk_ctr *c)
{
  if (!mtk_ctr_is_running(c))
    return false;
  pid_t pid = (pid_t) json_integer_value(json_object_get(c->state, "Pid"));
  uint64_t start = (uint64_t) json_integer_value(json_object_get(c->state, "PidStart"));
  mtk_autofree char *bundle = mtk_ctr_bundle_path(runroot, c->id);
  struct stat st;
  bool has_bundle = stat(bundle, &st) == 0;
  if (pid > 0 && has_bundle && mtk_ctr_proc_alive(pid, start))
    return false;
  if (mtk_ctr_monitor_alive(c)) /* it records the exit (or restarts) itself */
    return false;
  mtk_ctr_state_set_exited(c->state, 255, GONE_ERROR);
  json_object_set_new(c->state, "MonitorPid", json_integer(0));
  json_object_set_new(c->state, "MonitorStart", json_integer(0));
  return true;
}

int mtk_ctr_save_state(const char *root, const struct mtk_ctr *c, struct mtk_err **err)
{
  mtk_autofree char *path = mtk_xasprintf("%s/containers/%s/state", root, c->id);
  return mtk_ctr_write_json(path, c->state, err);
}

static bool is_id(const char *s)
{
  if (strlen(s) != MTK_CTR_ID_LEN)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

/* Reads <root>/containers/<id>: config (required) and state (a fresh one when
 * missing or broken), corrected. */
static int read_one(const char *root, const char *runroot, const char *id, struct mtk_ctr **out,
                    struct mtk_err **err)
{
  mtk_autofree char *dir = mtk_ctr_path(root, id);
  mtk_autofree char *cfg = mtk_xasprintf("%s/config", dir);
  mtk_autofree char *stp = mtk_xasprintf("%s/state", dir);
  json_t *config = mtk_ctr_read_json(cfg, err);
  if (!config)
    return -1;
  struct mtk_ctr *c = mtk_xcalloc(1, sizeof(*c));
  snprintf(c->id, sizeof(c->id), "%s", id);
  c->config = config;
  const char *name = json_string_value(json_object_get(config, "Name"));
  c->name = mtk_xstrdup(name ? name : "");
  struct mtk_err *e = NULL;
  c->state = mtk_ctr_read_json(stp, &e);
  mtk_err_free(&e);
  if (!c->state)
    c->state = mtk_ctr_state_new();
  if (correct(runroot, c) && mtk_ctr_save_state(root, c, &e) < 0)
    mtk_err_free(&e); /* best effort: the corrected view is still returned */
  *out = c;
  return 0;
}

int mtk_ctr_refresh(const char *root, const char *runroot, struct mtk_ctr *c, struct mtk_err **err)
{
  struct mtk_ctr *fresh = NULL;
  if (read_one(root, runroot, c->id, &fresh, err) < 0)
    return -1;
  json_decref(c->state);
  c->state = mtk_steal_ptr(&fresh->state);
  json_decref(c->config);
  c->config = mtk_steal_ptr(&fresh->config);
  mtk_ctr_free(fresh);
  return 0;
}

static int64_t created_ns(const struct mtk_ctr *c)
{
  const char *s = json_string_value(json_object_get(c->config, "Created"));
  int64_t ns = 0;
  if (s && mtk_ctr_rfc3339_parse(s, strlen(s), &ns))
    return ns;
  return 0;
}

static int newest_first(const void *a, const void *b)
{
  const struct mtk_ctr *x = *(struct mtk_ctr *const *) a, *y = *(struct mtk_ctr *const *) b;
  int64_t cx = created_ns(x), cy = created_ns(y);
  return cx < cy ? 1 : cx > cy ? -1 : strcmp(x->id, y->id);
}

int mtk_ctr_list(const char *root, const char *runroot, struct mtk_ctr ***out, size_t *n,
                 struct mtk_err **err)
{
  *out = NULL;
  *n = 0;
  mtk_autofree char *dir = mtk_ctr_dir(root);
  DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : mtk_err_set(err, errno, "%s: %s", dir, strerror(errno));
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!is_id(e->d_name))
      continue;
    struct mtk_ctr *c = NULL;
    struct mtk_err *ignored = NULL;
    if (read_one(root, runroot, e->d_name, &c, &ignored) < 0) {
      mtk_err_free(&ignored); /* not a container (any more) */
      continue;
    }
    *out = mtk_xrealloc(*out, (*n + 1) * sizeof(**out));
    (*out)[(*n)++] = c;
  }
  closedir(d);
  if (*n > 1)
    qsort(*out, *n, sizeof(**out), newest_first);
  return 0;
}

void mtk_ctr_list_free(struct mtk_ctr **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    mtk_ctr_free(v[i]);
  free(v);
}

/* Finds the ID for ref in the directory without reading states. */
static int find_id(const char *root, const char *ref, char id[MTK_CTR_ID_LEN + 1],
                   struct mtk_err **err)
{
  mtk_autofree char *dir = mtk_ctr_dir(root);
  const char *name = ref[0] == '/' ? ref + 1 : ref;
  if (is_id(ref)) {
    mtk_autofree char *p = mtk_xasprintf("%s/%s/config", dir, ref);
    if (access(p, F_OK) == 0)
      return snprintf(id, MTK_CTR_ID_LEN + 1, "%s", ref), 0;
  }
  DIR *d = opendir(dir);
  char prefix_hit[MTK_CTR_ID_LEN + 1] = "";
  int prefix_hits = 0;
  bool by_name = false;
  struct dirent *e;
  size_t rl = strlen(ref);
  while (d && (e = readdir(d)) && !by_name) {
    if (!is_id(e->d_name))
      continue;
    mtk_autofree char *p = mtk_xasprintf("%s/%s/config", dir, e->d_name);
    json_t *cfg = json_load_file(p, 0, NULL);
    const char *n = json_string_value(json_object_get(cfg, "Name"));
    if (n && *name && strcmp(n, name) == 0) {
      snprintf(id, MTK_CTR_ID_LEN + 1, "%s", e->d_name);
      by_name = true;
    } else if (cfg && rl > 0 && strncmp(e->d_name, ref, rl) == 0) {
      snprintf(prefix_hit, sizeof(prefix_hit), "%s", e->d_name);
      prefix_hits++;
    }
    json_decref(cfg);
  }
  if (d)
    closedir(d);
  if (by_name)
    return 0;
  if (prefix_hits == 1)
    return snprintf(id, MTK_CTR_ID_LEN + 1, "%s", prefix_hit), 0;
  if (prefix_hits > 1)
    return mtk_err_set(err, EINVAL, "multiple IDs found with provided prefix: %s", ref);
  return mtk_err_set(err, ENOENT, "No such container: %s", ref);
}

int mtk_ctr_load(const char *root, const char *runroot, const char *ref, struct mtk_ctr **out,
                 struct mtk_err **err)
{
  char id[MTK_CTR_ID_LEN + 1];
  if (!ref || !*ref)
    return mtk_err_set(err, ENOENT, "No such container: %s", ref ? ref : "");
  if (find_id(root, ref, id, err) < 0)
    return -1;
  struct mtk_err *e = NULL;
  if (read_one(root, runroot, id, out, &e) < 0) {
    if (e->code == ENOENT) { /* removed meanwhile */
      mtk_err_free(&e);
      return mtk_err_set(err, ENOENT, "No such container: %s", ref);
    }
    if (err && !*err) {
      *err = e;
      return mtk_err_wrap(err, "container %s is damaged", ref);
    }
    mtk_err_free(&e);
    return -1;
  }
  return 0;
}
