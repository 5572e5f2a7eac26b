/* Canonical form of services.*.ports (compose-go transform/ports.go): each
 * short spec, string or bare integer, becomes one long-syntax mapping per
 * container port, as types.ParsePortConfig encodes them; long-syntax entries
 * are kept with `target` as an integer and `published` as a string. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "compose/canonical.h"
#include "compose/values.h"
#include "util/cleanup.h"

static void push_specs(struct mtk_node *out, const struct mtk_port_spec *ps, size_t n,
                       const struct mtk_node *at)
{
  for (size_t i = 0; i < n; i++) {
    struct mtk_node *m = mtk_node_new_map(at);
    mtk_node_set(m, "mode", mtk_node_new_str("ingress", at));
    if (*ps[i].host_ip)
      mtk_node_set(m, "host_ip", mtk_node_new_str(ps[i].host_ip, at));
    if (ps[i].target)
      mtk_node_set(m, "target", mtk_node_new_int(ps[i].target, at));
    if (*ps[i].published)
      mtk_node_set(m, "published", mtk_node_new_str(ps[i].published, at));
    if (*ps[i].protocol)
      mtk_node_set(m, "protocol", mtk_node_new_str(ps[i].protocol, at));
    mtk_node_push(out, m);
  }
}

static int short_port(struct mtk_node *out, const struct mtk_node *it, const char *path, size_t idx,
                      struct mtk_err **err)
{
  mtk_autofree char *spec = mtk_node_scalar_text(it, NULL);
  struct mtk_port_spec *ps = NULL;
  size_t n = 0;
  struct mtk_err *perr = NULL;
  if (mtk_compose_port_parse(spec, &ps, &n, &perr) < 0) {
    mtk_node_err(it, err, "%s[%zu]: invalid port \"%s\": %s", path, idx, spec, perr->msg);
    mtk_err_free(&perr);
    return -1;
  }
  push_specs(out, ps, n, it);
  mtk_compose_port_specs_free(ps, n);
  return 0;
}

/* Long syntax: target to an integer, published to a string (what the typed
 * model holds); anything else is left to the schema. */
static int long_port(struct mtk_node *m, const char *path, size_t idx, struct mtk_err **err)
{
  const struct mtk_node_pair *t = mtk_node_get_pair(m, "target");
  if (t && mtk_node_is_str(t->val)) {
    int64_t v;
    if (!mtk_compose_parse_int(t->val->str, &v) || v < 0 || v > UINT32_MAX)
      return mtk_node_err(t->val, err, "%s[%zu].target: invalid port \"%s\"", path, idx,
                          t->val->str);
    mtk_node_set(m, "target", mtk_node_new_int(v, t->val));
  }
  const struct mtk_node_pair *p = mtk_node_get_pair(m, "published");
  if (p && p->val->kind == MTK_NODE_SCALAR && p->val->type == MTK_SCALAR_INT) {
    mtk_autofree char *s = mtk_node_scalar_text(p->val, NULL);
    mtk_node_set(m, "published", mtk_node_new_str(s, p->val));
  }
  return 0;
}

int mtk_compose_canon_ports(struct mtk_node *service, const char *svc_path, struct mtk_err **err)
{
  const struct mtk_node_pair *pair = mtk_node_get_pair(service, "ports");
  if (pair == NULL || mtk_node_is_null(pair->val))
    return 0;
  mtk_autofree char *path = mtk_xasprintf("%s.ports", svc_path);
  struct mtk_node *ports = pair->val;
  if (ports->kind != MTK_NODE_SEQ)
    return mtk_node_err(ports, err, "%s: invalid type %s for port", path,
                        mtk_compose_go_type(ports));
  struct mtk_node *out = mtk_node_new_seq(ports);
  for (size_t i = 0; i < ports->len; i++) {
    struct mtk_node *it = ports->items[i];
    int r = 0;
    if (it->kind == MTK_NODE_MAP) {
      r = long_port(it, path, i, err);
      mtk_node_push(out, mtk_node_copy(it));
    } else if (mtk_node_is_str(it) || (it->kind == MTK_NODE_SCALAR && it->type == MTK_SCALAR_INT)) {
      r = short_port(out, it, path, i, err);
    } else {
      r = mtk_node_err(it, err, "%s[%zu]: invalid type %s for port", path, i,
                       mtk_compose_go_type(it));
    }
    if (r < 0) {
      mtk_node_free(out);
      return -1;
    }
  }
  mtk_node_set(service, "ports", out);
  return 0;
}
