/* `mtk image save`: one tar archive that is both an OCI image layout and a
 * `docker save` archive, as Docker 25 and later write it (moby
 * image/tarexport/save.go): oci-layout, index.json (one descriptor per name
 * with the io.containerd.image.name and org.opencontainers.image.ref.name
 * annotations), blobs/sha256/<hex> (manifests, configs and layers exactly as
 * stored, so every digest stays valid), manifest.json (Config, RepoTags and
 * Layers as paths into blobs/) and the legacy `repositories`.  The bytes
 * depend only on the images and names: entries sorted by name, mtime 0,
 * uid/gid 0 without names, modes 0755/0644, PAX only where ustar cannot. */
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
#include "util/strbuf.h"

#define COPY_BLOCK (1024 * 1024)

struct saved {
  struct mtk_store_image *img; /* owned */
  struct mtk_manifest *m;      /* owned */
  char **names;                /* owned: fully qualified name:tag the user gave */
  size_t n_names;
};

struct save {
  struct saved *v;
  size_t n;
  char **blobs; /* owned: every digest to write, sorted, unique */
  size_t n_blobs;
};

static void save_free(struct save *s)
{
  for (size_t i = 0; i < s->n; i++) {
    mtk_store_image_free(s->v[i].img);
    mtk_manifest_free(s->v[i].m);
    mtk_image_strv_free(s->v[i].names, s->v[i].n_names);
  }
  free(s->v);
  mtk_image_strv_free(s->blobs, s->n_blobs);
}

static void add_unique(char ***v, size_t *n, const char *s)
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

/* The name:tag the user typed, when arg names a tag of img (not an ID or a
 * digest); fully qualified, owned by the caller. */
static char *tag_of(const struct mtk_store_image *img, const char *arg)
{
  mtk_autoimageref r = {0};
  struct mtk_err *e = NULL;
  if (mtk_image_ref_parse(arg, &r, &e) < 0) {
    mtk_err_free(&e);
    return NULL;
  }
  if (r.digest)
    return NULL;
  mtk_autofree char *name = mtk_image_ref_name(&r);
  char *full = mtk_xasprintf("%s:%s", name, r.tag);
  for (size_t i = 0; i < img->n_refs; i++)
    if (strcmp(img->refs[i], full) == 0)
      return full;
  free(full);
  return NULL;
}

static int collect(struct mtk_store *st, const char *const *refs, size_t n, struct save *s,
                   struct mtk_err **err)
{
  for (size_t i = 0; i < n; i++) {
    struct mtk_store_image *img = NULL;
    if (mtk_store_resolve(st, refs[i], &img, err) < 0)
      return -1;
    struct saved *sv = NULL;
    for (size_t k = 0; k < s->n && !sv; k++)
      if (strcmp(s->v[k].img->manifest_digest, img->manifest_digest) == 0)
        sv = &s->v[k];
    mtk_autofree char *tag = tag_of(img, refs[i]);
    if (sv) {
      mtk_store_image_free(img);
    } else {
      s->v = mtk_xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
      sv = &s->v[s->n++];
      memset(sv, 0, sizeof(*sv));
      sv->img = img;
      mtk_autofree char *body = NULL;
      size_t len = 0;
      if (mtk_store_blob_read(st, img->manifest_digest, MTK_STORE_MANIFEST_MAX, &body, &len, err) <
              0 ||
          mtk_manifest_parse(body, len, img->media_type, &sv->m, err) < 0)
        return mtk_err_wrap(err, "image %s", refs[i]);
      add_unique(&s->blobs, &s->n_blobs, img->manifest_digest);
      add_unique(&s->blobs, &s->n_blobs, sv->m->config.digest);
      for (size_t k = 0; k < sv->m->n_layers; k++)
        add_unique(&s->blobs, &s->n_blobs, sv->m->layers[k].digest);
    }
    if (tag)
      add_unique(&sv->names, &sv->n_names, tag);
  }
  qsort(s->blobs, s->n_blobs, sizeof(*s->blobs), cmp_str);
  return 0;
}

