/* Docker's seccomp profile precompiled for crun (runtime.h
 * mtk_runtime_seccomp_precompile): the OCI linux.seccomp section turned into
 * a BPF program with libseccomp exactly as crun 1.8.1 does it
 * (src/libcrun/seccomp.c libcrun_generate_seccomp: actions with their
 * errno, architectures, rules, arguments on one index split into one rule
 * each), cached by a digest of the profile and the kernel, and handed over
 * as the annotation run.oci.seccomp_bpf_data.  Compiling the profile is
 * about half of what `crun run` costs for a container here, and the crun
 * Debian ships caches nothing.  libseccomp is loaded on a cache miss only. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/dl.h"
#include "util/file.h"
#include "util/sha256.h"
#include "util/strbuf.h"

#define ANNOTATION "run.oci.seccomp_bpf_data"
#define BPF_MAX (1 << 20)
#define CACHE_MAX 32 /* programs kept: one per capability set in use */

/* libseccomp, loaded on first use (dl.h) under private names. */
enum {
  S_INIT,
  S_RELEASE,
  S_ARCH_RESOLVE,
  S_ARCH_ADD,
  S_SYSCALL_RESOLVE,
  S_RULE_ADD_ARRAY,
  S_EXPORT_BPF,
  S_COUNT
};
static const char *const scmp_names[S_COUNT] = {
    "seccomp_init",
    "seccomp_release",
    "seccomp_arch_resolve_name",
    "seccomp_arch_add",
    "seccomp_syscall_resolve_name",
    "seccomp_rule_add_array",
    "seccomp_export_bpf",
};
static void (*scmp_fns[S_COUNT])(void);
static struct mtk_dl_lib scmp_lib =
    MTK_DL_LIB_INIT("libseccomp.so.2", "libseccomp2", scmp_names, scmp_fns, S_COUNT);

typedef scmp_filter_ctx (*init_fn)(uint32_t);
typedef void (*release_fn)(scmp_filter_ctx);
typedef uint32_t (*arch_resolve_fn)(const char *);
typedef int (*arch_add_fn)(scmp_filter_ctx, uint32_t);
typedef int (*syscall_resolve_fn)(const char *);
typedef int (*rule_add_array_fn)(scmp_filter_ctx, uint32_t, int, unsigned int,
                                 const struct scmp_arg_cmp *);
typedef int (*export_bpf_fn)(const scmp_filter_ctx, int);
#define SCMP(i, type) ((type) scmp_fns[i])

/* crun's get_seccomp_action; 0 with ok false for an unknown name.  NOTIFY
 * is not precompiled (its listener is crun's business). */
