/* Small pieces the container commands share: Go's text/tabwriter as docker
 * sets it up, RFC 3339 times of the state file, Docker's status words
 * ("Up 3 seconds", "Exited (0) 5 seconds ago"), signal names and numbers
 * as docker's ParseSignal reads them, and the error printer of the verbs
 * that carry on after a failure. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "image/progress.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/signal.h"

void mtk_cli_tabwrite(FILE *out, char *const *lines, size_t n, size_t minwidth)
{
  enum { MAXCOL = 64 };
  size_t widths[MAXCOL] = {0};
  for (size_t i = 0; i < n; i++) {
    size_t col = 0, len = 0;
    for (const char *p = lines[i]; *p; p++) {
      if (*p == '\n') {
        col = len = 0;
      } else if (*p == '\t') {
        if (col < MAXCOL && len + 3 > widths[col])
          widths[col] = len + 3;
        col++;
        len = 0;
      } else if (((unsigned char) *p & 0xc0) != 0x80) {
        len++;
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    size_t col = 0, len = 0;
    for (const char *p = lines[i]; *p; p++) {
      if (*p == '\t') {
        size_t w = col < MAXCOL ? (widths[col] < minwidth ? minwidth : widths[col]) : len + 3;
        for (; len < w; len++)
          fputc(' ', out);
        col++;
        len = 0;
        continue;
      }
      fputc(*p, out);
      if (*p == '\n')
        col = len = 0;
      else if (((unsigned char) *p & 0xc0) != 0x80)
        len++;
    }
    fputc('\n', out);
  }
}

bool mtk_cli_time_parse(const char *s, int64_t *ns)
{
  struct tm tm = {0};
  int used = 0;
  *ns = 0;
  if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
    return false;
  if (tm.tm_year <= 1)
    return false; /* "0001-01-01T00:00:00Z": never */
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const char *p = s + used;
  int64_t frac = 0, scale = 1000000000;
  if (*p == '.')
    for (p++; isdigit((unsigned char) *p); p++)
      if (scale > 1)
        scale /= 10, frac += (*p - '0') * scale;
  int64_t off = 0;
  if (*p == '+' || *p == '-') {
    int hh = 0, mm = 0;
    if (sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2)
      off = (*p == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
  }
  *ns = ((int64_t) timegm(&tm) - off) * 1000000000 + frac;
  return true;
}

int64_t mtk_cli_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* go-units HumanDuration of now - t. */
static const char *since(const char *rfc3339, char buf[48])
{
  int64_t t = 0;
  mtk_cli_time_parse(rfc3339, &t);
  int64_t d = (mtk_cli_now_ns() - t) / 1000000000;
  return mtk_progress_human_duration(d, buf);
}

static const char *state_str(const struct mtk_ctr *c, const char *key)
{
  return json_string_value(json_object_get(c->state, key));
}

char *mtk_cli_ctr_status_text(const struct mtk_ctr *c)
{
  char buf[48];
  const char *status = mtk_ctr_status(c);
  long long code = (long long) json_integer_value(json_object_get(c->state, "ExitCode"));
  const char *health =
      json_string_value(json_object_get(json_object_get(c->state, "Health"), "Status"));
  if (strcmp(status, "paused") == 0)
    return mtk_xasprintf("Up %s (Paused)", since(state_str(c, "StartedAt"), buf));
  if (strcmp(status, "restarting") == 0)
    return mtk_xasprintf("Restarting (%lld) %s ago", code, since(state_str(c, "FinishedAt"), buf));
  if (strcmp(status, "running") == 0) {
    if (health && *health && strcmp(health, "none") != 0)
      return mtk_xasprintf("Up %s (%s)", since(state_str(c, "StartedAt"), buf),
                           strcmp(health, "starting") == 0 ? "health: starting" : health);
    return mtk_xasprintf("Up %s", since(state_str(c, "StartedAt"), buf));
  }
  if (strcmp(status, "dead") == 0)
    return mtk_xstrdup("Dead");
  int64_t t;
  if (strcmp(status, "created") == 0 || !mtk_cli_time_parse(state_str(c, "StartedAt"), &t))
    return mtk_xstrdup("Created");
  if (!mtk_cli_time_parse(state_str(c, "FinishedAt"), &t))
    return mtk_xstrdup("");
  return mtk_xasprintf("Exited (%lld) %s ago", code, since(state_str(c, "FinishedAt"), buf));
}

/* ---------------------------------------------------------------- signals */

int mtk_cli_signal_parse(const char *s, int *sig, struct mtk_err **err)
{
  if (!mtk_signal_parse(s, sig))
    return mtk_err_set(err, EINVAL, "invalid signal: %s", s);
  return 0;
}

const char *mtk_cli_signal_name(int sig, char buf[16])
{
  return mtk_signal_name(sig, buf);
}

/* -------------------------------------------------------------------- du */

/* moby's archive.ChangesSize over a whole directory: the apparent sizes of
 * everything but directories (what docker reports as SizeRw). */

static int64_t du_total;

static int du_add(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) path, (void) ftw;
  if (flag != FTW_D && flag != FTW_DP && flag != FTW_DNR)
    du_total += (int64_t) st->st_size;
  return 0;
}

int64_t mtk_cli_du(const char *path)
{
  du_total = 0;
  nftw(path, du_add, 16, FTW_PHYS | FTW_MOUNT);
  return du_total;
}

/* ----------------------------------------------------------------- errors */

void mtk_cli_print_err(const struct mtk_cli *cli, const struct mtk_err *err)
{
  bool color = cli && cli->color;
  mtk_autofree char *text = mtk_err_format(err);
  fflush(stdout);
  fprintf(stderr, "%smtk:%s %s\n", color ? "\033[1;31m" : "", color ? "\033[0m" : "", text);
  if (err->hint)
    fprintf(stderr, "%shint:%s %s\n", color ? "\033[1;33m" : "", color ? "\033[0m" : "", err->hint);
}
