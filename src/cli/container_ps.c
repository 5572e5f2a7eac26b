/* `mtk container ps|ls`, `port` and `top`: docker's columns and formats
 * (formatter/container.go: CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS,
 * PORTS, NAMES; --format table/json/Go template; -q; --no-trunc; filters),
 * `port` as docker prints it, and `top` as `ps -ef` over the container's
 * processes read from /proc (or the host's ps with the given options,
 * filtered to the container's PIDs, as docker does). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "image/progress.h"
#include "runtime/container.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/gostr.h"
#include "util/strbuf.h"

#define GETOPT_LOOP(shortopts, longopts)                                                           \
  opterr = 0;                                                                                      \
  optind = 0;                                                                                      \
  for (int c_; (c_ = getopt_long(argc, argv, "+:" shortopts, longopts, NULL)) != -1;)              \
    switch (c_)

static int usage125(struct mtk_cli *cli, int r, struct mtk_err **err)
{
  if (r < 0 && *err && (*err)->code == MTK_E_USAGE) {
    mtk_cli_print_err(cli, *err);
    mtk_err_free(err);
    return MTK_CTR_EXIT_RUN_ERROR;
  }
  return r;
}

static json_t *cfg_get(const struct mtk_ctr *c, const char *a, const char *b)
{
  json_t *v = json_object_get(c->config, a);
  return b ? json_object_get(v, b) : v;
}

/* ---------------------------------------------------------------- filters */

static bool regex_match(const char *pattern, const char *s)
{
  regex_t re;
  if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
    return false;
  bool m = regexec(&re, s, 0, NULL, 0) == 0;
  regfree(&re);
  return m;
}

static int filter_one(const struct mtk_ctr *c, const char *key, const char *val, bool *m,
                      struct mtk_err **err)
{
  static const char *const states[] = {"created", "restarting", "running", "removing",
                                       "paused",  "exited",     "dead",    NULL};
  if (strcmp(key, "status") == 0) {
    bool known = false;
    for (size_t i = 0; states[i]; i++)
      known |= strcmp(states[i], val) == 0;
    if (!known)
      return mtk_err_set(err, MTK_E_USAGE, "invalid filter 'status=%s'", val);
    *m = strcmp(mtk_ctr_status(c), val) == 0;
  } else if (strcmp(key, "name") == 0) {
    mtk_autofree char *slashed = mtk_xasprintf("/%s", c->name);
    *m = regex_match(val, slashed);
  } else if (strcmp(key, "id") == 0) {
    *m = strncmp(c->id, val, strlen(val)) == 0 || regex_match(val, c->id);
  } else if (strcmp(key, "label") == 0) {
    json_t *labels = cfg_get(c, "Config", "Labels");
    const char *eq = strchr(val, '=');
    mtk_autofree char *k = eq ? mtk_xstrndup(val, (size_t) (eq - val)) : mtk_xstrdup(val);
    json_t *v = json_object_get(labels, k);
    *m = v && (!eq || strcmp(json_string_value(v), eq + 1) == 0);
  } else if (strcmp(key, "exited") == 0) {
    char *end;
    long code = strtol(val, &end, 10);
    if (!*val || *end)
      return mtk_err_set(err, MTK_E_USAGE, "invalid filter 'exited=%s'", val);
    *m = strcmp(mtk_ctr_status(c), "exited") == 0 &&
         json_integer_value(json_object_get(c->state, "ExitCode")) == code;
  } else if (strcmp(key, "ancestor") == 0) {
    const char *name = json_string_value(cfg_get(c, "Config", "Image"));
    const char *id = json_string_value(cfg_get(c, "Image", NULL));
    const char *hex = id && strncmp(id, "sha256:", 7) == 0 ? id + 7 : id;
    const char *v = strncmp(val, "sha256:", 7) == 0 ? val + 7 : val;
    *m = (name && strcmp(name, val) == 0) ||
         (hex && strlen(v) >= 4 && strncmp(hex, v, strlen(v)) == 0);
  } else if (strcmp(key, "network") == 0) {
    *m = json_object_get(json_object_get(c->state, "Networks"), val) != NULL ||
         (json_is_string(cfg_get(c, "HostConfig", "NetworkMode")) &&
          strcmp(json_string_value(json_object_get(cfg_get(c, "HostConfig", NULL), "NetworkMode")),
                 val) == 0);
  } else {
    int r = mtk_err_set(err, MTK_E_USAGE, "invalid filter '%s'", key);
    mtk_err_hint(err, "Filters: status, name, id, label, exited, ancestor, network.");
    return r;
  }
  return 0;
}

