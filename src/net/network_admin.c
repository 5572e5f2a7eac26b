/* Creating, removing and pruning networks, and the default network
 * "bridge".  Each change runs under the root and host locks: the record,
 * the bridge and the host-wide nftables table change together, and what a
 * failed step did is undone before the error is returned. */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "net/netlink.h"
#include "net/network_int.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

struct taken {
  struct mtk_net_cidr4 *c; /* owned */
  char **what;             /* owned: "network x" / "the host route ... on dev" */
  size_t n;
};

static void taken_add(struct taken *t, struct mtk_net_cidr4 c, char *what)
{
  t->c = mtk_xrealloc(t->c, (t->n + 1) * sizeof(*t->c));
  t->what = mtk_xrealloc(t->what, (t->n + 1) * sizeof(*t->what));
  t->c[t->n] = c;
  t->what[t->n++] = what;
}

static void taken_free(struct taken *t)
{
  for (size_t i = 0; i < t->n; i++)
    free(t->what[i]);
  free(t->what);
  free(t->c);
}

/* The subnets of the root's networks and the host's routes. */
static int taken_collect(struct mtk_net_nl *nl, const json_t *recs, struct taken *t,
                         struct mtk_err **err)
{
  json_t *rec;
  size_t i;
  json_array_foreach(recs, i, rec)
  {
    struct mtk_net_cidr4 c;
    uint32_t gw;
    if (mtk_net_rec_subnet(rec, &c, &gw, NULL) == 0)
      taken_add(t, c, mtk_xasprintf("network %s", json_string_value(json_object_get(rec, "Name"))));
  }
  mtk_autofree struct mtk_net_nl_route4 *routes = NULL;
  mtk_autofree struct mtk_net_nl_link *links = NULL;
  size_t nr = 0, nl_links = 0;
  if (mtk_net_nl_routes4(nl, &routes, &nr, err) < 0 ||
      mtk_net_nl_links(nl, &links, &nl_links, err) < 0)
    return -1;
  for (size_t r = 0; r < nr; r++) {
    struct mtk_net_cidr4 c = {routes[r].dst & mtk_net_mask4(routes[r].len), routes[r].len};
    char sn[19];
    const char *dev = "?";
    for (size_t k = 0; k < nl_links; k++)
      if (links[k].index == routes[r].oif)
        dev = links[k].name;
    mtk_net_cidr4_str(&c, sn);
    taken_add(t, c, mtk_xasprintf("the host route %s on %s", sn, dev));
  }
  return 0;
}

static int pick_subnet(struct mtk_net_nl *nl, const json_t *recs,
                       const struct mtk_net_create_opts *o, bool is_default,
                       struct mtk_net_cidr4 *out, struct mtk_err **err)
{
  struct taken t = {0};
  int r = taken_collect(nl, recs, &t, err);
  if (r == 0 && !o->subnet)
    r = mtk_net_pool_pick(is_default, t.c, t.n, out, err);
  else if (r == 0 && (r = mtk_net_cidr4_parse(o->subnet, out, err)) == 0) {
    for (size_t i = 0; i < t.n; i++) {
      if (mtk_net_cidr4_overlap(out, &t.c[i])) {
        r = mtk_err_set(err, EINVAL, "invalid subnet %s: it overlaps with %s", o->subnet,
                        t.what[i]);
        mtk_err_hint(err, "choose another --subnet, or leave it out to get a free one");
        break;
      }
    }
  }
  taken_free(&t);
  return r;
}

static int pick_gateway(const struct mtk_net_create_opts *o, const struct mtk_net_cidr4 *sn,
                        uint32_t *gw, struct mtk_err **err)
{
  if (!o->gateway) {
    *gw = sn->addr + 1;
    return 0;
  }
  uint32_t bcast = sn->addr | ~mtk_net_mask4(sn->len);
  char s[19];
  mtk_net_cidr4_str(sn, s);
  if (mtk_net_ip4_parse(o->gateway, gw) < 0)
    return mtk_err_set(err, EINVAL, "invalid gateway %s: not an IPv4 address", o->gateway);
  if (!mtk_net_cidr4_contains(sn, *gw) || *gw == sn->addr || *gw == bcast)
    return mtk_err_set(err, EINVAL, "invalid gateway %s: not a host address of subnet %s",
                       o->gateway, s);
  return 0;
}

