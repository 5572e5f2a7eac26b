/* mtk_ctr_prepare and mtk_ctr_teardown: the host side of a container.
 * prepare: overlay rootfs over the image's snapshots (lowerdir longer than a
 * page goes through fsconfig "lowerdir+", or short symlinks in <cdir>/l:
 * RUNTIME.md pitfall 15), named and anonymous volumes
 * (made on first use, filled from the image when empty), bind sources
 * (short syntax: created when missing), tmpfs, the network namespace and
 * endpoints (src/net/), /etc/hosts, /etc/resolv.conf and /etc/hostname in the
 * bundle bound into the container, and config.json.  teardown undoes it from
 * the disk alone (runtime state, endpoints, netns, mounts, bundle), keeps
 * going after a failure and reports the first. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/net.h"
#include "oci/spec.h"
#include "runtime/ctr_internal.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/strbuf.h"

#define MOUNT_DATA_MAX 4095 /* one page, with its NUL */

/* What prepare made, for config.json and the undo. */
struct prep {
  const char *root, *runroot;
  struct mtk_ctr *c;
  char *cdir;                   /* owned: <root>/containers/<id> */
  char *bundle;                 /* owned: <runroot>/containers/<id> */
  char *rootfs;                 /* owned: <bundle>/rootfs */
  char *netns;                  /* owned: the netns file, or NULL */
  json_t *networks;             /* owned: endpoints by network name, or NULL */
  char *ip, *gateway;           /* owned: first network's address and gateway, or NULL */
  struct mtk_oci_mount *mounts; /* owned array; strings in strs */
  size_t n_mounts;
  char **strs; /* owned strings the mounts point at */
  size_t n_strs;
};

static const char *keep(struct prep *p, char *s)
{
  p->strs = mtk_xrealloc(p->strs, (p->n_strs + 1) * sizeof(*p->strs));
  p->strs[p->n_strs++] = s;
  return s;
}

static void prep_clear(struct prep *p)
{
  free(p->cdir);
  free(p->bundle);
  free(p->rootfs);
  free(p->netns);
  json_decref(p->networks);
  free(p->ip);
  free(p->gateway);
  free(p->mounts);
  mtk_ctr_strv_free(p->strs, p->n_strs);
}

const char *mtk_ctr_network_mode(const struct mtk_ctr *c)
{
  const char *m =
      json_string_value(json_object_get(json_object_get(c->config, "HostConfig"), "NetworkMode"));
  return m && *m && strcmp(m, "default") ? m : MTK_CTR_DEFAULT_NETWORK;
}

static bool own_netns(const char *mode)
{
  return strcmp(mode, "none") != 0 && strcmp(mode, "host") != 0;
}

/* ------------------------------------------------------------------ rootfs */

/* The overlay through the mount API, one "lowerdir+" per layer (kernel 6.8):
 * no page limit on the layer list. */
