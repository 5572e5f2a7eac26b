/* Container endpoints: connecting a container's network namespace to a
 * network (veth pair with the peer made straight inside the namespace, an
 * address from the network's IPAM, the default route) and disconnecting it.
 * The endpoint is recorded in the network record under the locks, so an
 * address is never handed out twice, also across mtk processes. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "net/net.h"
#include "net/netlink.h"
#include "net/network_int.h"
#include "util/cleanup.h"
#include "util/sha256.h"

/* "mtkv" + 8 hex of sha256("<ctr>/<net>"): stable for a container and a
 * network, so a leftover of a crash is found and replaced. */
static void veth_name(const char *ctr_id, const char *net_id, char out[IF_NAMESIZE])
{
  char hex[MTK_SHA256_HEX_SIZE];
  mtk_autofree char *key = mtk_xasprintf("%s/%s", ctr_id, net_id);
  mtk_sha256_hex(key, strlen(key), hex);
  snprintf(out, IF_NAMESIZE, "mtkv%.8s", hex);
}

int mtk_net_ep_drop(struct mtk_net_nl *nl, json_t *rec, const char *ctr_id, struct mtk_err **err)
{
  json_t *ctrs = json_object_get(rec, "Containers");
  json_t *ep = json_object_get(ctrs, ctr_id);
  if (!ep)
    return 0;
  const char *veth = json_string_value(json_object_get(ep, "Veth"));
  if (nl && veth && mtk_net_nl_link_del(nl, veth, err) < 0)
    return -1;
  json_object_del(ctrs, ctr_id);
  return 0;
}

/* ------------------------------------------------------------- addresses */

struct ep_addr {
  uint32_t ip, gw; /* host order */
  int len;
  bool v6;
  uint8_t ip6[16], gw6[16];
};

static int used_addrs(const json_t *rec, uint32_t **out, size_t *n)
{
  json_t *ctrs = json_object_get(rec, "Containers"), *ep;
  const char *k;
  *out = mtk_xcalloc(json_object_size(ctrs) + 1, sizeof(uint32_t));
  *n = 0;
  json_object_foreach(ctrs, k, ep)
  {
    const char *a = json_string_value(json_object_get(ep, "IPv4Address"));
    mtk_autofree char *ip = a ? mtk_xstrndup(a, strcspn(a, "/")) : NULL;
    if (ip && mtk_net_ip4_parse(ip, &(*out)[*n]) == 0)
      (*n)++;
  }
  return 0;
}

static int pick_addr(const json_t *rec, const char *want, struct ep_addr *a, struct mtk_err **err)
{
  struct mtk_net_cidr4 sn;
  if (mtk_net_rec_subnet(rec, &sn, &a->gw, err) < 0)
    return -1;
  a->len = sn.len;
  mtk_autofree uint32_t *used = NULL;
  size_t n;
  used_addrs(rec, &used, &n);
  if (want) {
    if (mtk_net_ip4_parse(want, &a->ip) < 0)
      return mtk_err_set(err, EINVAL, "invalid address %s: not an IPv4 address", want);
    if (mtk_net_ipam_check(&sn, a->gw, used, n, a->ip, err) < 0)
      return -1;
  } else {
    uint32_t last = 0;
    const char *l = json_string_value(json_object_get(json_object_get(rec, "MtkIPAM"), "LastIPv4"));
    if (l && *l)
      mtk_net_ip4_parse(l, &last);
    if (mtk_net_ipam_next(&sn, a->gw, used, n, last, &a->ip, err) < 0)
      return -1;
  }
  a->v6 = json_is_true(json_object_get(rec, "EnableIPv6"));
  if (a->v6) {
    uint8_t p[16];
    mtk_net_ula64(json_string_value(json_object_get(rec, "Id")), p);
    mtk_net_ip6_host(p, a->ip - sn.addr, a->ip6);
    mtk_net_ip6_host(p, 1, a->gw6);
  }
  return 0;
}

/* ------------------------------------------------------ inside the netns */

