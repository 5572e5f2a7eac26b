/* The compose suite of mtk-conformance: runs `mtk ... config --format json` on each case folder
 * of shared/conformance/compose (case.json + input files) and checks the outcome against
 * expected.json or expected-error.txt, as shared/conformance/compose/README.md describes.
 *
 * Each case runs in a child with the case folder as working directory, an environment made of
 * exactly the case's `env` plus HOME and PATH, stdout/stderr captured through pipes and a
 * timeout.  The model comparison lives in compose_compare.c. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compose_compare.h"
#include "conformance.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define DEFAULT_HOME "/home/compose-test"
#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define MAX_OUTPUT (64u << 20) /* per stream; a loop printing forever must not eat the RAM */
#define MAX_DIFFS 3

struct opts {
  char *mtk;     /* borrowed; absolute path of the binary under test */
  bool verbose;  /* -v: print passing cases and details of failures */
  bool lenient;  /* --lenient-errors: a missing error substring only warns */
  int timeout_s; /* per case */
};

/* A growable NULL-terminated vector of owned strings (argv, envp, case list). */
struct strv {
  char **v;   /* owned, NULL-terminated once anything was added */
  size_t n;   /* entries, without the NULL */
  size_t cap; /* entries allocated */
};

struct run {
  struct mtk_strbuf out; /* child's stdout */
  struct mtk_strbuf err; /* child's stderr */
  int status;            /* waitpid status */
  int exec_errno;        /* non-zero when chdir/execve failed in the child */
  bool timed_out;
  bool too_big; /* an output stream passed MAX_OUTPUT */
};

static void strv_add(struct strv *s, char *owned)
{
  if (s->n + 2 > s->cap) {
    s->cap = s->cap ? 2 * s->cap : 16;
    s->v = mtk_xrealloc(s->v, s->cap * sizeof(*s->v));
  }
  s->v[s->n++] = owned;
  s->v[s->n] = NULL;
}

static void strv_free(struct strv *s)
{
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

#define autostrv __attribute__((cleanup(strv_free))) struct strv

static void run_free(struct run *r)
{
  mtk_strbuf_free(&r->out);
  mtk_strbuf_free(&r->err);
}

/* ---- locating the binary and the cases ---- */

static bool is_file(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static char *absolute(const char *path)
{
  char cwd[PATH_MAX];
  if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
    return mtk_xstrdup(path);
  return mtk_xasprintf("%s/%s", cwd, path);
}

/* The binary under test: --mtk, else $MTK, else `mtk` looked up in PATH.  The path is made
 * absolute because the child changes directory before execve. */
static char *find_mtk(const char *given)
{
  const char *name = given ? given : getenv("MTK");
  if (!name || !*name)
    name = "mtk";
  if (strchr(name, '/')) {
    mtk_autofree char *abs = absolute(name);
    return is_file(abs) && access(abs, X_OK) == 0 ? mtk_steal_ptr(&abs) : NULL;
  }
  const char *path = getenv("PATH");
  mtk_autofree char *dirs = mtk_xstrdup(path && *path ? path : DEFAULT_PATH);
  char *save = NULL;
  for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    mtk_autofree char *cand = mtk_xasprintf("%s/%s", *d ? d : ".", name);
    if (is_file(cand) && access(cand, X_OK) == 0)
      return absolute(cand);
  }
  return NULL;
}

static bool has_case_json(const char *dir)
{
  mtk_autofree char *p = mtk_xasprintf("%s/case.json", dir);
  return is_file(p);
}

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
  return strcmp((*a)->d_name, (*b)->d_name);
}

/* Adds arg itself when it is a case folder (or a case.json), else its sub-folders that are
 * cases, sorted by name.  Returns how many were added, -1 when arg cannot be read. */
static int collect_cases(const char *arg, struct strv *cases)
{
  char real[PATH_MAX];
  struct dirent **ents = NULL;
  int added = 0;
  if (!realpath(arg, real))
    return -1;
  char *slash = strrchr(real, '/');
  if (is_file(real) && strcmp(slash + 1, "case.json") == 0) /* a case.json: its folder */
    *(slash == real ? slash + 1 : slash) = '\0';
  if (has_case_json(real)) {
    strv_add(cases, mtk_xstrdup(real));
    return 1;
  }
  int n = scandir(real, &ents, NULL, cmp_names);
  if (n < 0)
    return -1;
  for (int i = 0; i < n; i++) {
    mtk_autofree char *sub = mtk_xasprintf("%s/%s", real, ents[i]->d_name);
    if (ents[i]->d_name[0] != '.' && has_case_json(sub)) {
      strv_add(cases, mtk_steal_ptr(&sub));
      added++;
    }
    free(ents[i]);
  }
  free(ents);
  return added;
}

