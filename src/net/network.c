/* Network records on disk (<root>/networks/<id>.json, replaced atomically),
 * the two locks of a change (network_int.h), lookup and listing, and the
 * bridge of a record (created again when the host lost it, after a
 * reboot).  Creation, removal and prune are in network_admin.c, endpoints
 * in network_ep.c. */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>

#include "net/net.h"
#include "net/netlink.h"
#include "net/network_int.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/sha256.h"

/* Records are small; anything bigger is not ours. */
#define RECORD_MAX (16 << 20)

/* ------------------------------------------------------------------ locks */

static int lock_file(const char *dir, const char *path, int *fd, struct mtk_err **err)
{
  if (mtk_net_mkdirs(dir, 0700, err) < 0)
    return -1;
  *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (*fd < 0)
    return mtk_err_set(err, errno, "open %s: %s", path, strerror(errno));
  while (flock(*fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return mtk_err_set(err, errno, "lock %s: %s", path, strerror(errno));
  return 0;
}

int mtk_net_lock(const char *root, struct mtk_net_lock *l, struct mtk_err **err)
{
  l->root_fd = l->host_fd = -1;
  mtk_autofree char *dir = mtk_xasprintf("%s/networks", root);
  mtk_autofree char *path = mtk_xasprintf("%s/.lock", dir);
  if (lock_file(dir, path, &l->root_fd, err) < 0 ||
      lock_file(MTK_NET_HOST_DIR, MTK_NET_HOST_DIR "/lock", &l->host_fd, err) < 0) {
    mtk_net_unlock(l);
    return -1;
  }
  return 0;
}

void mtk_net_unlock(struct mtk_net_lock *l)
{
  if (l->host_fd >= 0)
    close(l->host_fd);
  if (l->root_fd >= 0)
    close(l->root_fd);
  l->root_fd = l->host_fd = -1;
}

void mtk_net_root_tag(const char *root, char tag[9])
{
  char real[PATH_MAX], hex[MTK_SHA256_HEX_SIZE];
  const char *p = realpath(root, real) ? real : root;
  mtk_sha256_hex(p, strlen(p), hex);
  memcpy(tag, hex, 8);
  tag[8] = '\0';
}

/* ---------------------------------------------------------------- records */

int mtk_net_record_save(const char *root, json_t *rec, struct mtk_err **err)
{
  const char *id = json_string_value(json_object_get(rec, "Id"));
  mtk_autofree char *path = mtk_xasprintf("%s/networks/%s.json", root, id ? id : "");
  mtk_autofree char *text = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (!id || !text)
    return mtk_err_set(err, EINVAL, "network record without an Id");
  return mtk_file_write_atomic(path, text, strlen(text), 0600, err);
}

static json_t *record_read(const char *path, struct mtk_err **err)
{
  size_t len;
  mtk_autofree char *text = mtk_file_read(path, RECORD_MAX, &len, err);
  if (!text)
    return NULL;
  json_error_t je;
  json_t *rec = json_loadb(text, len, 0, &je);
  if (!rec || !json_is_object(rec)) {
    json_decref(rec);
    mtk_err_set_at(err, EINVAL, path, je.line, je.column, "network record: %s",
                   rec ? "not an object" : je.text);
    return NULL;
  }
  return rec;
}

/* Every readable record of root (broken ones skipped), in directory order. */
static int records(const char *root, json_t **out, struct mtk_err **err)
{
  mtk_autofree char *dir = mtk_xasprintf("%s/networks", root);
  json_t *arr = json_array();
  DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT) {
      *out = arr;
      return 0;
    }
    json_decref(arr);
    return mtk_err_set(err, errno, "open %s: %s", dir, strerror(errno));
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t n = strlen(de->d_name);
    if (n != 69 || strcmp(de->d_name + 64, ".json") != 0)
      continue;
    mtk_autofree char *path = mtk_xasprintf("%s/%s", dir, de->d_name);
    json_t *rec = record_read(path, NULL);
    if (rec && json_is_string(json_object_get(rec, "Name")))
      json_array_append_new(arr, rec);
    else
      json_decref(rec);
  }
  closedir(d);
  *out = arr;
  return 0;
}

static int by_name(const void *a, const void *b)
{
  const json_t *x = *(json_t *const *) a, *y = *(json_t *const *) b;
  return strcmp(json_string_value(json_object_get(x, "Name")),
                json_string_value(json_object_get(y, "Name")));
}

