/* mtk-init: the tiny init of `mtk container run --init` (Docker's docker-init,
 * i.e. tini, in mtk's terms).  A static executable of its own, bind-mounted
 * read-only at /sbin/docker-init (MTK_OCI_INIT_PATH) and run as the
 * container's PID 1:
 *
 *   mtk-init [-g] [--] COMMAND [ARG...]
 *
 * It forks COMMAND (looked up in PATH) in a process group of its own, makes
 * that group the terminal's foreground group when stdin is a terminal,
 * forwards every signal it receives to the command, reaps every process that
 * ends up as its child (zombies of orphans), and exits with the command's
 * status (128+N when a signal N killed it) as soon as the command is gone.
 *
 * Signals go to the command's process only, as docker-init (tini without -g)
 * does: on a terminal the kernel already delivers ^C & co. to the whole
 * foreground group, and a shell that runs jobs decides itself what its jobs
 * get.  `-g` sends them to the command's process group instead.  Not
 * forwarded: SIGCHLD (ours), SIGKILL/SIGSTOP (cannot be caught), the signals
 * a fault raises (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT:
 * left at their default action) and SIGTTIN/SIGTTOU (ignored, as tini).
 *
 * Design: every other signal is blocked and taken with sigwaitinfo() in one
 * loop, so nothing runs in a signal handler and no signal is lost between
 * fork and wait.  The forwarded signals also get a handler that never runs
 * (they stay blocked): it makes them show in SigCgt of /proc/1/status, so a
 * supervisor that checks SigCgt before `stop` sees that SIGTERM is handled.
 * When not PID 1 (tests, `docker run` without a PID namespace) it makes
 * itself a child subreaper so that orphans still come to it.
 *
 * Errors: COMMAND not found -> "mtk-init: exec COMMAND: No such file or
 * directory", exit 127; found but not executable -> exit 126; bad usage or
 * fork failure -> exit 1.  No stdio: messages go straight to fd 2. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Signals a fault raises synchronously: never blocked (blocking them would
 * hide a crash of mtk-init itself). */
static const int sync_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT};

static struct sigaction saved_ttin, saved_ttou;
static sigset_t saved_mask;

/* Writes the strings (NULL-terminated list) and a newline to stderr. */
static void say(const char *first, ...)
{
  struct iovec iov[8];
  int n = 0;
  va_list ap;
  va_start(ap, first);
  for (const char *s = first; s && n < 7; s = va_arg(ap, const char *))
    iov[n++] = (struct iovec){.iov_base = (void *) s, .iov_len = strlen(s)};
  va_end(ap);
  iov[n++] = (struct iovec){.iov_base = "\n", .iov_len = 1};
  ssize_t r = writev(STDERR_FILENO, iov, n);
  (void) r;
}

static void unused_handler(int sig)
{
  (void) sig;
}

static bool is_sync(int sig)
{
  for (size_t i = 0; i < sizeof sync_signals / sizeof sync_signals[0]; i++)
    if (sync_signals[i] == sig)
      return true;
  return false;
}

/* Blocks everything but the fault signals (the set sigwaitinfo() takes),
 * ignores SIGTTIN/SIGTTOU, and installs the never-run handler on the rest. */
static void setup_signals(sigset_t *waitset)
{
  sigfillset(waitset);
  for (size_t i = 0; i < sizeof sync_signals / sizeof sync_signals[0]; i++)
    sigdelset(waitset, sync_signals[i]);
  sigprocmask(SIG_SETMASK, waitset, &saved_mask);

  struct sigaction ign = {.sa_handler = SIG_IGN};
  sigaction(SIGTTIN, &ign, &saved_ttin);
  sigaction(SIGTTOU, &ign, &saved_ttou);
  /* A SIGCHLD ignored by whoever started us would make the kernel reap our
   * children itself (and waitpid fail): catching it undoes that too. */
  struct sigaction act = {.sa_handler = unused_handler, .sa_flags = SA_RESTART};
  sigfillset(&act.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP || sig == SIGTTIN || sig == SIGTTOU || is_sync(sig))
      continue;
    sigaction(sig, &act, NULL); /* glibc's internal signals fail with EINVAL: fine */
  }
}

/* In the forked child: own process group, terminal's foreground, the signal
 * state mtk-init was started with, then exec.  Never returns. */
static void exec_child(char **argv)
{
  setpgid(0, 0);
  /* Signals are still blocked here, so tcsetpgrp from what is now a
   * background group is not stopped by SIGTTOU. */
  if (isatty(STDIN_FILENO) && tcsetpgrp(STDIN_FILENO, getpgrp()) < 0 && errno != ENOTTY &&
      errno != ENXIO)
    say("mtk-init: warning: cannot make the command the terminal's foreground: ", strerror(errno),
        NULL);
  sigaction(SIGTTIN, &saved_ttin, NULL);
  sigaction(SIGTTOU, &saved_ttou, NULL);
  sigprocmask(SIG_SETMASK, &saved_mask, NULL); /* caught signals reset to default at exec */
  execvp(argv[0], argv);
  int e = errno;
  say("mtk-init: exec ", argv[0], ": ", strerror(e), NULL);
  _exit(e == ENOENT ? 127 : 126);
}

/* Reaps every child that has ended; records the command's status.  Returns
 * true once the command is gone. */
static bool reap(pid_t child, int *status)
{
  bool done = false;
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p <= 0) {
      if (p < 0 && errno == EINTR)
        continue;
      return done;
    }
    if (p == child) {
      *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      done = true;
    }
  }
}

static int supervise(pid_t child, const sigset_t *waitset, bool group)
{
  int status = 1;
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(waitset, &si);
    if (sig < 0) {
      if (errno != EINTR)
        say("mtk-init: sigwaitinfo: ", strerror(errno), NULL);
      continue;
    }
    if (sig != SIGCHLD) {
      if (kill(group ? -child : child, sig) < 0 && errno != ESRCH)
        say("mtk-init: forwarding a signal: ", strerror(errno), NULL);
      continue;
    }
    if (reap(child, &status))
      return status;
  }
}

int main(int argc, char **argv)
{
  bool group = false;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    } else if (strcmp(argv[i], "-g") == 0) {
      group = true;
    } else {
      say("mtk-init: unknown option ", argv[i], NULL);
      say("usage: mtk-init [-g] [--] COMMAND [ARG...]", NULL);
      return 1;
    }
  }
  if (i >= argc) {
    say("usage: mtk-init [-g] [--] COMMAND [ARG...]", NULL);
    return 1;
  }
  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    say("mtk-init: warning: cannot become a child subreaper: ", strerror(errno), NULL);

  sigset_t waitset;
  setup_signals(&waitset);
  pid_t child = fork();
  if (child < 0) {
    say("mtk-init: fork: ", strerror(errno), NULL);
    return 1;
  }
  if (child == 0)
    exec_child(argv + i);
  setpgid(child, child); /* also here, so that -g works before the child ran */
  return supervise(child, &waitset, group);
}