/* index.json: Go's json.Marshal of ocispec.Index (field order kept). */
static char *index_json(const struct save *s)
{
  json_t *list = json_array();
  for (size_t i = 0; i < s->n; i++) {
    const struct mtk_store_image *img = s->v[i].img;
    for (size_t k = 0; k < s->v[i].n_names || (k == 0 && s->v[i].n_names == 0); k++) {
      json_t *d = json_pack("{s:s,s:s,s:I}", "mediaType", img->media_type, "digest",
                            img->manifest_digest, "size", (json_int_t) img->manifest_size);
      if (s->v[i].n_names) {
        const char *full = s->v[i].names[k];
        json_object_set_new(d, "annotations",
                            json_pack("{s:s,s:s}", MTK_ANN_CONTAINERD_NAME, full, MTK_ANN_REF_NAME,
                                      strrchr(full, ':') + 1));
      }
      json_array_append_new(list, d);
    }
  }
  json_t *idx = json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType", MTK_MT_OCI_INDEX,
                          "manifests", list);
  char *text = json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(idx);
  return text;
}

static char *blob_path(const char *digest)
{
  return mtk_xasprintf("blobs/sha256/%s", mtk_digest_hex(digest));
}

static char *familiar_of(const char *full)
{
  mtk_autoimageref r = {0};
  struct mtk_err *e = NULL;
  if (mtk_image_ref_parse(full, &r, &e) < 0) {
    mtk_err_free(&e);
    return mtk_xstrdup(full);
  }
  return mtk_image_ref_familiar_string(&r);
}

/* manifest.json (json.Encoder: a newline at the end) and repositories. */
static char *manifest_json(const struct save *s)
{
  json_t *list = json_array();
  for (size_t i = 0; i < s->n; i++) {
    const struct saved *sv = &s->v[i];
    mtk_autofree char *cfg = blob_path(sv->m->config.digest);
    json_t *tags = sv->n_names ? json_array() : json_null();
    for (size_t k = 0; k < sv->n_names; k++) {
      mtk_autofree char *f = familiar_of(sv->names[k]);
      json_array_append_new(tags, json_string(f));
    }
    json_t *layers = json_array();
    for (size_t k = 0; k < sv->m->n_layers; k++) {
      mtk_autofree char *p = blob_path(sv->m->layers[k].digest);
      json_array_append_new(layers, json_string(p));
    }
    json_array_append_new(
        list, json_pack("{s:s,s:o,s:o}", "Config", cfg, "RepoTags", tags, "Layers", layers));
  }
  char *text = json_dumps(list, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(list);
  char *out = mtk_xasprintf("%s\n", text);
  free(text);
  return out;
}

static char *repositories_json(const struct save *s)
{
  json_t *repos = json_object();
  for (size_t i = 0; i < s->n; i++) {
    const struct saved *sv = &s->v[i];
    if (sv->m->n_layers == 0)
      continue;
    const char *top = mtk_digest_hex(sv->m->layers[sv->m->n_layers - 1].digest);
    for (size_t k = 0; k < sv->n_names; k++) {
      mtk_autoimageref r = {0};
      if (mtk_image_ref_parse(sv->names[k], &r, NULL) < 0)
        continue;
      mtk_autofree char *repo = mtk_image_ref_familiar(&r);
      json_t *tags = json_object_get(repos, repo);
      if (!tags) {
        tags = json_object();
        json_object_set_new(repos, repo, tags);
      }
      json_object_set_new(tags, r.tag, json_string(top));
    }
  }
  char *text = NULL;
  if (json_object_size(repos) > 0) {
    mtk_autofree char *t = json_dumps(repos, JSON_COMPACT | JSON_SORT_KEYS);
    text = mtk_xasprintf("%s\n", t);
  }
  json_decref(repos);
  return text;
}

/* ------------------------------------------------------------ tar writing */

static int archive_fail(struct archive *a, const char *what, struct mtk_err **err)
{
  int e = archive_errno(a);
  return mtk_err_set(err, e > 0 ? e : EIO, "writing the archive (%s): %s", what,
                     archive_error_string(a) ? archive_error_string(a) : "unknown error");
}

static struct archive_entry *entry_for(const char *path, bool dir, int64_t size)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, path);
  archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e, dir ? 0755 : 0644);
  archive_entry_set_size(e, dir ? 0 : size);
  archive_entry_set_mtime(e, 0, 0);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  return e;
}

