/* What `mtk config` does to a loaded model before printing it: `$`
 * re-escaping, dependency order of the services, selection of services
 * (`mtk config web` keeps web and what it depends on, then drops the
 * resources nothing uses, as compose-go's WithSelectedServices and
 * WithoutUnnecessaryResources) and the service configuration hash.
 *
 * The hash (`mtk config --hash`) follows docker compose's ServiceHash: the
 * service as it appears in the JSON model, minus the attributes that do not
 * require recreating a container (build, pull_policy, scale,
 * deploy.replicas, depends_on, profiles), printed as compact JSON with keys
 * sorted (jansson JSON_COMPACT | JSON_SORT_KEYS, `$` not escaped), and hashed
 * with SHA-256.  The bytes differ from Go's struct order, so the values
 * differ from docker compose's; they are stable across mtk runs. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "orch/orch.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

static json_t *escaped_string(json_t *s)
{
  const char *v = json_string_value(s);
  size_t len = json_string_length(s);
  if (memchr(v, '$', len) == NULL)
    return NULL;
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (size_t i = 0; i < len; i++) {
    if (v[i] == '$')
      mtk_strbuf_addc(&sb, '$');
    mtk_strbuf_addc(&sb, v[i]);
  }
  return json_stringn(sb.buf, sb.len);
}

void mtk_cli_model_escape_dollars(json_t *v)
{
  const char *key;
  json_t *val, *esc;
  size_t i;
  if (json_is_object(v)) {
    json_object_foreach(v, key, val)
    {
      if (json_is_string(val) && (esc = escaped_string(val)))
        json_object_set_new(v, key, esc); /* replaces the value of an existing key */
      else
        mtk_cli_model_escape_dollars(val);
    }
  } else if (json_is_array(v)) {
    json_array_foreach(v, i, val)
    {
      if (json_is_string(val) && (esc = escaped_string(val)))
        json_array_set_new(v, i, esc);
      else
        mtk_cli_model_escape_dollars(val);
    }
  }
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The keys of an object, sorted; NULL-terminated; caller frees the array. */
static const char **sorted_keys(json_t *obj)
{
  size_t n = json_object_size(obj), i = 0;
  const char **keys = mtk_xcalloc(n + 1, sizeof(*keys));
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) keys[i++] = key;
  qsort(keys, n, sizeof(*keys), cmp_str);
  return keys;
}

struct order {
  json_t *services; /* borrowed: model.services */
  json_t *seen;     /* owned: names visited */
  const char **out; /* owned: result */
  size_t n;         /* names in out */
};

static void visit(struct order *o, const char *name)
{
  json_t *svc = json_object_get(o->services, name);
  if (svc == NULL || json_object_get(o->seen, name))
    return;
  json_object_set_new(o->seen, name, json_true());
  /* The loader rejected cycles; seen also guards against them here. */
  mtk_autofree const char **deps = sorted_keys(json_object_get(svc, "depends_on"));
  for (size_t i = 0; deps[i]; i++)
    visit(o, deps[i]);
  /* The model's own key: name may belong to a depends_on object. */
  o->out[o->n++] = json_object_iter_key(json_object_iter_at(o->services, name));
}

const char **mtk_cli_model_service_order(json_t *model)
{
  json_t *services = json_object_get(model, "services");
  struct order o = {services, json_object(), NULL, 0};
  o.out = mtk_xcalloc(json_object_size(services) + 1, sizeof(*o.out));
  mtk_autofree const char **names = sorted_keys(services);
  for (size_t i = 0; names[i]; i++)
    visit(&o, names[i]);
  json_decref(o.seen);
  return o.out;
}

/* Adds name and, recursively, its dependencies to keep.  A dependency that
 * is missing is an error only when it is required (as compose-go). */
static int keep_service(json_t *services, json_t *keep, const char *name, bool required,
                        struct mtk_err **err)
{
  json_t *svc = json_object_get(services, name);
  if (svc == NULL)
    return required ? mtk_err_set(err, MTK_E_GENERIC, "no such service: %s", name) : 0;
  if (json_object_get(keep, name))
    return 0;
  json_object_set_new(keep, name, json_true());
  const char *dep;
  json_t *spec;
  json_object_foreach(json_object_get(svc, "depends_on"), dep, spec)
  {
    json_t *req = json_object_get(spec, "required");
    if (keep_service(services, keep, dep, !json_is_false(req), err) < 0)
      return -1;
  }
  return 0;
}

static void add_sources(json_t *used, json_t *list, const char *only_type)
{
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item)
  {
    const char *type = json_string_value(json_object_get(item, "type"));
    const char *source = json_string_value(json_object_get(item, "source"));
    if (source == NULL || *source == '\0')
      continue;
    if (only_type && (type == NULL || strcmp(type, only_type) != 0))
      continue;
    json_object_set_new(used, source, json_true());
  }
}

/* Drops the entries of top-level section that are not keys of used. */
static void prune_section(json_t *model, const char *section, json_t *used)
{
  json_t *obj = json_object_get(model, section);
  const char *key;
  json_t *val;
  void *tmp;
  json_object_foreach_safe(obj, tmp, key, val) if (json_object_get(used, key) == NULL)
      json_object_del(obj, key);
  if (obj && json_object_size(obj) == 0)
    json_object_del(model, section);
}

static void prune_unused(json_t *model)
{
  json_t *nets = json_object(), *vols = json_object(), *secrets = json_object(),
         *configs = json_object();
  const char *name, *net;
  json_t *svc, *val;
  json_object_foreach(json_object_get(model, "services"), name, svc)
  {
    json_object_foreach(json_object_get(svc, "networks"), net, val)
        json_object_set_new(nets, net, json_true());
    add_sources(vols, json_object_get(svc, "volumes"), "volume");
    add_sources(secrets, json_object_get(svc, "secrets"), NULL);
    add_sources(secrets, json_object_get(json_object_get(svc, "build"), "secrets"), NULL);
    add_sources(configs, json_object_get(svc, "configs"), NULL);
  }
  prune_section(model, "networks", nets);
  prune_section(model, "volumes", vols);
  prune_section(model, "secrets", secrets);
  prune_section(model, "configs", configs);
  json_decref(nets);
  json_decref(vols);
  json_decref(secrets);
  json_decref(configs);
}

int mtk_cli_model_select(json_t *model, const char *const *names, size_t n, bool prune,
                         struct mtk_err **err)
{
  if (n == 0)
    return 0;
  json_t *services = json_object_get(model, "services");
  json_t *keep = json_object();
  for (size_t i = 0; i < n; i++) {
    if (keep_service(services, keep, names[i], true, err) < 0) {
      json_decref(keep);
      return -1;
    }
  }
  const char *name;
  json_t *svc;
  void *tmp;
  json_object_foreach_safe(services, tmp, name, svc) if (json_object_get(keep, name) == NULL)
      json_object_del(services, name);
  json_decref(keep);
  if (prune)
    prune_unused(model);
  return 0;
}

int mtk_cli_model_service_hash(json_t *service, char hex[65], struct mtk_err **err)
{
  return mtk_orch_service_hash(service, hex, err);
}