int mtk_cli_ctr_filter(const struct mtk_ctr *c, const char *const *filters, size_t n, bool *match,
                       struct mtk_err **err)
{
  /* values of one key are OR'ed, keys AND'ed */
  *match = true;
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(filters[i], '=');
    if (!eq)
      return mtk_err_set(err, MTK_E_USAGE, "bad format of filter (expected name=value)");
    mtk_autofree char *key = mtk_xstrndup(filters[i], (size_t) (eq - filters[i]));
    bool seen_before = false, any = false;
    for (size_t j = 0; j < n; j++) {
      const char *e2 = strchr(filters[j], '=');
      if (!e2 || (size_t) (e2 - filters[j]) != strlen(key) ||
          strncmp(filters[j], key, strlen(key)) != 0)
        continue;
      if (j < i) {
        seen_before = true;
        break;
      }
      bool m = false;
      if (filter_one(c, key, e2 + 1, &m, err) < 0)
        return -1;
      any |= m;
    }
    if (!seen_before && !any)
      *match = false;
  }
  return 0;
}

/* ------------------------------------------------------------------ ports */

struct port {
  char ip[64];
  unsigned priv, pub;
  char type[8];
};

static int port_cmp(const void *a, const void *b)
{
  const struct port *x = a, *y = b;
  if (x->priv != y->priv)
    return x->priv < y->priv ? -1 : 1;
  int r = strcmp(x->ip, y->ip);
  if (r)
    return r;
  if (x->pub != y->pub)
    return x->pub < y->pub ? -1 : 1;
  return strcmp(x->type, y->type);
}

static void join_host_port(struct mtk_strbuf *sb, const char *ip, const char *port)
{
  if (strchr(ip, ':'))
    mtk_strbuf_addf(sb, "[%s]:%s", ip, port);
  else
    mtk_strbuf_addf(sb, "%s:%s", ip, port);
}

/* The bindings of NetworkSettings.Ports ({"80/tcp": [{HostIp, HostPort}] | null}). */
static size_t ports_collect(json_t *ports, struct port **out)
{
  size_t n = 0;
  struct port *v = NULL;
  const char *key;
  json_t *binds;
  json_object_foreach(ports, key, binds)
  {
    struct port p = {0};
    if (sscanf(key, "%u/%7s", &p.priv, p.type) < 1)
      continue;
    if (!p.type[0])
      snprintf(p.type, sizeof(p.type), "tcp");
    size_t i;
    json_t *b;
    if (json_array_size(binds) == 0) {
      v = mtk_xrealloc(v, (n + 1) * sizeof(*v));
      v[n++] = p;
    }
    json_array_foreach(binds, i, b)
    {
      const char *ip = json_string_value(json_object_get(b, "HostIp"));
      const char *hp = json_string_value(json_object_get(b, "HostPort"));
      snprintf(p.ip, sizeof(p.ip), "%s", ip && *ip ? ip : "0.0.0.0");
      p.pub = hp ? (unsigned) strtoul(hp, NULL, 10) : 0;
      v = mtk_xrealloc(v, (n + 1) * sizeof(*v));
      v[n++] = p;
    }
  }
  *out = v;
  return n;
}

static void form_group(struct mtk_strbuf *sb, const struct port *key, unsigned first, unsigned last)
{
  char g[32];
  if (first == last)
    snprintf(g, sizeof(g), "%u", first);
  else
    snprintf(g, sizeof(g), "%u-%u", first, last);
  if (key->ip[0]) {
    join_host_port(sb, key->ip, g);
    mtk_strbuf_addf(sb, "->%s/%s", g, key->type);
  } else {
    mtk_strbuf_addf(sb, "%s/%s", g, key->type);
  }
}

