/* `mtk image push`: the local image named by a tag goes to its registry,
 * layers first (skipped when the registry has them, mounted from another
 * repository of the same registry when a local image came from there,
 * uploaded otherwise: one PUT, or PATCH chunks above the chunk size), then
 * the config, then the manifest exactly as stored (so the digest is the
 * same), under the tag.  Output as `docker push`. */
#include "config.h"

#include "image/image.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/ref.h"
#include "image/registry.h"
#include "util/strbuf.h"

#define DEFAULT_CHUNK (8 * 1024 * 1024)

/* Where a blob could be mounted from: a repository of the same registry
 * (other than the target) whose local image uses the blob. */
struct source {
  char *digest; /* owned */
  char *repo;   /* owned: repository path on the registry */
};

struct sources {
  struct source *v;
  size_t n;
};

static void sources_free(struct sources *s)
{
  for (size_t i = 0; i < s->n; i++) {
    free(s->v[i].digest);
    free(s->v[i].repo);
  }
  free(s->v);
}

static void sources_add(struct sources *s, const char *digest, const char *repo)
{
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->v[i].digest, digest) == 0)
      return;
  s->v = mtk_xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
  s->v[s->n++] = (struct source){mtk_xstrdup(digest), mtk_xstrdup(repo)};
}

static const char *source_of(const struct sources *s, const char *digest)
{
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->v[i].digest, digest) == 0)
      return s->v[i].repo;
  return NULL;
}

/* The repository of img on domain other than path, or NULL. */
static char *other_repo(const struct mtk_store_image *img, const struct mtk_image_ref *target)
{
  for (size_t k = 0; k < img->n_refs + img->n_repo_digests; k++) {
    const char *name = k < img->n_refs ? img->refs[k] : img->repo_digests[k - img->n_refs];
    mtk_autoimageref r = {0};
    struct mtk_err *e = NULL;
    if (mtk_image_ref_parse(name, &r, &e) < 0) {
      mtk_err_free(&e);
      continue;
    }
    if (strcmp(r.domain, target->domain) == 0 && strcmp(r.path, target->path) != 0)
      return mtk_xstrdup(r.path);
  }
  return NULL;
}

static void collect_sources(struct mtk_store *s, const struct mtk_image_ref *target,
                            struct sources *out)
{
  struct mtk_store_image *imgs = NULL;
  size_t n = 0;
  struct mtk_err *e = NULL;
  if (mtk_store_list(s, &imgs, &n, &e) < 0) {
    mtk_err_free(&e);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    mtk_autofree char *repo = other_repo(&imgs[i], target);
    mtk_autofree char *body = NULL;
    size_t len = 0;
    mtk_autoptr(mtk_manifest) m = NULL;
    if (!repo ||
        mtk_store_blob_read(s, imgs[i].manifest_digest, MTK_STORE_MANIFEST_MAX, &body, &len, &e) <
            0 ||
        mtk_manifest_parse(body, len, imgs[i].media_type, &m, &e) < 0) {
      mtk_err_free(&e);
      continue;
    }
    for (size_t k = 0; k < m->n_layers; k++)
      sources_add(out, m->layers[k].digest, repo);
    sources_add(out, m->config.digest, repo);
  }
  mtk_store_images_free(imgs, n);
}

/* Foreign and non-distributable layers are never pushed (ispec layer.md). */
static bool foreign(const struct mtk_descriptor *d)
{
  return strstr(d->media_type, "foreign") || strstr(d->media_type, "nondistributable");
}

struct push {
  struct mtk_store *store;         /* borrowed */
  struct mtk_registry *reg;        /* borrowed */
  const struct mtk_image_ref *ref; /* borrowed */
  struct mtk_progress *pg;         /* borrowed */
  struct sources src;              /* owned */
  int64_t chunk;                   /* chunked above this size */
};

static int push_blob(struct push *p, const struct mtk_descriptor *d, bool row, struct mtk_err **err)
{
  char id[13];
  snprintf(id, sizeof(id), "%s", mtk_digest_hex(d->digest));
  mtk_autoclose int fd = mtk_store_blob_open(p->store, d->digest, err);
  if (fd < 0)
    return mtk_err_wrap(err, "layer %s is not in the store (pull the image again)", d->digest);
  const char *from = source_of(&p->src, d->digest);
  if (row)
    mtk_progress_update(p->pg, id, MTK_PROGRESS_PUSHING, 0, d->size, NULL);
  int r = mtk_registry_push_blob(p->reg, p->ref->path, d->digest, d->size, fd, from,
                                 d->size > p->chunk, err);
  if (r < 0)
    return mtk_err_wrap(err, "blob %s", d->digest);
  if (!row)
    return 0;
  if (r == MTK_REGISTRY_EXISTS)
    mtk_progress_update(p->pg, id, MTK_PROGRESS_LAYER_EXISTS, 0, 0, NULL);
  else if (r == MTK_REGISTRY_MOUNTED)
    mtk_progress_update(p->pg, id, MTK_PROGRESS_MOUNTED, 0, 0, from);
  else
    mtk_progress_update(p->pg, id, MTK_PROGRESS_PUSHED, d->size, d->size, NULL);
  return 0;
}

