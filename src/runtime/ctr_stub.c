/* Placeholders for the container functions of container.h that are not
 * written yet (LINK RULE): each returns ENOSYS until its real code lands in
 * the other ctr*.c files. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/container.h"

static int nyi(struct mtk_err **err, const char *what)
{
  return mtk_err_set(err, ENOSYS, "%s is not available yet", what);
}

void mtk_ctr_free(struct mtk_ctr *c)
{
  if (!c)
    return;
  free(c->name);
  json_decref(c->config);
  json_decref(c->state);
  free(c);
}

int mtk_ctr_create(const char *root, const char *runroot, const json_t *req, const char *name,
                   struct mtk_ctr **out, struct mtk_err **err)
{
  return nyi(err, "container create");
}

int mtk_ctr_load(const char *root, const char *runroot, const char *ref, struct mtk_ctr **out,
                 struct mtk_err **err)
{
  return nyi(err, "container load");
}

int mtk_ctr_list(const char *root, const char *runroot, struct mtk_ctr ***out, size_t *n,
                 struct mtk_err **err)
{
  return nyi(err, "container list");
}

void mtk_ctr_list_free(struct mtk_ctr **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    mtk_ctr_free(v[i]);
  free(v);
}

int mtk_ctr_save_state(const char *root, const struct mtk_ctr *c, struct mtk_err **err)
{
  return nyi(err, "container state saving");
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
  return mtk_ctr_is_running(c) ? (pid_t) json_integer_value(json_object_get(c->state, "Pid")) : 0;
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

void mtk_ctr_bundle_clear(struct mtk_ctr_bundle *b)
{
  free(b->dir);
  free(b->rootfs);
  free(b->netns);
  free(b->pid_file);
  free(b->log_file);
  free(b->ctr_log);
  json_decref(b->networks);
  memset(b, 0, sizeof(*b));
}

int mtk_ctr_prepare(const char *root, const char *runroot, struct mtk_ctr *c,
                    struct mtk_ctr_bundle *out, struct mtk_err **err)
{
  return nyi(err, "container prepare");
}

int mtk_ctr_teardown(const char *root, const char *runroot, const struct mtk_ctr *c,
                     struct mtk_err **err)
{
  return nyi(err, "container teardown");
}

int mtk_ctr_stop(const char *root, const char *runroot, struct mtk_ctr *c, int sig, int timeout,
                 struct mtk_ctr_stop_result *res, struct mtk_err **err)
{
  return nyi(err, "container stop");
}

int mtk_ctr_kill(const char *root, const char *runroot, struct mtk_ctr *c, int sig,
                 struct mtk_err **err)
{
  return nyi(err, "container kill");
}

int mtk_ctr_wait(const char *root, const char *runroot, struct mtk_ctr *c, int *exit_code,
                 struct mtk_err **err)
{
  return nyi(err, "container wait");
}

int mtk_ctr_remove(const char *root, const char *runroot, struct mtk_ctr *c, bool force,
                   bool volumes, struct mtk_err **err)
{
  return nyi(err, "container remove");
}

int mtk_ctr_pids(const char *root, const char *runroot, const struct mtk_ctr *c, pid_t **pids,
                 size_t *n, struct mtk_err **err)
{
  return nyi(err, "container top");
}

int mtk_ctr_logs(const char *root, const char *runroot, const struct mtk_ctr *c,
                 const struct mtk_ctr_log_opts *o, mtk_ctr_log_cb cb, void *data,
                 struct mtk_err **err)
{
  return nyi(err, "container logs");
}

int mtk_ctr_parse_time(const char *s, int64_t now_ns, int64_t *out, struct mtk_err **err)
{
  return nyi(err, "time parsing");
}

json_t *mtk_ctr_inspect(const struct mtk_ctr *c)
{
  return json_object();
}
