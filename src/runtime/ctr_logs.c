/* The log reader of `mtk container logs`: ctr.log in conmon's k8s-file
 * format ("<RFC3339Nano> <stdout|stderr> <P|F> text"), with --tail (counted
 * in lines: P records continue a line, F ends it; found by reading the end
 * of the file in growing chunks), --since/--until, and --follow (inotify on
 * the log and the state until the container is no longer running and the
 * file is drained).  And --since/--until parsing as Docker's GetTimestamp. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compose/values.h"
#include "runtime/ctr_internal.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define TAIL_CHUNK (64 * 1024)
#define RECORD_MAX (1 << 20) /* a record longer than this is cut */

/* One parsed record (pointers into the line). */
struct record {
  int64_t ts;
  int stream;
  bool partial;
  const char *text;
  size_t len;
};

static bool parse_record(const char *line, size_t len, struct record *r)
{
  const char *sp1 = memchr(line, ' ', len);
  if (!sp1 || !mtk_ctr_rfc3339_parse(line, (size_t) (sp1 - line), &r->ts))
    return false;
  const char *p = sp1 + 1, *end = line + len;
  if ((size_t) (end - p) >= 7 && memcmp(p, "stdout ", 7) == 0)
    r->stream = 1;
  else if ((size_t) (end - p) >= 7 && memcmp(p, "stderr ", 7) == 0)
    r->stream = 2;
  else
    return false;
  p += 7;
  const char *tag_end = memchr(p, ' ', (size_t) (end - p));
  if (!tag_end)
    tag_end = end;
  r->partial = tag_end > p && *p == 'P';
  r->text = tag_end < end ? tag_end + 1 : end;
  r->len = (size_t) (end - r->text);
  return true;
}

/* ---------------------------------------------------------------- --tail */

/* In buf (the file's bytes from `base`), the offset where the last n lines
 * start, or -1 when the chunk does not hold them all. */
static off_t tail_in_chunk(const char *buf, size_t len, off_t base, long n)
{
  size_t pos = 0;
  if (base > 0) { /* the first record may be cut: start after it */
    const char *nl = memchr(buf, '\n', len);
    if (!nl)
      return -1;
    pos = (size_t) (nl - buf) + 1;
  }
  /* starts of lines whose beginning is known: a ring of the last n */
  off_t *ring = mtk_xcalloc((size_t) n, sizeof(off_t));
  long count = 0;
  bool known = base == 0, prev_full = true;
  while (pos < len) {
    const char *nl = memchr(buf + pos, '\n', len - pos);
    if (!nl)
      break; /* a record being written */
    struct record r;
    bool ok = parse_record(buf + pos, (size_t) (nl - buf) - pos, &r);
    if (ok && prev_full && known)
      ring[count++ % n] = base + (off_t) pos;
    if (ok) {
      prev_full = !r.partial;
      known = true;
    }
    pos = (size_t) (nl - buf) + 1;
  }
  off_t at = count >= n ? ring[count % n] : -1;
  free(ring);
  return at;
}

static off_t tail_offset(int fd, long n)
{
  struct stat st;
  if (n < 0 || fstat(fd, &st) < 0)
    return 0;
  if (n == 0)
    return st.st_size;
  for (off_t chunk = TAIL_CHUNK;; chunk *= 4) {
    off_t base = st.st_size > chunk ? st.st_size - chunk : 0;
    size_t len = (size_t) (st.st_size - base);
    char *buf = mtk_xmalloc(len + 1);
    ssize_t got = pread(fd, buf, len, base);
    off_t at = got == (ssize_t) len ? tail_in_chunk(buf, len, base, n) : 0;
    free(buf);
    if (at >= 0 || base == 0)
      return at >= 0 ? at : 0;
  }
}

/* ------------------------------------------------------------- reading */

struct reader {
  const struct mtk_ctr_log_opts *o;
  mtk_ctr_log_cb cb;
  void *data;
  struct mtk_strbuf pending; /* an incomplete record */
  bool stop;                 /* the callback asked to stop, or --until passed */
};

