/* Unit tests for the precompiled seccomp filter of crun
 * (src/runtime/runtime_bpf.c): the annotation is set for crun only, the
 * program is cached by profile, an argument condition and the errno of a
 * rule are honoured by the kernel when the program is loaded, and profiles
 * it must not touch are left alone. */
#include "config.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "tap.h"
#include "util/cleanup.h"

static char dir[] = "/tmp/mtk-bpf-XXXXXX";

/* Default allow; getppid fails with EACCES; dup only for fd 99 with ENOTTY. */
static json_t *spec_with(const char *default_action)
{
  return json_pack("{s:{s:{s:s, s:[s], s:[{s:[s], s:s, s:i}, {s:[s, s], s:s, s:i, s:[{s:i, "
                   "s:i, s:s}]}]}}}",
                   "linux", "seccomp", "defaultAction", default_action, "architectures",
                   "SCMP_ARCH_X86_64", "syscalls", "names", "getppid", "action", "SCMP_ACT_ERRNO",
                   "errnoRet", EACCES, "names", "dup", "no_such_syscall", "action",
                   "SCMP_ACT_ERRNO", "errnoRet", ENOTTY, "args", "index", 0, "value", 99, "op",
                   "SCMP_CMP_EQ");
}

static unsigned char *unbase64(const char *s, size_t *n)
{
  size_t len = strlen(s);
  unsigned char *out = mtk_xmalloc(len);
  *n = 0;
  uint32_t v = 0;
  int bits = 0;
  for (const char *p = s; *p && *p != '='; p++) {
    const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *c = strchr(tab, *p);
    if (!c)
      abort();
    v = (v << 6) | (uint32_t) (c - tab);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[(*n)++] = (unsigned char) (v >> bits);
    }
  }
  return out;
}

/* Loads the program in a child and reports what three syscalls return. */
static int run_filter(const unsigned char *prog, size_t n, int res[3])
{
  int p[2];
  if (pipe(p) < 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    struct sock_fprog fp = {.len = (unsigned short) (n / 8), .filter = (struct sock_filter *) prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) < 0)
      _exit(2);
    int r[3];
    r[0] = syscall(SYS_getppid) < 0 ? errno : 0; /* glibc's getppid never sets errno */
    r[1] = dup(99) < 0 ? errno : 0;              /* fd 99 is not open: EBADF unless filtered */
    int d = dup(1);
    r[2] = d < 0 ? errno : 0;
    _exit(write(p[1], r, sizeof(r)) == sizeof(r) ? 0 : 3);
  }
  close(p[1]);
  ssize_t got = read(p[0], res, 3 * sizeof(int));
  close(p[0]);
  int st;
  waitpid(pid, &st, 0);
  return got == 3 * sizeof(int) && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int test_crun(void)
{
  struct mtk_err *err = NULL;
  struct mtk_runtime *rt = mtk_runtime_new("crun", dir, &err);
  if (!rt) {
    mtk_err_free(&err);
    return 77; /* crun is not installed */
  }
  json_t *spec = spec_with("SCMP_ACT_ALLOW");
  mtk_autofree char *cache = mtk_xasprintf("%s/cache", dir);
  bool changed = false;
  int rc = mtk_runtime_seccomp_precompile(rt, spec, cache, &changed, &err);
  if (rc < 0 && err && err->code == ELIBACC) { /* libseccomp.so.2 missing */
    mtk_err_free(&err);
    json_decref(spec);
    mtk_runtime_free(rt);
    return 77;
  }
  MTK_ASSERT_EQ(rc, 0);
  MTK_ASSERT(changed);
  const char *b64 = json_string_value(
      json_object_get(json_object_get(spec, "annotations"), "run.oci.seccomp_bpf_data"));
  MTK_ASSERT(b64 != NULL);
  /* the seccomp section stays for runc and crun's flags */
  MTK_ASSERT(json_object_get(json_object_get(spec, "linux"), "seccomp") != NULL);
  size_t n = 0;
  mtk_autofree unsigned char *prog = unbase64(b64, &n);
  MTK_ASSERT(n > 0 && n % 8 == 0);
  int res[3];
  MTK_ASSERT_EQ(run_filter(prog, n, res), 0);
  MTK_ASSERT_EQ(res[0], EACCES); /* the rule's errno */
  MTK_ASSERT_EQ(res[1], ENOTTY); /* the argument condition matched */
  MTK_ASSERT_EQ(res[2], 0);      /* dup(1) is not 99: allowed */
  /* cached: one file for this profile; a second spec gets the same data */
  mtk_autofree char *cmd = mtk_xasprintf("ls %s | wc -l", cache);
  FILE *f = popen(cmd, "r");
  int files = 0;
  MTK_ASSERT(f && fscanf(f, "%d", &files) == 1);
  pclose(f);
  MTK_ASSERT_EQ(files, 1);
  json_t *again = spec_with("SCMP_ACT_ALLOW");
  MTK_ASSERT_EQ(mtk_runtime_seccomp_precompile(rt, again, cache, &changed, &err), 0);
  MTK_ASSERT_STREQ(json_string_value(json_object_get(json_object_get(again, "annotations"),
                                                     "run.oci.seccomp_bpf_data")),
                   b64);
  /* the cache keeps the 32 most recent programs */
  for (int i = 0; i < 34; i++) {
    json_t *v = spec_with("SCMP_ACT_ALLOW");
    json_t *rules =
        json_object_get(json_object_get(json_object_get(v, "linux"), "seccomp"), "syscalls");
    json_object_set_new(json_array_get(rules, 0), "errnoRet", json_integer(100 + i));
    MTK_ASSERT_EQ(mtk_runtime_seccomp_precompile(rt, v, cache, &changed, &err), 0);
    json_decref(v);
  }
  f = popen(cmd, "r");
  MTK_ASSERT(f && fscanf(f, "%d", &files) == 1);
  pclose(f);
  MTK_ASSERT_EQ(files, 32);
  /* already annotated: left alone */
  MTK_ASSERT_EQ(mtk_runtime_seccomp_precompile(rt, again, cache, &changed, &err), 0);
  MTK_ASSERT(!changed);
  json_decref(again);
  json_decref(spec);
  mtk_runtime_free(rt);
  return 0;
}

