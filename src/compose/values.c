/* Value parsers of the compose model, written to accept and print exactly
 * what compose-go's Go dependencies do: go-str2duration and time.Duration,
 * go-units sizes, strconv floats and ints, go-connections port specs and
 * compose-go's format.ParseVolume.  Nothing here knows the node tree. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compose/values.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* ---- durations ---- */

struct unit {
  const char *name;
  int64_t ns;
};

static const struct unit units[] = {
    {"ns", 1LL},
    {"us", 1000LL},
    {"\xc2\xb5s", 1000LL}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000LL}, /* U+03BC Greek mu */
    {"ms", 1000000LL},
    {"s", 1000000000LL},
    {"m", 60LL * 1000000000LL},
    {"h", 3600LL * 1000000000LL},
    {"d", 24LL * 3600LL * 1000000000LL},
    {"w", 168LL * 3600LL * 1000000000LL},
};

static int dur_err(struct mtk_err **err, const char *what, const char *orig)
{
  return mtk_err_set(err, MTK_E_INVALID, "time: %s \"%s\"", what, orig);
}

/* One "<number><unit>" element; advances *sp and adds to *total. */
static int dur_element(const char **sp, const char *orig, uint64_t *total, struct mtk_err **err)
{
  const char *s = *sp;
  uint64_t v = 0, f = 0;
  double scale = 1;
  bool pre = false, post = false, overflow = false;
  if (!(*s == '.' || isdigit((unsigned char) *s)))
    return dur_err(err, "invalid duration", orig);
  for (; isdigit((unsigned char) *s); s++, pre = true) {
    if (v > (uint64_t) INT64_MAX / 10)
      return dur_err(err, "invalid duration", orig);
    v = v * 10 + (uint64_t) (*s - '0');
    if (v > (uint64_t) INT64_MAX)
      return dur_err(err, "invalid duration", orig);
  }
  if (*s == '.') {
    for (s++; isdigit((unsigned char) *s); s++, post = true) {
      if (overflow || f > (uint64_t) INT64_MAX / 10) {
        overflow = true;
        continue;
      }
      uint64_t y = f * 10 + (uint64_t) (*s - '0');
      if (y > (uint64_t) INT64_MAX) {
        overflow = true;
        continue;
      }
      f = y;
      scale *= 10;
    }
  }
  if (!pre && !post)
    return dur_err(err, "invalid duration", orig);
  size_t ulen = 0;
  while (s[ulen] && s[ulen] != '.' && !isdigit((unsigned char) s[ulen]))
    ulen++;
  if (ulen == 0)
    return dur_err(err, "missing unit in duration", orig);
  const struct unit *u = NULL;
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if (strlen(units[i].name) == ulen && memcmp(units[i].name, s, ulen) == 0)
      u = &units[i];
  if (u == NULL)
    return mtk_err_set(err, MTK_E_INVALID, "time: unknown unit \"%.*s\" in duration \"%s\"",
                       (int) ulen, s, orig);
  if (v > (uint64_t) INT64_MAX / (uint64_t) u->ns)
    return dur_err(err, "invalid duration", orig);
  v *= (uint64_t) u->ns;
  if (f > 0) {
    v += (uint64_t) ((double) f * ((double) u->ns / scale));
    if (v > (uint64_t) INT64_MAX)
      return dur_err(err, "invalid duration", orig);
  }
  *total += v;
  if (*total > (uint64_t) INT64_MAX)
    return dur_err(err, "invalid duration", orig);
  *sp = s + ulen;
  return 0;
}

int mtk_duration_parse(const char *s, int64_t *ns, struct mtk_err **err)
{
  const char *orig = s ? s : "";
  bool neg = false;
  uint64_t total = 0;
  s = orig;
  if (*s == '-' || *s == '+')
    neg = *s++ == '-';
  if (strcmp(s, "0") == 0) {
    *ns = 0;
    return 0;
  }
  if (*s == '\0')
    return dur_err(err, "invalid duration", orig);
  while (*s) {
    int r = dur_element(&s, orig, &total, err);
    if (r < 0)
      return r;
  }
  *ns = neg ? -(int64_t) total : (int64_t) total;
  return 0;
}

/* Appends v/10^prec with its fraction (trailing zeros and a bare '.' dropped)
 * to sb; returns v/10^prec. */
