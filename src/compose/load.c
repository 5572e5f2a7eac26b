/* The per-file loading pipeline, in compose-go's order (loader.go
 * loadYamlFile / loadYamlModel): for each YAML document of each file:
 * reset tags, interpolation, `include`, resets applied to the model so far,
 * `extends`, merge into the model, unicity, schema validation, canonical
 * form, omit-empty, unicity; then, once all files are in: defaults,
 * validation and relative paths made absolute. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "compose/canonical.h"
#include "compose/dotenv.h"
#include "compose/internal.h"
#include "compose/load.h"
#include "compose/merge.h"
#include "compose/normalize.h"
#include "compose/schema.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/path.h"
#include "util/strbuf.h"
#include "util/strmap.h"

/* A compose file is text a person wrote: 16 MiB is far beyond any real one. */
#define MAX_FILE_SIZE (16u << 20)

/* One link of the `extends` chain being resolved (cycle detection). */
struct tracker {
  const char *file;           /* borrowed */
  const char *service;        /* borrowed */
  const struct tracker *prev; /* borrowed: the link before, NULL at the start */
};

char *mtk_compose_read_file(const char *path, size_t *len, struct mtk_err **err)
{
  struct mtk_err *e = NULL;
  char *text = mtk_file_read(path, MAX_FILE_SIZE, len, &e);
  if (text)
    return text;
  /* The two refusals are about compose files; errno failures keep mtk_file_read's text. */
  if (e->code == EISDIR)
    mtk_err_set(err, EISDIR, "%s is a directory, not a compose file", path);
  else if (e->code == EFBIG)
    mtk_err_set(err, MTK_E_INVALID, "%s is larger than %u MiB", path, MAX_FILE_SIZE >> 20);
  else if (err && !*err)
    *err = mtk_steal_ptr(&e);
  mtk_err_free(&e);
  return NULL;
}

static int load_file(struct mtk_compose_ctx *ctx, const char *path, struct mtk_node *model,
                     struct mtk_err **err);

/* Keeps a loaded tree alive as long as the context (extends bases). */
static struct mtk_node *keep(struct mtk_compose_ctx *ctx, struct mtk_node *n)
{
  if (ctx->kept == NULL)
    ctx->kept = mtk_node_new_seq(NULL);
  mtk_node_push(ctx->kept, n);
  return n;
}