/* The first ethN the namespace does not have. */
static int free_ifname(struct mtk_net_nl *ns, char out[IF_NAMESIZE], struct mtk_err **err)
{
  for (int i = 0; i < 64; i++) {
    snprintf(out, IF_NAMESIZE, "eth%d", i);
    int r = mtk_net_nl_ifindex(ns, out, err);
    if (r <= 0)
      return r;
  }
  return mtk_err_set(err, ENOSPC, "the container has eth0 to eth63 already");
}

static int ns_configure(struct mtk_net_nl *ns, const char *ifname, const struct ep_addr *a,
                        bool default_route, struct mtk_err **err)
{
  int idx = mtk_net_nl_ifindex(ns, ifname, err);
  if (idx == 0)
    return mtk_err_set(err, ENODEV, "%s did not appear in the container's namespace", ifname);
  uint32_t ip = htonl(a->ip), gw = htonl(a->gw);
  if (idx < 0 || mtk_net_nl_addr_add(ns, idx, AF_INET, &ip, a->len, err) < 0 ||
      (a->v6 && mtk_net_nl_addr_add(ns, idx, AF_INET6, a->ip6, 64, err) < 0) ||
      mtk_net_nl_link_up(ns, idx, err) < 0)
    return -1;
  if (!default_route)
    return 0;
  if (mtk_net_nl_route_default(ns, AF_INET, &gw, err) < 0)
    return -1;
  return a->v6 ? mtk_net_nl_route_default(ns, AF_INET6, a->gw6, err) : 0;
}

/* ------------------------------------------------------------- the record */

static json_t *strv_json(const char *const *v, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

static json_t *ep_record(const char *ctr_id, const char *ctr_name, const char *netns_path,
                         const struct mtk_net_endpoint_req *req, const struct ep_addr *a,
                         const char *mac, const char *veth)
{
  char ip[16], eid[65];
  unsigned char b[32];
  if (getrandom(b, sizeof(b), 0) != sizeof(b))
    abort();
  for (int i = 0; i < 32; i++)
    snprintf(eid + 2 * i, 3, "%02x", b[i]);
  mtk_net_ip4_str(a->ip, ip);
  mtk_autofree char *ip4 = mtk_xasprintf("%s/%d", ip, a->len);
  char ip6[INET6_ADDRSTRLEN] = "";
  if (a->v6)
    inet_ntop(AF_INET6, a->ip6, ip6, sizeof(ip6));
  mtk_autofree char *ip6s = a->v6 ? mtk_xasprintf("%s/64", ip6) : mtk_xstrdup("");
  json_t *dns = json_array();
  if (ctr_name && *ctr_name)
    json_array_append_new(dns, json_string(ctr_name));
  json_array_append_new(dns, json_stringn(ctr_id, strlen(ctr_id) < 12 ? strlen(ctr_id) : 12));
  for (size_t i = 0; i < req->n_aliases; i++)
    json_array_append_new(dns, json_string(req->aliases[i]));
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "Name",
                   ctr_name ? ctr_name : ctr_id, "EndpointID", eid, "MacAddress", mac,
                   "IPv4Address", ip4, "IPv6Address", ip6s, "Aliases",
                   strv_json(req->aliases, req->n_aliases), "DNSNames", dns, "Veth", veth,
                   "SandboxKey", netns_path);
}

/* The endpoint as `container inspect` shows it under NetworkSettings.Networks. */
static json_t *ep_view(const json_t *rec, const json_t *ep, const struct ep_addr *a)
{
  char ip[16], gw[16];
  mtk_net_ip4_str(a->ip, ip);
  mtk_net_ip4_str(a->gw, gw);
  json_t *v =
      json_pack("{s:s, s:O, s:s, s:i, s:s, s:O, s:O, s:O}", "NetworkID",
                json_string_value(json_object_get(rec, "Id")), "EndpointID",
                json_object_get(ep, "EndpointID"), "IPAddress", ip, "IPPrefixLen", a->len,
                "Gateway", gw, "MacAddress", json_object_get(ep, "MacAddress"), "Aliases",
                json_object_get(ep, "Aliases"), "DNSNames", json_object_get(ep, "DNSNames"));
  if (a->v6) {
    char ip6[INET6_ADDRSTRLEN], gw6[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, a->ip6, ip6, sizeof(ip6));
    inet_ntop(AF_INET6, a->gw6, gw6, sizeof(gw6));
    json_object_set_new(v, "GlobalIPv6Address", json_string(ip6));
    json_object_set_new(v, "GlobalIPv6PrefixLen", json_integer(64));
    json_object_set_new(v, "IPv6Gateway", json_string(gw6));
  }
  return v;
}

