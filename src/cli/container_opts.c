/* The flags of `mtk container run` and `create`, turned into Docker's
 * ContainerCreate request (see src/runtime/container.h for the fields the
 * engine reads) with docker's client-side rules: env files and label files
 * (opts/envfile.go), -v specs (the Linux volume parser), --mount CSV, -p
 * through src/net/net.h, sizes as go-units RAMInBytes, durations as Go's
 * time.ParseDuration, --restart, --ulimit, --sysctl and --add-host
 * validation.  Every error is a usage error (docker run exits 125). */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "net/net.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/gostr.h"
#include "util/strbuf.h"

enum {
  O_RM = 256,
  O_NAME,
  O_ENV_FILE,
  O_MOUNT,
  O_TMPFS,
  O_ENTRYPOINT,
  O_INIT,
  O_NETWORK,
  O_ALIAS,
  O_IP,
  O_EXPOSE,
  O_DOMAIN,
  O_ADD_HOST,
  O_CPUS,
  O_PIDS,
  O_SHM,
  O_READ_ONLY,
  O_CAP_ADD,
  O_CAP_DROP,
  O_PRIVILEGED,
  O_SECURITY_OPT,
  O_STOP_SIGNAL,
  O_STOP_TIMEOUT,
  O_LABEL_FILE,
  O_RESTART,
  O_ULIMIT,
  O_SYSCTL,
  O_RUNTIME,
  O_PULL,
  O_OOM_ADJ,
  O_HEALTH_CMD,
  O_HEALTH_INTERVAL,
  O_HEALTH_TIMEOUT,
  O_HEALTH_RETRIES,
  O_HEALTH_START,
  O_HEALTH_START_INTERVAL,
  O_NO_HEALTH,
  O_CIDFILE,
  O_PLATFORM,
};

static const struct option run_longopts[] = {
    {"rm", optional_argument, NULL, O_RM},
    {"detach", optional_argument, NULL, 'd'},
    {"interactive", optional_argument, NULL, 'i'},
    {"tty", optional_argument, NULL, 't'},
    {"name", required_argument, NULL, O_NAME},
    {"env", required_argument, NULL, 'e'},
    {"env-file", required_argument, NULL, O_ENV_FILE},
    {"volume", required_argument, NULL, 'v'},
    {"mount", required_argument, NULL, O_MOUNT},
    {"tmpfs", required_argument, NULL, O_TMPFS},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"entrypoint", required_argument, NULL, O_ENTRYPOINT},
    {"init", optional_argument, NULL, O_INIT},
    {"network", required_argument, NULL, O_NETWORK},
    {"net", required_argument, NULL, O_NETWORK},
    {"network-alias", required_argument, NULL, O_ALIAS},
    {"net-alias", required_argument, NULL, O_ALIAS},
    {"ip", required_argument, NULL, O_IP},
    {"publish", required_argument, NULL, 'p'},
    {"publish-all", optional_argument, NULL, 'P'},
    {"expose", required_argument, NULL, O_EXPOSE},
    {"hostname", required_argument, NULL, 'h'},
    {"domainname", required_argument, NULL, O_DOMAIN},
    {"add-host", required_argument, NULL, O_ADD_HOST},
    {"memory", required_argument, NULL, 'm'},
    {"cpus", required_argument, NULL, O_CPUS},
    {"pids-limit", required_argument, NULL, O_PIDS},
    {"shm-size", required_argument, NULL, O_SHM},
    {"read-only", optional_argument, NULL, O_READ_ONLY},
    {"cap-add", required_argument, NULL, O_CAP_ADD},
    {"cap-drop", required_argument, NULL, O_CAP_DROP},
    {"privileged", optional_argument, NULL, O_PRIVILEGED},
    {"security-opt", required_argument, NULL, O_SECURITY_OPT},
    {"stop-signal", required_argument, NULL, O_STOP_SIGNAL},
    {"stop-timeout", required_argument, NULL, O_STOP_TIMEOUT},
    {"label", required_argument, NULL, 'l'},
    {"label-file", required_argument, NULL, O_LABEL_FILE},
    {"restart", required_argument, NULL, O_RESTART},
    {"ulimit", required_argument, NULL, O_ULIMIT},
    {"sysctl", required_argument, NULL, O_SYSCTL},
    {"runtime", required_argument, NULL, O_RUNTIME},
    {"pull", required_argument, NULL, O_PULL},
    {"oom-score-adj", required_argument, NULL, O_OOM_ADJ},
    {"health-cmd", required_argument, NULL, O_HEALTH_CMD},
    {"health-interval", required_argument, NULL, O_HEALTH_INTERVAL},
    {"health-timeout", required_argument, NULL, O_HEALTH_TIMEOUT},
    {"health-retries", required_argument, NULL, O_HEALTH_RETRIES},
    {"health-start-period", required_argument, NULL, O_HEALTH_START},
    {"health-start-interval", required_argument, NULL, O_HEALTH_START_INTERVAL},
    {"no-healthcheck", optional_argument, NULL, O_NO_HEALTH},
    {"cidfile", required_argument, NULL, O_CIDFILE},
    {"platform", required_argument, NULL, O_PLATFORM},
    {"quiet", optional_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'H'},
    {NULL, 0, NULL, 0},
};

/* What the loop collects before the request is assembled. */
struct flags {
  const struct mtk_cli_cmd *cmd;
  json_t *cfg;             /* owned: Config part of the request */
  json_t *hc;              /* owned: HostConfig */
  struct mtk_cli_strv env; /* -e, in order */
  struct mtk_cli_strv env_files;
  struct mtk_cli_strv labels;
  struct mtk_cli_strv label_files;
  struct mtk_cli_strv aliases;
  const char *network, *ip, *entrypoint;
  bool entrypoint_set, no_health, health_opts;
};

