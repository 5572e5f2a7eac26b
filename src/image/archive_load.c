/* `mtk image load`: reads a `docker save` archive (manifest.json; the
 * legacy layout of Docker < 25 with <id>/layer.tar and symlinks, and the
 * Docker >= 25 / mtk one with blobs/) or an OCI image layout archive
 * (skopeo's oci-archive, BuildKit's), plain or gzip/zstd compressed, in one
 * pass: files under blobs/sha256/ go straight into the store through a
 * verifying writer (a blob that does not match its name is refused), other
 * layer files are stored under the digest of their content, small JSON files
 * are kept in memory.  Then the images are assembled (the archive's own
 * manifest when index.json has it, else an OCI manifest made from
 * manifest.json), unpacked and named as Docker names them. */
#include "config.h"

#include "image/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/archive_internal.h"
#include "image/ref.h"
#include "util/dl.h"
#include "util/path.h"
#include "util/strbuf.h"

#define MEM_MAX (4 * 1024 * 1024)
#define MAX_FILES 100000
#define MAX_HOPS 16

struct file {
  char *path; /* owned: cleaned, relative */
  char *link; /* owned: symlink/hardlink target (cleaned), or NULL */
  char *data; /* owned: small JSON files */
  size_t len;
  char digest[MTK_DIGEST_SIZE]; /* stored blob, or "" */
  int64_t size;
};

struct loader {
  struct mtk_store *s;  /* borrowed */
  const char *platform; /* borrowed, or NULL */
  struct file *files;   /* owned */
  size_t n_files;
};

/* One image to bring in. */
struct img {
  char digest[MTK_DIGEST_SIZE]; /* manifest */
  char *media_type;             /* owned */
  int64_t size;
  char **names; /* owned: references as found */
  size_t n_names;
};

struct imgs {
  struct img *v;
  size_t n;
};

static void imgs_free(struct imgs *l)
{
  for (size_t i = 0; i < l->n; i++) {
    free(l->v[i].media_type);
    mtk_image_strv_free(l->v[i].names, l->v[i].n_names);
  }
  free(l->v);
}

static void loader_free(struct loader *l)
{
  for (size_t i = 0; i < l->n_files; i++) {
    free(l->files[i].path);
    free(l->files[i].link);
    free(l->files[i].data);
  }
  free(l->files);
}

static bool ends_with(const char *s, const char *suffix)
{
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* "blobs/sha256/<hex>" -> "sha256:<hex>" in out; false for other paths. */
static bool blob_name(const char *path, char out[MTK_DIGEST_SIZE])
{
  if (strncmp(path, "blobs/sha256/", 13) != 0)
    return false;
  snprintf(out, MTK_DIGEST_SIZE, "sha256:%s", path + 13);
  return mtk_digest_valid(out);
}

/* Archive names are cleaned and must stay inside the archive. */
static char *clean_name(const char *name, struct mtk_err **err)
{
  while (*name == '/')
    name++;
  char *c = mtk_path_clean(*name ? name : ".");
  if (strcmp(c, "..") == 0 || strncmp(c, "../", 3) == 0) {
    mtk_err_set(err, MTK_E_INVALID, "archive entry \"%s\" points outside the archive", name);
    free(c);
    return NULL;
  }
  return c;
}

static struct file *add_file(struct loader *l, char *path, struct mtk_err **err)
{
  if (l->n_files >= MAX_FILES) {
    free(path);
    mtk_err_set(err, MTK_E_INVALID, "archive has more than %d files", MAX_FILES);
    return NULL;
  }
  l->files = mtk_xrealloc(l->files, (l->n_files + 1) * sizeof(*l->files));
  struct file *f = &l->files[l->n_files++];
  memset(f, 0, sizeof(*f));
  f->path = path;
  return f;
}

static int read_fail(struct archive *a, struct mtk_err **err)
{
  int e = archive_errno(a);
  const char *msg = archive_error_string(a);
  return mtk_err_set(err, e > 0 && e != EINVAL && e != EILSEQ ? e : MTK_E_INVALID,
                     "reading the archive: %s", msg ? msg : "unknown error");
}

/* The data of the current entry into the store (expected: the digest its
 * name promises, or NULL). */
static int entry_to_blob(struct loader *l, struct archive *a, struct file *f, const char *expected,
                         struct mtk_err **err)
{
  mtk_autoptr(mtk_store_blob_writer) w = NULL;
  if (mtk_store_blob_writer_new(l->s, expected, f->size, &w, err) < 0)
    return -1;
  const void *buf;
  size_t n;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block(a, &buf, &n, &off)) == ARCHIVE_OK)
    if (mtk_store_blob_write(w, buf, n, err) < 0)
      return -1;
  if (r != ARCHIVE_EOF)
    return read_fail(a, err);
  if (mtk_store_blob_commit(mtk_steal_ptr(&w), f->digest, err) < 0)
    return mtk_err_wrap(err, "archive entry %s", f->path);
  return 0;
}