/* ---- building the command line and the environment ---- */

/* Adds `flag item` for each string of list (null or absent: nothing). */
static bool add_list_flag(struct strv *argv, const char *flag, json_t *list, struct mtk_strbuf *why)
{
  size_t i;
  json_t *item;
  if (!list || json_is_null(list))
    return true;
  if (!json_is_array(list)) {
    mtk_strbuf_addf(why, "case.json: args: %s list is not an array", flag);
    return false;
  }
  json_array_foreach(list, i, item)
  {
    if (!json_is_string(item)) {
      mtk_strbuf_addf(why, "case.json: args: %s list holds a non-string", flag);
      return false;
    }
    strv_add(argv, mtk_xstrdup(flag));
    strv_add(argv, mtk_xstrdup(json_string_value(item)));
  }
  return true;
}

static bool add_string_flag(struct strv *argv, const char *flag, json_t *v, struct mtk_strbuf *why)
{
  if (!v || json_is_null(v))
    return true;
  if (!json_is_string(v)) {
    mtk_strbuf_addf(why, "case.json: args: %s is not a string", flag);
    return false;
  }
  strv_add(argv, mtk_xstrdup(flag));
  strv_add(argv, mtk_xstrdup(json_string_value(v)));
  return true;
}

/* mtk [-f F]... [-p P] [--project-directory D] [--profile X]... [--env-file E]...
 *     config --format json [--no-normalize] [--no-consistency] [--no-path-resolution] */
static bool build_argv(const char *mtk, json_t *c, struct strv *argv, struct mtk_strbuf *why)
{
  json_t *args = json_object_get(c, "args"), *lo = json_object_get(c, "loader_options");
  if (args && !json_is_object(args)) {
    mtk_strbuf_adds(why, "case.json: args is not an object");
    return false;
  }
  strv_add(argv, mtk_xstrdup(mtk));
  /* compose-go's PruneUnnecessaryResources off = docker compose's --all-resources. */
  if (json_is_false(json_object_get(lo, "prune_unused_resources")))
    strv_add(argv, mtk_xstrdup("--all-resources"));
  if (!add_list_flag(argv, "-f", json_object_get(args, "files"), why) ||
      !add_string_flag(argv, "-p", json_object_get(args, "project_name"), why) ||
      !add_string_flag(argv, "--project-directory", json_object_get(args, "project_directory"),
                       why) ||
      !add_list_flag(argv, "--profile", json_object_get(args, "profiles"), why) ||
      !add_list_flag(argv, "--env-file", json_object_get(args, "env_files"), why))
    return false;
  strv_add(argv, mtk_xstrdup("config"));
  strv_add(argv, mtk_xstrdup("--format"));
  strv_add(argv, mtk_xstrdup("json"));
  if (json_is_false(json_object_get(lo, "normalize")))
    strv_add(argv, mtk_xstrdup("--no-normalize"));
  if (json_is_false(json_object_get(lo, "consistency")))
    strv_add(argv, mtk_xstrdup("--no-consistency"));
  if (json_is_false(json_object_get(lo, "resolve_paths")))
    strv_add(argv, mtk_xstrdup("--no-path-resolution"));
  /* compose-go without WithDiscardEnvFiles: env files folded and kept (an mtk flag). */
  if (json_is_false(json_object_get(lo, "discard_env_file")))
    strv_add(argv, mtk_xstrdup("--keep-env-files"));
  return true;
}

/* Exactly the case's env, plus HOME (default DEFAULT_HOME) and PATH (the runner's) unless the
 * case sets them.  *home receives the HOME used (borrowed from c or static). */
static bool build_envp(json_t *c, struct strv *envp, const char **home, struct mtk_strbuf *why)
{
  json_t *env = json_object_get(c, "env"), *v;
  const char *k, *path = getenv("PATH");
  if (env && !json_is_object(env)) {
    mtk_strbuf_adds(why, "case.json: env is not an object");
    return false;
  }
  json_object_foreach(env, k, v)
  {
    if (!json_is_string(v) || strchr(k, '=') || !*k) {
      mtk_strbuf_addf(why, "case.json: env: bad entry \"%s\"", k);
      return false;
    }
    strv_add(envp, mtk_xasprintf("%s=%s", k, json_string_value(v)));
  }
  *home = DEFAULT_HOME;
  if (json_is_string(json_object_get(env, "HOME")))
    *home = json_string_value(json_object_get(env, "HOME"));
  else
    strv_add(envp, mtk_xasprintf("HOME=%s", DEFAULT_HOME));
  if (!json_object_get(env, "PATH"))
    strv_add(envp, mtk_xasprintf("PATH=%s", path && *path ? path : DEFAULT_PATH));
  return true;
}