int mtk_net_list(const char *root, json_t **out, struct mtk_err **err)
{
  json_t *arr;
  if (records(root, &arr, err) < 0)
    return -1;
  size_t n = json_array_size(arr);
  mtk_autofree json_t **v = mtk_xcalloc(n ? n : 1, sizeof(*v));
  for (size_t i = 0; i < n; i++)
    v[i] = json_incref(json_array_get(arr, i));
  qsort(v, n, sizeof(*v), by_name);
  json_t *sorted = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(sorted, v[i]);
  json_decref(arr);
  *out = sorted;
  return 0;
}

/* Docker's order: full ID, exact name, then a unique ID prefix. */
int mtk_net_record_find(const char *root, const char *ref, json_t **out, struct mtk_err **err)
{
  json_t *arr;
  if (!ref || !*ref)
    return mtk_err_set(err, EINVAL, "empty network name");
  if (records(root, &arr, err) < 0)
    return -1;
  json_t *hit = NULL, *prefix_rec = NULL, *rec;
  size_t i, prefix_hits = 0;
  json_array_foreach(arr, i, rec)
  {
    const char *id = json_string_value(json_object_get(rec, "Id"));
    if (id && strcmp(id, ref) == 0) {
      hit = rec;
      break;
    }
  }
  json_array_foreach(arr, i, rec)
  {
    if (!hit && strcmp(json_string_value(json_object_get(rec, "Name")), ref) == 0)
      hit = rec;
  }
  json_array_foreach(arr, i, rec)
  {
    const char *id = json_string_value(json_object_get(rec, "Id"));
    if (!hit && id && strncmp(id, ref, strlen(ref)) == 0 && prefix_hits++ == 0)
      prefix_rec = rec;
  }
  if (!hit && prefix_hits == 1)
    hit = prefix_rec;
  if (hit)
    *out = json_incref(hit);
  json_decref(arr);
  if (hit)
    return 0;
  if (prefix_hits > 1)
    return mtk_err_set(err, EINVAL,
                       "network %s is ambiguous (%zu matches found based on ID "
                       "prefix)",
                       ref, prefix_hits);
  mtk_err_set(err, ENOENT, "network %s not found", ref);
  mtk_err_hint(err, "list the networks with 'mtk network ls'");
  return -1;
}

int mtk_net_load(const char *root, const char *ref, json_t **out, struct mtk_err **err)
{
  return mtk_net_record_find(root, ref, out, err);
}

/* --------------------------------------------------------- record fields */

const char *mtk_net_rec_bridge(const json_t *rec)
{
  json_t *o = json_object_get(rec, "Options");
  return json_string_value(json_object_get(o, "com.docker.network.bridge.name"));
}

/* The IPAM Config entry of the IPv4 (v6 = false) or IPv6 subnet. */
static json_t *ipam_entry(const json_t *rec, bool v6)
{
  json_t *cfg = json_object_get(json_object_get(rec, "IPAM"), "Config"), *e;
  size_t i;
  json_array_foreach(cfg, i, e)
  {
    const char *s = json_string_value(json_object_get(e, "Subnet"));
    if (s && (strchr(s, ':') != NULL) == v6)
      return e;
  }
  return NULL;
}

int mtk_net_rec_subnet(const json_t *rec, struct mtk_net_cidr4 *subnet, uint32_t *gateway,
                       struct mtk_err **err)
{
  json_t *e = ipam_entry(rec, false);
  const char *name = json_string_value(json_object_get(rec, "Name"));
  if (!e || mtk_net_cidr4_parse(json_string_value(json_object_get(e, "Subnet")), subnet, err) < 0 ||
      mtk_net_ip4_parse(json_string_value(json_object_get(e, "Gateway")), gateway) < 0)
    return mtk_err_set(err, EINVAL, "network %s: its record has no valid IPv4 subnet/gateway",
                       name ? name : "?");
  return 0;
}

/* --------------------------------------------------------------- bridges */

uint32_t mtk_net_rec_group(const json_t *rec)
{
  const char *id = json_string_value(json_object_get(rec, "Id"));
  const char *name = json_string_value(json_object_get(rec, "Name"));
  if (!id || !name || strcmp(name, MTK_NET_DEFAULT) != 0)
    return 0;
  unsigned char h[32];
  struct mtk_sha256 s;
  mtk_sha256_init(&s);
  mtk_sha256_update(&s, id, strlen(id));
  mtk_sha256_final_raw(&s, h);
  uint32_t v = (uint32_t) h[0] << 24 | (uint32_t) h[1] << 16 | (uint32_t) h[2] << 8 | h[3];
  return (v & 0x3fffffffu) | 0x40000000u;
}

