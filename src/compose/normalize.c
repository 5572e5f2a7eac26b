/* compose-go's loader.Normalize and loader.ResolveEnvironment on the node tree, and the
 * pipeline of mtk_compose_project_json (what ModelToProject and docker compose's project
 * options do after loading): normalise, profiles, consistency, pruning, env_file folding,
 * typed rendering. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "compose/normalize.h"
#include "util/cleanup.h"
#include "util/path.h"

static struct mtk_node *services_of(const struct mtk_node *model)
{
  struct mtk_node *s = mtk_node_get(model, "services");
  return mtk_node_is_map(s) ? s : NULL;
}

static bool has_key(const struct mtk_node *map, const char *key)
{
  return mtk_node_is_map(map) && mtk_node_get_pair(map, key) != NULL;
}

static bool str_has_prefix(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* loader.ResolveEnvironment: a list entry "KEY" takes KEY's value from the environment. */
void mtk_norm_resolve_environment(struct mtk_node *model, const struct mtk_norm_ctx *ctx)
{
  struct mtk_node *services = services_of(model);
  for (size_t i = 0; services && i < services->len; i++) {
    struct mtk_node *svc = services->pairs[i].val;
    struct mtk_node *env = mtk_node_is_map(svc) ? mtk_node_get(svc, "environment") : NULL;
    if (!mtk_node_is_seq(env))
      continue;
    struct mtk_node *out = mtk_node_new_seq(env);
    for (size_t k = 0; k < env->len; k++) {
      struct mtk_node *it = env->items[k];
      if (!mtk_node_is_str(it))
        continue; /* compose-go drops what is not a string */
      const char *v = mtk_norm_env_lookup(it->str, (void *) ctx);
      if (v) {
        mtk_autofree char *kv = mtk_xasprintf("%s=%s", it->str, v);
        mtk_node_push(out, mtk_node_new_str(kv, it));
      } else {
        mtk_node_push(out, mtk_node_copy(it));
      }
    }
    mtk_node_set(svc, "environment", out);
  }
}

/* Normalize's resolve(): "KEY" list entries and null map values take their value from
 * the environment; unresolved ones are kept (keep_empty) or dropped. */
static struct mtk_node *resolve_mapping(const struct mtk_node *m, const struct mtk_norm_ctx *ctx,
                                        bool keep_empty)
{
  if (mtk_node_is_seq(m)) {
    struct mtk_node *out = mtk_node_new_seq(m);
    for (size_t i = 0; i < m->len; i++) {
      struct mtk_node *it = m->items[i];
      if (!mtk_node_is_str(it))
        continue;
      const char *v = strchr(it->str, '=') ? NULL : mtk_norm_env_lookup(it->str, (void *) ctx);
      if (v) {
        mtk_autofree char *kv = mtk_xasprintf("%s=%s", it->str, v);
        mtk_node_push(out, mtk_node_new_str(kv, it));
      } else if (strchr(it->str, '=') || keep_empty) {
        mtk_node_push(out, mtk_node_copy(it));
      }
    }
    return out;
  }
  if (!mtk_node_is_map(m))
    return mtk_node_copy(m);
  struct mtk_node *out = mtk_node_new_map(m);
  for (size_t i = 0; i < m->len; i++) {
    struct mtk_node *v = m->pairs[i].val;
    const char *found =
        mtk_node_is_null(v) ? mtk_norm_env_lookup(m->pairs[i].key, (void *) ctx) : NULL;
    if (!mtk_node_is_null(v))
      mtk_node_set(out, m->pairs[i].key, mtk_node_copy(v));
    else if (found)
      mtk_node_set(out, m->pairs[i].key, mtk_node_new_str(found, v));
    else if (keep_empty)
      mtk_node_set(out, m->pairs[i].key, mtk_node_new_null(v));
  }
  return out;
}

/* normalizeNetworks: a service without networks (and without network_mode/provider) joins
 * "default"; the implicit "default" network exists only when some service uses it. */
static void normalize_networks(struct mtk_node *model)
{
  bool uses_default = false;
  struct mtk_node *services = services_of(model);
  for (size_t i = 0; services && i < services->len; i++) {
    struct mtk_node *svc = services->pairs[i].val;
    if (!mtk_node_is_map(svc) || has_key(svc, "provider") || has_key(svc, "network_mode"))
      continue;
    struct mtk_node *nets = mtk_node_get(svc, "networks");
    if (mtk_node_is_null(nets) || (mtk_node_is_map(nets) && nets->len == 0) ||
        (mtk_node_is_seq(nets) && nets->len == 0)) {
      struct mtk_node *m = mtk_node_new_map(nets ? nets : svc);
      mtk_node_set(m, "default", mtk_node_new_null(NULL));
      mtk_node_set(svc, "networks", m);
      uses_default = true;
    } else if (has_key(nets, "default")) {
      uses_default = true;
    } else if (mtk_node_is_seq(nets)) {
      for (size_t k = 0; k < nets->len; k++)
        if (mtk_node_is_str(nets->items[k]) && strcmp(nets->items[k]->str, "default") == 0)
          uses_default = true;
    }
  }
  struct mtk_node *networks = mtk_node_get(model, "networks");
  if (!uses_default || has_key(networks, "default"))
    return;
  if (!mtk_node_is_map(networks)) {
    networks = mtk_node_new_map(NULL);
    mtk_node_set(model, "networks", networks);
  }
  mtk_node_set(networks, "default", mtk_node_new_null(NULL));
}

