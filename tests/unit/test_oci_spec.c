/* Unit tests for config.json generation (src/oci/spec*.c, seccomp_default.c):
 * users resolved in a temporary rootfs, Docker's entrypoint/cmd table, the
 * env merge, capabilities, privileged mode, masked paths, seccomp rendering,
 * the RLIMIT_NOFILE clamp and the overall shape crun expects. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/spec.h"
#include "tap.h"
#include "util/cleanup.h"

static char rootfs[] = "/tmp/mtk-oci-spec-XXXXXX";

static int write_file(const char *rel, const char *text)
{
  mtk_autofree char *p = mtk_xasprintf("%s/%s", rootfs, rel);
  FILE *f = fopen(p, "w");
  if (!f)
    return -1;
  fputs(text, f);
  return fclose(f);
}

static int setup_rootfs(void)
{
  if (!mkdtemp(rootfs))
    return -1;
  mtk_autofree char *etc = mtk_xasprintf("%s/etc", rootfs);
  if (mkdir(etc, 0755) < 0)
    return -1;
  return write_file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                                  "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                                  "app:x:1000:1001:App:/home/app:/bin/sh\n") |
         write_file("etc/group", "root:x:0:root\n"
                                 "bin:x:1:root,daemon\n"
                                 "wheel:x:10:root,app\n"
                                 "appgrp:x:1001:\n"
                                 "video:x:44:app\n");
}

static void teardown_rootfs(void)
{
  mtk_autofree char *cmd = mtk_xasprintf("rm -rf '%s'", rootfs);
  if (system(cmd) != 0)
    fprintf(stderr, "# could not remove %s\n", rootfs);
}

/* Builds a spec; image is a JSON text (the "config" object) or NULL. */
static json_t *spec_for(const char *image, const struct mtk_oci_run_opts *o, char **errmsg)
{
  json_t *cfg = image ? json_loads(image, 0, NULL) : NULL;
  struct mtk_err *err = NULL;
  json_t *s = mtk_oci_spec_new(rootfs, cfg, o, &err);
  json_decref(cfg);
  if (errmsg)
    *errmsg = err ? mtk_xstrdup(err->msg) : NULL;
  mtk_err_free(&err);
  return s;
}

/* The array at a path of object keys, dumped compactly ("" when missing). */
static char *dump_at(const json_t *root, const char *a, const char *b, const char *c)
{
  const json_t *v = json_object_get(root, a);
  if (b)
    v = json_object_get(v, b);
  if (c)
    v = json_object_get(v, c);
  char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  return s ? s : mtk_xstrdup("");
}

