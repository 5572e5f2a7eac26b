/* The nftables table `ip mtk` and net.ipv4.ip_forward.  The table is a pure
 * function of the mtk bridges on the host (their aliases say subnet and
 * internal, see network_int.h), so every change rebuilds it whole in one
 * transaction ("add table; delete table; table {...}") and networks of
 * several roots live side by side.  Rules, per bridge B:
 *   forward:    iifname B oifname B accept          (same bridge: with
 *                                                    br_netfilter loaded,
 *                                                    bridged packets pass
 *                                                    this hook)
 *               internal B:  iifname B drop; oifname B drop
 *               other B:     iifname B oifname @bridges drop  (isolation)
 *               oifname @bridges ct state established,related accept
 *               other B:     iifname B accept; oifname B drop
 *   postrouting: other B:    ip saddr SUBNET oifname != B masquerade
 * libnftables is loaded on first use (nft_dl.c). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/netlink.h"
#include "net/network_int.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/strbuf.h"

#define IP_FORWARD "/proc/sys/net/ipv4/ip_forward"

struct br {
  const char *name; /* borrowed */
  char subnet[19];  /* "" when unknown */
  bool internal;
};

/* Reads "key=value" out of an alias "mtk k=v k=v". */
static bool alias_field(const char *alias, const char *key, char *out, size_t cap)
{
  size_t kl = strlen(key);
  for (const char *p = alias; (p = strstr(p, key)); p += kl) {
    if ((p != alias && p[-1] != ' ') || p[kl] != '=')
      continue;
    const char *v = p + kl + 1;
    size_t n = strcspn(v, " ");
    if (n >= cap)
      return false;
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
  }
  return false;
}

static bool parse_bridge(const char *name, const char *alias, struct br *b)
{
  char internal[4] = "";
  if (strncmp(name, "mtk", 3) != 0 || strncmp(alias, "mtk ", 4) != 0 ||
      name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")])
    return false; /* a name that could not stand between quotes in the ruleset */
  b->name = name;
  if (!alias_field(alias, "subnet", b->subnet, sizeof(b->subnet)))
    b->subnet[0] = '\0';
  struct mtk_net_cidr4 c;
  if (b->subnet[0] && mtk_net_cidr4_parse(b->subnet, &c, NULL) < 0)
    b->subnet[0] = '\0'; /* never put text we did not check into the ruleset */
  alias_field(alias, "internal", internal, sizeof(internal));
  b->internal = strcmp(internal, "1") == 0 || !b->subnet[0];
  return true;
}

static void forward_chain(struct mtk_strbuf *sb, const struct br *v, size_t n)
{
  mtk_strbuf_adds(sb, "  chain forward {\n"
                      "    type filter hook forward priority filter; policy accept;\n");
  for (size_t i = 0; i < n; i++)
    mtk_strbuf_addf(sb, "    iifname \"%s\" oifname \"%s\" accept\n", v[i].name, v[i].name);
  for (size_t i = 0; i < n; i++)
    if (v[i].internal)
      mtk_strbuf_addf(sb, "    iifname \"%s\" drop\n    oifname \"%s\" drop\n", v[i].name,
                      v[i].name);
  for (size_t i = 0; i < n; i++)
    if (!v[i].internal)
      mtk_strbuf_addf(sb, "    iifname \"%s\" oifname @bridges drop\n", v[i].name);
  mtk_strbuf_adds(sb, "    oifname @bridges ct state established,related accept\n");
  for (size_t i = 0; i < n; i++)
    if (!v[i].internal)
      mtk_strbuf_addf(sb, "    iifname \"%s\" accept\n    oifname \"%s\" drop\n", v[i].name,
                      v[i].name);
  mtk_strbuf_adds(sb, "  }\n");
}

char *mtk_net_nft_ruleset(const char *const *names, const char *const *aliases, size_t n)
{
  mtk_autofree struct br *v = mtk_xcalloc(n ? n : 1, sizeof(*v));
  size_t nb = 0;
  for (size_t i = 0; i < n; i++)
    if (parse_bridge(names[i], aliases[i], &v[nb]))
      nb++;
  if (nb == 0)
    return NULL;
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "add table ip mtk\ndelete table ip mtk\ntable ip mtk {\n"
                       "  set bridges {\n    type ifname\n    elements = { ");
  for (size_t i = 0; i < nb; i++)
    mtk_strbuf_addf(&sb, "%s\"%s\"", i ? ", " : "", v[i].name);
  mtk_strbuf_adds(&sb, " }\n  }\n");
  forward_chain(&sb, v, nb);
  mtk_strbuf_adds(&sb, "  chain postrouting {\n"
                       "    type nat hook postrouting priority srcnat; policy accept;\n");
  for (size_t i = 0; i < nb; i++)
    if (!v[i].internal)
      mtk_strbuf_addf(&sb, "    ip saddr %s oifname != \"%s\" masquerade\n", v[i].subnet,
                      v[i].name);
  mtk_strbuf_adds(&sb, "  }\n}\n");
  return mtk_strbuf_steal(&sb);
}

