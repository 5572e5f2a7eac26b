/* The environment and labels of each enabled service as compose-go resolves them after
 * loading (Project.WithServicesEnvironmentResolved / WithServicesLabelsResolved):
 * `environment` as a mapping whose unset values take the project environment, env_file
 * contents folded underneath it (later files win, `environment` wins over all), label_file
 * contents folded under `labels`; env_file and label_file then dropped unless kept. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "compose/dotenv.h"
#include "compose/canonical.h"
#include "compose/normalize.h"
#include "util/cleanup.h"
#include "util/path.h"
#include "util/strmap.h"

struct env_lookup {
  const struct mtk_norm_ctx *ctx; /* borrowed */
  const struct mtk_node *env;     /* borrowed: the service environment (MAP) or NULL */
};

/* env_file interpolation: the project environment first, then the service environment. */
static const char *service_env_lookup(const char *name, void *ud)
{
  const struct env_lookup *l = ud;
  const char *v = mtk_norm_env_lookup(name, (void *) l->ctx);
  if (v)
    return v;
  struct mtk_node *n = mtk_node_is_map(l->env) ? mtk_node_get(l->env, name) : NULL;
  return mtk_node_is_str(n) ? n->str : NULL;
}

/* label_file interpolation: only the labels of the label files read before. */
static const char *labels_lookup(const char *name, void *ud)
{
  return mtk_strmap_get(ud, name, NULL);
}

/* A path as written (absolute once paths are resolved), opened relative to the project
 * directory when path resolution was skipped. */
static char *file_path(const struct mtk_norm_ctx *ctx, const char *p)
{
  if (p[0] == '/' || ctx->workdir == NULL)
    return mtk_xstrdup(p);
  return mtk_path_join(ctx->workdir, p);
}

static int read_env_file(const struct mtk_node *entry, const struct mtk_norm_ctx *ctx,
                         struct env_lookup *lookup, struct mtk_strmap *acc, struct mtk_err **err)
{
  const struct mtk_node *pn = mtk_node_is_map(entry) ? mtk_node_get(entry, "path") : entry;
  if (!mtk_node_is_str(pn))
    return 0;
  struct mtk_node *req = mtk_node_is_map(entry) ? mtk_node_get(entry, "required") : NULL;
  bool required = req == NULL || mtk_node_is_null(req) || mtk_node_is_true(req);
  const char *format = mtk_node_is_map(entry) ? mtk_node_get_str(entry, "format") : NULL;
  if (format && *format && strcmp(format, ".env") != 0)
    return mtk_node_err(entry, err, "unsupported env_file format \"%s\"", format);
  mtk_autofree char *path = file_path(ctx, pn->str);
  struct stat st;
  if (stat(path, &st) < 0 && errno == ENOENT) {
    if (!required)
      return 0;
    return mtk_node_err(pn, err, "env file %s not found: stat %s: no such file or directory",
                        pn->str, pn->str);
  }
  return mtk_dotenv_read_file(path, service_env_lookup, lookup, acc, err) < 0 ? -1 : 0;
}

/* environment := env_file contents overridden by the service's own environment (a key
 * declared without a value there wins too, as compose-go's OverrideBy does). */
static int fold_env_files(struct mtk_node *svc, const struct mtk_norm_ctx *ctx,
                          struct mtk_err **err)
{
  struct mtk_node *files = mtk_node_get(svc, "env_file");
  if (files == NULL)
    return 0;
  struct mtk_node *env = mtk_node_get(svc, "environment");
  mtk_autostrmap acc = MTK_STRMAP_INIT;
  for (size_t i = 0; mtk_node_is_map(env) && i < env->len; i++)
    if (mtk_node_is_str(env->pairs[i].val))
      mtk_strmap_set(&acc, env->pairs[i].key, env->pairs[i].val->str);
  struct env_lookup lookup = {ctx, env};
  if (mtk_node_is_seq(files)) {
    for (size_t i = 0; i < files->len; i++)
      if (read_env_file(files->items[i], ctx, &lookup, &acc, err) < 0)
        return -1;
  } else if (read_env_file(files, ctx, &lookup, &acc, err) < 0) {
    return -1;
  }
  struct mtk_node *out = mtk_node_new_map(env ? env : files);
  for (size_t i = 0; i < acc.len; i++)
    mtk_node_set(out, acc.keys[i], mtk_node_new_str(acc.vals[i] ? acc.vals[i] : "", files));
  for (size_t i = 0; mtk_node_is_map(env) && i < env->len; i++)
    mtk_node_set(out, env->pairs[i].key, mtk_node_copy(env->pairs[i].val));
  mtk_node_set(svc, "environment", out);
  return 0;
}

