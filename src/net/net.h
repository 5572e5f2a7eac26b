/* Networks: Linux bridges and veth pairs through netlink (libmnl), network
 * namespaces, an IPAM that survives restarts, outbound masquerading
 * (nftables through libnftables, in a table of our own), the DNS responder
 * on each network's gateway, and the userland port proxy.  Issue 6.
 *
 * On disk (all under flock <root>/networks/.lock while changed):
 *   <root>/networks/<id>.json   a network, Docker's `network inspect` shape:
 *       Name, Id (64 hex), Created, Scope "local", Driver "bridge",
 *       EnableIPv6, Internal, Attachable, IPAM {Driver "default", Config
 *       [{Subnet, Gateway}]}, Options {"com.docker.network.bridge.name":
 *       "mtk0" for the default network "bridge", else "mtkbr-<id:8>"},
 *       Labels, Containers {ctr-id: {Name, EndpointID, MacAddress,
 *       IPv4Address "a.b.c.d/len", IPv6Address ("" without IPv6), Aliases
 *       [..], DNSNames [..], Veth "<host side ifname>", SandboxKey "<netns
 *       path>"}}, MtkIPAM {LastIPv4} (the IPAM's cursor; `inspect` hides
 *       it, Veth and SandboxKey)
 *   <runroot>/netns/<ctr-id>     the container's network namespace (an nsfs
 *       bind mount on an empty file; <runroot>/netns is a private mount)
 * Interface names: bridge "mtk0" / "mtkbr-<8 hex>", host-side veth
 * "mtkv<8 hex of hash(ctr,net)>", eth0, eth1... in the container.  Host
 * state (links, the nftables table, ip_forward) is shared by every root on
 * the host: see network_int.h for how roots keep out of each other's way
 * (link aliases, the host lock under /run/mtk-net).
 * The default network "bridge" (172.17.0.0/16 unless routed on the host,
 * else the next free one of the pool) is created on first use, masquerades,
 * has no name resolution between containers (DNS forwards only), and cannot
 * be removed; its Linux bridge (mtk0, or the next free mtkN when another
 * root holds mtk0) exists only while a container is connected, so a root
 * with no running container leaves nothing on the host.  Default subnets
 * of user networks come from a pool (172.18.0.0/16 ... 172.31.0.0/16, then
 * 192.168.0.0/20 steps) skipping ranges already routed on the host (netlink
 * route dump) and those of other networks. */
#ifndef MTK_NET_NET_H
#define MTK_NET_NET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "mtk/err.h"

#define MTK_NET_DEFAULT "bridge"

/* ---------------------------------------------------------------- networks */

struct mtk_net_create_opts {
  const char *name;          /* required */
  const char *subnet;        /* "10.5.0.0/24", NULL = from the pool */
  const char *gateway;       /* NULL = first address of the subnet */
  bool internal;             /* no masquerading, no route out */
  bool ipv6;                 /* --ipv6 (a ULA /64 next to the IPv4 subnet) */
  const char *const *labels; /* "k=v" */
  size_t n_labels;
};

/* Creates the network record, its bridge (up, gateway address) and its
 * nftables rules.  EEXIST "network with name x already exists"; EINVAL for a
 * bad or overlapping subnet (naming the other network or the host route).
 * *out (may be NULL) gets the record.  Nothing left behind on error. */
int mtk_net_create(const char *root, const struct mtk_net_create_opts *o, json_t **out,
                   struct mtk_err **err);

/* The default network "bridge", created when missing. */
int mtk_net_ensure_default(const char *root, json_t **out, struct mtk_err **err);

/* By exact name, full ID or unique ID prefix.  ENOENT "network x not found". */
int mtk_net_load(const char *root, const char *ref, json_t **out, struct mtk_err **err);

/* Every network record, by name.  A JSON array (new reference). */
int mtk_net_list(const char *root, json_t **out, struct mtk_err **err);

/* Removes a network: EBUSY "error while removing network: network x has
 * active endpoints (names)" when containers are connected; EPERM for the
 * default "bridge".  Removes the bridge, its rules (and the whole mtk table
 * when no network is left, and turns IP forwarding back off if mtk turned it
 * on), and the record. */
int mtk_net_remove(const char *root, const char *ref, struct mtk_err **err);

/* Removes every network with no endpoints except "bridge"; also what a crash
 * left: bridges/veths named mtk* without a record, stale endpoints of
 * containers that no longer exist or whose namespace is gone.  Names of the
 * removed networks in *removed (may be NULL). */
int mtk_net_prune(const char *root, const char *runroot, char ***removed, size_t *n,
                  struct mtk_err **err);

/* ------------------------------------------------------- container side */

/* A network namespace for a container at <runroot>/netns/<ctr-id> with lo
 * up; *path (owned by the caller). Existing one is reused. */
