/* Published ports: docker's -p syntax (mtk_net_ports_parse, the rules of
 * go-connections' nat.ParsePortSpec) and the check, before anything is
 * created, that every host port can be bound, naming the process that holds
 * a taken one (mtk_net_ports_check: /proc/net/{tcp,udp}{,6} gives the inode
 * of the socket bound to the port, /proc/PID/fd the process holding it).
 *
 * An empty host IP means 0.0.0.0 and, where the host has IPv6, [::] (as
 * docker): both are checked here and bound by the proxy (proxy.c). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net.h"
#include "util/cleanup.h"

#define SYNTAX_HINT                                                                                \
  "the syntax is [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|/udp], e.g. 8080:80, "                  \
  "127.0.0.1:8080:80/udp, [::1]:8080:80 or 8000-8002:80-82"

/* ------------------------------------------------------------ parsing */

struct spec {
  const char *raw;   /* borrowed: the whole -p value, for messages */
  char *ip;          /* points into buf: "" when not given */
  char *host;        /* "" when not given */
  char *ctr;         /* container port or range */
  const char *proto; /* "tcp" or "udp" */
};

static int fail(struct mtk_err **err, const char *raw, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct mtk_err **err, const char *raw, const char *fmt, ...)
{
  mtk_autofree char *m = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&m, fmt, ap) < 0)
    abort();
  va_end(ap);
  int r = mtk_err_set(err, EINVAL, "port \"%s\": %s", raw, m);
  mtk_err_hint(err, SYNTAX_HINT);
  return r;
}

/* [ip:][host:]ctr, where ip may itself hold colons (IPv6): the last two
 * colons separate the parts. */
static void split_parts(char *buf, struct spec *s)
{
  char *last = strrchr(buf, ':');
  s->ip = s->host = buf + strlen(buf);
  if (last == NULL) {
    s->ctr = buf;
    return;
  }
  *last = '\0';
  s->ctr = last + 1;
  char *prev = strrchr(buf, ':');
  if (prev == NULL) {
    s->host = buf;
    return;
  }
  *prev = '\0';
  s->host = prev + 1;
  s->ip = buf;
}

static int split_proto(struct spec *s, struct mtk_err **err)
{
  char *slash = strchr(s->ctr, '/');
  char *proto = "";
  if (slash) {
    *slash = '\0';
    proto = slash + 1;
  }
  if (s->ctr[0] == '\0')
    return fail(err, s->raw, "no container port given");
  for (char *c = proto; *c; c++)
    *c = (char) tolower((unsigned char) *c);
  if (proto[0] == '\0' || strcmp(proto, "tcp") == 0)
    s->proto = "tcp";
  else if (strcmp(proto, "udp") == 0)
    s->proto = "udp";
  else if (strcmp(proto, "sctp") == 0)
    return fail(err, s->raw, "protocol sctp is not supported (only tcp and udp are)");
  else
    return fail(err, s->raw, "invalid protocol \"%s\" (tcp or udp)", proto);
  return 0;
}

/* The host IP without brackets, as an address in its canonical text form. */
static int parse_ip(struct spec *s, char out[46], struct mtk_err **err)
{
  char *ip = s->ip;
  out[0] = '\0';
  if (ip[0] == '\0')
    return 0;
  size_t len = strlen(ip);
  if (ip[0] == '[') {
    if (ip[len - 1] != ']' || len < 3 || memchr(ip + 1, ']', len - 2))
      return fail(err, s->raw, "host IP \"%s\" is missing its closing ']'", ip);
    ip[len - 1] = '\0';
    ip++;
  }
  unsigned char bin[16];
  int fam = strchr(ip, ':') ? AF_INET6 : AF_INET;
  if (inet_pton(fam, ip, bin) != 1) {
    fail(err, s->raw, "host IP \"%s\" is not an IP address", ip);
    mtk_err_hint(err, "host names are not accepted: give an address such as 127.0.0.1 or [::1]");
    return -1;
  }
  inet_ntop(fam, bin, out, 46);
  return 0;
}

/* One number as Go's strconv.ParseInt(s, 10, 0) reads it (sign allowed),
 * within 0-65535.  NULL on success, else why not. */
