/* Unit tests for the compose value parsers (src/compose/values.c): Go
 * durations, byte sizes, Go float formatting, port and volume specs. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "compose/values.h"
#include "mtk/err.h"
#include "tap.h"
#include "util/cleanup.h"

static int64_t dur(const char *s)
{
  int64_t ns = -424242;
  struct mtk_err *err = NULL;
  if (mtk_duration_parse(s, &ns, &err) < 0) {
    mtk_err_free(&err);
    return -424242;
  }
  return ns;
}

static int test_duration_parse(void)
{
  MTK_ASSERT_EQ(dur("90s"), 90000000000LL);
  MTK_ASSERT_EQ(dur("1m30s"), 90000000000LL);
  MTK_ASSERT_EQ(dur("1h"), 3600000000000LL);
  MTK_ASSERT_EQ(dur("500ms"), 500000000LL);
  MTK_ASSERT_EQ(dur("1.5s"), 1500000000LL);
  MTK_ASSERT_EQ(dur(".5s"), 500000000LL);
  MTK_ASSERT_EQ(dur("-2m"), -120000000000LL);
  MTK_ASSERT_EQ(dur("+3s"), 3000000000LL);
  MTK_ASSERT_EQ(dur("0"), 0);
  MTK_ASSERT_EQ(dur("-0"), 0);
  MTK_ASSERT_EQ(dur("2d"), 2LL * 86400 * 1000000000LL);
  MTK_ASSERT_EQ(dur("1w"), 7LL * 86400 * 1000000000LL);
  MTK_ASSERT_EQ(dur("10us"), 10000);
  MTK_ASSERT_EQ(dur("10\xc2\xb5s"), 10000);
  MTK_ASSERT_EQ(dur("7ns"), 7);
  MTK_ASSERT_EQ(dur("1h2m3.5s"), 3723500000000LL);
  MTK_ASSERT_EQ(dur("10"), -424242);
  MTK_ASSERT_EQ(dur(""), -424242);
  MTK_ASSERT_EQ(dur("s"), -424242);
  MTK_ASSERT_EQ(dur("1x"), -424242);
  MTK_ASSERT_EQ(dur("1.s"), 1000000000LL);
  MTK_ASSERT_EQ(dur(".s"), -424242);
  MTK_ASSERT_EQ(dur("9999999999999h"), -424242);
  return 0;
}

static int test_duration_errors(void)
{
  struct mtk_err *err = NULL;
  int64_t ns;
  MTK_ASSERT(mtk_duration_parse("10", &ns, &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "time: missing unit in duration \"10\"");
  mtk_err_free(&err);
  MTK_ASSERT(mtk_duration_parse("3x", &ns, &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "time: unknown unit \"x\" in duration \"3x\"");
  mtk_err_free(&err);
  MTK_ASSERT(mtk_duration_parse("abc", &ns, &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "time: invalid duration \"abc\"");
  MTK_ASSERT_EQ(err->code, MTK_E_INVALID);
  mtk_err_free(&err);
  return 0;
}

static int check_fmt(int64_t ns, const char *want)
{
  mtk_autofree char *s = mtk_duration_format(ns);
  MTK_ASSERT_STREQ(s, want);
  return 0;
}

static int test_duration_format(void)
{
  int r = 0;
  r |= check_fmt(90000000000LL, "1m30s");
  r |= check_fmt(3600000000000LL, "1h0m0s");
  r |= check_fmt(500000000LL, "500ms");
  r |= check_fmt(0, "0s");
  r |= check_fmt(1500000000LL, "1.5s");
  r |= check_fmt(60000000000LL, "1m0s");
  r |= check_fmt(10000000000LL, "10s");
  r |= check_fmt(1000, "1\xc2\xb5s");
  r |= check_fmt(1500, "1.5\xc2\xb5s");
  r |= check_fmt(7, "7ns");
  r |= check_fmt(1234567, "1.234567ms");
  r |= check_fmt(-2000000000LL, "-2s");
  r |= check_fmt(48LL * 3600 * 1000000000LL, "48h0m0s");
  r |= check_fmt(3723500000000LL, "1h2m3.5s");
  r |= check_fmt(1000000001LL, "1.000000001s");
  r |= check_fmt(INT64_MIN, "-2562047h47m16.854775808s");
  return r;
}

static int64_t bytes(const char *s)
{
  int64_t v = -424242;
  struct mtk_err *err = NULL;
  if (mtk_bytes_parse(s, &v, &err) < 0) {
    mtk_err_free(&err);
    return -424242;
  }
  return v;
}

static int test_bytes(void)
{
  MTK_ASSERT_EQ(bytes("2gb"), 2147483648LL);
  MTK_ASSERT_EQ(bytes("4G"), 4294967296LL);
  MTK_ASSERT_EQ(bytes("512m"), 536870912LL);
  MTK_ASSERT_EQ(bytes("1024"), 1024);
  MTK_ASSERT_EQ(bytes("-1"), -1);
  MTK_ASSERT_EQ(bytes("1.5g"), 1610612736LL);
  MTK_ASSERT_EQ(bytes("64m"), 67108864LL);
  MTK_ASSERT_EQ(bytes("50M"), 52428800LL);
  MTK_ASSERT_EQ(bytes("10 KiB"), 10240);
  MTK_ASSERT_EQ(bytes("10kib"), 10240);
  MTK_ASSERT_EQ(bytes("10b"), 10);
  MTK_ASSERT_EQ(bytes("10B"), 10);
  MTK_ASSERT_EQ(bytes("1.9"), 1);
  MTK_ASSERT_EQ(bytes("1e3k"), 1024000);
  MTK_ASSERT_EQ(bytes("10x"), -424242);
  MTK_ASSERT_EQ(bytes("10kx"), -424242);
  MTK_ASSERT_EQ(bytes("10kbb"), -424242);
  MTK_ASSERT_EQ(bytes("10bb"), -424242);
  MTK_ASSERT_EQ(bytes("abc"), -424242);
  MTK_ASSERT_EQ(bytes("-1k"), -424242);
  MTK_ASSERT_EQ(bytes(""), -424242);
  struct mtk_err *err = NULL;
  int64_t v;
  MTK_ASSERT(mtk_bytes_parse("12qq", &v, &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "invalid suffix: 'qq'");
  mtk_err_free(&err);
  MTK_ASSERT(mtk_bytes_parse("gb", &v, &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "invalid size: 'gb'");
  mtk_err_free(&err);
  return 0;
}

static int check_float(double v, const char *want)
{
  mtk_autofree char *s = mtk_compose_go_float(v);
  MTK_ASSERT_STREQ(s, want);
  return 0;
}

static int test_go_float(void)
{
  int r = 0;
  r |= check_float(2.5, "2.5");
  r |= check_float(1.0, "1");
  r |= check_float(1000.0, "1000");
  r |= check_float(100000.0, "100000");
  r |= check_float(1e6, "1e+06");
  r |= check_float(1234567.0, "1.234567e+06");
  r |= check_float(0.0001, "0.0001");
  r |= check_float(0.00001, "1e-05");
  r |= check_float(-0.5, "-0.5");
  r |= check_float(0.1, "0.1");
  r |= check_float(1e100, "1e+100");
  r |= check_float(0.0, "0");
  r |= check_float(INFINITY, "+Inf");
  r |= check_float(NAN, "NaN");
  r |= check_float(123.456, "123.456");
  MTK_ASSERT(mtk_compose_go_float32(0.1) == 0.1);
  MTK_ASSERT(mtk_compose_go_float32(1.5) == 1.5);
  MTK_ASSERT(mtk_compose_go_float32(0.123456789123) == 0.12345679);
  double d;
  MTK_ASSERT(mtk_compose_parse_float("1.5", &d) && d == 1.5);
  MTK_ASSERT(mtk_compose_parse_float("-1e3", &d) && d == -1000);
  MTK_ASSERT(mtk_compose_parse_float(".5", &d) && d == 0.5);
  MTK_ASSERT(!mtk_compose_parse_float("0x10", &d));
  MTK_ASSERT(mtk_compose_parse_float("0x1p4", &d) && d == 16);
  MTK_ASSERT(!mtk_compose_parse_float(" 1", &d));
  MTK_ASSERT(!mtk_compose_parse_float("1_0", &d));
  MTK_ASSERT(!mtk_compose_parse_float("1e999", &d));
  MTK_ASSERT(!mtk_compose_parse_float("", &d));
  return r;
}

static int test_misc_parsers(void)
{
  int64_t i;
  bool b;
  MTK_ASSERT(mtk_compose_parse_int("+42", &i) && i == 42);
  MTK_ASSERT(!mtk_compose_parse_int("4_2", &i));
  MTK_ASSERT(!mtk_compose_parse_int("99999999999999999999", &i));
  MTK_ASSERT(mtk_compose_parse_bool("Yes", &b) && b);
  MTK_ASSERT(mtk_compose_parse_bool("OFF", &b) && !b);
  MTK_ASSERT(!mtk_compose_parse_bool("2", &b));
  MTK_ASSERT(mtk_compose_strconv_parse_bool("1", &b) && b);
  MTK_ASSERT(mtk_compose_strconv_parse_bool("T", &b) && b);
  MTK_ASSERT(mtk_compose_strconv_parse_bool("False", &b) && !b);
  MTK_ASSERT(!mtk_compose_strconv_parse_bool("yes", &b));
  MTK_ASSERT(!mtk_compose_strconv_parse_bool("tRUE", &b));
  MTK_ASSERT(mtk_compose_ip_valid("127.0.0.1"));
  MTK_ASSERT(mtk_compose_ip_valid("::1"));
  MTK_ASSERT(mtk_compose_ip_valid("::ffff:10.0.0.1"));
  MTK_ASSERT(!mtk_compose_ip_valid("127.0.0.01"));
  MTK_ASSERT(!mtk_compose_ip_valid("localhost"));
  MTK_ASSERT(!mtk_compose_ip_valid("1.2.3"));
  return 0;
}

/* Port spec -> "ip|published|target|proto;..." for compact comparisons. */
static char *ports(const char *spec)
{
  struct mtk_port_spec *p = NULL;
  size_t n = 0;
  struct mtk_err *err = NULL;
  if (mtk_compose_port_parse(spec, &p, &n, &err) < 0) {
    char *s = mtk_xasprintf("ERR %s", err->msg);
    mtk_err_free(&err);
    return s;
  }
  char *s = mtk_xstrdup("");
  for (size_t i = 0; i < n; i++) {
    char *t = mtk_xasprintf("%s%s%s|%s|%u|%s", s, i ? ";" : "", p[i].host_ip, p[i].published,
                            p[i].target, p[i].protocol);
    free(s);
    s = t;
  }
  mtk_compose_port_specs_free(p, n);
  return s;
}