static uint64_t add_frac(struct mtk_strbuf *sb, uint64_t v, int prec)
{
  char frac[16];
  int n = 0;
  bool print = false;
  for (int i = 0; i < prec; i++) {
    int digit = (int) (v % 10);
    print = print || digit != 0;
    if (print)
      frac[n++] = (char) ('0' + digit);
    v /= 10;
  }
  if (n > 0) {
    mtk_strbuf_addc(sb, '.');
    while (n > 0)
      mtk_strbuf_addc(sb, frac[--n]);
  }
  return v;
}

char *mtk_duration_format(int64_t ns)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  uint64_t u = ns < 0 ? (uint64_t) 0 - (uint64_t) ns : (uint64_t) ns;
  if (u == 0)
    return mtk_xstrdup("0s");
  if (ns < 0)
    mtk_strbuf_addc(&sb, '-');
  if (u < 1000000000ULL) {
    const char *unit = u < 1000 ? "ns" : u < 1000000 ? "\xc2\xb5s" : "ms";
    int prec = u < 1000 ? 0 : u < 1000000 ? 3 : 6;
    uint64_t p10 = 1;
    for (int i = 0; i < prec; i++)
      p10 *= 10;
    mtk_strbuf_addf(&sb, "%llu", (unsigned long long) (u / p10));
    mtk_autostrbuf frac = MTK_STRBUF_INIT;
    add_frac(&frac, u, prec);
    mtk_strbuf_adds(&sb, mtk_strbuf_str(&frac));
    mtk_strbuf_adds(&sb, unit);
    return mtk_strbuf_steal(&sb);
  }
  mtk_autostrbuf frac = MTK_STRBUF_INIT;
  uint64_t secs = add_frac(&frac, u, 9);
  uint64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
  if (h > 0)
    mtk_strbuf_addf(&sb, "%lluh%llum", (unsigned long long) h, (unsigned long long) m);
  else if (m > 0)
    mtk_strbuf_addf(&sb, "%llum", (unsigned long long) m);
  mtk_strbuf_addf(&sb, "%llu%ss", (unsigned long long) s, mtk_strbuf_str(&frac));
  return mtk_strbuf_steal(&sb);
}

/* ---- numbers as Go's strconv reads and fmt prints them ---- */

bool mtk_compose_parse_int(const char *s, int64_t *out)
{
  const char *p = s;
  if (*p == '+' || *p == '-')
    p++;
  if (*p == '\0')
    return false;
  for (const char *q = p; *q; q++)
    if (!isdigit((unsigned char) *q))
      return false;
  errno = 0;
  long long v = strtoll(s, NULL, 10);
  if (errno == ERANGE)
    return false;
  *out = v;
  return true;
}

static bool digits(const char **sp, bool hex)
{
  const char *s = *sp;
  while (hex ? isxdigit((unsigned char) *s) : isdigit((unsigned char) *s))
    s++;
  bool any = s != *sp;
  *sp = s;
  return any;
}

/* Go float syntax: mantissa, exponent (required 'p' for hexadecimal). */
static bool go_float_syntax(const char *s)
{
  if (*s == '+' || *s == '-')
    s++;
  if (strcasecmp(s, "inf") == 0 || strcasecmp(s, "infinity") == 0 || strcasecmp(s, "nan") == 0)
    return true;
  bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  if (hex) {
    s += 2;
    /* Go allows '_' between the digits of a prefixed number. */
  }
  bool m1 = digits(&s, hex), m2 = false;
  if (*s == '.') {
    s++;
    m2 = digits(&s, hex);
  }
  if (!m1 && !m2)
    return false;
  char e = hex ? 'p' : 'e';
  if (tolower((unsigned char) *s) == e) {
    s++;
    if (*s == '+' || *s == '-')
      s++;
    if (!digits(&s, false))
      return false;
  } else if (hex) {
    return false;
  }
  return *s == '\0';
}

bool mtk_compose_parse_float(const char *s, double *out)
{
  if (!go_float_syntax(s))
    return false;
  errno = 0;
  double v = strtod(s, NULL);
  if (errno == ERANGE && isinf(v))
    return false;
  *out = v;
  return true;
}

