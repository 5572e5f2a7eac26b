/* Profiles (Project.WithProfiles), compose-go's consistency checks (loader's
 * checkConsistency, graph.CheckCycle, docker compose's CheckContainerNameUnicity) and the
 * pruning of unused resources (Project.WithoutUnnecessaryResources), on the node tree of
 * the normalised model.  Services are checked in document order, so when a model has
 * several problems the first one in the file is reported. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "compose/graph.h"
#include "compose/normalize.h"
#include "util/cleanup.h"

#define INVALID ": invalid compose project"

struct check {
  const struct mtk_node *model;    /* borrowed */
  const struct mtk_node *services; /* borrowed: enabled services (MAP) or NULL */
  const struct mtk_node *disabled; /* borrowed: services disabled by profiles, or NULL */
};

static bool has_key(const struct mtk_node *map, const char *key)
{
  return mtk_node_is_map(map) && mtk_node_get_pair(map, key) != NULL;
}

static const char *str_of(const struct mtk_node *map, const char *key)
{
  struct mtk_node *n = mtk_node_is_map(map) ? mtk_node_get(map, key) : NULL;
  return mtk_node_is_str(n) ? n->str : NULL;
}

static bool nonempty(const char *s)
{
  return s && *s;
}

/* The source of a service secret/config: a mapping's `source`, or the short syntax. */
static const char *mount_source(const struct mtk_node *it)
{
  if (mtk_node_is_str(it))
    return it->str;
  return str_of(it, "source");
}

static bool has_profile(const struct mtk_node *svc, const struct mtk_norm_ctx *ctx)
{
  struct mtk_node *p = mtk_node_is_map(svc) ? mtk_node_get(svc, "profiles") : NULL;
  if (!mtk_node_is_seq(p) || p->len == 0)
    return !mtk_node_is_str(p);
  for (size_t i = 0; i < ctx->n_profiles; i++) {
    if (strcmp(ctx->profiles[i], "*") == 0)
      return true;
    for (size_t k = 0; k < p->len; k++)
      if (mtk_node_is_str(p->items[k]) && strcmp(p->items[k]->str, ctx->profiles[i]) == 0)
        return true;
  }
  return false;
}

void mtk_norm_apply_profiles(struct mtk_node *model, const struct mtk_norm_ctx *ctx,
                             struct mtk_node **disabled)
{
  *disabled = mtk_node_new_map(NULL);
  struct mtk_node *services = mtk_node_get(model, "services");
  if (!mtk_node_is_map(services))
    return;
  size_t i = 0;
  while (i < services->len) {
    if (has_profile(services->pairs[i].val, ctx)) {
      i++;
      continue;
    }
    mtk_autofree char *name = mtk_xstrdup(services->pairs[i].key);
    mtk_node_set(*disabled, name, mtk_node_take(services, name));
  }
}

/* Project.GetService: 0 enabled, 1 disabled by profiles, -1 unknown. */
static int service_state(const struct check *c, const char *name)
{
  if (has_key(c->services, name))
    return 0;
  return has_key(c->disabled, name) ? 1 : -1;
}

static int check_build(const struct check *c, const char *name, const struct mtk_node *svc,
                       struct mtk_err **err)
{
  struct mtk_node *build = mtk_node_get(svc, "build");
  if (build == NULL && !nonempty(str_of(svc, "image")) && !has_key(svc, "provider"))
    return mtk_node_err(svc, err,
                        "service \"%s\" has neither an image nor a build context specified" INVALID,
                        name);
  if (!mtk_node_is_map(build))
    return 0;
  if (nonempty(str_of(build, "dockerfile_inline")) && nonempty(str_of(build, "dockerfile")))
    return mtk_node_err(build, err,
                        "service \"%s\" declares mutualy exclusive dockerfile and "
                        "dockerfile_inline" INVALID,
                        name);
  struct mtk_node *ac = mtk_node_get(build, "additional_contexts");
  for (size_t i = 0; mtk_node_is_map(ac) && i < ac->len; i++) {
    struct mtk_node *v = ac->pairs[i].val;
    if (!mtk_node_is_str(v) || strncmp(v->str, "service:", 8) != 0)
      continue;
    const char *target = v->str + 8;
    if (service_state(c, target) != 0)
      return mtk_node_err(
          v, err, "service \"%s\" declares unknown service \"%s\" as additional contexts %s", name,
          target, ac->pairs[i].key);
    if (mtk_node_get(mtk_node_get(c->services, target), "build") == NULL)
      return mtk_node_err(v, err,
                          "service \"%s\" declares non-buildable service \"%s\" as additional "
                          "contexts %s",
                          name, target, ac->pairs[i].key);
  }
  struct mtk_node *plats = mtk_node_get(build, "platforms");
  const char *platform = str_of(svc, "platform");
  if (mtk_node_is_seq(plats) && plats->len > 0 && nonempty(platform)) {
    for (size_t i = 0; i < plats->len; i++)
      if (mtk_node_is_str(plats->items[i]) && strcmp(plats->items[i]->str, platform) == 0)
        return 0;
    return mtk_node_err(plats, err,
                        "service.build.platforms MUST include service.platform \"%s\"" INVALID,
                        platform);
  }
  return 0;
}

