/* Relative paths of a canonical model made absolute, as compose-go's
 * paths.ResolveRelativePaths: which attributes are paths, which of them may be URLs or
 * Windows paths, "~" expansion, and symbolic links of develop.watch paths. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compose/normalize.h"
#include "util/cleanup.h"
#include "util/path.h"
#include "util/strmap.h"

struct resolver {
  const char *base; /* borrowed: directory relative paths are joined to */
  const char *home; /* borrowed: HOME, or NULL */
};

/* paths.ExpandUser: a leading "~" (any "~...") is replaced by HOME, then cleaned. */
static char *expand_user(const struct resolver *r, const char *p)
{
  if (p[0] == '~' && r->home)
    return mtk_path_join(r->home, p + 1);
  return mtk_xstrdup(p);
}

static char *abs_path(const struct resolver *r, const char *v)
{
  mtk_autofree char *p = expand_user(r, v);
  if (p[0] == '/' || p[0] == '\0')
    return mtk_steal_ptr(&p);
  return mtk_path_join(r->base, p);
}

static bool is_sep(char c)
{
  return c == '/' || c == '\\';
}

/* paths.IsWindowsAbs, enough of it for a Linux host: "C:\x", "C:/x", "\\server\share". */
static bool is_windows_abs(const char *p)
{
  size_t n = strlen(p);
  if (n >= 3 && p[1] == ':' && is_sep(p[2]))
    return true;
  return n >= 2 && is_sep(p[0]) && is_sep(p[1]);
}

static char *maybe_unix_path(const struct resolver *r, const char *v)
{
  mtk_autofree char *p = expand_user(r, v);
  if (p[0] != '/' && !is_windows_abs(p))
    return mtk_path_join(r->base, p);
  return mtk_steal_ptr(&p);
}

/* A build context that is a URL, a git reference or another service stays as is. */
static bool is_remote_context(const char *v)
{
  static const char *const prefixes[] = {"https://",    "http://", "git://",  "ssh://",
                                         "github.com/", "git@",    "service:"};
  if (strstr(v, "://"))
    return true;
  for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
    if (strncmp(v, prefixes[i], strlen(prefixes[i])) == 0)
      return true;
  return false;
}

typedef char *(*path_fn)(const struct resolver *r, const char *v);

/* Replaces the text of a STR scalar with fn(text). */
static void rewrite(struct mtk_node *n, const struct resolver *r, path_fn fn)
{
  if (n == NULL || !mtk_node_is_str(n))
    return;
  char *s = fn(r, n->str);
  free(n->str);
  n->str = s;
}

static char *abs_context(const struct resolver *r, const char *v)
{
  return is_remote_context(v) ? mtk_xstrdup(v) : abs_path(r, v);
}

static char *abs_extends(const struct resolver *r, const char *v)
{
  /* Remote resources (git, oci) are left to their loaders. */
  if (strstr(v, "://") || strncmp(v, "git@", 4) == 0)
    return mtk_xstrdup(v);
  return abs_path(r, v);
}

/* utils.ResolveSymbolicLink: the first component of the path that is a symbolic link is
 * replaced by its resolved target. */
static char *abs_symlink(const struct resolver *r, const char *v)
{
  mtk_autofree char *p = abs_path(r, v);
  if (p[0] != '/')
    return mtk_steal_ptr(&p);
  size_t n = strlen(p);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] != '/' && p[i] != '\0')
      continue;
    mtk_autofree char *prefix = mtk_xstrndup(p, i);
    struct stat st;
    if (lstat(prefix, &st) < 0 || !S_ISLNK(st.st_mode))
      continue;
    char target[PATH_MAX];
    if (realpath(prefix, target) == NULL)
      return mtk_steal_ptr(&p);
    return mtk_xasprintf("%s%s", target, p + i);
  }
  return mtk_steal_ptr(&p);
}

static void resolve_build(struct mtk_node *build, const struct resolver *r)
{
  if (!mtk_node_is_map(build))
    return;
  rewrite(mtk_node_get(build, "context"), r, abs_context);
  struct mtk_node *ac = mtk_node_get(build, "additional_contexts");
  for (size_t i = 0; mtk_node_is_map(ac) && i < ac->len; i++)
    rewrite(ac->pairs[i].val, r, abs_context);
  for (size_t i = 0; mtk_node_is_seq(ac) && i < ac->len; i++) {
    /* list form "name=path" (not canonical yet): resolve the path part */
    struct mtk_node *it = ac->items[i];
    char *eq = mtk_node_is_str(it) ? strchr(it->str, '=') : NULL;
    if (eq == NULL)
      continue;
    mtk_autofree char *path = abs_context(r, eq + 1);
    char *s = mtk_xasprintf("%.*s=%s", (int) (eq - it->str), it->str, path);
    free(it->str);
    it->str = s;
  }
  struct mtk_node *ssh = mtk_node_get(build, "ssh");
  for (size_t i = 0; mtk_node_is_map(ssh) && i < ssh->len; i++)
    rewrite(ssh->pairs[i].val, r, maybe_unix_path);
}

