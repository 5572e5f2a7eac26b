/* The DNS responder of a user network (mtk_net_dns_start/stop).
 * Placeholder until the real code lands. */
#include "config.h"

#include <errno.h>

#include "net/net.h"

int mtk_net_dns_start(uv_loop_t *loop, const char *root, const char *network,
                      struct mtk_net_dns **out, struct mtk_err **err)
{
  (void) loop;
  (void) root;
  *out = NULL;
  return mtk_err_set(err, ENOSYS, "the DNS responder of network %s is not available yet",
                     network);
}

void mtk_net_dns_stop(struct mtk_net_dns *d)
{
  (void) d;
}