static int test_user(void)
{
  static const struct {
    const char *spec;
    long uid, gid;
    const char *extra; /* additionalGids dump, "" = none */
  } cases[] = {
      {NULL, 0, 0, "[0,1,10]"},        {"app", 1000, 1001, "[10,44]"},
      {"1000", 1000, 1001, "[10,44]"}, {"app:video", 1000, 44, ""},
      {"1000:10", 1000, 10, ""},       {"4242", 4242, 0, ""},
      {"4242:4343", 4242, 4343, ""},   {"daemon:", 1, 1, "[1]"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct mtk_oci_run_opts o = {.user = cases[i].spec};
    const char *cmd[] = {"true"};
    o.cmd = cmd;
    o.n_cmd = 1;
    json_t *s = spec_for(NULL, &o, NULL);
    MTK_ASSERT(s != NULL);
    json_t *u = json_object_get(json_object_get(s, "process"), "user");
    MTK_ASSERT_EQ(json_integer_value(json_object_get(u, "uid")), cases[i].uid);
    MTK_ASSERT_EQ(json_integer_value(json_object_get(u, "gid")), cases[i].gid);
    mtk_autofree char *extra = dump_at(s, "process", "user", "additionalGids");
    MTK_ASSERT_STREQ(extra, cases[i].extra);
    json_decref(s);
  }
  const char *cmd[] = {"true"};
  struct mtk_oci_run_opts o = {.user = "nobody", .cmd = cmd, .n_cmd = 1};
  mtk_autofree char *msg = NULL;
  MTK_ASSERT(spec_for(NULL, &o, &msg) == NULL);
  MTK_ASSERT_STREQ(msg, "unable to find user nobody: no matching entries in passwd file");
  o.user = "app:nogroup";
  mtk_autofree char *msg2 = NULL;
  MTK_ASSERT(spec_for(NULL, &o, &msg2) == NULL);
  MTK_ASSERT_STREQ(msg2, "unable to find group nogroup: no matching entries in group file");
  /* the image's User is used when -u is not given */
  json_t *s = spec_for("{\"User\": \"app\", \"Cmd\": [\"sh\"]}", NULL, NULL);
  MTK_ASSERT(s != NULL);
  MTK_ASSERT_EQ(json_integer_value(
                    json_object_get(json_object_get(json_object_get(s, "process"), "user"), "uid")),
                1000);
  json_decref(s);
  return 0;
}

/* Docker's "understand how CMD and ENTRYPOINT interact" table plus the
 * command-line overrides. */
static int test_args(void)
{
  static const char *const x[] = {"x", "y"}, *const z[] = {"z"}, *const empty[] = {""};
  static const struct {
    const char *image;
    const char *const *cmd;
    size_t n_cmd;
    const char *const *ep;
    size_t n_ep;
    bool ep_set;
    const char *want; /* NULL: error */
  } cases[] = {
      {"{\"Cmd\": [\"c\", \"1\"]}", NULL, 0, NULL, 0, false, "[\"c\",\"1\"]"},
      {"{\"Cmd\": [\"c\"]}", x, 2, NULL, 0, false, "[\"x\",\"y\"]"},
      {"{\"Entrypoint\": [\"e\"]}", NULL, 0, NULL, 0, false, "[\"e\"]"},
      {"{\"Entrypoint\": [\"e\"], \"Cmd\": [\"c\"]}", NULL, 0, NULL, 0, false, "[\"e\",\"c\"]"},
      {"{\"Entrypoint\": [\"e\"], \"Cmd\": [\"c\"]}", x, 2, NULL, 0, false, "[\"e\",\"x\",\"y\"]"},
      {"{\"Entrypoint\": [\"e\"], \"Cmd\": [\"c\"]}", NULL, 0, z, 1, true, "[\"z\"]"},
      {"{\"Entrypoint\": [\"e\"], \"Cmd\": [\"c\"]}", x, 2, z, 1, true, "[\"z\",\"x\",\"y\"]"},
      {"{\"Entrypoint\": [\"e\"], \"Cmd\": [\"c\"]}", x, 2, empty, 1, true, "[\"x\",\"y\"]"},
      {"{\"Entrypoint\": [\"e\"], \"Cmd\": [\"c\"]}", NULL, 0, empty, 1, true, NULL},
      {"{\"Cmd\": [\"c\"]}", NULL, 0, NULL, 0, true, NULL},
      {"{}", NULL, 0, NULL, 0, false, NULL},
      {NULL, x, 2, NULL, 0, false, "[\"x\",\"y\"]"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct mtk_oci_run_opts o = {.cmd = cases[i].cmd,
                                 .n_cmd = cases[i].n_cmd,
                                 .entrypoint = cases[i].ep,
                                 .n_entrypoint = cases[i].n_ep,
                                 .entrypoint_set = cases[i].ep_set};
    mtk_autofree char *msg = NULL;
    json_t *s = spec_for(cases[i].image, &o, &msg);
    printf("# case %zu\n", i);
    if (!cases[i].want) {
      MTK_ASSERT(s == NULL);
      MTK_ASSERT_STREQ(msg, "no command specified");
      continue;
    }
    MTK_ASSERT(s != NULL);
    mtk_autofree char *args = dump_at(s, "process", "args", NULL);
    MTK_ASSERT_STREQ(args, cases[i].want);
    json_decref(s);
  }
  /* --init prepends the init and bind-mounts it */
  struct mtk_oci_run_opts o = {.cmd = z, .n_cmd = 1, .init = true, .init_binary = "/usr/bin/tini"};
  json_t *s = spec_for(NULL, &o, NULL);
  MTK_ASSERT(s != NULL);
  mtk_autofree char *args = dump_at(s, "process", "args", NULL);
  MTK_ASSERT_STREQ(args, "[\"/sbin/docker-init\",\"--\",\"z\"]");
  mtk_autofree char *mounts = dump_at(s, "mounts", NULL, NULL);
  MTK_ASSERT_CONTAINS(mounts, "\"destination\":\"/sbin/docker-init\"");
  json_decref(s);
  return 0;
}

static int test_env(void)
{
  setenv("MTK_TEST_HOSTVAR", "fromhost", 1);
  unsetenv("B");
  const char *env[] = {"A=9", "C=3", "MTK_TEST_HOSTVAR", "B"};
  const char *cmd[] = {"sh"};
  struct mtk_oci_run_opts o = {
      .env = env, .n_env = 4, .tty = true, .hostname = "web", .cmd = cmd, .n_cmd = 1};
  json_t *s = spec_for("{\"Env\": [\"PATH=/x\", \"A=1\", \"B=2\"]}", &o, NULL);
  MTK_ASSERT(s != NULL);
  mtk_autofree char *got = dump_at(s, "process", "env", NULL);
  MTK_ASSERT_STREQ(got, "[\"PATH=/x\",\"HOSTNAME=web\",\"TERM=xterm\",\"A=9\",\"C=3\","
                        "\"MTK_TEST_HOSTVAR=fromhost\"]");
  json_decref(s);
  /* no PATH in the image: Docker's default; no tty: no TERM */
  s = spec_for("{\"Env\": [\"A=1\"], \"Cmd\": [\"sh\"]}", NULL, NULL);
  MTK_ASSERT(s != NULL);
  mtk_autofree char *got2 = dump_at(s, "process", "env", NULL);
  MTK_ASSERT_STREQ(got2, "[\"PATH=" MTK_OCI_DEFAULT_PATH "\",\"HOSTNAME=\",\"A=1\"]");
  mtk_autofree char *cwd = dump_at(s, "process", "cwd", NULL);
  MTK_ASSERT_STREQ(cwd, "\"/\"");
  json_decref(s);
  return 0;
}

static json_t *caps_for(const char *const *add, size_t n_add, const char *const *drop,
                        size_t n_drop, char **msg)
{
  const char *cmd[] = {"sh"};
  struct mtk_oci_run_opts o = {.cmd = cmd,
                               .n_cmd = 1,
                               .cap_add = add,
                               .n_cap_add = n_add,
                               .cap_drop = drop,
                               .n_cap_drop = n_drop};
  return spec_for(NULL, &o, msg);
}

/* How many of the first n capabilities this process's bounding set has:
 * --privileged and ALL grant only those (Docker's initCaps). */
static size_t own_caps(size_t n)
{
  FILE *f = fopen("/proc/self/status", "re");
  char line[256];
  unsigned long long mask = ~0ULL;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "CapBnd: %llx", &mask) == 1)
      break;
  if (f)
    fclose(f);
  size_t k = 0;
  for (size_t i = 0; i < n && i < 64; i++)
    k += (mask >> i) & 1;
  return k;
}