static int mount_fsconfig(const char *lowerdir, const char *upper, const char *work,
                          const char *target)
{
  mtk_autoclose int fs = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0)
    return -1;
  mtk_autofree char *copy = mtk_xstrdup(lowerdir);
  for (char *save = NULL, *l = strtok_r(copy, ":", &save); l; l = strtok_r(NULL, ":", &save))
    if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", l, 0) < 0)
      return -1;
  if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
      fsconfig(fs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
      fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return -1;
  mtk_autoclose int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    return -1;
  return move_mount(mnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
}

/* Older kernels: one short symlink per layer in <cdir>/l ("0", "1", ...,
 * as Docker's overlay2 l/ links) and a mount by a child that chdir()s there,
 * so that lowerdir is "0:1:2..." (the cwd of this possibly threaded process
 * is left alone). */
static int mount_relative(const char *cdir, const char *lowerdir, const char *upper,
                          const char *work, const char *target)
{
  mtk_autofree char *links = mtk_xasprintf("%s/l", cdir);
  struct mtk_err *e = NULL;
  if (mtk_ctr_remove_tree(links, &e) < 0 || mkdir(links, 0700) < 0) {
    mtk_err_free(&e);
    return -1;
  }
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "lowerdir=");
  mtk_autofree char *copy = mtk_xstrdup(lowerdir);
  int i = 0;
  for (char *save = NULL, *l = strtok_r(copy, ":", &save); l; l = strtok_r(NULL, ":", &save), i++) {
    char name[16];
    snprintf(name, sizeof(name), "%d", i);
    mtk_autofree char *link = mtk_xasprintf("%s/%s", links, name);
    if (symlink(l, link) < 0)
      return -1;
    mtk_strbuf_addf(&sb, "%s%s", i ? ":" : "", name);
  }
  mtk_strbuf_addf(&sb, ",upperdir=%s,workdir=%s", upper, work);
  if (sb.len > MOUNT_DATA_MAX)
    return errno = E2BIG, -1;
  const char *data = mtk_strbuf_str(&sb);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    if (chdir(links) < 0 || mount("overlay", target, "overlay", 0, data) < 0)
      _exit(errno & 0xff);
    _exit(0);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
    return 0;
  errno = WIFEXITED(st) ? WEXITSTATUS(st) : EIO;
  return -1;
}

static int mount_overlay(const char *cdir, const char *lowerdir, const char *upper,
                         const char *work, const char *target, struct mtk_err **err)
{
  mtk_autofree char *data =
      mtk_xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lowerdir, upper, work);
  int r;
  if (strlen(data) <= MOUNT_DATA_MAX) {
    r = mount("overlay", target, "overlay", 0, data);
  } else {
    r = mount_fsconfig(lowerdir, upper, work, target);
    if (r < 0 && (errno == EINVAL || errno == ENOSYS))
      r = mount_relative(cdir, lowerdir, upper, work, target);
  }
  if (r == 0)
    return 0;
  int e = errno;
  if (e == E2BIG)
    mtk_err_set(err, E2BIG, "the image has too many layers for one overlay mount on this kernel");
  else
    mtk_err_set(err, e, "mounting the overlay rootfs at %s: %s", target, strerror(e));
  if (e == ENODEV)
    mtk_err_hint(err, "overlayfs must be available (modprobe overlay)");
  else if (e == ENOENT)
    mtk_err_hint(err, "a layer of the image is missing: pull or import the image again, then "
                      "recreate the container");
  else if (e == EINVAL)
    mtk_err_hint(err, "the upper directory must not be on an overlay filesystem itself");
  return -1;
}

static int make_rootfs(struct prep *p, struct mtk_err **err)
{
  const char *lower = json_string_value(json_object_get(
      json_object_get(json_object_get(p->c->config, "GraphDriver"), "Data"), "LowerDir"));
  if (!lower || !*lower)
    return mtk_err_set(err, EINVAL, "container %.12s has no image layers recorded", p->c->id);
  mtk_autofree char *upper = mtk_xasprintf("%s/upper", p->cdir);
  mtk_autofree char *work = mtk_xasprintf("%s/work", p->cdir);
  if (mtk_ctr_mkdir_p(upper, 0755, err) < 0 || mtk_ctr_mkdir_p(work, 0700, err) < 0 ||
      mtk_ctr_mkdir_p(p->bundle, 0700, err) < 0)
    return -1;
  if (mkdir(p->rootfs, 0755) < 0 && errno != EEXIST)
    return mtk_err_set(err, errno, "creating %s: %s", p->rootfs, strerror(errno));
  return mount_overlay(p->cdir, lower, upper, work, p->rootfs, err);
}

/* ------------------------------------------------------------------ mounts */

static struct mtk_oci_mount *add_mount(struct prep *p)
{
  p->mounts = mtk_xrealloc(p->mounts, (p->n_mounts + 1) * sizeof(*p->mounts));
  struct mtk_oci_mount *m = &p->mounts[p->n_mounts++];
  memset(m, 0, sizeof(*m));
  return m;
}