bool mtk_compose_parse_bool(const char *s, bool *out)
{
  static const char *const yes[] = {"true", "y", "yes", "on"};
  static const char *const no[] = {"false", "n", "no", "off"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0)
      return *out = true, true;
    if (strcasecmp(s, no[i]) == 0)
      return *out = false, true;
  }
  return false;
}

/* Shortest "%.*e" text of v that reads back as v (up to 17 digits). */
static void shortest_e(double v, char *buf, size_t len)
{
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, len, "%.*e", p - 1, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

char *mtk_compose_go_float(double v)
{
  if (isnan(v))
    return mtk_xstrdup("NaN");
  if (isinf(v))
    return mtk_xstrdup(v > 0 ? "+Inf" : "-Inf");
  if (v == 0)
    return mtk_xstrdup(signbit(v) ? "-0" : "0");
  char buf[64], dig[32];
  shortest_e(v, buf, sizeof(buf));
  /* buf: [-]d[.ddd]e[+-]XX */
  const char *p = buf;
  bool neg = *p == '-';
  p += neg;
  size_t nd = 0;
  for (; *p && *p != 'e'; p++)
    if (isdigit((unsigned char) *p))
      dig[nd++] = *p;
  while (nd > 1 && dig[nd - 1] == '0')
    nd--;
  dig[nd] = '\0';
  int exp = atoi(p + 1);
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  if (neg)
    mtk_strbuf_addc(&sb, '-');
  if (exp < -4 || exp >= 6) {
    mtk_strbuf_addc(&sb, dig[0]);
    if (nd > 1)
      mtk_strbuf_addf(&sb, ".%s", dig + 1);
    mtk_strbuf_addf(&sb, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
    return mtk_strbuf_steal(&sb);
  }
  int dp = exp + 1; /* digits before the point */
  if (dp <= 0) {
    mtk_strbuf_adds(&sb, "0.");
    for (int i = dp; i < 0; i++)
      mtk_strbuf_addc(&sb, '0');
    mtk_strbuf_adds(&sb, dig);
  } else {
    for (int i = 0; i < dp; i++)
      mtk_strbuf_addc(&sb, (size_t) i < nd ? dig[i] : '0');
    if ((size_t) dp < nd)
      mtk_strbuf_addf(&sb, ".%s", dig + dp);
  }
  return mtk_strbuf_steal(&sb);
}

double mtk_compose_go_float32(double v)
{
  float f = (float) v;
  if (!isfinite(f) || f == 0)
    return (double) f;
  char buf[64];
  for (int p = 1; p <= 9; p++) {
    snprintf(buf, sizeof(buf), "%.*e", p - 1, (double) f);
    if ((float) strtod(buf, NULL) == f)
      return strtod(buf, NULL);
  }
  return (double) f;
}

bool mtk_compose_ip_valid(const char *s)
{
  unsigned char buf[16];
  if (strchr(s, ':'))
    return inet_pton(AF_INET6, s, buf) == 1;
  return inet_pton(AF_INET, s, buf) == 1;
}

/* ---- byte sizes ---- */

/* go-units parseSize with the binary map (RAMInBytes). */
static int ram_in_bytes(const char *s, int64_t *out, struct mtk_err **err)
{
  const char *sep = NULL;
  for (const char *p = s; *p; p++)
    if (isdigit((unsigned char) *p) || *p == '.' || *p == ' ')
      sep = p;
  if (sep == NULL)
    return mtk_err_set(err, MTK_E_INVALID, "invalid size: '%s'", s);
  size_t nlen = (size_t) (sep - s) + (*sep == ' ' ? 0 : 1);
  mtk_autofree char *num = mtk_xstrndup(s, nlen);
  mtk_autofree char *sfx = mtk_xstrdup(sep + 1);
  double size;
  if (!mtk_compose_parse_float(num, &size))
    return mtk_err_set(err, MTK_E_INVALID, "strconv.ParseFloat: parsing \"%s\": %s", num,
                       go_float_syntax(num) ? "value out of range" : "invalid syntax");
  if (size < 0)
    return mtk_err_set(err, MTK_E_INVALID, "invalid size: '%s'", s);
  size_t sl = strlen(sfx);
  for (char *p = sfx; *p; p++)
    *p = (char) tolower((unsigned char) *p);
  if (sl > 3)
    return mtk_err_set(err, MTK_E_INVALID, "invalid suffix: '%s'", sep + 1);
  if (sl > 0 && sfx[0] == 'b') {
    if (sl > 1)
      return mtk_err_set(err, MTK_E_INVALID, "invalid suffix: '%s'", sfx);
  } else if (sl > 0) {
    const char *mults = "kmgtp";
    const char *m = strchr(mults, sfx[0]);
    if (m == NULL || (sl == 2 && sfx[1] != 'b') || (sl == 3 && strcmp(sfx + 1, "ib") != 0))
      return mtk_err_set(err, MTK_E_INVALID, "invalid suffix: '%s'", sfx);
    for (const char *k = mults; k <= m; k++)
      size *= 1024.0;
  }
  /* Go converts an out-of-range float to the minimum int64 on amd64. */
  *out = size >= 9223372036854775808.0 || isnan(size) ? INT64_MIN : (int64_t) size;
  return 0;
}

int mtk_bytes_parse(const char *s, int64_t *out, struct mtk_err **err)
{
  if (mtk_compose_parse_int(s, out))
    return 0;
  return ram_in_bytes(s, out, err);
}

/* ---- ports (go-connections nat v0.4.0) ---- */

/* strconv.ParseUint(s, 10, 16). */
static bool parse_u16(const char *s, size_t len, uint64_t *out)
{
  if (len == 0 || len > 16)
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char) s[i]))
      return false;
    v = v * 10 + (uint64_t) (s[i] - '0');
    if (v > 65535)
      return false;
  }
  *out = v;
  return true;
}

