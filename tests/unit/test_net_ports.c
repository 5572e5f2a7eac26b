/* Unit tests for docker's -p syntax (mtk_net_ports_parse, cases after
 * go-connections' nat tests and docker's behaviour) and the host port check
 * (mtk_net_ports_check) naming the process holding a port. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/net.h"
#include "tap.h"
#include "util/cleanup.h"

struct parsed {
  struct mtk_net_port *v;
  size_t n;
  struct mtk_err *err;
};

static void parsed_free(struct parsed *p)
{
  free(p->v);
  mtk_err_free(&p->err);
}

#define mtk_autoparsed __attribute__((cleanup(parsed_free))) struct parsed

static int parse(struct parsed *p, const char *spec)
{
  return mtk_net_ports_parse(spec, &p->v, &p->n, &p->err);
}

/* Expects spec to parse to one port with these fields. */
static int one(const char *spec, const char *proto, const char *ip, int host, int ctr)
{
  mtk_autoparsed p = {0};
  if (parse(&p, spec) < 0) {
    printf("#   %s: %s\n", spec, p.err->msg);
    return 1;
  }
  MTK_ASSERT_EQ(p.n, 1);
  MTK_ASSERT_STREQ(p.v[0].proto, proto);
  MTK_ASSERT_STREQ(p.v[0].host_ip, ip);
  MTK_ASSERT_EQ(p.v[0].host_port, host);
  MTK_ASSERT_EQ(p.v[0].ctr_port, ctr);
  return 0;
}

/* Expects spec to be refused with EINVAL and a message containing `msg`. */
static int bad(const char *spec, const char *msg)
{
  mtk_autoparsed p = {0};
  int r = parse(&p, spec);
  MTK_ASSERT(r < 0);
  MTK_ASSERT(p.err != NULL);
  MTK_ASSERT_EQ(p.err->code, EINVAL);
  MTK_ASSERT_CONTAINS(p.err->msg, msg);
  MTK_ASSERT(p.err->hint != NULL);
  MTK_ASSERT_EQ(p.n, 0);
  MTK_ASSERT(p.v == NULL);
  return 0;
}

static int test_parse_forms(void)
{
  int f = 0;
  f |= one("80", "tcp", "", 0, 80);
  f |= one("8080:80", "tcp", "", 8080, 80);
  f |= one("127.0.0.1:8080:80/udp", "udp", "127.0.0.1", 8080, 80);
  f |= one("127.0.0.1::80", "tcp", "127.0.0.1", 0, 80);
  f |= one("192.168.1.100::6000/udp", "udp", "192.168.1.100", 0, 6000);
  f |= one("80/UDP", "udp", "", 0, 80); /* the protocol is lower-cased */
  f |= one("80/", "tcp", "", 0, 80);    /* empty protocol = tcp */
  f |= one("80/tcp", "tcp", "", 0, 80);
  f |= one("0:80", "tcp", "", 0, 80);  /* host port 0 = ephemeral */
  f |= one("0123", "tcp", "", 0, 123); /* strconv.ParseInt: leading zeros */
  f |= one("+80", "tcp", "", 0, 80);   /* ... and a sign */
  f |= one("80-80", "tcp", "", 0, 80); /* a range of one */
  f |= one("8000-8000:80", "tcp", "", 8000, 80);
  f |= one("65535:1", "tcp", "", 65535, 1);
  return f;
}

static int test_parse_ipv6(void)
{
  int f = 0;
  f |= one("[2001:4860:0:2001::68]::333", "tcp", "2001:4860:0:2001::68", 0, 333);
  f |= one("[::1]:80:80", "tcp", "::1", 80, 80);
  f |= one("2001:4860:0:2001::68::333", "tcp", "2001:4860:0:2001::68", 0, 333);
  f |= one("::1:80:80", "tcp", "::1", 80, 80);
  f |= one("::::80", "tcp", "::", 0, 80);
  f |= one("[::1]:5353:53/udp", "udp", "::1", 5353, 53);
  f |= one("[1.2.3.4]:80:80", "tcp", "1.2.3.4", 80, 80);     /* brackets around IPv4 */
  f |= one("[0:0:0:0:0:0:0:1]:80:80", "tcp", "::1", 80, 80); /* canonical form */
  return f;
}