static int push_image(struct push *p, const struct mtk_store_image *img, char **digest_out,
                      int64_t *size_out, struct mtk_err **err)
{
  mtk_autofree char *body = NULL, *got = NULL;
  size_t len = 0;
  mtk_autoptr(mtk_manifest) m = NULL;
  if (mtk_store_blob_read(p->store, img->manifest_digest, MTK_STORE_MANIFEST_MAX, &body, &len,
                          err) < 0 ||
      mtk_manifest_parse(body, len, img->media_type, &m, err) < 0)
    return -1;
  /* Rows top layer first, as docker shows them. */
  for (size_t i = m->n_layers; i-- > 0;) {
    char id[13];
    snprintf(id, sizeof(id), "%s", mtk_digest_hex(m->layers[i].digest));
    mtk_progress_update(p->pg, id, MTK_PROGRESS_PREPARING, 0, 0, NULL);
  }
  for (size_t i = m->n_layers; i-- > 0;) {
    const struct mtk_descriptor *d = &m->layers[i];
    if (foreign(d)) {
      char id[13];
      snprintf(id, sizeof(id), "%s", mtk_digest_hex(d->digest));
      mtk_progress_update(p->pg, id, MTK_PROGRESS_FAILED, 0, 0, "Skipped foreign layer");
      continue;
    }
    if (push_blob(p, d, true, err) < 0)
      return -1;
  }
  if (push_blob(p, &m->config, false, err) < 0)
    return -1;
  if (mtk_registry_put_manifest(p->reg, p->ref->path, p->ref->tag, m->media_type, body, len, &got,
                                err) < 0)
    return mtk_err_wrap(err, "manifest %s", img->manifest_digest);
  if (strcmp(got, img->manifest_digest) != 0)
    return mtk_err_set(err, EBADMSG, "the registry stored the manifest as %s, not %s", got,
                       img->manifest_digest);
  mtk_progress_line(p->pg, "%s: digest: %s size: %zu", p->ref->tag, got, len);
  mtk_autofree char *name = mtk_image_ref_name(p->ref);
  mtk_autofree char *full = mtk_xasprintf("%s:%s", name, p->ref->tag);
  if (mtk_store_tag_repo(p->store, full, img->manifest_digest, img->media_type, img->manifest_size,
                         got, err) < 0)
    return -1;
  if (digest_out)
    *digest_out = mtk_steal_ptr(&got);
  if (size_out)
    *size_out = (int64_t) len;
  return 0;
}

int mtk_image_push(struct mtk_store *store, const char *refstr,
                   const struct mtk_image_push_opts *opts, char **digest_out, int64_t *size_out,
                   struct mtk_err **err)
{
  static const struct mtk_image_push_opts defaults = {0};
  const struct mtk_image_push_opts *o = opts ? opts : &defaults;
  mtk_autoimageref ref = {0};
  if (mtk_image_ref_parse(refstr, &ref, err) < 0)
    return -1;
  mtk_autofree char *fam = mtk_image_ref_familiar_string(&ref);
  if (ref.digest)
    return mtk_err_set(err, EINVAL, "push %s: cannot push a digest reference; push a tag", fam);
  mtk_autofree char *name = mtk_image_ref_name(&ref);
  mtk_autofree char *full = mtk_xasprintf("%s:%s", name, ref.tag);
  mtk_autoptr(mtk_store_image) img = NULL;
  if (mtk_store_resolve(store, full, &img, err) < 0) {
    mtk_err_hint(err, "tag a local image with this name first: mtk image tag IMAGE %s", fam);
    return mtk_err_wrap(err, "push %s", fam);
  }
  int64_t chunk = o->chunk_size > 0 ? o->chunk_size : DEFAULT_CHUNK;
  mtk_autoptr(mtk_registry) reg = mtk_image_registry_new(&ref, &o->remote, chunk, err);
  if (!reg)
    return mtk_err_wrap(err, "push %s", fam);
  struct push p = {
      .store = store, .reg = reg, .ref = &ref, .pg = o->remote.progress, .chunk = chunk};
  mtk_progress_line(p.pg, "The push refers to repository [%s]", name);
  collect_sources(store, &ref, &p.src);
  int r = push_image(&p, img, digest_out, size_out, err);
  sources_free(&p.src);
  if (r < 0) {
    if ((*err)->code != MTK_E_INTR)
      (*err)->code = MTK_E_GENERIC;
    return mtk_err_wrap(err, "push %s", fam);
  }
  return 0;
}
