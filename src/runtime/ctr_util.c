/* Helpers of the container code (ctr_internal.h): paths, directories that
 * are removed only when nothing is mounted below them, atomic JSON files,
 * /proc/self/mountinfo, process identity by pid + start time, signals and
 * RFC 3339 times. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/store.h"
#include "runtime/ctr_internal.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/signal.h"
#include "util/file.h"

#define JSON_MAX (16 << 20)

char *mtk_ctr_dir(const char *root)
{
  return mtk_xasprintf("%s/containers", root);
}

char *mtk_ctr_path(const char *root, const char *id)
{
  return mtk_xasprintf("%s/containers/%s", root, id);
}

char *mtk_ctr_bundle_path(const char *runroot, const char *id)
{
  return mtk_xasprintf("%s/containers/%s", runroot, id);
}

int mtk_ctr_mkdir_p(const char *path, mode_t mode, struct mtk_err **err)
{
  mtk_autofree char *p = mtk_xstrdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = 0;
    if (mkdir(p, mode) < 0 && errno != EEXIST)
      return mtk_err_set(err, errno, "creating %s: %s", p, strerror(errno));
    *s = '/';
  }
  if (mkdir(p, mode) < 0 && errno != EEXIST)
    return mtk_err_set(err, errno, "creating %s: %s", p, strerror(errno));
  return 0;
}

void mtk_ctr_strv_free(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Decodes mountinfo's octal escapes (\040) in place. */
static void unescape(char *s)
{
  char *o = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
        p[3] <= '7') {
      *o++ = (char) ((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
      p += 3;
    } else {
      *o++ = *p;
    }
  }
  *o = 0;
}

static int by_length_desc(const void *a, const void *b)
{
  size_t la = strlen(*(char *const *) a), lb = strlen(*(char *const *) b);
  return la < lb ? 1 : la > lb ? -1 : strcmp(*(char *const *) a, *(char *const *) b);
}

char **mtk_ctr_mounts_under(const char *dir, size_t *n)
{
  *n = 0;
  mtk_autofclose FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return NULL;
  size_t dl = strlen(dir);
  while (dl > 1 && dir[dl - 1] == '/')
    dl--;
  char **v = NULL;
  mtk_autofree char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    char *save = NULL, *mp = NULL;
    char *t = strtok_r(line, " ", &save);
    for (int i = 0; t && i < 4; i++)
      t = strtok_r(NULL, " ", &save);
    mp = t;
    if (!mp)
      continue;
    unescape(mp);
    if (strncmp(mp, dir, dl) != 0 || (mp[dl] != 0 && mp[dl] != '/'))
      continue;
    bool dup = false;
    for (size_t i = 0; i < *n && !dup; i++)
      dup = strcmp(v[i], mp) == 0;
    if (dup)
      continue;
    v = mtk_xrealloc(v, (*n + 1) * sizeof(*v));
    v[(*n)++] = mtk_xstrdup(mp);
  }
  if (*n > 1)
    qsort(v, *n, sizeof(*v), by_length_desc);
  return v;
}