static void flags_clear(struct flags *f)
{
  json_decref(f->cfg);
  json_decref(f->hc);
  mtk_cli_strv_free(&f->env);
  mtk_cli_strv_free(&f->env_files);
  mtk_cli_strv_free(&f->labels);
  mtk_cli_strv_free(&f->label_files);
  mtk_cli_strv_free(&f->aliases);
}

static int bad_arg(struct flags *f, const char *opt, const char *val, const char *why,
                   struct mtk_err **err)
{
  return mtk_cli_usage_error(f->cmd, err, "invalid argument \"%s\" for \"%s\" flag: %s", val, opt,
                             why);
}

/* An array member of o, created on first use (borrowed). */
static json_t *arr(json_t *o, const char *key)
{
  json_t *a = json_object_get(o, key);
  if (!a) {
    a = json_array();
    json_object_set_new(o, key, a);
  }
  return a;
}

static json_t *obj(json_t *o, const char *key)
{
  json_t *a = json_object_get(o, key);
  if (!a) {
    a = json_object();
    json_object_set_new(o, key, a);
  }
  return a;
}

/* ------------------------------------------------------------ value parsers */

int mtk_cli_parse_ram(const char *s, int64_t *out, struct mtk_err **err)
{
  size_t n = strlen(s), sep = n;
  while (sep > 0 && !strchr("0123456789. ", s[sep - 1]))
    sep--;
  mtk_autofree char *num = mtk_xstrndup(s, sep);
  const char *sfx = s + sep;
  if (sep && num[sep - 1] == ' ')
    num[sep - 1] = '\0';
  char *end;
  errno = 0;
  double v = strtod(num, &end);
  if (!*num || *end || errno || v < 0 || !isdigit((unsigned char) num[0]))
    return mtk_err_set(err, EINVAL, "invalid size: '%s'", s);
  if (!*sfx)
    return *out = (int64_t) v, 0;
  char l[4] = {0};
  size_t k = strlen(sfx);
  for (size_t i = 0; i < k && i < 3; i++)
    l[i] = (char) tolower((unsigned char) sfx[i]);
  const char *units = "kmgtp";
  const char *u = k <= 3 ? strchr(units, l[0]) : NULL;
  if (k <= 3 && l[0] == 'b' && k == 1)
    return *out = (int64_t) v, 0;
  if (!u || !l[0] || (k == 2 && l[1] != 'b') || (k == 3 && strcmp(l + 1, "ib") != 0))
    return mtk_err_set(err, EINVAL, "invalid suffix: '%s'", sfx);
  for (const char *p = units; p <= u; p++)
    v *= 1024;
  *out = (int64_t) v;
  return 0;
}

int mtk_cli_parse_duration(const char *s, int64_t *ns, struct mtk_err **err)
{
  static const struct {
    const char *unit;
    double ns;
  } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
               {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
  const char *p = s;
  double total = 0;
  int sign = 1;
  if (*p == '-' || *p == '+')
    sign = *p++ == '-' ? -1 : 1;
  if (strcmp(p, "0") == 0)
    return *ns = 0, 0;
  if (!*p)
    goto bad;
  while (*p) {
    char *end;
    if (!isdigit((unsigned char) *p) && *p != '.')
      goto bad;
    double v = strtod(p, &end);
    if (end == p)
      goto bad;
    p = end;
    size_t ul = 0;
    double mul = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
      size_t l = strlen(units[i].unit);
      if (strncmp(p, units[i].unit, l) == 0 && l > ul)
        ul = l, mul = units[i].ns;
    }
    if (!ul)
      return mtk_err_set(err, EINVAL, "time: %s in duration \"%s\"",
                         *p ? "unknown unit" : "missing unit", s);
    total += v * mul;
    p += ul;
  }
  *ns = (int64_t) (sign * total);
  return 0;
bad:
  return mtk_err_set(err, EINVAL, "time: invalid duration \"%s\"", s);
}

static bool parse_i64(const char *s, int64_t *out)
{
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || errno)
    return false;
  *out = v;
  return true;
}

static int opt_bool(struct flags *f, const char *opt, const char *arg, bool *out,
                    struct mtk_err **err)
{
  if (!arg)
    return *out = true, 0;
  if (!mtk_go_parse_bool(arg, out))
    return bad_arg(f, opt, arg, "strconv.ParseBool: parsing: invalid syntax", err);
  return 0;
}

/* opts/envfile.go parseKeyValueFile: env (lookup unset "K" lines in our
 * environment) or labels (keep them as they are). */
static int kv_file(struct flags *f, const char *path, bool env, json_t *out, struct mtk_err **err)
{
  size_t len = 0;
  mtk_autofree char *text = mtk_file_read(path, 16 << 20, &len, err);
  if (!text)
    return mtk_cli_usage_error(f->cmd, err, "%s", (*err)->msg);
  char *p = text;
  if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
    p += 3;
  for (int lineno = 1; p < text + len; lineno++) {
    char *nl = memchr(p, '\n', (size_t) (text + len - p));
    size_t n = nl ? (size_t) (nl - p) : (size_t) (text + len - p);
    mtk_autofree char *line0 = mtk_xstrndup(p, n);
    p += n + 1;
    for (size_t i = 0; i < n;) {
      uint32_t r;
      size_t w = mtk_utf8_decode(line0 + i, n - i, &r);
      if (r == MTK_UTF8_RUNE_ERROR && w == 1)
        return mtk_cli_usage_error(
            f->cmd, err, "env file %s contains invalid utf8 bytes at line %d", path, lineno);
      i += w;
    }
    if (n && line0[n - 1] == '\r')
      line0[n - 1] = '\0'; /* bufio.ScanLines drops a final \r */
    const char *line = line0 + mtk_go_space_prefix(line0, strlen(line0));
    if (!*line || *line == '#')
      continue;
    const char *eq = strchr(line, '=');
    mtk_autofree char *var = mtk_xstrndup(line, eq ? (size_t) (eq - line) : strlen(line));
    char *v = var + strspn(var, " \t");
    if (strpbrk(v, " \t"))
      return mtk_cli_usage_error(
          f->cmd, err, "poorly formatted environment: variable '%s' contains whitespaces", v);
    if (!*v)
      return mtk_cli_usage_error(
          f->cmd, err, "poorly formatted environment: no variable name on line '%s'", line);
    const char *val = env && !eq ? getenv(line) : NULL;
    if (eq)
      json_array_append_new(out, json_sprintf("%s=%s", v, eq + 1));
    else if (val)
      json_array_append_new(out, json_sprintf("%s=%s", v, val));
    else
      json_array_append_new(out, json_string(line));
  }
  return 0;
}