static void normalize_build(struct mtk_node *svc, const struct mtk_norm_ctx *ctx)
{
  struct mtk_node *build = mtk_node_get(svc, "build");
  if (mtk_node_is_str(build)) {
    struct mtk_node *m = mtk_node_new_map(build);
    mtk_node_set(m, "context", mtk_node_copy(build));
    mtk_node_set(svc, "build", m);
    build = m;
  }
  if (!mtk_node_is_map(build))
    return;
  if (mtk_node_is_null(mtk_node_get(build, "context")))
    mtk_node_set(build, "context", mtk_node_new_str(".", build));
  if (mtk_node_is_null(mtk_node_get(build, "dockerfile")) &&
      mtk_node_is_null(mtk_node_get(build, "dockerfile_inline")))
    mtk_node_set(build, "dockerfile", mtk_node_new_str("Dockerfile", build));
  struct mtk_node *args = mtk_node_get(build, "args");
  if (args)
    mtk_node_set(build, "args", resolve_mapping(args, ctx, false));
}

/* A depends_on entry for an implicit dependency (links, service: namespaces, volumes_from). */
static void add_dependency(struct mtk_node *deps, const char *name, bool restart,
                           const struct mtk_node *at)
{
  if (has_key(deps, name))
    return;
  struct mtk_node *d = mtk_node_new_map(at);
  mtk_node_set(d, "condition", mtk_node_new_str("service_started", at));
  mtk_node_set(d, "restart", mtk_node_new_bool(restart, at));
  mtk_node_set(d, "required", mtk_node_new_bool(true, at));
  mtk_node_set(deps, name, d);
}

/* depends_on as a mapping (the short list form, if it is still there, with defaults). */
static struct mtk_node *depends_on_map(struct mtk_node *svc)
{
  struct mtk_node *deps = mtk_node_get(svc, "depends_on");
  if (mtk_node_is_map(deps))
    return deps;
  struct mtk_node *m = mtk_node_new_map(deps ? deps : svc);
  for (size_t i = 0; mtk_node_is_seq(deps) && i < deps->len; i++) {
    struct mtk_node *it = deps->items[i];
    if (!mtk_node_is_str(it))
      continue;
    struct mtk_node *d = mtk_node_new_map(it);
    mtk_node_set(d, "condition", mtk_node_new_str("service_started", it));
    mtk_node_set(d, "required", mtk_node_new_bool(true, it));
    mtk_node_set(m, it->str, d);
  }
  if (deps)
    mtk_node_set(svc, "depends_on", m);
  return m;
}

static void implicit_dependencies(struct mtk_node *svc)
{
  struct mtk_node *deps = depends_on_map(svc);
  bool attached = has_key(svc, "depends_on");
  struct mtk_node *links = mtk_node_get(svc, "links");
  for (size_t i = 0; mtk_node_is_seq(links) && i < links->len; i++) {
    struct mtk_node *l = links->items[i];
    if (!mtk_node_is_str(l))
      continue;
    /* "service:alias" names the service; any other number of ':' keeps the whole text */
    const char *c = strchr(l->str, ':');
    mtk_autofree char *name =
        c && !strchr(c + 1, ':') ? mtk_xstrndup(l->str, c - l->str) : mtk_xstrdup(l->str);
    add_dependency(deps, name, true, l);
  }
  static const char *const ns[] = {"network_mode", "ipc", "pid", "uts", "cgroup"};
  for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
    struct mtk_node *n = mtk_node_get(svc, ns[i]);
    if (mtk_node_is_str(n) && str_has_prefix(n->str, "service:"))
      add_dependency(deps, n->str + strlen("service:"), true, n);
  }
  struct mtk_node *vf = mtk_node_get(svc, "volumes_from");
  for (size_t i = 0; mtk_node_is_seq(vf) && i < vf->len; i++) {
    struct mtk_node *v = vf->items[i];
    if (!mtk_node_is_str(v) || str_has_prefix(v->str, "container:"))
      continue;
    mtk_autofree char *name = mtk_xstrndup(v->str, strcspn(v->str, ":"));
    add_dependency(deps, name, false, v);
  }
  if (!attached && deps->len > 0)
    mtk_node_set(svc, "depends_on", deps);
  else if (!attached)
    mtk_node_free(deps);
}

