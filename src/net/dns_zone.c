/* The names the network DNS responder answers: every network record of
 * <root>/networks read into a table (container names, aliases and DNS names
 * of each endpoint with its addresses), noticed stale with a few stat calls,
 * and Docker's lookup rules over the networks a client container sees. */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/dns.h"
#include "util/cleanup.h"
#include "util/file.h"

#define MAX_RECORD (16u << 20)
#define MAX_NETWORKS 4096

static void ep_free(struct mtk_net_dns_ep *e)
{
  free(e->ctr_id);
  free(e->name);
  for (size_t i = 0; i < e->n_names; i++)
    free(e->names[i]);
  free(e->names);
}

static void net_free(struct mtk_net_dns_netrec *n)
{
  free(n->id);
  free(n->name);
  free(n->gateway);
  free(n->subnets);
  for (size_t i = 0; i < n->n_eps; i++)
    ep_free(&n->eps[i]);
  free(n->eps);
}

void mtk_net_dns_zone_free(struct mtk_net_dns_zone *z)
{
  for (size_t i = 0; i < z->n; i++)
    net_free(&z->nets[i]);
  for (size_t i = 0; i < z->n_paths; i++)
    free(z->paths[i]);
  free(z->nets);
  free(z->paths);
  free(z->st);
  memset(z, 0, sizeof(*z));
}

/* "a.b.c.d/len" or "a.b.c.d" (IPv6 too) into 16 bytes; *prefix when asked. */
static int parse_addr(const char *s, uint8_t *out, unsigned *prefix)
{
  char buf[64];
  const char *slash = strchr(s, '/');
  size_t l = slash ? (size_t) (slash - s) : strlen(s);
  if (l == 0 || l >= sizeof(buf))
    return 0;
  memcpy(buf, s, l);
  buf[l] = '\0';
  int family = strchr(buf, ':') ? AF_INET6 : AF_INET;
  memset(out, 0, 16);
  if (inet_pton(family, buf, out) != 1)
    return 0;
  if (prefix) {
    unsigned max = family == AF_INET ? 32 : 128, p = max;
    if (slash) {
      char *end;
      errno = 0;
      unsigned long v = strtoul(slash + 1, &end, 10);
      if (errno || *end || end == slash + 1 || v > max)
        return 0;
      p = (unsigned) v;
    }
    *prefix = p;
  }
  return family;
}

static void add_name(struct mtk_net_dns_ep *e, const char *s)
{
  size_t l = s ? strlen(s) : 0;
  if (l == 0 || l > MTK_NET_DNS_MAXNAME)
    return;
  char *low = mtk_xstrdup(s);
  for (char *p = low; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char) (*p + 32);
  for (size_t i = 0; i < e->n_names; i++)
    if (strcmp(e->names[i], low) == 0) {
      free(low);
      return;
    }
  e->names = mtk_xrealloc(e->names, (e->n_names + 1) * sizeof(*e->names));
  e->names[e->n_names++] = low;
}

static void add_names(struct mtk_net_dns_ep *e, const json_t *arr)
{
  size_t i;
  const json_t *v;
  if (json_is_array(arr))
    json_array_foreach(arr, i, v) add_name(e, json_string_value(v));
}

static void add_endpoint(struct mtk_net_dns_netrec *n, const char *ctr_id, const json_t *o)
{
  if (!json_is_object(o))
    return;
  struct mtk_net_dns_ep e = {0};
  unsigned pfx;
  const char *v4 = json_string_value(json_object_get(o, "IPv4Address"));
  const char *v6 = json_string_value(json_object_get(o, "IPv6Address"));
  uint8_t a[16];
  if (v4 && parse_addr(v4, a, &pfx) == AF_INET) {
    e.v4 = (uint32_t) a[0] << 24 | (uint32_t) a[1] << 16 | (uint32_t) a[2] << 8 | a[3];
    e.has_v4 = true;
  }
  if (v6 && parse_addr(v6, e.v6, &pfx) == AF_INET6)
    e.has_v6 = true;
  const char *name = json_string_value(json_object_get(o, "Name"));
  e.ctr_id = mtk_xstrdup(ctr_id);
  e.name = mtk_xstrdup(name ? name : "");
  add_name(&e, name);
  add_names(&e, json_object_get(o, "Aliases"));
  add_names(&e, json_object_get(o, "DNSNames"));
  n->eps = mtk_xrealloc(n->eps, (n->n_eps + 1) * sizeof(*n->eps));
  n->eps[n->n_eps++] = e;
}

