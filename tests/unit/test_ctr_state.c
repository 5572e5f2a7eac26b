/* Containers on disk without an image: the truth correction of the state
 * (dead PID, reused PID, missing bundle after a reboot, a live monitor that
 * will record the exit itself), lookup by ID, name, prefix (ambiguous, none)
 * and the list order. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/container.h"
#include "runtime/ctr_internal.h"
#include "tap.h"

static char root[64], runroot[80];

static const char *id_of(char c)
{
  static char id[65];
  memset(id, c, 64);
  id[64] = 0;
  return id;
}

/* A container directory with config and a state built by the caller. */
static void put(const char *id, const char *name, const char *created, json_t *state, bool bundle)
{
  char path[256];
  struct mtk_err *e = NULL;
  snprintf(path, sizeof(path), "%s/containers/%s", root, id);
  mtk_ctr_mkdir_p(path, 0700, &e);
  json_t *cfg = json_pack("{s:s, s:s, s:s, s:{}, s:{}}", "Id", id, "Name", name, "Created", created,
                          "Config", "HostConfig");
  strcat(path, "/config");
  mtk_ctr_write_json(path, cfg, &e);
  json_decref(cfg);
  snprintf(path, sizeof(path), "%s/containers/%s/state", root, id);
  mtk_ctr_write_json(path, state, &e);
  json_decref(state);
  snprintf(path, sizeof(path), "%s/containers/%s", runroot, id);
  if (bundle)
    mtk_ctr_mkdir_p(path, 0700, &e);
  else
    rmdir(path);
  mtk_err_free(&e);
}

static json_t *running(pid_t pid, uint64_t start, pid_t mon, uint64_t mon_start)
{
  json_t *st = mtk_ctr_state_new();
  json_object_set_new(st, "Status", json_string("running"));
  json_object_set_new(st, "Running", json_true());
  json_object_set_new(st, "Pid", json_integer(pid));
  json_object_set_new(st, "PidStart", json_integer((json_int_t) start));
  json_object_set_new(st, "MonitorPid", json_integer(mon));
  json_object_set_new(st, "MonitorStart", json_integer((json_int_t) mon_start));
  json_object_set_new(st, "StartedAt", json_string("2026-01-01T00:00:00.000000000Z"));
  return st;
}

static pid_t dead_pid(void)
{
  pid_t p = fork();
  if (p == 0)
    _exit(0);
  int st;
  waitpid(p, &st, 0);
  return p;
}

static int load(const char *ref, struct mtk_ctr **c)
{
  struct mtk_err *e = NULL;
  int r = mtk_ctr_load(root, runroot, ref, c, &e);
  if (r < 0) {
    printf("#   load %s: %s\n", ref, e->msg);
    mtk_err_free(&e);
  }
  return r;
}

static json_t *state_on_disk(const char *id)
{
  char path[256];
  snprintf(path, sizeof(path), "%s/containers/%s/state", root, id);
  return json_load_file(path, 0, NULL);
}

static int test_dead_pid(void)
{
  const char *id = id_of('a');
  put(id, "dead", "2026-01-01T00:00:01Z", running(dead_pid(), 12345, 0, 0), true);
  struct mtk_ctr *c = NULL;
  MTK_ASSERT_EQ(load("dead", &c), 0);
  MTK_ASSERT_STREQ(mtk_ctr_status(c), "exited");
  MTK_ASSERT(!mtk_ctr_is_running(c));
  MTK_ASSERT_EQ(mtk_ctr_pid(c), 0);
  MTK_ASSERT_EQ(json_integer_value(json_object_get(c->state, "ExitCode")), 255);
  MTK_ASSERT_CONTAINS(json_string_value(json_object_get(c->state, "Error")), "monitor is gone");
  mtk_ctr_free(c);
  json_t *disk = state_on_disk(id); /* the correction was written back */
  MTK_ASSERT_STREQ(json_string_value(json_object_get(disk, "Status")), "exited");
  MTK_ASSERT(json_is_false(json_object_get(disk, "Running")));
  json_decref(disk);
  return 0;
}