static int check_name(const char *name, const json_t *recs, struct mtk_err **err)
{
  if (!name || !*name)
    return mtk_err_set(err, EINVAL, "a network needs a name");
  size_t ok = strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
  if (name[ok] || name[0] == '.' || name[0] == '-' || name[0] == '_' || ok > 128)
    return mtk_err_set(err, EINVAL,
                       "invalid network name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] "
                       "are allowed, up to 128 characters",
                       name);
  if (!strcmp(name, "bridge") || !strcmp(name, "host") || !strcmp(name, "none"))
    return mtk_err_set(err, EPERM, "%s is a pre-defined network and cannot be created", name);
  json_t *rec;
  size_t i;
  json_array_foreach(recs, i, rec)
  {
    if (strcmp(json_string_value(json_object_get(rec, "Name")), name) == 0)
      return mtk_err_set(err, EEXIST, "network with name %s already exists", name);
  }
  return 0;
}

static void random_id(char id[65])
{
  unsigned char b[32];
  if (getrandom(b, sizeof(b), 0) != sizeof(b))
    abort();
  for (int i = 0; i < 32; i++)
    snprintf(id + 2 * i, 3, "%02x", b[i]);
}

static void timestamp(char out[48])
{
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  char base[32];
  strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 48, "%s.%09ldZ", base, ts.tv_nsec);
}

static json_t *ipam_config(const char *id, const struct mtk_net_cidr4 *sn, uint32_t gw, bool v6)
{
  char s[19], g[16];
  mtk_net_cidr4_str(sn, s);
  mtk_net_ip4_str(gw, g);
  json_t *cfg = json_pack("[{s:s, s:s}]", "Subnet", s, "Gateway", g);
  if (v6) {
    uint8_t p[16], gw6[16];
    char ps[INET6_ADDRSTRLEN], gs[INET6_ADDRSTRLEN];
    mtk_net_ula64(id, p);
    mtk_net_ip6_host(p, 1, gw6);
    inet_ntop(AF_INET6, p, ps, sizeof(ps));
    inet_ntop(AF_INET6, gw6, gs, sizeof(gs));
    mtk_autofree char *sub6 = mtk_xasprintf("%s/64", ps);
    json_array_append_new(cfg, json_pack("{s:s, s:s}", "Subnet", sub6, "Gateway", gs));
  }
  return cfg;
}

static json_t *record_new(const struct mtk_net_create_opts *o, const char *id,
                          const struct mtk_net_cidr4 *sn, uint32_t gw, const char *brname,
                          bool is_default)
{
  char created[48];
  timestamp(created);
  json_t *labels = json_object();
  for (size_t i = 0; i < o->n_labels; i++) {
    const char *eq = strchr(o->labels[i], '=');
    mtk_autofree char *k =
        eq ? mtk_xstrndup(o->labels[i], (size_t) (eq - o->labels[i])) : mtk_xstrdup(o->labels[i]);
    json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
  }
  json_t *opts = json_pack("{s:s}", "com.docker.network.bridge.name", brname);
  if (is_default) {
    json_object_set_new(opts, "com.docker.network.bridge.default_bridge", json_string("true"));
    json_object_set_new(opts, "com.docker.network.bridge.enable_icc", json_string("true"));
    json_object_set_new(opts, "com.docker.network.bridge.enable_ip_masquerade",
                        json_string("true"));
  }
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:{s:s, s:{}, s:o}, s:b, s:b, s:b, s:{s:s}, "
                   "s:b, s:{}, s:o, s:o, s:{s:s}}",
                   "Name", o->name, "Id", id, "Created", created, "Scope", "local", "Driver",
                   "bridge", "EnableIPv6", o->ipv6, "IPAM", "Driver", "default", "Options",
                   "Config", ipam_config(id, sn, gw, o->ipv6), "Internal", o->internal,
                   "Attachable", false, "Ingress", false, "ConfigFrom", "Network", "", "ConfigOnly",
                   false, "Containers", "Options", opts, "Labels", labels, "MtkIPAM", "LastIPv4",
                   "");
}

