/* Published ports: docker's -p syntax (mtk_net_ports_parse) and the check
 * that every host port is free, naming the process that holds one
 * (mtk_net_ports_check).  Placeholder until the real code lands. */
#include "config.h"

#include <errno.h>

#include "net/net.h"

int mtk_net_ports_parse(const char *spec, struct mtk_net_port **v, size_t *n, struct mtk_err **err)
{
  return mtk_err_set(err, ENOSYS, "port publishing (-p %s) is not available yet", spec);
}

int mtk_net_ports_check(const struct mtk_net_port *p, size_t n, struct mtk_err **err)
{
  return mtk_err_set(err, ENOSYS, "the host port check is not available yet");
}