static bool is_dir(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* Loads the base file of an `extends: {file: ...}` for its services, with
 * what compose-go skips for it (include, extends, validation, defaults) and
 * its relative paths resolved against its own directory. */
static struct mtk_node *extends_base_file(struct mtk_compose_ctx *ctx, const char *name,
                                          const char *ref, const char *from, const char *file,
                                          const struct mtk_node *at, struct mtk_err **err)
{
  struct mtk_compose_ctx sub = *ctx;
  mtk_autofree char *local = mtk_path_abs(ctx->workdir, file);
  mtk_autofree char *dir = mtk_path_dir(local);
  sub.workdir = dir;
  sub.skip_include = sub.skip_extends = sub.skip_validation = sub.skip_defaults = true;
  sub.resolve_paths = false;
  sub.kept = NULL;
  struct mtk_node *model = mtk_node_new_map(NULL);
  int r = load_file(&sub, local, model, err);
  if (sub.kept)
    keep(ctx, sub.kept);
  keep(ctx, model);
  if (r < 0)
    return NULL;
  struct mtk_node *services = mtk_node_get(model, "services");
  if (services == NULL) {
    mtk_node_err(at, err, "cannot extend service \"%s\" in %s: no services section", name, local);
    return NULL;
  }
  if (!mtk_node_is_map(services)) {
    mtk_node_err(at, err, "cannot extend service \"%s\" in %s: services must be a mapping", name,
                 local);
    return NULL;
  }
  if (mtk_node_get(services, ref) == NULL) {
    mtk_node_err(at, err, "cannot extend service \"%s\" in %s: service \"%s\" not found in %s",
                 name, from, ref, file);
    return NULL;
  }
  if (!ctx->skip_path_resolution && mtk_compose_resolve_paths(model, dir, ctx->env, err) < 0)
    return NULL;
  return services;
}

static int tracker_check(const struct tracker *t, const struct mtk_node *at, struct mtk_err **err)
{
  for (const struct tracker *i = t->prev; i; i = i->prev) {
    if (strcmp(i->file, t->file) != 0 || strcmp(i->service, t->service) != 0)
      continue;
    /* "Circular reference:\n  a in f\n  extends b in f\n  extends a in f", oldest first. */
    const struct tracker *chain[256];
    size_t n = 0;
    for (const struct tracker *j = t; j && n < 256; j = j->prev)
      chain[n++] = j;
    mtk_autostrbuf sb = MTK_STRBUF_INIT;
    mtk_strbuf_addf(&sb, "Circular reference:\n  %s in %s", chain[n - 1]->service,
                    chain[n - 1]->file);
    for (size_t k = n - 1; k-- > 0;)
      mtk_strbuf_addf(&sb, "\n  extends %s in %s", chain[k]->service, chain[k]->file);
    return mtk_node_err(at, err, "%s", sb.buf);
  }
  return 0;
}

/* Resolves the `extends` of services[name] (recursively) and returns the
 * service as it stands afterwards (borrowed from services), NULL with *err
 * on failure; *out_null tells a null service apart from an error. */
static struct mtk_node *service_extends(struct mtk_compose_ctx *ctx, const char *name,
                                        struct mtk_node *services, const char *file,
                                        const struct tracker *prev,
                                        const struct mtk_compose_resets *resets,
                                        struct mtk_err **err)
{
  struct mtk_node *s = mtk_node_get(services, name);
  if (mtk_node_is_null(s))
    return s;
  if (!mtk_node_is_map(s))
    return mtk_node_err(s, err, "services.%s must be a mapping", name), NULL;
  struct mtk_node *ext = mtk_node_get(s, "extends");
  if (ext == NULL)
    return s;
  const char *ref = NULL, *ref_file = NULL;
  if (mtk_node_is_map(ext)) {
    ref = mtk_node_get_str(ext, "service");
    ref_file = mtk_node_get_str(ext, "file");
    if (ref == NULL)
      return mtk_node_err(ext, err, "extends.%s.service is required", name), NULL;
  } else if (mtk_node_is_str(ext)) {
    ref = ext->str;
  } else {
    return mtk_node_err(ext, err, "services.%s.extends must be a string or a mapping", name), NULL;
  }
  struct mtk_node *base_services = services;
  mtk_autofree char *base_file = mtk_xstrdup(file);
  if (ref_file) {
    base_services = extends_base_file(ctx, name, ref, file, ref_file, ext, err);
    if (base_services == NULL)
      return NULL;
    free(base_file);
    base_file = mtk_path_abs(ctx->workdir, ref_file);
  } else if (mtk_node_get_pair(services, ref) == NULL) {
    return mtk_node_err(ext, err, "cannot extend service \"%s\" in %s: service \"%s\" not found",
                        name, file, ref),
           NULL;
  }
  struct tracker t = {mtk_node_intern(base_file), name, prev};
  if (tracker_check(&t, ext, err) < 0)
    return NULL;
  struct mtk_node *base = service_extends(ctx, ref, base_services, base_file, &t, resets, err);
  if (base == NULL && err && *err)
    return NULL;
  if (mtk_node_is_null(base))
    return s;
  struct mtk_node *merged = mtk_compose_extend_service(base, s, name, resets, err);
  if (merged == NULL)
    return NULL;
  mtk_node_set(services, name, merged);
  return merged;
}

static int apply_extends(struct mtk_compose_ctx *ctx, const char *file, struct mtk_node *doc,
                         const struct mtk_compose_resets *resets, struct mtk_err **err)
{
  struct mtk_node *services = mtk_node_get(doc, "services");
  if (services == NULL)
    return 0;
  if (!mtk_node_is_map(services))
    return mtk_node_err(services, err, "services must be a mapping");
  for (size_t i = 0; i < services->len; i++) {
    mtk_autofree char *name = mtk_xstrdup(services->pairs[i].key);
    if (service_extends(ctx, name, services, file, NULL, resets, err) == NULL && err && *err)
      return -1;
  }
  return 0;
}

/* Loads the env files of an include into env (existing keys win). */
static int include_env(struct mtk_compose_ctx *ctx, const struct mtk_node *entry,
                       const char *project_dir, struct mtk_strmap *env, struct mtk_err **err)
{
  mtk_autostrmap files = MTK_STRMAP_INIT; /* keys: paths in order */
  const struct mtk_node *ef = mtk_node_get(entry, "env_file");
  if (ef == NULL) {
    mtk_autofree char *f = mtk_xasprintf("%s/.env", project_dir);
    if (is_file(f))
      mtk_strmap_set(&files, f, NULL);
  } else {
    for (size_t i = 0; i < (mtk_node_is_seq(ef) ? ef->len : 1); i++) {
      const struct mtk_node *n = mtk_node_is_seq(ef) ? ef->items[i] : ef;
      if (n->kind != MTK_NODE_SCALAR || strcmp(n->str, "/dev/null") == 0)
        continue;
      mtk_autofree char *f = mtk_path_abs(ctx->workdir, n->str);
      if (!is_file(f))
        return mtk_node_err(n, err, "%s: %s", f, is_dir(f) ? "is not a file" : "no such file");
      mtk_strmap_set(&files, f, NULL);
    }
  }
  mtk_autostrmap loaded = MTK_STRMAP_INIT;
  for (size_t i = 0; i < files.len; i++)
    if (mtk_compose_env_file_load(files.keys[i], env, &loaded, err) < 0)
      return -1;
  for (size_t i = 0; i < loaded.len; i++)
    mtk_strmap_set_default(env, loaded.keys[i], loaded.vals[i]);
  return 0;
}

/* Moves the services/volumes/networks/secrets/configs/models of an included
 * model into doc; a name doc defines too is merged, doc's definition on top. */
static int import_resources(struct mtk_node *imported, struct mtk_node *doc,
                            const struct mtk_compose_resets *resets, struct mtk_err **err)
{
  static const char *const keys[] = {"services", "volumes", "networks",
                                     "secrets",  "configs", "models"};
  for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
    struct mtk_node *from = mtk_node_get(imported, keys[k]);
    if (!mtk_node_is_map(from))
      continue;
    struct mtk_node *to = mtk_node_get(doc, keys[k]);
    if (to == NULL) {
      to = mtk_node_new_map(from);
      mtk_node_set(doc, keys[k], to);
    }
    if (!mtk_node_is_map(to))
      return mtk_node_err(to, err, "%s must be a mapping", keys[k]);
    for (size_t i = 0; i < from->len; i++) {
      const char *name = from->pairs[i].key;
      struct mtk_node *conflict = mtk_node_get(to, name);
      struct mtk_node *a = mtk_node_copy(from->pairs[i].val);
      if (conflict == NULL) {
        mtk_node_set(to, name, a);
        continue;
      }
      /* Merge the including file's definition over the imported one. */
      mtk_autoptr(mtk_node) wrap = mtk_node_new_map(NULL);
      mtk_node_set(wrap, keys[k], mtk_node_new_map(NULL));
      mtk_node_set(mtk_node_get(wrap, keys[k]), name, a);
      if (resets)
        mtk_compose_resets_apply(resets, wrap);
      mtk_autoptr(mtk_node) over = mtk_node_new_map(NULL);
      mtk_node_set(over, keys[k], mtk_node_new_map(NULL));
      mtk_node_set(mtk_node_get(over, keys[k]), name, mtk_node_copy(conflict));
      if (mtk_compose_merge(wrap, mtk_steal_ptr(&over), err) < 0)
        return -1;
      mtk_node_set(to, name, mtk_node_take(mtk_node_get(wrap, keys[k]), name));
    }
  }
  return 0;
}

