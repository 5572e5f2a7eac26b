/* Runs mtk's port proxy (src/net/proxy.c) alone in a libuv loop, for
 * bench/proxy.sh on the host (not part of mtk): publishes HOST_PORT on
 * 127.0.0.1 to TARGET_IP:TARGET_PORT until SIGINT/SIGTERM.  Prints the
 * published port (useful with 0 = ephemeral) once listening.
 * Usage: proxy_host HOST_PORT TARGET_IP TARGET_PORT [tcp|udp] */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "net/net.h"

static struct mtk_net_proxy *px;
static uv_signal_t sint, sterm;

static void on_signal(uv_signal_t *s, int signum)
{
  mtk_net_proxy_stop(px);
  uv_close((uv_handle_t *) &sint, NULL);
  uv_close((uv_handle_t *) &sterm, NULL);
}

int main(int argc, char **argv)
{
  if (argc < 4) {
    fprintf(stderr, "usage: %s HOST_PORT TARGET_IP TARGET_PORT [tcp|udp]\n", argv[0]);
    return 2;
  }
  struct mtk_net_port p = {.proto = "tcp", .host_ip = "127.0.0.1"};
  snprintf(p.proto, sizeof(p.proto), "%s", argc > 4 ? argv[4] : "tcp");
  p.host_port = (uint16_t) atoi(argv[1]);
  p.ctr_port = (uint16_t) atoi(argv[3]);
  signal(SIGPIPE, SIG_IGN);
  uv_loop_t *loop = uv_default_loop();
  struct mtk_err *err = NULL;
  if (mtk_net_proxy_start(loop, &p, 1, argv[2], &px, &err) < 0) {
    fprintf(stderr, "proxy_host: %s\n", err->msg);
    return 1;
  }
  printf("%u\n", (unsigned) p.host_port);
  fflush(stdout);
  uv_signal_init(loop, &sint);
  uv_signal_init(loop, &sterm);
  uv_signal_start_oneshot(&sint, on_signal, SIGINT);
  uv_signal_start_oneshot(&sterm, on_signal, SIGTERM);
  uv_run(loop, UV_RUN_DEFAULT);
  return uv_loop_close(loop) == 0 ? 0 : 1;
}