static void emit(struct reader *rd, const char *line, size_t len)
{
  struct record r;
  if (rd->stop || !parse_record(line, len, &r))
    return;
  if (rd->o->since > 0 && r.ts < rd->o->since)
    return;
  if (rd->o->until > 0 && r.ts > rd->o->until) {
    rd->stop = true;
    return;
  }
  if (rd->cb(rd->data, r.stream, r.ts, r.text, r.len, r.partial) != 0)
    rd->stop = true;
}

/* Reads what fd has now; complete records go out, the rest waits. */
static int drain(struct reader *rd, int fd, struct mtk_err **err)
{
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return mtk_err_set(err, errno, "reading the container log: %s", strerror(errno));
    if (n == 0 || rd->stop)
      return 0;
    size_t start = 0;
    for (size_t i = 0; i < (size_t) n && !rd->stop; i++) {
      if (buf[i] != '\n')
        continue;
      if (rd->pending.len) {
        mtk_strbuf_add(&rd->pending, buf + start, i - start);
        emit(rd, rd->pending.buf, rd->pending.len);
        mtk_strbuf_reset(&rd->pending);
      } else {
        emit(rd, buf + start, i - start);
      }
      start = i + 1;
    }
    if (start < (size_t) n && rd->pending.len < RECORD_MAX)
      mtk_strbuf_add(&rd->pending, buf + start, (size_t) n - start);
  }
}

/* Whether the container still runs (a fresh look at its state). */
static bool still_running(const char *root, const char *runroot, const char *id)
{
  struct mtk_ctr *c = NULL;
  struct mtk_err *e = NULL;
  if (mtk_ctr_load(root, runroot, id, &c, &e) < 0) {
    mtk_err_free(&e);
    return false;
  }
  bool r = mtk_ctr_is_running(c);
  mtk_ctr_free(c);
  return r;
}

static int follow(struct reader *rd, const char *root, const char *runroot, const char *id,
                  const char *path, int *fd, struct mtk_err **err)
{
  mtk_autofree char *dir = mtk_ctr_path(root, id);
  mtk_autoclose int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (in < 0)
    return mtk_err_set(err, errno, "inotify: %s", strerror(errno));
  if (inotify_add_watch(in, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
    return mtk_err_set(err, errno, "watching %s: %s", dir, strerror(errno));
  while (!rd->stop) {
    if (*fd < 0)
      *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd >= 0 && drain(rd, *fd, err) < 0)
      return -1;
    if (rd->stop || !still_running(root, runroot, id))
      break;
    struct pollfd p = {.fd = in, .events = POLLIN};
    if (poll(&p, 1, 1000) > 0) {
      char buf[4096];
      while (read(in, buf, sizeof(buf)) > 0)
        ;
    }
  }
  /* the last output after the exit */
  if (*fd < 0)
    *fd = open(path, O_RDONLY | O_CLOEXEC);
  return *fd >= 0 ? drain(rd, *fd, err) : 0;
}

int mtk_ctr_logs(const char *root, const char *runroot, const struct mtk_ctr *c,
                 const struct mtk_ctr_log_opts *o, mtk_ctr_log_cb cb, void *data,
                 struct mtk_err **err)
{
  static const struct mtk_ctr_log_opts defaults = {.tail = -1};
  struct reader rd = {.o = o ? o : &defaults, .cb = cb, .data = data};
  mtk_autofree char *path = mtk_xasprintf("%s/containers/%s/ctr.log", root, c->id);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT)
    return mtk_err_set(err, errno, "%s: %s", path, strerror(errno));
  int r = 0;
  if (fd >= 0 && lseek(fd, tail_offset(fd, rd.o->tail), SEEK_SET) < 0)
    r = mtk_err_set(err, errno, "%s: %s", path, strerror(errno));
  if (r == 0 && fd >= 0)
    r = drain(&rd, fd, err);
  if (r == 0 && rd.o->follow && !rd.stop)
    r = follow(&rd, root, runroot, c->id, path, &fd, err);
  if (fd >= 0)
    close(fd);
  mtk_strbuf_free(&rd.pending);
  return r;
}