static int check_networks(const struct check *c, const char *name, const struct mtk_node *svc,
                          struct mtk_err **err)
{
  struct mtk_node *nets = mtk_node_get(svc, "networks");
  size_t n = mtk_node_is_map(nets) || mtk_node_is_seq(nets) ? nets->len : 0;
  if (nonempty(str_of(svc, "network_mode")) && n > 0)
    return mtk_node_err(
        nets, err, "service %s declares mutually exclusive `network_mode` and `networks`" INVALID,
        name);
  const struct mtk_node *top = mtk_node_get(c->model, "networks");
  for (size_t i = 0; i < n; i++) {
    const struct mtk_node *at = mtk_node_is_map(nets) ? nets->pairs[i].val : nets->items[i];
    const char *net = mtk_node_is_map(nets) ? nets->pairs[i].key : mount_source(at);
    if (net && !has_key(top, net))
      return mtk_node_err(at && at->line ? at : nets, err,
                          "service \"%s\" refers to undefined network %s" INVALID, name, net);
  }
  return 0;
}

static int check_healthcheck(const struct mtk_node *svc, struct mtk_err **err)
{
  struct mtk_node *hc = mtk_node_get(svc, "healthcheck");
  struct mtk_node *test = mtk_node_is_map(hc) ? mtk_node_get(hc, "test") : NULL;
  if (!mtk_node_is_seq(test) || test->len == 0)
    return 0;
  const char *t0 = mtk_node_is_str(test->items[0]) ? test->items[0]->str : "";
  if (strcmp(t0, "CMD") && strcmp(t0, "CMD-SHELL") && strcmp(t0, "NONE"))
    return mtk_node_err(test, err,
                        "healthcheck.test must start either by \"CMD\", \"CMD-SHELL\" or \"NONE\"");
  return 0;
}

static int check_dependencies(const struct check *c, const char *name, const struct mtk_node *svc,
                              struct mtk_err **err)
{
  struct mtk_node *deps = mtk_node_get(svc, "depends_on");
  for (size_t i = 0; mtk_node_is_map(deps) && i < deps->len; i++) {
    const char *dep = deps->pairs[i].key;
    int st = service_state(c, dep);
    struct mtk_node *req = mtk_node_get(deps->pairs[i].val, "required");
    bool required = req == NULL || mtk_node_is_true(req);
    if (st == 0 || (st == 1 && !required))
      continue;
    return mtk_node_err(deps->pairs[i].val && deps->pairs[i].val->line ? deps->pairs[i].val : deps,
                        err, "service \"%s\" depends on undefined service \"%s\"" INVALID, name,
                        dep);
  }
  const char *nm = str_of(svc, "network_mode");
  if (nm && strncmp(nm, "service:", 8) == 0 && service_state(c, nm + 8) != 0)
    return mtk_node_err(mtk_node_get(svc, "network_mode"), err,
                        "service \"%s\" not found for network_mode 'service:%s'", nm + 8, nm + 8);
  return 0;
}

/* Each source of `list` (service volumes of type volume, secrets, configs) must be
 * declared in the top-level mapping `kind`. */
