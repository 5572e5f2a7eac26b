/* The container's output log in conmon's k8s-file format (container.h:
 * "<RFC3339Nano> <stdout|stderr> <P|F> text", one timestamp per read chunk,
 * P for the text after the chunk's last newline) and the whole-line
 * splitter the callbacks get (RUNTIME.md section 3, "Logs"). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sup/internal.h"
#include "util/cleanup.h"
#include "util/file.h"

void mtk_sup_log_ts(const struct timespec *ts, char out[40])
{
  struct tm tm;
  time_t sec = ts->tv_sec;
  gmtime_r(&sec, &tm);
  size_t n = strftime(out, 30, "%Y-%m-%dT%H:%M:%S", &tm);
  unsigned long ns = (unsigned long) ts->tv_nsec % 1000000000UL;
  out[n++] = '.';
  for (int i = 8; i >= 0; i--, ns /= 10)
    out[n + (size_t) i] = (char) ('0' + ns % 10);
  n += 9;
  out[n++] = 'Z';
  out[n] = 0;
}

static void record(struct mtk_strbuf *sb, const char *ts, int stream, char kind, const char *text,
                   size_t len)
{
  mtk_strbuf_adds(sb, ts);
  mtk_strbuf_adds(sb, stream == 2 ? " stderr " : " stdout ");
  mtk_strbuf_addc(sb, kind);
  mtk_strbuf_addc(sb, ' ');
  mtk_strbuf_add(sb, text, len);
  mtk_strbuf_addc(sb, '\n');
}

void mtk_sup_log_format(struct mtk_strbuf *sb, const char *ts, int stream, const char *buf,
                        size_t len)
{
  size_t start = 0;
  for (size_t i = 0; i < len; i++) {
    if (buf[i] != '\n')
      continue;
    record(sb, ts, stream, 'F', buf + start, i - start);
    start = i + 1;
  }
  if (start < len)
    record(sb, ts, stream, 'P', buf + start, len - start);
}

int mtk_sup_log_open(struct mtk_sup_log *l, const char *path, struct mtk_err **err)
{
  *l = (struct mtk_sup_log){.fd = -1, .sb = MTK_STRBUF_INIT};
  l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (l->fd < 0)
    return mtk_err_set(err, errno, "opening the container log %s: %s", path, strerror(errno));
  return 0;
}

void mtk_sup_log_write(struct mtk_sup_log *l, int stream, const char *buf, size_t len)
{
  if (l->fd < 0 || l->error || len == 0)
    return;
  struct timespec now;
  char ts[40];
  clock_gettime(CLOCK_REALTIME, &now);
  mtk_sup_log_ts(&now, ts);
  mtk_strbuf_reset(&l->sb);
  mtk_sup_log_format(&l->sb, ts, stream, buf, len);
  /* A full disk must not stop the container: the log stops, the error is
   * kept for the exit record. */
  if (mtk_file_write_all(l->fd, l->sb.buf, l->sb.len) < 0)
    l->error = errno;
  /* Keep memory bounded: a huge chunk's buffer is not kept around. */
  if (l->sb.cap > 65536)
    mtk_strbuf_free(&l->sb);
}

void mtk_sup_log_close(struct mtk_sup_log *l)
{
  if (l->fd >= 0) {
    fsync(l->fd);
    close(l->fd);
    l->fd = -1;
  }
  mtk_strbuf_free(&l->sb);
}

void mtk_sup_lines_feed(struct mtk_sup_lines *l, const char *buf, size_t len, mtk_sup_line_fn fn,
                        void *data)
{
  while (len > 0) {
    const char *nl = memchr(buf, '\n', len);
    size_t take = nl ? (size_t) (nl - buf) : len;
    size_t room = MTK_SUP_LINE_MAX - l->partial.len;
    if (take > room) {
      /* the line passes the cap: the cap's worth goes out as a line */
      mtk_strbuf_add(&l->partial, buf, room);
      fn(data, l->partial.buf, l->partial.len);
      mtk_strbuf_reset(&l->partial);
      buf += room;
      len -= room;
      continue;
    }
    if (!nl) {
      mtk_strbuf_add(&l->partial, buf, len);
      return;
    }
    if (l->partial.len) {
      mtk_strbuf_add(&l->partial, buf, take);
      fn(data, l->partial.buf, l->partial.len);
      mtk_strbuf_reset(&l->partial);
    } else {
      fn(data, buf, take);
    }
    buf += take + 1;
    len -= take + 1;
  }
}

void mtk_sup_lines_flush(struct mtk_sup_lines *l, mtk_sup_line_fn fn, void *data)
{
  if (l->partial.len)
    fn(data, l->partial.buf, l->partial.len);
  mtk_strbuf_free(&l->partial);
}

void mtk_sup_lines_free(struct mtk_sup_lines *l)
{
  mtk_strbuf_free(&l->partial);
}