static int volume_source(struct prep *p, const json_t *e, const char *dst, const char **src,
                         struct mtk_err **err)
{
  const char *name = json_string_value(json_object_get(e, "Name"));
  bool created;
  char *data = mtk_ctr_volume_ensure(p->root, name, &created, err);
  if (!data)
    return -1;
  *src = keep(p, data);
  if (json_is_true(json_object_get(e, "NoCopy")))
    return 0;
  return mtk_ctr_volume_copy_up(p->rootfs, dst, data, err);
}

static int bind_source(const json_t *e, const char *src, struct mtk_err **err)
{
  struct stat st;
  if (stat(src, &st) == 0)
    return 0;
  if (!json_is_true(json_object_get(e, "CreateSource")))
    return mtk_err_set(err, ENOENT,
                       "invalid mount config for type \"bind\": bind source path does not "
                       "exist: %s",
                       src);
  return mtk_ctr_mkdir_p(src, 0755, err);
}

static int make_mounts(struct prep *p, struct mtk_err **err)
{
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(p->c->config, "Mounts"), i, e)
  {
    const char *type = json_string_value(json_object_get(e, "Type"));
    const char *dst = json_string_value(json_object_get(e, "Destination"));
    const char *src = json_string_value(json_object_get(e, "Source"));
    if (!type || !dst)
      return mtk_err_set(err, EINVAL, "container %.12s: a mount of its config is damaged",
                         p->c->id);
    int r = 0;
    if (strcmp(type, "volume") == 0)
      r = volume_source(p, e, dst, &src, err);
    else if (strcmp(type, "bind") == 0)
      r = bind_source(e, src, err);
    if (r < 0)
      return mtk_err_wrap(err, "mount %s", dst);
    struct mtk_oci_mount *m = add_mount(p);
    m->type = strcmp(type, "tmpfs") == 0 ? MTK_OCI_MOUNT_TMPFS : MTK_OCI_MOUNT_BIND;
    m->source = src;
    m->target = dst;
    m->read_only = !json_is_true(json_object_get(e, "RW"));
    const char *opts = json_string_value(json_object_get(e, "TmpfsOptions"));
    const char *prop = json_string_value(json_object_get(e, "Propagation"));
    if (m->type == MTK_OCI_MOUNT_TMPFS)
      m->options = opts && *opts ? opts : NULL;
    else if (prop && *prop)
      m->options = prop;
  }
  return 0;
}

/* ----------------------------------------------------------------- network */

static int connect_one(struct prep *p, const char *net, size_t index, struct mtk_err **err)
{
  json_t *ep = json_object_get(
      json_object_get(json_object_get(p->c->config, "NetworkingConfig"), "EndpointsConfig"), net);
  size_t n_alias = json_array_size(json_object_get(ep, "Aliases"));
  mtk_autofree const char **aliases = mtk_xcalloc(n_alias + 1, sizeof(char *));
  for (size_t i = 0; i < n_alias; i++)
    aliases[i] = json_string_value(json_array_get(json_object_get(ep, "Aliases"), i));
  char ifname[32];
  snprintf(ifname, sizeof(ifname), "eth%zu", index);
  const char *ip =
      json_string_value(json_object_get(json_object_get(ep, "IPAMConfig"), "IPv4Address"));
  struct mtk_net_endpoint_req req = {
      .network = net,
      .aliases = aliases,
      .n_aliases = n_alias,
      .ipv4 = ip && *ip ? ip : NULL,
      .ifname = ifname,
      .default_route = index == 0,
  };
  if (strcmp(net, MTK_NET_DEFAULT) == 0 && mtk_net_ensure_default(p->root, NULL, err) < 0)
    return -1;
  json_t *endpoint = NULL;
  if (mtk_net_connect(p->root, p->c->id, p->c->name, p->netns, &req, &endpoint, err) < 0)
    return mtk_err_wrap(err, "network %s", net);
  if (index == 0) {
    const char *a = json_string_value(json_object_get(endpoint, "IPAddress"));
    const char *g = json_string_value(json_object_get(endpoint, "Gateway"));
    p->ip = a && *a ? mtk_xstrdup(a) : NULL;
    p->gateway = g && *g ? mtk_xstrdup(g) : NULL;
  }
  json_object_set_new(p->networks, net, endpoint ? endpoint : json_object());
  return 0;
}

