/* rtnetlink through libmnl: requests with an acknowledgement, link and
 * route dumps, and the link/address/route messages networks need.  Error
 * messages name the operation and the interface; nothing is printed. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "net/netlink.h"
#include "util/cleanup.h"

/* Large enough for a dump message batch (libmnl's MNL_SOCKET_DUMP_SIZE). */
#define NL_BUFSIZE 32768

int mtk_net_nl_open(struct mtk_net_nl *nl, struct mtk_err **err)
{
  memset(nl, 0, sizeof(*nl));
  nl->sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!nl->sk)
    return mtk_err_set(err, errno, "netlink socket: %s", strerror(errno));
  if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
    int e = errno;
    mtk_net_nl_close(nl);
    return mtk_err_set(err, e, "netlink bind: %s", strerror(e));
  }
  nl->portid = mnl_socket_get_portid(nl->sk);
  nl->seq = (uint32_t) rand();
  return 0;
}

void mtk_net_nl_close(struct mtk_net_nl *nl)
{
  if (nl && nl->sk) {
    mnl_socket_close(nl->sk);
    nl->sk = NULL;
  }
}

/* Sends nlh and reads replies until the acknowledgement or the end of the
 * dump; 0 or -errno (the kernel's). */
static int request(struct mtk_net_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
  mtk_autofree char *buf = mtk_xmalloc(NL_BUFSIZE);
  nlh->nlmsg_seq = ++nl->seq;
  if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
    return -errno;
  for (;;) {
    ssize_t len = mnl_socket_recvfrom(nl->sk, buf, NL_BUFSIZE);
    if (len < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    int r = mnl_cb_run(buf, (size_t) len, nl->seq, nl->portid, cb, data);
    if (r < 0)
      return errno ? -errno : -EIO;
    if (r == MNL_CB_STOP)
      return 0;
  }
}

static struct nlmsghdr *msg_start(char *buf, uint16_t type, uint16_t flags)
{
  struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | flags;
  return nlh;
}

static struct ifinfomsg *put_ifinfo(struct nlmsghdr *nlh, int index)
{
  struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = index;
  return ifi;
}

/* ------------------------------------------------------------ link dump */

struct links {
  struct mtk_net_nl_link *v;
  size_t n, cap;
};

static void copy_attr_str(char *dst, size_t cap, const struct nlattr *a)
{
  size_t len = mnl_attr_get_payload_len(a);
  const char *s = mnl_attr_get_payload(a);
  if (len && s[len - 1] == '\0')
    len--;
  if (len >= cap)
    len = cap - 1;
  memcpy(dst, s, len);
  dst[len] = '\0';
}

static int link_info_cb(const struct nlattr *a, void *data)
{
  if (mnl_attr_get_type(a) == IFLA_INFO_KIND)
    copy_attr_str(((struct mtk_net_nl_link *) data)->kind, 16, a);
  return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data)
{
  struct mtk_net_nl_link *l = data;
  switch (mnl_attr_get_type(a)) {
    case IFLA_IFNAME:
      copy_attr_str(l->name, sizeof(l->name), a);
      break;
    case IFLA_IFALIAS:
      copy_attr_str(l->alias, sizeof(l->alias), a);
      break;
    case IFLA_MASTER:
      if (mnl_attr_get_payload_len(a) >= 4)
        l->master = (int) mnl_attr_get_u32(a);
      break;
    case IFLA_GROUP:
      if (mnl_attr_get_payload_len(a) >= 4)
        l->group = mnl_attr_get_u32(a);
      break;
    case IFLA_LINKINFO:
      mnl_attr_parse_nested(a, link_info_cb, l);
      break;
    default:
      break;
  }
  return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
  struct links *ls = data;
  if (nlh->nlmsg_type != RTM_NEWLINK)
    return MNL_CB_OK;
  const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
  struct mtk_net_nl_link l = {.index = ifi->ifi_index};
  mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, &l);
  if (ls->n == ls->cap) {
    ls->cap = ls->cap ? ls->cap * 2 : 16;
    ls->v = mtk_xrealloc(ls->v, ls->cap * sizeof(*ls->v));
  }
  ls->v[ls->n++] = l;
  return MNL_CB_OK;
}

int mtk_net_nl_links(struct mtk_net_nl *nl, struct mtk_net_nl_link **v, size_t *n,
                     struct mtk_err **err)
{
  char buf[256];
  struct nlmsghdr *nlh = msg_start(buf, RTM_GETLINK, NLM_F_DUMP);
  put_ifinfo(nlh, 0);
  struct links ls = {0};
  int r = request(nl, nlh, link_cb, &ls);
  if (r < 0) {
    free(ls.v);
    return mtk_err_set(err, -r, "netlink: listing links: %s", strerror(-r));
  }
  *v = ls.v;
  *n = ls.n;
  return 0;
}