static void add_ipam(struct mtk_net_dns_netrec *n, const json_t *config)
{
  size_t i;
  const json_t *c;
  if (!json_is_array(config))
    return;
  json_array_foreach(config, i, c)
  {
    const char *subnet = json_string_value(json_object_get(c, "Subnet"));
    const char *gw = json_string_value(json_object_get(c, "Gateway"));
    struct mtk_net_dns_subnet s = {0};
    if (subnet && (s.family = parse_addr(subnet, s.addr, &s.prefix)) != 0) {
      n->subnets = mtk_xrealloc(n->subnets, (n->n_subnets + 1) * sizeof(*n->subnets));
      n->subnets[n->n_subnets++] = s;
    }
    uint8_t a[16];
    if (gw && !n->gateway && parse_addr(gw, a, NULL) == AF_INET)
      n->gateway = mtk_xstrndup(gw, strcspn(gw, "/"));
  }
}

int mtk_net_dns_zone_add(struct mtk_net_dns_zone *z, const json_t *rec, struct mtk_err **err)
{
  const char *name = json_string_value(json_object_get(rec, "Name"));
  const char *id = json_string_value(json_object_get(rec, "Id"));
  if (!name || !id || !*name || !*id)
    return mtk_err_set(err, EINVAL, "network record without Name or Id");
  if (z->n >= MAX_NETWORKS)
    return mtk_err_set(err, E2BIG, "more than %d network records", MAX_NETWORKS);
  struct mtk_net_dns_netrec n = {0};
  n.id = mtk_xstrdup(id);
  n.name = mtk_xstrdup(name);
  n.internal = json_is_true(json_object_get(rec, "Internal"));
  n.is_default = strcmp(name, MTK_NET_DEFAULT) == 0;
  add_ipam(&n, json_object_get(json_object_get(rec, "IPAM"), "Config"));
  const char *key;
  const json_t *ep;
  const json_t *ctrs = json_object_get(rec, "Containers");
  if (json_is_object(ctrs))
    json_object_foreach((json_t *) ctrs, key, ep) add_endpoint(&n, key, ep);
  /* sorted by name: a stable order for the other networks of a client */
  size_t at = z->n;
  while (at > 0 && strcmp(z->nets[at - 1].name, n.name) > 0)
    at--;
  z->nets = mtk_xrealloc(z->nets, (z->n + 1) * sizeof(*z->nets));
  memmove(z->nets + at + 1, z->nets + at, (z->n - at) * sizeof(*z->nets));
  z->nets[at] = n;
  z->n++;
  return 0;
}

static void add_file(struct mtk_net_dns_zone *z, const char *path)
{
  struct stat st;
  /* stat before reading: a change after it makes the table stale again */
  if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
    return;
  z->paths = mtk_xrealloc(z->paths, (z->n_paths + 1) * sizeof(*z->paths));
  z->st = mtk_xrealloc(z->st, (z->n_paths + 1) * sizeof(*z->st));
  z->paths[z->n_paths] = mtk_xstrdup(path);
  z->st[z->n_paths++] = st;
  struct mtk_err *err = NULL;
  size_t len;
  mtk_autofree char *text = mtk_file_read(path, MAX_RECORD, &len, &err);
  json_t *rec = text ? json_loadb(text, len, 0, NULL) : NULL;
  if (rec)
    mtk_net_dns_zone_add(z, rec, &err);
  json_decref(rec);
  mtk_err_free(&err);
}