/* nat.ParsePortRange: "N" or "N-M" (anything after a second '-' ignored). */
static bool port_range(const char *s, uint64_t *start, uint64_t *end)
{
  const char *dash = strchr(s, '-');
  if (*s == '\0')
    return false;
  if (dash == NULL) {
    if (!parse_u16(s, strlen(s), start))
      return false;
    *end = *start;
    return true;
  }
  const char *dash2 = strchr(dash + 1, '-');
  size_t l2 = dash2 ? (size_t) (dash2 - dash - 1) : strlen(dash + 1);
  if (!parse_u16(s, (size_t) (dash - s), start) || !parse_u16(dash + 1, l2, end))
    return false;
  return *end >= *start;
}

/* net.SplitHostPort(raw + ":") reduced to what matters here: the host. */
static int split_host(const char *raw, char **host, struct mtk_err **err)
{
  mtk_autofree char *hp = mtk_xasprintf("%s:", raw);
  size_t len = strlen(hp), last = len - 1;
  const char *why = NULL;
  size_t j = 0, k = 0;
  if (hp[0] == '[') {
    char *end = strchr(hp, ']');
    if (end == NULL)
      why = "missing ']' in address";
    else if ((size_t) (end - hp) + 1 != last)
      why = (size_t) (end - hp) + 1 == len ? "missing port in address"
            : end[1] == ':'                ? "too many colons in address"
                                           : "missing port in address";
    else {
      *host = mtk_xstrndup(hp + 1, (size_t) (end - hp) - 1);
      j = 1;
      k = (size_t) (end - hp) + 1;
    }
  } else {
    *host = mtk_xstrndup(hp, last);
    if (strchr(*host, ':'))
      why = "too many colons in address";
  }
  if (why == NULL && strchr(hp + j, '['))
    why = "unexpected '[' in address";
  if (why == NULL && strchr(hp + k, ']'))
    why = "unexpected ']' in address";
  if (why) {
    free(*host);
    *host = NULL;
    return mtk_err_set(err, MTK_E_INVALID, "Invalid ip address %s: address %s: %s", raw, hp, why);
  }
  return 0;
}

/* nat's splitParts: ip, host port and container part of "a:b:c". */
static void split_parts(const char *raw, char **ip, char **host, char **cont)
{
  const char *last = strrchr(raw, ':');
  if (last == NULL) {
    *ip = mtk_xstrdup("");
    *host = mtk_xstrdup("");
    *cont = mtk_xstrdup(raw);
    return;
  }
  *cont = mtk_xstrdup(last + 1);
  const char *prev = last;
  while (prev > raw && prev[-1] != ':')
    prev--;
  /* prev: start of the host part (after the colon before it, or raw). */
  *host = mtk_xstrndup(prev, (size_t) (last - prev));
  *ip = prev > raw ? mtk_xstrndup(raw, (size_t) (prev - raw) - 1) : mtk_xstrdup("");
}