static int read_label_file(const struct mtk_node *pn, const struct mtk_norm_ctx *ctx,
                           struct mtk_strmap *labels, struct mtk_err **err)
{
  if (!mtk_node_is_str(pn))
    return 0;
  mtk_autofree char *path = file_path(ctx, pn->str);
  struct stat st;
  if (stat(path, &st) < 0 && errno == ENOENT)
    return mtk_node_err(pn, err, "label file %s not found: stat %s: no such file or directory",
                        pn->str, pn->str);
  mtk_autostrmap vars = MTK_STRMAP_INIT;
  if (mtk_dotenv_read_file(path, labels_lookup, labels, &vars, err) < 0)
    return -1;
  mtk_strmap_merge(labels, &vars);
  return 0;
}

/* labels := label_file contents overridden by the service's own labels. */
static int fold_label_files(struct mtk_node *svc, const struct mtk_norm_ctx *ctx,
                            struct mtk_err **err)
{
  struct mtk_node *files = mtk_node_get(svc, "label_file");
  if (files == NULL)
    return 0;
  mtk_autostrmap labels = MTK_STRMAP_INIT;
  if (mtk_node_is_seq(files)) {
    for (size_t i = 0; i < files->len; i++)
      if (read_label_file(files->items[i], ctx, &labels, err) < 0)
        return -1;
  } else if (read_label_file(files, ctx, &labels, err) < 0) {
    return -1;
  }
  struct mtk_node *own = mtk_node_get(svc, "labels");
  for (size_t i = 0; mtk_node_is_map(own) && i < own->len; i++) {
    mtk_autofree char *v = mtk_node_scalar_text(own->pairs[i].val, "");
    mtk_strmap_set(&labels, own->pairs[i].key, v);
  }
  for (size_t i = 0; mtk_node_is_seq(own) && i < own->len; i++) {
    mtk_autofree char *kv = mtk_node_scalar_text(own->items[i], "");
    char *eq = strchr(kv, '=');
    if (eq)
      *eq = '\0';
    mtk_strmap_set(&labels, kv, eq ? eq + 1 : "");
  }
  if (labels.len == 0)
    return 0;
  struct mtk_node *out = mtk_node_new_map(own ? own : files);
  for (size_t i = 0; i < labels.len; i++)
    mtk_node_set(out, labels.keys[i], mtk_node_new_str(labels.vals[i] ? labels.vals[i] : "", out));
  mtk_node_set(svc, "labels", out);
  return 0;
}

static int resolve_one(const char *name, struct mtk_node *svc, const struct mtk_norm_ctx *ctx,
                       struct mtk_err **err)
{
  struct mtk_node *env = mtk_node_get(svc, "environment");
  if (env && mtk_node_is_null(env)) {
    mtk_node_del(svc, "environment");
  } else {
    mtk_autofree char *path = mtk_xasprintf("services.%s", name);
    if (mtk_compose_key_values(svc, "environment", true, path, err) < 0)
      return -1;
  }
  env = mtk_node_get(svc, "environment");
  for (size_t i = 0; mtk_node_is_map(env) && i < env->len; i++) {
    if (!mtk_node_is_null(env->pairs[i].val))
      continue;
    const char *v = mtk_norm_env_lookup(env->pairs[i].key, (void *) ctx);
    if (v)
      mtk_node_set(env, env->pairs[i].key, mtk_node_new_str(v, env->pairs[i].val));
  }
  if (fold_env_files(svc, ctx, err) < 0 || fold_label_files(svc, ctx, err) < 0)
    return -1;
  if (!ctx->keep_env_files) {
    mtk_node_del(svc, "env_file");
    mtk_node_del(svc, "label_file");
  }
  return 0;
}

int mtk_norm_resolve_service_env(struct mtk_node *model, const struct mtk_norm_ctx *ctx,
                                 struct mtk_err **err)
{
  struct mtk_node *services = mtk_node_get(model, "services");
  for (size_t i = 0; mtk_node_is_map(services) && i < services->len; i++) {
    struct mtk_node *svc = services->pairs[i].val;
    if (mtk_node_is_map(svc) && resolve_one(services->pairs[i].key, svc, ctx, err) < 0)
      return -1;
  }
  return 0;
}
