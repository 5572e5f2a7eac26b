/* Interpolation of a whole compose document: every string value goes
 * through the template engine (interp.c), then values at the paths where
 * compose-go expects a number or a boolean are cast, as compose-go's
 * loader/interpolate.go does. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compose/internal.h"
#include "compose/interp.h"
#include "compose/values.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/strmap.h"

enum cast { CAST_NONE, CAST_INT, CAST_FLOAT, CAST_BOOL };

/* "*" matches any key, "[]" any list item. */
static const struct {
  const char *path;
  enum cast cast;
} casts[] = {
    {"services.*.cpu_count", CAST_INT},
    {"services.*.cpu_percent", CAST_FLOAT},
    {"services.*.cpu_period", CAST_INT},
    {"services.*.cpu_quota", CAST_INT},
    {"services.*.cpu_rt_period", CAST_INT},
    {"services.*.cpu_rt_runtime", CAST_INT},
    {"services.*.cpus", CAST_FLOAT},
    {"services.*.cpu_shares", CAST_INT},
    {"services.*.init", CAST_BOOL},
    {"services.*.depends_on.*.required", CAST_BOOL},
    {"services.*.depends_on.*.restart", CAST_BOOL},
    {"services.*.deploy.replicas", CAST_INT},
    {"services.*.deploy.update_config.parallelism", CAST_INT},
    {"services.*.deploy.update_config.max_failure_ratio", CAST_FLOAT},
    {"services.*.deploy.rollback_config.parallelism", CAST_INT},
    {"services.*.deploy.rollback_config.max_failure_ratio", CAST_FLOAT},
    {"services.*.deploy.restart_policy.max_attempts", CAST_INT},
    {"services.*.deploy.placement.max_replicas_per_node", CAST_INT},
    {"services.*.healthcheck.retries", CAST_INT},
    {"services.*.healthcheck.disable", CAST_BOOL},
    {"services.*.oom_kill_disable", CAST_BOOL},
    {"services.*.oom_score_adj", CAST_INT},
    {"services.*.pids_limit", CAST_INT},
    {"services.*.ports.[].target", CAST_INT},
    {"services.*.privileged", CAST_BOOL},
    {"services.*.read_only", CAST_BOOL},
    {"services.*.scale", CAST_INT},
    {"services.*.stdin_open", CAST_BOOL},
    {"services.*.tty", CAST_BOOL},
    {"services.*.ulimits.*", CAST_INT},
    {"services.*.ulimits.*.hard", CAST_INT},
    {"services.*.ulimits.*.soft", CAST_INT},
    {"services.*.volumes.[].read_only", CAST_BOOL},
    {"services.*.volumes.[].volume.nocopy", CAST_BOOL},
    {"networks.*.external", CAST_BOOL},
    {"networks.*.internal", CAST_BOOL},
    {"networks.*.attachable", CAST_BOOL},
    {"networks.*.enable_ipv4", CAST_BOOL},
    {"networks.*.enable_ipv6", CAST_BOOL},
    {"volumes.*.external", CAST_BOOL},
    {"secrets.*.external", CAST_BOOL},
    {"configs.*.external", CAST_BOOL},
};

#define MAX_DEPTH 64

struct walk {
  const struct mtk_strmap *env;
  const char *seg[MAX_DEPTH]; /* borrowed: key names, or "[]" for list items */
  int depth;
  int overflow; /* levels below MAX_DEPTH: no typed path is that deep */
};

static bool matches(const struct walk *w, const char *pattern)
{
  int i = 0;
  const char *p = pattern;
  if (w->overflow)
    return false;
  while (*p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t) (dot - p) : strlen(p);
    if (i >= w->depth)
      return false;
    bool any = n == 1 && p[0] == '*';
    if (!any && (strlen(w->seg[i]) != n || strncmp(w->seg[i], p, n) != 0))
      return false;
    i++;
    p += n;
    if (*p == '.')
      p++;
  }
  return i == w->depth;
}