/* formatter.DisplayablePorts: "0.0.0.0:8080->80/tcp, 9000-9001/tcp". */
static char *ports_display(json_t *ports)
{
  struct port *p = NULL;
  size_t n = ports_collect(ports, &p);
  if (n)
    qsort(p, n, sizeof(*p), port_cmp);
  struct group {
    struct port key;
    unsigned first, last;
  } *g = mtk_xcalloc(n + 1, sizeof(*g));
  size_t ng = 0;
  mtk_autostrbuf res = MTK_STRBUF_INIT;
  mtk_autostrbuf maps = MTK_STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    if (p[i].ip[0] && p[i].pub != p[i].priv) {
      char hp[16];
      snprintf(hp, sizeof(hp), "%u", p[i].pub);
      if (maps.len)
        mtk_strbuf_adds(&maps, ", ");
      join_host_port(&maps, p[i].ip, hp);
      mtk_strbuf_addf(&maps, "->%u/%s", p[i].priv, p[i].type);
      continue;
    }
    struct group *hit = NULL;
    for (size_t k = 0; k < ng; k++)
      if (strcmp(g[k].key.ip, p[i].ip) == 0 && strcmp(g[k].key.type, p[i].type) == 0)
        hit = &g[k];
    if (!hit) {
      g[ng++] = (struct group){p[i], p[i].priv, p[i].priv};
      continue;
    }
    if (p[i].priv == hit->last + 1) {
      hit->last = p[i].priv;
      continue;
    }
    if (res.len)
      mtk_strbuf_adds(&res, ", ");
    form_group(&res, &hit->key, hit->first, hit->last);
    hit->first = hit->last = p[i].priv;
  }
  for (size_t k = 0; k < ng; k++) {
    if (res.len)
      mtk_strbuf_adds(&res, ", ");
    form_group(&res, &g[k].key, g[k].first, g[k].last);
  }
  if (maps.len) {
    if (res.len)
      mtk_strbuf_adds(&res, ", ");
    mtk_strbuf_adds(&res, maps.buf);
  }
  free(g);
  free(p);
  return mtk_strbuf_steal(&res);
}

/* -------------------------------------------------------------------- ps */

/* formatter.Ellipsis for ASCII and the display width of the rest (runes). */
static char *ellipsis(const char *s, size_t max)
{
  size_t runes = 0, cut = 0;
  for (size_t i = 0; s[i];) {
    uint32_t r;
    size_t w = mtk_utf8_decode(s + i, strlen(s + i), &r);
    if (runes == max - 1)
      cut = i;
    runes++;
    i += w;
  }
  if (runes <= max)
    return mtk_xstrdup(s);
  return mtk_xasprintf("%.*s\xe2\x80\xa6", (int) cut, s);
}

static char *command_text(const struct mtk_ctr *c)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  const char *path = json_string_value(cfg_get(c, "Path", NULL));
  mtk_strbuf_adds(&sb, path ? path : "");
  size_t i;
  json_t *a;
  /* moby's daemon/list.go: arguments with a space are shown in single quotes */
  json_array_foreach(cfg_get(c, "Args", NULL), i, a)
  {
    const char *s = json_string_value(a);
    mtk_strbuf_addf(&sb, strchr(s, ' ') ? " '%s'" : " %s", s);
  }
  return mtk_strbuf_steal(&sb);
}

static char *join_keys(json_t *o, bool with_values, const char *sep)
{
  size_t n = 0;
  mtk_autofree char **items = mtk_xcalloc(json_object_size(o) + 1, sizeof(char *));
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) items[n++] =
      with_values ? mtk_xasprintf("%s=%s", k, json_string_value(v)) : mtk_xstrdup(k);
  if (with_values)
    qsort(items, n, sizeof(*items), mtk_cli_strcmp_p);
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    if (i)
      mtk_strbuf_adds(&sb, sep);
    mtk_strbuf_adds(&sb, items[i]);
    free(items[i]);
  }
  return mtk_strbuf_steal(&sb);
}

static void mounts_text(json_t *mounts, bool trunc, char **names, int *local)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  size_t i;
  json_t *m;
  *local = 0;
  json_array_foreach(mounts, i, m)
  {
    const char *name = json_string_value(json_object_get(m, "Name"));
    if (!name || !*name)
      name = json_string_value(json_object_get(m, "Source"));
    const char *drv = json_string_value(json_object_get(m, "Driver"));
    if (drv && strcmp(drv, "local") == 0)
      (*local)++;
    mtk_autofree char *shown = ellipsis(name ? name : "", trunc ? 15 : (size_t) -1 / 2);
    if (sb.len)
      mtk_strbuf_addc(&sb, ',');
    mtk_strbuf_adds(&sb, shown);
  }
  *names = mtk_strbuf_steal(&sb);
}

static void set_str(json_t *o, const char *k, char *owned)
{
  json_object_set_new(o, k, json_string(owned ? owned : ""));
  free(owned);
}