static int resolve_volumes(struct mtk_node *vols, const struct resolver *r, struct mtk_err **err)
{
  for (size_t i = 0; mtk_node_is_seq(vols) && i < vols->len; i++) {
    struct mtk_node *v = vols->items[i];
    const char *type = mtk_node_is_map(v) ? mtk_node_get_str(v, "type") : NULL;
    if (type == NULL || strcmp(type, "bind") != 0)
      continue;
    struct mtk_node *src = mtk_node_get(v, "source");
    if (src == NULL)
      return mtk_node_err(v, err,
                          "invalid mount config for type \"bind\": field Source must not be empty");
    rewrite(src, r, maybe_unix_path);
  }
  return 0;
}

static void resolve_list_or_str(struct mtk_node *n, const struct resolver *r, path_fn fn)
{
  if (mtk_node_is_str(n))
    rewrite(n, r, fn);
  for (size_t i = 0; mtk_node_is_seq(n) && i < n->len; i++)
    rewrite(n->items[i], r, fn);
}

static int resolve_service(struct mtk_node *svc, const struct resolver *r, struct mtk_err **err)
{
  if (!mtk_node_is_map(svc))
    return 0;
  resolve_build(mtk_node_get(svc, "build"), r);
  struct mtk_node *envf = mtk_node_get(svc, "env_file");
  if (mtk_node_is_str(envf))
    rewrite(envf, r, abs_path);
  for (size_t i = 0; mtk_node_is_seq(envf) && i < envf->len; i++) {
    struct mtk_node *it = envf->items[i];
    rewrite(mtk_node_is_map(it) ? mtk_node_get(it, "path") : it, r, abs_path);
  }
  resolve_list_or_str(mtk_node_get(svc, "label_file"), r, abs_path);
  struct mtk_node *ext = mtk_node_get(svc, "extends");
  if (mtk_node_is_map(ext))
    rewrite(mtk_node_get(ext, "file"), r, abs_extends);
  struct mtk_node *dev = mtk_node_get(svc, "develop");
  struct mtk_node *watch = mtk_node_is_map(dev) ? mtk_node_get(dev, "watch") : NULL;
  for (size_t i = 0; mtk_node_is_seq(watch) && i < watch->len; i++)
    if (mtk_node_is_map(watch->items[i]))
      rewrite(mtk_node_get(watch->items[i], "path"), r, abs_symlink);
  return resolve_volumes(mtk_node_get(svc, "volumes"), r, err);
}

/* volumes.*: a local volume with o=bind is a bind mount of driver_opts.device. */
static void resolve_volume_driver_opts(struct mtk_node *vol, const struct resolver *r)
{
  if (!mtk_node_is_map(vol))
    return;
  const char *driver = mtk_node_get_str(vol, "driver");
  struct mtk_node *opts = mtk_node_get(vol, "driver_opts");
  if (driver == NULL || strcmp(driver, "local") != 0 || !mtk_node_is_map(opts))
    return;
  struct mtk_node *o = mtk_node_get(opts, "o");
  if (mtk_node_is_str(o) && strcmp(o->str, "bind") == 0)
    rewrite(mtk_node_get(opts, "device"), r, maybe_unix_path);
}

int mtk_compose_resolve_paths(struct mtk_node *model, const char *base_dir,
                              const struct mtk_strmap *env, struct mtk_err **err)
{
  if (!mtk_node_is_map(model))
    return 0;
  const char *home = env ? mtk_strmap_get(env, "HOME", NULL) : NULL;
  if (home == NULL || *home == '\0')
    home = getenv("HOME");
  struct resolver r = {base_dir, home && *home ? home : NULL};
  struct mtk_node *services = mtk_node_get(model, "services");
  for (size_t i = 0; mtk_node_is_map(services) && i < services->len; i++)
    if (resolve_service(services->pairs[i].val, &r, err) < 0)
      return -1;
  static const char *const files[] = {"configs", "secrets"};
  for (size_t k = 0; k < 2; k++) {
    struct mtk_node *top = mtk_node_get(model, files[k]);
    for (size_t i = 0; mtk_node_is_map(top) && i < top->len; i++)
      if (mtk_node_is_map(top->pairs[i].val))
        rewrite(mtk_node_get(top->pairs[i].val, "file"), &r, maybe_unix_path);
  }
  struct mtk_node *vols = mtk_node_get(model, "volumes");
  for (size_t i = 0; mtk_node_is_map(vols) && i < vols->len; i++)
    resolve_volume_driver_opts(vols->pairs[i].val, &r);
  return 0;
}