int mtk_ctr_umount_all(const char *dir, struct mtk_err **err)
{
  for (int round = 0; round < 8; round++) {
    size_t n;
    char **v = mtk_ctr_mounts_under(dir, &n);
    if (n == 0)
      return 0;
    int first = 0;
    for (size_t i = 0; i < n; i++)
      if (umount2(v[i], UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT &&
          umount2(v[i], MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && !first)
        first = errno;
    mtk_ctr_strv_free(v, n);
    if (first)
      return mtk_err_set(err, first, "unmounting below %s: %s", dir, strerror(first));
  }
  return mtk_err_set(err, EBUSY, "%s stays mounted", dir);
}

int mtk_ctr_remove_tree(const char *path, struct mtk_err **err)
{
  size_t n;
  char **v = mtk_ctr_mounts_under(path, &n);
  if (n > 0) {
    int r = mtk_err_set(err, EBUSY, "not removing %s: %s is still mounted", path, v[0]);
    mtk_ctr_strv_free(v, n);
    return r;
  }
  mtk_autofree char *copy = mtk_xstrdup(path);
  char *slash = strrchr(copy, '/');
  if (!slash || !slash[1])
    return mtk_err_set(err, EINVAL, "refusing to remove %s", path);
  *slash = 0;
  mtk_autoclose int dfd = open(*copy ? copy : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return errno == ENOENT ? 0 : mtk_err_set(err, errno, "%s: %s", copy, strerror(errno));
  if (mtk_store_remove_tree(dfd, slash + 1, NULL, err) < 0)
    return mtk_err_wrap(err, "removing %s", path);
  return 0;
}

int mtk_ctr_write_json(const char *path, const json_t *doc, struct mtk_err **err)
{
  char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
  if (!text)
    return mtk_err_set(err, ENOMEM, "serialising %s failed", path);
  size_t len = strlen(text);
  text[len] = 0;
  mtk_autofree char *withnl = mtk_xasprintf("%s\n", text);
  free(text);
  return mtk_file_write_atomic(path, withnl, len + 1, 0600, err);
}

json_t *mtk_ctr_read_json(const char *path, struct mtk_err **err)
{
  size_t len;
  mtk_autofree char *buf = mtk_file_read(path, JSON_MAX, &len, err);
  if (!buf)
    return NULL;
  json_error_t je;
  json_t *j = json_loadb(buf, len, 0, &je);
  if (!j || !json_is_object(j)) {
    json_decref(j);
    mtk_err_set_at(err, EINVAL, path, j ? 0 : je.line, j ? 0 : je.column, "%s",
                   j ? "not a JSON object" : je.text);
    return NULL;
  }
  return j;
}

/* -------------------------------------------------------------- processes */

uint64_t mtk_ctr_proc_start(pid_t pid)
{
  if (pid <= 0)
    return 0;
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
  mtk_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t r = read(fd, buf, sizeof(buf) - 1);
  if (r <= 0)
    return 0;
  buf[r] = 0;
  char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
  if (!p || p[1] != ' ')
    return 0;
  p += 2;
  if (*p == 'Z' || *p == 'X') /* a zombie has exited */
    return 0;
  /* p is at field 3 (state); the start time is field 22 */
  for (int field = 3; field < 22; field++) {
    p = strchr(p, ' ');
    if (!p)
      return 0;
    p++;
  }
  return strtoull(p, NULL, 10);
}

bool mtk_ctr_proc_alive(pid_t pid, uint64_t start)
{
  uint64_t s = mtk_ctr_proc_start(pid);
  return s != 0 && (start == 0 || s == start);
}

bool mtk_ctr_monitor_alive(const struct mtk_ctr *c)
{
  json_int_t pid = json_integer_value(json_object_get(c->state, "MonitorPid"));
  json_int_t start = json_integer_value(json_object_get(c->state, "MonitorStart"));
  return pid > 0 && mtk_ctr_proc_alive((pid_t) pid, (uint64_t) start);
}

int mtk_ctr_signal_parse(const char *s, int *sig, struct mtk_err **err)
{
  if (!mtk_signal_parse(s, sig))
    return mtk_err_set(err, EINVAL, "Invalid signal: %s", s ? s : "");
  return 0;
}

int mtk_ctr_stop_signal(const struct mtk_ctr *c)
{
  const char *s =
      json_string_value(json_object_get(json_object_get(c->config, "Config"), "StopSignal"));
  int sig = SIGTERM;
  struct mtk_err *e = NULL;
  if (s && *s && mtk_ctr_signal_parse(s, &sig, &e) < 0) {
    mtk_err_free(&e);
    sig = SIGTERM;
  }
  return sig;
}

double mtk_ctr_now_sec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int64_t mtk_ctr_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* n decimal digits at s into *v. */
static bool digits(const char *s, size_t avail, int n, int *v)
{
  if ((size_t) n > avail)
    return false;
  *v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char) s[i]))
      return false;
    *v = *v * 10 + (s[i] - '0');
  }
  return true;
}

bool mtk_ctr_rfc3339_parse(const char *s, size_t len, int64_t *ns)
{
  int Y, M, D, h, m, sec;
  if (len < 20 || !digits(s, len, 4, &Y) || s[4] != '-' || !digits(s + 5, len - 5, 2, &M) ||
      s[7] != '-' || !digits(s + 8, len - 8, 2, &D) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s + 11, len - 11, 2, &h) || s[13] != ':' || !digits(s + 14, len - 14, 2, &m) ||
      s[16] != ':' || !digits(s + 17, len - 17, 2, &sec))
    return false;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
    return false;
  size_t i = 19;
  int64_t frac = 0;
  if (i < len && s[i] == '.') {
    int nd = 0;
    for (i++; i < len && isdigit((unsigned char) s[i]); i++, nd++)
      if (nd < 9)
        frac = frac * 10 + (s[i] - '0');
    if (nd == 0)
      return false;
    for (; nd < 9; nd++)
      frac *= 10;
  }
  int64_t off = 0;
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i + 6 <= len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh, om;
    if (!digits(s + i + 1, 2, 2, &oh) || !digits(s + i + 4, 2, 2, &om))
      return false;
    off = (int64_t) (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return false;
  }
  if (i != len)
    return false;
  struct tm tm = {
      .tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
  time_t t = timegm(&tm);
  *ns = ((int64_t) t - off) * 1000000000LL + frac;
  return true;
}

struct mtk_runtime *mtk_ctr_runtime(const char *runroot, const struct mtk_ctr *c,
                                    struct mtk_err **err)
{
  const char *name =
      json_string_value(json_object_get(json_object_get(c->config, "HostConfig"), "Runtime"));
  struct mtk_runtime *rt = mtk_runtime_new(name && *name ? name : NULL, runroot, err);
  if (!rt)
    return NULL;
  mtk_autofree char *bundle = mtk_ctr_bundle_path(runroot, c->id);
  struct stat st;
  if (stat(bundle, &st) == 0) {
    mtk_autofree char *log = mtk_xasprintf("%s/runtime.log", bundle);
    mtk_runtime_set_log(rt, log);
  } else {
    mtk_runtime_set_log(rt, "/dev/null");
  }
  return rt;
}
