/* config.json for one container: the image config and the `docker run`
 * options combined with Docker's defaults (moby daemon/pkg/oci/defaults.go
 * DefaultLinuxSpec, daemon/oci_linux.go, container.CreateDaemonEnvironment,
 * daemon/commit.go merge).  Users: spec_user.c; capabilities: spec_caps.c;
 * seccomp: seccomp_default.c.  See docs/internals/oci.md. */
#include "config.h"

#include <errno.h>
#include <glob.h>
#include <linux/magic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/vfs.h>

#include "oci/spec.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define DEFAULT_SHM_SIZE (64LL << 20)
#define CPU_PERIOD 100000

static const char *const masked_paths[] = {
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap",
    "/sys/firmware",
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

static json_t *str_array(const char *const *v, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

static void extend_new(json_t *a, json_t *more)
{
  json_array_extend(a, more);
  json_decref(more);
}

/* config[key] when it is an array of strings (else an empty array). */
static json_t *cfg_array(const json_t *cfg, const char *key)
{
  json_t *v = json_object_get(cfg, key);
  json_t *out = json_array();
  size_t i;
  json_t *s;
  json_array_foreach(v, i, s)
  {
    if (json_is_string(s))
      json_array_append(out, s);
  }
  return out;
}

static const char *cfg_string(const json_t *cfg, const char *key)
{
  const char *s = json_string_value(json_object_get(cfg, key));
  return s && *s ? s : NULL;
}

/* process.args: Entrypoint + Cmd; --entrypoint (even "") drops the image Cmd,
 * a command given on the command line replaces it; --init prepends the init. */
static json_t *build_args(const json_t *cfg, const struct mtk_oci_run_opts *o, struct mtk_err **err)
{
  json_t *args;
  if (o->entrypoint_set) {
    bool cleared = o->n_entrypoint == 0 || (o->n_entrypoint == 1 && !o->entrypoint[0][0]);
    args = cleared ? json_array() : str_array(o->entrypoint, o->n_entrypoint);
  } else {
    args = cfg_array(cfg, "Entrypoint");
  }
  if (o->n_cmd > 0) {
    extend_new(args, str_array(o->cmd, o->n_cmd));
  } else if (!o->entrypoint_set) {
    extend_new(args, cfg_array(cfg, "Cmd"));
  }
  if (json_array_size(args) == 0) {
    json_decref(args);
    mtk_err_set(err, EINVAL, "no command specified");
    mtk_err_hint(err, "give a command, or use an image with an ENTRYPOINT or CMD");
    return NULL;
  }
  if (o->init) {
    json_array_insert_new(args, 0, json_string("--"));
    json_array_insert_new(args, 0, json_string(MTK_OCI_INIT_PATH));
  }
  return args;
}

static size_t key_len(const char *kv)
{
  return strcspn(kv, "=");
}

/* Index of the entry of `env` with the key of `kv`, or -1. */
static long env_find(const json_t *env, const char *kv)
{
  size_t n = key_len(kv), i;
  json_t *v;
  json_array_foreach(env, i, v)
  {
    const char *s = json_string_value(v);
    if (key_len(s) == n && strncmp(s, kv, n) == 0)
      return (long) i;
  }
  return -1;
}

/* ReplaceOrAppendEnvValues: an entry replaces the one with its key in place,
 * or is appended; a bare "K" removes K. */
static void env_override(json_t *env, const json_t *over)
{
  size_t i;
  json_t *v;
  json_array_foreach(over, i, v)
  {
    const char *s = json_string_value(v);
    long at = env_find(env, s);
    if (!strchr(s, '='))
      at >= 0 ? json_array_remove(env, (size_t) at) : 0;
    else if (at >= 0)
      json_array_set(env, (size_t) at, v);
    else
      json_array_append(env, v);
  }
}

/* process.env: PATH, HOSTNAME, TERM (tty) overridden by Config.Env, which is
 * the -e entries followed by the image's entries whose keys -e did not set. */
static json_t *build_env(const json_t *cfg, const struct mtk_oci_run_opts *o)
{
  json_t *user = json_array();
  for (size_t i = 0; i < o->n_env; i++) {
    const char *kv = o->env[i];
    const char *host = strchr(kv, '=') ? NULL : getenv(kv);
    json_array_append_new(user, host ? json_sprintf("%s=%s", kv, host) : json_string(kv));
  }
  json_t *image = cfg_array(cfg, "Env");
  size_t i;
  json_t *v;
  json_array_foreach(image, i, v)
  {
    if (env_find(user, json_string_value(v)) < 0)
      json_array_append(user, v);
  }
  json_decref(image);
  json_t *env = json_array();
  json_array_append_new(env, json_string("PATH=" MTK_OCI_DEFAULT_PATH));
  json_array_append_new(env, json_sprintf("HOSTNAME=%s", o->hostname ? o->hostname : ""));
  if (o->tty)
    json_array_append_new(env, json_string("TERM=xterm"));
  env_override(env, user);
  json_decref(user);
  return env;
}

static json_t *build_user(const char *rootfs, const json_t *cfg, const struct mtk_oci_run_opts *o,
                          struct mtk_err **err)
{
  struct mtk_oci_user u;
  const char *spec = o->user ? o->user : cfg_string(cfg, "User");
  if (mtk_oci_user_resolve(rootfs, spec, &u, err) < 0)
    return NULL;
  json_t *j = json_pack("{s:I, s:I}", "uid", (json_int_t) u.uid, "gid", (json_int_t) u.gid);
  if (u.n_additional_gids > 0) {
    json_t *g = json_array();
    for (size_t i = 0; i < u.n_additional_gids; i++)
      json_array_append_new(g, json_integer(u.additional_gids[i]));
    json_object_set_new(j, "additionalGids", g);
  }
  mtk_oci_user_clear(&u);
  return j;
}

static const struct {
  const char *name;
  int resource;
} rlimit_types[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

/* One rlimit clamped to our hard limit (raising a limit needs
 * CAP_SYS_RESOURCE, which root does not have on every host: MACHINE.md). */
static json_t *rlimit_json(const char *type, uint64_t soft, uint64_t hard, struct mtk_err **err)
{
  int res = -1;
  for (size_t i = 0; i < sizeof rlimit_types / sizeof rlimit_types[0]; i++)
    if (strcmp(type, rlimit_types[i].name) == 0)
      res = rlimit_types[i].resource;
  if (res < 0) {
    mtk_err_set(err, EINVAL, "invalid ulimit type: %s", type);
    return NULL;
  }
  struct rlimit rl;
  if (getrlimit(res, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && hard > (uint64_t) rl.rlim_max)
    hard = (uint64_t) rl.rlim_max;
  if (soft > hard)
    soft = hard;
  return json_pack("{s:s, s:I, s:I}", "type", type, "hard", (json_int_t) hard, "soft",
                   (json_int_t) soft);
}

/* RLIMIT_NOFILE 1048576 (Docker's) unless --ulimit sets it, then the
 * --ulimit entries; all clamped. */
static json_t *build_rlimits(const struct mtk_oci_run_opts *o, struct mtk_err **err)
{
  json_t *a = json_array();
  bool nofile = false;
  for (size_t i = 0; i < o->n_rlimits; i++)
    nofile = nofile || strcmp(o->rlimits[i].type, "RLIMIT_NOFILE") == 0;
  if (!nofile)
    json_array_append_new(a, rlimit_json("RLIMIT_NOFILE", MTK_OCI_NOFILE, MTK_OCI_NOFILE, err));
  for (size_t i = 0; i < o->n_rlimits; i++) {
    json_t *r = rlimit_json(o->rlimits[i].type, o->rlimits[i].soft, o->rlimits[i].hard, err);
    if (!r) {
      json_decref(a);
      return NULL;
    }
    json_array_append_new(a, r);
  }
  return a;
}

static json_t *build_process(const char *rootfs, const json_t *cfg,
                             const struct mtk_oci_run_opts *o, struct mtk_err **err)
{
  const char *cwd = o->workdir ? o->workdir : cfg_string(cfg, "WorkingDir");
  if (o->workdir && o->workdir[0] != '/') {
    mtk_err_set(err, EINVAL,
                "the working directory '%s' is invalid, it needs to be an absolute path",
                o->workdir);
    return NULL;
  }
  mtk_autofree char *cwd_abs = !cwd            ? mtk_xstrdup("/")
                               : cwd[0] == '/' ? mtk_xstrdup(cwd)
                                               : mtk_xasprintf("/%s", cwd);
  json_t *args = build_args(cfg, o, err);
  json_t *user = args ? build_user(rootfs, cfg, o, err) : NULL;
  json_t *caps = user ? mtk_oci_spec_caps(o, err) : NULL;
  json_t *rlimits = caps ? build_rlimits(o, err) : NULL;
  if (!rlimits) {
    json_decref(args);
    json_decref(user);
    json_decref(caps);
    return NULL;
  }
  json_t *capset =
      json_pack("{s:O, s:O, s:O}", "bounding", caps, "effective", caps, "permitted", caps);
  json_decref(caps);
  return json_pack("{s:b, s:o, s:o, s:o, s:s, s:o, s:o, s:b, s:i}", "terminal", o->tty, "user",
                   user, "args", args, "env", build_env(cfg, o), "cwd", cwd_abs, "capabilities",
                   capset, "rlimits", rlimits, "noNewPrivileges", o->no_new_privileges,
                   "oomScoreAdj", o->oom_score_adj);
}

static json_t *mount_json(const char *dst, const char *type, const char *src, const char *opts)
{
  json_t *o = json_array();
  mtk_autofree char *copy = mtk_xstrdup(opts);
  for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
    json_array_append_new(o, json_string(t));
  return json_pack("{s:s, s:s, s:s, s:o}", "destination", dst, "type", type, "source", src,
                   "options", o);
}

static bool has_propagation(const char *opts)
{
  static const char *const props[] = {"private", "rprivate", "shared",
                                      "rshared", "slave",    "rslave"};
  mtk_autofree char *copy = mtk_xstrdup(opts ? opts : "");
  for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
      if (strcmp(t, props[i]) == 0)
        return true;
  return false;
}

static json_t *user_mount(const struct mtk_oci_mount *m, struct mtk_err **err)
{
  if (!m->target || m->target[0] != '/') {
    mtk_err_set(err, EINVAL, "invalid mount target \"%s\": it must be an absolute path",
                m->target ? m->target : "");
    return NULL;
  }
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  if (m->type == MTK_OCI_MOUNT_TMPFS) {
    mtk_strbuf_addf(&sb, "nosuid,nodev,noexec%s%s%s", m->read_only ? ",ro" : "",
                    m->options ? "," : "", m->options ? m->options : "");
    return mount_json(m->target, "tmpfs", "tmpfs", mtk_strbuf_str(&sb));
  }
  if (!m->source || m->source[0] != '/') {
    mtk_err_set(err, EINVAL, "invalid bind source \"%s\" for %s: it must be an absolute path",
                m->source ? m->source : "", m->target);
    return NULL;
  }
  mtk_strbuf_addf(&sb, "rbind,%s%s%s%s", m->read_only ? "ro" : "rw",
                  has_propagation(m->options) ? "" : ",rprivate", m->options ? "," : "",
                  m->options ? m->options : "");
  return mount_json(m->target, "bind", m->source, mtk_strbuf_str(&sb));
}

static json_t *build_mounts(const struct mtk_oci_run_opts *o, struct mtk_err **err)
{
  const char *ro = o->privileged ? "rw" : "ro";
  int64_t shm = o->shm_size > 0 ? o->shm_size : DEFAULT_SHM_SIZE;
  mtk_autofree char *sys = mtk_xasprintf("nosuid,noexec,nodev,%s", ro);
  mtk_autofree char *cg = mtk_xasprintf("%s,nosuid,noexec,nodev", ro);
  mtk_autofree char *shm_opts =
      mtk_xasprintf("nosuid,noexec,nodev,mode=1777,size=%lld", (long long) shm);
  json_t *a = json_array();
  json_array_append_new(a, mount_json("/proc", "proc", "proc", "nosuid,noexec,nodev"));
  json_array_append_new(
      a, mount_json("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
  json_array_append_new(a, mount_json("/dev/pts", "devpts", "devpts",
                                      "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
  json_array_append_new(a, mount_json("/sys", "sysfs", "sysfs", sys));
  json_array_append_new(a, mount_json("/sys/fs/cgroup", "cgroup", "cgroup", cg));
  json_array_append_new(a, mount_json("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
  json_array_append_new(a, mount_json("/dev/shm", "tmpfs", "shm", shm_opts));
  if (o->init) {
    if (!o->init_binary || o->init_binary[0] != '/') {
      json_decref(a);
      mtk_err_set(err, EINVAL, "init requested but no absolute path to the init binary given");
      return NULL;
    }
    json_array_append_new(
        a, mount_json(MTK_OCI_INIT_PATH, "bind", o->init_binary, "rbind,ro,rprivate"));
  }
  for (size_t i = 0; i < o->n_mounts; i++) {
    json_t *m = user_mount(&o->mounts[i], err);
    if (!m) {
      json_decref(a);
      return NULL;
    }
    json_array_append_new(a, m);
  }
  return a;
}

static bool cgroup_v2(void)
{
  struct statfs s;
  return statfs("/sys/fs/cgroup", &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC;
}

static json_t *build_namespaces(const struct mtk_oci_run_opts *o)
{
  json_t *ns = json_pack("[{s:s}, {s:s}, {s:s}, {s:s}]", "type", "pid", "type", "ipc", "type",
                         "uts", "type", "mount");
  if (o->netns_path)
    json_array_append_new(ns, json_pack("{s:s, s:s}", "type", "network", "path", o->netns_path));
  else if (!o->network_host)
    json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
  if (cgroup_v2())
    json_array_append_new(ns, json_pack("{s:s}", "type", "cgroup"));
  return ns;
}

static json_t *build_resources(const struct mtk_oci_run_opts *o)
{
  json_t *devs;
  if (o->privileged)
    devs = json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm");
  else
    devs = json_pack("[{s:b,s:s}, {s:b,s:s,s:i,s:i,s:s}, {s:b,s:s,s:i,s:i,s:s},"
                     " {s:b,s:s,s:i,s:i,s:s}, {s:b,s:s,s:i,s:i,s:s}, {s:b,s:s,s:i,s:i,s:s},"
                     " {s:b,s:s,s:i,s:i,s:s}, {s:b,s:s,s:i,s:i,s:s}]",
                     "allow", 0, "access", "rwm",                                      //
                     "allow", 1, "type", "c", "major", 1, "minor", 5, "access", "rwm", //
                     "allow", 1, "type", "c", "major", 1, "minor", 3, "access", "rwm", //
                     "allow", 1, "type", "c", "major", 1, "minor", 9, "access", "rwm", //
                     "allow", 1, "type", "c", "major", 1, "minor", 8, "access", "rwm", //
                     "allow", 1, "type", "c", "major", 5, "minor", 0, "access", "rwm", //
                     "allow", 1, "type", "c", "major", 5, "minor", 1, "access", "rwm", //
                     "allow", 0, "type", "c", "major", 10, "minor", 229, "access", "rwm");
  json_t *r = json_pack("{s:o}", "devices", devs);
  if (o->memory > 0)
    json_object_set_new(r, "memory", json_pack("{s:I}", "limit", (json_int_t) o->memory));
  if (o->cpus > 0) {
    json_int_t quota = (json_int_t) llround(o->cpus * CPU_PERIOD);
    json_object_set_new(r, "cpu",
                        json_pack("{s:I, s:I}", "quota", quota, "period", (json_int_t) CPU_PERIOD));
  }
  if (o->pids_limit != 0)
    json_object_set_new(r, "pids", json_pack("{s:I}", "limit", (json_int_t) o->pids_limit));
  return r;
}

static json_t *build_masked(void)
{
  json_t *a = str_array(masked_paths, sizeof masked_paths / sizeof masked_paths[0]);
  glob_t g;
  if (glob("/sys/devices/system/cpu/cpu[0-9]*/thermal_throttle", GLOB_ONLYDIR, NULL, &g) == 0)
    for (size_t i = 0; i < g.gl_pathc; i++)
      json_array_append_new(a, json_string(g.gl_pathv[i]));
  globfree(&g);
  return a;
}

static json_t *build_linux(const struct mtk_oci_run_opts *o, const json_t *process)
{
  json_t *l =
      json_pack("{s:o, s:o}", "namespaces", build_namespaces(o), "resources", build_resources(o));
  if (o->sysctls && json_object_size(o->sysctls) > 0)
    json_object_set_new(l, "sysctl", json_deep_copy(o->sysctls));
  if (o->privileged)
    return l;
  json_object_set_new(l, "maskedPaths", build_masked());
  json_object_set_new(l, "readonlyPaths",
                      str_array(readonly_paths, sizeof readonly_paths / sizeof readonly_paths[0]));
  if (o->seccomp_unconfined)
    return l;
  json_t *bounding = json_object_get(json_object_get(process, "capabilities"), "bounding");
  size_t n = json_array_size(bounding);
  const char **caps = mtk_xcalloc(n ? n : 1, sizeof *caps);
  for (size_t i = 0; i < n; i++)
    caps[i] = json_string_value(json_array_get(bounding, i));
  json_object_set_new(l, "seccomp", mtk_oci_seccomp_default(caps, n));
  free(caps);
  return l;
}

json_t *mtk_oci_spec_new(const char *rootfs, const json_t *image_config,
                         const struct mtk_oci_run_opts *opts, struct mtk_err **err)
{
  static const struct mtk_oci_run_opts none;
  const struct mtk_oci_run_opts *o = opts ? opts : &none;
  if (!rootfs || rootfs[0] != '/')
    return mtk_err_set(err, EINVAL, "rootfs \"%s\" is not an absolute path", rootfs ? rootfs : ""),
           NULL;
  const json_t *cfg = json_object_get(image_config, "config");
  if (!json_is_object(cfg))
    cfg = image_config;
  json_t *process = build_process(rootfs, cfg, o, err);
  if (!process)
    return NULL;
  json_t *mounts = build_mounts(o, err);
  if (!mounts) {
    json_decref(process);
    return NULL;
  }
  json_t *spec = json_pack("{s:s, s:{s:s, s:b}, s:o, s:o}", "ociVersion", "1.0.2", "root", "path",
                           rootfs, "readonly", o->read_only, "mounts", mounts, "process", process);
  if (o->hostname)
    json_object_set_new(spec, "hostname", json_string(o->hostname));
  if (o->domainname && *o->domainname)
    json_object_set_new(spec, "domainname", json_string(o->domainname));
  json_object_set_new(spec, "linux", build_linux(o, process));
  return spec;
}
