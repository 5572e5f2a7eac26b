/* Real containers through prepare/teardown and the blocking verbs, without a
 * supervisor (as after kill -9 of the monitor): overlay rootfs, a named
 * volume filled from the image, a bind whose source is created, tmpfs,
 * /etc/hosts with extra hosts, config.json; prepare over a half-done attempt;
 * teardown leaves /proc/self/mountinfo as it was and can run twice.  Then
 * crun: stop of a PID 1 without a SIGTERM handler (SIGKILL at once), with a
 * handler that exits, with one that does not (SIGKILL after the timeout);
 * kill -9, wait, top, rm -f -v.  Needs root, crun, overlayfs and
 * busybox-static (else 77). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "image/store.h"
#include "runtime/container.h"
#include "runtime/ctr_internal.h"
#include "runtime/runtime.h"
#include "tap.h"
#include "util/file.h"
#include "util/strbuf.h"

static char tmp[64], root[96], runroot[96];
static bool usable;

static int import_busybox(void)
{
  char cmd[1024];
  snprintf(cmd, sizeof(cmd),
           "set -e; bb=$(command -v busybox); r=%s/rootfs; mkdir -p $r/bin $r/etc $r/tmp "
           "$r/data/sub; cp $bb $r/bin/busybox; for x in sh sleep true cat echo ls; do ln -s "
           "busybox $r/bin/$x; done; printf 'root:x:0:0:root:/root:/bin/sh\\n' > $r/etc/passwd; "
           "printf 'root:x:0:\\n' > $r/etc/group; echo seed > $r/data/seed; ln -s seed "
           "$r/data/link; chown 33:33 $r/data/sub; tar -C $r -cf %s/rootfs.tar .",
           tmp, tmp);
  if (system(cmd) != 0)
    return -1;
  snprintf(cmd, sizeof(cmd), "%s/rootfs.tar", tmp);
  int fd = open(cmd, O_RDONLY | O_CLOEXEC);
  struct mtk_store *s = NULL;
  struct mtk_err *e = NULL;
  char *id = NULL;
  struct mtk_image_import_opts o = {.ref = "busybox", .source = cmd};
  int r = fd >= 0 && mtk_store_open(root, &s, &e) == 0 && mtk_image_import(s, fd, &o, &id, &e) == 0
              ? 0
              : -1;
  if (e)
    printf("# import: %s\n", e->msg);
  mtk_err_free(&e);
  free(id);
  mtk_store_close(s);
  if (fd >= 0)
    close(fd);
  return r;
}

/* Mount points under tmp, in mountinfo order. */
static char *mounts(void)
{
  size_t n;
  char **v = mtk_ctr_mounts_under(tmp, &n);
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  for (size_t i = 0; i < n; i++)
    mtk_strbuf_addf(&sb, "%s\n", v[i]);
  mtk_ctr_strv_free(v, n);
  return mtk_strbuf_steal(&sb);
}

static struct mtk_ctr *create(const char *name, const char *json)
{
  json_error_t je;
  json_t *r = json_loads(json, 0, &je);
  if (!r) {
    printf("# bad JSON: %s\n", je.text);
    return NULL;
  }
  json_object_set_new(r, "Image", json_string("busybox"));
  struct mtk_ctr *c = NULL;
  struct mtk_err *e = NULL;
  if (mtk_ctr_create(root, runroot, r, name, &c, &e) < 0) {
    printf("# create %s: %s\n", name, e->msg);
    mtk_err_free(&e);
  }
  json_decref(r);
  return c;
}

static char *slurp(const char *path)
{
  struct mtk_err *e = NULL;
  size_t len;
  char *s = mtk_file_read(path, 1 << 20, &len, &e);
  mtk_err_free(&e);
  return s;
}

__attribute__((format(printf, 1, 2))) static bool exists(const char *fmt, ...)
{
  char p[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p, sizeof(p), fmt, ap);
  va_end(ap);
  struct stat st;
  return lstat(p, &st) == 0;
}