static int test_caps(void)
{
  static const char *const want =
      "[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\","
      "\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\","
      "\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\"]";
  json_t *s = caps_for(NULL, 0, NULL, 0, NULL);
  MTK_ASSERT(s != NULL);
  const char *sets[] = {"bounding", "permitted", "effective"};
  for (int i = 0; i < 3; i++) {
    mtk_autofree char *got = dump_at(s, "process", "capabilities", sets[i]);
    MTK_ASSERT_STREQ(got, want);
  }
  mtk_autofree char *inh = dump_at(s, "process", "capabilities", "inheritable");
  mtk_autofree char *amb = dump_at(s, "process", "capabilities", "ambient");
  MTK_ASSERT_STREQ(inh, "");
  MTK_ASSERT_STREQ(amb, "");
  json_decref(s);

  const char *add[] = {"net_admin", "CAP_CHOWN"}, *drop[] = {"chown", "Cap_Kill"};
  s = caps_for(add, 2, drop, 2, NULL);
  mtk_autofree char *got = dump_at(s, "process", "capabilities", "bounding");
  MTK_ASSERT_STREQ(got, "[\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\","
                        "\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\","
                        "\"CAP_SETPCAP\",\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\","
                        "\"CAP_AUDIT_WRITE\",\"CAP_NET_ADMIN\",\"CAP_CHOWN\"]");
  json_decref(s);

  const char *all[] = {"ALL"}, *na[] = {"NET_ADMIN"};
  s = caps_for(na, 1, all, 1, NULL);
  mtk_autofree char *only = dump_at(s, "process", "capabilities", "effective");
  MTK_ASSERT_STREQ(only, "[\"CAP_NET_ADMIN\"]");
  json_decref(s);

  const char *const *names;
  size_t n_all = mtk_oci_caps_all(&names);
  MTK_ASSERT(n_all >= 38);
  s = caps_for(all, 1, drop, 2, NULL);
  json_t *b =
      json_object_get(json_object_get(json_object_get(s, "process"), "capabilities"), "permitted");
  MTK_ASSERT_EQ(json_array_size(b), own_caps(n_all) - 2);
  json_decref(s);

  const char *bad[] = {"NOT_A_CAP"};
  mtk_autofree char *msg = NULL;
  MTK_ASSERT(caps_for(bad, 1, NULL, 0, &msg) == NULL);
  MTK_ASSERT_STREQ(msg, "unknown capability: \"CAP_NOT_A_CAP\"");
  return 0;
}

