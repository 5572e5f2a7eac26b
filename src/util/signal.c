/* Signal names and numbers (Docker's ParseSignal, moby/sys/signal). */
#include "config.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/signal.h"

static const struct {
  const char *name;
  int sig;
} signals[] = {
    {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD},
    {"CLD", SIGCHLD},  {"CONT", SIGCONT}, {"FPE", SIGFPE},       {"HUP", SIGHUP},
    {"ILL", SIGILL},   {"INT", SIGINT},   {"IO", SIGIO},         {"IOT", SIGIOT},
    {"KILL", SIGKILL}, {"PIPE", SIGPIPE}, {"POLL", SIGPOLL},     {"PROF", SIGPROF},
    {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
    {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
};

bool mtk_signal_parse(const char *s, int *sig)
{
  if (!s || !*s)
    return false;
  char *end;
  long v = strtol(s, &end, 10);
  if (!*end) {
    if (v <= 0 || v > SIGRTMAX)
      return false;
    *sig = (int) v;
    return true;
  }
  mtk_autofree char *up = mtk_xstrdup(s);
  for (char *p = up; *p; p++)
    *p = (char) toupper((unsigned char) *p);
  const char *n = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    if (strcmp(n, signals[i].name) == 0)
      return *sig = signals[i].sig, true;
  /* RTMIN, RTMIN+1..15, RTMAX-14..RTMAX-1, RTMAX */
  int k = 0, rv = 0;
  if (strcmp(n, "RTMIN") == 0)
    return *sig = SIGRTMIN, true;
  if (strcmp(n, "RTMAX") == 0)
    return *sig = SIGRTMAX, true;
  if (sscanf(n, "RTMIN+%d%n", &rv, &k) == 1 && !n[k] && rv >= 1 && rv <= 15)
    return *sig = SIGRTMIN + rv, true;
  if (sscanf(n, "RTMAX-%d%n", &rv, &k) == 1 && !n[k] && rv >= 1 && rv <= 14)
    return *sig = SIGRTMAX - rv, true;
  return false;
}

const char *mtk_signal_name(int sig, char buf[16])
{
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    if (signals[i].sig == sig && strcmp(signals[i].name, "CLD") != 0 &&
        strcmp(signals[i].name, "IOT") != 0 && strcmp(signals[i].name, "POLL") != 0) {
      snprintf(buf, 16, "SIG%s", signals[i].name);
      return buf;
    }
  snprintf(buf, 16, "signal %d", sig);
  return buf;
}