static int entry_to_mem(struct archive *a, struct file *f, struct mtk_err **err)
{
  f->data = mtk_xmalloc((size_t) f->size + 1);
  la_ssize_t got = archive_read_data(a, f->data, (size_t) f->size);
  if (got < 0)
    return read_fail(a, err);
  if (got != f->size)
    return mtk_err_set(err, MTK_E_INVALID, "archive entry %s is truncated", f->path);
  f->len = (size_t) got;
  f->data[f->len] = '\0';
  return 0;
}

static bool small_metadata(const struct file *f)
{
  const char *base = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
  return f->size <= MEM_MAX && (ends_with(base, ".json") || strcmp(base, "oci-layout") == 0 ||
                                strcmp(base, "repositories") == 0 || strcmp(base, "VERSION") == 0 ||
                                strcmp(base, "json") == 0);
}

static int read_entry(struct loader *l, struct archive *a, struct archive_entry *e,
                      struct mtk_err **err)
{
  mode_t type = archive_entry_filetype(e);
  const char *hard = archive_entry_hardlink(e);
  if (type == AE_IFDIR || (type != AE_IFREG && type != AE_IFLNK && !hard))
    return 0;
  char *path = clean_name(archive_entry_pathname(e) ? archive_entry_pathname(e) : "", err);
  if (!path)
    return -1;
  struct file *f = add_file(l, path, err);
  if (!f)
    return -1;
  if (hard || type == AE_IFLNK) {
    const char *target = hard ? hard : archive_entry_symlink(e);
    mtk_autofree char *dir = mtk_path_dir(f->path);
    mtk_autofree char *joined = hard || (target && target[0] == '/')
                                    ? mtk_xstrdup(target ? target : "")
                                    : mtk_path_join(dir, target ? target : "");
    f->link = clean_name(joined, err);
    return f->link ? 0 : -1;
  }
  f->size = archive_entry_size(e);
  char expected[MTK_DIGEST_SIZE];
  if (blob_name(f->path, expected))
    return entry_to_blob(l, a, f, expected, err);
  if (small_metadata(f))
    return entry_to_mem(a, f, err);
  return entry_to_blob(l, a, f, NULL, err);
}

static int read_archive(struct loader *l, int fd, struct mtk_err **err)
{
  struct archive *a = archive_read_new();
  if (!a)
    return mtk_dl_fail(MTK_DL_ARCHIVE, err);
  archive_read_support_format_tar(a);
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  int r = 0;
  if (archive_read_open_fd(a, fd, 1024 * 1024) != ARCHIVE_OK)
    r = read_fail(a, err);
  struct archive_entry *e;
  while (r == 0) {
    int h = archive_read_next_header(a, &e);
    if (h == ARCHIVE_EOF)
      break;
    if (h != ARCHIVE_OK && h != ARCHIVE_WARN) {
      r = read_fail(a, err);
      break;
    }
    r = read_entry(l, a, e, err);
  }
  archive_read_free(a);
  return r;
}

/* ------------------------------------------------------------ lookups */

static struct file *lookup(struct loader *l, const char *path)
{
  mtk_autofree char *p = mtk_path_clean(path);
  for (int hop = 0; hop < MAX_HOPS; hop++) {
    struct file *f = NULL;
    for (size_t i = l->n_files; i-- > 0 && !f;)
      if (strcmp(l->files[i].path, p) == 0)
        f = &l->files[i];
    if (!f || !f->link)
      return f;
    free(p);
    p = mtk_xstrdup(f->link);
  }
  return NULL;
}