char *mtk_net_alias(const char *root, const char *fields)
{
  char tag[9], real[PATH_MAX];
  mtk_net_root_tag(root, tag);
  char *a =
      mtk_xasprintf("mtk root=%s %s path=%s", tag, fields, realpath(root, real) ? real : root);
  if (strlen(a) > 255) /* IFALIASZ - 1: without the path */
    a[strlen(a) - strlen(strstr(a, " path="))] = '\0';
  return a;
}

static char *bridge_alias(const char *root, const json_t *rec)
{
  char sn[19];
  struct mtk_net_cidr4 c = {0, 0};
  uint32_t gw;
  mtk_net_rec_subnet(rec, &c, &gw, NULL);
  mtk_net_cidr4_str(&c, sn);
  mtk_autofree char *f = mtk_xasprintf("net=%.12s subnet=%s internal=%d",
                                       json_string_value(json_object_get(rec, "Id")), sn,
                                       json_is_true(json_object_get(rec, "Internal")) ? 1 : 0);
  return mtk_net_alias(root, f);
}

static int bridge_addrs(struct mtk_net_nl *nl, int idx, const json_t *rec, struct mtk_err **err)
{
  struct mtk_net_cidr4 c;
  uint32_t gw;
  if (mtk_net_rec_subnet(rec, &c, &gw, err) < 0)
    return -1;
  uint32_t a = htonl(gw);
  if (mtk_net_nl_addr_add(nl, idx, AF_INET, &a, c.len, err) < 0)
    return -1;
  json_t *e6 = ipam_entry(rec, true);
  if (!e6 || !json_is_true(json_object_get(rec, "EnableIPv6")))
    return 0;
  uint8_t gw6[16];
  if (inet_pton(AF_INET6, json_string_value(json_object_get(e6, "Gateway")), gw6) != 1)
    return mtk_err_set(err, EINVAL, "network record: bad IPv6 gateway");
  return mtk_net_nl_addr_add(nl, idx, AF_INET6, gw6, 64, err);
}

/* The default network's bridge: mtk0, or the next mtkN no link has. */
int mtk_net_default_bridge_name(struct mtk_net_nl *nl, char out[IF_NAMESIZE], struct mtk_err **err)
{
  for (int i = 0; i < 100; i++) {
    snprintf(out, IF_NAMESIZE, "mtk%d", i);
    int r = mtk_net_nl_ifindex(nl, out, err);
    if (r <= 0)
      return r;
  }
  return mtk_err_set(err, EEXIST, "links mtk0 to mtk99 all exist: no name for the bridge");
}

int mtk_net_bridge_ensure(struct mtk_net_nl *nl, const char *root, json_t *rec, bool *created,
                          struct mtk_err **err)
{
  const char *name = mtk_net_rec_bridge(rec);
  mtk_autofree char *alias = bridge_alias(root, rec);
  struct mtk_net_nl_link l;
  *created = false;
  if (!name)
    return mtk_err_set(err, EINVAL, "network record without a bridge name");
  int r = mtk_net_nl_link_get(nl, name, &l, err);
  if (r < 0)
    return -1;
  bool is_default = strcmp(json_string_value(json_object_get(rec, "Name")), MTK_NET_DEFAULT) == 0;
  if (r > 0 && strcmp(l.alias, alias) != 0 && is_default) {
    /* Another root took our mtkN while we had no container: take the next. */
    char fresh[IF_NAMESIZE];
    if (mtk_net_default_bridge_name(nl, fresh, err) < 0)
      return -1;
    json_object_set_new(json_object_get(rec, "Options"), "com.docker.network.bridge.name",
                        json_string(fresh));
    name = mtk_net_rec_bridge(rec);
    r = 0;
  }
  if (r > 0 && strcmp(l.alias, alias) != 0) {
    mtk_err_set(err, EEXIST, "the host already has a link %s that is not this network's bridge",
                name);
    mtk_err_hint(err, "another mtk root or program owns it: remove that network or link first");
    return -1;
  }
  if (r > 0)
    return l.index;
  uint8_t mac[6];
  if (getrandom(mac, sizeof(mac), 0) != sizeof(mac))
    return mtk_err_set(err, errno, "getrandom: %s", strerror(errno));
  mac[0] = (uint8_t) ((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
  if (mtk_net_nl_bridge_add(nl, name, mac, alias, mtk_net_rec_group(rec), err) < 0)
    return -1;
  int idx = mtk_net_nl_ifindex(nl, name, err);
  if (idx <= 0 || bridge_addrs(nl, idx, rec, err) < 0) {
    if (idx == 0)
      mtk_err_set(err, ENODEV, "bridge %s vanished after its creation", name);
    mtk_net_nl_link_del(nl, name, NULL);
    return -1;
  }
  *created = true;
  return idx;
}