/* One row with docker's field names (all strings, as the JSON format shows);
 * root given: Size is the size of the container's writable layer. */
static json_t *ps_row(const struct mtk_ctr *c, bool trunc, const char *root)
{
  json_t *row = json_object();
  json_t *insp = mtk_ctr_inspect(c);
  json_t *ns = json_object_get(insp, "NetworkSettings");
  char buf[48];
  mtk_autofree char *cmd = command_text(c);
  mtk_autofree char *cmd_shown = trunc ? ellipsis(cmd, 20) : mtk_xstrdup(cmd);
  set_str(row, "Command", mtk_go_quote(cmd_shown, strlen(cmd_shown)));
  int64_t created = 0;
  mtk_cli_time_parse(json_string_value(cfg_get(c, "Created", NULL)), &created);
  time_t t = (time_t) (created / 1000000000);
  struct tm tm;
  char when[64];
  localtime_r(&t, &tm);
  strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
  json_object_set_new(row, "CreatedAt", json_string(when));
  json_object_set_new(row, "ID", json_stringn(c->id, trunc ? 12 : strlen(c->id)));
  const char *image = json_string_value(cfg_get(c, "Config", "Image"));
  json_object_set_new(row, "Image", json_string(image && *image ? image : "<no image>"));
  set_str(row, "Labels", join_keys(cfg_get(c, "Config", "Labels"), true, ","));
  char *mounts = NULL;
  int local = 0;
  mounts_text(json_object_get(insp, "Mounts"), trunc, &mounts, &local);
  json_object_set_new(row, "LocalVolumes", json_sprintf("%d", local));
  set_str(row, "Mounts", mounts);
  json_object_set_new(row, "Names", json_string(c->name));
  json_t *nets = json_object_get(ns, "Networks");
  if (!json_object_size(nets))
    nets = json_object_get(c->state, "Networks");
  const char *mode = json_string_value(cfg_get(c, "HostConfig", "NetworkMode"));
  if (json_object_size(nets))
    set_str(row, "Networks", join_keys(nets, false, ","));
  else
    json_object_set_new(row, "Networks", json_string(mode ? mode : ""));
  bool running = mtk_ctr_is_running(c);
  set_str(row, "Ports", running ? ports_display(json_object_get(ns, "Ports")) : NULL);
  int64_t ago = (mtk_cli_now_ns() - created) / 1000000000;
  json_object_set_new(row, "RunningFor",
                      json_sprintf("%s ago", mtk_progress_human_duration(ago, buf)));
  int64_t rw = 0;
  if (root) {
    mtk_autofree char *upper = mtk_xasprintf("%s/containers/%s/upper", root, c->id);
    rw = mtk_cli_du(upper);
  }
  json_object_set_new(row, "Size", json_string(mtk_progress_human_size((double) rw, 3, buf)));
  json_object_set_new(row, "State", json_string(mtk_ctr_status(c)));
  set_str(row, "Status", mtk_cli_ctr_status_text(c));
  json_decref(insp);
  return row;
}

static const char *const ps_headers[][2] = {
    {"ID", "CONTAINER ID"},
    {"Names", "NAMES"},
    {"Image", "IMAGE"},
    {"Command", "COMMAND"},
    {"CreatedAt", "CREATED AT"},
    {"RunningFor", "CREATED"},
    {"Ports", "PORTS"},
    {"State", "STATE"},
    {"Status", "STATUS"},
    {"Size", "SIZE"},
    {"Labels", "LABELS"},
    {"Mounts", "MOUNTS"},
    {"LocalVolumes", "LOCAL VOLUMES"},
    {"Networks", "NETWORKS"},
};

/* .Label "key" on a row: the labels of the row's container. */
static json_t *row_method(void *data, json_t *dot, const char *name, json_t **args, size_t n,
                          struct mtk_err **err)
{
  json_t *labels = data;
  (void) dot;
  if (strcmp(name, "Label") != 0 || n != 1 || !json_is_string(args[0])) {
    mtk_err_set(err, MTK_E_USAGE, "template: can't call method .%s", name);
    return NULL;
  }
  json_t *v = json_object_get(labels, json_string_value(args[0]));
  return json_string(v ? json_string_value(v) : "");
}

struct ps_opts {
  const char *root; /* borrowed: for the sizes */
  bool all, quiet, trunc, size;
  long last;
  const char *format;
  struct mtk_cli_strv filters;
};