/* ------------------------------------------------------------- volumes */

static bool valid_mode(const char *mode)
{
  mtk_autofree char *m = mtk_xstrdup(mode);
  int rw = 0, label = 0, prop = 0, copy = 0;
  char *save = NULL;
  static const char *const props[] = {"shared",  "rshared",  "slave", "rslave",
                                      "private", "rprivate", NULL};
  for (char *o = strtok_r(m, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    bool known = false;
    if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0)
      rw++, known = true;
    else if (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0)
      label++, known = true;
    else if (strcmp(o, "nocopy") == 0)
      copy++, known = true;
    for (size_t i = 0; props[i]; i++)
      if (strcmp(o, props[i]) == 0)
        prop++, known = true;
    if (!known)
      return false;
  }
  return rw <= 1 && label <= 1 && prop <= 1 && copy <= 1;
}

static bool valid_volume_name(const char *s)
{
  if (strlen(s) < 2 || !isalnum((unsigned char) s[0]))
    return false;
  for (const char *p = s + 1; *p; p++)
    if (!isalnum((unsigned char) *p) && !strchr("_.-", *p))
      return false;
  return true;
}

/* -v SRC:DST[:MODE] | DST (the Linux parser of moby's volume/mounts). */
static int volume(struct flags *f, const char *spec, struct mtk_err **err)
{
  mtk_autofree char *s = mtk_xstrdup(spec);
  char *parts[4] = {0};
  size_t n = 0;
  for (char *save = NULL, *t = strtok_r(s, ":", &save); t; t = strtok_r(NULL, ":", &save))
    if (n < 4)
      parts[n++] = t;
  const char *src = NULL, *dst = NULL, *mode = "";
  if (n == 1)
    dst = parts[0];
  else if (n == 2 && !valid_mode(parts[1]))
    src = parts[0], dst = parts[1];
  else if (n == 3)
    src = parts[0], dst = parts[1], mode = parts[2];
  else
    return mtk_cli_usage_error(f->cmd, err, "invalid volume specification: '%s'", spec);
  if (!valid_mode(mode))
    return mtk_cli_usage_error(f->cmd, err, "invalid mode: %s", mode);
  if (dst[0] != '/')
    return mtk_cli_usage_error(f->cmd, err,
                               "invalid volume specification: '%s': invalid mount config for "
                               "type \"%s\": invalid mount path: '%s' mount path must be absolute",
                               spec, src && src[0] == '/' ? "bind" : "volume", dst);
  if (strcmp(dst, "/") == 0)
    return mtk_cli_usage_error(f->cmd, err, "invalid specification: destination can't be '/'");
  if (!src) { /* anonymous volume */
    json_t *m = json_pack("{s:s, s:s}", "Type", "volume", "Target", dst);
    json_array_append_new(arr(f->hc, "Mounts"), m);
    return 0;
  }
  mtk_autofree char *abs = NULL;
  if (strcmp(src, ".") == 0 || strncmp(src, "./", 2) == 0) {
    char cwd[4096];
    if (!getcwd(cwd, sizeof(cwd)))
      return mtk_err_set(err, errno, "getcwd: %s", strerror(errno));
    abs = mtk_xasprintf("%s%s", cwd, src + 1);
    src = abs;
  } else if (src[0] != '/' && !valid_volume_name(src)) {
    int r = mtk_cli_usage_error(f->cmd, err,
                                "create %s: \"%s\" includes invalid characters for a local volume "
                                "name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed",
                                src, src);
    mtk_err_hint(err, "If you intended to pass a host directory, use an absolute path (or ./%s).",
                 src);
    return r;
  }
  json_array_append_new(arr(f->hc, "Binds"), *mode ? json_sprintf("%s:%s:%s", src, dst, mode)
                                                   : json_sprintf("%s:%s", src, dst));
  return 0;
}

static int mount_field(struct flags *f, json_t *m, const char *k, const char *v, const char *spec,
                       struct mtk_err **err)
{
  bool b = true;
  int64_t n;
  if (strcmp(k, "type") == 0 && v) {
    if (strcmp(v, "bind") && strcmp(v, "volume") && strcmp(v, "tmpfs"))
      return mtk_cli_usage_error(f->cmd, err, "invalid mount type %s (bind, volume or tmpfs)", v);
    json_object_set_new(m, "Type", json_string(v));
  } else if ((strcmp(k, "source") == 0 || strcmp(k, "src") == 0) && v) {
    json_object_set_new(m, "Source", json_string(v));
  } else if ((strcmp(k, "target") == 0 || strcmp(k, "destination") == 0 || strcmp(k, "dst") == 0) &&
             v) {
    json_object_set_new(m, "Target", json_string(v));
  } else if (strcmp(k, "readonly") == 0 || strcmp(k, "ro") == 0) {
    if (v && !mtk_go_parse_bool(v, &b))
      return mtk_cli_usage_error(f->cmd, err, "invalid value for %s: %s", k, v);
    json_object_set_new(m, "ReadOnly", json_boolean(b));
  } else if (strcmp(k, "bind-propagation") == 0 && v) {
    json_object_set_new(obj(m, "BindOptions"), "Propagation", json_string(v));
  } else if (strcmp(k, "volume-nocopy") == 0) {
    if (v && !mtk_go_parse_bool(v, &b))
      return mtk_cli_usage_error(f->cmd, err, "invalid value for volume-nocopy: %s", v);
    json_object_set_new(obj(m, "VolumeOptions"), "NoCopy", json_boolean(b));
  } else if (strcmp(k, "tmpfs-size") == 0 && v) {
    if (mtk_cli_parse_ram(v, &n, err) < 0)
      return mtk_cli_usage_error(f->cmd, err, "invalid value for tmpfs-size: %s", v);
    json_object_set_new(obj(m, "TmpfsOptions"), "SizeBytes", json_integer(n));
  } else if (strcmp(k, "tmpfs-mode") == 0 && v) {
    char *end;
    long mode = strtol(v, &end, 8);
    if (!*v || *end)
      return mtk_cli_usage_error(f->cmd, err, "invalid value for tmpfs-mode: %s", v);
    json_object_set_new(obj(m, "TmpfsOptions"), "Mode", json_integer(mode));
  } else if (strcmp(k, "consistency") == 0 && v) {
    json_object_set_new(m, "Consistency", json_string(v));
  } else if (!v) {
    return mtk_cli_usage_error(f->cmd, err, "invalid field '%s' must be a key=value pair", k);
  } else {
    return mtk_cli_usage_error(f->cmd, err, "unexpected key '%s' in '%s'", k, spec);
  }
  return 0;
}