#define PORTS_EQ(spec, want)                                                                       \
  do {                                                                                             \
    mtk_autofree char *got_ = ports(spec);                                                         \
    MTK_ASSERT_STREQ(got_, want);                                                                  \
  } while (0)

static int test_ports(void)
{
  PORTS_EQ("3000", "||3000|tcp");
  PORTS_EQ("3001-3002", "||3001|tcp;||3002|tcp");
  PORTS_EQ("8000:8000", "|8000|8000|tcp");
  PORTS_EQ("9090-9091:8080-8081", "|9090|8080|tcp;|9091|8081|tcp");
  PORTS_EQ("127.0.0.1:8001:8001", "127.0.0.1|8001|8001|tcp");
  PORTS_EQ("127.0.0.1:5000-5001:5000-5001", "127.0.0.1|5000|5000|tcp;127.0.0.1|5001|5001|tcp");
  PORTS_EQ("6060:6060/udp", "|6060|6060|udp");
  PORTS_EQ("6060:6060/UDP", "|6060|6060|udp");
  PORTS_EQ("8000-8010:80", "|8000-8010|80|tcp");
  PORTS_EQ("127.0.0.1::80", "127.0.0.1||80|tcp");
  PORTS_EQ("[::1]:8080:80", "::1|8080|80|tcp");
  PORTS_EQ("80/tcp/x", "||80|tcp");
  PORTS_EQ("80/", "||80|tcp");
  /* go-connections keys ports by "N/proto" and compose-go sorts them as strings. */
  PORTS_EQ("9999-10000", "||10000|tcp;||9999|tcp");
  PORTS_EQ("9998-10001:9998-10001",
           "|10000|10000|tcp;|10001|10001|tcp;|9998|9998|tcp;|9999|9999|tcp");
  PORTS_EQ("80:80:80/tcpx", "ERR Invalid ip address: 80");
  PORTS_EQ("80/tcpx", "ERR Invalid proto: tcpx");
  PORTS_EQ("abc", "ERR Invalid containerPort: abc");
  PORTS_EQ("70000", "ERR Invalid containerPort: 70000");
  PORTS_EQ("x:80", "ERR Invalid hostPort: x");
  PORTS_EQ("", "ERR No port specified: <empty>");
  PORTS_EQ("8000-8001:80-82", "ERR Invalid ranges specified for container and host Ports: "
                              "80-82 and 8000-8001");
  PORTS_EQ("::1:8080:80", "ERR Invalid ip address ::1: address ::1:: too many colons in address");
  PORTS_EQ("[::1:8080:80", "ERR Invalid ip address [::1: address [::1:: missing ']' in address");
  PORTS_EQ("82-80", "ERR Invalid containerPort: 82-80");
  return 0;
}