static char *path_str(const struct walk *w)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (int i = 0; i < w->depth; i++) {
    if (i)
      mtk_strbuf_addc(&sb, '.');
    mtk_strbuf_adds(&sb, w->seg[i]);
  }
  return mtk_strbuf_steal(&sb);
}

/* strconv.ParseInt(s, 10, 64) / ParseFloat / compose-go's toBoolean. */
static int cast_value(struct mtk_node *n, enum cast c)
{
  const char *s = n->str;
  switch (c) {
    case CAST_INT: {
      /* strconv.ParseInt(s, 10, 64): no base prefixes, no surrounding space. */
      int64_t v;
      if (!mtk_compose_parse_int(s, &v))
        return -1;
      n->type = MTK_SCALAR_INT;
      n->ival = v;
      return 0;
    }
    case CAST_FLOAT: {
      double v;
      if (!mtk_compose_parse_float(s, &v))
        return -1;
      n->type = MTK_SCALAR_FLOAT;
      n->fval = v;
      return 0;
    }
    case CAST_BOOL: {
      bool b;
      if (!mtk_compose_parse_bool(s, &b))
        return -1;
      n->type = MTK_SCALAR_BOOL;
      n->ival = b;
      return 0;
    }
    case CAST_NONE:
      break;
  }
  return 0;
}

static int scalar(struct walk *w, struct mtk_node *n, struct mtk_err **err)
{
  struct mtk_err *e = NULL;
  mtk_autofree char *bad = NULL;
  char *v = mtk_interp_substitute_ex(n->str, mtk_interp_strmap_lookup, (void *) w->env, &bad, &e);
  if (v == NULL) {
    mtk_autofree char *path = path_str(w);
    int r;
    if (bad)
      r = mtk_node_err(n, err,
                       "invalid interpolation format for %s.\nYou may need to escape any $ with "
                       "another $.\n%s",
                       path, bad);
    else
      r = mtk_node_err(n, err, "error while interpolating %s: %s", path, e->msg);
    mtk_err_free(&e);
    return r;
  }
  free(n->str);
  n->str = v;
  for (size_t i = 0; i < sizeof(casts) / sizeof(casts[0]); i++) {
    if (!matches(w, casts[i].path))
      continue;
    if (cast_value(n, casts[i].cast) < 0) {
      mtk_autofree char *path = path_str(w);
      return mtk_node_err(n, err,
                          "error while interpolating %s: failed to cast to expected type: "
                          "invalid %s: \"%s\"",
                          path, casts[i].cast == CAST_BOOL ? "boolean" : "number", n->str);
    }
    break;
  }
  return 0;
}

static void push(struct walk *w, const char *seg)
{
  if (w->depth < MAX_DEPTH && !w->overflow)
    w->seg[w->depth++] = seg;
  else
    w->overflow++;
}

static void pop(struct walk *w)
{
  if (w->overflow)
    w->overflow--;
  else
    w->depth--;
}

static int walk(struct walk *w, struct mtk_node *n, struct mtk_err **err)
{
  switch (n->kind) {
    case MTK_NODE_SCALAR:
      return n->type == MTK_SCALAR_STR ? scalar(w, n, err) : 0;
    case MTK_NODE_SEQ:
      for (size_t i = 0; i < n->len; i++) {
        push(w, "[]");
        int r = walk(w, n->items[i], err);
        pop(w);
        if (r < 0)
          return r;
      }
      return 0;
    case MTK_NODE_MAP:
      for (size_t i = 0; i < n->len; i++) {
        if (n->pairs[i].val == NULL)
          continue;
        push(w, n->pairs[i].key);
        int r = walk(w, n->pairs[i].val, err);
        pop(w);
        if (r < 0)
          return r;
      }
      return 0;
  }
  return 0;
}

int mtk_compose_interpolate(struct mtk_node *root, const struct mtk_strmap *env,
                            struct mtk_err **err)
{
  struct walk w = {.env = env};
  return walk(&w, root, err);
}