/* The template of a --format value and whether it is a table. */
static const char *ps_template(const struct ps_opts *o, bool *table, char **owned)
{
  const char *f = o->format;
  *table = false;
  if (o->quiet && (!f || strncmp(f, "table", 5) == 0 || strcmp(f, "json") != 0))
    return "{{.ID}}";
  if (!f || !*f || strcmp(f, "table") == 0) {
    *table = true;
    return o->size ? "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
                     "{{.Ports}}\t{{.Names}}\t{{.Size}}"
                   : "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t"
                     "{{.Ports}}\t{{.Names}}";
  }
  if (strcmp(f, "json") == 0)
    return "{{json .}}";
  if (strncmp(f, "table ", 6) == 0 || strncmp(f, "table\t", 6) == 0)
    *table = true, f += 6;
  /* docker's preFormat: trim spaces, then \t and \n escapes */
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (const char *p = f; *p; p++) {
    if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n'))
      mtk_strbuf_addc(&sb, p[1] == 't' ? '\t' : '\n'), p++;
    else
      mtk_strbuf_addc(&sb, *p);
  }
  char *s = mtk_strbuf_steal(&sb);
  char *b = s + strspn(s, " ");
  for (char *e = b + strlen(b); e > b && e[-1] == ' ';)
    *--e = '\0';
  *owned = s;
  return b;
}

static int ps_print(const struct ps_opts *o, struct mtk_ctr **v, size_t n, struct mtk_err **err)
{
  bool table;
  mtk_autofree char *owned = NULL;
  const char *tmpl = ps_template(o, &table, &owned);
  mtk_autofree char **lines = mtk_xcalloc(n + 2, sizeof(char *));
  size_t k = 0;
  int r = 0;
  if (table) {
    json_t *hdr = json_object();
    for (size_t i = 0; i < sizeof(ps_headers) / sizeof(ps_headers[0]); i++)
      json_object_set_new(hdr, ps_headers[i][0], json_string(ps_headers[i][1]));
    json_object_set_new(hdr, "Label", json_string("LABEL"));
    mtk_autostrbuf sb = MTK_STRBUF_INIT;
    struct mtk_cli_tmpl_hook hook = {row_method, NULL};
    struct mtk_err *e = NULL;
    if (mtk_cli_tmpl_render(tmpl, hdr, &hook, &sb, &e) < 0)
      mtk_err_free(&e); /* headers of methods: leave the line empty as docker does */
    lines[k++] = mtk_strbuf_steal(&sb);
    json_decref(hdr);
  }
  for (size_t i = 0; i < n && r == 0; i++) {
    bool size = o->size || strstr(tmpl, ".Size") || strcmp(tmpl, "{{json .}}") == 0;
    json_t *row = ps_row(v[i], o->trunc, size ? o->root : NULL);
    struct mtk_cli_tmpl_hook hook = {row_method, json_object_get(v[i]->config, "Config")};
    hook.data = json_object_get(hook.data, "Labels");
    mtk_autostrbuf sb = MTK_STRBUF_INIT;
    r = mtk_cli_tmpl_render(tmpl, row, &hook, &sb, err);
    lines[k++] = mtk_strbuf_steal(&sb);
    json_decref(row);
  }
  if (r == 0 && table)
    mtk_cli_tabwrite(stdout, lines, k, 10);
  else if (r == 0)
    for (size_t i = 0; i < k; i++)
      printf("%s\n", lines[i]);
  for (size_t i = 0; i < k; i++)
    free(lines[i]);
  return r;
}