static int test_alive(void)
{
  const char *id = id_of('b');
  pid_t me = getpid();
  put(id, "alive", "2026-01-01T00:00:02Z", running(me, mtk_ctr_proc_start(me), 0, 0), true);
  struct mtk_ctr *c = NULL;
  MTK_ASSERT_EQ(load(id, &c), 0);
  MTK_ASSERT_STREQ(mtk_ctr_status(c), "running");
  MTK_ASSERT_EQ(mtk_ctr_pid(c), me);
  mtk_ctr_free(c);
  return 0;
}

static int test_reused_pid(void)
{
  const char *id = id_of('c');
  pid_t me = getpid();
  put(id, "reused", "2026-01-01T00:00:03Z", running(me, mtk_ctr_proc_start(me) + 1, 0, 0), true);
  struct mtk_ctr *c = NULL;
  MTK_ASSERT_EQ(load("reused", &c), 0);
  MTK_ASSERT_STREQ(mtk_ctr_status(c), "exited");
  mtk_ctr_free(c);
  return 0;
}

static int test_reboot(void)
{
  const char *id = id_of('d');
  pid_t me = getpid();
  put(id, "rebooted", "2026-01-01T00:00:04Z", running(me, mtk_ctr_proc_start(me), 0, 0), false);
  struct mtk_ctr *c = NULL;
  MTK_ASSERT_EQ(load("rebooted", &c), 0);
  MTK_ASSERT_STREQ(mtk_ctr_status(c), "exited");
  MTK_ASSERT_EQ(json_integer_value(json_object_get(c->state, "ExitCode")), 255);
  mtk_ctr_free(c);
  return 0;
}

static int test_monitor_alive(void)
{
  const char *id = id_of('e');
  pid_t me = getpid();
  put(id, "monitored", "2026-01-01T00:00:05Z", running(dead_pid(), 99, me, mtk_ctr_proc_start(me)),
      true);
  struct mtk_ctr *c = NULL;
  MTK_ASSERT_EQ(load("monitored", &c), 0);
  MTK_ASSERT_STREQ(mtk_ctr_status(c), "running"); /* the monitor records the exit */
  MTK_ASSERT(mtk_ctr_monitor_alive(c));
  mtk_ctr_free(c);
  /* once the monitor is gone too, the container is exited */
  put(id, "monitored", "2026-01-01T00:00:05Z", running(dead_pid(), 99, dead_pid(), 1), true);
  MTK_ASSERT_EQ(load("monitored", &c), 0);
  MTK_ASSERT_STREQ(mtk_ctr_status(c), "exited");
  mtk_ctr_free(c);
  return 0;
}

static int test_lookup(void)
{
  char id1[65], id2[65];
  snprintf(id1, sizeof(id1), "%s", id_of('f'));
  snprintf(id2, sizeof(id2), "%s", id_of('f'));
  id2[40] = '0';
  put(id1, "one", "2026-01-01T00:00:06Z", mtk_ctr_state_new(), false);
  put(id2, "two", "2026-01-01T00:00:07Z", mtk_ctr_state_new(), false);
  struct mtk_ctr *c = NULL;
  MTK_ASSERT_EQ(load("/one", &c), 0);
  MTK_ASSERT_STREQ(c->id, id1);
  MTK_ASSERT_STREQ(mtk_ctr_status(c), "created");
  mtk_ctr_free(c);
  MTK_ASSERT_EQ(load(id2, &c), 0);
  MTK_ASSERT_STREQ(c->name, "two");
  mtk_ctr_free(c);
  char prefix[42];
  snprintf(prefix, sizeof(prefix), "%.41s", id2); /* 40 'f' and the '0' */
  MTK_ASSERT_EQ(load(prefix, &c), 0);
  MTK_ASSERT_STREQ(c->name, "two");
  mtk_ctr_free(c);
  struct mtk_err *e = NULL;
  MTK_ASSERT(mtk_ctr_load(root, runroot, "ffff", &c, &e) < 0);
  MTK_ASSERT_EQ(e->code, EINVAL);
  MTK_ASSERT_CONTAINS(e->msg, "multiple IDs");
  mtk_err_free(&e);
  MTK_ASSERT(mtk_ctr_load(root, runroot, "nosuch", &c, &e) < 0);
  MTK_ASSERT_EQ(e->code, ENOENT);
  MTK_ASSERT_STREQ(e->msg, "No such container: nosuch");
  mtk_err_free(&e);
  /* a name that looks like an ID prefix: the exact name wins */
  put(id_of('1'), "ffff", "2026-01-01T00:00:08Z", mtk_ctr_state_new(), false);
  MTK_ASSERT_EQ(load("ffff", &c), 0);
  MTK_ASSERT_STREQ(c->id, id_of('1'));
  mtk_ctr_free(c);
  return 0;
}