static int test_privileged(void)
{
  const char *cmd[] = {"sh"}, *drop[] = {"ALL"};
  struct mtk_oci_run_opts o = {
      .cmd = cmd, .n_cmd = 1, .privileged = true, .cap_drop = drop, .n_cap_drop = 1};
  json_t *s = spec_for(NULL, &o, NULL);
  MTK_ASSERT(s != NULL);
  json_t *lx = json_object_get(s, "linux");
  MTK_ASSERT(json_object_get(lx, "seccomp") == NULL);
  MTK_ASSERT(json_object_get(lx, "maskedPaths") == NULL);
  MTK_ASSERT(json_object_get(lx, "readonlyPaths") == NULL);
  const char *const *names;
  size_t n_all = mtk_oci_caps_all(&names);
  json_t *b =
      json_object_get(json_object_get(json_object_get(s, "process"), "capabilities"), "bounding");
  MTK_ASSERT_EQ(json_array_size(b), own_caps(n_all));
  mtk_autofree char *devs = dump_at(lx, "resources", "devices", NULL);
  MTK_ASSERT_STREQ(devs, "[{\"allow\":true,\"access\":\"rwm\"}]");
  mtk_autofree char *mounts = dump_at(s, "mounts", NULL, NULL);
  MTK_ASSERT_CONTAINS(mounts, "\"destination\":\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\","
                              "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"rw\"]");
  json_decref(s);
  return 0;
}