/* --------------------------------------------------------------- connect */

struct conn {
  const char *root, *ctr_id, *ctr_name, *netns_path;
  const struct mtk_net_endpoint_req *req;
  json_t *rec; /* borrowed */
  struct mtk_net_nl *nl;
  int nsfd;
  struct mtk_net_nl ns;
  char veth[IF_NAMESIZE], ifname[IF_NAMESIZE], mac[18];
  struct ep_addr a;
};

static int make_link(struct conn *c, int br_idx, struct mtk_err **err)
{
  const char *net_id = json_string_value(json_object_get(c->rec, "Id"));
  uint8_t mac[6] = {0x02,
                    0x42,
                    (uint8_t) (c->a.ip >> 24),
                    (uint8_t) (c->a.ip >> 16),
                    (uint8_t) (c->a.ip >> 8),
                    (uint8_t) c->a.ip};
  snprintf(c->mac, sizeof(c->mac), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
           mac[4], mac[5]);
  mtk_autofree char *f = mtk_xasprintf("net=%.12s ctr=%.12s", net_id, c->ctr_id);
  mtk_autofree char *alias = mtk_net_alias(c->root, f);
  veth_name(c->ctr_id, net_id, c->veth);
  if (mtk_net_nl_link_del(c->nl, c->veth, err) < 0)
    return -1;
  if (mtk_net_nl_veth_add(c->nl, c->veth, alias, mtk_net_rec_group(c->rec), br_idx, c->ifname, mac,
                          c->nsfd, err) < 0)
    return -1;
  if (ns_configure(&c->ns, c->ifname, &c->a,
                   c->req->default_route && !json_is_true(json_object_get(c->rec, "Internal")),
                   err) < 0) {
    mtk_net_nl_link_del(c->nl, c->veth, NULL);
    return -1;
  }
  return 0;
}

static int connect_locked(struct conn *c, json_t **endpoint, struct mtk_err **err)
{
  const char *name = json_string_value(json_object_get(c->rec, "Name"));
  if (json_object_get(json_object_get(c->rec, "Containers"), c->ctr_id))
    return mtk_err_set(err, EEXIST, "endpoint with name %s already exists in network %s",
                       c->ctr_name ? c->ctr_name : c->ctr_id, name);
  bool created;
  int br = mtk_net_bridge_ensure(c->nl, c->root, c->rec, &created, err);
  if (br < 0 || (created && mtk_net_nft_sync(c->nl, err) < 0) ||
      pick_addr(c->rec, c->req->ipv4, &c->a, err) < 0)
    return -1;
  c->nsfd = open(c->netns_path, O_RDONLY | O_CLOEXEC);
  if (c->nsfd < 0)
    return mtk_err_set(err, errno, "open %s: %s", c->netns_path, strerror(errno));
  if (mtk_net_nl_open_ns(&c->ns, c->nsfd, err) < 0)
    return -1;
  if (c->req->ifname)
    snprintf(c->ifname, sizeof(c->ifname), "%s", c->req->ifname);
  else if (free_ifname(&c->ns, c->ifname, err) < 0)
    return -1;
  if (make_link(c, br, err) < 0)
    return -1;
  json_t *ep = ep_record(c->ctr_id, c->ctr_name, c->netns_path, c->req, &c->a, c->mac, c->veth);
  char ip[16];
  mtk_net_ip4_str(c->a.ip, ip);
  json_object_set_new(json_object_get(c->rec, "Containers"), c->ctr_id, ep);
  json_object_set_new(c->rec, "MtkIPAM", json_pack("{s:s}", "LastIPv4", ip));
  if (mtk_net_record_save(c->root, c->rec, err) < 0) {
    mtk_net_nl_link_del(c->nl, c->veth, NULL);
    return -1;
  }
  if (endpoint)
    *endpoint = ep_view(c->rec, ep, &c->a);
  return 0;
}

