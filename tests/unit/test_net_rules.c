/* The text mtk hands to nftables (src/net/nft.c) and resolv.conf text
 * (src/net/resolv.c): masquerading only for non-internal networks, internal
 * bridges dropped both ways, same-bridge traffic accepted first (for
 * br_netfilter), no table when no mtk bridge, aliases with bad subnets
 * treated as internal; resolv.conf after Docker's rules. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "net/network_int.h"
#include "tap.h"

static int test_no_bridge(void)
{
  const char *names[] = {"eth0", "mtkbr-1"};
  const char *aliases[] = {"", "not ours"};
  MTK_ASSERT(mtk_net_nft_ruleset(names, aliases, 2) == NULL);
  MTK_ASSERT(mtk_net_nft_ruleset(NULL, NULL, 0) == NULL);
  return 0;
}

static int test_rules(void)
{
  const char *names[] = {"mtk0", "mtkbr-aaaa", "eth0"};
  const char *aliases[] = {"mtk root=1 net=2 subnet=172.17.0.0/16 internal=0",
                           "mtk root=1 net=3 subnet=10.9.0.0/24 internal=1", ""};
  char *t = mtk_net_nft_ruleset(names, aliases, 3);
  MTK_ASSERT(t != NULL);
  int fail = 0;
#define HAS(s)                                                                                     \
  if (!strstr(t, s)) {                                                                             \
    printf("#   missing: %s\n", s);                                                                \
    fail = 1;                                                                                      \
  }
  HAS("add table ip mtk\ndelete table ip mtk\ntable ip mtk {");
  HAS("elements = { \"mtk0\", \"mtkbr-aaaa\" }");
  HAS("ip saddr 172.17.0.0/16 oifname != \"mtk0\" masquerade");
  HAS("iifname \"mtkbr-aaaa\" drop");
  HAS("oifname \"mtkbr-aaaa\" drop");
  HAS("iifname \"mtk0\" accept");
  HAS("iifname \"mtk0\" oifname @bridges drop");
  HAS("oifname @bridges ct state established,related accept");
  if (strstr(t, "10.9.0.0/24") || strstr(t, "eth0")) {
    printf("#   internal subnet or foreign link in the rules\n");
    fail = 1;
  }
  /* Same-bridge traffic is accepted before any drop of that bridge. */
  char *same = strstr(t, "iifname \"mtkbr-aaaa\" oifname \"mtkbr-aaaa\" accept");
  char *drop = strstr(t, "iifname \"mtkbr-aaaa\" drop");
  if (!same || !drop || same > drop) {
    printf("#   same-bridge accept not before the internal drop\n");
    fail = 1;
  }
  free(t);
  return fail;
}

static int test_bad_name(void)
{
  const char *names[] = {"mtk\"x", "mtk x"};
  const char *aliases[] = {"mtk root=1 net=2 subnet=10.0.0.0/8 internal=0",
                           "mtk root=1 net=2 subnet=10.0.0.0/8 internal=0"};
  MTK_ASSERT(mtk_net_nft_ruleset(names, aliases, 2) == NULL);
  return 0;
}

static int test_bad_alias(void)
{
  const char *names[] = {"mtkbr-x"};
  const char *aliases[] = {"mtk root=1 net=2 subnet=1.2.3.4/8\" accept internal=0"};
  char *t = mtk_net_nft_ruleset(names, aliases, 1);
  MTK_ASSERT(t != NULL);
  int bad = strstr(t, "masquerade") != NULL || strstr(t, "1.2.3.4") != NULL;
  int internal = strstr(t, "iifname \"mtkbr-x\" drop") != NULL;
  free(t);
  MTK_ASSERT(!bad);
  MTK_ASSERT(internal);
  return 0;
}

static int test_resolv(void)
{
  const char *host = "# comment\nsearch example.org\nnameserver 127.0.0.53\n"
                     "nameserver 192.0.2.53\nnameserver ::1\noptions edns0\n";
  char *t = mtk_net_resolv_conf_text(host, NULL);
  MTK_ASSERT_STREQ(t, "# comment\nsearch example.org\nnameserver 192.0.2.53\noptions edns0\n");
  free(t);
  t = mtk_net_resolv_conf_text(host, "172.18.0.1");
  MTK_ASSERT_STREQ(t, "search example.org\noptions edns0\nnameserver 172.18.0.1\n");
  free(t);
  t = mtk_net_resolv_conf_text(NULL, NULL);
  MTK_ASSERT_STREQ(t, "");
  free(t);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"no mtk bridge, no table", test_no_bridge},
      {"rules for a normal and an internal network", test_rules},
      {"an alias with a bad subnet gives no masquerade", test_bad_alias},
      {"link names that could break the ruleset are skipped", test_bad_name},
      {"resolv.conf text", test_resolv},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
