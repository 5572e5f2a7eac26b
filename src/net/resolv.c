/* /etc/resolv.conf for containers, Docker's rules: on a user network the
 * network's DNS responder (on its gateway) plus the host's search and
 * options lines; on the default network only, the host's file without
 * loopback nameservers (they would mean the container itself). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "net/net.h"
#include "net/network_int.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/strbuf.h"

#define HOST_RESOLV_CONF "/etc/resolv.conf"

static bool starts_word(const char *line, const char *word)
{
  size_t n = strlen(word);
  return strncmp(line, word, n) == 0 && (line[n] == ' ' || line[n] == '\t');
}

static bool loopback_ns(const char *line)
{
  const char *v = line + strlen("nameserver");
  while (*v == ' ' || *v == '\t')
    v++;
  return strncmp(v, "127.", 4) == 0 || strncmp(v, "::1", 3) == 0 ||
         strncmp(v, "0:0:0:0:0:0:0:1", 15) == 0;
}

char *mtk_net_resolv_conf_text(const char *host_text, const char *gateway)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  const char *p = host_text ? host_text : "";
  while (*p) {
    size_t n = strcspn(p, "\n");
    mtk_autofree char *line = mtk_xstrndup(p, n);
    p += n + (p[n] == '\n');
    bool ns = starts_word(line, "nameserver");
    bool keep = gateway ? (starts_word(line, "search") || starts_word(line, "domain") ||
                           starts_word(line, "options"))
                        : !(ns && loopback_ns(line));
    if (keep)
      mtk_strbuf_addf(&sb, "%s\n", line);
  }
  if (gateway)
    mtk_strbuf_addf(&sb, "nameserver %s\n", gateway);
  return mtk_strbuf_steal(&sb);
}

char *mtk_net_resolv_conf(const char *root, const char *const *networks, size_t n,
                          struct mtk_err **err)
{
  char gw[16] = "";
  for (size_t i = 0; i < n && !gw[0]; i++) {
    json_t *rec = NULL;
    if (!networks[i] || strcmp(networks[i], MTK_NET_DEFAULT) == 0)
      continue;
    if (mtk_net_record_find(root, networks[i], &rec, err) < 0)
      return NULL;
    if (strcmp(json_string_value(json_object_get(rec, "Name")), MTK_NET_DEFAULT) != 0) {
      struct mtk_net_cidr4 sn;
      uint32_t g;
      if (mtk_net_rec_subnet(rec, &sn, &g, err) < 0) {
        json_decref(rec);
        return NULL;
      }
      mtk_net_ip4_str(g, gw);
    }
    json_decref(rec);
  }
  struct mtk_err *rerr = NULL;
  size_t len;
  mtk_autofree char *host = mtk_file_read(HOST_RESOLV_CONF, 1 << 20, &len, &rerr);
  if (!host && rerr->code != ENOENT) {
    if (err && !*err)
      *err = rerr;
    else
      mtk_err_free(&rerr);
    return NULL;
  }
  mtk_err_free(&rerr);
  return mtk_net_resolv_conf_text(host, gw[0] ? gw : NULL);
}