int mtk_net_nl_link_get(struct mtk_net_nl *nl, const char *name, struct mtk_net_nl_link *out,
                        struct mtk_err **err)
{
  char buf[512];
  struct nlmsghdr *nlh = msg_start(buf, RTM_GETLINK, NLM_F_ACK);
  put_ifinfo(nlh, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  struct links ls = {0};
  int r = request(nl, nlh, link_cb, &ls);
  bool found = r == 0 && ls.n > 0;
  if (found)
    *out = ls.v[0];
  free(ls.v);
  if (r == -ENODEV)
    return 0;
  if (r < 0)
    return mtk_err_set(err, -r, "netlink: looking up link %s: %s", name, strerror(-r));
  return found ? 1 : 0;
}

int mtk_net_nl_ifindex(struct mtk_net_nl *nl, const char *name, struct mtk_err **err)
{
  struct mtk_net_nl_link l;
  int r = mtk_net_nl_link_get(nl, name, &l, err);
  return r <= 0 ? r : l.index;
}

/* ------------------------------------------------------------ link changes */

/* The kernel ignores IFLA_IFALIAS when it creates a link: set it after. */
static int set_alias(struct mtk_net_nl *nl, const char *name, const char *alias)
{
  char buf[1024];
  struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, NLM_F_ACK);
  put_ifinfo(nlh, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  mnl_attr_put_str(nlh, IFLA_IFALIAS, alias);
  return request(nl, nlh, NULL, NULL);
}

int mtk_net_nl_bridge_add(struct mtk_net_nl *nl, const char *name, const uint8_t mac[6],
                          const char *alias, uint32_t group, struct mtk_err **err)
{
  char buf[1024];
  struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct ifinfomsg *ifi = put_ifinfo(nlh, 0);
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
  if (group)
    mnl_attr_put_u32(nlh, IFLA_GROUP, group);
  struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_str(nlh, IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(nlh, info);
  int r = request(nl, nlh, NULL, NULL);
  if (r < 0)
    return mtk_err_set(err, -r, "netlink: creating bridge %s: %s", name, strerror(-r));
  if (alias && (r = set_alias(nl, name, alias)) < 0) {
    mtk_net_nl_link_del(nl, name, NULL);
    return mtk_err_set(err, -r, "netlink: naming bridge %s: %s", name, strerror(-r));
  }
  return 0;
}

int mtk_net_nl_veth_add(struct mtk_net_nl *nl, const char *name, const char *alias, uint32_t group,
                        int master_ifindex, const char *peer, const uint8_t peer_mac[6],
                        int peer_netns_fd, struct mtk_err **err)
{
  char buf[1024];
  struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct ifinfomsg *ifi = put_ifinfo(nlh, 0);
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  if (master_ifindex > 0)
    mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t) master_ifindex);
  if (group)
    mnl_attr_put_u32(nlh, IFLA_GROUP, group);
  struct nlattr *info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_str(nlh, IFLA_INFO_KIND, "veth");
  struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
  struct nlattr *pinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
  /* The peer's attributes follow an ifinfomsg of their own. */
  struct ifinfomsg *pi = mnl_nlmsg_get_payload_tail(nlh);
  nlh->nlmsg_len += MNL_ALIGN(sizeof(*pi));
  memset(pi, 0, sizeof(*pi));
  pi->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
  if (peer_mac)
    mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
  if (peer_netns_fd >= 0)
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t) peer_netns_fd);
  mnl_attr_nest_end(nlh, pinfo);
  mnl_attr_nest_end(nlh, data);
  mnl_attr_nest_end(nlh, info);
  int r = request(nl, nlh, NULL, NULL);
  if (r < 0)
    return mtk_err_set(err, -r, "netlink: creating veth pair %s/%s: %s", name, peer, strerror(-r));
  if (alias && (r = set_alias(nl, name, alias)) < 0) {
    mtk_net_nl_link_del(nl, name, NULL);
    return mtk_err_set(err, -r, "netlink: naming veth %s: %s", name, strerror(-r));
  }
  return 0;
}

int mtk_net_nl_link_up(struct mtk_net_nl *nl, int ifindex, struct mtk_err **err)
{
  char buf[256];
  struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, NLM_F_ACK);
  struct ifinfomsg *ifi = put_ifinfo(nlh, ifindex);
  ifi->ifi_flags = IFF_UP;
  ifi->ifi_change = IFF_UP;
  int r = request(nl, nlh, NULL, NULL);
  if (r < 0)
    return mtk_err_set(err, -r, "netlink: setting link %d up: %s", ifindex, strerror(-r));
  return 0;
}