static int apply_include(struct mtk_compose_ctx *ctx, struct mtk_node *doc,
                         const struct mtk_compose_resets *resets, struct mtk_err **err)
{
  struct mtk_node *inc = mtk_node_get(doc, "include");
  if (inc == NULL)
    return 0;
  if (!mtk_node_is_seq(inc))
    return mtk_node_err(inc, err, "`include` must be a list, got %s", mtk_node_kind_name(inc));
  for (size_t i = 0; i < inc->len; i++) {
    struct mtk_node *entry = inc->items[i];
    mtk_autoptr(mtk_node) tmp = NULL;
    if (mtk_node_is_str(entry)) {
      tmp = mtk_node_new_map(entry);
      mtk_node_set(tmp, "path", mtk_node_copy(entry));
      entry = tmp;
    }
    if (!mtk_node_is_map(entry))
      return mtk_node_err(entry, err, "include[%zu] must be a string or a mapping", i);
    struct mtk_node *pathn = mtk_node_get(entry, "path");
    size_t np = mtk_node_is_seq(pathn) ? pathn->len : pathn ? 1 : 0;
    if (np == 0)
      return mtk_node_err(entry, err, "include[%zu]: path is required", i);
    char **paths = mtk_xcalloc(np + 1, sizeof(char *));
    mtk_autofree char *project_dir = NULL, *relwd = NULL;
    int r = 0;
    for (size_t j = 0; j < np && r == 0; j++) {
      struct mtk_node *pn = mtk_node_is_seq(pathn) ? pathn->items[j] : pathn;
      if (pn->kind != MTK_NODE_SCALAR) {
        r = mtk_node_err(pn, err, "include[%zu].path must be a string", i);
        break;
      }
      paths[j] = mtk_path_abs(ctx->workdir, pn->str);
      if (j > 0)
        continue;
      const char *pd = mtk_node_get_str(entry, "project_directory");
      if (pd == NULL) {
        project_dir = mtk_path_dir(paths[0]);
        relwd = mtk_xstrdup(project_dir);
      } else {
        project_dir = mtk_path_abs(ctx->workdir, pd);
        relwd = mtk_xstrdup(project_dir);
      }
      for (const struct mtk_compose_included *c = ctx->included; c; c = c->prev)
        if (strcmp(c->path, paths[0]) == 0) {
          mtk_autostrbuf sb = MTK_STRBUF_INIT;
          const struct mtk_compose_included *first = c;
          while (first->prev)
            first = first->prev;
          mtk_strbuf_addf(&sb, "include cycle detected:\n%s", first->path);
          /* ...then every later link, in order, and the repeated file. */
          const struct mtk_compose_included *stack[256];
          size_t n = 0;
          for (const struct mtk_compose_included *d = ctx->included; d && n < 256; d = d->prev)
            stack[n++] = d;
          for (size_t k = n - 1; k-- > 0;)
            mtk_strbuf_addf(&sb, "\n include %s", stack[k]->path);
          mtk_strbuf_addf(&sb, "\n include %s", paths[0]);
          r = mtk_node_err(pn, err, "%s", sb.buf);
          break;
        }
    }
    if (r == 0) {
      mtk_autostrmap env = MTK_STRMAP_INIT;
      mtk_strmap_merge(&env, ctx->env);
      r = include_env(ctx, entry, project_dir, &env, err);
      if (r == 0) {
        struct mtk_compose_ctx sub = *ctx;
        sub.env = &env;
        sub.workdir = relwd;
        sub.resolve_paths = true;
        sub.kept = NULL;
        struct mtk_node *imported =
            mtk_compose_load_model(&sub, (const char *const *) paths, np, err);
        if (sub.kept)
          keep(ctx, sub.kept);
        r = imported ? import_resources(imported, doc, resets, err) : -1;
        mtk_node_free(imported);
      }
    }
    for (size_t j = 0; j < np; j++)
      free(paths[j]);
    free(paths);
    if (r < 0)
      return r;
  }
  mtk_node_del(doc, "include");
  return 0;
}

