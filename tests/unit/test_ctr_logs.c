/* The container log reader (mtk_ctr_logs) on crafted k8s-file logs: every
 * record, --tail in lines (P records continue a line), --tail past the first
 * read chunk, --since/--until, a half-written last record, the callback
 * stopping, and --follow until the container's process is gone. */
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
#include "util/strbuf.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char root[64], runroot[80];

static const char crafted[] = "2023-11-14T22:13:20.000000001Z stdout F line1\n"
                              "2023-11-14T22:13:21.000000000Z stderr F line2\n"
                              "2023-11-14T22:13:22.000000000Z stdout P part-a\n"
                              "2023-11-14T22:13:22.500000000Z stdout F part-b\n"
                              "2023-11-14T22:13:23.000000000Z stdout F \n"
                              "not a record at all\n"
                              "2023-11-14T22:13:24.000000000Z stdout F last with  spaces\n"
                              "2023-11-14T22:13:25.000000000Z stderr P trailing\n"
                              "2023-11-14T22:13:26.000000000Z stdout F half-writ";

struct got {
  struct mtk_strbuf sb;
  int n;
  int stop_after;
};

static int collect(void *data, int stream, int64_t ts, const char *text, size_t len, bool partial)
{
  struct got *g = data;
  mtk_strbuf_addf(&g->sb, "%d%c%.*s|", stream, partial ? 'P' : 'F', (int) len, text);
  (void) ts;
  g->n++;
  return g->stop_after && g->n >= g->stop_after;
}

static void write_log(const char *text)
{
  char path[256];
  snprintf(path, sizeof(path), "%s/containers/%s", root, ID);
  struct mtk_err *e = NULL;
  mtk_ctr_mkdir_p(path, 0700, &e);
  strcat(path, "/ctr.log");
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
}

static char *read_with(const struct mtk_ctr_log_opts *o, int stop_after)
{
  struct mtk_ctr c = {.id = ID, .name = (char *) "t"};
  struct got g = {MTK_STRBUF_INIT, 0, stop_after};
  struct mtk_err *e = NULL;
  if (mtk_ctr_logs(root, runroot, &c, o, collect, &g, &e) < 0) {
    printf("#   %s\n", e->msg);
    mtk_err_free(&e);
    mtk_strbuf_free(&g.sb);
    return strdup("ERROR");
  }
  return mtk_strbuf_steal(&g.sb);
}

#define ALL "1Fline1|2Fline2|1Ppart-a|1Fpart-b|1F|1Flast with  spaces|2Ptrailing|"

static int check(long tail, int64_t since, int64_t until, const char *want)
{
  struct mtk_ctr_log_opts o = {.tail = tail, .since = since, .until = until};
  char *got = read_with(&o, 0);
  int ok = strcmp(got, want) == 0;
  if (!ok)
    printf("#   tail %ld since %lld until %lld:\n#     got  %s\n#     want %s\n", tail,
           (long long) since, (long long) until, got, want);
  free(got);
  return ok ? 0 : 1;
}

static int test_all(void)
{
  write_log(crafted);
  return check(-1, 0, 0, ALL);
}

static int test_tail(void)
{
  write_log(crafted);
  int r = check(0, 0, 0, "");
  r |= check(1, 0, 0, "2Ptrailing|");
  r |= check(2, 0, 0, "1Flast with  spaces|2Ptrailing|");
  r |= check(3, 0, 0, "1F|1Flast with  spaces|2Ptrailing|");
  r |= check(4, 0, 0, "1Ppart-a|1Fpart-b|1F|1Flast with  spaces|2Ptrailing|");
  r |= check(6, 0, 0, ALL);
  r |= check(100, 0, 0, ALL);
  return r;
}

static int test_since_until(void)
{
  write_log(crafted);
  int64_t base = 1700000000LL * 1000000000LL;
  int r = check(-1, base + 2200000000LL, 0, "1Fpart-b|1F|1Flast with  spaces|2Ptrailing|");
  r |= check(-1, 0, base + 1000000000LL, "1Fline1|2Fline2|");
  r |= check(-1, base + 1, base + 1000000000LL, "1Fline1|2Fline2|");
  r |= check(-1, base + 2, base + 1000000000LL, "2Fline2|");
  r |= check(2, base + 2200000000LL, 0, "1Flast with  spaces|2Ptrailing|");
  return r;
}

