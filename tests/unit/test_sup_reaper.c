/* Unit tests for the supervisor's reaper (src/sup/reaper.c) with plain
 * child processes: exits delivered through the SIGCHLD handle, exit codes
 * (128+N for a signal), the early-exit cache (an exit reaped before anyone
 * watched it is delivered later, from the loop), its bound, orphans
 * re-parented to us as child subreaper, and no zombie left behind. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sup/internal.h"
#include "tap.h"

struct seen {
  pid_t pid;
  int status;
  int calls;
};

static void on_exit_cb(void *data, pid_t pid, int status)
{
  struct seen *s = data;
  s->pid = pid;
  s->status = status;
  s->calls++;
}

static pid_t child(int code, int sleep_ms)
{
  pid_t p = fork();
  if (p == 0) {
    if (sleep_ms)
      usleep((useconds_t) sleep_ms * 1000);
    _exit(code);
  }
  return p;
}

/* Waits until pid is a zombie (exited, not reaped). */
static void wait_zombie(pid_t pid)
{
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  waitid(P_PID, (id_t) pid, &si, WEXITED | WNOWAIT);
}

static void closed_cb(struct mtk_sup_reaper *r)
{
  (void) r;
}

static int close_reaper(uv_loop_t *loop, struct mtk_sup_reaper *r)
{
  r->closed = closed_cb;
  mtk_sup_reaper_close(r);
  uv_run(loop, UV_RUN_DEFAULT);
  return uv_loop_close(loop);
}

static int test_exit_codes(void)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct mtk_sup_reaper r = {0};
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_sup_reaper_init(&r, &loop, &err), 0);
  struct seen a = {0}, b = {0};
  pid_t pa = child(3, 50);
  pid_t pb = fork();
  if (pb == 0) {
    pause();
    _exit(0);
  }
  mtk_sup_reaper_watch(&r, pa, on_exit_cb, &a);
  mtk_sup_reaper_watch(&r, pb, on_exit_cb, &b);
  kill(pb, SIGKILL);
  /* the watches alone keep the loop running until both exits came */
  uv_run(&loop, UV_RUN_DEFAULT);
  MTK_ASSERT_EQ(a.calls, 1);
  MTK_ASSERT_EQ(a.pid, pa);
  MTK_ASSERT_EQ(mtk_sup_exit_code(a.status), 3);
  MTK_ASSERT_EQ(b.calls, 1);
  MTK_ASSERT_EQ(mtk_sup_exit_code(b.status), 128 + SIGKILL);
  MTK_ASSERT_EQ(r.n_w, 0);
  MTK_ASSERT_EQ(close_reaper(&loop, &r), 0);
  MTK_ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1); /* ECHILD: no zombie left */
  return 0;
}

static int test_early_exit(void)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct mtk_sup_reaper r = {0};
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_sup_reaper_init(&r, &loop, &err), 0);
  pid_t p = child(7, 0);
  wait_zombie(p);
  mtk_sup_reaper_reap(&r); /* reaped before anyone watches it: cached */
  MTK_ASSERT_EQ(r.cache_n, 1);
  struct seen s = {0};
  mtk_sup_reaper_watch(&r, p, on_exit_cb, &s);
  MTK_ASSERT_EQ(s.calls, 0); /* never from inside watch() */
  MTK_ASSERT_EQ(r.cache_n, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  MTK_ASSERT_EQ(s.calls, 1);
  MTK_ASSERT_EQ(s.pid, p);
  MTK_ASSERT_EQ(mtk_sup_exit_code(s.status), 7);
  /* unwatched again: an exit goes back to the cache and can be taken */
  pid_t q = child(9, 0);
  mtk_sup_reaper_watch(&r, q, on_exit_cb, &s);
  mtk_sup_reaper_unwatch(&r, q);
  wait_zombie(q);
  mtk_sup_reaper_reap(&r);
  MTK_ASSERT_EQ(s.calls, 1);
  int status = 0;
  MTK_ASSERT(mtk_sup_reaper_take(&r, q, &status));
  MTK_ASSERT_EQ(mtk_sup_exit_code(status), 9);
  MTK_ASSERT(!mtk_sup_reaper_take(&r, q, &status));
  MTK_ASSERT_EQ(close_reaper(&loop, &r), 0);
  return 0;
}