/* The networks in order: NetworkMode first, then the other endpoints. */
static json_t *network_names(const struct mtk_ctr *c, const char *mode)
{
  json_t *names = json_array();
  json_array_append_new(names, json_string(mode));
  const char *net;
  json_t *ep;
  json_object_foreach(
      json_object_get(json_object_get(c->config, "NetworkingConfig"), "EndpointsConfig"), net, ep)
  {
    if (strcmp(net, mode) != 0)
      json_array_append_new(names, json_string(net));
  }
  return names;
}

static int make_network(struct prep *p, struct mtk_err **err)
{
  const char *mode = mtk_ctr_network_mode(p->c);
  if (!own_netns(mode))
    return 0;
  if (mtk_net_ns_create(p->runroot, p->c->id, &p->netns, err) < 0)
    return -1;
  p->networks = json_object();
  json_t *names = network_names(p->c, mode);
  size_t i;
  json_t *n;
  int r = 0;
  json_array_foreach(names, i, n)
  {
    if (r == 0)
      r = connect_one(p, json_string_value(n), i, err);
  }
  json_decref(names);
  return r;
}

/* ------------------------------------------------------------- /etc files */

static const char default_hosts[] = "127.0.0.1\tlocalhost\n"
                                    "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                    "fe00::0\tip6-localnet\n"
                                    "ff00::0\tip6-mcastprefix\n"
                                    "ff02::1\tip6-allnodes\n"
                                    "ff02::2\tip6-allrouters\n";

static char *host_file(const char *path, const char *fallback)
{
  struct mtk_err *e = NULL;
  size_t len;
  char *s = mtk_file_read(path, 1 << 20, &len, &e);
  mtk_err_free(&e);
  return s ? s : mtk_xstrdup(fallback);
}

static int extra_hosts(struct prep *p, struct mtk_strbuf *sb, struct mtk_err **err)
{
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(json_object_get(p->c->config, "HostConfig"), "ExtraHosts"), i,
                     v)
  {
    const char *s = json_string_value(v);
    const char *sep = s ? strpbrk(s, ":=") : NULL;
    if (!sep)
      continue;
    mtk_autofree char *ip = mtk_xstrdup(sep + 1);
    size_t l = strlen(ip);
    if (l >= 2 && ip[0] == '[' && ip[l - 1] == ']') {
      memmove(ip, ip + 1, l - 2);
      ip[l - 2] = 0;
    }
    if (strcmp(ip, "host-gateway") == 0) {
      if (!p->gateway)
        return mtk_err_set(err, EINVAL,
                           "--add-host %s: host-gateway needs a bridge network (this "
                           "container has none)",
                           s);
      free(ip);
      ip = mtk_xstrdup(p->gateway);
    }
    mtk_strbuf_addf(sb, "%s\t%.*s\n", ip, (int) (sep - s), s);
  }
  return 0;
}

static char *resolv_conf(struct prep *p, struct mtk_err **err)
{
  const char *mode = mtk_ctr_network_mode(p->c);
  if (!own_netns(mode))
    return host_file("/etc/resolv.conf", "");
  size_t n = json_object_size(p->networks), i = 0;
  mtk_autofree const char **names = mtk_xcalloc(n + 1, sizeof(char *));
  json_t *order = network_names(p->c, mode);
  json_t *v;
  size_t k;
  json_array_foreach(order, k, v)
  {
    if (i < n)
      names[i++] = json_string_value(v);
  }
  char *text = mtk_net_resolv_conf(p->root, names, i, err);
  json_decref(order);
  return text;
}

