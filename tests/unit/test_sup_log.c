/* Unit tests for the supervisor's log writer (src/sup/log.c): the k8s-file
 * records of a chunk (full lines, the partial tail, empty lines, stderr),
 * the timestamp format, appending to ctr.log, and the whole-line splitter
 * (lines across chunks, the cap on a long line, the last line at EOF). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sup/internal.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/file.h"

static int test_format(void)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  const char *ts = "2026-01-02T03:04:05.000000007Z";
  mtk_sup_log_format(&sb, ts, 1, "a\nbc\n\nd", 7);
  MTK_ASSERT_STREQ(mtk_strbuf_str(&sb), "2026-01-02T03:04:05.000000007Z stdout F a\n"
                                        "2026-01-02T03:04:05.000000007Z stdout F bc\n"
                                        "2026-01-02T03:04:05.000000007Z stdout F \n"
                                        "2026-01-02T03:04:05.000000007Z stdout P d\n");
  mtk_strbuf_reset(&sb);
  mtk_sup_log_format(&sb, ts, 2, "err\n", 4);
  MTK_ASSERT_STREQ(mtk_strbuf_str(&sb), "2026-01-02T03:04:05.000000007Z stderr F err\n");
  mtk_strbuf_reset(&sb);
  mtk_sup_log_format(&sb, ts, 1, "", 0);
  MTK_ASSERT_EQ(sb.len, 0);
  /* a chunk of only a partial line, then its end: P then F (readers join them) */
  mtk_sup_log_format(&sb, ts, 1, "par", 3);
  mtk_sup_log_format(&sb, ts, 1, "tial\n", 5);
  MTK_ASSERT_STREQ(mtk_strbuf_str(&sb), "2026-01-02T03:04:05.000000007Z stdout P par\n"
                                        "2026-01-02T03:04:05.000000007Z stdout F tial\n");
  /* bytes are kept as they are, NUL included */
  mtk_strbuf_reset(&sb);
  mtk_sup_log_format(&sb, ts, 1, "x\0y\n", 4);
  MTK_ASSERT_EQ(sb.len, strlen(ts) + strlen(" stdout F ") + 4);
  MTK_ASSERT(memcmp(sb.buf + sb.len - 4, "x\0y\n", 4) == 0);
  return 0;
}

static int test_timestamp(void)
{
  char out[40];
  struct timespec t = {.tv_sec = 1700000000, .tv_nsec = 123456789};
  mtk_sup_log_ts(&t, out);
  MTK_ASSERT_STREQ(out, "2023-11-14T22:13:20.123456789Z");
  t.tv_nsec = 5;
  mtk_sup_log_ts(&t, out);
  MTK_ASSERT_STREQ(out, "2023-11-14T22:13:20.000000005Z");
  t = (struct timespec){0, 0};
  mtk_sup_log_ts(&t, out);
  MTK_ASSERT_STREQ(out, "1970-01-01T00:00:00.000000000Z");
  return 0;
}

static int test_file(void)
{
  char dir[] = "/tmp/mtk-suplog-XXXXXX";
  MTK_ASSERT(mkdtemp(dir) != NULL);
  mtk_autofree char *path = mtk_xasprintf("%s/ctr.log", dir);
  struct mtk_sup_log l;
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_sup_log_open(&l, path, &err), 0);
  mtk_sup_log_write(&l, 1, "hello\nwor", 9);
  mtk_sup_log_write(&l, 2, "oops\n", 5);
  mtk_sup_log_close(&l);
  MTK_ASSERT_EQ(l.fd, -1);
  /* reopening appends (a restarted container keeps its log) */
  MTK_ASSERT_EQ(mtk_sup_log_open(&l, path, &err), 0);
  mtk_sup_log_write(&l, 1, "ld\n", 3);
  mtk_sup_log_close(&l);
  size_t len;
  mtk_autofree char *text = mtk_file_read(path, 1 << 20, &len, &err);
  MTK_ASSERT(text != NULL);
  const char *want[] = {" stdout F hello\n", " stdout P wor\n", " stderr F oops\n",
                        " stdout F ld\n"};
  char *p = text;
  for (size_t i = 0; i < 4; i++) {
    char *nl = strchr(p, '\n');
    MTK_ASSERT(nl != NULL);
    /* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" then the record */
    MTK_ASSERT(nl - p > 30 && p[4] == '-' && p[10] == 'T' && p[19] == '.' && p[29] == 'Z');
    MTK_ASSERT(strncmp(p + 30, want[i], strlen(want[i])) == 0);
    p = nl + 1;
  }
  MTK_ASSERT_EQ(*p, 0);
  unlink(path);
  rmdir(dir);
  /* a log that cannot be opened is an error naming the path */
  MTK_ASSERT(mtk_sup_log_open(&l, "/nonexistent/dir/ctr.log", &err) < 0);
  MTK_ASSERT_CONTAINS(err->msg, "/nonexistent/dir/ctr.log");
  mtk_err_free(&err);
  return 0;
}

