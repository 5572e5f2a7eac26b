/* `network prune` and crash recovery: endpoints of containers that are gone
 * (no <root>/containers/<id>, no namespace file, or no veth any more),
 * networks without endpoints (never the default one), links of this root
 * (by their alias, network_int.h) that no record knows, and namespace files
 * under <runroot>/netns whose container is gone.  Links of other roots are
 * left alone. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/net.h"
#include "net/netlink.h"
#include "net/network_int.h"
#include "util/cleanup.h"

struct prune {
  const char *root, *runroot;
  struct mtk_net_nl nl;
  struct mtk_net_nl_link *links; /* owned */
  size_t n_links;
  json_t *recs; /* owned */
  char tag[9];
};

static bool exists(const char *path)
{
  struct stat st;
  return path && lstat(path, &st) == 0;
}

static bool have_link(const struct prune *p, const char *name)
{
  for (size_t i = 0; name && i < p->n_links; i++)
    if (strcmp(p->links[i].name, name) == 0)
      return true;
  return false;
}

static bool ctr_gone(const struct prune *p, const char *ctr_id, const json_t *ep)
{
  mtk_autofree char *dir = mtk_xasprintf("%s/containers/%s", p->root, ctr_id);
  const char *sandbox = json_string_value(json_object_get(ep, "SandboxKey"));
  return !exists(dir) || (sandbox && !exists(sandbox)) ||
         !have_link(p, json_string_value(json_object_get(ep, "Veth")));
}

static int prune_endpoints(struct prune *p, json_t *rec, struct mtk_err **err)
{
  json_t *ctrs = json_object_get(rec, "Containers"), *ep;
  const char *cid;
  void *tmp;
  bool changed = false;
  int r = 0;
  json_object_foreach_safe(ctrs, tmp, cid, ep)
  {
    if (!ctr_gone(p, cid, ep))
      continue;
    if (mtk_net_ep_drop(&p->nl, rec, cid, err) < 0)
      r = -1;
    else
      changed = true;
  }
  if (changed && mtk_net_record_save(p->root, rec, err) < 0)
    r = -1;
  return r;
}

static int drop_network(struct prune *p, json_t *rec, struct mtk_err **err)
{
  mtk_autofree char *path =
      mtk_xasprintf("%s/networks/%s.json", p->root, json_string_value(json_object_get(rec, "Id")));
  if (mtk_net_nl_link_del(&p->nl, mtk_net_rec_bridge(rec), err) < 0)
    return -1;
  if (unlink(path) < 0 && errno != ENOENT)
    return mtk_err_set(err, errno, "remove %s: %s", path, strerror(errno));
  return 0;
}

/* Is link `name` (ours) still the bridge or a veth of a kept record? */
static bool link_known(const json_t *kept, const char *name)
{
  json_t *rec, *ep;
  size_t i;
  const char *cid;
  json_array_foreach(kept, i, rec)
  {
    const char *br = mtk_net_rec_bridge(rec);
    if (br && strcmp(br, name) == 0)
      return true;
    json_object_foreach(json_object_get(rec, "Containers"), cid, ep)
    {
      const char *veth = json_string_value(json_object_get(ep, "Veth"));
      if (veth && strcmp(veth, name) == 0)
        return true;
    }
  }
  return false;
}

/* A link of another root whose directory is gone (deleted without
 * removing its networks first). */
static bool dead_root(const char *alias)
{
  const char *path = strstr(alias, " path=");
  struct stat st;
  return strncmp(alias, "mtk root=", 9) == 0 && path && path[6] == '/' && stat(path + 6, &st) < 0 &&
         errno == ENOENT;
}

static int prune_links(struct prune *p, const json_t *kept, struct mtk_err **err)
{
  mtk_autofree char *mine = mtk_xasprintf("mtk root=%s ", p->tag);
  int r = 0;
  for (size_t i = 0; i < p->n_links; i++) {
    const struct mtk_net_nl_link *l = &p->links[i];
    bool ours = strncmp(l->alias, mine, strlen(mine)) == 0;
    if (strncmp(l->name, "mtk", 3) != 0 || (ours && link_known(kept, l->name)) ||
        (!ours && !dead_root(l->alias)))
      continue;
    if (mtk_net_nl_link_del(&p->nl, l->name, err) < 0)
      r = -1;
  }
  return r;
}

static int prune_netns(struct prune *p, struct mtk_err **err)
{
  if (!p->runroot)
    return 0;
  mtk_autofree char *dir = mtk_xasprintf("%s/netns", p->runroot);
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  struct dirent *de;
  int r = 0;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    mtk_autofree char *cdir = mtk_xasprintf("%s/containers/%s", p->root, de->d_name);
    if (!exists(cdir) && mtk_net_ns_remove(p->runroot, de->d_name, err) < 0)
      r = -1;
  }
  closedir(d);
  return r;
}

static int prune_networks(struct prune *p, json_t *kept, char ***removed, size_t *n,
                          struct mtk_err **err)
{
  json_t *rec;
  size_t i;
  int r = 0;
  json_array_foreach(p->recs, i, rec)
  {
    const char *name = json_string_value(json_object_get(rec, "Name"));
    if (prune_endpoints(p, rec, err) < 0)
      r = -1;
    bool is_default = strcmp(name, MTK_NET_DEFAULT) == 0;
    bool in_use = json_object_size(json_object_get(rec, "Containers")) > 0;
    if (is_default && !in_use && mtk_net_nl_link_del(&p->nl, mtk_net_rec_bridge(rec), err) < 0)
      r = -1;
    if (is_default || in_use || drop_network(p, rec, err) < 0) {
      json_array_append(kept, rec);
      continue;
    }
    if (removed) {
      *removed = mtk_xrealloc(*removed, (*n + 1) * sizeof(char *));
      (*removed)[(*n)++] = mtk_xstrdup(name);
    }
  }
  return r;
}

int mtk_net_prune(const char *root, const char *runroot, char ***removed, size_t *n,
                  struct mtk_err **err)
{
  mtk_autonetlock lk;
  struct prune p = {.root = root, .runroot = runroot};
  size_t count = 0;
  if (removed)
    *removed = NULL;
  if (mtk_net_lock(root, &lk, err) < 0)
    return -1;
  mtk_net_root_tag(root, p.tag);
  json_t *kept = json_array();
  int r = mtk_net_nl_open(&p.nl, err);
  if (r == 0)
    r = mtk_net_nl_links(&p.nl, &p.links, &p.n_links, err);
  if (r == 0)
    r = mtk_net_list(root, &p.recs, err);
  if (r == 0) {
    /* Keep going after a failure: report the first one. */
    r = prune_networks(&p, kept, removed, &count, err);
    r |= prune_links(&p, kept, err);
    r |= prune_netns(&p, err);
    r |= mtk_net_nft_sync(&p.nl, err);
  }
  if (n)
    *n = count;
  json_decref(kept);
  json_decref(p.recs);
  free(p.links);
  mtk_net_nl_close(&p.nl);
  return r < 0 ? -1 : 0;
}
