/* What the network files share and what unit tests reach: address
 * arithmetic, the IPAM and the pool (ipam.c), namespace work (netns.c),
 * records and locks (network.c), bridges (network.c), the host-wide
 * nftables table and IP forwarding (nft.c), resolv.conf text (resolv.c).
 *
 * Host-wide state.  Bridges, veths, routes, the nftables table and
 * net.ipv4.ip_forward belong to the kernel, not to one <root>: several
 * roots (tests, users) may have networks at once.  So every link mtk makes
 * carries an alias (IFLA_IFALIAS) saying whose it is:
 *   bridge "mtk root=<tag> net=<id:12> subnet=<a.b.c.d/len> internal=<0|1> path=<root>"
 *   veth   "mtk root=<tag> net=<id:12> ctr=<id:12> path=<root>"
 * (tag = 8 hex of sha256(realpath(root)), path = that realpath, last since
 * it may hold spaces); prune also removes links of roots whose path is gone.
 * The default network's bridge exists only while a container is connected
 * (mtk_net_idle): a root that is deleted with no container running leaves
 * nothing on the host.  The nftables table `ip mtk` is
 * rebuilt from the aliases of all mtk bridges on the host, and changes of
 * host state happen under the host lock MTK_NET_HOST_DIR/lock (taken after
 * <root>/networks/.lock).  The IP forwarding value found before mtk turned
 * it on is kept in MTK_NET_HOST_DIR/ip_forward (a tmpfs: both reset at boot). */
#ifndef MTK_NET_NETWORK_INT_H
#define MTK_NET_NETWORK_INT_H

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mtk/err.h"

struct mtk_net_nl;

#define MTK_NET_HOST_DIR "/run/mtk-net"

/* ------------------------------------------------------------- ipam.c */

struct mtk_net_cidr4 {
  uint32_t addr; /* network address, host byte order */
  int len;       /* prefix length */
};

uint32_t mtk_net_mask4(int len);
/* 0, or -1 when s is not a dotted IPv4 address. */
int mtk_net_ip4_parse(const char *s, uint32_t *out);
void mtk_net_ip4_str(uint32_t a, char out[16]);
void mtk_net_cidr4_str(const struct mtk_net_cidr4 *c, char out[19]);
/* "a.b.c.d/len" with no host bits set and len <= 30; EINVAL otherwise
 * ("invalid subnet 10.5.0.1/24: it should be 10.5.0.0/24"). */
int mtk_net_cidr4_parse(const char *s, struct mtk_net_cidr4 *c, struct mtk_err **err);
bool mtk_net_cidr4_contains(const struct mtk_net_cidr4 *c, uint32_t a);
bool mtk_net_cidr4_overlap(const struct mtk_net_cidr4 *a, const struct mtk_net_cidr4 *b);

/* A requested address: in the subnet, neither its network nor broadcast
 * address (EINVAL), not the gateway and not in used[] (EADDRINUSE). */
int mtk_net_ipam_check(const struct mtk_net_cidr4 *subnet, uint32_t gateway, const uint32_t *used,
                       size_t n, uint32_t want, struct mtk_err **err);
/* The first free address after `last` (wrapping; from the first address
 * when last is 0 or outside), skipping the gateway and used[].  ENOSPC. */
int mtk_net_ipam_next(const struct mtk_net_cidr4 *subnet, uint32_t gateway, const uint32_t *used,
                      size_t n, uint32_t last, uint32_t *out, struct mtk_err **err);
/* The first pool subnet overlapping nothing in taken[] (entries of length 0
 * are ignored): 172.17.0.0/16 only for the default network, then
 * 172.18.0.0/16 .. 172.31.0.0/16, then 192.168.0.0/20 .. 192.168.240.0/20.
 * ENOSPC when all are taken. */
int mtk_net_pool_pick(bool default_net, const struct mtk_net_cidr4 *taken, size_t n,
                      struct mtk_net_cidr4 *out, struct mtk_err **err);
/* The ULA /64 of a network (fd00::/8 + 40 bits of sha256(id), subnet 0). */
void mtk_net_ula64(const char *net_id, uint8_t prefix[16]);
/* prefix with its last 32 bits replaced by host. */
void mtk_net_ip6_host(const uint8_t prefix[16], uint32_t host, uint8_t out[16]);

/* ------------------------------------------------------------ netns.c */

int mtk_net_mkdirs(const char *path, mode_t mode, struct mtk_err **err);
/* Runs fn(arg) on a new thread inside the namespace nsfd. */
int mtk_net_in_netns(int nsfd, int (*fn)(void *arg, struct mtk_err **err), void *arg,
                     struct mtk_err **err);