/* ------------------------------------------------------------ --since */

static bool num(const char **p, int n, int *v)
{
  *v = 0;
  for (int i = 0; i < n; i++, (*p)++) {
    if (!isdigit((unsigned char) **p))
      return false;
    *v = *v * 10 + (**p - '0');
  }
  return true;
}

/* YYYY-MM-DD[THH[:MM[:SS[.frac]]]][Z|±hh:mm]; no zone = local time. */
static bool parse_date(const char *s, int64_t *out)
{
  const char *p = s;
  int Y, M, D, h = 0, m = 0, sec = 0;
  if (!num(&p, 4, &Y) || *p++ != '-' || !num(&p, 2, &M) || *p++ != '-' || !num(&p, 2, &D))
    return false;
  int64_t frac = 0;
  if (*p == 'T') {
    p++;
    if (!num(&p, 2, &h))
      return false;
    if (*p == ':' && isdigit((unsigned char) p[1]) && (p++, !num(&p, 2, &m)))
      return false;
    if (*p == ':' && isdigit((unsigned char) p[1]) && (p++, !num(&p, 2, &sec)))
      return false;
    if (*p == '.') {
      int nd = 0;
      for (p++; isdigit((unsigned char) *p); p++, nd++)
        if (nd < 9)
          frac = frac * 10 + (*p - '0');
      for (; nd < 9; nd++)
        frac *= 10;
    }
  }
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
    return false;
  struct tm tm = {.tm_year = Y - 1900,
                  .tm_mon = M - 1,
                  .tm_mday = D,
                  .tm_hour = h,
                  .tm_min = m,
                  .tm_sec = sec,
                  .tm_isdst = -1};
  time_t t;
  if (!*p) {
    t = mktime(&tm);
  } else if ((p[0] == 'Z' || p[0] == 'z') && !p[1]) {
    t = timegm(&tm);
  } else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 && p[3] == ':') {
    int oh, om;
    const char *q = p + 1;
    if (!num(&q, 2, &oh) || *q++ != ':' || !num(&q, 2, &om))
      return false;
    t = timegm(&tm) - (time_t) (oh * 3600 + om * 60) * (p[0] == '-' ? -1 : 1);
  } else {
    return false;
  }
  *out = (int64_t) t * 1000000000LL + frac;
  return true;
}

/* "1700000000" or "1700000000.5": seconds since the epoch. */
static bool parse_unix(const char *s, int64_t *out)
{
  const char *p = s;
  int64_t sec = 0, frac = 0;
  if (!isdigit((unsigned char) *p))
    return false;
  for (; isdigit((unsigned char) *p); p++) {
    if (sec > (INT64_MAX / 1000000000LL) / 10)
      return false;
    sec = sec * 10 + (*p - '0');
  }
  if (*p == '.') {
    int nd = 0;
    for (p++; isdigit((unsigned char) *p); p++, nd++)
      if (nd < 9)
        frac = frac * 10 + (*p - '0');
    if (nd == 0)
      return false;
    for (; nd < 9; nd++)
      frac *= 10;
  }
  if (*p)
    return false;
  *out = sec * 1000000000LL + frac;
  return true;
}

int mtk_ctr_parse_time(const char *s, int64_t now_ns, int64_t *out, struct mtk_err **err)
{
  if (!s || !*s)
    return mtk_err_set(err, EINVAL, "failed to parse value as time or duration: \"\"");
  int64_t d;
  struct mtk_err *e = NULL;
  if (strcmp(s, "0") != 0 && mtk_duration_parse(s, &d, &e) == 0) {
    *out = now_ns - d;
    return 0;
  }
  mtk_err_free(&e);
  if (strchr(s, '-') ? parse_date(s, out) : parse_unix(s, out))
    return 0;
  return mtk_err_set(err, EINVAL, "failed to parse value as time or duration: \"%s\"", s);
}