/* A bundle file: written before the runtime starts and remade at every
 * start, so no rename or fsync (the runroot is a tmpfs anyway). */
static int write_file(const char *dir, const char *name, const char *text, struct mtk_err **err)
{
  mtk_autofree char *path = mtk_xasprintf("%s/%s", dir, name);
  mtk_autoclose int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  /* 0644 whatever our umask: a container user that is not root reads them */
  if (fd < 0 || fchmod(fd, 0644) < 0 || mtk_file_write_all(fd, text, strlen(text)) < 0)
    return mtk_err_set(err, errno, "writing %s: %s", path, strerror(errno));
  return 0;
}

static bool user_mounted(const struct prep *p, const char *dst)
{
  for (size_t i = 0; i < p->n_mounts; i++)
    if (strcmp(p->mounts[i].target, dst) == 0)
      return true;
  return false;
}

static void bind_etc(struct prep *p, const char *name, bool ro)
{
  mtk_autofree char *dst = mtk_xasprintf("/etc/%s", name);
  if (user_mounted(p, dst))
    return;
  struct mtk_oci_mount *m = add_mount(p);
  m->type = MTK_OCI_MOUNT_BIND;
  m->source = keep(p, mtk_xasprintf("%s/%s", p->bundle, name));
  m->target = keep(p, mtk_steal_ptr(&dst));
  m->read_only = ro;
}

static int make_etc(struct prep *p, struct mtk_err **err)
{
  const json_t *cfg = json_object_get(p->c->config, "Config");
  const char *host = json_string_value(json_object_get(cfg, "Hostname"));
  const char *domain = json_string_value(json_object_get(cfg, "Domainname"));
  bool host_net = strcmp(mtk_ctr_network_mode(p->c), "host") == 0;
  mtk_autostrbuf hosts = MTK_STRBUF_INIT;
  if (host_net) {
    mtk_autofree char *h = host_file("/etc/hosts", default_hosts);
    mtk_strbuf_adds(&hosts, h);
    if (hosts.len && hosts.buf[hosts.len - 1] != '\n')
      mtk_strbuf_addc(&hosts, '\n');
  } else {
    mtk_strbuf_adds(&hosts, default_hosts);
  }
  if (extra_hosts(p, &hosts, err) < 0)
    return -1;
  if (p->ip && host && *host) {
    if (domain && *domain)
      mtk_strbuf_addf(&hosts, "%s\t%s.%s %s\n", p->ip, host, domain, host);
    else
      mtk_strbuf_addf(&hosts, "%s\t%s\n", p->ip, host);
  }
  mtk_autofree char *resolv = resolv_conf(p, err);
  if (!resolv)
    return -1;
  mtk_autofree char *hostname = mtk_xasprintf("%s\n", host ? host : "");
  if (write_file(p->bundle, "hosts", mtk_strbuf_str(&hosts), err) < 0 ||
      write_file(p->bundle, "resolv.conf", resolv, err) < 0 ||
      write_file(p->bundle, "hostname", hostname, err) < 0)
    return -1;
  bool ro =
      json_is_true(json_object_get(json_object_get(p->c->config, "HostConfig"), "ReadonlyRootfs"));
  bind_etc(p, "hostname", ro);
  bind_etc(p, "hosts", ro);
  bind_etc(p, "resolv.conf", ro);
  return 0;
}

static int write_spec(struct prep *p, struct mtk_err **err)
{
  json_t *spec = mtk_ctr_spec(p->c, p->rootfs, p->mounts, p->n_mounts, p->netns, err);
  if (!spec)
    return -1;
  mtk_autofree char *text = json_dumps(spec, JSON_COMPACT);
  json_decref(spec);
  return write_file(p->bundle, "config.json", text, err);
}

/* --------------------------------------------------------------- the verbs */