static int write_mem(struct archive *a, const char *path, const char *text, struct mtk_err **err)
{
  size_t len = strlen(text);
  struct archive_entry *e = entry_for(path, false, (int64_t) len);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK || archive_write_data(a, text, len) != (la_ssize_t) len)
    return archive_fail(a, path, err);
  return 0;
}

static int write_dir(struct archive *a, const char *path, struct mtk_err **err)
{
  struct archive_entry *e = entry_for(path, true, 0);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  return r == ARCHIVE_OK ? 0 : archive_fail(a, path, err);
}

/* A stored blob, hashed again on the way out: a damaged store is reported,
 * never exported. */
static int write_blob(struct mtk_store *st, struct archive *a, const char *digest,
                      struct mtk_err **err)
{
  mtk_autoclose int fd = mtk_store_blob_open(st, digest, err);
  if (fd < 0)
    return mtk_err_wrap(err, "blob %s", digest);
  int64_t size = mtk_store_blob_size(st, digest, err);
  if (size < 0)
    return -1;
  mtk_autofree char *path = blob_path(digest);
  struct archive_entry *e = entry_for(path, false, size);
  int r = archive_write_header(a, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK)
    return archive_fail(a, path, err);
  mtk_autofree char *buf = mtk_xmalloc(COPY_BLOCK);
  mtk_autosha256 h = {0};
  mtk_sha256_init(&h);
  int64_t left = size;
  while (left > 0) {
    ssize_t n = read(fd, buf, COPY_BLOCK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return mtk_err_set(err, n < 0 ? errno : EIO, "reading blob %s: %s", digest,
                         n < 0 ? strerror(errno) : "shorter than its size");
    if ((int64_t) n > left)
      n = (ssize_t) left;
    mtk_sha256_update(&h, buf, (size_t) n);
    if (archive_write_data(a, buf, (size_t) n) != n)
      return archive_fail(a, path, err);
    left -= n;
  }
  char got[MTK_DIGEST_SIZE];
  mtk_sha256_final(&h, got);
  if (strcmp(got, digest) != 0)
    return mtk_err_set(err, EBADMSG, "blob %s in the store is damaged (it hashes to %s)", digest,
                       got);
  return 0;
}

static int write_archive(struct mtk_store *st, const struct save *s, int fd, struct mtk_err **err)
{
  mtk_autofree char *index = index_json(s), *manifest = manifest_json(s);
  mtk_autofree char *repos = repositories_json(s);
  struct archive *a = archive_write_new();
  if (!a)
    return mtk_dl_fail(MTK_DL_ARCHIVE, err);
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  int r = 0;
  if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
    r = archive_fail(a, "open", err);
  if (r == 0)
    r = write_dir(a, "blobs/", err);
  if (r == 0)
    r = write_dir(a, "blobs/sha256/", err);
  for (size_t i = 0; r == 0 && i < s->n_blobs; i++)
    r = write_blob(st, a, s->blobs[i], err);
  if (r == 0)
    r = write_mem(a, "index.json", index, err);
  if (r == 0)
    r = write_mem(a, "manifest.json", manifest, err);
  if (r == 0)
    r = write_mem(a, "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}", err);
  if (r == 0 && repos)
    r = write_mem(a, "repositories", repos, err);
  if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
    r = archive_fail(a, "close", err);
  archive_write_free(a);
  return r;
}

int mtk_image_save(struct mtk_store *store, const char *const *refs, size_t n, int fd,
                   struct mtk_err **err)
{
  struct save s = {0};
  int r = collect(store, refs, n, &s, err);
  if (r == 0)
    r = write_archive(store, &s, fd, err);
  save_free(&s);
  if (r < 0)
    return mtk_err_wrap(err, "save");
  return 0;
}

void mtk_image_loaded_free(struct mtk_image_loaded *l, size_t n)
{
  for (size_t i = 0; l && i < n; i++) {
    free(l[i].name);
    free(l[i].id);
    free(l[i].manifest);
  }
  free(l);
}