static uint32_t action_of(const char *name, uint32_t errno_ret, bool *ok)
{
  *ok = true;
  if (name && strcmp(name, "SCMP_ACT_ALLOW") == 0)
    return SCMP_ACT_ALLOW;
  if (name && strcmp(name, "SCMP_ACT_ERRNO") == 0)
    return SCMP_ACT_ERRNO(errno_ret);
  if (name && strcmp(name, "SCMP_ACT_KILL") == 0)
    return SCMP_ACT_KILL;
  if (name && strcmp(name, "SCMP_ACT_LOG") == 0)
    return SCMP_ACT_LOG;
  if (name && strcmp(name, "SCMP_ACT_TRAP") == 0)
    return SCMP_ACT_TRAP;
  if (name && strcmp(name, "SCMP_ACT_TRACE") == 0)
    return SCMP_ACT_TRACE(errno_ret);
  if (name && strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
    return SCMP_ACT_KILL_PROCESS;
  if (name && strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
    return SCMP_ACT_KILL_THREAD;
  *ok = false;
  return 0;
}

static int op_of(const char *name)
{
  static const struct {
    const char *name;
    int op;
  } ops[] = {{"SCMP_CMP_NE", SCMP_CMP_NE},
             {"SCMP_CMP_LT", SCMP_CMP_LT},
             {"SCMP_CMP_LE", SCMP_CMP_LE},
             {"SCMP_CMP_EQ", SCMP_CMP_EQ},
             {"SCMP_CMP_GE", SCMP_CMP_GE},
             {"SCMP_CMP_GT", SCMP_CMP_GT},
             {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ}};
  for (size_t i = 0; name && i < sizeof(ops) / sizeof(ops[0]); i++)
    if (strcmp(name, ops[i].name) == 0)
      return ops[i].op;
  return 0;
}

static uint32_t errno_of(const json_t *o, const char *key)
{
  json_t *v = json_object_get(o, key);
  return json_is_integer(v) ? (uint32_t) json_integer_value(v) : EPERM;
}

static int add_arches(scmp_filter_ctx ctx, const json_t *sc, struct mtk_err **err)
{
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(sc, "architectures"), i, a)
  {
    const char *name = json_string_value(a);
    if (!name)
      continue;
    if (strncmp(name, "SCMP_ARCH_", 10) == 0)
      name += 10;
    char lower[32];
    snprintf(lower, sizeof(lower), "%s", name);
    for (char *p = lower; *p; p++)
      if (*p >= 'A' && *p <= 'Z')
        *p = (char) (*p - 'A' + 'a');
    uint32_t token = SCMP(S_ARCH_RESOLVE, arch_resolve_fn)(lower);
    if (token == 0)
      return mtk_err_set(err, EINVAL, "seccomp: unknown architecture %s", name);
    int rc = SCMP(S_ARCH_ADD, arch_add_fn)(ctx, token);
    if (rc < 0 && rc != -EEXIST)
      return mtk_err_set(err, -rc, "seccomp: adding architecture %s: %s", name, strerror(-rc));
  }
  return 0;
}

/* One syscall's rule with its argument conditions; several conditions on
 * one argument index become one rule each, as crun does. */
static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const json_t *args,
                    struct mtk_err **err)
{
  struct scmp_arg_cmp cmp[6];
  unsigned count[6] = {0}, k = 0;
  bool split = false;
  size_t i;
  json_t *a;
  json_array_foreach(args, i, a)
  {
    if (k == 6)
      break;
    json_int_t index = json_integer_value(json_object_get(a, "index"));
    if (index < 0 || index >= 6)
      return mtk_err_set(err, EINVAL, "seccomp: invalid argument index %lld", (long long) index);
    if (++count[index] > 1)
      split = true;
    cmp[k].arg = (unsigned) index;
    cmp[k].op = op_of(json_string_value(json_object_get(a, "op")));
    if (cmp[k].op == 0)
      return mtk_err_set(err, EINVAL, "seccomp: unknown operator");
    cmp[k].datum_a = (scmp_datum_t) json_integer_value(json_object_get(a, "value"));
    cmp[k].datum_b = (scmp_datum_t) json_integer_value(json_object_get(a, "valueTwo"));
    k++;
  }
  rule_add_array_fn add = SCMP(S_RULE_ADD_ARRAY, rule_add_array_fn);
  int rc = 0;
  if (!split)
    rc = add(ctx, action, nr, k, cmp);
  for (unsigned r = 0; split && rc >= 0 && r < k; r++)
    rc = add(ctx, action, nr, 1, &cmp[r]);
  return rc < 0 ? mtk_err_set(err, -rc, "seccomp_rule_add_array: %s", strerror(-rc)) : 0;
}

static int add_syscalls(scmp_filter_ctx ctx, uint32_t def, const json_t *sc, struct mtk_err **err)
{
  size_t i, j;
  json_t *s, *n;
  json_array_foreach(json_object_get(sc, "syscalls"), i, s)
  {
    bool ok;
    uint32_t action =
        action_of(json_string_value(json_object_get(s, "action")), errno_of(s, "errnoRet"), &ok);
    if (!ok)
      return mtk_err_set(err, EINVAL, "seccomp: unsupported action");
    if (action == def)
      continue;
    json_t *args = json_object_get(s, "args");
    json_array_foreach(json_object_get(s, "names"), j, n)
    {
      int nr = SCMP(S_SYSCALL_RESOLVE, syscall_resolve_fn)(json_string_value(n));
      if (nr == __NR_SCMP_ERROR)
        continue; /* unknown here: crun warns and skips it too */
      int rc = json_array_size(args)
                   ? add_rule(ctx, action, nr, args, err)
                   : SCMP(S_RULE_ADD_ARRAY, rule_add_array_fn)(ctx, action, nr, 0, NULL);
      if (rc < 0)
        return mtk_err_set(err, -rc, "seccomp_rule_add %s: %s", json_string_value(n),
                           strerror(-rc));
    }
  }
  return 0;
}

/* The BPF program of linux.seccomp into *bpf. */
static int compile(const json_t *sc, struct mtk_strbuf *bpf, struct mtk_err **err)
{
  if (mtk_dl_load(&scmp_lib, err) < 0)
    return -1;
  bool ok;
  uint32_t def = action_of(json_string_value(json_object_get(sc, "defaultAction")),
                           errno_of(sc, "defaultErrnoRet"), &ok);
  if (!ok)
    return mtk_err_set(err, EINVAL, "seccomp: unsupported default action");
  scmp_filter_ctx ctx = SCMP(S_INIT, init_fn)(def);
  if (!ctx)
    return mtk_err_set(err, ENOMEM, "seccomp_init failed");
  int rc = add_arches(ctx, sc, err);
  if (rc == 0)
    rc = add_syscalls(ctx, def, sc, err);
  mtk_autoclose int fd = rc == 0 ? memfd_create("mtk-seccomp", MFD_CLOEXEC) : -1;
  if (rc == 0 && fd < 0)
    rc = mtk_err_set(err, errno, "memfd_create: %s", strerror(errno));
  int e = rc == 0 ? SCMP(S_EXPORT_BPF, export_bpf_fn)(ctx, fd) : 0;
  SCMP(S_RELEASE, release_fn)(ctx);
  if (e < 0)
    rc = mtk_err_set(err, -e, "seccomp_export_bpf: %s", strerror(-e));
  if (rc < 0)
    return rc;
  char buf[8192];
  ssize_t r;
  lseek(fd, 0, SEEK_SET);
  while ((r = read(fd, buf, sizeof(buf))) > 0 && bpf->len < BPF_MAX)
    mtk_strbuf_add(bpf, buf, (size_t) r);
  return r < 0 ? mtk_err_set(err, errno, "reading the BPF program: %s", strerror(errno)) : 0;
}