/* ---- running the child ---- */

static long long now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void exec_child(const char *dir, char **argv, char **envp, int out, int err, int rep)
{
  int e;
  setpgid(0, 0);
  int null = open("/dev/null", O_RDONLY);
  if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0 || chdir(dir) < 0)
    e = errno;
  else {
    execve(argv[0], argv, envp);
    e = errno;
  }
  if (write(rep, &e, sizeof(e)) < 0)
    _exit(126);
  _exit(127);
}

static void kill_child(pid_t pid)
{
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
}

/* Reads both pipes until EOF, the deadline or the size cap. */
static void pump(pid_t pid, int out, int err, int timeout_s, struct run *r)
{
  struct pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
  struct mtk_strbuf *bufs[2] = {&r->out, &r->err};
  long long deadline = now_ms() + (long long) timeout_s * 1000;
  char buf[65536];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    long long left = deadline - now_ms();
    if (left <= 0) {
      r->timed_out = true;
      break;
    }
    if (poll(fds, 2, left > INT_MAX ? INT_MAX : (int) left) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !fds[i].revents)
        continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0)
        fds[i].fd = -1;
      else
        mtk_strbuf_add(bufs[i], buf, (size_t) n);
      if (bufs[i]->len > MAX_OUTPUT)
        r->too_big = true;
    }
    if (r->too_big)
      break;
  }
  if (r->timed_out || r->too_big)
    kill_child(pid);
}