static int test_big_tail(void)
{
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  for (int i = 0; i < 20000; i++)
    mtk_strbuf_addf(&sb, "2023-11-14T22:13:20.%09dZ stdout %s %05d-xxxxxxxxxxxxxxxxxxxxxxxxxx\n", i,
                    i % 3 == 0 ? "P" : "F", i);
  write_log(sb.buf);
  mtk_strbuf_free(&sb);
  /* every third record is P: 19998 P + 19999 F make the last line, 19997
   * the one before */
  int r = check(1, 0, 0, "1P19998-xxxxxxxxxxxxxxxxxxxxxxxxxx|1F19999-xxxxxxxxxxxxxxxxxxxxxxxxxx|");
  r |= check(2, 0, 0,
             "1F19997-xxxxxxxxxxxxxxxxxxxxxxxxxx|1P19998-xxxxxxxxxxxxxxxxxxxxxxxxxx|"
             "1F19999-xxxxxxxxxxxxxxxxxxxxxxxxxx|");
  struct mtk_ctr_log_opts o = {.tail = 9000};
  struct got g = {MTK_STRBUF_INIT, 0, 0};
  struct mtk_ctr c = {.id = ID, .name = (char *) "t"};
  struct mtk_err *e = NULL;
  MTK_ASSERT_EQ(mtk_ctr_logs(root, runroot, &c, &o, collect, &g, &e), 0);
  /* 20000 records make 13333 lines (a P and the F after it are one); the
   * last 9000 lines start at line 4333, record 6500 (an F alone): 13500
   * records in all */
  MTK_ASSERT_EQ(g.n, 13500);
  MTK_ASSERT(strncmp(g.sb.buf, "1F06500-", 8) == 0);
  MTK_ASSERT_CONTAINS(g.sb.buf, "19999-");
  mtk_strbuf_free(&g.sb);
  return r;
}

static int test_stop(void)
{
  write_log(crafted);
  struct mtk_ctr_log_opts o = {.tail = -1};
  char *got = read_with(&o, 2);
  MTK_ASSERT_STREQ(got, "1Fline1|2Fline2|");
  free(got);
  return 0;
}

static int test_missing(void)
{
  char path[256];
  snprintf(path, sizeof(path), "%s/containers/%s/ctr.log", root, ID);
  unlink(path);
  return check(-1, 0, 0, "");
}

/* A "running" container whose PID 1 is a child that writes two records and
 * exits: follow reads both and returns once the process is gone. */
static int test_follow(void)
{
  write_log("2023-11-14T22:13:20.000000000Z stdout F before\n");
  char bundle[256], path[256];
  snprintf(bundle, sizeof(bundle), "%s/containers/%s", runroot, ID);
  struct mtk_err *e = NULL;
  MTK_ASSERT_EQ(mtk_ctr_mkdir_p(bundle, 0700, &e), 0);
  snprintf(path, sizeof(path), "%s/containers/%s/ctr.log", root, ID);
  pid_t child = fork();
  if (child == 0) {
    usleep(200000);
    FILE *f = fopen(path, "a");
    fputs("2023-11-14T22:13:21.000000000Z stdout P after-", f);
    fflush(f);
    usleep(100000);
    fputs("one\n2023-11-14T22:13:22.000000000Z stdout F two\n", f);
    fclose(f);
    usleep(200000);
    _exit(0);
  }
  json_t *cfg = json_pack("{s:s, s:s}", "Id", ID, "Name", "t");
  json_t *st = mtk_ctr_state_new();
  json_object_set_new(st, "Status", json_string("running"));
  json_object_set_new(st, "Running", json_true());
  json_object_set_new(st, "Pid", json_integer(child));
  json_object_set_new(st, "PidStart", json_integer((json_int_t) mtk_ctr_proc_start(child)));
  snprintf(path, sizeof(path), "%s/containers/%s/config", root, ID);
  MTK_ASSERT_EQ(mtk_ctr_write_json(path, cfg, &e), 0);
  snprintf(path, sizeof(path), "%s/containers/%s/state", root, ID);
  MTK_ASSERT_EQ(mtk_ctr_write_json(path, st, &e), 0);
  json_decref(cfg);
  json_decref(st);
  /* the child becomes a zombie when it exits: a zombie counts as gone */
  struct mtk_ctr_log_opts o = {.tail = -1, .follow = true};
  double t0 = mtk_ctr_now_sec();
  char *got = read_with(&o, 0);
  double took = mtk_ctr_now_sec() - t0;
  int status;
  waitpid(child, &status, 0);
  MTK_ASSERT_STREQ(got, "1Fbefore|1Pafter-one|1Ftwo|");
  free(got);
  MTK_ASSERT(took > 0.4 && took < 3.0);
  return 0;
}

int main(void)
{
  snprintf(root, sizeof(root), "/tmp/mtk-test-logs-%d", (int) getpid());
  snprintf(runroot, sizeof(runroot), "%s/run", root);
  static const struct mtk_test tests[] = {
      {"every record, bad lines and a half-written one skipped", test_all},
      {"--tail counts lines (P continues, F ends)", test_tail},
      {"--since and --until", test_since_until},
      {"--tail beyond the first chunk", test_big_tail},
      {"the callback stops the read", test_stop},
      {"no log yet", test_missing},
      {"--follow until PID 1 is gone", test_follow},
      {NULL, NULL},
  };
  int r = mtk_test_main(tests);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
  if (system(cmd) != 0)
    r = 1;
  return r;
}
