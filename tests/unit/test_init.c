/* mtk-init (src/init/init.c) run directly as a child of this test, outside
 * any container: exit statuses (the command's, 128+N, 127, 126), signal
 * forwarding (to the command, or to its group with -g), reaping of orphans
 * (mtk-init is a child subreaper when not PID 1), the terminal's foreground
 * group; and mtk_runtime_init_path() (src/runtime/init_path.c).  The built
 * mtk-init's path comes from tests/CMakeLists.txt (MTK_INIT_BINARY).  This
 * test is itself a child subreaper, so that nothing it starts can escape. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/init_path.h"
#include "tap.h"
#include "util/cleanup.h"

#ifndef MTK_INIT_BINARY
#error "MTK_INIT_BINARY (path of the built mtk-init) must be defined"
#endif

struct proc {
  pid_t pid;
  int out; /* read end of the child's stdout */
  int err; /* read end of the child's stderr */
};

static char **argv_of(const char *const *args)
{
  size_t n = 0;
  while (args[n])
    n++;
  char **v = mtk_xcalloc(n + 2, sizeof *v);
  v[0] = (char *) MTK_INIT_BINARY;
  for (size_t i = 0; i < n; i++)
    v[i + 1] = (char *) args[i];
  return v;
}

/* Starts mtk-init with args (NULL-terminated), stdin /dev/null. */
static int start(struct proc *p, const char *const *args)
{
  int o[2], e[2];
  if (pipe2(o, O_CLOEXEC) < 0 || pipe2(e, O_CLOEXEC) < 0)
    return -1;
  mtk_autofree char **v = argv_of(args);
  p->pid = fork();
  if (p->pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(o[1], 1);
    dup2(e[1], 2);
    execv(v[0], v);
    _exit(99);
  }
  close(o[1]);
  close(e[1]);
  p->out = o[0];
  p->err = e[0];
  return p->pid > 0 ? 0 : -1;
}

/* One line (without '\n') from fd within timeout_ms, into buf; -1 on timeout or EOF. */
static int read_line(int fd, char *buf, size_t size, int timeout_ms)
{
  size_t n = 0;
  while (n + 1 < size) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) <= 0)
      return -1;
    if (read(fd, buf + n, 1) != 1)
      return -1;
    if (buf[n] == '\n')
      break;
    n++;
  }
  buf[n] = '\0';
  return 0;
}

/* The exit status of pid (as mtk-init reports it: 128+N for signal N), or
 * -1 after killing it when it has not ended within timeout_ms. */
static int wait_status(pid_t pid, int timeout_ms)
{
  for (int waited = 0;; waited += 10) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (r < 0 || waited >= timeout_ms) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      return -1;
    }
    usleep(10000);
  }
}

/* Reaps whatever came to us as the subreaper (strays of a failed test). */
static void reap_strays(void)
{
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
}

static int finish(struct proc *p, char *errbuf, size_t size)
{
  int st = wait_status(p->pid, 5000);
  ssize_t n = errbuf ? read(p->err, errbuf, size - 1) : 0;
  if (errbuf)
    errbuf[n > 0 ? n : 0] = '\0';
  close(p->out);
  close(p->err);
  reap_strays();
  return st;
}

/* Runs mtk-init with args to the end; its status, its stderr in errbuf. */
static int run(const char *const *args, char *errbuf, size_t size)
{
  struct proc p;
  if (start(&p, args) < 0)
    return -2;
  return finish(&p, errbuf, size);
}

static int test_exit_status(void)
{
  MTK_ASSERT_EQ(run((const char *[]){"--", "sh", "-c", "exit 5", NULL}, NULL, 0), 5);
  MTK_ASSERT_EQ(run((const char *[]){"true", NULL}, NULL, 0), 0);
  MTK_ASSERT_EQ(run((const char *[]){"false", NULL}, NULL, 0), 1);
  MTK_ASSERT_EQ(run((const char *[]){"--", "sh", "-c", "kill -KILL $$", NULL}, NULL, 0), 137);
  char err[256];
  MTK_ASSERT_EQ(run((const char *[]){NULL}, err, sizeof err), 1);
  MTK_ASSERT_CONTAINS(err, "usage: mtk-init");
  MTK_ASSERT_EQ(run((const char *[]){"-x", "true", NULL}, err, sizeof err), 1);
  MTK_ASSERT_CONTAINS(err, "unknown option -x");
  return 0;
}

