/* Image records of the store: the index entries grouped by manifest digest
 * and completed from the manifest and config blobs (image ID, created,
 * size, platform), for `image ls`, and resolution of what a user typed
 * (name[:tag], name@digest, full ID or manifest digest, short ID prefix) as
 * `docker inspect` resolves it. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "image/ref.h"
#include "image/store_internal.h"
#include "util/cleanup.h"

static void strv_add_unique(char ***v, size_t *n, const char *s)
{
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*v)[i], s) == 0)
      return;
  *v = mtk_xrealloc(*v, (*n + 1) * sizeof(**v));
  (*v)[(*n)++] = mtk_xstrdup(s);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *) a, *(char *const *) b);
}

static void strv_free(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void image_clear(struct mtk_store_image *img)
{
  strv_free(img->refs, img->n_refs);
  strv_free(img->repo_digests, img->n_repo_digests);
  free(img->manifest_digest);
  free(img->media_type);
  free(img->id);
  free(img->created);
  free(img->os);
  free(img->architecture);
  free(img->variant);
  memset(img, 0, sizeof(*img));
}

void mtk_store_image_free(struct mtk_store_image *img)
{
  if (img == NULL)
    return;
  image_clear(img);
  free(img);
}

void mtk_store_images_free(struct mtk_store_image *imgs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    image_clear(&imgs[i]);
  free(imgs);
}

static char *dup_or_null(const char *s)
{
  return s ? mtk_xstrdup(s) : NULL;
}

/* Adds the names of one index entry to its image. */
static void add_entry_names(struct mtk_store_image *img, json_t *e)
{
  const char *name = mtk_store_entry_ann(e, MTK_ANN_REF_NAME);
  const char *repo = mtk_store_entry_ann(e, MTK_ANN_REPO_DIGEST);
  mtk_autoimageref r = {0};
  if (name == NULL || mtk_image_ref_parse(name, &r, NULL) < 0)
    return;
  mtk_autofree char *base = mtk_image_ref_name(&r);
  if (r.digest) {
    mtk_autofree char *d = mtk_xasprintf("%s@%s", base, r.digest);
    strv_add_unique(&img->repo_digests, &img->n_repo_digests, d);
    return;
  }
  strv_add_unique(&img->refs, &img->n_refs, name);
  if (repo && mtk_digest_valid(repo)) {
    mtk_autofree char *d = mtk_xasprintf("%s@%s", base, repo);
    strv_add_unique(&img->repo_digests, &img->n_repo_digests, d);
  }
}

/* Groups the entries of index.json by manifest digest. */
static void group_entries(json_t *list, struct mtk_store_image **out, size_t *n)
{
  struct mtk_store_image *imgs = NULL;
  size_t count = 0, i;
  json_t *e;
  json_array_foreach(list, i, e)
  {
    const char *digest = json_string_value(json_object_get(e, "digest"));
    if (!mtk_digest_valid(digest))
      continue;
    size_t k = 0;
    while (k < count && strcmp(imgs[k].manifest_digest, digest) != 0)
      k++;
    if (k == count) {
      imgs = mtk_xrealloc(imgs, (count + 1) * sizeof(*imgs));
      memset(&imgs[count], 0, sizeof(*imgs));
      imgs[count].manifest_digest = mtk_xstrdup(digest);
      imgs[count].media_type = dup_or_null(json_string_value(json_object_get(e, "mediaType")));
      imgs[count].manifest_size = json_integer_value(json_object_get(e, "size"));
      imgs[count].id = dup_or_null(mtk_store_entry_ann(e, MTK_ANN_CONFIG));
      count++;
    }
    add_entry_names(&imgs[k], e);
  }
  *out = imgs;
  *n = count;
}

/* Completes a record from its blobs.  A damaged or missing blob leaves the
 * fields it would give unset rather than hiding the image. */
static void fill_image(struct mtk_store *s, struct mtk_store_image *img)
{
  if (img->n_refs)
    qsort(img->refs, img->n_refs, sizeof(char *), cmp_str);
  if (img->n_repo_digests)
    qsort(img->repo_digests, img->n_repo_digests, sizeof(char *), cmp_str);
  mtk_autoptr(mtk_manifest) m = NULL;
  if (mtk_store_manifest_load(s, img->manifest_digest, img->media_type, &m, NULL) < 0 ||
      m->kind != MTK_MANIFEST_IMAGE)
    return;
  free(img->id);
  img->id = mtk_xstrdup(m->config.digest);
  img->size = 0;
  for (size_t i = 0; i < m->n_layers; i++)
    img->size += m->layers[i].size;
  mtk_autofree char *buf = NULL;
  size_t len;
  mtk_autoptr(mtk_image_config) c = NULL;
  if (mtk_store_blob_read(s, m->config.digest, MTK_STORE_CONFIG_MAX, &buf, &len, NULL) < 0 ||
      mtk_image_config_parse(buf, len, &c, NULL) < 0)
    return;
  img->created = dup_or_null(c->created);
  img->created_unix = c->created_unix;
  img->os = dup_or_null(c->os);
  img->architecture = dup_or_null(c->architecture);
  img->variant = dup_or_null(c->variant);
}