static int load_document(struct mtk_compose_ctx *ctx, const char *path, struct mtk_node *doc,
                         struct mtk_node *model, struct mtk_err **err)
{
  mtk_autoptr(mtk_node) owned = doc;
  if (!mtk_node_is_map(doc))
    return mtk_node_err(doc, err, "top-level object must be a mapping");
  mtk_autoptr(mtk_compose_resets) resets = NULL;
  if (mtk_compose_resets_collect(doc, &resets, err) < 0)
    return -1;
  if (!ctx->skip_interpolation && mtk_compose_interpolate(doc, ctx->env, err) < 0)
    return -1;
  if (!ctx->skip_include) {
    struct mtk_compose_included link = {path, ctx->included};
    struct mtk_compose_ctx sub = *ctx;
    sub.included = &link;
    sub.kept = NULL;
    int r = apply_include(&sub, doc, resets, err);
    if (sub.kept)
      keep(ctx, sub.kept);
    if (r < 0)
      return r;
  }
  mtk_compose_resets_apply(resets, model);
  if (!ctx->skip_extends && apply_extends(ctx, path, doc, resets, err) < 0)
    return -1;
  if (mtk_compose_merge(model, mtk_steal_ptr(&owned), err) < 0)
    return -1;
  if (mtk_compose_unicity(model, err) < 0)
    return -1;
  if (!ctx->skip_validation) {
    if (mtk_compose_schema_validate(model, err) < 0)
      return mtk_err_wrap(err, "validating %s", path);
    mtk_node_del(model, "version");
  }
  if (mtk_compose_canonical(model, err) < 0)
    return -1;
  mtk_compose_omit_empty(model);
  return mtk_compose_unicity(model, err);
}