static int test_exec_errors(void)
{
  char err[512];
  MTK_ASSERT_EQ(run((const char *[]){"--", "mtk-no-such-command", "a", NULL}, err, sizeof err),
                127);
  MTK_ASSERT_STREQ(err, "mtk-init: exec mtk-no-such-command: No such file or directory\n");
  MTK_ASSERT_EQ(run((const char *[]){"/nonexistent/x", NULL}, err, sizeof err), 127);
  char path[] = "/tmp/mtk-test-init-XXXXXX";
  int fd = mkstemp(path);
  MTK_ASSERT(fd >= 0);
  MTK_ASSERT_EQ(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
  close(fd);
  chmod(path, 0644);
  int st = run((const char *[]){"--", path, NULL}, err, sizeof err);
  chmod(path, 0755);
  int st_x = run((const char *[]){"--", path, NULL}, NULL, 0);
  unlink(path);
  MTK_ASSERT_EQ(st, 126);
  MTK_ASSERT_CONTAINS(err, "Permission denied");
  MTK_ASSERT_EQ(st_x, 0);
  return 0;
}

/* Starts a shell script under mtk-init (extra options first) and waits for
 * it to print "ready". */
static int start_ready(struct proc *p, const char *opt, const char *script)
{
  const char *args[] = {opt ? opt : "--", "--", "sh", "-c", script, NULL};
  if (start(p, opt ? args : args + 1) < 0)
    return -1;
  char line[64];
  if (read_line(p->out, line, sizeof line, 5000) < 0 || strcmp(line, "ready") != 0) {
    finish(p, NULL, 0);
    return -1;
  }
  return 0;
}

static int test_forward_term(void)
{
  struct proc p;
  MTK_ASSERT_EQ(
      start_ready(&p, NULL, "trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done"), 0);
  kill(p.pid, SIGTERM);
  MTK_ASSERT_EQ(finish(&p, NULL, 0), 3);
  /* No handler: the command dies of the signal, mtk-init reports 128+15. */
  MTK_ASSERT_EQ(start_ready(&p, NULL, "echo ready; exec sleep 10"), 0);
  kill(p.pid, SIGTERM);
  MTK_ASSERT_EQ(finish(&p, NULL, 0), 143);
  return 0;
}

static int test_forward_others(void)
{
  static const struct {
    int sig;
    const char *name;
  } sigs[] = {{SIGINT, "INT"},   {SIGHUP, "HUP"},     {SIGQUIT, "QUIT"}, {SIGUSR1, "USR1"},
              {SIGUSR2, "USR2"}, {SIGWINCH, "WINCH"}, {SIGALRM, "ALRM"}, {SIGCONT, "CONT"}};
  struct proc p;
  MTK_ASSERT_EQ(start_ready(&p, NULL,
                            "for s in INT HUP QUIT USR1 USR2 WINCH ALRM CONT; do "
                            "trap \"echo got $s\" $s; done; trap 'exit 0' TERM; "
                            "echo ready; while :; do sleep 0.05; done"),
                0);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    kill(p.pid, sigs[i].sig);
    char line[64], want[64];
    snprintf(want, sizeof want, "got %s", sigs[i].name);
    if (read_line(p.out, line, sizeof line, 3000) < 0)
      snprintf(line, sizeof line, "(nothing)");
    if (strcmp(line, want) != 0) {
      finish(&p, NULL, 0);
      MTK_ASSERT_STREQ(line, want);
    }
  }
  kill(p.pid, SIGTERM);
  MTK_ASSERT_EQ(finish(&p, NULL, 0), 0);
  return 0;
}

static int proc_field(pid_t pid, const char *key, char *out, size_t size)
{
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  int rc = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':') {
      snprintf(out, size, "%s", line + strlen(key) + 1 + strspn(line + strlen(key) + 1, " \t"));
      out[strcspn(out, "\n")] = '\0';
      rc = 0;
      break;
    }
  fclose(f);
  return rc;
}

/* An orphan (its parent exits at once) comes to mtk-init, which reaps it
 * when it ends: no zombie is left while the command keeps running. */
