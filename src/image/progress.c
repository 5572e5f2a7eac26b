/* The progress display of pull, push and load (see progress.h).  On a
 * terminal every row keeps the line it was first printed on; an update moves
 * the cursor up to it, clears it, rewrites it and moves back down, as
 * docker's jsonmessage does.  Byte updates are redrawn at most every 100 ms
 * per row (a fast loopback registry would otherwise write megabytes of
 * escape sequences).  Lines are cut to the terminal width: a wrapped line
 * would break the cursor arithmetic. */
#include "config.h"

#include "image/progress.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "util/strbuf.h"

#define REDRAW_INTERVAL 0.1

struct row {
  char *id;                      /* owned */
  enum mtk_progress_state state; /* current state */
  int64_t done, total;           /* bytes */
  char *detail;                  /* owned: or NULL */
  size_t line;                   /* line index since the renderer started (TTY) */
  double started;                /* when the current byte-counting state began */
  double drawn;                  /* when the row was last drawn */
};

struct mtk_progress {
  FILE *out;          /* borrowed */
  bool tty;           /* redraw in place */
  pthread_mutex_t mu; /* one writer at a time */
  struct row *rows;   /* owned */
  size_t n_rows;
  size_t lines; /* lines printed so far (TTY) */
};

static const char *const state_texts[] = {
    [MTK_PROGRESS_PULLING_FS] = "Pulling fs layer",
    [MTK_PROGRESS_WAITING] = "Waiting",
    [MTK_PROGRESS_DOWNLOADING] = "Downloading",
    [MTK_PROGRESS_VERIFYING] = "Verifying Checksum",
    [MTK_PROGRESS_DOWNLOADED] = "Download complete",
    [MTK_PROGRESS_EXTRACTING] = "Extracting",
    [MTK_PROGRESS_PULL_COMPLETE] = "Pull complete",
    [MTK_PROGRESS_EXISTS] = "Already exists",
    [MTK_PROGRESS_PREPARING] = "Preparing",
    [MTK_PROGRESS_PUSHING] = "Pushing",
    [MTK_PROGRESS_PUSHED] = "Pushed",
    [MTK_PROGRESS_LAYER_EXISTS] = "Layer already exists",
    [MTK_PROGRESS_MOUNTED] = "Mounted from",
    [MTK_PROGRESS_LOADING] = "Loading layer",
    [MTK_PROGRESS_LOADED] = "Loading layer",
    [MTK_PROGRESS_FAILED] = "Failed",
};

const char *mtk_progress_state_text(enum mtk_progress_state state)
{
  if ((size_t) state >= sizeof(state_texts) / sizeof(state_texts[0]))
    return "";
  return state_texts[state];
}

static bool is_final(enum mtk_progress_state s)
{
  return s == MTK_PROGRESS_PULL_COMPLETE || s == MTK_PROGRESS_EXISTS || s == MTK_PROGRESS_PUSHED ||
         s == MTK_PROGRESS_LAYER_EXISTS || s == MTK_PROGRESS_MOUNTED || s == MTK_PROGRESS_LOADED ||
         s == MTK_PROGRESS_FAILED;
}