/* The stored digest of an archive file (small files are stored on demand). */
static int file_blob(struct loader *l, const char *path, char digest[MTK_DIGEST_SIZE],
                     int64_t *size, struct mtk_err **err)
{
  struct file *f = lookup(l, path);
  if (!f)
    return mtk_err_set(err, MTK_E_INVALID, "the archive has no file \"%s\"", path);
  if (!f->digest[0] && mtk_store_blob_put(l->s, f->data, f->len, f->digest, err) < 0)
    return -1;
  memcpy(digest, f->digest, MTK_DIGEST_SIZE);
  if (size)
    *size = f->data ? (int64_t) f->len : f->size;
  return 0;
}

static json_t *file_json(struct loader *l, const char *path, struct mtk_err **err)
{
  struct file *f = lookup(l, path);
  if (!f || !f->data)
    return NULL;
  json_error_t je;
  json_t *j = json_loadb(f->data, f->len, JSON_REJECT_DUPLICATES, &je);
  if (!j)
    mtk_err_set(err, MTK_E_INVALID, "%s:%d: %s", path, je.line, je.text);
  return j;
}

static void img_add_name(struct img *im, const char *name)
{
  for (size_t i = 0; i < im->n_names; i++)
    if (strcmp(im->names[i], name) == 0)
      return;
  im->names = mtk_xrealloc(im->names, (im->n_names + 1) * sizeof(char *));
  im->names[im->n_names++] = mtk_xstrdup(name);
}

static struct img *imgs_get(struct imgs *l, const char *digest, const char *mt, int64_t size)
{
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i].digest, digest) == 0)
      return &l->v[i];
  l->v = mtk_xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
  struct img *im = &l->v[l->n++];
  memset(im, 0, sizeof(*im));
  snprintf(im->digest, sizeof(im->digest), "%s", digest);
  im->media_type = mtk_xstrdup(mt);
  im->size = size;
  return im;
}

/* ------------------------------------------------------------ OCI index.json */

/* The name an index.json entry gives: io.containerd.image.name, else a
 * ref.name holding a name and a tag (a bare tag names nothing). */
static const char *entry_name(const struct mtk_descriptor *d)
{
  json_t *a = d->annotations;
  const char *c = json_string_value(json_object_get(a, MTK_ANN_CONTAINERD_NAME));
  if (c && *c)
    return c;
  const char *r = json_string_value(json_object_get(a, MTK_ANN_REF_NAME));
  if (!r || (!strchr(r, ':') && !strchr(r, '@')))
    return NULL;
  mtk_autoimageref ref = {0};
  struct mtk_err *e = NULL;
  if (mtk_image_ref_parse(r, &ref, &e) < 0) {
    mtk_err_free(&e);
    return NULL;
  }
  return r;
}

/* An index entry -> the image manifest for the platform (nested indexes as
 * skopeo and Docker's containerd store write them). */
static int resolve_entry(struct loader *l, const struct mtk_descriptor *d, int depth,
                         struct imgs *out, const char *name, struct mtk_err **err)
{
  if (!mtk_manifest_media_type_known(d->media_type))
    return 0; /* unknown entries are skipped (ispec) */
  if (!mtk_manifest_media_type_is_index(d->media_type)) {
    struct img *im = imgs_get(out, d->digest, d->media_type, d->size);
    if (name)
      img_add_name(im, name);
    return 0;
  }
  if (depth > 4)
    return mtk_err_set(err, MTK_E_INVALID, "index %s: nested too deep", d->digest);
  mtk_autofree char *body = NULL;
  size_t len = 0;
  mtk_autoptr(mtk_manifest) idx = NULL;
  const struct mtk_descriptor *child = NULL;
  if (mtk_store_blob_read(l->s, d->digest, MTK_STORE_MANIFEST_MAX, &body, &len, err) < 0 ||
      mtk_manifest_parse(body, len, d->media_type, &idx, err) < 0 ||
      mtk_platform_match(idx, l->platform, &child, err) < 0)
    return mtk_err_wrap(err, "index %s", d->digest);
  return resolve_entry(l, child, depth + 1, out, name, err);
}