struct got {
  char lines[16][64];
  size_t len[16];
  int n;
};

static void collect(void *data, const char *line, size_t len)
{
  struct got *g = data;
  if (g->n < 16) {
    g->len[g->n] = len;
    memcpy(g->lines[g->n], line, len < 63 ? len : 63);
    g->lines[g->n][len < 63 ? len : 63] = 0;
  }
  g->n++;
}

static int test_lines(void)
{
  struct mtk_sup_lines l = {MTK_STRBUF_INIT};
  struct got g = {0};
  mtk_sup_lines_feed(&l, "one\ntw", 6, collect, &g);
  MTK_ASSERT_EQ(g.n, 1);
  MTK_ASSERT_STREQ(g.lines[0], "one");
  mtk_sup_lines_feed(&l, "o\n\nthr", 6, collect, &g);
  MTK_ASSERT_EQ(g.n, 3);
  MTK_ASSERT_STREQ(g.lines[1], "two");
  MTK_ASSERT_EQ(g.len[2], 0);
  mtk_sup_lines_feed(&l, "ee", 2, collect, &g);
  MTK_ASSERT_EQ(g.n, 3);
  mtk_sup_lines_flush(&l, collect, &g); /* EOF: the last line without newline */
  MTK_ASSERT_EQ(g.n, 4);
  MTK_ASSERT_STREQ(g.lines[3], "three");
  mtk_sup_lines_flush(&l, collect, &g); /* nothing left */
  MTK_ASSERT_EQ(g.n, 4);
  return 0;
}

static int test_lines_cap(void)
{
  struct mtk_sup_lines l = {MTK_STRBUF_INIT};
  struct got g = {0};
  size_t big = MTK_SUP_LINE_MAX * 2 + 10;
  mtk_autofree char *buf = mtk_xmalloc(big + 1);
  memset(buf, 'x', big);
  buf[big] = '\n';
  /* fed in odd pieces: the cap cuts the line into two full pieces and a rest */
  for (size_t off = 0; off < big + 1; off += 1000) {
    size_t n = big + 1 - off < 1000 ? big + 1 - off : 1000;
    mtk_sup_lines_feed(&l, buf + off, n, collect, &g);
  }
  MTK_ASSERT_EQ(g.n, 3);
  MTK_ASSERT_EQ(g.len[0], MTK_SUP_LINE_MAX);
  MTK_ASSERT_EQ(g.len[1], MTK_SUP_LINE_MAX);
  MTK_ASSERT_EQ(g.len[2], 10);
  /* a line of exactly the cap, newline right after: one line, no empty one */
  g.n = 0;
  mtk_sup_lines_feed(&l, buf, MTK_SUP_LINE_MAX, collect, &g);
  mtk_sup_lines_feed(&l, "\nz\n", 3, collect, &g);
  MTK_ASSERT_EQ(g.n, 2);
  MTK_ASSERT_EQ(g.len[0], MTK_SUP_LINE_MAX);
  MTK_ASSERT_STREQ(g.lines[1], "z");
  mtk_sup_lines_free(&l);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"k8s-file records of a chunk", test_format},  {"RFC 3339 nano timestamps", test_timestamp},
      {"ctr.log written and appended", test_file},   {"whole lines across chunks", test_lines},
      {"long lines cut at the cap", test_lines_cap}, {NULL, NULL},
  };
  return mtk_test_main(tests);
}