static const char *parse_number(const char *s, int *out)
{
  const char *p = s;
  bool neg = false;
  if (*p == '+' || *p == '-')
    neg = *p++ == '-';
  if (*p == '\0')
    return "is not a number";
  long v = 0;
  for (; *p; p++) {
    if (!isdigit((unsigned char) *p))
      return "is not a number";
    if (v <= 65535)
      v = v * 10 + (*p - '0');
  }
  if (neg && v != 0)
    return "is out of range (0-65535)";
  if (v > 65535)
    return "is out of range (0-65535)";
  *out = (int) v;
  return NULL;
}

static int bad_number(const struct spec *s, const char *what, const char *txt, const char *piece,
                      const char *why, struct mtk_err **err)
{
  if (piece[0] == '\0' || strcmp(piece, txt) == 0)
    return fail(err, s->raw, "%s \"%s\" %s", what, txt, why);
  return fail(err, s->raw, "%s \"%s\" in \"%s\" %s", what, piece, txt, why);
}

/* "80" or "8000-8010" (nat's parsePortRange). */
static int parse_range(const struct spec *s, const char *what, const char *txt, int *lo, int *hi,
                       struct mtk_err **err)
{
  mtk_autofree char *start = mtk_xstrdup(txt);
  char *dash = strchr(start, '-');
  const char *end = NULL;
  if (dash) {
    *dash = '\0';
    end = dash + 1;
  }
  const char *why = parse_number(start, lo);
  if (why)
    return bad_number(s, what, txt, start, why, err);
  *hi = *lo;
  if (end == NULL || strcmp(start, end) == 0)
    return 0;
  why = parse_number(end, hi);
  if (why)
    return bad_number(s, what, txt, end, why, err);
  if (*hi < *lo)
    return fail(err, s->raw, "%s range \"%s\" ends below its start", what, txt);
  return 0;
}

struct ranges {
  int clo, chi; /* container ports */
  int hlo, hhi; /* host ports; -1 when not given (ephemeral) */
};

static int parse_ranges(const struct spec *s, struct ranges *r, struct mtk_err **err)
{
  if (parse_range(s, "container port", s->ctr, &r->clo, &r->chi, err) < 0)
    return -1;
  if (r->clo == 0)
    return fail(err, s->raw, "container port 0 cannot be published (1-65535)");
  r->hlo = r->hhi = -1;
  if (s->host[0] == '\0')
    return 0;
  if (parse_range(s, "host port", s->host, &r->hlo, &r->hhi, err) < 0)
    return -1;
  if (r->hhi - r->hlo == r->chi - r->clo)
    return 0;
  if (r->chi != r->clo)
    return fail(err, s->raw,
                "the host port range %s (%d ports) and the container port range %s (%d ports) "
                "differ in length",
                s->host, r->hhi - r->hlo + 1, s->ctr, r->chi - r->clo + 1);
  fail(err, s->raw,
       "a host port range for one container port (any free port of %s) is not supported", s->host);
  mtk_err_hint(err, "publish one host port (-p %d:%d), or none to get a free one (-p %d)", r->hlo,
               r->clo, r->clo);
  return -1;
}

int mtk_net_ports_parse(const char *spec, struct mtk_net_port **v, size_t *n, struct mtk_err **err)
{
  if (spec == NULL)
    return mtk_err_set(err, EINVAL, "port: no specification given");
  mtk_autofree char *buf = mtk_xstrdup(spec);
  struct spec s = {.raw = spec};
  split_parts(buf, &s);
  char ip[46];
  struct ranges r;
  if (split_proto(&s, err) < 0 || parse_ip(&s, ip, err) < 0 || parse_ranges(&s, &r, err) < 0)
    return -1;
  size_t count = (size_t) (r.chi - r.clo + 1);
  struct mtk_net_port *nv = mtk_xrealloc(*v, (*n + count) * sizeof(*nv));
  for (size_t i = 0; i < count; i++) {
    struct mtk_net_port *p = &nv[*n + i];
    memset(p, 0, sizeof(*p));
    snprintf(p->proto, sizeof(p->proto), "%s", s.proto);
    memcpy(p->host_ip, ip, sizeof(p->host_ip));
    p->host_port = (uint16_t) (r.hlo < 0 ? 0 : r.hlo + (int) i);
    p->ctr_port = (uint16_t) (r.clo + (int) i);
  }
  *v = nv;
  *n += count;
  return 0;
}

/* ------------------------------------------------------------ checking */

