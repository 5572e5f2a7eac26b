/* compose-go's transform.SetDefaultValues on the node tree: the defaults set
 * once all files are merged (build context, secret targets, port protocol
 * and mode, device request counts, bind create_host_path). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "compose/canonical.h"
#include "util/cleanup.h"

static void set_default(struct mtk_node *map, const char *key, struct mtk_node *val)
{
  if (mtk_node_get_pair(map, key))
    mtk_node_free(val);
  else
    mtk_node_set(map, key, val);
}

/* gpus[] and deploy.resources.reservations.devices[]. */
static int device_requests(struct mtk_node *seq, const char *path, struct mtk_err **err)
{
  for (size_t i = 0; mtk_node_is_seq(seq) && i < seq->len; i++) {
    struct mtk_node *d = seq->items[i];
    if (!mtk_node_is_map(d))
      return mtk_node_err(d, err, "%s[%zu]: invalid type %s for device request", path, i,
                          mtk_compose_go_type(d));
    if (!mtk_node_get_pair(d, "count") && !mtk_node_get_pair(d, "device_ids"))
      mtk_node_set(d, "count", mtk_node_new_str("all", d));
  }
  return 0;
}

static int secrets(struct mtk_node *seq, const char *path, struct mtk_err **err)
{
  for (size_t i = 0; mtk_node_is_seq(seq) && i < seq->len; i++) {
    struct mtk_node *s = seq->items[i];
    if (!mtk_node_is_map(s))
      return mtk_node_err(s, err, "%s[%zu]: unsupported type %s", path, i, mtk_compose_go_type(s));
    if (mtk_node_get_pair(s, "target"))
      continue;
    const struct mtk_node *src = mtk_node_get(s, "source");
    mtk_autofree char *name = src ? mtk_node_scalar_text(src, NULL) : mtk_xstrdup("%!s(<nil>)");
    mtk_autofree char *target = mtk_xasprintf("/run/secrets/%s", name ? name : "");
    mtk_node_set(s, "target", mtk_node_new_str(target, s));
  }
  return 0;
}

static int volume_binds(struct mtk_node *seq, const char *path, struct mtk_err **err)
{
  for (size_t i = 0; mtk_node_is_seq(seq) && i < seq->len; i++) {
    const struct mtk_node_pair *b = mtk_node_get_pair(seq->items[i], "bind");
    if (b == NULL)
      continue;
    if (!mtk_node_is_map(b->val))
      return mtk_node_err(b->val, err, "%s[%zu].bind: invalid type %s for service volume bind",
                          path, i, mtk_compose_go_type(b->val));
    set_default(b->val, "create_host_path", mtk_node_new_bool(true, b->val));
  }
  return 0;
}

static int service_defaults(struct mtk_node *svc, const char *path, struct mtk_err **err)
{
  struct mtk_node *build = mtk_node_get(svc, "build");
  if (mtk_node_is_map(build))
    set_default(build, "context", mtk_node_new_str(".", build));
  struct mtk_node *ports = mtk_node_get(svc, "ports");
  for (size_t i = 0; mtk_node_is_seq(ports) && i < ports->len; i++) {
    struct mtk_node *p = ports->items[i];
    if (!mtk_node_is_map(p))
      continue;
    set_default(p, "protocol", mtk_node_new_str("tcp", p));
    set_default(p, "mode", mtk_node_new_str("ingress", p));
  }
  mtk_autofree char *psec = mtk_xasprintf("%s.secrets", path);
  mtk_autofree char *pgpu = mtk_xasprintf("%s.gpus", path);
  mtk_autofree char *pdev = mtk_xasprintf("%s.deploy.resources.reservations.devices", path);
  mtk_autofree char *pvol = mtk_xasprintf("%s.volumes", path);
  struct mtk_node *res = mtk_node_get(mtk_node_get(svc, "deploy"), "resources");
  struct mtk_node *devs = mtk_node_get(mtk_node_get(res, "reservations"), "devices");
  if (secrets(mtk_node_get(svc, "secrets"), psec, err) < 0 ||
      device_requests(mtk_node_get(svc, "gpus"), pgpu, err) < 0 ||
      device_requests(devs, pdev, err) < 0 ||
      volume_binds(mtk_node_get(svc, "volumes"), pvol, err) < 0)
    return -1;
  return 0;
}

int mtk_compose_defaults(struct mtk_node *root, struct mtk_err **err)
{
  struct mtk_node *services = mtk_node_get(root, "services");
  for (size_t i = 0; mtk_node_is_map(services) && i < services->len; i++) {
    struct mtk_node *svc = services->pairs[i].val;
    if (!mtk_node_is_map(svc))
      continue;
    mtk_autofree char *p = mtk_xasprintf("services.%s", services->pairs[i].key);
    if (service_defaults(svc, p, err) < 0)
      return -1;
  }
  return 0;
}