/* --mount type=bind,source=/a,target=/b,readonly (docker's opts/mount.go) */
static int mount_opt(struct flags *f, const char *spec, struct mtk_err **err)
{
  json_t *m = json_pack("{s:s}", "Type", "volume");
  mtk_autofree char *s = mtk_xstrdup(spec);
  char *save = NULL;
  for (char *kv = strtok_r(s, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '=');
    if (eq)
      *eq++ = '\0';
    for (char *t = kv; *t; t++)
      *t = (char) tolower((unsigned char) *t);
    if (eq && *eq == '"' && strlen(eq) >= 2 && eq[strlen(eq) - 1] == '"')
      eq++, eq[strlen(eq) - 1] = '\0';
    if (mount_field(f, m, kv, eq, spec, err) < 0)
      return json_decref(m), -1;
  }
  const char *type = json_string_value(json_object_get(m, "Type"));
  const char *target = json_string_value(json_object_get(m, "Target"));
  const char *src = json_string_value(json_object_get(m, "Source"));
  int r = 0;
  if (!target)
    r = mtk_cli_usage_error(f->cmd, err, "target is required");
  else if (target[0] != '/')
    r = mtk_cli_usage_error(f->cmd, err,
                            "invalid mount config for type \"%s\": invalid mount "
                            "path: '%s' mount path must be absolute",
                            type, target);
  else if (strcmp(type, "bind") == 0 && (!src || src[0] != '/'))
    r = mtk_cli_usage_error(f->cmd, err, "invalid mount config for type \"bind\": %s",
                            src ? "bind source path must be absolute"
                                : "field Source must not be empty");
  else if (strcmp(type, "tmpfs") == 0 && src)
    r = mtk_cli_usage_error(f->cmd, err,
                            "invalid mount config for type \"tmpfs\": field Source must be empty");
  if (r < 0)
    return json_decref(m), -1;
  json_array_append_new(arr(f->hc, "Mounts"), m);
  return 0;
}

/* -------------------------------------------------------------- network */

static int publish(struct flags *f, const char *spec, struct mtk_err **err)
{
  struct mtk_net_port *v = NULL;
  size_t n = 0;
  struct mtk_err *e = NULL;
  if (mtk_net_ports_parse(spec, &v, &n, &e) < 0) {
    int r = mtk_cli_usage_error(
        f->cmd, err, "invalid argument \"%s\" for \"-p, --publish\" flag: %s", spec, e->msg);
    mtk_err_free(&e);
    free(v);
    return r;
  }
  json_t *pb = obj(f->hc, "PortBindings"), *exposed = obj(f->cfg, "ExposedPorts");
  for (size_t i = 0; i < n; i++) {
    char key[32], hp[8] = "";
    snprintf(key, sizeof(key), "%u/%s", v[i].ctr_port, v[i].proto);
    if (v[i].host_port)
      snprintf(hp, sizeof(hp), "%u", v[i].host_port);
    json_array_append_new(arr(pb, key),
                          json_pack("{s:s, s:s}", "HostIp", v[i].host_ip, "HostPort", hp));
    json_object_set_new(exposed, key, json_object());
  }
  free(v);
  return 0;
}