static int create_locked(const char *root, struct mtk_net_nl *nl,
                         const struct mtk_net_create_opts *o, bool is_default, json_t **out,
                         struct mtk_err **err)
{
  json_t *recs = NULL;
  if (mtk_net_list(root, &recs, err) < 0)
    return -1;
  struct mtk_net_cidr4 sn;
  uint32_t gw;
  char id[65], brname[IF_NAMESIZE];
  int r = is_default ? 0 : check_name(o->name, recs, err);
  if (r == 0)
    r = pick_subnet(nl, recs, o, is_default, &sn, err);
  json_decref(recs);
  if (r < 0 || pick_gateway(o, &sn, &gw, err) < 0)
    return -1;
  random_id(id);
  if (is_default ? mtk_net_default_bridge_name(nl, brname, err) < 0
                 : snprintf(brname, sizeof(brname), "mtkbr-%.8s", id) < 0)
    return -1;
  json_t *rec = record_new(o, id, &sn, gw, brname, is_default);
  bool created;
  if (mtk_net_bridge_ensure(nl, root, rec, &created, err) < 0) {
    json_decref(rec);
    return -1;
  }
  if (mtk_net_record_save(root, rec, err) < 0 || mtk_net_nft_sync(nl, err) < 0) {
    mtk_autofree char *path = mtk_xasprintf("%s/networks/%s.json", root, id);
    unlink(path);
    mtk_net_nl_link_del(nl, brname, NULL);
    mtk_net_nft_sync(nl, NULL);
    json_decref(rec);
    return mtk_err_wrap(err, "creating network %s", o->name);
  }
  *out = rec;
  return 0;
}

int mtk_net_create(const char *root, const struct mtk_net_create_opts *o, json_t **out,
                   struct mtk_err **err)
{
  mtk_autonetlock lk;
  struct mtk_net_nl nl = {0};
  json_t *rec = NULL;
  if (mtk_net_lock(root, &lk, err) < 0 || mtk_net_nl_open(&nl, err) < 0)
    return -1;
  int r = create_locked(root, &nl, o, false, &rec, err);
  mtk_net_nl_close(&nl);
  if (r == 0 && out)
    *out = rec;
  else
    json_decref(rec);
  return r;
}

int mtk_net_default_locked(const char *root, struct mtk_net_nl *nl, json_t **out,
                           struct mtk_err **err)
{
  json_t *recs = NULL, *rec;
  size_t i;
  if (mtk_net_list(root, &recs, err) < 0)
    return -1;
  json_array_foreach(recs, i, rec)
  {
    if (strcmp(json_string_value(json_object_get(rec, "Name")), MTK_NET_DEFAULT) == 0) {
      *out = json_incref(rec);
      json_decref(recs);
      return 0;
    }
  }
  json_decref(recs);
  struct mtk_net_create_opts o = {.name = MTK_NET_DEFAULT};
  return create_locked(root, nl, &o, true, out, err);
}

int mtk_net_ensure_default(const char *root, json_t **out, struct mtk_err **err)
{
  json_t *rec = NULL;
  if (mtk_net_record_find(root, MTK_NET_DEFAULT, &rec, NULL) == 0 &&
      strcmp(json_string_value(json_object_get(rec, "Name")), MTK_NET_DEFAULT) == 0) {
    if (out)
      *out = rec;
    else
      json_decref(rec);
    return 0;
  }
  json_decref(rec);
  rec = NULL;
  mtk_autonetlock lk;
  struct mtk_net_nl nl = {0};
  if (mtk_net_lock(root, &lk, err) < 0 || mtk_net_nl_open(&nl, err) < 0)
    return -1;
  int r = mtk_net_default_locked(root, &nl, &rec, err);
  mtk_net_nl_close(&nl);
  if (r == 0 && out)
    *out = rec;
  else
    json_decref(rec);
  return r;
}

static bool is_default(const json_t *rec)
{
  return strcmp(json_string_value(json_object_get(rec, "Name")), MTK_NET_DEFAULT) == 0;
}

bool mtk_net_idle_batch(struct mtk_net_nl *nl, const json_t *rec, const char *ctr_id)
{
  json_t *ctrs = json_object_get(rec, "Containers");
  uint32_t g = mtk_net_rec_group(rec);
  const char *veth = json_string_value(json_object_get(json_object_get(ctrs, ctr_id), "Veth"));
  const char *br = mtk_net_rec_bridge(rec);
  if (!g || !veth || !br || !is_default(rec) || json_object_size(ctrs) != 1 ||
      !json_object_get(ctrs, ctr_id))
    return false;
  mtk_autofree struct mtk_net_nl_link *v = NULL;
  size_t n = 0;
  if (mtk_net_nl_links(nl, &v, &n, NULL) < 0)
    return false;
  /* Only the bridge and this veth may be in the group: a group is a plain
   * number, and another program could use the same one. */
  int seen = 0;
  for (size_t i = 0; i < n; i++) {
    if (v[i].group != g)
      continue;
    if (strcmp(v[i].name, br) != 0 && strcmp(v[i].name, veth) != 0)
      return false;
    seen++;
  }
  return seen == 2;
}

