/* Unit tests for the pieces of the stop rule that need no container
 * (src/sup/stop.c): signal names as Docker accepts them in StopSignal, and
 * SigCgt of /proc/PID/status read for a process that catches the signal,
 * one that does not, one that ignores it, and a zombie. */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sup/internal.h"
#include "tap.h"

static int test_parse(void)
{
  MTK_ASSERT_EQ(mtk_sup_signal_parse("SIGTERM"), SIGTERM);
  MTK_ASSERT_EQ(mtk_sup_signal_parse("TERM"), SIGTERM);
  MTK_ASSERT_EQ(mtk_sup_signal_parse("sigquit"), SIGQUIT);
  MTK_ASSERT_EQ(mtk_sup_signal_parse("9"), SIGKILL);
  MTK_ASSERT_EQ(mtk_sup_signal_parse("SIGUSR1"), SIGUSR1);
  MTK_ASSERT_EQ(mtk_sup_signal_parse(""), 0);
  MTK_ASSERT_EQ(mtk_sup_signal_parse(NULL), 0);
  MTK_ASSERT_EQ(mtk_sup_signal_parse("0"), 0);
  MTK_ASSERT_EQ(mtk_sup_signal_parse("99"), 0);
  MTK_ASSERT_EQ(mtk_sup_signal_parse("SIGBOGUS"), 0);
  MTK_ASSERT_EQ(mtk_sup_signal_parse("15x"), 0);
  return 0;
}

static void on_term(int sig)
{
  (void) sig;
}

/* A child with `how` for SIGTERM, stopped in pause() once ready. */
static pid_t child(void (*how)(int))
{
  int p[2];
  if (pipe(p) < 0)
    abort();
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGTERM, how);
    if (write(p[1], "x", 1) != 1)
      _exit(1);
    for (;;)
      pause();
  }
  char c;
  if (read(p[0], &c, 1) != 1)
    abort();
  close(p[0]);
  close(p[1]);
  return pid;
}

static int test_caught(void)
{
  pid_t h = child(on_term), d = child(SIG_DFL), ign = child(SIG_IGN);
  MTK_ASSERT(mtk_sup_sig_caught(h, SIGTERM));
  MTK_ASSERT(!mtk_sup_sig_caught(h, SIGUSR1));
  MTK_ASSERT(!mtk_sup_sig_caught(d, SIGTERM));
  MTK_ASSERT(!mtk_sup_sig_caught(ign, SIGTERM)); /* ignored: dropped too */
  MTK_ASSERT(!mtk_sup_sig_caught(h, 0));
  MTK_ASSERT(!mtk_sup_sig_caught(h, 65));
  kill(h, SIGKILL);
  kill(d, SIGKILL);
  kill(ign, SIGKILL);
  /* a zombie catches nothing any more */
  siginfo_t si;
  waitid(P_PID, (id_t) h, &si, WEXITED | WNOWAIT);
  MTK_ASSERT(!mtk_sup_sig_caught(h, SIGTERM));
  int st;
  waitpid(h, &st, 0);
  waitpid(d, &st, 0);
  waitpid(ign, &st, 0);
  MTK_ASSERT(!mtk_sup_sig_caught(h, SIGTERM)); /* gone */
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"stop signal names", test_parse},
      {"SigCgt of PID 1", test_caught},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