static int test_paths_and_shape(void)
{
  const char *cmd[] = {"sh"};
  struct mtk_oci_mount m[] = {
      {MTK_OCI_MOUNT_BIND, "/srv/data", "/data", true, NULL},
      {MTK_OCI_MOUNT_TMPFS, NULL, "/run", false, "size=1m"},
  };
  struct mtk_oci_run_opts o = {.cmd = cmd,
                               .n_cmd = 1,
                               .hostname = "h1",
                               .read_only = true,
                               .memory = 64 << 20,
                               .cpus = 1.5,
                               .pids_limit = 100,
                               .mounts = m,
                               .n_mounts = 2};
  json_t *s = spec_for("{\"WorkingDir\": \"/app\"}", &o, NULL);
  MTK_ASSERT(s != NULL);
  MTK_ASSERT_STREQ(json_string_value(json_object_get(s, "ociVersion")), "1.0.2");
  MTK_ASSERT_STREQ(json_string_value(json_object_get(s, "hostname")), "h1");
  mtk_autofree char *root = dump_at(s, "root", NULL, NULL);
  mtk_autofree char *want_root = mtk_xasprintf("{\"path\":\"%s\",\"readonly\":true}", rootfs);
  MTK_ASSERT_STREQ(root, want_root);
  mtk_autofree char *cwd = dump_at(s, "process", "cwd", NULL);
  MTK_ASSERT_STREQ(cwd, "\"/app\"");
  static const char *const dests[] = {"/proc",    "/dev",           "/dev/pts",
                                      "/sys",     "/sys/fs/cgroup", "/dev/mqueue",
                                      "/dev/shm", "/data",          "/run"};
  json_t *mounts = json_object_get(s, "mounts");
  MTK_ASSERT_EQ(json_array_size(mounts), 9);
  for (size_t i = 0; i < 9; i++)
    MTK_ASSERT_STREQ(json_string_value(json_object_get(json_array_get(mounts, i), "destination")),
                     dests[i]);
  mtk_autofree char *shm = dump_at(json_array_get(mounts, 6), "options", NULL, NULL);
  MTK_ASSERT_CONTAINS(shm, "\"size=67108864\"");
  mtk_autofree char *bind = dump_at(json_array_get(mounts, 7), "options", NULL, NULL);
  MTK_ASSERT_STREQ(bind, "[\"rbind\",\"ro\",\"rprivate\"]");
  mtk_autofree char *tmpfs = dump_at(json_array_get(mounts, 8), "options", NULL, NULL);
  MTK_ASSERT_STREQ(tmpfs, "[\"nosuid\",\"nodev\",\"noexec\",\"size=1m\"]");

  json_t *lx = json_object_get(s, "linux");
  mtk_autofree char *masked = dump_at(lx, "maskedPaths", NULL, NULL);
  MTK_ASSERT_CONTAINS(masked, "\"/proc/kcore\"");
  MTK_ASSERT_CONTAINS(masked, "\"/sys/firmware\"");
  mtk_autofree char *ro = dump_at(lx, "readonlyPaths", NULL, NULL);
  MTK_ASSERT_STREQ(ro, "[\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\","
                       "\"/proc/sysrq-trigger\"]");
  mtk_autofree char *ns = dump_at(lx, "namespaces", NULL, NULL);
  MTK_ASSERT_CONTAINS(ns, "{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},"
                          "{\"type\":\"mount\"},{\"type\":\"network\"}");
  mtk_autofree char *res = dump_at(lx, "resources", NULL, NULL);
  MTK_ASSERT_CONTAINS(res, "\"memory\":{\"limit\":67108864}");
  MTK_ASSERT_CONTAINS(res, "\"cpu\":{\"quota\":150000,\"period\":100000}");
  MTK_ASSERT_CONTAINS(res, "\"pids\":{\"limit\":100}");
  MTK_ASSERT_CONTAINS(res, "{\"allow\":false,\"type\":\"c\",\"major\":10,\"minor\":229");
  json_decref(s);

  o.network_host = true;
  o.mounts = NULL;
  o.n_mounts = 0;
  s = spec_for(NULL, &o, NULL);
  mtk_autofree char *ns2 = dump_at(s, "linux", "namespaces", NULL);
  MTK_ASSERT(strstr(ns2, "network") == NULL);
  json_decref(s);
  o.workdir = "rel";
  mtk_autofree char *msg = NULL;
  MTK_ASSERT(spec_for(NULL, &o, &msg) == NULL);
  MTK_ASSERT_CONTAINS(msg, "needs to be an absolute path");
  return 0;
}

/* The rule of `seccomp` whose names include `name` and whose action is
 * `action`, or NULL. */
static json_t *sc_rule(json_t *seccomp, const char *name, const char *action)
{
  size_t i, j;
  json_t *r, *n;
  json_array_foreach(json_object_get(seccomp, "syscalls"), i, r)
  {
    if (strcmp(json_string_value(json_object_get(r, "action")), action) != 0)
      continue;
    json_array_foreach(json_object_get(r, "names"), j, n)
    {
      if (strcmp(json_string_value(n), name) == 0)
        return r;
    }
  }
  return NULL;
}