int mtk_net_dns_zone_load(struct mtk_net_dns_zone *z, const char *dir, struct mtk_err **err)
{
  mtk_net_dns_zone_free(z);
  if (stat(dir, &z->dir_st) < 0)
    return mtk_err_set(err, errno, "stat %s: %s", dir, strerror(errno));
  DIR *d = opendir(dir);
  if (!d)
    return mtk_err_set(err, errno, "open %s: %s", dir, strerror(errno));
  struct dirent *de;
  while ((de = readdir(d)) != NULL && z->n_paths < MAX_NETWORKS) {
    size_t l = strlen(de->d_name);
    if (de->d_name[0] == '.' || l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
      continue;
    mtk_autofree char *path = mtk_xasprintf("%s/%s", dir, de->d_name);
    add_file(z, path);
  }
  closedir(d);
  return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
  return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
         a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
         a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

bool mtk_net_dns_zone_stale(const struct mtk_net_dns_zone *z, const char *dir)
{
  struct stat st;
  if (stat(dir, &st) < 0 || !same_file(&st, &z->dir_st))
    return true;
  for (size_t i = 0; i < z->n_paths; i++)
    if (stat(z->paths[i], &st) < 0 || !same_file(&st, &z->st[i]))
      return true;
  return false;
}

long mtk_net_dns_zone_find(const struct mtk_net_dns_zone *z, const char *ref)
{
  long found = -1;
  size_t l = strlen(ref);
  for (size_t i = 0; i < z->n; i++)
    if (strcmp(z->nets[i].name, ref) == 0 || strcmp(z->nets[i].id, ref) == 0)
      return (long) i;
  for (size_t i = 0; i < z->n && l > 0; i++)
    if (strncmp(z->nets[i].id, ref, l) == 0) {
      if (found >= 0)
        return -1; /* ambiguous prefix */
      found = (long) i;
    }
  return found;
}

/* ------------------------------------------------------------ lookups */

static const struct mtk_net_dns_ep *ep_by_addr(const struct mtk_net_dns_netrec *n,
                                               const struct sockaddr *sa)
{
  for (size_t i = 0; sa && i < n->n_eps; i++) {
    const struct mtk_net_dns_ep *e = &n->eps[i];
    if (sa->sa_family == AF_INET && e->has_v4 &&
        ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr) == e->v4)
      return e;
    if (sa->sa_family == AF_INET6 && e->has_v6 &&
        memcmp(((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr, e->v6, 16) == 0)
      return e;
  }
  return NULL;
}

static bool has_ctr(const struct mtk_net_dns_netrec *n, const char *ctr_id)
{
  for (size_t i = 0; i < n->n_eps; i++)
    if (strcmp(n->eps[i].ctr_id, ctr_id) == 0)
      return true;
  return false;
}

void mtk_net_dns_view_make(struct mtk_net_dns_view *v, const struct mtk_net_dns_zone *z, long net,
                           const struct sockaddr *client)
{
  v->zone = z;
  v->n = 0;
  if (net < 0 || (size_t) net >= z->n)
    return;
  v->idx[v->n++] = (size_t) net;
  const struct mtk_net_dns_ep *me = ep_by_addr(&z->nets[net], client);
  for (size_t i = 0; me && i < z->n && v->n < sizeof(v->idx) / sizeof(v->idx[0]); i++)
    if (i != (size_t) net && !z->nets[i].is_default && has_ctr(&z->nets[i], me->ctr_id))
      v->idx[v->n++] = i;
}

static bool ep_has_name(const struct mtk_net_dns_ep *e, const char *name, size_t len)
{
  for (size_t i = 0; i < e->n_names; i++)
    if (strncmp(e->names[i], name, len) == 0 && e->names[i][len] == '\0')
      return true;
  return false;
}

/* The addresses of `name` (first len bytes) in one network. */
static size_t collect(const struct mtk_net_dns_netrec *n, const char *name, size_t len, int family,
                      uint8_t (*out)[16], size_t max, bool *known)
{
  size_t k = 0;
  for (size_t i = 0; i < n->n_eps; i++) {
    const struct mtk_net_dns_ep *e = &n->eps[i];
    if (!ep_has_name(e, name, len))
      continue;
    *known = true;
    if (k >= max)
      continue;
    if (family == AF_INET && e->has_v4) {
      memset(out[k], 0, 16);
      out[k][0] = (uint8_t) (e->v4 >> 24);
      out[k][1] = (uint8_t) (e->v4 >> 16);
      out[k][2] = (uint8_t) (e->v4 >> 8);
      out[k][3] = (uint8_t) e->v4;
      k++;
    } else if (family == AF_INET6 && e->has_v6) {
      memcpy(out[k++], e->v6, 16);
    }
  }
  return k;
}

/* One candidate: the first len bytes of name, in the network named net
 * (NULL: any network of the view). */
static size_t try_candidate(const struct mtk_net_dns_view *v, const char *name, size_t len,
                            const char *net, int family, uint8_t (*out)[16], size_t max,
                            bool *exists)
{
  bool known = false;
  for (size_t k = 0; k < v->n; k++) {
    const struct mtk_net_dns_netrec *n = &v->zone->nets[v->idx[k]];
    if (n->is_default || (net && strcasecmp(net, n->name) != 0))
      continue;
    size_t got = collect(n, name, len, family, out, max, &known);
    if (got) {
      *exists = true;
      return got;
    }
  }
  *exists = known;
  return 0;
}

size_t mtk_net_dns_lookup(const struct mtk_net_dns_view *v, const char *name, int family,
                          uint8_t (*out)[16], size_t max, bool *exists)
{
  size_t len = strlen(name);
  *exists = false;
  if (!len)
    return 0;
  size_t got = try_candidate(v, name, len, NULL, family, out, max, exists);
  /* a.b.c: then "a.b" in network "c", then "a" in network "b.c" */
  for (size_t i = len; !got && !*exists && i-- > 0;)
    if (name[i] == '.' && i > 0)
      got = try_candidate(v, name, i, name + i + 1, family, out, max, exists);
  return got;
}

bool mtk_net_dns_reverse(const struct mtk_net_dns_view *v, uint32_t v4, char *buf, size_t size)
{
  for (size_t k = 0; k < v->n; k++) {
    const struct mtk_net_dns_netrec *n = &v->zone->nets[v->idx[k]];
    for (size_t i = 0; !n->is_default && i < n->n_eps; i++) {
      const struct mtk_net_dns_ep *e = &n->eps[i];
      const char *name = e->name[0] ? e->name : e->n_names ? e->names[0] : NULL;
      if (!e->has_v4 || e->v4 != v4 || !name)
        continue;
      int w = snprintf(buf, size, "%s.%s", name, n->name);
      return w > 0 && (size_t) w < size;
    }
  }
  return false;
}

static bool in_subnet(const struct mtk_net_dns_subnet *s, const uint8_t *a, int family)
{
  if (s->family != family)
    return false;
  unsigned bits = s->prefix;
  for (unsigned i = 0; bits; i++) {
    unsigned b = bits < 8 ? bits : 8;
    uint8_t mask = (uint8_t) (0xFF00 >> b);
    if ((a[i] & mask) != (s->addr[i] & mask))
      return false;
    bits -= b;
  }
  return true;
}

bool mtk_net_dns_allowed(const struct mtk_net_dns_zone *z, long net, const struct sockaddr *sa,
                         bool loopback_ok)
{
  const uint8_t *a;
  if (sa->sa_family == AF_INET)
    a = (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr;
  else if (sa->sa_family == AF_INET6)
    a = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
  else
    return false;
  if (loopback_ok && ((sa->sa_family == AF_INET && a[0] == 127) ||
                      (sa->sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(a))))
    return true;
  if (net < 0 || (size_t) net >= z->n)
    return false;
  const struct mtk_net_dns_netrec *n = &z->nets[net];
  for (size_t i = 0; i < n->n_subnets; i++)
    if (in_subnet(&n->subnets[i], a, sa->sa_family))
      return true;
  return false;
}
