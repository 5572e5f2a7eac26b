/* Canonical form of services.*.volumes (compose-go transform/volume.go): a
 * short spec "[source:]target[:options]" becomes the mapping that
 * format.ParseVolume's ServiceVolumeConfig encodes to, its target cleaned as
 * Go's path.Clean; long-syntax entries are kept as they are. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "compose/canonical.h"
#include "compose/values.h"
#include "util/cleanup.h"
#include "util/path.h"

static struct mtk_node *volume_map(const struct mtk_volume_spec *v, const struct mtk_node *at)
{
  struct mtk_node *m = mtk_node_new_map(at);
  mtk_node_set(m, "type", mtk_node_new_str(v->type, at));
  if (*v->source)
    mtk_node_set(m, "source", mtk_node_new_str(v->source, at));
  if (*v->target) { /* cleanTarget: an empty target stays empty (absent) */
    mtk_autofree char *target = mtk_path_clean(v->target);
    mtk_node_set(m, "target", mtk_node_new_str(target, at));
  }
  if (v->read_only)
    mtk_node_set(m, "read_only", mtk_node_new_bool(true, at));
  if (v->has_bind) {
    struct mtk_node *b = mtk_node_new_map(at);
    if (v->selinux)
      mtk_node_set(b, "selinux", mtk_node_new_str(v->selinux, at));
    if (v->propagation)
      mtk_node_set(b, "propagation", mtk_node_new_str(v->propagation, at));
    if (v->create_host_path)
      mtk_node_set(b, "create_host_path", mtk_node_new_bool(true, at));
    mtk_node_set(m, "bind", b);
  }
  if (v->has_volume) {
    struct mtk_node *vol = mtk_node_new_map(at);
    if (v->nocopy)
      mtk_node_set(vol, "nocopy", mtk_node_new_bool(true, at));
    mtk_node_set(m, "volume", vol);
  }
  return m;
}

int mtk_compose_canon_volumes(struct mtk_node *service, const char *svc_path, struct mtk_err **err)
{
  struct mtk_node *vols = mtk_node_get(service, "volumes");
  if (!mtk_node_is_seq(vols))
    return 0;
  for (size_t i = 0; i < vols->len; i++) {
    struct mtk_node *it = vols->items[i];
    if (it->kind == MTK_NODE_MAP)
      continue;
    if (!mtk_node_is_str(it))
      return mtk_node_err(it, err, "%s.volumes[%zu]: invalid type %s for service volume mount",
                          svc_path, i, mtk_compose_go_type(it));
    struct mtk_volume_spec v;
    struct mtk_err *verr = NULL;
    if (mtk_compose_volume_parse(it->str, &v, &verr) < 0) {
      mtk_node_err(it, err, "%s.volumes[%zu]: %s", svc_path, i, verr->msg);
      mtk_err_free(&verr);
      return -1;
    }
    mtk_compose_replace(&vols->items[i], volume_map(&v, it));
    mtk_compose_volume_spec_clear(&v);
  }
  return 0;
}