static int check_refs(const struct check *c, const char *name, const struct mtk_node *list,
                      const char *kind, const char *what, struct mtk_err **err)
{
  const struct mtk_node *top = mtk_node_get(c->model, kind);
  for (size_t i = 0; mtk_node_is_seq(list) && i < list->len; i++) {
    const struct mtk_node *it = list->items[i];
    const char *src = mount_source(it);
    if (strcmp(kind, "volumes") == 0) {
      const char *type = str_of(it, "type");
      if (type == NULL || strcmp(type, "volume") != 0 || !nonempty(src))
        continue;
    }
    if (src && !has_key(top, src))
      return mtk_node_err(it, err, "service \"%s\" refers to undefined %s %s" INVALID, name, what,
                          src);
  }
  return 0;
}

static int check_references(const struct check *c, const char *name, const struct mtk_node *svc,
                            struct mtk_err **err)
{
  if (check_refs(c, name, mtk_node_get(svc, "volumes"), "volumes", "volume", err) < 0)
    return -1;
  struct mtk_node *build = mtk_node_get(svc, "build");
  if (mtk_node_is_map(build) &&
      check_refs(c, name, mtk_node_get(build, "secrets"), "secrets", "build secret", err) < 0)
    return -1;
  if (check_refs(c, name, mtk_node_get(svc, "configs"), "configs", "config", err) < 0)
    return -1;
  struct mtk_node *models = mtk_node_get(svc, "models");
  const struct mtk_node *top = mtk_node_get(c->model, "models");
  for (size_t i = 0; mtk_node_is_map(models) && i < models->len; i++)
    if (!has_key(top, models->pairs[i].key))
      return mtk_node_err(models, err, "service \"%s\" refers to undefined model %s" INVALID, name,
                          models->pairs[i].key);
  return check_refs(c, name, mtk_node_get(svc, "secrets"), "secrets", "secret", err);
}

/* An integer attribute (ints, or numeric strings); false when absent or not a number. */
static bool int_of(const struct mtk_node *map, const char *key, int64_t *out)
{
  struct mtk_node *n = mtk_node_is_map(map) ? mtk_node_get(map, key) : NULL;
  if (n == NULL || n->kind != MTK_NODE_SCALAR)
    return false;
  if (n->type == MTK_SCALAR_INT) {
    *out = n->ival;
    return true;
  }
  char *end;
  if (n->type == MTK_SCALAR_STR && n->str[0]) {
    *out = strtoll(n->str, &end, 10);
    return *end == '\0';
  }
  return false;
}

static int check_scale(const char *name, struct mtk_node *svc, struct mtk_err **err)
{
  int64_t scale = 0, replicas = 0;
  bool has_scale = int_of(svc, "scale", &scale);
  struct mtk_node *deploy = mtk_node_get(svc, "deploy");
  bool has_replicas = int_of(deploy, "replicas", &replicas);
  if (has_scale && mtk_node_is_map(deploy)) {
    if (has_replicas && scale != replicas)
      return mtk_node_err(mtk_node_get(svc, "scale"), err,
                          "services.%s: can't set distinct values on 'scale' and "
                          "'deploy.replicas'" INVALID,
                          name);
    /* compose-go writes scale into deploy.replicas (a pointer shared with the project) */
    mtk_node_set(deploy, "replicas", mtk_node_new_int(scale, mtk_node_get(svc, "scale")));
    has_replicas = true;
    replicas = scale;
  }
  if (has_scale && scale < 0)
    return mtk_node_err(mtk_node_get(svc, "scale"), err,
                        "services.%s.scale: must be greater than or equal to 0", name);
  if (has_replicas && replicas < 0)
    return mtk_node_err(mtk_node_get(deploy, "replicas"), err,
                        "services.%s.deploy.replicas: must be greater than or equal to 0", name);
  int64_t n = has_scale ? scale : has_replicas ? replicas : 1;
  if (n > 1 && nonempty(str_of(svc, "container_name")))
    return mtk_node_err(mtk_node_get(svc, "container_name"), err,
                        "services.%s: can't set container_name and %s as container name must be "
                        "unique" INVALID,
                        has_scale ? "scale" : "deploy.replicas", name);
  return 0;
}