static int find_network(const char *root, struct mtk_net_nl *nl, const char *ref, json_t **rec,
                        struct mtk_err **err)
{
  if (!ref || strcmp(ref, MTK_NET_DEFAULT) == 0)
    return mtk_net_default_locked(root, nl, rec, err);
  return mtk_net_record_find(root, ref, rec, err);
}

int mtk_net_connect(const char *root, const char *ctr_id, const char *ctr_name,
                    const char *netns_path, const struct mtk_net_endpoint_req *req,
                    json_t **endpoint, struct mtk_err **err)
{
  mtk_autonetlock lk;
  struct mtk_net_nl nl = {0};
  struct conn c = {.root = root,
                   .ctr_id = ctr_id,
                   .ctr_name = ctr_name,
                   .netns_path = netns_path,
                   .req = req,
                   .nl = &nl,
                   .nsfd = -1};
  if (mtk_net_lock(root, &lk, err) < 0 || mtk_net_nl_open(&nl, err) < 0)
    return -1;
  int r = find_network(root, &nl, req->network, &c.rec, err);
  if (r == 0)
    r = connect_locked(&c, endpoint, err);
  if (r < 0) {
    if (c.rec)
      mtk_net_idle(&nl, c.rec, false, NULL);
    mtk_err_wrap(err, "connecting container %.12s to network %s", ctr_id,
                 req->network ? req->network : MTK_NET_DEFAULT);
  }
  json_decref(c.rec);
  mtk_net_nl_close(&c.ns);
  if (c.nsfd >= 0)
    close(c.nsfd);
  mtk_net_nl_close(&nl);
  return r;
}

/* ------------------------------------------------------------ disconnect */

/* Drops the container's endpoint and saves the record; the default
 * network's last endpoint takes the bridge along, in one batch with its
 * veth when they share a link group that holds nothing else. */
static int leave(const char *root, struct mtk_net_nl *nl, json_t *rec, const char *ctr_id,
                 struct mtk_err **err)
{
  bool batch = mtk_net_idle_batch(nl, rec, ctr_id);
  if (mtk_net_ep_drop(batch ? NULL : nl, rec, ctr_id, err) < 0 ||
      mtk_net_record_save(root, rec, err) < 0)
    return -1;
  return mtk_net_idle(nl, rec, batch, err);
}

int mtk_net_disconnect(const char *root, const char *ctr_id, const char *network,
                       struct mtk_err **err)
{
  mtk_autonetlock lk;
  struct mtk_net_nl nl = {0};
  json_t *rec = NULL;
  if (mtk_net_lock(root, &lk, err) < 0 || mtk_net_record_find(root, network, &rec, err) < 0)
    return -1;
  int r = 0;
  if (json_object_get(json_object_get(rec, "Containers"), ctr_id)) {
    r = mtk_net_nl_open(&nl, err);
    if (r == 0)
      r = leave(root, &nl, rec, ctr_id, err);
    mtk_net_nl_close(&nl);
  }
  json_decref(rec);
  return r;
}

/* The veths are deleted here (about 30 ms of synchronize_net each) although
 * the kernel would destroy them with the namespace: that happens in the
 * background some 10-40 ms after the namespace's unmount, and a veth seen
 * after `rm` returned looks like a leak. */
int mtk_net_disconnect_all(const char *root, const char *ctr_id, struct mtk_err **err)
{
  mtk_autonetlock lk;
  struct mtk_net_nl nl = {0};
  json_t *recs = NULL, *rec;
  size_t i;
  if (mtk_net_lock(root, &lk, err) < 0 || mtk_net_list(root, &recs, err) < 0)
    return -1;
  int r = 0;
  json_array_foreach(recs, i, rec)
  {
    if (!json_object_get(json_object_get(rec, "Containers"), ctr_id))
      continue;
    if (!nl.sk && mtk_net_nl_open(&nl, err) < 0) {
      r = -1;
      break;
    }
    /* Keep going after a failure: report the first one. */
    if (leave(root, &nl, rec, ctr_id, err) < 0)
      r = -1;
  }
  mtk_net_nl_close(&nl);
  json_decref(recs);
  return r;
}