static int ps_flags(const struct mtk_cli_cmd *cmd, int argc, char **argv, struct ps_opts *o,
                    struct mtk_err **err)
{
  static const struct option longopts[] = {
      {"all", no_argument, NULL, 'a'},          {"quiet", no_argument, NULL, 'q'},
      {"no-trunc", no_argument, NULL, 'T'},     {"format", required_argument, NULL, 'F'},
      {"filter", required_argument, NULL, 'f'}, {"last", required_argument, NULL, 'n'},
      {"latest", no_argument, NULL, 'l'},       {"size", no_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
  };
  char *end;
  GETOPT_LOOP("aqf:n:lsh", longopts)
  {
    case 'a':
      o->all = true;
      break;
    case 'q':
      o->quiet = true;
      break;
    case 'T':
      o->trunc = false;
      break;
    case 'F':
      o->format = optarg;
      break;
    case 'f':
      mtk_cli_strv_push(&o->filters, optarg);
      break;
    case 'n':
      o->last = strtol(optarg, &end, 10);
      if (!*optarg || *end)
        return mtk_cli_usage_error(cmd, err, "invalid argument \"%s\" for \"-n, --last\" flag",
                                   optarg);
      break;
    case 'l':
      o->last = 1;
      break;
    case 's':
      o->size = true;
      break;
    case 'h':
      mtk_cli_print_cmd_help(stdout, cmd);
      return 1;
    default:
      return mtk_cli_getopt_error(cmd, c_, argv, err);
  }
  if (optind < argc)
    return mtk_cli_usage_error(cmd, err, "\"container %s\" accepts no arguments", cmd->name);
  for (size_t i = 0; i < o->filters.n; i++)
    if (strncmp(o->filters.v[i], "status=", 7) == 0 || strncmp(o->filters.v[i], "exited=", 7) == 0)
      o->all = true; /* as the daemon: a status filter looks at every container */
  if (o->last > 0)
    o->all = true;
  return 0;
}

int mtk_cli_container_ps(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                         struct mtk_err **err)
{
  struct ps_opts o = {.root = cli->root, .trunc = true, .last = -1};
  int r = ps_flags(cmd, argc, argv, &o, err);
  struct mtk_ctr **v = NULL;
  size_t n = 0, k = 0;
  if (r == 0)
    r = mtk_ctr_list(cli->root, cli->runroot, &v, &n, err);
  for (size_t i = 0; r == 0 && i < n; i++) {
    bool m = false;
    if ((r = mtk_cli_ctr_filter(v[i], o.filters.v, o.filters.n, &m, err)) < 0)
      break;
    if ((!o.all && !mtk_ctr_is_running(v[i])) || !m || (o.last > 0 && (long) k >= o.last))
      continue;
    struct mtk_ctr *keep = v[i];
    v[i] = v[k];
    v[k++] = keep;
  }
  if (r == 0)
    r = ps_print(&o, v, k, err);
  mtk_ctr_list_free(v, n);
  mtk_cli_strv_free(&o.filters);
  return usage125(cli, r == 1 ? 0 : r, err);
}

/* ------------------------------------------------------------------ port */

int mtk_cli_container_port(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc,
                           char **argv, struct mtk_err **err)
{
  static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  GETOPT_LOOP("h", longopts)
  {
    case 'h':
      mtk_cli_print_cmd_help(stdout, cmd);
      return 0;
    default:
      return usage125(cli, mtk_cli_getopt_error(cmd, c_, argv, err), err);
  }
  if (argc - optind < 1 || argc - optind > 2)
    return usage125(cli,
                    mtk_cli_usage_error(cmd, err,
                                        "\"container port\" requires 1 or 2 "
                                        "arguments"),
                    err);
  mtk_autoptr(mtk_ctr) c = NULL;
  if (mtk_ctr_load(cli->root, cli->runroot, argv[optind], &c, err) < 0)
    return -1;
  json_t *insp = mtk_ctr_inspect(c);
  json_t *ports = json_object_get(json_object_get(insp, "NetworkSettings"), "Ports");
  const char *want = argc - optind == 2 ? argv[optind + 1] : NULL;
  mtk_autofree char *key =
      want ? (strchr(want, '/') ? mtk_xstrdup(want) : mtk_xasprintf("%s/tcp", want)) : NULL;
  struct port *p = NULL;
  size_t n = ports_collect(ports, &p);
  mtk_autofree char **out = mtk_xcalloc(n + 1, sizeof(char *));
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    char pk[32], hp[16];
    snprintf(pk, sizeof(pk), "%u/%s", p[i].priv, p[i].type);
    if (!p[i].ip[0] || (key && strcmp(pk, key) != 0))
      continue;
    snprintf(hp, sizeof(hp), "%u", p[i].pub);
    mtk_autostrbuf sb = MTK_STRBUF_INIT;
    if (!key)
      mtk_strbuf_addf(&sb, "%s -> ", pk);
    join_host_port(&sb, p[i].ip, hp);
    out[k++] = mtk_strbuf_steal(&sb);
  }
  qsort(out, k, sizeof(*out), mtk_cli_strcmp_p);
  for (size_t i = 0; i < k; i++) {
    printf("%s\n", out[i]);
    free(out[i]);
  }
  free(p);
  json_decref(insp);
  if (key && k == 0)
    return mtk_err_set(err, ENOENT, "no public port '%s' published for %s", want, argv[optind]);
  return 0;
}