static int run_child(const char *dir, char **argv, char **envp, int timeout_s, struct run *r)
{
  int out[2], err[2], rep[2];
  if (pipe2(out, O_CLOEXEC) < 0)
    return -1;
  if (pipe2(err, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
    close(out[0]), close(out[1]);
    return -1;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0)
    exec_child(dir, argv, envp, out[1], err[1], rep[1]);
  close(out[1]), close(err[1]), close(rep[1]);
  if (pid > 0) {
    setpgid(pid, pid); /* also done by the child; whichever runs first wins the race */
    pump(pid, out[0], err[0], timeout_s, r);
    if (read(rep[0], &r->exec_errno, sizeof(r->exec_errno)) != sizeof(r->exec_errno))
      r->exec_errno = 0;
    while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
      ;
  }
  close(out[0]), close(err[0]), close(rep[0]);
  return pid > 0 ? 0 : -1;
}

/* ---- judging the outcome ---- */

/* First non-blank line of s (at most 200 bytes), or "(empty)". */
static void add_first_line(struct mtk_strbuf *sb, const char *s)
{
  while (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t')
    s++;
  size_t n = strcspn(s, "\r\n");
  if (n == 0)
    mtk_strbuf_adds(sb, "(empty)");
  else
    mtk_strbuf_add(sb, s, n > 200 ? 200 : n);
}

/* Failures common to both kinds of case: the child could not run, hung, crashed or flooded. */
static bool run_failed(const struct opts *o, const struct run *r, struct mtk_strbuf *why)
{
  if (r->exec_errno)
    mtk_strbuf_addf(why, "cannot run %s: %s", o->mtk, strerror(r->exec_errno));
  else if (r->timed_out)
    mtk_strbuf_addf(why, "timed out after %d s (killed)", o->timeout_s);
  else if (r->too_big)
    mtk_strbuf_addf(why, "output larger than %u bytes (killed)", MAX_OUTPUT);
  else if (WIFSIGNALED(r->status))
    mtk_strbuf_addf(why, "mtk crashed: killed by signal %d (%s)", WTERMSIG(r->status),
                    strsignal(WTERMSIG(r->status)));
  else
    return false;
  return true;
}

static bool judge_success(const char *dir, const char *home, const struct run *r,
                          struct mtk_strbuf *why)
{
  json_error_t jerr;
  if (WEXITSTATUS(r->status) != 0) {
    mtk_strbuf_addf(why, "exit status %d, expected success; stderr: ", WEXITSTATUS(r->status));
    add_first_line(why, mtk_strbuf_str(&r->err));
    return false;
  }
  json_auto_t *raw = json_loadb(mtk_strbuf_str(&r->out), r->out.len, 0, &jerr);
  if (!raw) {
    mtk_strbuf_addf(why, "stdout is not JSON (line %d: %s)", jerr.line, jerr.text);
    return false;
  }
  mtk_autofree char *path = mtk_xasprintf("%s/expected.json", dir);
  json_auto_t *exp_raw = json_load_file(path, 0, &jerr);
  if (!exp_raw) {
    mtk_strbuf_addf(why, "expected.json: line %d: %s", jerr.line, jerr.text);
    return false;
  }
  json_auto_t *got = mtk_conf_unescape_dollars(raw);
  json_auto_t *exp = mtk_conf_subst_placeholders(exp_raw, dir, home);
  mtk_conf_strip_service_extensions(got);
  mtk_conf_strip_service_extensions(exp);
  int n = mtk_conf_compare(exp, got, why, MAX_DIFFS);
  if (n > MAX_DIFFS)
    mtk_strbuf_addf(why, " (+%d more)", n - MAX_DIFFS);
  return n == 0;
}

static bool read_text(const char *path, struct mtk_strbuf *sb)
{
  mtk_autofclose FILE *f = fopen(path, "r");
  char buf[4096];
  size_t n;
  if (!f)
    return false;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    mtk_strbuf_add(sb, buf, n);
  return !ferror(f);
}

/* Non-zero exit is the MUST; each non-empty line of expected-error.txt being a substring of
 * stderr is a SHOULD that fails the case unless --lenient-errors.  *warn receives the message
 * of a lenient miss. */
static bool judge_error(const char *dir, const struct opts *o, const struct run *r,
                        struct mtk_strbuf *why, struct mtk_strbuf *warn)
{
  mtk_autostrbuf text = MTK_STRBUF_INIT;
  mtk_autofree char *path = mtk_xasprintf("%s/expected-error.txt", dir);
  if (WEXITSTATUS(r->status) == 0) {
    mtk_strbuf_adds(why, "exit status 0, expected an error");
    return false;
  }
  if (!read_text(path, &text)) {
    mtk_strbuf_addf(why, "cannot read expected-error.txt: %s", strerror(errno));
    return false;
  }
  if (text.len == 0) /* nothing to look for */
    return true;
  char *save = NULL;
  for (char *l = strtok_r(text.buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    size_t len = strlen(l);
    while (len && strchr(" \t\r", l[len - 1]))
      l[--len] = '\0';
    if (len == 0 || strstr(mtk_strbuf_str(&r->err), l))
      continue;
    struct mtk_strbuf *dst = o->lenient ? warn : why;
    mtk_strbuf_addf(dst, "error message lacks \"%s\"; got: ", l);
    add_first_line(dst, mtk_strbuf_str(&r->err));
    return o->lenient;
  }
  return true;
}

/* ---- one case ---- */

/* The command line and mtk's stderr, for -v. */
static void add_details(struct mtk_strbuf *sb, const char *dir, char **argv, const struct run *r)
{
  mtk_strbuf_addf(sb, "    $ cd %s &&", dir);
  for (size_t i = 0; argv[i]; i++)
    mtk_strbuf_addf(sb, " %s", argv[i]);
  mtk_strbuf_addc(sb, '\n');
  mtk_autofree char *err = mtk_xstrdup(mtk_strbuf_str(&r->err));
  char *save = NULL;
  for (char *l = strtok_r(err, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
    mtk_strbuf_addf(sb, "    | %s\n", l);
}

/* Runs the case described by c; returns true when it passes.  why gets the reason of a
 * failure, warn a lenient miss, details (with -v) the command and mtk's stderr. */
static bool run_case(const struct opts *o, const char *dir, json_t *c, struct mtk_strbuf *why,
                     struct mtk_strbuf *warn, struct mtk_strbuf *details)
{
  autostrv argv = {0};
  autostrv envp = {0};
  const char *home, *expect = json_string_value(json_object_get(c, "expect"));
  __attribute__((cleanup(run_free))) struct run r = {0};
  if (!expect || (strcmp(expect, "success") != 0 && strcmp(expect, "error") != 0)) {
    mtk_strbuf_adds(why, "case.json: expect must be \"success\" or \"error\"");
    return false;
  }
  if (!build_argv(o->mtk, c, &argv, why) || !build_envp(c, &envp, &home, why))
    return false;
  if (run_child(dir, argv.v, envp.v, o->timeout_s, &r) < 0) {
    mtk_strbuf_addf(why, "cannot start mtk: %s", strerror(errno));
    return false;
  }
  bool ok = !run_failed(o, &r, why) &&
            (strcmp(expect, "success") == 0 ? judge_success(dir, home, &r, why)
                                            : judge_error(dir, o, &r, why, warn));
  if (!ok && o->verbose)
    add_details(details, dir, argv.v, &r);
  return ok;
}

/* Runs the case in dir and prints its verdict; returns true when it passes. */
static bool check_case(const struct opts *o, const char *dir)
{
  json_error_t jerr;
  mtk_autostrbuf why = MTK_STRBUF_INIT;
  mtk_autostrbuf warn = MTK_STRBUF_INIT;
  mtk_autostrbuf details = MTK_STRBUF_INIT;
  mtk_autofree char *path = mtk_xasprintf("%s/case.json", dir);
  json_auto_t *c = json_load_file(path, 0, &jerr);
  const char *id = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
  if (json_is_string(json_object_get(c, "id")))
    id = json_string_value(json_object_get(c, "id"));
  bool ok;
  if (!json_is_object(c)) {
    mtk_strbuf_addf(&why, "case.json: line %d: %s", jerr.line, c ? "not an object" : jerr.text);
    ok = false;
  } else {
    ok = run_case(o, dir, c, &why, &warn, &details);
  }
  if (warn.len)
    printf("WARN %s: %s\n", id, mtk_strbuf_str(&warn));
  if (!ok)
    printf("FAIL %s: %s\n%s", id, mtk_strbuf_str(&why), mtk_strbuf_str(&details));
  else if (o->verbose)
    printf("PASS %s\n", id);
  fflush(stdout);
  return ok;
}

/* ---- entry point ---- */

static int usage(const char *msg)
{
  if (msg)
    fprintf(stderr, "mtk-conformance compose: %s\n", msg);
  fprintf(stderr, "usage: mtk-conformance compose [--mtk PATH] [-v] [--keep-going] "
                  "[--lenient-errors] [--timeout SECONDS] DIR|CASE...\n");
  return 2;
}

/* Parses options (anywhere before `--`) into o and the remaining arguments into rest. */
static int parse_args(int argc, char **argv, struct opts *o, const char **mtk, struct strv *rest)
{
  bool opts_done = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (opts_done || a[0] != '-' || strcmp(a, "-") == 0)
      strv_add(rest, mtk_xstrdup(a));
    else if (strcmp(a, "--") == 0)
      opts_done = true;
    else if (strcmp(a, "--mtk") == 0 && i + 1 < argc)
      *mtk = argv[++i];
    else if (strncmp(a, "--mtk=", 6) == 0)
      *mtk = a + 6;
    else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
      char *end;
      long t = strtol(argv[++i], &end, 10);
      if (*end || t <= 0 || t > 86400)
        return usage("--timeout needs a number of seconds");
      o->timeout_s = (int) t;
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0)
      o->verbose = true;
    else if (strcmp(a, "--lenient-errors") == 0)
      o->lenient = true;
    else if (strcmp(a, "--keep-going") == 0)
      ; /* the default: every case runs */
    else {
      fprintf(stderr, "mtk-conformance compose: unknown option %s\n", a);
      return usage(NULL);
    }
  }
  return rest->n ? 0 : usage("no case folder given");
}

int mtk_conf_compose(int argc, char **argv)
{
  struct opts o = {NULL, false, false, 30};
  autostrv rest = {0};
  autostrv cases = {0};
  const char *mtk = NULL;
  int passed = 0, failed = 0;
  if (parse_args(argc, argv, &o, &mtk, &rest) != 0)
    return 2;
  mtk_autofree char *bin = o.mtk = find_mtk(mtk);
  if (!bin) {
    fprintf(stderr, "mtk-conformance compose: mtk binary not found (%s); use --mtk PATH\n",
            mtk             ? mtk
            : getenv("MTK") ? getenv("MTK")
                            : "mtk in PATH");
    return 2;
  }
  for (size_t i = 0; i < rest.n; i++) {
    int n = collect_cases(rest.v[i], &cases);
    if (n <= 0) {
      fprintf(stderr, "mtk-conformance compose: %s: %s\n", rest.v[i],
              n < 0 ? strerror(errno) : "no case.json here nor in its sub-folders");
      return 2;
    }
  }
  for (size_t i = 0; i < cases.n; i++)
    check_case(&o, cases.v[i]) ? passed++ : failed++;
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