int mtk_net_ns_create(const char *runroot, const char *ctr_id, char **path, struct mtk_err **err);
/* Unmounts and removes it; absent is not an error. */
int mtk_net_ns_remove(const char *runroot, const char *ctr_id, struct mtk_err **err);

struct mtk_net_endpoint_req {
  const char *network;        /* name or ID; "bridge" = the default one */
  const char *const *aliases; /* --network-alias, compose service name, ... */
  size_t n_aliases;
  const char *ipv4;   /* --ip, or NULL = next free */
  const char *ifname; /* "eth0", "eth1", ...; NULL = the first ethN the namespace lacks */
  bool default_route; /* the first network of the container */
};

/* Connects the container's namespace to a network: bridge recreated when
 * missing (after a reboot), veth pair, address from the IPAM (never one in
 * use: a requested one already taken is EADDRINUSE), default route via the
 * gateway when asked (never on an internal network), the endpoint recorded
 * with its DNS names (container name, short ID, aliases).  EEXIST when the
 * container already has an endpoint on the network (disconnect first).
 * *endpoint (may be NULL) gets {NetworkID, EndpointID, IPAddress,
 * IPPrefixLen, Gateway, MacAddress, Aliases, DNSNames} (and
 * GlobalIPv6Address, GlobalIPv6PrefixLen, IPv6Gateway with IPv6).  Undone
 * on error. */
int mtk_net_connect(const char *root, const char *ctr_id, const char *ctr_name,
                    const char *netns_path, const struct mtk_net_endpoint_req *req,
                    json_t **endpoint, struct mtk_err **err);

/* Removes the container's endpoint from the network (veth, address,
 * record).  Idempotent; works when the namespace is already gone. */
int mtk_net_disconnect(const char *root, const char *ctr_id, const char *network,
                       struct mtk_err **err);
/* Every endpoint of the container, in every network. */
int mtk_net_disconnect_all(const char *root, const char *ctr_id, struct mtk_err **err);

/* The resolv.conf text for a container on these networks (names, in order):
 * on a user network "nameserver <gateway of the first user network>" plus
 * the host's search/options; on "bridge" only, the host's resolv.conf
 * without loopback nameservers (Docker's rule; 8.8.8.8 fallback is NOT
 * added: no traffic to outside addresses in tests).  Owned string. */
char *mtk_net_resolv_conf(const char *root, const char *const *networks, size_t n,
                          struct mtk_err **err);

/* ---------------------------------------------------------------- DNS */

struct mtk_net_dns;

/* A DNS responder for the user network `network` on its gateway address
 * port 53, UDP and TCP, with SO_REUSEPORT so that every supervisor with a
 * container on the network may run one: A (and AAAA) for container names,
 * short IDs, aliases and service names of the network's endpoints, read from
 * the record (reloaded when it changed), several records for a name shared
 * by replicas; other names forwarded to the host's resolvers (from
 * /etc/resolv.conf, 127.0.0.0/8 ones included: the responder runs on the
 * host) and their answers relayed; NXDOMAIN when there is no upstream. */
int mtk_net_dns_start(uv_loop_t *loop, const char *root, const char *network,
                      struct mtk_net_dns **out, struct mtk_err **err);
void mtk_net_dns_stop(struct mtk_net_dns *d);

/* ---------------------------------------------------------------- ports */

struct mtk_net_port {
  char proto[4];      /* "tcp" or "udp" */
  char host_ip[46];   /* "" = all addresses (0.0.0.0) */
  uint16_t host_port; /* 0 = ephemeral */
  uint16_t ctr_port;
};

/* Parses docker's -p syntax: [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTO],
 * ranges "8000-8002:80-82" and "8000-8002:80" (ephemeral in the range is not
 * supported: EINVAL), IPv6 host ips in brackets.  Appends to *v. */
int mtk_net_ports_parse(const char *spec, struct mtk_net_port **v, size_t *n, struct mtk_err **err);

/* Checks every host port can be bound now; EADDRINUSE "port 8000/tcp on
 * 0.0.0.0 is already in use by process 1234 (python3)" (found through
 * /proc/net/{tcp,tcp6,udp,udp6} inode -> /proc/PID/fd), with a hint to stop
 * it or choose another host port. */
int mtk_net_ports_check(const struct mtk_net_port *p, size_t n, struct mtk_err **err);

struct mtk_net_proxy;

/* Binds the listeners (ephemeral ports resolved and written back into
 * p[i].host_port) and proxies to ctr_ip:ctr_port: TCP with half-close and
 * back-pressure (a side's reads stop while the other side's write queue is
 * full), UDP with a flow per client address and a 30 s idle timeout.  All
 * or nothing: on error nothing stays bound. */
int mtk_net_proxy_start(uv_loop_t *loop, struct mtk_net_port *p, size_t n, const char *ctr_ip,
                        struct mtk_net_proxy **out, struct mtk_err **err);
void mtk_net_proxy_stop(struct mtk_net_proxy *px);

#endif
