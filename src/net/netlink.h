/* rtnetlink through libmnl: the few link, address and route operations that
 * networks need (bridges, veth pairs, addresses, default routes) and the
 * dumps of links and IPv4 routes.  A socket works in the network namespace
 * it was opened in (netns.c opens one inside a container's namespace). */
#ifndef MTK_NET_NETLINK_H
#define MTK_NET_NETLINK_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtk/err.h"

struct mnl_socket;

struct mtk_net_nl {
  struct mnl_socket *sk; /* owned */
  uint32_t portid;       /* the socket's netlink port */
  uint32_t seq;          /* last sequence number used */
};

/* Opens a NETLINK_ROUTE socket in the calling thread's network namespace. */
int mtk_net_nl_open(struct mtk_net_nl *nl, struct mtk_err **err);
/* Accepts a zeroed or closed nl. */
void mtk_net_nl_close(struct mtk_net_nl *nl);

/* The index of link `name`, 0 when there is none. */
int mtk_net_nl_ifindex(struct mtk_net_nl *nl, const char *name, struct mtk_err **err);

/* A bridge with this MAC, alias (IFLA_IFALIAS) and link group (0 = the
 * default group), up.  EEXIST when a link of that name exists. */
int mtk_net_nl_bridge_add(struct mtk_net_nl *nl, const char *name, const uint8_t mac[6],
                          const char *alias, uint32_t group, struct mtk_err **err);

/* A veth pair: `name` here (alias, link group, enslaved to master_ifindex,
 * up), `peer` with `peer_mac` created straight in the namespace
 * `peer_netns_fd`. */
int mtk_net_nl_veth_add(struct mtk_net_nl *nl, const char *name, const char *alias, uint32_t group,
                        int master_ifindex, const char *peer, const uint8_t peer_mac[6],
                        int peer_netns_fd, struct mtk_err **err);

/* Sets IFF_UP on a link. */
int mtk_net_nl_link_up(struct mtk_net_nl *nl, int ifindex, struct mtk_err **err);

/* Deletes link `name`; a missing link is not an error. */
int mtk_net_nl_link_del(struct mtk_net_nl *nl, const char *name, struct mtk_err **err);
/* Deletes every link of a group in one batch (one wait for the kernel's
 * RCU grace periods instead of one per link). */
int mtk_net_nl_group_del(struct mtk_net_nl *nl, uint32_t group, struct mtk_err **err);

/* Adds an address (AF_INET 4 bytes / AF_INET6 16 bytes, network order); an
 * IPv6 one without duplicate address detection.  An existing one is kept. */
int mtk_net_nl_addr_add(struct mtk_net_nl *nl, int ifindex, int family, const void *addr,
                        int prefixlen, struct mtk_err **err);

/* A default route via gw (family as above). */
int mtk_net_nl_route_default(struct mtk_net_nl *nl, int family, const void *gw,
                             struct mtk_err **err);

struct mtk_net_nl_link {
  int index;
  int master;     /* index of the bridge it is enslaved to, 0 = none */
  uint32_t group; /* link group (IFLA_GROUP) */
  char name[IF_NAMESIZE];
  char kind[16];   /* "bridge", "veth", ... or "" */
  char alias[256]; /* IFLA_IFALIAS or "" */
};

/* Link `name` into *out: 1, or 0 when there is none. */
int mtk_net_nl_link_get(struct mtk_net_nl *nl, const char *name, struct mtk_net_nl_link *out,
                        struct mtk_err **err);

/* Every link of the namespace.  *v owned by the caller (free). */
int mtk_net_nl_links(struct mtk_net_nl *nl, struct mtk_net_nl_link **v, size_t *n,
                     struct mtk_err **err);

struct mtk_net_nl_route4 {
  uint32_t dst; /* host byte order */
  int len;      /* prefix length */
  int oif;      /* output interface index, 0 = none */
};

/* The unicast IPv4 routes of the main table, the default route excluded. */
int mtk_net_nl_routes4(struct mtk_net_nl *nl, struct mtk_net_nl_route4 **v, size_t *n,
                       struct mtk_err **err);

#endif