static int test_seccomp(void)
{
  json_t *s = caps_for(NULL, 0, NULL, 0, NULL);
  MTK_ASSERT(s != NULL);
  json_t *sc = json_object_get(json_object_get(s, "linux"), "seccomp");
  MTK_ASSERT_STREQ(json_string_value(json_object_get(sc, "defaultAction")), "SCMP_ACT_ERRNO");
  MTK_ASSERT_EQ(json_integer_value(json_object_get(sc, "defaultErrnoRet")), 1);
#ifdef __x86_64__
  mtk_autofree char *arches = dump_at(sc, "architectures", NULL, NULL);
  MTK_ASSERT_STREQ(arches, "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"]");
  MTK_ASSERT(sc_rule(sc, "arch_prctl", "SCMP_ACT_ALLOW") != NULL);
#endif
  MTK_ASSERT(sc_rule(sc, "read", "SCMP_ACT_ALLOW") != NULL);
  MTK_ASSERT(sc_rule(sc, "chroot", "SCMP_ACT_ALLOW") != NULL); /* CAP_SYS_CHROOT is default */
  json_t *clone3 = sc_rule(sc, "clone3", "SCMP_ACT_ERRNO");
  MTK_ASSERT(clone3 != NULL);
  MTK_ASSERT_EQ(json_integer_value(json_object_get(clone3, "errnoRet")), ENOSYS);
  MTK_ASSERT(sc_rule(sc, "clone3", "SCMP_ACT_ALLOW") == NULL);
  json_t *clone = sc_rule(sc, "clone", "SCMP_ACT_ALLOW");
  MTK_ASSERT(clone != NULL);
  mtk_autofree char *clone_args = dump_at(clone, "args", NULL, NULL);
  MTK_ASSERT_STREQ(
      clone_args,
      "[{\"index\":0,\"value\":2114060288,\"valueTwo\":0,\"op\":\"SCMP_CMP_MASKED_EQ\"}]");
  MTK_ASSERT(sc_rule(sc, "reboot", "SCMP_ACT_ALLOW") == NULL);
  MTK_ASSERT(sc_rule(sc, "mount", "SCMP_ACT_ALLOW") == NULL);
  MTK_ASSERT(sc_rule(sc, "keyctl", "SCMP_ACT_ALLOW") == NULL);
  MTK_ASSERT(sc_rule(sc, "ptrace", "SCMP_ACT_ALLOW") != NULL); /* kernel >= 4.8 */
  json_decref(s);

  const char *add[] = {"SYS_BOOT", "SYS_ADMIN"};
  s = caps_for(add, 2, NULL, 0, NULL);
  sc = json_object_get(json_object_get(s, "linux"), "seccomp");
  MTK_ASSERT(sc_rule(sc, "reboot", "SCMP_ACT_ALLOW") != NULL);
  MTK_ASSERT(sc_rule(sc, "mount", "SCMP_ACT_ALLOW") != NULL);
  MTK_ASSERT(sc_rule(sc, "clone3", "SCMP_ACT_ALLOW") != NULL);
  MTK_ASSERT(sc_rule(sc, "clone3", "SCMP_ACT_ERRNO") == NULL);
  json_decref(s);

  const char *drop[] = {"SYS_CHROOT"};
  s = caps_for(NULL, 0, drop, 1, NULL);
  sc = json_object_get(json_object_get(s, "linux"), "seccomp");
  MTK_ASSERT(sc_rule(sc, "chroot", "SCMP_ACT_ALLOW") == NULL);
  json_decref(s);
  return 0;
}

/* Runs last: it lowers this process's hard RLIMIT_NOFILE for good. */
static int test_rlimit_clamp(void)
{
  struct rlimit rl;
  MTK_ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
  json_t *s = caps_for(NULL, 0, NULL, 0, NULL);
  json_t *r = json_array_get(json_object_get(json_object_get(s, "process"), "rlimits"), 0);
  MTK_ASSERT_STREQ(json_string_value(json_object_get(r, "type")), "RLIMIT_NOFILE");
  long long want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > MTK_OCI_NOFILE
                       ? MTK_OCI_NOFILE
                       : (long long) rl.rlim_max;
  MTK_ASSERT_EQ(json_integer_value(json_object_get(r, "hard")), want);
  MTK_ASSERT_EQ(json_integer_value(json_object_get(r, "soft")), want);
  json_decref(s);
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1000)
    return 0;
  rl.rlim_max = 1000;
  rl.rlim_cur = rl.rlim_cur < 1000 ? rl.rlim_cur : 1000;
  MTK_ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
  s = caps_for(NULL, 0, NULL, 0, NULL);
  r = json_array_get(json_object_get(json_object_get(s, "process"), "rlimits"), 0);
  MTK_ASSERT_EQ(json_integer_value(json_object_get(r, "hard")), 1000);
  MTK_ASSERT_EQ(json_integer_value(json_object_get(r, "soft")), 1000);
  json_decref(s);
  return 0;
}

int main(void)
{
  if (setup_rootfs() < 0) {
    printf("Bail out! cannot create a temporary rootfs: %s\n", strerror(errno));
    return 1;
  }
  static const struct mtk_test tests[] = {
      {"user", test_user},
      {"args", test_args},
      {"env", test_env},
      {"caps", test_caps},
      {"privileged", test_privileged},
      {"paths_and_shape", test_paths_and_shape},
      {"seccomp", test_seccomp},
      {"rlimit_clamp", test_rlimit_clamp},
      {NULL, NULL},
  };
  int rc = mtk_test_main(tests);
  teardown_rootfs();
  return rc;
}