/* ------------------------------------------------------------------- top */

struct proc {
  pid_t pid, ppid;
  uid_t uid;
  unsigned long long utime, stime, start;
  int tty;
  char comm[64];
};

static bool proc_read(pid_t pid, struct proc *p)
{
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  size_t len = 0;
  mtk_autofree char *stat = mtk_file_read(path, 1 << 16, &len, NULL);
  char *rp = stat ? strrchr(stat, ')') : NULL;
  if (!rp)
    return false;
  memset(p, 0, sizeof(*p));
  p->pid = pid;
  char *lp = strchr(stat, '(');
  snprintf(p->comm, sizeof(p->comm), "%.*s", (int) (rp - lp - 1), lp + 1);
  /* fields 3.. after ") ": state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
   * cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime */
  if (sscanf(rp + 2,
             "%*c %d %*d %*d %d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
             "%*d %llu",
             &p->ppid, &p->tty, &p->utime, &p->stime, &p->start) != 5)
    return false;
  snprintf(path, sizeof(path), "/proc/%d/status", pid);
  mtk_autofree char *status = mtk_file_read(path, 1 << 16, &len, NULL);
  const char *u = status ? strstr(status, "\nUid:") : NULL;
  unsigned ruid = 0, euid = 0;
  if (u && sscanf(u + 5, "%u %u", &ruid, &euid) == 2)
    p->uid = euid;
  return true;
}

static char *proc_cmd(const struct proc *p)
{
  char path[64];
  size_t len = 0;
  snprintf(path, sizeof(path), "/proc/%d/cmdline", p->pid);
  mtk_autofree char *cl = mtk_file_read(path, 1 << 20, &len, NULL);
  if (!cl || len == 0)
    return mtk_xasprintf("[%s]", p->comm);
  while (len && cl[len - 1] == '\0')
    len--;
  for (size_t i = 0; i < len; i++)
    if (cl[i] == '\0')
      cl[i] = ' ';
  return mtk_xstrndup(cl, len);
}

static void tty_name(int tty, char out[32])
{
  unsigned maj = major((dev_t) tty), min = minor((dev_t) tty);
  if (tty == 0)
    snprintf(out, 32, "?");
  else if (maj >= 136 && maj <= 143)
    snprintf(out, 32, "pts/%u", min + (maj - 136) * 256);
  else if (maj == 4 && min < 64)
    snprintf(out, 32, "tty%u", min);
  else
    snprintf(out, 32, "?");
}

/* One `ps -ef` line: UID PID PPID C STIME TTY TIME CMD. */
static char *proc_line(const struct proc *p, double uptime, long hz, time_t boot)
{
  struct passwd *pw = getpwuid(p->uid);
  char user[32], stime[16], tty[32], cpu[32];
  if (pw)
    snprintf(user, sizeof(user), "%s", pw->pw_name);
  else
    snprintf(user, sizeof(user), "%u", p->uid);
  double elapsed = uptime - (double) p->start / (double) hz;
  unsigned long long total = p->utime + p->stime;
  int c = elapsed > 0 ? (int) ((double) total / (double) hz * 100 / elapsed) : 0;
  time_t started = boot + (time_t) (p->start / (unsigned long long) hz), now = time(NULL);
  struct tm tm, tn;
  localtime_r(&started, &tm);
  localtime_r(&now, &tn);
  strftime(stime, sizeof(stime),
           now - started < 24 * 3600  ? "%H:%M"
           : tm.tm_year == tn.tm_year ? "%b%d"
                                      : "%Y",
           &tm);
  tty_name(p->tty, tty);
  unsigned long long secs = total / (unsigned long long) hz;
  if (secs >= 86400)
    snprintf(cpu, sizeof(cpu), "%llu-%02llu:%02llu:%02llu", secs / 86400, secs / 3600 % 24,
             secs / 60 % 60, secs % 60);
  else
    snprintf(cpu, sizeof(cpu), "%02llu:%02llu:%02llu", secs / 3600, secs / 60 % 60, secs % 60);
  mtk_autofree char *cmd = proc_cmd(p);
  return mtk_xasprintf("%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s", user, p->pid, p->ppid, c > 99 ? 99 : c,
                       stime, tty, cpu, cmd);
}