static int cmp_port(const void *a, const void *b)
{
  const struct mtk_port_spec *x = a, *y = b;
  char kx[32], ky[32];
  snprintf(kx, sizeof(kx), "%u/%s", x->target, x->protocol);
  snprintf(ky, sizeof(ky), "%u/%s", y->target, y->protocol);
  return strcmp(kx, ky);
}

/* Checks of ParsePortSpec before the expansion: ip, ports, ranges, proto. */
static int port_check(const char *spec, const char *rawip, const char *host, const char *cont,
                      char **ip, char **proto, uint64_t r[4], struct mtk_err **err)
{
  const char *slash = strchr(cont, '/');
  size_t plen = slash ? (size_t) (slash - cont) : strlen(cont);
  mtk_autofree char *port = mtk_xstrndup(cont, plen);
  if (plen == 0)
    *proto = mtk_xstrdup("");
  else if (slash == NULL || slash[1] == '\0' || slash[1] == '/')
    *proto = mtk_xstrdup("tcp");
  else
    *proto = mtk_xstrndup(slash + 1, strcspn(slash + 1, "/"));
  if (split_host(rawip, ip, err) < 0)
    return -1;
  if (**ip && !mtk_compose_ip_valid(*ip))
    return mtk_err_set(err, MTK_E_INVALID, "Invalid ip address: %s", *ip);
  if (*port == '\0')
    return mtk_err_set(err, MTK_E_INVALID, "No port specified: %s<empty>", spec);
  if (!port_range(port, &r[0], &r[1]))
    return mtk_err_set(err, MTK_E_INVALID, "Invalid containerPort: %s", port);
  r[2] = r[3] = 0;
  if (*host && !port_range(host, &r[2], &r[3]))
    return mtk_err_set(err, MTK_E_INVALID, "Invalid hostPort: %s", host);
  if (*host && r[1] - r[0] != r[3] - r[2] && r[1] != r[0])
    return mtk_err_set(err, MTK_E_INVALID,
                       "Invalid ranges specified for container and host Ports: %s and %s", port,
                       host);
  for (char *p = *proto; *p; p++)
    *p = (char) tolower((unsigned char) *p);
  if (strcmp(*proto, "tcp") && strcmp(*proto, "udp") && strcmp(*proto, "sctp"))
    return mtk_err_set(err, MTK_E_INVALID, "Invalid proto: %.*s", (int) strcspn(slash + 1, "/"),
                       slash + 1);
  return 0;
}

int mtk_compose_port_parse(const char *spec, struct mtk_port_spec **out, size_t *n,
                           struct mtk_err **err)
{
  mtk_autofree char *rawip = NULL, *host = NULL, *cont = NULL, *ip = NULL, *proto = NULL;
  uint64_t r[4];
  *out = NULL;
  *n = 0;
  split_parts(spec, &rawip, &host, &cont);
  if (port_check(spec, rawip, host, cont, &ip, &proto, r, err) < 0)
    return -1;
  size_t count = (size_t) (r[1] - r[0] + 1);
  struct mtk_port_spec *ps = mtk_xcalloc(count, sizeof(*ps));
  for (size_t i = 0; i < count; i++) {
    ps[i].host_ip = mtk_xstrdup(ip);
    ps[i].target = (uint32_t) (r[0] + i);
    ps[i].protocol = mtk_xstrdup(proto);
    if (*host == '\0')
      ps[i].published = mtk_xstrdup("");
    else if (r[0] == r[1] && r[2] != r[3])
      ps[i].published =
          mtk_xasprintf("%llu-%llu", (unsigned long long) r[2], (unsigned long long) r[3]);
    else
      ps[i].published = mtk_xasprintf("%llu", (unsigned long long) (r[2] + i));
  }
  qsort(ps, count, sizeof(*ps), cmp_port);
  *out = ps;
  *n = count;
  return 0;
}

void mtk_compose_port_specs_free(struct mtk_port_spec *p, size_t n)
{
  for (size_t i = 0; p && i < n; i++) {
    free(p[i].host_ip);
    free(p[i].published);
    free(p[i].protocol);
  }
  free(p);
}

/* ---- volumes (compose-go format.ParseVolume) ---- */