static char *vol(const char *spec)
{
  struct mtk_volume_spec v;
  struct mtk_err *err = NULL;
  if (mtk_compose_volume_parse(spec, &v, &err) < 0) {
    char *s = mtk_xasprintf("ERR %s", err->msg);
    mtk_err_free(&err);
    return s;
  }
  char *s = mtk_xasprintf(
      "%s|%s|%s|%s%s%s%s%s%s%s", v.type, v.source, v.target, v.read_only ? "ro," : "",
      v.has_bind ? "bind," : "", v.propagation ? v.propagation : "", v.selinux ? v.selinux : "",
      v.create_host_path ? "create," : "", v.has_volume ? "volume," : "", v.nocopy ? "nocopy" : "");
  mtk_compose_volume_spec_clear(&v);
  return s;
}

#define VOL_EQ(spec, want)                                                                         \
  do {                                                                                             \
    mtk_autofree char *got_ = vol(spec);                                                           \
    MTK_ASSERT_STREQ(got_, want);                                                                  \
  } while (0)

static int test_volumes(void)
{
  VOL_EQ("/var/lib/anon", "volume||/var/lib/anon|volume,");
  VOL_EQ("./src:/app/src", "bind|./src|/app/src|bind,create,");
  VOL_EQ("./shared:/shared:ro", "bind|./shared|/shared|ro,bind,create,");
  VOL_EQ("/opt/data:/var/lib/data:z", "bind|/opt/data|/var/lib/data|bind,zcreate,");
  VOL_EQ("~/configs:/etc/configs:ro", "bind|~/configs|/etc/configs|ro,bind,create,");
  VOL_EQ("data:/var/lib/db", "volume|data|/var/lib/db|volume,");
  VOL_EQ("cache:/cache:nocopy", "volume|cache|/cache|volume,nocopy");
  VOL_EQ("data:/db:ro,rshared", "volume|data|/db|ro,bind,rsharedvolume,");
  VOL_EQ("data:/db:rw,bogus", "volume|data|/db|volume,");
  VOL_EQ("ab", "volume||ab|");
  VOL_EQ("c:\\data:/data", "bind|c:\\data|/data|bind,create,");
  VOL_EQ("${HOME:-/x}:/home", "volume|${HOME:-/x}|/home|volume,");
  VOL_EQ("", "ERR invalid empty volume spec");
  VOL_EQ("ab:/b:/c:d", "ERR invalid spec: ab:/b:/c:d: too many colons");
  VOL_EQ("/a::/b", "ERR invalid spec: /a::/b: empty section between colons");
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"duration_parse", test_duration_parse},
      {"duration_errors", test_duration_errors},
      {"duration_format", test_duration_format},
      {"bytes", test_bytes},
      {"go_float", test_go_float},
      {"misc_parsers", test_misc_parsers},
      {"ports", test_ports},
      {"volumes", test_volumes},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