static int from_index(struct loader *l, struct imgs *out, struct mtk_err **err)
{
  struct file *f = lookup(l, "index.json");
  if (!f || !f->data)
    return 0;
  mtk_autoptr(mtk_manifest) idx = NULL;
  if (mtk_manifest_parse(f->data, f->len, MTK_MT_OCI_INDEX, &idx, err) < 0)
    return mtk_err_wrap(err, "index.json");
  for (size_t i = 0; i < idx->n_manifests; i++)
    if (resolve_entry(l, &idx->manifests[i], 0, out, entry_name(&idx->manifests[i]), err) < 0)
      return -1;
  return 0;
}

/* ------------------------------------------------------------ manifest.json */

/* An image of the index whose manifest has exactly this config and layers. */
static struct img *matching(struct loader *l, struct imgs *index, const char *config,
                            char (*layers)[MTK_DIGEST_SIZE], size_t n)
{
  for (size_t i = 0; i < index->n; i++) {
    mtk_autofree char *body = NULL;
    size_t len = 0;
    mtk_autoptr(mtk_manifest) m = NULL;
    struct mtk_err *e = NULL;
    if (mtk_store_blob_read(l->s, index->v[i].digest, MTK_STORE_MANIFEST_MAX, &body, &len, &e) <
            0 ||
        mtk_manifest_parse(body, len, index->v[i].media_type, &m, &e) < 0) {
      mtk_err_free(&e);
      continue;
    }
    bool same = strcmp(m->config.digest, config) == 0 && m->n_layers == n;
    for (size_t k = 0; same && k < n; k++)
      same = strcmp(m->layers[k].digest, layers[k]) == 0;
    if (same)
      return &index->v[i];
  }
  return NULL;
}

static int layer_type(struct loader *l, const char *digest, const char **mt, struct mtk_err **err)
{
  mtk_autoclose int fd = mtk_store_blob_open(l->s, digest, err);
  if (fd < 0)
    return -1;
  unsigned char head[4] = {0};
  ssize_t n = pread(fd, head, sizeof(head), 0);
  *mt = mtk_archive_layer_type(head, n > 0 ? (size_t) n : 0);
  return 0;
}

static int docker_item(struct loader *l, json_t *item, struct imgs *index, struct imgs *out,
                       struct mtk_err **err)
{
  const char *cfg = json_string_value(json_object_get(item, "Config"));
  json_t *layers = json_object_get(item, "Layers"), *tags = json_object_get(item, "RepoTags");
  if (!cfg || !json_is_array(layers))
    return mtk_err_set(err, MTK_E_INVALID, "manifest.json: an entry without Config or Layers");
  char config[MTK_DIGEST_SIZE];
  int64_t config_size = 0;
  if (file_blob(l, cfg, config, &config_size, err) < 0)
    return mtk_err_wrap(err, "manifest.json");
  size_t n = json_array_size(layers);
  mtk_autofree char(*digests)[MTK_DIGEST_SIZE] = mtk_xcalloc(n ? n : 1, MTK_DIGEST_SIZE);
  mtk_autofree struct mtk_archive_layer *ls = mtk_xcalloc(n ? n : 1, sizeof(*ls));
  for (size_t i = 0; i < n; i++) {
    const char *p = json_string_value(json_array_get(layers, i));
    if (!p || file_blob(l, p, digests[i], &ls[i].size, err) < 0 ||
        layer_type(l, digests[i], &ls[i].media_type, err) < 0)
      return p ? mtk_err_wrap(err, "manifest.json")
               : mtk_err_set(err, MTK_E_INVALID, "manifest.json: a layer that is not a path");
    ls[i].digest = digests[i];
  }
  struct img *im = matching(l, index, config, digests, n);
  if (!im) {
    char md[MTK_DIGEST_SIZE];
    int64_t msize;
    if (mtk_archive_put_manifest(l->s, config, config_size, ls, n, md, &msize, err) < 0)
      return -1;
    im = imgs_get(out, md, MTK_MT_OCI_MANIFEST, msize);
  } else {
    struct img *copy = imgs_get(out, im->digest, im->media_type, im->size);
    if (!json_array_size(tags))
      for (size_t k = 0; k < im->n_names; k++)
        img_add_name(copy, im->names[k]);
    im = copy;
  }
  size_t i;
  json_t *t;
  json_array_foreach(tags, i, t) if (json_is_string(t)) img_add_name(im, json_string_value(t));
  return 0;
}