static int expose(struct flags *f, const char *spec, struct mtk_err **err)
{
  unsigned lo = 0, hi = 0;
  char proto[8] = "tcp";
  int used = 0;
  const char *slash = strchr(spec, '/');
  if (slash && (strlen(slash + 1) >= sizeof(proto) || !slash[1]))
    goto bad;
  if (slash)
    snprintf(proto, sizeof(proto), "%s", slash + 1);
  int k = sscanf(spec, "%u%n-%u%n", &lo, &used, &hi, &used);
  if (k < 1 || (spec[used] && spec[used] != '/') || lo == 0 || lo > 65535)
    goto bad;
  if (k == 1)
    hi = lo;
  if (hi < lo || hi > 65535 ||
      (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp")))
    goto bad;
  for (unsigned p = lo; p <= hi; p++) {
    char key[32];
    snprintf(key, sizeof(key), "%u/%s", p, proto);
    json_object_set_new(obj(f->cfg, "ExposedPorts"), key, json_object());
  }
  return 0;
bad:
  return bad_arg(f, "--expose", spec, "invalid port or range", err);
}

static int add_host(struct flags *f, const char *val, struct mtk_err **err)
{
  const char *sep = strchr(val, '=');
  if (!sep)
    sep = strchr(val, ':');
  mtk_autofree char *k = sep ? mtk_xstrndup(val, (size_t) (sep - val)) : NULL;
  if (!k || !*k || strchr(k, ':'))
    return bad_arg(f, "--add-host", val, "bad format for add-host (HOST:IP)", err);
  mtk_autofree char *ip = mtk_xstrdup(sep + 1);
  size_t n = strlen(ip);
  if (n > 2 && ip[0] == '[' && ip[n - 1] == ']')
    memmove(ip, ip + 1, n - 2), ip[n - 2] = '\0';
  unsigned char buf[16];
  if (strcmp(ip, "host-gateway") != 0 && inet_pton(AF_INET, ip, buf) != 1 &&
      inet_pton(AF_INET6, ip, buf) != 1)
    return bad_arg(f, "--add-host", val, "invalid IP address in add-host", err);
  json_array_append_new(arr(f->hc, "ExtraHosts"), json_sprintf("%s:%s", k, ip));
  return 0;
}

/* ------------------------------------------------------------- host config */

static int restart_policy(struct flags *f, const char *val, struct mtk_err **err)
{
  const char *colon = strchr(val, ':');
  mtk_autofree char *name = colon ? mtk_xstrndup(val, (size_t) (colon - val)) : mtk_xstrdup(val);
  int64_t count = 0;
  if (colon && !*name)
    return mtk_cli_usage_error(f->cmd, err,
                               "invalid restart policy format: no policy provided before colon");
  if (colon && colon[1] && !parse_i64(colon + 1, &count))
    return mtk_cli_usage_error(f->cmd, err,
                               "invalid restart policy format: maximum retry count "
                               "must be an integer");
  if (!*name)
    name = mtk_xstrdup("no");
  if (strcmp(name, "no") && strcmp(name, "always") && strcmp(name, "on-failure") &&
      strcmp(name, "unless-stopped"))
    return mtk_cli_usage_error(f->cmd, err,
                               "invalid restart policy: unknown policy '%s'; use one "
                               "of 'no', 'always', 'on-failure', or "
                               "'unless-stopped'",
                               name);
  if (count && strcmp(name, "on-failure") != 0)
    return mtk_cli_usage_error(f->cmd, err,
                               "invalid restart policy: maximum retry count can only "
                               "be used with 'on-failure'");
  if (count < 0)
    return mtk_cli_usage_error(f->cmd, err,
                               "invalid restart policy: maximum retry count cannot be negative");
  json_object_set_new(
      f->hc, "RestartPolicy",
      json_pack("{s:s, s:I}", "Name", name, "MaximumRetryCount", (json_int_t) count));
  return 0;
}

static int ulimit(struct flags *f, const char *val, struct mtk_err **err)
{
  static const char *const names[] = {
      "as",     "core",  "cpu", "data",   "fsize",  "locks",      "memlock", "msgqueue", "nice",
      "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",   NULL};
  const char *eq = strchr(val, '=');
  if (!eq)
    return bad_arg(f, "--ulimit", val, "invalid ulimit argument", err);
  mtk_autofree char *name = mtk_xstrndup(val, (size_t) (eq - val));
  bool known = false;
  for (size_t i = 0; names[i]; i++)
    known |= strcmp(names[i], name) == 0;
  if (!known)
    return mtk_cli_usage_error(f->cmd, err, "invalid ulimit type: %s", name);
  mtk_autofree char *soft_s = mtk_xstrdup(eq + 1);
  char *hard_s = strchr(soft_s, ':');
  if (hard_s)
    *hard_s++ = '\0';
  int64_t soft, hard;
  if (!parse_i64(soft_s, &soft) || (hard_s && !parse_i64(hard_s, &hard)))
    return bad_arg(f, "--ulimit", val, "the limits must be integers (soft[:hard])", err);
  if (!hard_s)
    hard = soft;
  if (hard != -1 && soft > hard)
    return mtk_cli_usage_error(f->cmd, err,
                               "ulimit soft limit must be less than or equal to hard limit: %lld "
                               "> %lld",
                               (long long) soft, (long long) hard);
  json_t *a = arr(f->hc, "Ulimits");
  size_t i;
  json_t *u;
  json_array_foreach(a, i, u) if (strcmp(json_string_value(json_object_get(u, "Name")), name) == 0)
  {
    json_array_remove(a, i);
    break;
  }
  json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "Name", name, "Soft", (json_int_t) soft,
                                     "Hard", (json_int_t) hard));
  return 0;
}

