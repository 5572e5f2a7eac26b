/* A container's network services in the supervisor's loop: the userland
 * proxies of its published ports (HostConfig.PortBindings, to the address
 * of its first network; the bound host ports, ephemeral ones resolved, go
 * to state Ports) and the DNS responders of its user networks, one per
 * network shared by the supervisor's containers. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sup/internal.h"
#include "util/cleanup.h"

/* HostConfig.PortBindings {"80/tcp": [{HostIp, HostPort}]} as ports. */
static int port_list(json_t *bindings, struct mtk_net_port **v, size_t *n, struct mtk_err **err)
{
  const char *key;
  json_t *list;
  json_object_foreach(bindings, key, list)
  {
    unsigned ctr_port = 0;
    char proto[8] = "tcp";
    if (sscanf(key, "%u/%7s", &ctr_port, proto) < 1 || ctr_port == 0 || ctr_port > 65535)
      return mtk_err_set(err, EINVAL, "PortBindings: bad container port '%s'", key);
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b)
    {
      const char *ip = json_string_value(json_object_get(b, "HostIp"));
      const char *hp = json_string_value(json_object_get(b, "HostPort"));
      long host = hp && *hp ? strtol(hp, NULL, 10) : 0;
      if (host < 0 || host > 65535)
        return mtk_err_set(err, EINVAL, "PortBindings: bad host port '%s'", hp);
      *v = mtk_xrealloc(*v, (*n + 1) * sizeof(**v));
      struct mtk_net_port *p = &(*v)[(*n)++];
      memset(p, 0, sizeof(*p));
      snprintf(p->proto, sizeof(p->proto), "%s", proto);
      snprintf(p->host_ip, sizeof(p->host_ip), "%s", ip ? ip : "");
      p->host_port = (uint16_t) host;
      p->ctr_port = (uint16_t) ctr_port;
    }
  }
  return 0;
}

/* The first IPv4 address of the container's networks. */
static const char *first_ip(json_t *networks)
{
  const char *name;
  json_t *n;
  json_object_foreach(networks, name, n)
  {
    const char *ip = json_string_value(json_object_get(n, "IPAddress"));
    if (ip && *ip)
      return ip;
  }
  return NULL;
}

static json_t *ports_state(const struct mtk_net_port *p, size_t n)
{
  json_t *o = json_object();
  for (size_t i = 0; i < n; i++) {
    char key[32], port[8];
    snprintf(key, sizeof(key), "%u/%s", p[i].ctr_port, p[i].proto);
    snprintf(port, sizeof(port), "%u", p[i].host_port);
    json_t *list = json_object_get(o, key);
    if (!list) {
      list = json_array();
      json_object_set_new(o, key, list);
    }
    json_array_append_new(list,
                          json_pack("{s:s, s:s}", "HostIp",
                                    p[i].host_ip[0] ? p[i].host_ip : "0.0.0.0", "HostPort", port));
  }
  return o;
}

static int ports_start(struct mtk_sup_ctr *c, struct mtk_err **err)
{
  json_t *hc = json_object_get(c->ctr->config, "HostConfig");
  json_t *bindings = json_object_get(hc, "PortBindings");
  if (json_object_size(bindings) == 0)
    return 0;
  const char *ip = first_ip(c->bundle.networks);
  if (!ip)
    return 0; /* host network: the ports are the container's own; none: nothing to reach */
  mtk_autofree struct mtk_net_port *v = NULL;
  size_t n = 0;
  if (port_list(bindings, &v, &n, err) < 0)
    return -1;
  if (n == 0)
    return 0;
  if (mtk_net_proxy_start(c->sup->loop, v, n, ip, &c->proxy, err) < 0)
    return mtk_err_wrap(err, "container %s", c->ctr->name);
  json_object_set_new(c->ctr->state, "Ports", ports_state(v, n));
  return 0;
}

static struct mtk_sup_dns *dns_find(struct mtk_sup *s, const char *net)
{
  for (size_t i = 0; i < s->n_dns; i++)
    if (strcmp(s->dns[i].network, net) == 0)
      return &s->dns[i];
  return NULL;
}

static int dns_acquire(struct mtk_sup_ctr *c, const char *net, struct mtk_err **err)
{
  struct mtk_sup *s = c->sup;
  struct mtk_sup_dns *d = dns_find(s, net);
  if (!d) {
    struct mtk_net_dns *dns = NULL;
    if (mtk_net_dns_start(s->loop, s->root, net, &dns, err) < 0)
      return mtk_err_wrap(err, "container %s", c->ctr->name);
    s->dns = mtk_xrealloc(s->dns, (s->n_dns + 1) * sizeof(*s->dns));
    d = &s->dns[s->n_dns++];
    *d = (struct mtk_sup_dns){mtk_xstrdup(net), dns, 0};
  }
  d->refs++;
  c->dns_nets = mtk_xrealloc(c->dns_nets, (c->n_dns_nets + 1) * sizeof(*c->dns_nets));
  c->dns_nets[c->n_dns_nets++] = mtk_xstrdup(net);
  return 0;
}

static void dns_release(struct mtk_sup *s, const char *net)
{
  struct mtk_sup_dns *d = dns_find(s, net);
  if (!d || --d->refs > 0)
    return;
  mtk_net_dns_stop(d->dns);
  free(d->network);
  *d = s->dns[--s->n_dns];
}

int mtk_sup_net_start(struct mtk_sup_ctr *c, struct mtk_err **err)
{
  const char *net;
  json_t *v;
  json_object_foreach(c->bundle.networks, net, v)
  {
    /* the default network resolves through the host's servers (net.h) */
    if (strcmp(net, MTK_NET_DEFAULT) == 0 || strcmp(net, "host") == 0 || strcmp(net, "none") == 0)
      continue;
    if (dns_acquire(c, net, err) < 0) {
      mtk_sup_net_stop(c);
      return -1;
    }
  }
  if (ports_start(c, err) < 0) {
    mtk_sup_net_stop(c);
    return -1;
  }
  return 0;
}

void mtk_sup_net_stop(struct mtk_sup_ctr *c)
{
  if (c->proxy)
    mtk_net_proxy_stop(c->proxy);
  c->proxy = NULL;
  for (size_t i = 0; i < c->n_dns_nets; i++) {
    dns_release(c->sup, c->dns_nets[i]);
    free(c->dns_nets[i]);
  }
  free(c->dns_nets);
  c->dns_nets = NULL;
  c->n_dns_nets = 0;
}