int mtk_net_nl_link_del(struct mtk_net_nl *nl, const char *name, struct mtk_err **err)
{
  char buf[512];
  struct nlmsghdr *nlh = msg_start(buf, RTM_DELLINK, NLM_F_ACK);
  put_ifinfo(nlh, 0);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
  int r = request(nl, nlh, NULL, NULL);
  if (r == -ENODEV)
    return 0;
  if (r < 0)
    return mtk_err_set(err, -r, "netlink: deleting link %s: %s", name, strerror(-r));
  return 0;
}

int mtk_net_nl_group_del(struct mtk_net_nl *nl, uint32_t group, struct mtk_err **err)
{
  char buf[256];
  struct nlmsghdr *nlh = msg_start(buf, RTM_DELLINK, NLM_F_ACK);
  put_ifinfo(nlh, 0);
  mnl_attr_put_u32(nlh, IFLA_GROUP, group);
  int r = request(nl, nlh, NULL, NULL);
  if (r < 0 && r != -ENODEV)
    return mtk_err_set(err, -r, "netlink: deleting the links of group %u: %s", group, strerror(-r));
  return 0;
}

/* ------------------------------------------------------- addresses, routes */

int mtk_net_nl_addr_add(struct mtk_net_nl *nl, int ifindex, int family, const void *addr,
                        int prefixlen, struct mtk_err **err)
{
  char buf[512];
  size_t alen = family == AF_INET6 ? 16 : 4;
  struct nlmsghdr *nlh = msg_start(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
  ifa->ifa_family = (uint8_t) family;
  ifa->ifa_prefixlen = (uint8_t) prefixlen;
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = (uint32_t) ifindex;
  mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
  mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
  if (family == AF_INET6) {
    ifa->ifa_flags = IFA_F_NODAD;
    mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
  }
  int r = request(nl, nlh, NULL, NULL);
  if (r == -EEXIST)
    return 0;
  if (r < 0)
    return mtk_err_set(err, -r, "netlink: adding an address to link %d: %s", ifindex, strerror(-r));
  return 0;
}

int mtk_net_nl_route_default(struct mtk_net_nl *nl, int family, const void *gw,
                             struct mtk_err **err)
{
  char buf[512];
  struct nlmsghdr *nlh = msg_start(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
  rtm->rtm_family = (uint8_t) family;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put(nlh, RTA_GATEWAY, family == AF_INET6 ? 16 : 4, gw);
  int r = request(nl, nlh, NULL, NULL);
  if (r < 0)
    return mtk_err_set(err, -r, "netlink: adding the default route: %s", strerror(-r));
  return 0;
}

struct routes {
  struct mtk_net_nl_route4 *v;
  size_t n, cap;
};

struct route_attrs {
  uint32_t dst; /* network order */
  uint32_t table;
  int oif;
};

static int route_attr_cb(const struct nlattr *a, void *data)
{
  struct route_attrs *ra = data;
  uint16_t t = mnl_attr_get_type(a);
  if (mnl_attr_get_payload_len(a) < 4)
    return MNL_CB_OK;
  if (t == RTA_DST)
    memcpy(&ra->dst, mnl_attr_get_payload(a), 4);
  else if (t == RTA_TABLE)
    ra->table = mnl_attr_get_u32(a);
  else if (t == RTA_OIF)
    ra->oif = (int) mnl_attr_get_u32(a);
  return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
  struct routes *rs = data;
  if (nlh->nlmsg_type != RTM_NEWROUTE)
    return MNL_CB_OK;
  const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
  struct route_attrs ra = {.table = rtm->rtm_table};
  mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, &ra);
  if (rtm->rtm_family != AF_INET || ra.table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST ||
      rtm->rtm_dst_len == 0)
    return MNL_CB_OK;
  if (rs->n == rs->cap) {
    rs->cap = rs->cap ? rs->cap * 2 : 16;
    rs->v = mtk_xrealloc(rs->v, rs->cap * sizeof(*rs->v));
  }
  rs->v[rs->n++] =
      (struct mtk_net_nl_route4){.dst = ntohl(ra.dst), .len = rtm->rtm_dst_len, .oif = ra.oif};
  return MNL_CB_OK;
}

int mtk_net_nl_routes4(struct mtk_net_nl *nl, struct mtk_net_nl_route4 **v, size_t *n,
                       struct mtk_err **err)
{
  char buf[256];
  struct nlmsghdr *nlh = msg_start(buf, RTM_GETROUTE, NLM_F_DUMP);
  struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
  rtm->rtm_family = AF_INET;
  struct routes rs = {0};
  int r = request(nl, nlh, route_cb, &rs);
  if (r < 0) {
    free(rs.v);
    return mtk_err_set(err, -r, "netlink: listing routes: %s", strerror(-r));
  }
  *v = rs.v;
  *n = rs.n;
  return 0;
}
