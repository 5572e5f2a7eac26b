/* Test fixture shared by test_image_registry*.c: real registries (Debian's
 * docker-registry = distribution 2.8) on free 127.0.0.1 ports with a
 * temporary storage directory, the token issuer and the blob "CDN" of
 * tests/fixtures/registry/, busybox-static images built with umoci and pushed
 * with skopeo.  Every process started here gets PR_SET_PDEATHSIG(SIGKILL)
 * (it cannot outlive the test even when the test is killed) and is stopped
 * by its PID at exit or on a fatal signal; the temp directory goes too.
 * Tests skip (77) only when docker-registry is not installed. */
#ifndef MTK_TESTS_REGISTRY_FIXTURE_H
#define MTK_TESTS_REGISTRY_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RF_UNUSED __attribute__((unused))
#define RF_MAX_PIDS 16
#define RF_USER "regfix"
#define RF_PASS "regfix-pass"
#define RF_REPO "test/busybox"
#define RF_REFRESH "mtk-test-refresh-token" /* identity token of RF_USER at the token server */

static pid_t rf_pids[RF_MAX_PIDS];
static int rf_npids;
static char rf_dir[256];    /* the temp directory of this test run */
static char rf_fixdir[512]; /* tests/fixtures/registry of the source tree */
static int rf_cdn_port;     /* cdn.py, once started */

struct rf_registry {
  int port;      /* 127.0.0.1:<port> */
  char host[32]; /* "127.0.0.1:<port>" */
  char name[32]; /* config name */
};

RF_UNUSED __attribute__((format(printf, 1, 2))) static char *rf_path(const char *fmt, ...)
{
  static char bufs[8][512];
  static int next;
  char *b = bufs[next++ % 8];
  va_list ap;
  va_start(ap, fmt);
  int n = snprintf(b, 512, "%s/", rf_dir);
  vsnprintf(b + n, 512 - (size_t) n, fmt, ap);
  va_end(ap);
  return b;
}

RF_UNUSED static int rf_free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
      getsockname(fd, (struct sockaddr *) &a, &len) < 0) {
    perror("free port");
    exit(1);
  }
  close(fd);
  return ntohs(a.sin_port);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st, (void) flag, (void) ftw;
  remove(p);
  return 0;
}

