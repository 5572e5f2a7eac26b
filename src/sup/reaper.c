/* The supervisor's single reaper (RUNTIME.md section 3, pitfalls 3 and 5):
 * SIGCHLD through one uv_signal handle, a waitpid(-1, WNOHANG) loop, a pid
 * -> callback table, and a bounded cache for the exits that come before
 * anyone watches them (a container that exits before its runtime does, an
 * exec'd process that exits before `exec --detach` returns, the runtime's
 * double-forked orphans). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "sup/internal.h"
#include "util/cleanup.h"

int mtk_sup_exit_code(int status)
{
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  return 255;
}

static struct mtk_sup_watch *find(struct mtk_sup_reaper *r, pid_t pid)
{
  for (size_t i = 0; i < r->n_w; i++)
    if (r->w[i].pid == pid)
      return &r->w[i];
  return NULL;
}

/* The SIGCHLD handle keeps the loop alive while someone waits for an exit. */
static void update_ref(struct mtk_sup_reaper *r)
{
  if (!r->sigchld.loop || uv_is_closing((uv_handle_t *) &r->sigchld))
    return;
  if (r->n_w)
    uv_ref((uv_handle_t *) &r->sigchld);
  else
    uv_unref((uv_handle_t *) &r->sigchld);
}

static void remove_at(struct mtk_sup_reaper *r, size_t i)
{
  r->w[i] = r->w[--r->n_w];
  update_ref(r);
}

static void cache_put(struct mtk_sup_reaper *r, pid_t pid, int status)
{
  size_t slot = (r->cache_head + r->cache_n) % MTK_SUP_REAPER_CACHE;
  if (r->cache_n == MTK_SUP_REAPER_CACHE)
    r->cache_head = (r->cache_head + 1) % MTK_SUP_REAPER_CACHE; /* drop the oldest */
  else
    r->cache_n++;
  r->cache[slot].pid = pid;
  r->cache[slot].status = status;
}

bool mtk_sup_reaper_take(struct mtk_sup_reaper *r, pid_t pid, int *status)
{
  for (size_t k = 0; k < r->cache_n; k++) {
    size_t i = (r->cache_head + k) % MTK_SUP_REAPER_CACHE;
    if (r->cache[i].pid != pid)
      continue;
    *status = r->cache[i].status;
    /* close the gap: move the later entries one slot back */
    for (size_t j = k + 1; j < r->cache_n; j++) {
      size_t from = (r->cache_head + j) % MTK_SUP_REAPER_CACHE;
      size_t to = (r->cache_head + j - 1) % MTK_SUP_REAPER_CACHE;
      r->cache[to] = r->cache[from];
    }
    r->cache_n--;
    return true;
  }
  return false;
}

/* Delivers the watches whose exit is known; a callback may watch or unwatch
 * others, so the table is searched again after each call. */
static void deliver_ready(struct mtk_sup_reaper *r)
{
  for (;;) {
    size_t i = 0;
    while (i < r->n_w && !r->w[i].ready)
      i++;
    if (i == r->n_w)
      return;
    struct mtk_sup_watch w = r->w[i];
    remove_at(r, i);
    w.cb(w.data, w.pid, w.status);
  }
}

void mtk_sup_reaper_reap(struct mtk_sup_reaper *r)
{
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR)
      continue;
    if (pid <= 0)
      break;
    struct mtk_sup_watch *w = find(r, pid);
    if (w) {
      w->ready = true;
      w->status = status;
    } else {
      cache_put(r, pid, status);
    }
  }
  deliver_ready(r);
}

static void on_sigchld(uv_signal_t *h, int signum)
{
  (void) signum;
  mtk_sup_reaper_reap(h->data);
}

static void on_replay(uv_timer_t *t)
{
  deliver_ready(t->data);
}

void mtk_sup_reaper_watch(struct mtk_sup_reaper *r, pid_t pid, mtk_sup_exit_fn cb, void *data)
{
  struct mtk_sup_watch *w = find(r, pid);
  if (!w) {
    if (r->n_w == r->cap_w) {
      r->cap_w = r->cap_w ? 2 * r->cap_w : 8;
      r->w = mtk_xrealloc(r->w, r->cap_w * sizeof(*r->w));
    }
    w = &r->w[r->n_w++];
  }
  *w = (struct mtk_sup_watch){.pid = pid, .cb = cb, .data = data};
  update_ref(r);
  if (mtk_sup_reaper_take(r, pid, &w->status)) {
    w->ready = true;
    uv_timer_start(&r->replay, on_replay, 0, 0);
  }
}

void mtk_sup_reaper_unwatch(struct mtk_sup_reaper *r, pid_t pid)
{
  for (size_t i = 0; i < r->n_w; i++) {
    if (r->w[i].pid != pid)
      continue;
    if (r->w[i].ready)
      cache_put(r, pid, r->w[i].status);
    remove_at(r, i);
    return;
  }
}

int mtk_sup_reaper_init(struct mtk_sup_reaper *r, uv_loop_t *loop, struct mtk_err **err)
{
  void (*closed)(struct mtk_sup_reaper *) = r->closed;
  memset(r, 0, sizeof(*r));
  r->closed = closed;
  int rc = uv_signal_init(loop, &r->sigchld);
  if (rc == 0) {
    r->handles++;
    r->sigchld.data = r;
    rc = uv_timer_init(loop, &r->replay);
  }
  if (rc == 0) {
    r->handles++;
    r->replay.data = r;
    rc = uv_signal_start(&r->sigchld, on_sigchld, SIGCHLD);
  }
  if (rc < 0)
    return mtk_err_set(err, -rc, "the SIGCHLD handler: %s", uv_strerror(rc));
  update_ref(r);
  mtk_sup_reaper_reap(r);
  return 0;
}

static void on_closed_all(struct mtk_sup_reaper *r)
{
  free(r->w);
  r->w = NULL;
  r->n_w = r->cap_w = 0;
  if (r->closed)
    r->closed(r);
}

static void on_closed(uv_handle_t *h)
{
  struct mtk_sup_reaper *r = h->data;
  if (--r->handles == 0)
    on_closed_all(r);
}

void mtk_sup_reaper_close(struct mtk_sup_reaper *r)
{
  if (r->handles == 0) {
    on_closed_all(r);
    return;
  }
  if (r->sigchld.loop) {
    uv_signal_stop(&r->sigchld);
    uv_close((uv_handle_t *) &r->sigchld, on_closed);
  }
  if (r->replay.loop)
    uv_close((uv_handle_t *) &r->replay, on_closed);
}