static int top_proc(const pid_t *pids, size_t n)
{
  double uptime = 0;
  size_t len = 0;
  mtk_autofree char *up = mtk_file_read("/proc/uptime", 4096, &len, NULL);
  if (up)
    uptime = strtod(up, NULL);
  long hz = sysconf(_SC_CLK_TCK);
  time_t boot = time(NULL) - (time_t) uptime;
  mtk_autofree char **lines = mtk_xcalloc(n + 2, sizeof(char *));
  size_t k = 0;
  lines[k++] = mtk_xstrdup("UID\tPID\tPPID\tC\tSTIME\tTTY\tTIME\tCMD");
  for (size_t i = 0; i < n; i++) {
    struct proc p;
    if (proc_read(pids[i], &p))
      lines[k++] = proc_line(&p, uptime, hz > 0 ? hz : 100, boot);
  }
  mtk_cli_tabwrite(stdout, lines, k, 20);
  for (size_t i = 0; i < k; i++)
    free(lines[i]);
  return 0;
}

/* The host's ps with the user's options, its output filtered to pids (docker's way). */
static int top_ps(char **args, int nargs, const pid_t *pids, size_t n, struct mtk_err **err)
{
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0)
    return mtk_err_set(err, errno, "pipe: %s", strerror(errno));
  pid_t child = fork();
  if (child == 0) {
    dup2(fds[1], STDOUT_FILENO);
    char **av = calloc((size_t) nargs + 2, sizeof(char *));
    if (!av)
      _exit(127);
    av[0] = "ps";
    for (int i = 0; i < nargs; i++)
      av[i + 1] = args[i];
    execvp("ps", av);
    _exit(127);
  }
  close(fds[1]);
  mtk_autofclose FILE *in = fdopen(fds[0], "r");
  mtk_autostrbuf out = MTK_STRBUF_INIT;
  char buf[4096];
  size_t got;
  while (in && (got = fread(buf, 1, sizeof(buf), in)) > 0)
    mtk_strbuf_add(&out, buf, got);
  int st = 0;
  waitpid(child, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return mtk_err_set(err, EINVAL, "ps: exit status %d: %s", WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                       mtk_strbuf_str(&out));
  char *save = NULL, *text = out.buf ? out.buf : (char *) "";
  char *header = strtok_r(text, "\n", &save);
  int col = -1, i = 0;
  mtk_autofree char *hcopy = mtk_xstrdup(header ? header : "");
  char *hs = NULL;
  for (char *w = strtok_r(hcopy, " \t", &hs); w; w = strtok_r(NULL, " \t", &hs), i++)
    if (strcmp(w, "PID") == 0)
      col = i;
  if (col < 0)
    return mtk_err_set(err, EINVAL, "Couldn't find PID field in ps output");
  printf("%s\n", header);
  for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    mtk_autofree char *lc = mtk_xstrdup(l);
    char *ls = NULL, *w = strtok_r(lc, " \t", &ls);
    for (int j = 0; w && j < col; j++)
      w = strtok_r(NULL, " \t", &ls);
    long pid = w ? strtol(w, NULL, 10) : -1;
    for (size_t j = 0; j < n; j++)
      if (pids[j] == pid)
        printf("%s\n", l);
  }
  return 0;
}

int mtk_cli_container_top(struct mtk_cli *cli, const struct mtk_cli_cmd *cmd, int argc, char **argv,
                          struct mtk_err **err)
{
  if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
    mtk_cli_print_cmd_help(stdout, cmd);
    return 0;
  }
  if (argc < 2)
    return usage125(cli,
                    mtk_cli_usage_error(cmd, err,
                                        "\"container top\" requires at least 1 "
                                        "argument"),
                    err);
  mtk_autoptr(mtk_ctr) c = NULL;
  if (mtk_ctr_load(cli->root, cli->runroot, argv[1], &c, err) < 0)
    return -1;
  if (!mtk_ctr_is_running(c))
    return mtk_err_set(err, EINVAL, "container %s is not running", c->id);
  pid_t *pids = NULL;
  size_t n = 0;
  if (mtk_ctr_pids(cli->root, cli->runroot, c, &pids, &n, err) < 0)
    return -1;
  int r = argc > 2 ? top_ps(argv + 2, argc - 2, pids, n, err) : top_proc(pids, n);
  free(pids);
  return r;
}
