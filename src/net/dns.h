/* The DNS responder of a network, module-private parts (src/net/dns*.c):
 * the wire format (dns_msg.c: query parsing that never trusts the packet,
 * local answers, upstream reply checks), the name table built from the
 * network records on disk (dns_zone.c) and the server variant taking an
 * address, port and resolv.conf path (dns.c), used by the unit tests and the
 * fuzz target.
 *
 * Behaviour follows Docker's embedded resolver (moby libnetwork resolver.go,
 * sandbox ResolveName): names are case-insensitive, `name` and
 * `name.<network>` both resolve, every address of a name shared by several
 * endpoints (replicas) is answered in random order, TTL 600, AAAA for a known
 * name with no IPv6 address is an empty NOERROR, a PTR for an endpoint's
 * address answers `<container>.<network>`, other names go upstream.  A client
 * container attached to several networks resolves the names of all of them
 * (the network the query arrived on first), as a Docker container does. */
#ifndef MTK_NET_DNS_H
#define MTK_NET_DNS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <uv.h>

#include "mtk/err.h"
#include "net/net.h"

#define MTK_NET_DNS_TTL 600
#define MTK_NET_DNS_MAXMSG 65535 /* the largest DNS message (TCP length prefix) */
#define MTK_NET_DNS_MAXNAME 255  /* wire length of a name, RFC 1035 */
#define MTK_NET_DNS_MAXUP 3      /* upstream servers used, as glibc's MAXNS */

enum {
  MTK_NET_DNS_NOERROR = 0,
  MTK_NET_DNS_FORMERR = 1,
  MTK_NET_DNS_SERVFAIL = 2,
  MTK_NET_DNS_NXDOMAIN = 3,
  MTK_NET_DNS_NOTIMP = 4,
  MTK_NET_DNS_REFUSED = 5,
};

enum {
  MTK_NET_DNS_T_A = 1,
  MTK_NET_DNS_T_PTR = 12,
  MTK_NET_DNS_T_MX = 15,
  MTK_NET_DNS_T_AAAA = 28,
  MTK_NET_DNS_T_OPT = 41,
  MTK_NET_DNS_T_ANY = 255,
};

/* ------------------------------------------------------------ name table */

struct mtk_net_dns_ep {
  char *ctr_id; /* owned: the Containers key */
  char *name;   /* owned: the container name (PTR answers) */
  char **names; /* owned: lower-cased Name, Aliases and DNSNames, no duplicates */
  size_t n_names;
  uint32_t v4; /* host order; valid when has_v4 */
  bool has_v4;
  uint8_t v6[16];
  bool has_v6;
};

struct mtk_net_dns_subnet {
  int family;       /* AF_INET or AF_INET6 */
  uint8_t addr[16]; /* network order */
  unsigned prefix;
};

struct mtk_net_dns_netrec {
  char *id;      /* owned */
  char *name;    /* owned */
  char *gateway; /* owned: the first IPv4 gateway, or NULL */
  bool internal;
  bool is_default;                    /* the default "bridge": no names are answered on it */
  struct mtk_net_dns_subnet *subnets; /* owned */
  size_t n_subnets;
  struct mtk_net_dns_ep *eps; /* owned */
  size_t n_eps;
};

/* Every network record of <root>/networks, and what was seen of the files
 * when they were read (to notice changes with a few stat calls). */
struct mtk_net_dns_zone {
  struct mtk_net_dns_netrec *nets; /* owned, sorted by name */
  size_t n;
  struct stat dir_st; /* of the directory at load time */
  char **paths;       /* owned: the files read */
  struct stat *st;    /* their stat at load time */
  size_t n_paths;
};

void mtk_net_dns_zone_free(struct mtk_net_dns_zone *z);
/* Adds one record (Docker's `network inspect` shape, see net.h); a record
 * without Name or Id is EINVAL; malformed endpoints are skipped. */
int mtk_net_dns_zone_add(struct mtk_net_dns_zone *z, const json_t *rec, struct mtk_err **err);
/* Reads every <dir>/NAME.json (dot files skipped); unreadable or invalid files
 * are skipped (one bad record must not stop name resolution). */
int mtk_net_dns_zone_load(struct mtk_net_dns_zone *z, const char *dir, struct mtk_err **err);
/* Whether the directory or one of the files read changed since the load. */
bool mtk_net_dns_zone_stale(const struct mtk_net_dns_zone *z, const char *dir);
/* The network by exact name, full ID or unique ID prefix; -1 if none. */
long mtk_net_dns_zone_find(const struct mtk_net_dns_zone *z, const char *ref);

/* The networks a client sees, in lookup order: the one the query came on,
 * then the other (non-default) networks its container is attached to. */
struct mtk_net_dns_view {
  const struct mtk_net_dns_zone *zone; /* borrowed */
  size_t idx[64];
  size_t n;
};

/* net: index of the responder's network (or -1: an empty view); client: the
 * source address (NULL or not an endpoint: that network alone). */
void mtk_net_dns_view_make(struct mtk_net_dns_view *v, const struct mtk_net_dns_zone *z, long net,
                           const struct sockaddr *client);

/* Whether a query from sa is answered: sa is in one of the subnets of
 * network net, or a loopback address when loopback_ok (a responder bound to
 * a loopback address, in tests).  The network's gateway is in its subnet, so
 * the host itself may ask. */
