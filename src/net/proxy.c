/* The userland port proxy: listeners on host ports forwarding TCP and UDP
 * to a container's address, run in the supervisor's libuv loop.
 * Placeholder until the real code lands. */
#include "config.h"

#include <errno.h>

#include "net/net.h"

int mtk_net_proxy_start(uv_loop_t *loop, struct mtk_net_port *p, size_t n, const char *ctr_ip,
                        struct mtk_net_proxy **out, struct mtk_err **err)
{
  return mtk_err_set(err, ENOSYS, "the port proxy is not available yet");
}

void mtk_net_proxy_stop(struct mtk_net_proxy *px)
{
  (void) px;
}