static int load_file(struct mtk_compose_ctx *ctx, const char *path, struct mtk_node *model,
                     struct mtk_err **err)
{
  size_t len = 0;
  mtk_autofree char *text = mtk_compose_read_file(path, &len, err);
  if (text == NULL)
    return -1;
  mtk_autoptr(mtk_node) docs = mtk_compose_yaml_parse_all(path, text, len, err);
  if (docs == NULL)
    return -1;
  for (size_t i = 0; i < docs->len; i++) {
    struct mtk_node *doc = docs->items[i];
    docs->items[i] = NULL;
    if (load_document(ctx, path, doc, model, err) < 0) {
      for (size_t j = i + 1; j < docs->len; j++)
        mtk_node_free(docs->items[j]);
      docs->len = 0;
      return -1;
    }
  }
  docs->len = 0;
  return 0;
}

struct mtk_node *mtk_compose_load_model(struct mtk_compose_ctx *ctx, const char *const *files,
                                        size_t n_files, struct mtk_err **err)
{
  mtk_autoptr(mtk_node) model = mtk_node_new_map(NULL);
  for (size_t i = 0; i < n_files; i++)
    if (load_file(ctx, files[i], model, err) < 0)
      return NULL;
  if (!ctx->skip_defaults && mtk_compose_defaults(model, err) < 0)
    return NULL;
  if (!ctx->skip_validation && mtk_compose_validate(model, err) < 0)
    return NULL;
  if (ctx->resolve_paths && !ctx->skip_path_resolution &&
      mtk_compose_resolve_paths(model, ctx->workdir, ctx->env, err) < 0)
    return NULL;
  return mtk_steal_ptr(&model);
}