static int test_reaps_orphans(void)
{
  struct proc p;
  char line[64];
  MTK_ASSERT_EQ(start(&p, (const char *[]){"--", "sh", "-c",
                                           "sh -c 'sleep 0.3 & echo $!'; exec sleep 10", NULL}),
                0);
  MTK_ASSERT_EQ(read_line(p.out, line, sizeof line, 5000), 0);
  pid_t orphan = (pid_t) atoi(line);
  MTK_ASSERT(orphan > 0);
  char ppid[32] = "", state[32] = "";
  bool adopted = false, gone = false;
  for (int i = 0; i < 300 && !gone; i++) {
    if (proc_field(orphan, "PPid", ppid, sizeof ppid) < 0)
      gone = true;
    else if (atoi(ppid) == p.pid)
      adopted = true;
    if (!gone)
      proc_field(orphan, "State", state, sizeof state);
    usleep(10000);
  }
  kill(p.pid, SIGTERM);
  int st = finish(&p, NULL, 0);
  MTK_ASSERT(adopted); /* mtk-init is a subreaper: the orphan's parent */
  if (!gone)
    printf("#   orphan %d still there, state %s\n", (int) orphan, state);
  MTK_ASSERT(gone); /* and reaped it */
  MTK_ASSERT_EQ(st, 143);
  return 0;
}

/* What became of a process after its parents died: 1 killed by SIGTERM
 * (reaped by us, the outer subreaper, or already by mtk-init), 0 still
 * running (then killed), -1 other. */
static int fate(pid_t pid)
{
  for (int i = 0; i < 100; i++) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      return WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? 1 : -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int) pid);
    if (r < 0 && access(path, F_OK) < 0)
      return 1;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return 0;
}

/* Default: the signal goes to the command only (its background job lives
 * on); -g: to the command's whole process group. */
static int test_process_group(void)
{
  const char *script = "sleep 30 & echo $!; echo ready; wait";
  for (int g = 0; g <= 1; g++) {
    struct proc p;
    const char *args[] = {"-g", "--", "sh", "-c", script, NULL};
    MTK_ASSERT_EQ(start(&p, g ? args : args + 1), 0);
    char line[64];
    MTK_ASSERT_EQ(read_line(p.out, line, sizeof line, 5000), 0);
    pid_t job = (pid_t) atoi(line);
    MTK_ASSERT_EQ(read_line(p.out, line, sizeof line, 5000), 0);
    MTK_ASSERT(getpgid(job) != getpgid(p.pid)); /* the command's group is not mtk-init's */
    kill(p.pid, SIGTERM);
    int st = finish(&p, NULL, 0);
    MTK_ASSERT_EQ(st, 143);
    MTK_ASSERT_EQ(fate(job), g ? 1 : 0);
  }
  return 0;
}

/* On a terminal the command's group becomes the foreground group (not
 * mtk-init's), so ^C reaches it from the terminal directly. */
static int test_tty_foreground(void)
{
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0)
    return 77;
  const char *slave = ptsname(master);
  MTK_ASSERT(slave != NULL);
  mtk_autofree char **v =
      argv_of((const char *[]){"--", "sh", "-c", "exec cat /proc/self/stat", NULL});
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int fd = open(slave, O_RDWR); /* our controlling terminal now */
    if (fd < 0)
      _exit(98);
    dup2(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(v[0], v);
    _exit(99);
  }
  char buf[1024];
  size_t n = 0;
  for (;;) {
    struct pollfd pfd = {.fd = master, .events = POLLIN};
    if (poll(&pfd, 1, 5000) <= 0)
      break;
    ssize_t r = read(master, buf + n, sizeof buf - 1 - n);
    if (r <= 0)
      break;
    n += (size_t) r;
  }
  buf[n] = '\0';
  close(master);
  MTK_ASSERT_EQ(wait_status(pid, 5000), 0);
  reap_strays();
  /* pid (comm) state ppid pgrp session tty_nr tpgid */
  const char *rp = strrchr(buf, ')');
  int cat = atoi(buf), ppid = 0, pgrp = 0, session = 0, tty = 0, tpgid = 0;
  MTK_ASSERT(rp != NULL);
  MTK_ASSERT_EQ(sscanf(rp + 2, "%*c %d %d %d %d %d", &ppid, &pgrp, &session, &tty, &tpgid), 5);
  MTK_ASSERT_EQ(ppid, pid);    /* the command is mtk-init's child */
  MTK_ASSERT_EQ(session, pid); /* in mtk-init's session */
  MTK_ASSERT_EQ(pgrp, cat);    /* leading its own group */
  MTK_ASSERT_EQ(tpgid, pgrp);  /* which is the terminal's foreground */
  return 0;
}

static int print_init_path(void)
{
  struct mtk_err *err = NULL;
  mtk_autofree char *p = mtk_runtime_init_path(&err);
  printf("%s\n", p ? p : err->msg);
  mtk_err_free(&err);
  return p ? 0 : 1;
}