/* The address family and binary address of a host IP ("" = 0.0.0.0). */
static int host_addr(const char *ip, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
  memset(ss, 0, sizeof(*ss));
  if (strchr(ip, ':')) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) ss;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    *len = sizeof(*a6);
    return inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1 ? 0 : -1;
  }
  struct sockaddr_in *a4 = (struct sockaddr_in *) ss;
  a4->sin_family = AF_INET;
  a4->sin_port = htons(port);
  *len = sizeof(*a4);
  return inet_pton(AF_INET, ip[0] ? ip : "0.0.0.0", &a4->sin_addr) == 1 ? 0 : -1;
}

/* Binds a socket as the proxy would (SO_REUSEADDR for TCP, as libuv does;
 * [::] with IPV6_V6ONLY) and closes it.  0 or an errno value. */
static int try_bind(const struct sockaddr *sa, socklen_t len, bool udp)
{
  mtk_autoclose int fd = socket(sa->sa_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return errno;
  int one = 1;
  if (!udp)
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (sa->sa_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (bind(fd, sa, len) < 0)
    return errno;
  return 0;
}

/* Whether [::] can be bound at all (IPv6 not disabled on the host). */
static bool have_ipv6(void)
{
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
  int e = try_bind((struct sockaddr *) &a6, sizeof(a6), true);
  return e != EAFNOSUPPORT && e != EADDRNOTAVAIL;
}

#define MAX_INODES 32

/* Appends to ino[] the inodes of the sockets in /proc/net/<file> bound to
 * local port `port` whose rank is `rank` (TCP: 0 = listening, 1 = another
 * state but TIME_WAIT; UDP: always 0). */
static size_t scan_net_file(const char *file, bool tcp, uint16_t port, int rank, unsigned long *ino,
                            size_t n)
{
  mtk_autofree char *path = mtk_xasprintf("/proc/net/%s", file);
  mtk_autofclose FILE *f = fopen(path, "re");
  char line[512];
  if (f == NULL || fgets(line, sizeof(line), f) == NULL) /* the header */
    return n;
  while (n < MAX_INODES && fgets(line, sizeof(line), f)) {
    unsigned lport, st;
    unsigned long inode;
    if (sscanf(line, " %*u: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*x:%*x %*x:%*x %*x %*u %*u %lu",
               &lport, &st, &inode) != 3)
      continue;
    int r = tcp && st != 0x0A ? 1 : 0;
    if (lport == port && inode != 0 && !(tcp && st == 0x06) && r == rank)
      ino[n++] = inode;
  }
  return n;
}

/* Inodes of the sockets of `proto` bound to `port`, both families,
 * listeners first. */
static size_t port_inodes(const char *proto, uint16_t port, unsigned long *ino)
{
  bool tcp = strcmp(proto, "tcp") == 0;
  mtk_autofree char *v6 = mtk_xasprintf("%s6", proto);
  size_t n = 0;
  for (int rank = 0; rank < (tcp ? 2 : 1); rank++) {
    n = scan_net_file(proto, tcp, port, rank, ino, n);
    n = scan_net_file(v6, tcp, port, rank, ino, n);
  }
  return n;
}

/* Whether the process `pid` has one of the sockets open (/proc/PID/fd). */
static bool holds_socket(const char *pid, const unsigned long *ino, size_t n)
{
  mtk_autofree char *dir = mtk_xasprintf("/proc/%s/fd", pid);
  DIR *d = opendir(dir);
  if (d == NULL)
    return false;
  bool found = false;
  struct dirent *e;
  while (!found && (e = readdir(d))) {
    char link[64];
    ssize_t len = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
    unsigned long inode;
    if (len <= 8 || strncmp(link, "socket:[", 8) != 0)
      continue;
    link[len] = '\0';
    if (sscanf(link + 8, "%lu]", &inode) != 1)
      continue;
    for (size_t i = 0; i < n && !found; i++)
      found = ino[i] == inode;
  }
  closedir(d);
  return found;
}

/* "process 1234 (python3)" for the first process (lowest PID) holding one
 * of the sockets, or "another process" when none is visible here (one in
 * another PID namespace, or gone meanwhile).  Owned string. */
static char *holder_of(const unsigned long *ino, size_t n)
{
  DIR *d = n ? opendir("/proc") : NULL;
  struct dirent *e;
  char *who = NULL;
  while (d && who == NULL && (e = readdir(d))) {
    if (!isdigit((unsigned char) e->d_name[0]) || !holds_socket(e->d_name, ino, n))
      continue;
    char comm[64] = "";
    mtk_autofree char *path = mtk_xasprintf("/proc/%s/comm", e->d_name);
    mtk_autofclose FILE *f = fopen(path, "re");
    if (f && fgets(comm, sizeof(comm), f))
      comm[strcspn(comm, "\n")] = '\0';
    who = comm[0] ? mtk_xasprintf("process %s (%s)", e->d_name, comm)
                  : mtk_xasprintf("process %s", e->d_name);
  }
  if (d)
    closedir(d);
  return who ? who : mtk_xstrdup("another process");
}

static const char *shown_ip(const struct mtk_net_port *p)
{
  return p->host_ip[0] ? p->host_ip : "0.0.0.0";
}

static int in_use(const struct mtk_net_port *p, const char *ip, struct mtk_err **err)
{
  unsigned long ino[MAX_INODES];
  size_t n = port_inodes(p->proto, p->host_port, ino);
  mtk_autofree char *who = holder_of(ino, n);
  int r = mtk_err_set(err, EADDRINUSE, "port %u/%s on %s is already in use by %s",
                      (unsigned) p->host_port, p->proto, ip, who);
  mtk_err_hint(err, "stop that process or publish another host port (-p OTHER:%u%s)",
               (unsigned) p->ctr_port, strcmp(p->proto, "udp") == 0 ? "/udp" : "");
  return r;
}

static int bind_error(const struct mtk_net_port *p, const char *ip, int e, struct mtk_err **err)
{
  if (e == EADDRINUSE)
    return in_use(p, ip, err);
  if (e == EADDRNOTAVAIL)
    return mtk_err_set(err, e, "cannot publish port %u/%s on %s: the address is not on this host",
                       (unsigned) p->host_port, p->proto, ip);
  return mtk_err_set(err, e, "cannot publish port %u/%s on %s: %s", (unsigned) p->host_port,
                     p->proto, ip, strerror(e));
}

/* Two host addresses of the same port that cannot both be bound. */
static bool overlap(const char *a, const char *b)
{
  if (a[0] == '\0' || b[0] == '\0' || strcmp(a, b) == 0)
    return true;
  bool a6 = strchr(a, ':') != NULL, b6 = strchr(b, ':') != NULL;
  if (a6 != b6)
    return false;
  return strcmp(a, a6 ? "::" : "0.0.0.0") == 0 || strcmp(b, b6 ? "::" : "0.0.0.0") == 0;
}

static int check_one(const struct mtk_net_port *v, size_t i, bool ipv6, struct mtk_err **err)
{
  const struct mtk_net_port *p = &v[i];
  bool udp = strcmp(p->proto, "udp") == 0;
  if (!udp && strcmp(p->proto, "tcp") != 0)
    return mtk_err_set(err, EINVAL, "port %u: protocol \"%s\" is not supported (tcp or udp)",
                       (unsigned) p->host_port, p->proto);
  struct sockaddr_storage ss;
  socklen_t len;
  if (host_addr(p->host_ip, p->host_port, &ss, &len) < 0)
    return mtk_err_set(err, EINVAL, "port %u/%s: host IP \"%s\" is not an IP address",
                       (unsigned) p->host_port, p->proto, p->host_ip);
  if (p->host_port == 0)
    return 0;
  for (size_t j = 0; j < i; j++)
    if (v[j].host_port == p->host_port && strcmp(v[j].proto, p->proto) == 0 &&
        overlap(v[j].host_ip, p->host_ip))
      return mtk_err_set(err, EADDRINUSE,
                         "host port %u/%s on %s is published twice (container ports %u and %u)",
                         (unsigned) p->host_port, p->proto, shown_ip(p), (unsigned) v[j].ctr_port,
                         (unsigned) p->ctr_port);
  int e = try_bind((struct sockaddr *) &ss, len, udp);
  if (e)
    return bind_error(p, shown_ip(p), e, err);
  if (p->host_ip[0] == '\0' && ipv6) {
    struct sockaddr_in6 a6 = {
        .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT, .sin6_port = htons(p->host_port)};
    e = try_bind((struct sockaddr *) &a6, sizeof(a6), udp);
    if (e)
      return bind_error(p, "::", e, err);
  }
  return 0;
}

int mtk_net_ports_check(const struct mtk_net_port *p, size_t n, struct mtk_err **err)
{
  bool ipv6 = n > 0 && have_ipv6();
  for (size_t i = 0; i < n; i++)
    if (check_one(p, i, ipv6, err) < 0)
      return -1;
  return 0;
}