static void base64(const unsigned char *in, size_t n, struct mtk_strbuf *out)
{
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t) in[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t) in[i + 1] << 8;
    if (i + 2 < n)
      v |= in[i + 2];
    char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                 i + 2 < n ? tab[v & 63] : '='};
    mtk_strbuf_add(out, q, 4);
  }
}

/* Keeps the cache at CACHE_MAX programs: the least recently written go. */
static void evict(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct entry {
    char name[80];
    struct timespec mtime;
  } *v = NULL;
  size_t n = 0;
  struct dirent *e;
  struct stat st;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(v->name) ||
        fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    v = mtk_xrealloc(v, (n + 1) * sizeof(*v));
    snprintf(v[n].name, sizeof(v[n].name), "%s", e->d_name);
    v[n++].mtime = st.st_mtim;
  }
  while (n > CACHE_MAX) {
    size_t old = 0;
    for (size_t i = 1; i < n; i++)
      if (v[i].mtime.tv_sec < v[old].mtime.tv_sec ||
          (v[i].mtime.tv_sec == v[old].mtime.tv_sec && v[i].mtime.tv_nsec < v[old].mtime.tv_nsec))
        old = i;
    unlinkat(dirfd(d), v[old].name, 0);
    v[old] = v[--n];
  }
  free(v);
  closedir(d);
}

/* The cache file for this profile on this kernel. */
static char *cache_path(const json_t *sc, const char *dir)
{
  struct utsname u;
  memset(&u, 0, sizeof(u));
  uname(&u);
  mtk_autofree char *text = json_dumps(sc, JSON_COMPACT | JSON_SORT_KEYS);
  mtk_autofree char *key =
      mtk_xasprintf("%s\n%s\n%s\n%s", u.release, u.version, u.machine, text ? text : "");
  char hex[MTK_SHA256_HEX_SIZE];
  mtk_sha256_hex(key, strlen(key), hex);
  return mtk_xasprintf("%s/%s.b64", dir, hex);
}

static bool uses_notify(const json_t *sc)
{
  size_t i;
  json_t *s;
  if (json_object_get(sc, "listenerPath"))
    return true;
  json_array_foreach(json_object_get(sc, "syscalls"), i, s)
  {
    const char *a = json_string_value(json_object_get(s, "action"));
    if (a && strcmp(a, "SCMP_ACT_NOTIFY") == 0)
      return true;
  }
  return false;
}

int mtk_runtime_seccomp_precompile(const struct mtk_runtime *rt, json_t *spec,
                                   const char *cache_dir, bool *changed, struct mtk_err **err)
{
  *changed = false;
  json_t *sc = json_object_get(json_object_get(spec, "linux"), "seccomp");
  json_t *ann = json_object_get(spec, "annotations");
  if (strcmp(rt->ops->name, "crun") != 0 || !json_is_object(sc) || uses_notify(sc) ||
      json_object_get(ann, ANNOTATION))
    return 0;
  mtk_autofree char *path = cache_path(sc, cache_dir);
  size_t len = 0;
  struct mtk_err *e = NULL;
  char *b64 = mtk_file_read(path, BPF_MAX * 2, &len, &e);
  mtk_err_free(&e);
  if (!b64) {
    struct mtk_strbuf bpf = MTK_STRBUF_INIT, out = MTK_STRBUF_INIT;
    if (compile(sc, &bpf, err) < 0) {
      mtk_strbuf_free(&bpf);
      return -1;
    }
    base64((const unsigned char *) bpf.buf, bpf.len, &out);
    mtk_strbuf_free(&bpf);
    b64 = mtk_strbuf_steal(&out);
    /* the cache is an optimisation: a failure to write it is no error */
    mtk_autofree char *parent = mtk_xstrdup(cache_dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
      *slash = 0;
      mkdir(parent, 0700);
    }
    if (mkdir(cache_dir, 0700) == 0 || errno == EEXIST) {
      if (mtk_file_write_atomic(path, b64, strlen(b64), 0600, &e) < 0)
        mtk_err_free(&e);
      evict(cache_dir);
    }
  }
  if (!json_is_object(ann)) {
    ann = json_object();
    json_object_set_new(spec, "annotations", ann);
  }
  json_object_set_new(ann, ANNOTATION, json_string(b64));
  free(b64);
  *changed = true;
  return 0;
}