/* Copies src to dst (mode 0755). */
static int copy_file(const char *src, const char *dst)
{
  mtk_autofree char *cmd = mtk_xasprintf("cp '%s' '%s' && chmod 755 '%s'", src, dst, dst);
  return system(cmd) == 0 ? 0 : -1;
}

/* Runs a copy of this test at exe with --print-init-path under env MTK_INIT
 * unset; its output line in out. */
static int lookup_from(const char *exe, char *out, size_t size)
{
  mtk_autofree char *cmd = mtk_xasprintf("env -u MTK_INIT '%s' --print-init-path", exe);
  FILE *f = popen(cmd, "r");
  if (!f)
    return -1;
  out[0] = '\0';
  if (!fgets(out, (int) size, f))
    out[0] = '\0';
  out[strcspn(out, "\n")] = '\0';
  return pclose(f) == 0 ? 0 : -1;
}

static int test_init_path(void)
{
  struct mtk_err *err = NULL;
  char real[PATH_MAX];
  MTK_ASSERT(realpath(MTK_INIT_BINARY, real) != NULL);
  setenv("MTK_INIT", MTK_INIT_BINARY, 1);
  mtk_autofree char *p = mtk_runtime_init_path(&err);
  MTK_ASSERT_STREQ(p, real);
  setenv("MTK_INIT", "/nonexistent/mtk-init", 1);
  MTK_ASSERT(mtk_runtime_init_path(&err) == NULL);
  MTK_ASSERT_EQ(err->code, ENOENT);
  MTK_ASSERT_CONTAINS(err->msg, "MTK_INIT=/nonexistent/mtk-init");
  MTK_ASSERT(err->hint != NULL);
  mtk_err_free(&err);
  unsetenv("MTK_INIT");

  /* This test's own directory has no mtk-init: an error with a hint. */
  char dir[] = "/tmp/mtk-test-init-XXXXXX";
  MTK_ASSERT(mkdtemp(dir) != NULL);
  mtk_autofree char *bin = mtk_xasprintf("%s/bin", dir);
  mtk_autofree char *libexec = mtk_xasprintf("%s/libexec/mtk", dir);
  mtk_autofree char *exe = mtk_xasprintf("%s/test_init", bin);
  mtk_autofree char *installed = mtk_xasprintf("%s/mtk-init", libexec);
  mtk_autofree char *beside = mtk_xasprintf("%s/mtk-init", bin);
  mtk_autofree char *mk = mtk_xasprintf("mkdir -p '%s' '%s'", bin, libexec);
  char out[PATH_MAX + 256], self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  int ok = n > 0 && system(mk) == 0 && copy_file(self, exe) == 0;
  int none = ok ? lookup_from(exe, out, sizeof out) : -2;
  mtk_autofree char *none_msg = mtk_xstrdup(out);
  int inst =
      ok && copy_file(MTK_INIT_BINARY, installed) == 0 ? lookup_from(exe, out, sizeof out) : -2;
  mtk_autofree char *inst_path = mtk_xstrdup(out);
  int bes = ok && copy_file(MTK_INIT_BINARY, beside) == 0 ? lookup_from(exe, out, sizeof out) : -2;
  mtk_autofree char *rm = mtk_xasprintf("rm -rf '%s'", dir);
  if (system(rm) != 0)
    printf("#   could not remove %s\n", dir);
  MTK_ASSERT(ok);
  MTK_ASSERT_EQ(none, -1);
  MTK_ASSERT_CONTAINS(none_msg, "cannot find mtk-init");
  MTK_ASSERT_EQ(inst, 0);
  MTK_ASSERT_STREQ(inst_path, installed);
  MTK_ASSERT_EQ(bes, 0);
  MTK_ASSERT_STREQ(out, beside); /* the build tree's wins */
  return 0;
}

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "--print-init-path") == 0)
    return print_init_path();
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  static const struct mtk_test tests[] = {
      {"exit status of the command, 128+N, usage errors", test_exit_status},
      {"exec errors: 127 not found (message), 126 not executable", test_exec_errors},
      {"SIGTERM forwarded: handler's exit code, else 143", test_forward_term},
      {"INT HUP QUIT USR1 USR2 WINCH ALRM CONT forwarded", test_forward_others},
      {"orphans adopted (subreaper) and reaped", test_reaps_orphans},
      {"signals to the command only; -g to its process group", test_process_group},
      {"the command is the terminal's foreground group", test_tty_foreground},
      {"mtk_runtime_init_path: MTK_INIT, build tree, installed, none", test_init_path},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