static int nft_apply(const char *text, struct mtk_err **err)
{
  struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!ctx)
    return mtk_err_set(err, ENOMEM, "nftables: cannot create a context");
  nft_ctx_buffer_output(ctx);
  nft_ctx_buffer_error(ctx);
  int rc = nft_run_cmd_from_buffer(ctx, text);
  if (rc != 0) {
    const char *e = nft_ctx_get_error_buffer(ctx);
    mtk_err_set(err, EIO, "nftables: updating table ip mtk: %s", e && *e ? e : "failed");
    mtk_err_hint(err, "check that the kernel has nf_tables, nft_nat and nft_masq");
  }
  nft_ctx_free(ctx);
  return rc != 0 ? -1 : 0;
}

/* ------------------------------------------------------- IP forwarding */

static int read_small(const char *path, char *buf, size_t cap)
{
  mtk_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, cap - 1);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  return 0;
}

static int write_small(const char *path, const char *val, int flags, struct mtk_err **err)
{
  mtk_autoclose int fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0600);
  if (fd < 0 || mtk_file_write_all(fd, val, strlen(val)) < 0)
    return mtk_err_set(err, errno, "write %s: %s", path, strerror(errno));
  return 0;
}

static int ip_forward(bool need, struct mtk_err **err)
{
  const char *saved = MTK_NET_HOST_DIR "/ip_forward";
  char cur[16], old[16];
  if (read_small(IP_FORWARD, cur, sizeof(cur)) < 0)
    return mtk_err_set(err, errno, "read %s: %s", IP_FORWARD, strerror(errno));
  bool have_saved = read_small(saved, old, sizeof(old)) == 0;
  if (need && strcmp(cur, "1") != 0) {
    if (!have_saved && write_small(saved, cur, O_CREAT | O_TRUNC, err) < 0)
      return -1;
    return write_small(IP_FORWARD, "1", 0, err);
  }
  if (!need && have_saved) {
    if (strcmp(old, "0") == 0 || strcmp(old, "1") == 0)
      if (write_small(IP_FORWARD, old, 0, err) < 0)
        return -1;
    unlink(saved);
  }
  return 0;
}

int mtk_net_nft_sync(struct mtk_net_nl *nl, struct mtk_err **err)
{
  mtk_autofree struct mtk_net_nl_link *links = NULL;
  size_t n = 0;
  if (mtk_net_nl_links(nl, &links, &n, err) < 0)
    return -1;
  mtk_autofree const char **names = mtk_xcalloc(n ? n : 1, sizeof(char *));
  mtk_autofree const char **aliases = mtk_xcalloc(n ? n : 1, sizeof(char *));
  size_t nb = 0;
  bool need_fwd = false;
  for (size_t i = 0; i < n; i++) {
    struct br b;
    if (strcmp(links[i].kind, "bridge") != 0 || !parse_bridge(links[i].name, links[i].alias, &b))
      continue;
    names[nb] = links[i].name;
    aliases[nb++] = links[i].alias;
    need_fwd |= !b.internal;
  }
  mtk_autofree char *text = mtk_net_nft_ruleset(names, aliases, nb);
  if (nft_apply(text ? text : "add table ip mtk\ndelete table ip mtk\n", err) < 0)
    return -1;
  return ip_forward(need_fwd, err);
}
