/* Stopping a supervised container with the rule of issue 4: the stop
 * signal, then SigCgt of its PID 1 read right after sending; the kernel
 * drops a signal a PID-namespace init does not catch, so SIGKILL then goes
 * at once (waiting cannot change the outcome), else after the grace
 * period.  The exit is recorded by the normal exit path; the callbacks run
 * after that. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sup/internal.h"
#include "util/cleanup.h"

int mtk_sup_signal_parse(const char *s)
{
  if (!s || !*s)
    return 0;
  char *end;
  long n = strtol(s, &end, 10);
  if (*end == 0)
    return n > 0 && n < NSIG ? (int) n : 0;
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  for (int sig = 1; sig < NSIG; sig++) {
    const char *name = sigabbrev_np(sig);
    if (name && strcasecmp(name, s) == 0)
      return sig;
  }
  return 0;
}

bool mtk_sup_sig_caught(pid_t pid, int sig)
{
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
  mtk_autofclose FILE *f = fopen(path, "re");
  if (!f)
    return false;
  uint64_t mask = 0;
  bool zombie = false;
  while (fgets(line, sizeof(line), f)) {
    if (strncmp(line, "State:", 6) == 0 && strchr(line, 'Z'))
      zombie = true;
    if (sscanf(line, "SigCgt: %" SCNx64, &mask) == 1)
      break;
  }
  return !zombie && sig >= 1 && sig <= 64 && (mask & (UINT64_C(1) << (sig - 1)));
}

void mtk_sup_stop_done(struct mtk_sup_ctr *c, int exit_code)
{
  /* a callback may stop again: take the list first */
  struct mtk_sup_stop_wait *w = c->waits;
  size_t n = c->n_waits;
  c->waits = NULL;
  c->n_waits = 0;
  for (size_t i = 0; i < n; i++)
    w[i].done(w[i].data, c->id, exit_code, c->stop_not_caught, c->stop_killed);
  free(w);
}

static void on_grace_over(uv_timer_t *t)
{
  struct mtk_sup_ctr *c = t->data;
  if (mtk_sup_ctr_signal(c, SIGKILL) == 0)
    c->stop_killed = true;
}

/* Not running (exited, or waiting for a restart that is now cancelled):
 * the callbacks run from the loop with the recorded exit code. */
static void on_already_stopped(uv_timer_t *t)
{
  struct mtk_sup_ctr *c = t->data;
  mtk_sup_stop_done(c, (int) json_integer_value(json_object_get(c->ctr->state, "ExitCode")));
}

static void add_wait(struct mtk_sup_ctr *c, mtk_sup_done_cb done, void *data)
{
  if (!done)
    return;
  c->waits = mtk_xrealloc(c->waits, (c->n_waits + 1) * sizeof(*c->waits));
  c->waits[c->n_waits++] = (struct mtk_sup_stop_wait){done, data};
}

/* The signal and grace period from the arguments or the container config. */
static void stop_params(struct mtk_sup_ctr *c, int *sig, int *timeout)
{
  json_t *cfg = json_object_get(c->ctr->config, "Config");
  if (*sig <= 0)
    *sig = mtk_sup_signal_parse(json_string_value(json_object_get(cfg, "StopSignal")));
  if (*sig <= 0)
    *sig = SIGTERM;
  if (*timeout < 0) {
    json_t *t = json_object_get(cfg, "StopTimeout");
    *timeout = json_is_integer(t) ? (int) json_integer_value(t) : MTK_CTR_STOP_TIMEOUT;
  }
}

int mtk_sup_stop(struct mtk_sup *s, const char *id, int sig, int timeout, mtk_sup_done_cb done,
                 void *data, struct mtk_err **err)
{
  struct mtk_sup_ctr *c = mtk_sup_find(s, id);
  if (!c || c->gone)
    return mtk_err_set(err, ENOENT, "container %.12s is not supervised here", id);
  c->manual_stop = true;
  add_wait(c, done, data);
  if (c->phase == MTK_SUP_DRAINING)
    return 0; /* exiting already: the callbacks run once recorded */
  if (c->phase != MTK_SUP_RUNNING) {
    uv_timer_stop(&c->restart_timer);
    if (c->phase == MTK_SUP_RESTARTING) {
      json_t *st = c->ctr->state;
      json_object_set_new(st, "Status", json_string("exited"));
      json_object_set_new(st, "Restarting", json_false());
      json_object_set_new(st, "ManualStop", json_true());
      mtk_sup_ctr_save(c);
    }
    c->phase = MTK_SUP_IDLE;
    uv_timer_start(&c->stop_timer, on_already_stopped, 0, 0);
    return 0;
  }
  json_object_set_new(c->ctr->state, "ManualStop", json_true());
  mtk_sup_ctr_save(c);
  stop_params(c, &sig, &timeout);
  c->stop_killed = sig == SIGKILL;
  c->stop_not_caught = false;
  int rc = mtk_sup_ctr_signal(c, sig);
  if (rc < 0)
    return mtk_err_set(err, -rc, "sending signal %d to container %.12s: %s", sig, id,
                       strerror(-rc));
  if (sig == SIGKILL)
    return 0;
  if (!mtk_sup_sig_caught(c->pid, sig)) {
    c->stop_not_caught = true;
    if (mtk_sup_ctr_signal(c, SIGKILL) == 0)
      c->stop_killed = true;
    return 0;
  }
  uv_timer_start(&c->stop_timer, on_grace_over, (uint64_t) timeout * 1000, 0);
  return 0;
}