static int load_groups(struct mtk_store *s, struct mtk_store_image **imgs, size_t *n,
                       struct mtk_err **err)
{
  mtk_autoclose int lk = mtk_store_flock(s, "lock", LOCK_SH, err);
  if (lk < 0)
    return -1;
  json_t *idx;
  if (mtk_store_index_load(s, &idx, err) < 0)
    return -1;
  group_entries(json_object_get(idx, "manifests"), imgs, n);
  json_decref(idx);
  return 0;
}

static int cmp_newest(const void *a, const void *b)
{
  const struct mtk_store_image *x = a, *y = b;
  if (x->created_unix != y->created_unix)
    return x->created_unix > y->created_unix ? -1 : 1;
  return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

int mtk_store_list(struct mtk_store *s, struct mtk_store_image **out, size_t *n,
                   struct mtk_err **err)
{
  *out = NULL;
  *n = 0;
  if (load_groups(s, out, n, err) < 0)
    return -1;
  for (size_t i = 0; i < *n; i++)
    fill_image(s, &(*out)[i]);
  if (*n)
    qsort(*out, *n, sizeof(**out), cmp_newest);
  return 0;
}

static bool strv_has(char **v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0)
      return true;
  return false;
}

/* "name@digest" matches an image recorded under that name whose manifest
 * (or the digest the registry gave for it) is digest. */
static bool matches_digest_ref(const struct mtk_store_image *img, const char *base,
                               const char *digest)
{
  mtk_autofree char *want = mtk_xasprintf("%s@%s", base, digest);
  if (strv_has(img->repo_digests, img->n_repo_digests, want))
    return true;
  if (strcmp(img->manifest_digest, digest) != 0)
    return false;
  size_t blen = strlen(base);
  for (size_t i = 0; i < img->n_refs; i++)
    if (strncmp(img->refs[i], base, blen) == 0 && img->refs[i][blen] == ':')
      return true;
  for (size_t i = 0; i < img->n_repo_digests; i++)
    if (strncmp(img->repo_digests[i], base, blen) == 0 && img->repo_digests[i][blen] == '@')
      return true;
  return false;
}

static ssize_t find_by_ref(struct mtk_store_image *imgs, size_t n, const char *q)
{
  mtk_autoimageref r = {0};
  if (mtk_image_ref_parse(q, &r, NULL) < 0)
    return -1;
  mtk_autofree char *base = mtk_image_ref_name(&r);
  mtk_autofree char *tagged = mtk_xasprintf("%s:%s", base, r.tag ? r.tag : "");
  for (size_t i = 0; i < n; i++) {
    if (r.digest ? matches_digest_ref(&imgs[i], base, r.digest)
                 : strv_has(imgs[i].refs, imgs[i].n_refs, tagged))
      return (ssize_t) i;
  }
  return -1;
}

static ssize_t find_by_digest(struct mtk_store_image *imgs, size_t n, const char *digest)
{
  for (size_t i = 0; i < n; i++)
    if ((imgs[i].id && strcmp(imgs[i].id, digest) == 0) ||
        strcmp(imgs[i].manifest_digest, digest) == 0)
      return (ssize_t) i;
  return -1;
}

static bool is_hex_prefix(const char *s)
{
  size_t n = strspn(s, "0123456789abcdef");
  return n > 0 && n < 64 && s[n] == '\0';
}

/* A unique prefix of the image ID; -2 when several images share it. */
static ssize_t find_by_prefix(struct mtk_store_image *imgs, size_t n, const char *q)
{
  if (strncmp(q, "sha256:", 7) == 0)
    q += 7;
  if (!is_hex_prefix(q))
    return -1;
  ssize_t found = -1;
  size_t qlen = strlen(q);
  for (size_t i = 0; i < n; i++) {
    if (imgs[i].id == NULL || strncmp(imgs[i].id + 7, q, qlen) != 0)
      continue;
    if (found >= 0 && strcmp(imgs[found].id, imgs[i].id) != 0)
      return -2;
    if (found < 0)
      found = (ssize_t) i;
  }
  return found;
}

static ssize_t find_image(struct mtk_store_image *imgs, size_t n, const char *q)
{
  if (mtk_digest_valid(q))
    return find_by_digest(imgs, n, q);
  if (mtk_image_ref_is_identifier(q)) {
    mtk_autofree char *d = mtk_xasprintf("sha256:%s", q);
    return find_by_digest(imgs, n, d);
  }
  ssize_t at = find_by_ref(imgs, n, q);
  return at >= 0 ? at : find_by_prefix(imgs, n, q);
}

int mtk_store_resolve(struct mtk_store *s, const char *ref_or_id, struct mtk_store_image **out,
                      struct mtk_err **err)
{
  *out = NULL;
  if (ref_or_id == NULL || *ref_or_id == '\0')
    return mtk_err_set(err, EINVAL, "no image given");
  struct mtk_store_image *imgs;
  size_t n;
  if (load_groups(s, &imgs, &n, err) < 0)
    return -1;
  ssize_t at = find_image(imgs, n, ref_or_id);
  int r = 0;
  if (at == -2) {
    r = mtk_err_set(err, EINVAL, "multiple IDs found with provided prefix: %s", ref_or_id);
  } else if (at < 0) {
    r = mtk_err_set(err, ENOENT, "No such image: %s", ref_or_id);
  } else {
    *out = mtk_xcalloc(1, sizeof(**out));
    **out = imgs[at];
    memset(&imgs[at], 0, sizeof(imgs[at]));
    fill_image(s, *out);
  }
  mtk_store_images_free(imgs, n);
  return r;
}