static int test_cache_bound(void)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct mtk_sup_reaper r = {0};
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_sup_reaper_init(&r, &loop, &err), 0);
  enum { N = MTK_SUP_REAPER_CACHE + 6 };
  pid_t pids[N];
  for (int i = 0; i < N; i++) {
    pids[i] = child(i % 100, 0);
    wait_zombie(pids[i]);
    mtk_sup_reaper_reap(&r); /* one at a time: the order of the ring is known */
  }
  MTK_ASSERT_EQ(r.cache_n, MTK_SUP_REAPER_CACHE);
  int status;
  /* the oldest were dropped, the newest kept, each with its own status */
  MTK_ASSERT(!mtk_sup_reaper_take(&r, pids[0], &status));
  MTK_ASSERT(!mtk_sup_reaper_take(&r, pids[5], &status));
  MTK_ASSERT(mtk_sup_reaper_take(&r, pids[6], &status));
  MTK_ASSERT_EQ(mtk_sup_exit_code(status), 6);
  MTK_ASSERT(mtk_sup_reaper_take(&r, pids[N - 1], &status));
  MTK_ASSERT_EQ(mtk_sup_exit_code(status), (N - 1) % 100);
  /* taking from the middle keeps the others */
  MTK_ASSERT(mtk_sup_reaper_take(&r, pids[30], &status));
  MTK_ASSERT_EQ(mtk_sup_exit_code(status), 30);
  MTK_ASSERT(mtk_sup_reaper_take(&r, pids[31], &status));
  MTK_ASSERT_EQ(mtk_sup_exit_code(status), 31);
  MTK_ASSERT_EQ(r.cache_n, MTK_SUP_REAPER_CACHE - 4);
  MTK_ASSERT_EQ(close_reaper(&loop, &r), 0);
  return 0;
}

/* A child that double-forks as the runtime does: the grandchild is
 * re-parented to us (child subreaper) and reaped by the same reaper, even
 * when it exits before we learn its PID. */
static int test_orphan(void)
{
  MTK_ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct mtk_sup_reaper r = {0};
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_sup_reaper_init(&r, &loop, &err), 0);
  int p[2];
  MTK_ASSERT_EQ(pipe(p), 0);
  pid_t mid = fork();
  if (mid == 0) {
    pid_t g = fork();
    if (g == 0)
      _exit(42); /* exits at once: before the parent reports it */
    if (write(p[1], &g, sizeof(g)) != sizeof(g))
      _exit(1);
    _exit(0);
  }
  close(p[1]);
  pid_t g = 0;
  MTK_ASSERT_EQ(read(p[0], &g, sizeof(g)), (ssize_t) sizeof(g));
  close(p[0]);
  struct seen sm = {0}, sg = {0};
  mtk_sup_reaper_watch(&r, mid, on_exit_cb, &sm);
  uv_run(&loop, UV_RUN_DEFAULT);
  MTK_ASSERT_EQ(sm.calls, 1);
  MTK_ASSERT_EQ(mtk_sup_exit_code(sm.status), 0);
  /* the grandchild: ours now, reaped already or soon */
  mtk_sup_reaper_watch(&r, g, on_exit_cb, &sg);
  uv_run(&loop, UV_RUN_DEFAULT);
  MTK_ASSERT_EQ(sg.calls, 1);
  MTK_ASSERT_EQ(sg.pid, g);
  MTK_ASSERT_EQ(mtk_sup_exit_code(sg.status), 42);
  MTK_ASSERT_EQ(close_reaper(&loop, &r), 0);
  MTK_ASSERT_EQ(waitpid(-1, NULL, WNOHANG), -1);
  prctl(PR_SET_CHILD_SUBREAPER, 0);
  return 0;
}

/* A callback that watches another child from inside the dispatch. */
struct chain {
  struct mtk_sup_reaper *r;
  struct seen second;
  int first_calls;
};

static void on_first(void *data, pid_t pid, int status)
{
  struct chain *c = data;
  c->first_calls++;
  mtk_sup_reaper_watch(c->r, child(5, 20), on_exit_cb, &c->second);
}

static int test_watch_from_callback(void)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct mtk_sup_reaper r = {0};
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_sup_reaper_init(&r, &loop, &err), 0);
  struct chain c = {.r = &r};
  mtk_sup_reaper_watch(&r, child(4, 10), on_first, &c);
  uv_run(&loop, UV_RUN_DEFAULT);
  MTK_ASSERT_EQ(c.first_calls, 1);
  MTK_ASSERT_EQ(c.second.calls, 1);
  MTK_ASSERT_EQ(mtk_sup_exit_code(c.second.status), 5);
  MTK_ASSERT_EQ(close_reaper(&loop, &r), 0);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"exit codes through SIGCHLD", test_exit_codes},
      {"early exits cached and replayed", test_early_exit},
      {"the cache is bounded", test_cache_bound},
      {"orphans of a double fork", test_orphan},
      {"watching from a callback", test_watch_from_callback},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