int mtk_net_idle(struct mtk_net_nl *nl, const json_t *rec, bool batch, struct mtk_err **err)
{
  if (!is_default(rec) || json_object_size(json_object_get(rec, "Containers")) > 0)
    return 0;
  int r = batch ? mtk_net_nl_group_del(nl, mtk_net_rec_group(rec), err)
                : mtk_net_nl_link_del(nl, mtk_net_rec_bridge(rec), err);
  if (r < 0)
    return -1;
  return mtk_net_nft_sync(nl, err);
}

/* ---------------------------------------------------------------- remove */

static int remove_locked(const char *root, struct mtk_net_nl *nl, json_t *rec, struct mtk_err **err)
{
  const char *name = json_string_value(json_object_get(rec, "Name"));
  const char *id = json_string_value(json_object_get(rec, "Id"));
  if (mtk_net_nl_link_del(nl, mtk_net_rec_bridge(rec), err) < 0)
    return -1;
  mtk_autofree char *path = mtk_xasprintf("%s/networks/%s.json", root, id);
  if (unlink(path) < 0 && errno != ENOENT)
    return mtk_err_set(err, errno, "remove %s: %s", path, strerror(errno));
  if (mtk_net_nft_sync(nl, err) < 0)
    return mtk_err_wrap(err, "network %s was removed, but", name);
  return 0;
}

/* The names of the containers still connected, after dropping endpoints
 * whose veth the host no longer has (their namespace is gone). */
static char *active_endpoints(const char *root, struct mtk_net_nl *nl, json_t *rec,
                              struct mtk_err **err)
{
  json_t *ctrs = json_object_get(rec, "Containers"), *ep;
  const char *cid;
  void *tmp;
  size_t before = json_object_size(ctrs);
  json_object_foreach_safe(ctrs, tmp, cid, ep)
  {
    const char *veth = json_string_value(json_object_get(ep, "Veth"));
    if (!veth || mtk_net_nl_ifindex(nl, veth, NULL) == 0)
      json_object_del(ctrs, cid);
  }
  if (json_object_size(ctrs) != before && mtk_net_record_save(root, rec, err) < 0)
    return NULL;
  if (json_object_size(ctrs) == 0)
    return mtk_xstrdup("");
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  json_object_foreach(ctrs, cid, ep)
  {
    const char *n = json_string_value(json_object_get(ep, "Name"));
    mtk_strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", n ? n : cid);
  }
  return mtk_strbuf_steal(&sb);
}

int mtk_net_remove(const char *root, const char *ref, struct mtk_err **err)
{
  mtk_autonetlock lk;
  struct mtk_net_nl nl = {0};
  json_t *rec = NULL;
  if (mtk_net_lock(root, &lk, err) < 0 || mtk_net_record_find(root, ref, &rec, err) < 0)
    return -1;
  const char *name = json_string_value(json_object_get(rec, "Name"));
  int r = 0;
  if (strcmp(name, MTK_NET_DEFAULT) == 0)
    r = mtk_err_set(err, EPERM, "%s is a pre-defined network and cannot be removed", name);
  else if (mtk_net_nl_open(&nl, err) < 0)
    r = -1;
  mtk_autofree char *active = r == 0 ? active_endpoints(root, &nl, rec, err) : NULL;
  if (r == 0 && !active)
    r = -1;
  else if (r == 0 && *active) {
    r = mtk_err_set(err, EBUSY,
                    "error while removing network: network %s has active "
                    "endpoints (%s)",
                    name, active);
    mtk_err_hint(err,
                 "stop or disconnect those containers first (mtk network disconnect %s "
                 "CONTAINER)",
                 name);
  } else if (r == 0)
    r = remove_locked(root, &nl, rec, err);
  mtk_net_nl_close(&nl);
  json_decref(rec);
  return r;
}