static int sysctl(struct flags *f, const char *val, struct mtk_err **err)
{
  static const char *const ok[] = {"kernel.msgmax", "kernel.msgmnb",          "kernel.msgmni",
                                   "kernel.sem",    "kernel.shmall",          "kernel.shmmax",
                                   "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
  const char *eq = strchr(val, '=');
  mtk_autofree char *k = eq ? mtk_xstrndup(val, (size_t) (eq - val)) : NULL;
  bool allowed = k && *k && (strncmp(k, "net.", 4) == 0 || strncmp(k, "fs.mqueue.", 10) == 0);
  for (size_t i = 0; k && ok[i]; i++)
    allowed |= strcmp(k, ok[i]) == 0;
  if (!allowed)
    return mtk_cli_usage_error(f->cmd, err,
                               "sysctl '%s' is not allowed (net.*, fs.mqueue.*, kernel.msg*, "
                               "kernel.sem and kernel.shm* are)",
                               val);
  json_object_set_new(obj(f->hc, "Sysctls"), k, json_string(eq + 1));
  return 0;
}

/* docker's parseSecurityOpts: "key=value" or "key:value" (no-new-privileges
 * alone); the engine decides what it supports (src/runtime/ctr_create.c). */
static int security_opt(struct flags *f, const char *val, struct mtk_err **err)
{
  bool on = true;
  if (strncmp(val, "no-new-privileges", 17) == 0 && (val[17] == ':' || val[17] == '=') &&
      !mtk_go_parse_bool(val + 18, &on))
    return mtk_cli_usage_error(f->cmd, err, "invalid --security-opt 2: \"%s\"", val);
  if (strcmp(val, "no-new-privileges") != 0 && !strpbrk(val, "=:"))
    return mtk_cli_usage_error(f->cmd, err, "invalid --security-opt 1: \"%s\"", val);
  json_array_append_new(arr(f->hc, "SecurityOpt"), json_string(val));
  return 0;
}

static int resources(struct flags *f, int c, const char *opt, const char *arg, struct mtk_err **err)
{
  int64_t n;
  struct mtk_err *e = NULL;
  if (c == 'm' || c == O_SHM) {
    if (mtk_cli_parse_ram(arg, &n, &e) < 0) {
      int r = bad_arg(f, opt, arg, e->msg, err);
      mtk_err_free(&e);
      return r;
    }
    if (c == 'm' && n > 0 && n < 6 * 1024 * 1024)
      return mtk_cli_usage_error(f->cmd, err, "Minimum memory limit allowed is 6MB");
    json_object_set_new(f->hc, c == 'm' ? "Memory" : "ShmSize", json_integer(n));
    return 0;
  }
  if (c == O_CPUS) {
    char *end;
    double v = strtod(arg, &end);
    if (!*arg || *end || !isfinite(v))
      return bad_arg(f, opt, arg, "failed to parse as a rational number", err);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (v != 0 && (v < 0.01 || v > (double) cpus))
      return mtk_cli_usage_error(f->cmd, err,
                                 "Range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs "
                                 "available",
                                 cpus, cpus);
    json_object_set_new(f->hc, "NanoCpus", json_integer((json_int_t) llround(v * 1e9)));
    return 0;
  }
  if (!parse_i64(arg, &n))
    return bad_arg(f, opt, arg, "strconv.ParseInt: parsing: invalid syntax", err);
  if (c == O_OOM_ADJ && (n < -1000 || n > 1000))
    return mtk_cli_usage_error(
        f->cmd, err, "Invalid value %lld, range for oom score adj is [-1000, 1000]", (long long) n);
  if (c == O_STOP_TIMEOUT)
    json_object_set_new(f->cfg, "StopTimeout", json_integer(n));
  else
    json_object_set_new(f->hc, c == O_PIDS ? "PidsLimit" : "OomScoreAdj", json_integer(n));
  return 0;
}

static int health(struct flags *f, int c, const char *opt, const char *arg, struct mtk_err **err)
{
  json_t *h = obj(f->cfg, "Healthcheck");
  f->health_opts = true;
  if (c == O_HEALTH_CMD) {
    json_object_set_new(h, "Test", json_pack("[s, s]", "CMD-SHELL", arg));
    return 0;
  }
  int64_t n;
  struct mtk_err *e = NULL;
  if (c == O_HEALTH_RETRIES) {
    if (!parse_i64(arg, &n))
      return bad_arg(f, opt, arg, "strconv.ParseInt: parsing: invalid syntax", err);
    json_object_set_new(h, "Retries", json_integer(n));
    return 0;
  }
  if (mtk_cli_parse_duration(arg, &n, &e) < 0) {
    int r = bad_arg(f, opt, arg, e->msg, err);
    mtk_err_free(&e);
    return r;
  }
  if (n < 0)
    return mtk_cli_usage_error(f->cmd, err, "%s cannot be negative", opt);
  const char *key = c == O_HEALTH_INTERVAL  ? "Interval"
                    : c == O_HEALTH_TIMEOUT ? "Timeout"
                    : c == O_HEALTH_START   ? "StartPeriod"
                                            : "StartInterval";
  json_object_set_new(h, key, json_integer(n));
  return 0;
}

/* ------------------------------------------------------------- one option */

static int config_opt(struct flags *f, int c, const char *arg, struct mtk_err **err)
{
  bool b;
  switch (c) {
    case 'i':
    case 't':
      if (opt_bool(f, c == 'i' ? "--interactive" : "--tty", arg, &b, err) < 0)
        return -1;
      json_object_set_new(f->cfg, c == 'i' ? "OpenStdin" : "Tty", json_boolean(b));
      return 0;
    case 'e':
      mtk_cli_strv_push(&f->env, arg);
      return 0;
    case O_ENV_FILE:
      mtk_cli_strv_push(&f->env_files, arg);
      return 0;
    case 'l':
      mtk_cli_strv_push(&f->labels, arg);
      return 0;
    case O_LABEL_FILE:
      mtk_cli_strv_push(&f->label_files, arg);
      return 0;
    case 'w':
      if (arg[0] != '/')
        return mtk_cli_usage_error(f->cmd, err,
                                   "the working directory '%s' is invalid, it needs to be an "
                                   "absolute path",
                                   arg);
      json_object_set_new(f->cfg, "WorkingDir", json_string(arg));
      return 0;
    case 'u':
      json_object_set_new(f->cfg, "User", json_string(arg));
      return 0;
    case 'h':
      json_object_set_new(f->cfg, "Hostname", json_string(arg));
      return 0;
    case O_DOMAIN:
      json_object_set_new(f->cfg, "Domainname", json_string(arg));
      return 0;
    case O_ENTRYPOINT:
      f->entrypoint = arg, f->entrypoint_set = true;
      return 0;
    case O_STOP_SIGNAL: {
      int sig;
      struct mtk_err *e = NULL;
      if (mtk_cli_signal_parse(arg, &sig, &e) < 0) {
        int r = mtk_cli_usage_error(f->cmd, err, "%s", e->msg);
        mtk_err_free(&e);
        return r;
      }
      json_object_set_new(f->cfg, "StopSignal", json_string(arg));
      return 0;
    }
    case O_EXPOSE:
      return expose(f, arg, err);
    default:
      return 1;
  }
}

static int host_opt(struct flags *f, int c, const char *opt, const char *arg, struct mtk_err **err)
{
  bool b;
  switch (c) {
    case O_RM:
    case O_INIT:
    case O_READ_ONLY:
    case O_PRIVILEGED: {
      static const char *const keys[] = {"AutoRemove", "Init", "ReadonlyRootfs", "Privileged"};
      if (opt_bool(f, opt, arg, &b, err) < 0)
        return -1;
      json_object_set_new(f->hc,
                          keys[c == O_RM          ? 0
                               : c == O_INIT      ? 1
                               : c == O_READ_ONLY ? 2
                                                  : 3],
                          json_boolean(b));
      return 0;
    }
    case 'v':
      return volume(f, arg, err);
    case O_MOUNT:
      return mount_opt(f, arg, err);
    case O_TMPFS: {
      const char *colon = strchr(arg, ':');
      mtk_autofree char *path = mtk_xstrndup(arg, colon ? (size_t) (colon - arg) : strlen(arg));
      if (path[0] != '/')
        return mtk_cli_usage_error(f->cmd, err,
                                   "invalid tmpfs mount: '%s': the path must be "
                                   "absolute",
                                   arg);
      json_object_set_new(obj(f->hc, "Tmpfs"), path, json_string(colon ? colon + 1 : ""));
      return 0;
    }
    case 'p':
      return publish(f, arg, err);
    case O_ADD_HOST:
      return add_host(f, arg, err);
    case O_CAP_ADD:
    case O_CAP_DROP:
      json_array_append_new(arr(f->hc, c == O_CAP_ADD ? "CapAdd" : "CapDrop"), json_string(arg));
      return 0;
    case O_SECURITY_OPT:
      return security_opt(f, arg, err);
    case O_RESTART:
      return restart_policy(f, arg, err);
    case O_ULIMIT:
      return ulimit(f, arg, err);
    case O_SYSCTL:
      return sysctl(f, arg, err);
    case O_RUNTIME:
      json_object_set_new(f->hc, "Runtime", json_string(arg));
      return 0;
    case 'm':
    case O_CPUS:
    case O_PIDS:
    case O_SHM:
    case O_OOM_ADJ:
    case O_STOP_TIMEOUT:
      return resources(f, c, opt, arg, err);
    case O_HEALTH_CMD:
    case O_HEALTH_INTERVAL:
    case O_HEALTH_TIMEOUT:
    case O_HEALTH_RETRIES:
    case O_HEALTH_START:
    case O_HEALTH_START_INTERVAL:
      return health(f, c, opt, arg, err);
    default:
      return 1;
  }
}

static int net_opt(struct flags *f, int c, const char *arg, struct mtk_err **err)
{
  switch (c) {
    case O_NETWORK:
      if (f->network && strcmp(f->network, arg) != 0)
        return mtk_cli_usage_error(f->cmd, err,
                                   "mtk connects a container to one network: "
                                   "--network %s and --network %s",
                                   f->network, arg);
      if (strncmp(arg, "container:", 10) == 0)
        return mtk_cli_usage_error(f->cmd, err, "--network container:NAME is not supported");
      f->network = arg;
      return 0;
    case O_ALIAS:
      mtk_cli_strv_push(&f->aliases, arg);
      return 0;
    case O_IP: {
      unsigned char buf[4];
      if (inet_pton(AF_INET, arg, buf) != 1)
        return bad_arg(f, "--ip", arg, "invalid IPv4 address", err);
      f->ip = arg;
      return 0;
    }
    default:
      return 1;
  }
}

/* -------------------------------------------------------------- assembly */

static bool user_network(const char *n)
{
  return n && strcmp(n, "none") && strcmp(n, "host") && strcmp(n, "bridge") && strcmp(n, "default");
}

/* docker appends -e after the env files "to allow override": the later
 * value of a name wins, in the place of the first. */
static void env_dedup(json_t *env)
{
  for (size_t i = 0; i < json_array_size(env); i++) {
    const char *a = json_string_value(json_array_get(env, i));
    size_t ka = strcspn(a, "=");
    for (size_t j = json_array_size(env); j-- > i + 1;) {
      const char *b = json_string_value(json_array_get(env, j));
      if (strcspn(b, "=") != ka || strncmp(a, b, ka) != 0)
        continue;
      json_array_set(env, i, json_array_get(env, j));
      json_array_remove(env, j);
      break;
    }
  }
}

static int finish_env(struct flags *f, struct mtk_err **err)
{
  json_t *env = json_array();
  json_object_set_new(f->cfg, "Env", env);
  for (size_t i = 0; i < f->env_files.n; i++)
    if (kv_file(f, f->env_files.v[i], true, env, err) < 0)
      return -1;
  for (size_t i = 0; i < f->env.n; i++) {
    const char *e = f->env.v[i], *eq = strchr(e, '=');
    if (eq == e || !*e)
      return mtk_cli_usage_error(f->cmd, err, "invalid environment variable: %s", e);
    const char *val = eq ? NULL : getenv(e);
    json_array_append_new(env, val ? json_sprintf("%s=%s", e, val) : json_string(e));
  }
  env_dedup(env);
  json_t *lines = json_array(), *labels = json_object();
  json_object_set_new(f->cfg, "Labels", labels);
  int r = 0;
  for (size_t i = 0; i < f->label_files.n && r == 0; i++)
    r = kv_file(f, f->label_files.v[i], false, lines, err);
  for (size_t i = 0; i < f->labels.n; i++)
    json_array_append_new(lines, json_string(f->labels.v[i]));
  size_t i;
  json_t *l;
  json_array_foreach(lines, i, l)
  {
    if (r < 0)
      break;
    const char *s = json_string_value(l), *eq = strchr(s, '=');
    mtk_autofree char *k = eq ? mtk_xstrndup(s, (size_t) (eq - s)) : mtk_xstrdup(s);
    if (!*k)
      r = mtk_cli_usage_error(f->cmd, err, "invalid label '%s': empty name", s);
    else
      json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
  }
  json_decref(lines);
  return r;
}

static int finish_net(struct flags *f, struct mtk_err **err)
{
  if (f->network)
    json_object_set_new(f->hc, "NetworkMode", json_string(f->network));
  if ((f->aliases.n || f->ip) && !user_network(f->network))
    return mtk_cli_usage_error(f->cmd, err, "%s",
                               f->ip ? "user specified IP address is supported on user defined "
                                       "networks only"
                                     : "network-scoped alias is supported only for containers "
                                       "in user defined networks");
  if (f->network && strcmp(f->network, "host") == 0 && json_object_get(f->hc, "PortBindings")) {
    fprintf(stderr, "WARNING: Published ports are discarded when using host network mode\n");
    json_object_del(f->hc, "PortBindings");
  }
  return 0;
}

static json_t *assemble(struct flags *f, int argc, char **argv, struct mtk_err **err)
{
  if (finish_env(f, err) < 0 || finish_net(f, err) < 0)
    return NULL;
  if (f->no_health && f->health_opts)
    return mtk_cli_usage_error(f->cmd, err, "--no-healthcheck conflicts with --health-* options"),
           NULL;
  if (f->no_health)
    json_object_set_new(f->cfg, "Healthcheck", json_pack("{s:[s]}", "Test", "NONE"));
  json_t *rp = json_object_get(f->hc, "RestartPolicy");
  const char *pol = rp ? json_string_value(json_object_get(rp, "Name")) : "no";
  if (json_is_true(json_object_get(f->hc, "AutoRemove")) && strcmp(pol, "no") != 0)
    return mtk_cli_usage_error(f->cmd, err, "Conflicting options: --restart and --rm"), NULL;
  if (!rp)
    json_object_set_new(f->hc, "RestartPolicy",
                        json_pack("{s:s, s:i}", "Name", "no", "MaximumRetryCount", 0));
  json_t *req = json_deep_copy(f->cfg);
  json_object_set_new(req, "Image", json_string(argv[0]));
  if (argc > 1) {
    json_t *cmd = json_array();
    for (int i = 1; i < argc; i++)
      json_array_append_new(cmd, json_string(argv[i]));
    json_object_set_new(req, "Cmd", cmd);
  }
  if (f->entrypoint_set)
    json_object_set_new(req, "Entrypoint", json_pack("[s]", f->entrypoint));
  json_object_set(req, "HostConfig", f->hc);
  if (user_network(f->network)) {
    json_t *ep = json_object();
    if (f->aliases.n) {
      json_t *a = json_array();
      for (size_t i = 0; i < f->aliases.n; i++)
        json_array_append_new(a, json_string(f->aliases.v[i]));
      json_object_set_new(ep, "Aliases", a);
    }
    if (f->ip)
      json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", f->ip));
    json_object_set_new(req, "NetworkingConfig",
                        json_pack("{s:{s:o}}", "EndpointsConfig", f->network, ep));
  }
  return req;
}

static int run_option(struct flags *f, struct mtk_cli_run *out, int c, const char *arg,
                      const char *opt, struct mtk_err **err)
{
  bool b;
  int r;
  switch (c) {
    case 'd':
      return opt_bool(f, "--detach", arg, &out->detach, err);
    case 'q':
      return opt_bool(f, "--quiet", arg, &out->quiet, err);
    case O_NAME:
      out->name = arg;
      return 0;
    case O_PULL:
      if (strcmp(arg, "missing") && strcmp(arg, "always") && strcmp(arg, "never"))
        return mtk_cli_usage_error(f->cmd, err,
                                   "invalid pull option: '%s': must be one of \"always\", "
                                   "\"missing\" or \"never\"",
                                   arg);
      out->pull = arg;
      return 0;
    case O_CIDFILE:
      out->cidfile = arg;
      return 0;
    case O_PLATFORM:
      out->platform = arg;
      return 0;
    case O_NO_HEALTH:
      return opt_bool(f, "--no-healthcheck", arg, &f->no_health, err);
    case 'P':
      if (opt_bool(f, "--publish-all", arg, &b, err) < 0)
        return -1;
      if (!b)
        return 0;
      return mtk_cli_usage_error(f->cmd, err,
                                 "-P/--publish-all is not supported: publish each "
                                 "port with -p HOST_PORT:CONTAINER_PORT");
  }
  if ((r = config_opt(f, c, arg, err)) <= 0)
    return r;
  if ((r = host_opt(f, c, opt, arg, err)) <= 0)
    return r;
  return net_opt(f, c, arg, err);
}

static bool valid_name(const char *s)
{
  if (*s == '/')
    s++;
  return valid_volume_name(s);
}

int mtk_cli_run_parse(const struct mtk_cli_cmd *cmd, int argc, char **argv, struct mtk_cli_run *out,
                      struct mtk_err **err)
{
  struct flags f = {.cmd = cmd, .cfg = json_object(), .hc = json_object()};
  memset(out, 0, sizeof(*out));
  out->pull = "missing";
  opterr = 0;
  optind = 0;
  int r = 0, c, idx = -1;
  while (r == 0 &&
         (c = getopt_long(argc, argv, "+:de:ip:tqu:v:w:h:l:m:P", run_longopts, &idx)) != -1) {
    mtk_autofree char *opt =
        idx >= 0 ? mtk_xasprintf("--%s", run_longopts[idx].name) : mtk_xasprintf("-%c", c);
    idx = -1;
    if (c == 'H') {
      mtk_cli_print_cmd_help(stdout, cmd);
      flags_clear(&f);
      return 1;
    }
    if (c == '?' || c == ':')
      r = mtk_cli_getopt_error(cmd, c, argv, err);
    else
      r = run_option(&f, out, c, optarg, opt, err);
  }
  if (r == 0 && optind >= argc)
    r = mtk_cli_usage_error(cmd, err, "\"container %s\" requires at least 1 argument", cmd->name);
  if (r == 0 && out->name && !valid_name(out->name))
    r = mtk_cli_usage_error(cmd, err,
                            "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are "
                            "allowed",
                            out->name);
  if (r == 0) {
    out->image = argv[optind];
    out->req = assemble(&f, argc - optind, argv + optind, err);
    r = out->req ? 0 : -1;
  }
  flags_clear(&f);
  return r < 0 ? -1 : 0;
}

void mtk_cli_run_clear(struct mtk_cli_run *r)
{
  json_decref(r->req);
  r->req = NULL;
}