static int test_parse_ranges(void)
{
  mtk_autoparsed p = {0};
  MTK_ASSERT_EQ(parse(&p, "0.0.0.0:1234-1235:3333-3334/tcp"), 0);
  MTK_ASSERT_EQ(p.n, 2);
  MTK_ASSERT_STREQ(p.v[0].host_ip, "0.0.0.0");
  MTK_ASSERT_EQ(p.v[0].host_port, 1234);
  MTK_ASSERT_EQ(p.v[0].ctr_port, 3333);
  MTK_ASSERT_EQ(p.v[1].host_port, 1235);
  MTK_ASSERT_EQ(p.v[1].ctr_port, 3334);
  /* appended, not replaced; a container range alone: all ephemeral */
  MTK_ASSERT_EQ(parse(&p, "2345-2347/udp"), 0);
  MTK_ASSERT_EQ(p.n, 5);
  for (size_t i = 2; i < 5; i++) {
    MTK_ASSERT_STREQ(p.v[i].proto, "udp");
    MTK_ASSERT_EQ(p.v[i].host_port, 0);
    MTK_ASSERT_EQ(p.v[i].ctr_port, 2345 + (int) i - 2);
  }
  /* a failure leaves what was parsed before alone */
  MTK_ASSERT(parse(&p, "1-2:3") < 0);
  MTK_ASSERT_EQ(p.n, 5);
  MTK_ASSERT_EQ(p.v[4].ctr_port, 2347);
  return 0;
}

static int test_parse_errors(void)
{
  int f = 0;
  f |= bad("", "no container port given");
  f |= bad("8000:", "no container port given");
  f |= bad("/udp", "no container port given");
  f |= bad("127.0.0.1:8000:/tcp", "no container port given");
  f |= bad("80/sctp", "protocol sctp is not supported");
  f |= bad("80/SCTP", "protocol sctp is not supported");
  f |= bad("80/foo", "invalid protocol \"foo\"");
  f |= bad("80/tcp/udp", "invalid protocol \"tcp/udp\"");
  f |= bad("localhost:1234:1234/tcp", "host IP \"localhost\" is not an IP address");
  f |= bad("localhost:1234-1236:1234-1236/tcp", "is not an IP address");
  f |= bad("[::1:80:80", "host IP \"[::1\" is missing its closing ']'");
  f |= bad("fe80::1%eth0:80:80", "is not an IP address");
  f |= bad("192.168.1.100", "container port \"192.168.1.100\" is not a number");
  f |= bad("192.168.1.100:-1:-1", "container port \"-1\" is not a number");
  f |= bad("asdf", "container port \"asdf\" is not a number");
  f |= bad("1asdf", "container port \"1asdf\" is not a number");
  f |= bad("65536", "container port \"65536\" is out of range (0-65535)");
  f |= bad("99999999999999999999", "is out of range");
  f |= bad("70000:80", "host port \"70000\" is out of range (0-65535)");
  f |= bad("x:80", "host port \"x\" is not a number");
  f |= bad("0", "container port 0 cannot be published");
  f |= bad("80-70000", "container port \"70000\" in \"80-70000\" is out of range");
  f |= bad("1-2-3", "container port \"2-3\" in \"1-2-3\" is not a number");
  f |= bad("82-80", "container port range \"82-80\" ends below its start");
  f |= bad("9000-8000:80", "host port range \"9000-8000\" ends below its start");
  f |= bad("8000-8001:80-82", "the host port range 8000-8001 (2 ports) and the container port "
                              "range 80-82 (3 ports) differ in length");
  f |= bad("8000:80-82", "differ in length");
  f |= bad("8000-8010:80", "a host port range for one container port");
  return f;
}

/* ------------------------------------------------------------ the check */

/* A socket bound on 127.0.0.1 at a port the kernel picks (listening for
 * TCP); its port in *port. */
static int hold_port(bool udp, uint16_t *port)
{
  int fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(a);
  if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || (!udp && listen(fd, 8) < 0) ||
      getsockname(fd, (struct sockaddr *) &a, &len) < 0)
    return -1;
  *port = ntohs(a.sin_port);
  return fd;
}

static struct mtk_net_port port_of(const char *proto, const char *ip, uint16_t host)
{
  struct mtk_net_port p = {.host_port = host, .ctr_port = 80};
  snprintf(p.proto, sizeof(p.proto), "%s", proto);
  snprintf(p.host_ip, sizeof(p.host_ip), "%s", ip);
  return p;
}

static int expect_taken(const struct mtk_net_port *p, size_t n, const char *who)
{
  struct mtk_err *err = NULL;
  int r = mtk_net_ports_check(p, n, &err);
  MTK_ASSERT(r < 0);
  MTK_ASSERT_EQ(err->code, EADDRINUSE);
  MTK_ASSERT_CONTAINS(err->msg, "is already in use by ");
  MTK_ASSERT_CONTAINS(err->msg, who);
  MTK_ASSERT_CONTAINS(err->hint, "stop that process or publish another host port");
  mtk_err_free(&err);
  return 0;
}