/* Stops every process started here (SIGTERM, then SIGKILL after 5 s), removes the temp dir. */
static void rf_stop_all(void)
{
  for (int i = 0; i < rf_npids; i++)
    kill(rf_pids[i], SIGTERM);
  for (int tries = 0; tries < 100; tries++) {
    bool alive = false;
    for (int i = 0; i < rf_npids; i++) {
      if (rf_pids[i] > 0 && waitpid(rf_pids[i], NULL, WNOHANG) == 0)
        alive = true;
      else
        rf_pids[i] = -1;
    }
    if (!alive)
      break;
    usleep(50000);
  }
  for (int i = 0; i < rf_npids; i++)
    if (rf_pids[i] > 0) {
      kill(rf_pids[i], SIGKILL);
      waitpid(rf_pids[i], NULL, 0);
    }
  rf_npids = 0;
  if (rf_dir[0] && !getenv("MTK_TEST_KEEP"))
    nftw(rf_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void rf_on_signal(int sig)
{
  rf_stop_all();
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Starts argv in the background, output to log; returns the PID (recorded). */
RF_UNUSED static pid_t rf_spawn(char *const argv[], const char *log)
{
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execvp(argv[0], argv);
    _exit(127);
  }
  if (pid > 0 && rf_npids < RF_MAX_PIDS)
    rf_pids[rf_npids++] = pid;
  return pid;
}

/* Runs argv to the end; its stdout goes to *out (owned; may be NULL), stderr
 * to <dir>/cmd.log.  Returns the exit status. */
RF_UNUSED static int rf_run(char *const argv[], char **out)
{
  int pfd[2];
  if (pipe(pfd) < 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(rf_path("cmd.log"), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(pfd[1], 1);
    if (fd >= 0)
      dup2(fd, 2);
    close(pfd[0]);
    execvp(argv[0], argv);
    _exit(127);
  }
  close(pfd[1]);
  size_t len = 0, cap = 4096;
  char *buf = malloc(cap);
  ssize_t n;
  while ((n = read(pfd[0], buf + len, cap - len - 1)) > 0) {
    len += (size_t) n;
    if (cap - len < 2)
      buf = realloc(buf, cap *= 2);
  }
  buf[len] = '\0';
  close(pfd[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (out)
    *out = buf;
  else
    free(buf);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

RF_UNUSED static int rf_wait_port(int port)
{
  for (int i = 0; i < 200; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t) port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = connect(fd, (struct sockaddr *) &a, sizeof(a));
    close(fd);
    if (ok == 0)
      return 0;
    usleep(50000);
  }
  fprintf(stderr, "# nothing listens on port %d\n", port);
  return -1;
}

RF_UNUSED static int rf_write(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  if (!f)
    return -1;
  fputs(text, f);
  return fclose(f);
}

static bool rf_have(const char *prog)
{
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
  return system(cmd) == 0;
}

/* Creates the temp dir and the cleanup hooks.  Returns 77 when
 * docker-registry is missing, 1 when another tool is, else 0. */
RF_UNUSED static int rf_init(const char *self_file)
{
  if (!rf_have("docker-registry")) {
    printf("1..0 # SKIP docker-registry is not installed (apt-get install docker-registry)\n");
    return 77;
  }
  const char *tools[] = {"umoci", "skopeo", "busybox", "htpasswd", "openssl", "python3"};
  for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
    if (!rf_have(tools[i])) {
      printf("Bail out! %s is missing (scripts/install-deps.sh)\n", tools[i]);
      return 1;
    }
  char src[512];
  snprintf(src, sizeof(src), "%s", self_file);
  snprintf(rf_fixdir, sizeof(rf_fixdir), "%s/../fixtures/registry", dirname(src));
  snprintf(rf_dir, sizeof(rf_dir), "%s/mtk-regtest.XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(rf_dir)) {
    perror("mkdtemp");
    return 1;
  }
  atexit(rf_stop_all);
  signal(SIGINT, rf_on_signal);
  signal(SIGTERM, rf_on_signal);
  signal(SIGSEGV, rf_on_signal);
  signal(SIGABRT, rf_on_signal);
  signal(SIGPIPE, SIG_IGN);
  mkdir(rf_path("storage"), 0755);
  return 0;
}

/* Starts a registry on a free port sharing <dir>/storage.  extra is YAML
 * put right after http.addr (indented by 2 it extends `http:`, e.g. tls; at
 * column 0 it adds top-level keys such as auth), middleware a top-level
 * block; either may be "". */
RF_UNUSED static int rf_start_registry(struct rf_registry *reg, const char *name, const char *extra,
                                       const char *middleware)
{
  reg->port = rf_free_port();
  snprintf(reg->host, sizeof(reg->host), "127.0.0.1:%d", reg->port);
  snprintf(reg->name, sizeof(reg->name), "%s", name);
  char cfg[4096];
  snprintf(
      cfg, sizeof(cfg),
      "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: %s\n"
      "  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\n"
      "http:\n  addr: %s\n%s%s",
      rf_path("storage"), reg->host, extra, middleware);
  char *path = rf_path("config-%s.yml", name);
  if (rf_write(path, cfg) < 0)
    return -1;
  char *argv[] = {"docker-registry", "serve", path, NULL};
  if (rf_spawn(argv, rf_path("registry-%s.log", name)) < 0)
    return -1;
  return rf_wait_port(reg->port);
}

/* htpasswd (bcrypt) with RF_USER / RF_PASS; returns the auth YAML block. */
RF_UNUSED static const char *rf_htpasswd_auth(void)
{
  static char yaml[1024];
  char *out = NULL;
  char *argv[] = {"htpasswd", "-Bbn", RF_USER, RF_PASS, NULL};
  if (rf_run(argv, &out) != 0 || rf_write(rf_path("htpasswd"), out) < 0) {
    free(out);
    return NULL;
  }
  free(out);
  snprintf(yaml, sizeof(yaml), "auth:\n  htpasswd:\n    realm: regfix-basic-realm\n    path: %s\n",
           rf_path("htpasswd"));
  return yaml;
}

/* Starts token-server.py on a free port; returns the auth YAML block. */
RF_UNUSED static const char *rf_token_auth(int *token_port)
{
  static char yaml[1024];
  char *key = rf_path("token-key.pem"), *cert = rf_path("token-cert.pem");
  char *gen[] = {"openssl",
                 "req",
                 "-x509",
                 "-newkey",
                 "rsa:2048",
                 "-nodes",
                 "-sha256",
                 "-days",
                 "30",
                 "-subj",
                 "/CN=mtk-test-token-signer",
                 "-keyout",
                 key,
                 "-out",
                 cert,
                 NULL};
  if (rf_run(gen, NULL) != 0 || rf_write(rf_path("token-users"), RF_USER ":" RF_PASS "\n") < 0 ||
      rf_write(rf_path("token-refresh"), RF_REFRESH ":" RF_USER "\n") < 0)
    return NULL;
  *token_port = rf_free_port();
  char port[16], script[600];
  snprintf(port, sizeof(port), "%d", *token_port);
  snprintf(script, sizeof(script), "%s/token-server.py", rf_fixdir);
  char *argv[] = {"python3",   script,
                  "--addr",    "127.0.0.1",
                  "--port",    port,
                  "--key",     key,
                  "--cert",    cert,
                  "--users",   rf_path("token-users"),
                  "--issuer",  "mtk-test-issuer",
                  "--service", "mtk-test-registry",
                  "--refresh", rf_path("token-refresh"),
                  NULL};
  if (rf_spawn(argv, rf_path("token.log")) < 0 || rf_wait_port(*token_port) < 0)
    return NULL;
  snprintf(yaml, sizeof(yaml),
           "auth:\n  token:\n    realm: http://127.0.0.1:%d/token\n    service: mtk-test-registry\n"
           "    issuer: mtk-test-issuer\n    rootcertbundle: %s\n",
           *token_port, cert);
  return yaml;
}

/* Starts cdn.py over the storage dir; returns the redirect middleware YAML. */
RF_UNUSED static const char *rf_cdn_middleware(void)
{
  static char yaml[512];
  int p = rf_cdn_port = rf_free_port();
  char port[16], script[600];
  snprintf(port, sizeof(port), "%d", p);
  snprintf(script, sizeof(script), "%s/cdn.py", rf_fixdir);
  char *argv[] = {"python3", script, "--port", port, "--root", rf_path("storage"), NULL};
  if (rf_spawn(argv, rf_path("cdn.log")) < 0 || rf_wait_port(p) < 0)
    return NULL;
  snprintf(yaml, sizeof(yaml),
           "middleware:\n  storage:\n    - name: redirect\n      options:\n"
           "        baseurl: http://127.0.0.1:%d\n",
           p);
  return yaml;
}

/* Builds the busybox layout (build-images.sh) and pushes with skopeo:
 *   RF_REPO:oci-amd64, :oci-arm64 (OCI manifests), :docker-amd64 (schema2). */
RF_UNUSED static int rf_build_and_push(const struct rf_registry *reg)
{
  char script[600];
  snprintf(script, sizeof(script), "%s/build-images.sh", rf_fixdir);
  char *build[] = {"bash", script, rf_path("oci"), NULL};
  if (rf_run(build, NULL) != 0)
    return -1;
  const char *pushes[][3] = {{"busybox-amd64", "oci-amd64", NULL},
                             {"busybox-arm64", "oci-arm64", NULL},
                             {"busybox-amd64", "docker-amd64", "v2s2"}};
  for (size_t i = 0; i < 3; i++) {
    char src[600], dst[200];
    snprintf(src, sizeof(src), "oci:%s:%s", rf_path("oci"), pushes[i][0]);
    snprintf(dst, sizeof(dst), "docker://%s/%s:%s", reg->host, RF_REPO, pushes[i][1]);
    char *v2[] = {"skopeo",
                  "--insecure-policy",
                  "copy",
                  "-q",
                  "--dest-tls-verify=false",
                  "--format",
                  "v2s2",
                  src,
                  dst,
                  NULL};
    char *oci[] = {"skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false", src, dst,
                   NULL};
    if (rf_run(pushes[i][2] ? v2 : oci, NULL) != 0) {
      fprintf(stderr, "# skopeo copy %s %s failed (see %s)\n", src, dst, rf_path("cmd.log"));
      return -1;
    }
  }
  return 0;
}

/* `skopeo inspect --raw` of host/RF_REPO:tag_or_digest ("" on failure; owned). */
RF_UNUSED static char *rf_skopeo_raw(const struct rf_registry *reg, const char *repo,
                                     const char *ref)
{
  char dst[300];
  snprintf(dst, sizeof(dst), "docker://%s/%s%s%s", reg->host, repo,
           strncmp(ref, "sha256:", 7) == 0 ? "@" : ":", ref);
  char *argv[] = {"skopeo", "inspect", "--raw", "--tls-verify=false", dst, NULL};
  char *out = NULL;
  if (rf_run(argv, &out) != 0) {
    free(out);
    return strdup("");
  }
  return out;
}

/* ------------------------------------------------------- the cut proxy */

/* Which connections the proxy cuts: one whose client sent a chunk holding
 * both method and needle is armed; once more than cut_after bytes went in
 * direction dir (1 server -> client, 0 client -> server) since then, exactly
 * cut_after bytes are passed and both sides closed (at most max_cuts times). */
struct rf_proxy_rule {
  const char *method; /* "GET ", "PATCH ", "PUT " */
  const char *needle; /* "/blobs/sha256:", "digest=" */
  int dir;            /* 1: count the answer, 0: count the request */
  int64_t cut_after;  /* bytes let through before the cut */
  int max_cuts;       /* cuts at most */
  int skip;           /* matching requests let through before arming */
};

struct rf_proxy_conn {
  int c, s;     /* client and server fds */
  bool armed;   /* a matching request went through */
  int64_t sent; /* bytes counted since armed; -1 = to be closed */
};

static void rf_proxy_write_stats(int cuts, int ranges)
{
  FILE *f = fopen(rf_path("proxy.stats.tmp"), "w");
  fprintf(f, "%d %d\n", cuts, ranges);
  fclose(f);
  rename(rf_path("proxy.stats.tmp"), rf_path("proxy.stats"));
}

static void rf_proxy_accept(int lfd, int target, struct rf_proxy_conn *conns, int *n)
{
  int c = accept(lfd, NULL, NULL);
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t) target),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (c >= 0 && connect(s, (struct sockaddr *) &a, sizeof(a)) == 0)
    conns[(*n)++] = (struct rf_proxy_conn){c, s, false, 0};
  else
    close(c), close(s);
}

/* Moves one chunk of k in direction dir; counts cuts and Range requests. */
static void rf_proxy_move(struct rf_proxy_conn *k, int dir, const struct rf_proxy_rule *rule,
                          int *cuts, int *ranges)
{
  static char buf[16384];
  static int matched;
  int from = dir == 0 ? k->c : k->s, to = dir == 0 ? k->s : k->c;
  ssize_t got = read(from, buf, sizeof(buf)), pass = got;
  if (got > 0 && dir == 0 && memmem(buf, (size_t) got, rule->needle, strlen(rule->needle)) &&
      memmem(buf, (size_t) got, rule->method, strlen(rule->method)))
    k->armed = ++matched > rule->skip, k->sent = 0;
  if (got > 0 && dir == 0 && memmem(buf, (size_t) got, "Range: bytes=", 13))
    (*ranges)++;
  bool cut = false;
  if (got > 0 && dir == rule->dir && k->armed && *cuts < rule->max_cuts &&
      k->sent + got > rule->cut_after) {
    pass = (ssize_t) (rule->cut_after - k->sent); /* up to the cut, not a byte more */
    cut = true;
  }
  if (got <= 0 || (pass > 0 && write(to, buf, (size_t) pass) != pass) || cut) {
    *cuts += cut;
    k->sent = -1;
  } else if (dir == rule->dir && k->armed) {
    k->sent += got;
  }
}

/* Relays 127.0.0.1:<listen> to target, cutting as rule says; writes "cuts
 * ranges" to <dir>/proxy.stats whenever a connection closes. */
static void rf_proxy_loop(int lfd, int target, const struct rf_proxy_rule *rule)
{
  struct rf_proxy_conn conns[64];
  int n = 0, cuts = 0, ranges = 0;
  for (;;) {
    struct pollfd p[129];
    p[0] = (struct pollfd){lfd, POLLIN, 0};
    for (int i = 0; i < n; i++) {
      p[1 + 2 * i] = (struct pollfd){conns[i].c, POLLIN, 0};
      p[2 + 2 * i] = (struct pollfd){conns[i].s, POLLIN, 0};
    }
    if (poll(p, (nfds_t) (1 + 2 * n), -1) < 0)
      continue;
    int polled = n, old_ranges = ranges; /* a connection accepted now has no poll result yet */
    if ((p[0].revents & POLLIN) && n < 64)
      rf_proxy_accept(lfd, target, conns, &n);
    for (int i = 0; i < polled; i++)
      for (int dir = 0; dir < 2 && conns[i].sent >= 0; dir++)
        if (p[1 + 2 * i + dir].revents & (POLLIN | POLLHUP | POLLERR))
          rf_proxy_move(&conns[i], dir, rule, &cuts, &ranges);
    /* Stats first (the client may see the close and finish at once), then
     * the closed connections go (only now: p[] follows the old order). */
    bool closing = ranges != old_ranges;
    for (int i = 0; i < n; i++)
      closing = closing || conns[i].sent < 0;
    if (closing)
      rf_proxy_write_stats(cuts, ranges);
    for (int i = 0; i < n; i++)
      if (conns[i].sent < 0) {
        close(conns[i].c), close(conns[i].s);
        conns[i--] = conns[--n];
      }
  }
}

/* Starts the proxy in a child (recorded last in rf_pids); returns its port. */
RF_UNUSED static int rf_start_proxy(int target, const struct rf_proxy_rule *rule)
{
  int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(lfd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(lfd, 64) < 0 ||
      getsockname(lfd, (struct sockaddr *) &a, &len) < 0)
    return -1;
  unlink(rf_path("proxy.stats"));
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    rf_proxy_loop(lfd, target, rule);
    _exit(0);
  }
  close(lfd);
  if (pid < 0 || rf_npids == RF_MAX_PIDS)
    return -1;
  rf_pids[rf_npids++] = pid;
  return ntohs(a.sin_port);
}

/* Stops the proxy started last. */
RF_UNUSED static void rf_stop_proxy(void)
{
  pid_t pid = rf_pids[--rf_npids];
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
}

/* Cuts made and Range requests seen (-1 when unknown). */
RF_UNUSED static void rf_proxy_stats(int *cuts, int *ranges)
{
  *cuts = *ranges = -1;
  FILE *f = fopen(rf_path("proxy.stats"), "r");
  if (f && fscanf(f, "%d %d", cuts, ranges) != 2)
    *cuts = *ranges = -1;
  if (f)
    fclose(f);
  if (*cuts < 0)
    *cuts = *ranges = 0; /* no connection closed yet */
}

#endif