static int test_list(void)
{
  char path[256];
  snprintf(path, sizeof(path), "%s/containers/%s", root, id_of('9'));
  struct mtk_err *e = NULL;
  mtk_ctr_mkdir_p(path, 0700, &e); /* no config: not a container */
  snprintf(path, sizeof(path), "%s/containers/not-an-id", root);
  mtk_ctr_mkdir_p(path, 0700, &e);
  struct mtk_ctr **v = NULL;
  size_t n = 0;
  MTK_ASSERT_EQ(mtk_ctr_list(root, runroot, &v, &n, &e), 0);
  MTK_ASSERT_EQ(n, 8);
  const char *want[] = {"ffff", "two", "one", "monitored", "rebooted", "reused", "alive", "dead"};
  for (size_t i = 0; i < n; i++)
    MTK_ASSERT_STREQ(v[i]->name, want[i]);
  MTK_ASSERT_STREQ(mtk_ctr_status(v[6]), "running");
  mtk_ctr_list_free(v, n);
  return 0;
}

static int test_inspect(void)
{
  struct mtk_ctr *c = NULL;
  MTK_ASSERT_EQ(load("dead", &c), 0);
  json_t *d = mtk_ctr_inspect(c);
  MTK_ASSERT_STREQ(json_string_value(json_object_get(d, "Name")), "/dead");
  json_t *st = json_object_get(d, "State");
  MTK_ASSERT_STREQ(json_string_value(json_object_get(st, "Status")), "exited");
  MTK_ASSERT_EQ(json_integer_value(json_object_get(st, "Pid")), 0);
  MTK_ASSERT(!json_object_get(st, "MonitorPid"));
  MTK_ASSERT(json_is_object(json_object_get(json_object_get(d, "NetworkSettings"), "Ports")));
  MTK_ASSERT(json_is_array(json_object_get(d, "Mounts")));
  json_decref(d);
  mtk_ctr_free(c);
  return 0;
}

int main(void)
{
  snprintf(root, sizeof(root), "/tmp/mtk-test-state-%d", (int) getpid());
  snprintf(runroot, sizeof(runroot), "%s/run", root);
  static const struct mtk_test tests[] = {
      {"a dead PID 1 without a monitor is exited (255), written back", test_dead_pid},
      {"a live PID 1 with its bundle is running", test_alive},
      {"a reused PID (other start time) is exited", test_reused_pid},
      {"no bundle (a reboot emptied the runroot) is exited", test_reboot},
      {"a live monitor keeps the state until it records the exit", test_monitor_alive},
      {"lookup by name, ID, prefix; ambiguous; missing", test_lookup},
      {"list: newest first, non-containers skipped", test_list},
      {"inspect: Docker's names", test_inspect},
      {NULL, NULL},
  };
  int r = mtk_test_main(tests);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
  if (system(cmd) != 0)
    r = 1;
  return r;
}