static int leftovers(struct prep *p, struct mtk_err **err)
{
  pid_t pid = (pid_t) json_integer_value(json_object_get(p->c->state, "Pid"));
  uint64_t start = (uint64_t) json_integer_value(json_object_get(p->c->state, "PidStart"));
  if (pid > 0 && mtk_ctr_proc_alive(pid, start) && mtk_ctr_is_running(p->c))
    return mtk_err_set(err, EBUSY, "container %s is already running", p->c->name);
  struct stat st;
  if (stat(p->bundle, &st) < 0 && errno == ENOENT)
    return 0;
  return mtk_ctr_teardown(p->root, p->runroot, p->c, err);
}

int mtk_ctr_prepare(const char *root, const char *runroot, struct mtk_ctr *c,
                    struct mtk_ctr_bundle *out, struct mtk_err **err)
{
  memset(out, 0, sizeof(*out));
  struct prep p = {.root = root, .runroot = runroot, .c = c};
  p.cdir = mtk_ctr_path(root, c->id);
  p.bundle = mtk_ctr_bundle_path(runroot, c->id);
  p.rootfs = mtk_xasprintf("%s/rootfs", p.bundle);
  int r = leftovers(&p, err);
  if (r == 0 && (r = make_rootfs(&p, err)) == 0 && (r = make_mounts(&p, err)) == 0 &&
      (r = make_network(&p, err)) == 0 && (r = make_etc(&p, err)) == 0)
    r = write_spec(&p, err);
  if (r < 0) {
    struct mtk_err *e = NULL;
    if (!err || !*err || (*err)->code != EBUSY)
      mtk_ctr_teardown(root, runroot, c, &e);
    mtk_err_free(&e);
    prep_clear(&p);
    return -1;
  }
  out->dir = mtk_steal_ptr(&p.bundle);
  out->rootfs = mtk_steal_ptr(&p.rootfs);
  out->netns = mtk_steal_ptr(&p.netns);
  out->pid_file = mtk_xasprintf("%s/pid", out->dir);
  out->log_file = mtk_xasprintf("%s/runtime.log", out->dir);
  out->ctr_log = mtk_xasprintf("%s/ctr.log", p.cdir);
  out->networks = mtk_steal_ptr(&p.networks);
  prep_clear(&p);
  return 0;
}

void mtk_ctr_bundle_clear(struct mtk_ctr_bundle *b)
{
  free(b->dir);
  free(b->rootfs);
  free(b->netns);
  free(b->pid_file);
  free(b->log_file);
  free(b->ctr_log);
  json_decref(b->networks);
  memset(b, 0, sizeof(*b));
}

/* Keeps the first error in *first; ENOSYS (a part not built yet) is none. */
static void note(struct mtk_err **first, struct mtk_err **e)
{
  if (*e && (*e)->code != ENOSYS && !*first)
    *first = mtk_steal_ptr(e);
  mtk_err_free(e);
}

int mtk_ctr_teardown(const char *root, const char *runroot, const struct mtk_ctr *c,
                     struct mtk_err **err)
{
  struct mtk_err *first = NULL, *e = NULL;
  struct mtk_runtime *rt = mtk_ctr_runtime(runroot, c, &e);
  if (rt)
    rt->ops->del(rt, c->id, true, &e);
  mtk_runtime_free(rt);
  note(&first, &e);
  if (own_netns(mtk_ctr_network_mode(c))) {
    mtk_net_disconnect_all(root, c->id, &e);
    note(&first, &e);
    mtk_net_ns_remove(runroot, c->id, &e);
    note(&first, &e);
  }
  mtk_autofree char *bundle = mtk_ctr_bundle_path(runroot, c->id);
  if (mtk_ctr_umount_all(bundle, &e) == 0)
    mtk_ctr_remove_tree(bundle, &e);
  note(&first, &e);
  if (!first)
    return 0;
  if (err && !*err) {
    *err = first;
    return mtk_err_wrap(err, "cleaning up container %s", c->name);
  }
  mtk_err_free(&first);
  return -1;
}