static void clean_volume_targets(struct mtk_node *svc)
{
  struct mtk_node *vols = mtk_node_get(svc, "volumes");
  for (size_t i = 0; mtk_node_is_seq(vols) && i < vols->len; i++) {
    struct mtk_node *v = vols->items[i];
    struct mtk_node *t = mtk_node_is_map(v) ? mtk_node_get(v, "target") : NULL;
    if (!mtk_node_is_str(t))
      continue;
    char *c = mtk_path_clean(t->str);
    free(t->str);
    t->str = c;
  }
}

/* inheritPreStartImage: pre_start hooks without an image run the service's image. */
static void inherit_pre_start_image(struct mtk_node *svc)
{
  struct mtk_node *hooks = mtk_node_get(svc, "pre_start");
  struct mtk_node *image = mtk_node_get(svc, "image");
  if (!mtk_node_is_seq(hooks) || !mtk_node_is_str(image) || image->str[0] == '\0')
    return;
  for (size_t i = 0; i < hooks->len; i++)
    if (mtk_node_is_map(hooks->items[i]) && !has_key(hooks->items[i], "image"))
      mtk_node_set(hooks->items[i], "image", mtk_node_copy(image));
}

/* setNameFromKey: <project>_<key>, or the key itself for an external resource. */
static void set_names(struct mtk_node *model, const char *project)
{
  static const char *const kinds[] = {"networks", "volumes", "configs", "secrets"};
  for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
    struct mtk_node *top = mtk_node_get(model, kinds[k]);
    for (size_t i = 0; mtk_node_is_map(top) && i < top->len; i++) {
      struct mtk_node_pair *p = &top->pairs[i];
      if (!mtk_node_is_map(p->val)) {
        struct mtk_node *m = mtk_node_new_map(p->val);
        mtk_node_free(p->val);
        p->val = m;
      }
      if (!mtk_node_is_null(mtk_node_get(p->val, "name")))
        continue;
      char *name = mtk_node_is_true(mtk_node_get(p->val, "external"))
                       ? mtk_xstrdup(p->key)
                       : mtk_xasprintf("%s_%s", project, p->key);
      mtk_node_set(p->val, "name", mtk_node_new_str(name, p->val));
      free(name);
    }
  }
}

int mtk_norm_normalize(struct mtk_node *model, const struct mtk_norm_ctx *ctx, struct mtk_err **err)
{
  normalize_networks(model);
  struct mtk_node *services = services_of(model);
  for (size_t i = 0; services && i < services->len; i++) {
    struct mtk_node *svc = services->pairs[i].val;
    if (!mtk_node_is_map(svc))
      continue;
    const char *pp = mtk_node_get_str(svc, "pull_policy");
    if (pp && strcmp(pp, "if_not_present") == 0)
      mtk_node_set(svc, "pull_policy",
                   mtk_node_new_str("missing", mtk_node_get(svc, "pull_policy")));
    normalize_build(svc, ctx);
    struct mtk_node *env = mtk_node_get(svc, "environment");
    if (env)
      mtk_node_set(svc, "environment", resolve_mapping(env, ctx, true));
    implicit_dependencies(svc);
    clean_volume_targets(svc);
    inherit_pre_start_image(svc);
  }
  set_names(model, ctx->project_name ? ctx->project_name : "");
  return 0;
}

json_t *mtk_compose_project_json(struct mtk_node *model, const struct mtk_norm_ctx *ctx,
                                 struct mtk_err **err)
{
  if (!mtk_node_is_map(model)) {
    mtk_node_err(model, err, "top-level object must be a mapping");
    return NULL;
  }
  mtk_norm_resolve_environment(model, ctx);
  if (!ctx->no_normalize && mtk_norm_normalize(model, ctx, err) < 0)
    return NULL;
  /* compose-go decodes the whole model into its types (modelToProject) before profiles,
   * consistency checks and pruning: a value its types reject is an error even in a disabled
   * service or an unused resource, and it is reported before any consistency error. */
  json_t *decoded = mtk_norm_render(model, ctx, err);
  if (decoded == NULL)
    return NULL;
  json_decref(decoded);
  mtk_autoptr(mtk_node) disabled = NULL;
  mtk_norm_apply_profiles(model, ctx, &disabled);
  if (!ctx->no_consistency && mtk_norm_check_consistency(model, disabled, err) < 0)
    return NULL;
  if (!ctx->all_resources)
    mtk_norm_prune(model);
  if (mtk_norm_resolve_service_env(model, ctx, err) < 0)
    return NULL;
  return mtk_norm_render(model, ctx, err);
}
