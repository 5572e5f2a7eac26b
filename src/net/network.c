/* Network records: create, load, list, remove, prune; the default network
 * "bridge"; container endpoints (connect/disconnect).  Placeholder bodies
 * until the real code lands (issue 6). */
#include "config.h"

#include <errno.h>

#include "net/net.h"

static int na(struct mtk_err **err, const char *what)
{
  return mtk_err_set(err, ENOSYS, "%s is not available yet", what);
}

int mtk_net_create(const char *root, const struct mtk_net_create_opts *o, json_t **out,
                   struct mtk_err **err)
{
  (void) root, (void) o, (void) out;
  return na(err, "mtk_net_create");
}

int mtk_net_ensure_default(const char *root, json_t **out, struct mtk_err **err)
{
  (void) root, (void) out;
  return na(err, "mtk_net_ensure_default");
}

int mtk_net_load(const char *root, const char *ref, json_t **out, struct mtk_err **err)
{
  (void) root, (void) ref, (void) out;
  return na(err, "mtk_net_load");
}

int mtk_net_list(const char *root, json_t **out, struct mtk_err **err)
{
  (void) root, (void) out;
  return na(err, "mtk_net_list");
}

int mtk_net_remove(const char *root, const char *ref, struct mtk_err **err)
{
  (void) root, (void) ref;
  return na(err, "mtk_net_remove");
}

int mtk_net_prune(const char *root, const char *runroot, char ***removed, size_t *n,
                  struct mtk_err **err)
{
  (void) root, (void) runroot, (void) removed, (void) n;
  return na(err, "mtk_net_prune");
}

int mtk_net_connect(const char *root, const char *ctr_id, const char *ctr_name,
                    const char *netns_path, const struct mtk_net_endpoint_req *req,
                    json_t **endpoint, struct mtk_err **err)
{
  (void) root, (void) ctr_id, (void) ctr_name, (void) netns_path, (void) req, (void) endpoint;
  return na(err, "mtk_net_connect");
}

int mtk_net_disconnect(const char *root, const char *ctr_id, const char *network,
                       struct mtk_err **err)
{
  (void) root, (void) ctr_id, (void) network;
  return na(err, "mtk_net_disconnect");
}

int mtk_net_disconnect_all(const char *root, const char *ctr_id, struct mtk_err **err)
{
  (void) root, (void) ctr_id;
  return na(err, "mtk_net_disconnect_all");
}

int mtk_net_ns_create(const char *runroot, const char *ctr_id, char **path, struct mtk_err **err)
{
  (void) runroot, (void) ctr_id, (void) path;
  return na(err, "mtk_net_ns_create");
}

int mtk_net_ns_remove(const char *runroot, const char *ctr_id, struct mtk_err **err)
{
  (void) runroot, (void) ctr_id;
  return na(err, "mtk_net_ns_remove");
}

char *mtk_net_resolv_conf(const char *root, const char *const *networks, size_t n,
                          struct mtk_err **err)
{
  (void) root, (void) networks, (void) n;
  na(err, "mtk_net_resolv_conf");
  return NULL;
}