static bool has_bar(enum mtk_progress_state s)
{
  return s == MTK_PROGRESS_DOWNLOADING || s == MTK_PROGRESS_PUSHING || s == MTK_PROGRESS_LOADING;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* ----------------------------------------------------------- go-units */

const char *mtk_progress_human_size(double bytes, int precision, char buf[32])
{
  static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  size_t i = 0;
  while (bytes >= 1000.0 && i < sizeof(units) / sizeof(units[0]) - 1) {
    bytes /= 1000.0;
    i++;
  }
  /* C's %g and Go's %g agree here: shortest of %e/%f, trailing zeros dropped. */
  snprintf(buf, 32, "%.*g%s", precision, bytes, units[i]);
  return buf;
}

const char *mtk_progress_human_duration(int64_t seconds, char buf[48])
{
  int64_t hours = (seconds + 1800) / 3600; /* int(d.Hours() + 0.5) */
  if (seconds < 1)
    snprintf(buf, 48, "Less than a second");
  else if (seconds == 1)
    snprintf(buf, 48, "1 second");
  else if (seconds < 60)
    snprintf(buf, 48, "%lld seconds", (long long) seconds);
  else if (seconds / 60 == 1)
    snprintf(buf, 48, "About a minute");
  else if (seconds / 60 < 60)
    snprintf(buf, 48, "%lld minutes", (long long) (seconds / 60));
  else if (hours == 1)
    snprintf(buf, 48, "About an hour");
  else if (hours < 48)
    snprintf(buf, 48, "%lld hours", (long long) hours);
  else if (hours < 24 * 7 * 2)
    snprintf(buf, 48, "%lld days", (long long) (hours / 24));
  else if (hours < 24 * 30 * 2)
    snprintf(buf, 48, "%lld weeks", (long long) (hours / 24 / 7));
  else if (hours < 24 * 365 * 2)
    snprintf(buf, 48, "%lld months", (long long) (hours / 24 / 30));
  else
    snprintf(buf, 48, "%lld years", (long long) (seconds / 3600 / 24 / 365));
  return buf;
}

/* ----------------------------------------------------------- rendering */

static int term_width(FILE *out)
{
  struct winsize ws;
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  return 80;
}

/* "[=====>      ]  1.2MB/3.4MB  8.1MB/s", sized for the terminal. */
static void format_bar(struct mtk_strbuf *sb, const struct row *r, int width, double now)
{
  char cur[32], tot[32], spd[32];
  if (r->total > 0) {
    int pct = (int) ((double) r->done / (double) r->total * 100.0) / 2;
    if (pct > 50)
      pct = 50;
    int bar = width > 110 ? 50 : width > 80 ? 25 : 0;
    if (bar > 0) {
      int fill = pct * bar / 50;
      mtk_strbuf_addc(sb, '[');
      for (int i = 0; i < bar; i++)
        mtk_strbuf_addc(sb, i < fill ? '=' : i == fill ? '>' : ' ');
      mtk_strbuf_adds(sb, "] ");
    }
    mtk_progress_human_size((double) r->done, 4, cur);
    mtk_progress_human_size((double) r->total, 4, tot);
    mtk_strbuf_addf(sb, "%8s/%s", cur, tot);
  } else if (r->done > 0) {
    mtk_strbuf_addf(sb, "%8s", mtk_progress_human_size((double) r->done, 4, cur));
  }
  double el = now - r->started;
  if (el > 0.2 && r->done > 0)
    mtk_strbuf_addf(sb, "  %s/s", mtk_progress_human_size((double) r->done / el, 3, spd));
}

static void format_row(struct mtk_strbuf *sb, const struct row *r, int width, double now)
{
  mtk_strbuf_addf(sb, "%s: ", r->id);
  if (r->state == MTK_PROGRESS_FAILED && r->detail) {
    mtk_strbuf_adds(sb, r->detail);
    return;
  }
  mtk_strbuf_adds(sb, mtk_progress_state_text(r->state));
  if (r->state == MTK_PROGRESS_MOUNTED && r->detail)
    mtk_strbuf_addf(sb, " %s", r->detail);
  if (has_bar(r->state) && width > 0) {
    mtk_strbuf_addc(sb, ' ');
    format_bar(sb, r, width, now);
  } else if (r->state == MTK_PROGRESS_EXTRACTING && width > 0 && now - r->started >= 1.0) {
    mtk_strbuf_addf(sb, " %ds", (int) (now - r->started));
  }
}

/* Rewrites row r in place (TTY). */
static void redraw(struct mtk_progress *p, struct row *r, double now)
{
  int width = term_width(p->out);
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  format_row(&sb, r, width, now);
  if (sb.len >= (size_t) width)
    sb.buf[width - 1] = '\0';
  size_t up = p->lines - r->line;
  fprintf(p->out, "\033[%zuA\r\033[2K%s\r\033[%zuB", up, sb.buf, up);
  r->drawn = now;
}

static struct row *find_row(struct mtk_progress *p, const char *id)
{
  for (size_t i = 0; i < p->n_rows; i++)
    if (strcmp(p->rows[i].id, id) == 0)
      return &p->rows[i];
  return NULL;
}

static struct row *add_row(struct mtk_progress *p, const char *id)
{
  p->rows = mtk_xrealloc(p->rows, (p->n_rows + 1) * sizeof(*p->rows));
  struct row *r = &p->rows[p->n_rows++];
  memset(r, 0, sizeof(*r));
  r->id = mtk_xstrdup(id);
  r->state = (enum mtk_progress_state) - 1;
  if (p->tty) {
    r->line = p->lines++;
    fputc('\n', p->out);
  }
  return r;
}

/* ----------------------------------------------------------- public */

struct mtk_progress *mtk_progress_new(FILE *out, bool tty)
{
  struct mtk_progress *p = mtk_xcalloc(1, sizeof(*p));
  p->out = out;
  p->tty = tty;
  pthread_mutex_init(&p->mu, NULL);
  return p;
}

void mtk_progress_free(struct mtk_progress *p)
{
  if (!p)
    return;
  if (p->tty) {
    /* Rows whose last byte update was throttled get their final text. */
    double now = now_s();
    for (size_t i = 0; i < p->n_rows; i++)
      redraw(p, &p->rows[i], now);
  }
  fflush(p->out);
  for (size_t i = 0; i < p->n_rows; i++) {
    free(p->rows[i].id);
    free(p->rows[i].detail);
  }
  free(p->rows);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

void mtk_progress_line(struct mtk_progress *p, const char *fmt, ...)
{
  if (!p)
    return;
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&p->mu);
  vfprintf(p->out, fmt, ap);
  fputc('\n', p->out);
  if (p->tty)
    p->lines++;
  fflush(p->out);
  pthread_mutex_unlock(&p->mu);
  va_end(ap);
}

void mtk_progress_update(struct mtk_progress *p, const char *id, enum mtk_progress_state state,
                         int64_t done, int64_t total, const char *detail)
{
  if (!p)
    return;
  pthread_mutex_lock(&p->mu);
  double now = now_s();
  struct row *r = find_row(p, id);
  if (!r)
    r = add_row(p, id);
  bool changed = r->state != state;
  if (changed) {
    r->started = now;
    free(r->detail);
    r->detail = detail ? mtk_xstrdup(detail) : NULL;
  }
  r->state = state;
  r->done = done;
  r->total = total;
  if (p->tty) {
    if (changed || now - r->drawn >= REDRAW_INTERVAL || (total > 0 && done == total))
      redraw(p, r, now);
  } else if (changed && is_final(state)) {
    mtk_autostrbuf sb = MTK_STRBUF_INIT;
    format_row(&sb, r, 0, now);
    fprintf(p->out, "%s\n", sb.buf);
  }
  fflush(p->out);
  pthread_mutex_unlock(&p->mu);
}