static const char *const bind_propagations[] = {"rprivate", "private", "rshared",
                                                "shared",   "rslave",  "slave"};

static void volume_options(struct mtk_volume_spec *v, const char *opts)
{
  mtk_autofree char *copy = mtk_xstrdup(opts);
  char *save = NULL;
  /* strtok_r would merge empty items; they are ignored anyway. */
  for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    if (strcmp(o, "ro") == 0)
      v->read_only = true;
    else if (strcmp(o, "rw") == 0)
      v->read_only = false;
    else if (strcmp(o, "nocopy") == 0)
      v->has_volume = v->nocopy = true;
    else if (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0) {
      v->has_bind = true;
      free(v->selinux);
      v->selinux = mtk_xstrdup(o);
    } else {
      for (size_t i = 0; i < 6; i++) {
        if (strcmp(o, bind_propagations[i]) == 0) {
          v->has_bind = true;
          free(v->propagation);
          v->propagation = mtk_xstrdup(o);
        }
      }
    }
  }
}

/* populateFieldFromBuffer: one ':'-separated section (end: last one). */
static const char *volume_field(struct mtk_volume_spec *v, const char *buf, bool end)
{
  if (*buf == '\0')
    return "empty section between colons";
  if (v->source == NULL && end) {
    v->target = mtk_xstrdup(buf);
    return NULL;
  }
  if (v->source == NULL) {
    v->source = mtk_xstrdup(buf);
    return NULL;
  }
  if (v->target == NULL) {
    v->target = mtk_xstrdup(buf);
    return NULL;
  }
  if (!end)
    return "too many colons";
  volume_options(v, buf);
  return NULL;
}

static bool is_file_path(const char *s)
{
  if (*s == '\0')
    return false;
  if (*s == '.' || *s == '/' || *s == '~' || strncmp(s, "\\\\", 2) == 0)
    return true;
  return isalpha((unsigned char) s[0]) && s[1] == ':';
}

static void volume_type(struct mtk_volume_spec *v)
{
  if (v->source && is_file_path(v->source)) {
    v->type = mtk_xstrdup("bind");
    v->has_bind = true;
    v->create_host_path = true;
  } else {
    v->type = mtk_xstrdup("volume");
    v->has_volume = true;
  }
}

int mtk_compose_volume_parse(const char *spec, struct mtk_volume_spec *v, struct mtk_err **err)
{
  memset(v, 0, sizeof(*v));
  size_t len = strlen(spec);
  if (len == 0)
    return mtk_err_set(err, MTK_E_INVALID, "invalid empty volume spec");
  if (len <= 2) {
    v->target = mtk_xstrdup(spec);
    v->type = mtk_xstrdup("volume");
    v->source = mtk_xstrdup("");
    return 0;
  }
  mtk_autostrbuf buf = MTK_STRBUF_INIT;
  int depth = 0;
  for (size_t i = 0; i <= len; i++) {
    char c = spec[i];
    if (c == '$' && i + 1 < len && spec[i + 1] == '{') {
      depth++;
      mtk_strbuf_addc(&buf, c);
    } else if (c == '}' && depth > 0) {
      depth--;
      mtk_strbuf_addc(&buf, c);
    } else if (c == ':' && buf.len == 1 && isalpha((unsigned char) buf.buf[0])) {
      mtk_strbuf_addc(&buf, c); /* a Windows drive letter */
    } else if ((c == ':' || c == '\0') && depth == 0) {
      const char *why = volume_field(v, mtk_strbuf_str(&buf), c == '\0');
      if (why) {
        mtk_compose_volume_spec_clear(v);
        return mtk_err_set(err, MTK_E_INVALID, "invalid spec: %s: %s", spec, why);
      }
      mtk_strbuf_reset(&buf);
    } else if (c != '\0') {
      mtk_strbuf_addc(&buf, c);
    }
  }
  if (v->source == NULL)
    v->source = mtk_xstrdup("");
  if (v->target == NULL)
    v->target = mtk_xstrdup("");
  volume_type(v);
  return 0;
}

void mtk_compose_volume_spec_clear(struct mtk_volume_spec *v)
{
  free(v->type);
  free(v->source);
  free(v->target);
  free(v->propagation);
  free(v->selinux);
  memset(v, 0, sizeof(*v));
}