static int test_check_taken_by_self(void)
{
  for (int udp = 0; udp < 2; udp++) {
    uint16_t port;
    mtk_autoclose int fd = hold_port(udp, &port);
    MTK_ASSERT(fd >= 0);
    char who[64], msg[128];
    snprintf(who, sizeof(who), "process %d (test_net_ports)", (int) getpid());
    const char *proto = udp ? "udp" : "tcp";
    struct mtk_net_port p = port_of(proto, "127.0.0.1", port);
    snprintf(msg, sizeof(msg), "port %u/%s on 127.0.0.1", (unsigned) port, proto);
    struct mtk_err *err = NULL;
    MTK_ASSERT(mtk_net_ports_check(&p, 1, &err) < 0);
    MTK_ASSERT_CONTAINS(err->msg, msg);
    MTK_ASSERT_CONTAINS(err->msg, who);
    MTK_ASSERT_CONTAINS(err->hint, udp ? "(-p OTHER:80/udp)" : "(-p OTHER:80)");
    mtk_err_free(&err);
    /* all addresses (0.0.0.0) collide with the one on 127.0.0.1 */
    p = port_of(proto, "", port);
    if (expect_taken(&p, 1, who))
      return 1;
    /* the other protocol on the same number is free */
    p = port_of(udp ? "tcp" : "udp", "127.0.0.1", port);
    MTK_ASSERT_EQ(mtk_net_ports_check(&p, 1, NULL), 0);
  }
  return 0;
}

/* The holder is a child process with its own name. */
static int test_check_taken_by_child(void)
{
  int sync[2];
  MTK_ASSERT_EQ(pipe(sync), 0);
  pid_t pid = fork();
  MTK_ASSERT(pid >= 0);
  if (pid == 0) {
    prctl(PR_SET_NAME, "mtk-holder");
    uint16_t port;
    int fd = hold_port(false, &port);
    if (write(sync[1], &port, sizeof(port)) != sizeof(port) || fd < 0)
      _exit(1);
    pause();
    _exit(0);
  }
  close(sync[1]);
  uint16_t port = 0;
  ssize_t got = read(sync[0], &port, sizeof(port));
  close(sync[0]);
  char who[64];
  snprintf(who, sizeof(who), "process %d (mtk-holder)", (int) pid);
  struct mtk_net_port p = port_of("tcp", "127.0.0.1", port);
  int f = got == sizeof(port) ? expect_taken(&p, 1, who) : 1;
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return f;
}

static int test_check_free_and_ephemeral(void)
{
  uint16_t port;
  int fd = hold_port(false, &port);
  MTK_ASSERT(fd >= 0);
  close(fd); /* now free (nothing else picks it this soon) */
  struct mtk_net_port v[3] = {port_of("tcp", "127.0.0.1", port), port_of("udp", "", port),
                              port_of("tcp", "", 0)};
  struct mtk_err *err = NULL;
  int r = mtk_net_ports_check(v, 3, &err);
  if (r < 0)
    printf("#   %s\n", err->msg);
  MTK_ASSERT_EQ(r, 0);
  MTK_ASSERT(err == NULL);
  MTK_ASSERT_EQ(mtk_net_ports_check(NULL, 0, NULL), 0);
  return 0;
}

static int test_check_twice_and_bad_address(void)
{
  uint16_t port;
  int fd = hold_port(false, &port);
  MTK_ASSERT(fd >= 0);
  close(fd);
  struct mtk_net_port v[2] = {port_of("tcp", "", port), port_of("tcp", "127.0.0.1", port)};
  v[1].ctr_port = 81;
  struct mtk_err *err = NULL;
  MTK_ASSERT(mtk_net_ports_check(v, 2, &err) < 0);
  MTK_ASSERT_EQ(err->code, EADDRINUSE);
  MTK_ASSERT_CONTAINS(err->msg, "published twice (container ports 80 and 81)");
  mtk_err_free(&err);
  /* on distinct addresses (or protocols) the same number is fine to ask for */
  struct mtk_net_port w[2] = {port_of("tcp", "127.0.0.2", port), port_of("tcp", "127.0.0.3", port)};
  MTK_ASSERT_EQ(mtk_net_ports_check(w, 2, NULL), 0);
  /* TEST-NET-1 is on no host: nothing to bind */
  struct mtk_net_port x = port_of("tcp", "192.0.2.1", 8000);
  MTK_ASSERT(mtk_net_ports_check(&x, 1, &err) < 0);
  MTK_ASSERT_EQ(err->code, EADDRNOTAVAIL);
  MTK_ASSERT_CONTAINS(err->msg, "port 8000/tcp on 192.0.2.1: the address is not on this host");
  mtk_err_free(&err);
  struct mtk_net_port y = port_of("sctp", "", 8000);
  MTK_ASSERT(mtk_net_ports_check(&y, 1, &err) < 0);
  MTK_ASSERT_EQ(err->code, EINVAL);
  mtk_err_free(&err);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"parse: docker's forms", test_parse_forms},
      {"parse: IPv6 host addresses", test_parse_ipv6},
      {"parse: ranges, appending", test_parse_ranges},
      {"parse: errors", test_parse_errors},
      {"check: a port held by this process", test_check_taken_by_self},
      {"check: a port held by a child names it", test_check_taken_by_child},
      {"check: free and ephemeral ports pass", test_check_free_and_ephemeral},
      {"check: published twice, address not on the host", test_check_twice_and_bad_address},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