static int test_prepare(void)
{
  if (!usable)
    return 77;
  char *before = mounts();
  char json[1024];
  snprintf(json, sizeof(json),
           "{\"Cmd\": [\"true\"], \"Hostname\": \"box\", \"HostConfig\": {\"NetworkMode\": "
           "\"none\", \"Binds\": [\"vol1:/data\", \"%s/made/here:/mnt/b:ro\"], \"Tmpfs\": "
           "{\"/scratch\": \"size=1m\"}, \"ExtraHosts\": [\"db:10.0.0.5\"], \"Ulimits\": "
           "[{\"Name\": \"nofile\", \"Soft\": 100, \"Hard\": 4000000000}]}}",
           tmp);
  struct mtk_ctr *c = create("prep", json);
  MTK_ASSERT(c);
  struct mtk_ctr_bundle b;
  struct mtk_err *e = NULL;
  MTK_ASSERT_EQ(mtk_ctr_prepare(root, runroot, c, &b, &e), 0);
  MTK_ASSERT(b.netns == NULL);
  MTK_ASSERT(exists("%s/bin/busybox", b.rootfs));
  char *now = mounts();
  MTK_ASSERT_CONTAINS(now, b.rootfs);
  free(now);
  /* the named volume got the image's /data, the bind source was made */
  char p[512];
  snprintf(p, sizeof(p), "%s/volumes/vol1/_data/seed", root);
  char *seed = slurp(p);
  MTK_ASSERT_STREQ(seed, "seed\n");
  free(seed);
  struct stat st;
  snprintf(p, sizeof(p), "%s/volumes/vol1/_data/sub", root);
  MTK_ASSERT(stat(p, &st) == 0 && st.st_uid == 33);
  snprintf(p, sizeof(p), "%s/volumes/vol1/_data/link", root);
  MTK_ASSERT(lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
  MTK_ASSERT(exists("%s/made/here", tmp));
  snprintf(p, sizeof(p), "%s/hosts", b.dir);
  char *hosts = slurp(p);
  MTK_ASSERT_CONTAINS(hosts, "127.0.0.1\tlocalhost\n");
  MTK_ASSERT_CONTAINS(hosts, "10.0.0.5\tdb\n");
  free(hosts);
  snprintf(p, sizeof(p), "%s/hostname", b.dir);
  char *hn = slurp(p);
  MTK_ASSERT_STREQ(hn, "box\n");
  free(hn);
  snprintf(p, sizeof(p), "%s/config.json", b.dir);
  json_t *spec = json_load_file(p, 0, NULL);
  MTK_ASSERT(spec);
  MTK_ASSERT_STREQ(json_string_value(json_object_get(spec, "hostname")), "box");
  char *text = json_dumps(spec, JSON_COMPACT);
  MTK_ASSERT_CONTAINS(text, "\"destination\":\"/etc/hosts\"");
  MTK_ASSERT_CONTAINS(text, "\"destination\":\"/scratch\",\"type\":\"tmpfs\"");
  MTK_ASSERT_CONTAINS(text, "volumes/vol1/_data");
  MTK_ASSERT_CONTAINS(text, "\"type\":\"RLIMIT_NOFILE\",\"hard\":");
  free(text);
  json_t *rl = json_array_get(json_object_get(json_object_get(spec, "process"), "rlimits"), 0);
  MTK_ASSERT(json_integer_value(json_object_get(rl, "hard")) < 4000000000LL); /* clamped */
  MTK_ASSERT_EQ(json_integer_value(json_object_get(rl, "soft")), 100);
  json_decref(spec);
  /* again over what is there (a crashed start): one overlay, not two */
  struct mtk_ctr_bundle b2;
  MTK_ASSERT_EQ(mtk_ctr_prepare(root, runroot, c, &b2, &e), 0);
  size_t n;
  char **v = mtk_ctr_mounts_under(b2.dir, &n);
  mtk_ctr_strv_free(v, n);
  MTK_ASSERT_EQ(n, 1);
  mtk_ctr_bundle_clear(&b2);
  MTK_ASSERT_EQ(mtk_ctr_teardown(root, runroot, c, &e), 0);
  MTK_ASSERT(!exists("%s", b.dir));
  MTK_ASSERT_EQ(mtk_ctr_teardown(root, runroot, c, &e), 0);
  char *after = mounts();
  MTK_ASSERT_STREQ(after, before);
  free(after);
  free(before);
  mtk_ctr_bundle_clear(&b);
  MTK_ASSERT_EQ(mtk_ctr_remove(root, runroot, c, false, true, &e), 0);
  MTK_ASSERT(exists("%s/volumes/vol1", root)); /* named: kept by rm -v */
  mtk_ctr_free(c);
  return 0;
}

/* An image of 80 layers whose lowerdir list is longer than a page (RUNTIME.md
 * pitfall 15): the overlay still mounts (fsconfig "lowerdir+", or relative
 * paths on an older kernel) and the top layer wins. */
static int test_many_layers(void)
{
  if (!usable)
    return 77;
  struct mtk_ctr *c = create("layers", "{\"Cmd\": [\"true\"], \"HostConfig\": "
                                       "{\"NetworkMode\": \"none\"}}");
  MTK_ASSERT(c);
  json_t *data = json_object_get(json_object_get(c->config, "GraphDriver"), "Data");
  const char *real = json_string_value(json_object_get(data, "LowerDir"));
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  char dir[512];
  for (int i = 79; i >= 1; i--) {
    snprintf(dir, sizeof(dir), "%s/root/image/snapshots/%064d/fs", tmp, i);
    struct mtk_err *e = NULL;
    MTK_ASSERT_EQ(mtk_ctr_mkdir_p(dir, 0755, &e), 0);
    mtk_strbuf_addf(&sb, "%s:", dir);
  }
  snprintf(dir, sizeof(dir), "%s/root/image/snapshots/%064d/fs/top", tmp, 79);
  FILE *f = fopen(dir, "w");
  MTK_ASSERT(f);
  fputs("layer 79\n", f);
  fclose(f);
  mtk_strbuf_adds(&sb, real);
  MTK_ASSERT(sb.len > 4096);
  json_object_set_new(data, "LowerDir", json_string(sb.buf));
  mtk_strbuf_free(&sb);
  char *before = mounts();
  struct mtk_ctr_bundle b;
  struct mtk_err *e = NULL;
  MTK_ASSERT_EQ(mtk_ctr_prepare(root, runroot, c, &b, &e), 0);
  snprintf(dir, sizeof(dir), "%s/top", b.rootfs);
  char *top = slurp(dir);
  MTK_ASSERT_STREQ(top, "layer 79\n");
  free(top);
  MTK_ASSERT(exists("%s/bin/busybox", b.rootfs));
  MTK_ASSERT_EQ(mtk_ctr_teardown(root, runroot, c, &e), 0);
  char *after = mounts();
  MTK_ASSERT_STREQ(after, before);
  free(before);
  free(after);
  mtk_ctr_bundle_clear(&b);
  MTK_ASSERT_EQ(mtk_ctr_remove(root, runroot, c, false, true, &e), 0);
  mtk_ctr_free(c);
  return 0;
}

/* prepare + runtime create/start; the state says running (no monitor). */
static struct mtk_ctr *start(const char *name, const char *cmd_json)
{
  char json[512];
  snprintf(json, sizeof(json),
           "{\"Cmd\": %s, \"HostConfig\": {\"NetworkMode\": \"none\"}, \"Volumes\": "
           "{\"/anon\": {}}}",
           cmd_json);
  struct mtk_ctr *c = create(name, json);
  if (!c)
    return NULL;
  struct mtk_ctr_bundle b;
  struct mtk_err *e = NULL;
  struct mtk_runtime *rt = NULL;
  if (mtk_ctr_prepare(root, runroot, c, &b, &e) < 0 || !(rt = mtk_ctr_runtime(runroot, c, &e)) ||
      rt->ops->create(rt, c->id, b.dir, b.pid_file, &e) < 0 || rt->ops->start(rt, c->id, &e) < 0) {
    printf("# start %s: %s\n", name, e ? e->msg : "?");
    mtk_err_free(&e);
    mtk_runtime_free(rt);
    mtk_ctr_bundle_clear(&b);
    mtk_ctr_free(c);
    return NULL;
  }
  mtk_runtime_free(rt);
  char *pid = slurp(b.pid_file);
  mtk_ctr_bundle_clear(&b);
  pid_t p = pid ? (pid_t) atoi(pid) : 0;
  free(pid);
  json_object_set_new(c->state, "Status", json_string("running"));
  json_object_set_new(c->state, "Running", json_true());
  json_object_set_new(c->state, "Pid", json_integer(p));
  json_object_set_new(c->state, "PidStart", json_integer((json_int_t) mtk_ctr_proc_start(p)));
  mtk_ctr_save_state(root, c, &e);
  mtk_err_free(&e);
  usleep(200000); /* let sh install its traps */
  return c;
}

static int stopped_clean(struct mtk_ctr *c)
{
  MTK_ASSERT_STREQ(mtk_ctr_status(c), "exited");
  char p[256];
  snprintf(p, sizeof(p), "%s/containers/%s", runroot, c->id);
  MTK_ASSERT(!exists("%s", p));
  return 0;
}

static int test_stop_not_caught(void)
{
  if (!usable)
    return 77;
  struct mtk_ctr *c = start("nohandler", "[\"sleep\", \"1000\"]");
  MTK_ASSERT(c);
  struct mtk_ctr_stop_result res;
  struct mtk_err *e = NULL;
  MTK_ASSERT_EQ(mtk_ctr_stop(root, runroot, c, 0, 10, &res, &e), 0);
  MTK_ASSERT(res.was_running);
  MTK_ASSERT(res.not_caught);
  MTK_ASSERT(res.killed);
  MTK_ASSERT_EQ(res.stop_signal, SIGTERM);
  MTK_ASSERT_EQ(res.exit_code, 137);
  MTK_ASSERT(res.waited_sec < 3.0);
  int r = stopped_clean(c);
  MTK_ASSERT_EQ(json_is_true(json_object_get(c->state, "ManualStop")), 1);
  /* stopping again: not running */
  MTK_ASSERT_EQ(mtk_ctr_stop(root, runroot, c, 0, 10, &res, &e), 0);
  MTK_ASSERT(!res.was_running);
  mtk_ctr_free(c);
  return r;
}

static int test_stop_handler_exits(void)
{
  if (!usable)
    return 77;
  struct mtk_ctr *c = start("handler", "[\"sh\", \"-c\", \"trap 'exit 3' TERM; while :; do "
                                       "sleep 0.05; done\"]");
  MTK_ASSERT(c);
  struct mtk_ctr_stop_result res;
  struct mtk_err *e = NULL;
  MTK_ASSERT_EQ(mtk_ctr_stop(root, runroot, c, 0, 10, &res, &e), 0);
  MTK_ASSERT(!res.not_caught);
  MTK_ASSERT(!res.killed);
  MTK_ASSERT(res.waited_sec < 3.0);
  MTK_ASSERT_EQ(res.exit_code, 255); /* no monitor: the status is unknown */
  int r = stopped_clean(c);
  mtk_ctr_free(c);
  return r;
}

static int test_stop_handler_stays(void)
{
  if (!usable)
    return 77;
  struct mtk_ctr *c = start("stubborn", "[\"sh\", \"-c\", \"trap 'true' TERM; while :; do "
                                        "sleep 0.05; done\"]");
  MTK_ASSERT(c);
  struct mtk_ctr_stop_result res;
  struct mtk_err *e = NULL;
  MTK_ASSERT_EQ(mtk_ctr_stop(root, runroot, c, 0, 1, &res, &e), 0);
  MTK_ASSERT(!res.not_caught);
  MTK_ASSERT(res.killed);
  MTK_ASSERT(res.waited_sec >= 1.0 && res.waited_sec < 4.0);
  MTK_ASSERT_EQ(res.exit_code, 137);
  int r = stopped_clean(c);
  mtk_ctr_free(c);
  return r;
}

static int test_top_kill_wait(void)
{
  if (!usable)
    return 77;
  struct mtk_ctr *c = start("top", "[\"sh\", \"-c\", \"sleep 100 & sleep 100; true\"]");
  MTK_ASSERT(c);
  pid_t *pids = NULL;
  size_t n = 0;
  struct mtk_err *e = NULL;
  MTK_ASSERT_EQ(mtk_ctr_pids(root, runroot, c, &pids, &n, &e), 0);
  MTK_ASSERT(n >= 3);
  bool has_pid1 = false;
  for (size_t i = 0; i < n; i++)
    has_pid1 = has_pid1 || pids[i] == mtk_ctr_pid(c);
  free(pids);
  MTK_ASSERT(has_pid1);
  MTK_ASSERT_EQ(mtk_ctr_kill(root, runroot, c, SIGKILL, &e), 0);
  int code = -1;
  MTK_ASSERT_EQ(mtk_ctr_wait(root, runroot, c, &code, &e), 0);
  MTK_ASSERT_EQ(code, 137);
  int r = stopped_clean(c);
  MTK_ASSERT(mtk_ctr_kill(root, runroot, c, SIGTERM, &e) < 0);
  MTK_ASSERT_CONTAINS(e->msg, "is not running");
  mtk_err_free(&e);
  mtk_ctr_free(c);
  return r;
}

static int test_rm_force(void)
{
  if (!usable)
    return 77;
  char *before = mounts();
  struct mtk_ctr *c = start("removed", "[\"sleep\", \"1000\"]");
  MTK_ASSERT(c);
  const char *anon = json_string_value(
      json_object_get(json_array_get(json_object_get(c->config, "Mounts"), 0), "Name"));
  char vol[256];
  snprintf(vol, sizeof(vol), "%s/volumes/%s", root, anon);
  MTK_ASSERT(exists("%s", vol));
  struct mtk_err *e = NULL;
  MTK_ASSERT(mtk_ctr_remove(root, runroot, c, false, false, &e) < 0);
  MTK_ASSERT_EQ(e->code, EBUSY);
  mtk_err_free(&e);
  MTK_ASSERT_EQ(mtk_ctr_remove(root, runroot, c, true, true, &e), 0);
  MTK_ASSERT(!exists("%s", vol));
  MTK_ASSERT(!exists("%s/containers/%s", root, c->id));
  MTK_ASSERT(!exists("%s/runtime/%s", runroot, c->id));
  char *after = mounts();
  MTK_ASSERT_STREQ(after, before);
  free(before);
  free(after);
  MTK_ASSERT(mtk_ctr_load(root, runroot, "removed", &c, &e) < 0);
  mtk_err_free(&e);
  mtk_ctr_free(c);
  return 0;
}

static bool overlay_works(void)
{
  char cmd[512];
  snprintf(cmd, sizeof(cmd),
           "set -e; cd %s; mkdir -p ov/l ov/u ov/w ov/m; mount -t overlay overlay -o "
           "lowerdir=ov/l,upperdir=ov/u,workdir=ov/w ov/m 2>/dev/null; umount ov/m; rm -rf ov",
           tmp);
  return system(cmd) == 0;
}

int main(void)
{
  snprintf(tmp, sizeof(tmp), "/tmp/mtk-test-prepare-%d", (int) getpid());
  snprintf(root, sizeof(root), "%s/root", tmp);
  snprintf(runroot, sizeof(runroot), "%s/run", tmp);
  mkdir(tmp, 0700);
  if (getuid() != 0 || system("command -v crun >/dev/null") != 0 || !overlay_works())
    printf("# needs root, crun and overlayfs: tests skipped\n");
  else
    usable = import_busybox() == 0;
  static const struct mtk_test tests[] = {
      {"prepare and teardown leave no mount", test_prepare},
      {"an image with more layers than one mount page holds", test_many_layers},
      {"stop: PID 1 without a handler gets SIGKILL at once", test_stop_not_caught},
      {"stop: a handler that exits", test_stop_handler_exits},
      {"stop: a handler that stays gets SIGKILL after the timeout", test_stop_handler_stays},
      {"top, kill -9 without a monitor, wait", test_top_kill_wait},
      {"rm -f -v of a running container", test_rm_force},
      {NULL, NULL},
  };
  int r = mtk_test_main(tests);
  char cmd[256];
  snprintf(cmd, sizeof(cmd),
           "grep -o ' %s/[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l; "
           "rm -rf %s",
           tmp, tmp);
  if (system(cmd) != 0)
    r = 1;
  return r;
}