static int test_left_alone(void)
{
  struct mtk_err *err = NULL;
  mtk_autofree char *cache = mtk_xasprintf("%s/cache2", dir);
  bool changed = true;
  struct mtk_runtime *runc = mtk_runtime_new("runc", dir, &err);
  if (runc) { /* runc compiles its own */
    json_t *spec = spec_with("SCMP_ACT_ALLOW");
    MTK_ASSERT_EQ(mtk_runtime_seccomp_precompile(runc, spec, cache, &changed, &err), 0);
    MTK_ASSERT(!changed);
    MTK_ASSERT(json_object_get(spec, "annotations") == NULL);
    json_decref(spec);
    mtk_runtime_free(runc);
  }
  mtk_err_free(&err);
  struct mtk_runtime *rt = mtk_runtime_new("crun", dir, &err);
  if (!rt) {
    mtk_err_free(&err);
    return 77;
  }
  json_t *none = json_pack("{s:{}}", "linux");
  MTK_ASSERT_EQ(mtk_runtime_seccomp_precompile(rt, none, cache, &changed, &err), 0);
  MTK_ASSERT(!changed);
  json_t *notify = spec_with("SCMP_ACT_ALLOW");
  json_t *rules =
      json_object_get(json_object_get(json_object_get(notify, "linux"), "seccomp"), "syscalls");
  json_object_set_new(json_array_get(rules, 0), "action", json_string("SCMP_ACT_NOTIFY"));
  MTK_ASSERT_EQ(mtk_runtime_seccomp_precompile(rt, notify, cache, &changed, &err), 0);
  MTK_ASSERT(!changed);
  /* an action crun does not know either: an error, as crun would give */
  json_t *bad = spec_with("SCMP_ACT_SOMETIMES");
  MTK_ASSERT(mtk_runtime_seccomp_precompile(rt, bad, cache, &changed, &err) < 0);
  MTK_ASSERT_CONTAINS(err->msg, "seccomp");
  mtk_err_free(&err);
  json_decref(bad);
  json_decref(notify);
  json_decref(none);
  mtk_runtime_free(rt);
  return 0;
}

int main(void)
{
  if (!mkdtemp(dir))
    return 1;
  static const struct mtk_test tests[] = {
      {"crun gets the compiled filter, cached", test_crun},
      {"profiles and runtimes left alone", test_left_alone},
      {NULL, NULL},
  };
  int rc = mtk_test_main(tests);
  mtk_autofree char *cmd = mtk_xasprintf("rm -rf %s", dir);
  if (system(cmd) != 0)
    rc = 1;
  return rc;
}