static int check_watch(const char *name, const struct mtk_node *svc, struct mtk_err **err)
{
  struct mtk_node *dev = mtk_node_get(svc, "develop");
  struct mtk_node *watch = mtk_node_is_map(dev) ? mtk_node_get(dev, "watch") : NULL;
  for (size_t i = 0; mtk_node_is_seq(watch) && i < watch->len; i++) {
    const struct mtk_node *w = watch->items[i];
    const char *action = str_of(w, "action");
    action = action ? action : "";
    if (!nonempty(str_of(w, "target")) && strcmp(action, "rebuild") && strcmp(action, "restart"))
      return mtk_node_err(w, err,
                          "services.%s.develop.watch: target is required for non-rebuild "
                          "actions" INVALID,
                          name);
  }
  return 0;
}

/* tmpfs and volume targets may be mounted once. */
static int check_targets(const char *name, const struct mtk_node *svc, struct mtk_err **err)
{
  struct mtk_node *tmpfs = mtk_node_get(svc, "tmpfs");
  struct mtk_node *vols = mtk_node_get(svc, "volumes");
  size_t nt = mtk_node_is_seq(tmpfs) ? tmpfs->len : mtk_node_is_str(tmpfs) ? 1 : 0;
  size_t nv = mtk_node_is_seq(vols) ? vols->len : 0;
  char **paths = mtk_xcalloc(nt + nv + 1, sizeof(char *));
  char **locs = mtk_xcalloc(nt + nv + 1, sizeof(char *));
  int rc = 0;
  for (size_t i = 0; i < nt + nv && rc == 0; i++) {
    const struct mtk_node *it =
        i < nt ? (mtk_node_is_seq(tmpfs) ? tmpfs->items[i] : tmpfs) : vols->items[i - nt];
    const char *t = i < nt ? (mtk_node_is_str(it) ? it->str : "") : str_of(it, "target");
    paths[i] = i < nt ? mtk_xstrndup(t, strcspn(t, ":")) : mtk_xstrdup(t ? t : "");
    locs[i] = mtk_xasprintf("services.%s.%s[%zu]", name, i < nt ? "tmpfs" : "volumes",
                            i < nt ? i : i - nt);
    for (size_t k = 0; k < i; k++)
      if (strcmp(paths[k], paths[i]) == 0) {
        rc = mtk_node_err(it, err, "%s: target %s already mounted as %s", locs[i], paths[i],
                          locs[k]);
        break;
      }
  }
  for (size_t i = 0; i < nt + nv; i++) {
    free(paths[i]);
    free(locs[i]);
  }
  free(paths);
  free(locs);
  return rc;
}

static int check_service(const struct check *c, const char *name, struct mtk_node *svc,
                         struct mtk_err **err)
{
  if (check_build(c, name, svc, err) < 0 || check_networks(c, name, svc, err) < 0 ||
      check_healthcheck(svc, err) < 0 || check_dependencies(c, name, svc, err) < 0 ||
      check_references(c, name, svc, err) < 0 || check_scale(name, svc, err) < 0 ||
      mtk_norm_check_limits(name, svc, err) < 0 || check_watch(name, svc, err) < 0 ||
      check_targets(name, svc, err) < 0)
    return -1;
  return 0;
}

/* graph.CheckCycle over the enabled services (a missing optional dependency is ignored). */
static int check_cycles(const struct check *c, struct mtk_err **err)
{
  mtk_autoptr(mtk_graph) g = mtk_graph_new();
  for (size_t i = 0; c->services && i < c->services->len; i++)
    mtk_graph_add_node(g, c->services->pairs[i].key);
  for (size_t i = 0; c->services && i < c->services->len; i++) {
    struct mtk_node *deps = mtk_node_get(c->services->pairs[i].val, "depends_on");
    for (size_t k = 0; mtk_node_is_map(deps) && k < deps->len; k++)
      if (has_key(c->services, deps->pairs[k].key))
        mtk_graph_add_edge(g, c->services->pairs[i].key, deps->pairs[k].key);
  }
  return mtk_graph_sort(g, err) < 0 ? -1 : 0;
}

/* docker compose config: no two services may declare the same container_name. */
static int check_container_names(const struct check *c, struct mtk_err **err)
{
  for (size_t i = 0; c->services && i < c->services->len; i++) {
    const char *cn = str_of(c->services->pairs[i].val, "container_name");
    if (!nonempty(cn))
      continue;
    for (size_t k = 0; k < i; k++) {
      const char *other = str_of(c->services->pairs[k].val, "container_name");
      if (other && strcmp(other, cn) == 0)
        return mtk_node_err(mtk_node_get(c->services->pairs[i].val, "container_name"), err,
                            "services.%s: container name \"%s\" is already in use by service %s\"",
                            c->services->pairs[i].key, cn, c->services->pairs[k].key);
    }
  }
  return 0;
}