bool mtk_net_dns_allowed(const struct mtk_net_dns_zone *z, long net, const struct sockaddr *sa,
                         bool loopback_ok);

/* Looks a lower-cased dotted name up (Docker's rules: `a.b.c` is tried as
 * `a.b.c` in every network, then `a.b` in network `c`, then `a` in network
 * `b.c`; the first network with the name wins).  Fills up to max addresses
 * (4 or 16 bytes each, by family) and returns how many; *exists tells whether
 * the name is known even with no address of that family. */
size_t mtk_net_dns_lookup(const struct mtk_net_dns_view *v, const char *name, int family,
                          uint8_t (*out)[16], size_t max, bool *exists);
/* The name for a PTR query of an endpoint's IPv4 address (host order):
 * "<container>.<network>", borrowed parts written into buf; false if none. */
bool mtk_net_dns_reverse(const struct mtk_net_dns_view *v, uint32_t v4, char *buf, size_t size);

/* ------------------------------------------------------------ wire format */

struct mtk_net_dns_q {
  uint16_t id;
  uint16_t flags; /* the query's header flags */
  uint16_t qtype, qclass;
  uint8_t qname[MTK_NET_DNS_MAXNAME + 1]; /* the question name in wire form, uncompressed */
  size_t qname_len;
  char name[MTK_NET_DNS_MAXNAME + 1]; /* lower-cased dotted form; "" when not a host name */
  size_t nlabels;
  bool edns; /* an OPT record was present */
  uint8_t edns_version;
  uint16_t udp_size; /* what the client accepts over UDP (512 without EDNS) */
};

/* Parses a query.  0: fine; MTK_NET_DNS_FORMERR or MTK_NET_DNS_NOTIMP: an
 * error reply can be made (q->id and the question, when parsed, are set);
 * -1: drop it (too short for a header, or a response). */
int mtk_net_dns_parse(const uint8_t *msg, size_t len, struct mtk_net_dns_q *q);

/* Walks every section of a message, names (with compression pointers that
 * must point backwards) and record lengths checked; false if malformed. */
bool mtk_net_dns_valid(const uint8_t *msg, size_t len);

/* A reply with rcode and no records (the question repeated when known);
 * returns its length (<= size; 0 when size < 12). */
size_t mtk_net_dns_error_reply(const struct mtk_net_dns_q *q, int rcode, uint8_t *out, size_t size);

enum mtk_net_dns_verdict {
  MTK_NET_DNS_DROP,    /* nothing to send */
  MTK_NET_DNS_REPLY,   /* out holds the reply */
  MTK_NET_DNS_FORWARD, /* not ours: ask the upstream servers */
};

struct mtk_net_dns_ctx {
  const struct mtk_net_dns_view *view; /* borrowed */
  bool forward;                        /* there are upstream servers to ask */
  bool tcp;                            /* the query came over TCP: no UDP size limit */
  uint64_t *rng;                       /* shuffles replicas; NULL: record order */
};

/* Answers a query: local names (A, AAAA, ANY, PTR; NODATA for other types of
 * a known name), errors (FORMERR, NOTIMP), or FORWARD; without upstream an
 * unknown single-label name is NXDOMAIN and any other unknown name SERVFAIL
 * (Docker's answer when no upstream answered).  out holds max bytes; the
 * reply is limited to them, and over UDP to the client's size (512 without
 * EDNS, at most 4096), with TC set when records were left out. */
enum mtk_net_dns_verdict mtk_net_dns_answer(const struct mtk_net_dns_ctx *c, const uint8_t *msg,
                                            size_t len, struct mtk_net_dns_q *q, uint8_t *out,
                                            size_t max, size_t *out_len);

/* Whether an upstream reply answers the query q sent with ID id: a response
 * with that ID, the same question (name compared case-insensitively), and a
 * well-formed body. */
bool mtk_net_dns_reply_matches(const uint8_t *msg, size_t len, uint16_t id,
                               const struct mtk_net_dns_q *q);

/* A 64-bit xorshift step (IDs, shuffles); *s must not be 0. */
uint64_t mtk_net_dns_rand(uint64_t *s);

/* ------------------------------------------------------------ server */

struct mtk_net_dns_opts {
  const char *root;        /* mtk root: records in <root>/networks */
  const char *network;     /* name or ID */
  const char *address;     /* listen address; NULL = the network's gateway */
  uint16_t port;           /* 0 = 53 */
  const char *resolv_conf; /* NULL = /etc/resolv.conf */
  uint16_t upstream_port;  /* 0 = 53 (tests run upstreams on other ports) */
  unsigned timeout_ms;     /* per upstream attempt; 0 = 2000 */
};

/* mtk_net_dns_start with every parameter.  Queries are answered only from
 * the network's subnets, and from 127.0.0.0/8 when the listen address is a
 * loopback one (tests); others are dropped. */
int mtk_net_dns_start_at(uv_loop_t *loop, const struct mtk_net_dns_opts *o,
                         struct mtk_net_dns **out, struct mtk_err **err);

/* The upstream servers of a resolv.conf text ("nameserver" lines, IPv4 and
 * IPv6 literals, at most MTK_NET_DNS_MAXUP, `self` left out), port set. */
size_t mtk_net_dns_parse_resolv(const char *text, uint16_t port, const struct sockaddr *self,
                                struct sockaddr_storage *out, size_t max);

#endif