/* A netlink socket talking to the namespace nsfd. */
int mtk_net_nl_open_ns(struct mtk_net_nl *nl, int nsfd, struct mtk_err **err);

/* ---------------------------------------------------------- network.c */

/* The two locks of a change: <root>/networks/.lock, then the host lock. */
struct mtk_net_lock {
  int root_fd; /* owned, -1 when not held */
  int host_fd; /* owned, -1 when not held */
};
int mtk_net_lock(const char *root, struct mtk_net_lock *l, struct mtk_err **err);
void mtk_net_unlock(struct mtk_net_lock *l);
#define mtk_autonetlock __attribute__((cleanup(mtk_net_unlock))) struct mtk_net_lock

/* 8 hex identifying a root on this host. */
void mtk_net_root_tag(const char *root, char tag[9]);
/* A link alias "mtk root=<tag> <fields> path=<realpath(root)>" (the path
 * left out when the alias would pass 255 bytes).  Owned. */
char *mtk_net_alias(const char *root, const char *fields);
int mtk_net_record_save(const char *root, json_t *rec, struct mtk_err **err);
/* mtk_net_load without the default network's creation (records only). */
int mtk_net_record_find(const char *root, const char *ref, json_t **out, struct mtk_err **err);
/* The link group of the default network's bridge and veths (from its ID,
 * 0x40000000 set), 0 for other networks. */
uint32_t mtk_net_rec_group(const json_t *rec);
/* The network's bridge name, subnet and gateway as recorded. */
const char *mtk_net_rec_bridge(const json_t *rec);
int mtk_net_rec_subnet(const json_t *rec, struct mtk_net_cidr4 *subnet, uint32_t *gateway,
                       struct mtk_err **err);
/* Creates the bridge of a record when the host has none (after a reboot):
 * up, its gateway address(es); *created tells.  Returns its ifindex.  When
 * another root holds the default network's mtkN, rec gets the next free
 * name (the caller saves rec). */
int mtk_net_bridge_ensure(struct mtk_net_nl *nl, const char *root, json_t *rec, bool *created,
                          struct mtk_err **err);
/* The default network's bridge name: mtk0, or the next mtkN no link has. */
int mtk_net_default_bridge_name(struct mtk_net_nl *nl, char out[IF_NAMESIZE], struct mtk_err **err);
/* After endpoints were dropped: the default network's bridge goes with its
 * last endpoint (and the rules are rebuilt); other networks keep theirs.
 * With batch (see mtk_net_idle_batch), by its link group, which takes the
 * last veth along. */
int mtk_net_idle(struct mtk_net_nl *nl, const json_t *rec, bool batch, struct mtk_err **err);
/* Whether dropping ctr_id empties the default network and its link group
 * holds exactly its bridge and ctr_id's veth (deleting the group then costs
 * one wait for the kernel instead of two: about 30 ms less). */
bool mtk_net_idle_batch(struct mtk_net_nl *nl, const json_t *rec, const char *ctr_id);
/* Under the locks: the default network, created when missing. */
int mtk_net_default_locked(const char *root, struct mtk_net_nl *nl, json_t **out,
                           struct mtk_err **err);

/* ------------------------------------------------------- network_ep.c */

/* Deletes the container's veth on the network (absent is fine; nl NULL:
 * left to the namespace's end) and its entry in rec's Containers; rec is
 * not saved. */
int mtk_net_ep_drop(struct mtk_net_nl *nl, json_t *rec, const char *ctr_id, struct mtk_err **err);

/* -------------------------------------------------------------- nft.c */

/* Rebuilds the table `ip mtk` from the mtk bridges now on the host (removes
 * it when there are none) and sets net.ipv4.ip_forward to 1 while one of
 * them is not internal (restoring the value found before once none is).
 * Under the host lock. */
int mtk_net_nft_sync(struct mtk_net_nl *nl, struct mtk_err **err);
/* The ruleset text for the bridges described by their aliases (for tests);
 * NULL when none describes an mtk bridge.  Owned. */
char *mtk_net_nft_ruleset(const char *const *names, const char *const *aliases, size_t n);

/* ----------------------------------------------------------- resolv.c */

/* resolv.conf for a container from the host's text: with a user network's
 * gateway, "nameserver <gw>" plus the host's search/options lines; without,
 * the host's file minus loopback nameservers. */
char *mtk_net_resolv_conf_text(const char *host_text, const char *gateway);

#endif