int mtk_norm_check_consistency(struct mtk_node *model, const struct mtk_node *disabled,
                               struct mtk_err **err)
{
  struct mtk_node *services = mtk_node_get(model, "services");
  struct check c = {model, mtk_node_is_map(services) ? services : NULL, disabled};
  for (size_t i = 0; c.services && i < services->len; i++)
    if (mtk_node_is_map(services->pairs[i].val) &&
        check_service(&c, services->pairs[i].key, services->pairs[i].val, err) < 0)
      return -1;
  struct mtk_node *secrets = mtk_node_get(model, "secrets");
  for (size_t i = 0; mtk_node_is_map(secrets) && i < secrets->len; i++) {
    struct mtk_node *s = secrets->pairs[i].val;
    if (mtk_node_is_true(mtk_node_get(s, "external")))
      continue;
    if (!nonempty(str_of(s, "file")) && !nonempty(str_of(s, "environment")))
      return mtk_node_err(s, err,
                          "secret \"%s\" must declare either `file` or `environment`" INVALID,
                          secrets->pairs[i].key);
  }
  if (check_cycles(&c, err) < 0)
    return -1;
  return check_container_names(&c, err);
}

/* ---- WithoutUnnecessaryResources ---- */

static void require(struct mtk_node *set, const char *name)
{
  if (name && !has_key(set, name))
    mtk_node_set(set, name, mtk_node_new_null(NULL));
}

static void require_sources(struct mtk_node *set, const struct mtk_node *list)
{
  for (size_t i = 0; mtk_node_is_seq(list) && i < list->len; i++)
    require(set, mount_source(list->items[i]));
}

static void keep_only(struct mtk_node *model, const char *kind, const struct mtk_node *used)
{
  struct mtk_node *top = mtk_node_get(model, kind);
  if (!mtk_node_is_map(top))
    return;
  size_t i = 0;
  while (i < top->len) {
    if (has_key(used, top->pairs[i].key)) {
      i++;
      continue;
    }
    mtk_autofree char *key = mtk_xstrdup(top->pairs[i].key);
    mtk_node_del(top, key);
  }
}

void mtk_norm_prune(struct mtk_node *model)
{
  static const char *const kinds[] = {"networks", "volumes", "secrets", "configs", "models"};
  struct mtk_node *used[5];
  for (size_t k = 0; k < 5; k++)
    used[k] = mtk_node_new_map(NULL);
  struct mtk_node *services = mtk_node_get(model, "services");
  for (size_t i = 0; mtk_node_is_map(services) && i < services->len; i++) {
    const struct mtk_node *s = services->pairs[i].val;
    struct mtk_node *nets = mtk_node_get(s, "networks");
    for (size_t k = 0; mtk_node_is_map(nets) && k < nets->len; k++)
      require(used[0], nets->pairs[k].key);
    for (size_t k = 0; mtk_node_is_seq(nets) && k < nets->len; k++)
      require(used[0], mount_source(nets->items[k]));
    struct mtk_node *vols = mtk_node_get(s, "volumes");
    for (size_t k = 0; mtk_node_is_seq(vols) && k < vols->len; k++) {
      const char *type = str_of(vols->items[k], "type");
      const char *src = str_of(vols->items[k], "source");
      if (type && strcmp(type, "volume") == 0 && nonempty(src))
        require(used[1], src);
    }
    require_sources(used[2], mtk_node_get(s, "secrets"));
    struct mtk_node *build = mtk_node_get(s, "build");
    if (mtk_node_is_map(build))
      require_sources(used[2], mtk_node_get(build, "secrets"));
    require_sources(used[3], mtk_node_get(s, "configs"));
    struct mtk_node *models = mtk_node_get(s, "models");
    for (size_t k = 0; mtk_node_is_map(models) && k < models->len; k++)
      require(used[4], models->pairs[k].key);
  }
  for (size_t k = 0; k < 5; k++) {
    keep_only(model, kinds[k], used[k]);
    mtk_node_free(used[k]);
  }
}