static int from_docker(struct loader *l, json_t *list, struct imgs *index, struct imgs *out,
                       struct mtk_err **err)
{
  if (!json_is_array(list))
    return mtk_err_set(err, MTK_E_INVALID, "manifest.json: not a JSON array");
  size_t i;
  json_t *item;
  json_array_foreach(list, i, item) if (docker_item(l, item, index, out, err) < 0) return -1;
  return 0;
}

/* ------------------------------------------------------------ finishing */

static void add_loaded(struct mtk_image_loaded **out, size_t *n, const char *name, const char *id,
                       const char *manifest)
{
  *out = mtk_xrealloc(*out, (*n + 1) * sizeof(**out));
  (*out)[(*n)++] = (struct mtk_image_loaded){name ? mtk_xstrdup(name) : NULL, mtk_xstrdup(id),
                                             mtk_xstrdup(manifest)};
}

static int bring_in(struct loader *l, const struct img *im, struct mtk_progress *pg,
                    struct mtk_image_loaded **out, size_t *n, struct mtk_err **err)
{
  if (mtk_image_unpack(l->s, im->digest, im->media_type, 0, pg, err) < 0)
    return mtk_err_wrap(err, "image %s", im->digest);
  mtk_autofree char *body = NULL;
  size_t len = 0;
  mtk_autoptr(mtk_manifest) m = NULL;
  if (mtk_store_blob_read(l->s, im->digest, MTK_STORE_MANIFEST_MAX, &body, &len, err) < 0 ||
      mtk_manifest_parse(body, len, im->media_type, &m, err) < 0)
    return -1;
  if (im->n_names == 0) {
    if (mtk_store_tag(l->s, NULL, im->digest, im->media_type, im->size, err) < 0)
      return -1;
    add_loaded(out, n, NULL, m->config.digest, im->digest);
    return 0;
  }
  for (size_t i = 0; i < im->n_names; i++) {
    mtk_autoimageref r = {0};
    if (mtk_image_ref_parse(im->names[i], &r, err) < 0)
      return mtk_err_wrap(err, "image name");
    if (mtk_store_tag(l->s, im->names[i], im->digest, im->media_type, im->size, err) < 0)
      return -1;
    mtk_autofree char *fam = mtk_image_ref_familiar_string(&r);
    add_loaded(out, n, fam, m->config.digest, im->digest);
  }
  return 0;
}

static int assemble(struct loader *l, struct mtk_progress *pg, struct mtk_image_loaded **out,
                    size_t *n, struct mtk_err **err)
{
  struct imgs index = {0}, images = {0};
  json_t *docker = NULL;
  int r = from_index(l, &index, err);
  if (r == 0 && lookup(l, "manifest.json"))
    r = (docker = file_json(l, "manifest.json", err)) ? 0 : -1;
  if (r == 0 && docker)
    r = from_docker(l, docker, &index, &images, err);
  else if (r == 0 && index.n)
    images = index, index = (struct imgs){0};
  else if (r == 0)
    r = mtk_err_set(err, MTK_E_INVALID,
                    "not an image archive: no manifest.json and no image in index.json");
  for (size_t i = 0; r == 0 && i < images.n; i++)
    r = bring_in(l, &images.v[i], pg, out, n, err);
  json_decref(docker);
  imgs_free(&index);
  imgs_free(&images);
  return r;
}

int mtk_image_load(struct mtk_store *store, int fd, const char *platform,
                   struct mtk_progress *progress, struct mtk_image_loaded **out, size_t *n,
                   struct mtk_err **err)
{
  *out = NULL;
  *n = 0;
  struct loader l = {.s = store, .platform = platform};
  if (mtk_store_lease(store, err) < 0)
    return -1;
  int r = read_archive(&l, fd, err);
  if (r == 0)
    r = assemble(&l, progress, out, n, err);
  mtk_store_unlease(store);
  loader_free(&l);
  if (r < 0) {
    mtk_image_loaded_free(*out, *n);
    *out = NULL;
    *n = 0;
    return mtk_err_wrap(err, "load");
  }
  return 0;
}
