/* The tag index of the image store: index.json in OCI image-layout form.
 * One entry (a manifest descriptor) per name; its
 * org.opencontainers.image.ref.name annotation holds the fully qualified
 * reference ("docker.io/library/python:3-alpine" or "name@sha256:..."), and
 * an entry without it records an untagged image.  Reads take the shared
 * flock on <dir>/lock, changes the exclusive one and rewrite the file
 * atomically.  Also here: assembling struct mtk_store_image records (from
 * the entries, the manifest and the config) for list and resolve. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "image/ref.h"
#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/json.h"

int mtk_store_index_load(struct mtk_store *s, json_t **out, struct mtk_err **err)
{
  *out = NULL;
  mtk_autoclose int fd = openat(s->dirfd, "index.json", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return mtk_err_set(err, errno, "%s/index.json: %s", s->dir, strerror(errno));
  json_error_t je;
  json_t *idx = mtk_json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
  if (idx == NULL) {
    mtk_autofree char *path = mtk_xasprintf("%s/index.json", s->dir);
    return mtk_err_set_at(err, MTK_E_GENERIC, path, je.line, je.column, "%s", je.text);
  }
  json_t *m = json_object_get(idx, "manifests");
  if (!json_is_object(idx) || !json_is_array(m)) {
    json_decref(idx);
    return mtk_err_set(err, MTK_E_GENERIC, "%s/index.json: not an image index", s->dir);
  }
  *out = idx;
  return 0;
}

int mtk_store_index_save(struct mtk_store *s, json_t *index, struct mtk_err **err)
{
  mtk_autofree char *text = json_dumps(index, JSON_COMPACT);
  if (text == NULL)
    abort();
  return mtk_store_write_atomic(s->dirfd, "index.json", text, strlen(text), err);
}

const char *mtk_store_entry_ann(json_t *entry, const char *key)
{
  return json_string_value(json_object_get(json_object_get(entry, "annotations"), key));
}

static const char *entry_digest(json_t *entry)
{
  return json_string_value(json_object_get(entry, "digest"));
}

bool mtk_store_entry_tagged(json_t *entry)
{
  const char *name = mtk_store_entry_ann(entry, MTK_ANN_REF_NAME);
  if (name == NULL)
    return false;
  struct mtk_image_ref r;
  if (mtk_image_ref_parse(name, &r, NULL) < 0)
    return false;
  bool tagged = r.digest == NULL;
  mtk_image_ref_free(&r);
  return tagged;
}

/* The canonical stored name of ref: "domain/path:tag", or "domain/path@digest"
 * when a digest is given (the digest wins over a tag, as ParseDockerRef). */
static char *stored_name(const char *ref, struct mtk_err **err)
{
  mtk_autoimageref r = {0};
  if (mtk_image_ref_parse(ref, &r, err) < 0)
    return NULL;
  mtk_autofree char *name = mtk_image_ref_name(&r);
  if (r.digest)
    return mtk_xasprintf("%s@%s", name, r.digest);
  return mtk_xasprintf("%s:%s", name, r.tag);
}

int mtk_store_manifest_load(struct mtk_store *s, const char *digest, const char *media_type,
                            struct mtk_manifest **m, struct mtk_err **err)
{
  mtk_autofree char *buf = NULL;
  size_t len;
  if (mtk_store_blob_read(s, digest, MTK_STORE_MANIFEST_MAX, &buf, &len, err) < 0)
    return -1;
  return mtk_manifest_parse(buf, len, media_type, m, err);
}

static json_t *new_entry(const char *digest, const char *media_type, int64_t size,
                         const char *config)
{
  json_t *e = json_pack("{s:s,s:s,s:I,s:{s:s}}", "mediaType", media_type, "digest", digest, "size",
                        (json_int_t) size, "annotations", MTK_ANN_CONFIG, config);
  if (e == NULL)
    abort();
  return e;
}

static size_t count_manifest(json_t *list, const char *digest)
{
  size_t i, n = 0;
  json_t *e;
  json_array_foreach(list, i, e)
  {
    const char *d = entry_digest(e);
    if (d && strcmp(d, digest) == 0)
      n++;
  }
  return n;
}

static int find_name(json_t *list, const char *name);

/* The name leaves entry i.  When the registry gave a digest for it, the
 * image stays known as "name@repo-digest" (Docker keeps such digest
 * references: the image then shows as <none> with its digest).  Otherwise
 * the entry goes, unless it was the image's last one: then it stays
 * without a name (an untagged, dangling image). */
static void drop_name(json_t *list, size_t i)
{
  json_t *e = json_array_get(list, i);
  const char *digest = entry_digest(e);
  json_t *ann = json_object_get(e, "annotations");
  const char *repo = mtk_store_entry_ann(e, MTK_ANN_REPO_DIGEST);
  const char *name = mtk_store_entry_ann(e, MTK_ANN_REF_NAME);
  mtk_autoimageref r = {0};
  if (repo && name && mtk_image_ref_parse(name, &r, NULL) == 0) {
    mtk_autofree char *n = mtk_image_ref_name(&r);
    mtk_autofree char *byd = mtk_xasprintf("%s@%s", n, repo);
    if (find_name(list, byd) < 0) {
      json_object_set_new(ann, MTK_ANN_REF_NAME, json_string(byd));
      return;
    }
  }
  if (digest == NULL || count_manifest(list, digest) > 1)
    json_array_remove(list, i);
  else
    json_object_del(ann, MTK_ANN_REF_NAME);
}

static int find_name(json_t *list, const char *name)
{
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e)
  {
    const char *n = mtk_store_entry_ann(e, MTK_ANN_REF_NAME);
    if (n && strcmp(n, name) == 0)
      return (int) i;
  }
  return -1;
}

static void remove_untagged(json_t *list, const char *digest)
{
  for (size_t i = json_array_size(list); i-- > 0;) {
    json_t *e = json_array_get(list, i);
    const char *d = entry_digest(e);
    if (d && strcmp(d, digest) == 0 && mtk_store_entry_ann(e, MTK_ANN_REF_NAME) == NULL)
      json_array_remove(list, i);
  }
}

/* Adds (or moves) one name under the exclusive lock. */
static int tag_locked(struct mtk_store *s, const char *name, json_t *entry, struct mtk_err **err)
{
  json_t *idx;
  if (mtk_store_index_load(s, &idx, err) < 0)
    return -1;
  json_t *list = json_object_get(idx, "manifests");
  const char *digest = entry_digest(entry);
  if (name) {
    int at = find_name(list, name);
    if (at >= 0 && strcmp(entry_digest(json_array_get(list, (size_t) at)), digest) == 0) {
      /* Same target: keep the entry, refresh what it records. */
      json_array_remove(list, (size_t) at);
    } else if (at >= 0) {
      drop_name(list, (size_t) at);
    }
    remove_untagged(list, digest);
    json_object_set_new(json_object_get(entry, "annotations"), MTK_ANN_REF_NAME, json_string(name));
    json_array_append(list, entry);
  } else if (count_manifest(list, digest) == 0) {
    json_array_append(list, entry);
  }
  int r = mtk_store_index_save(s, idx, err);
  json_decref(idx);
  return r;
}

int mtk_store_tag_repo(struct mtk_store *s, const char *ref, const char *manifest_digest,
                       const char *media_type, int64_t size, const char *repo_digest,
                       struct mtk_err **err)
{
  if (!mtk_digest_valid(manifest_digest) || (repo_digest && !mtk_digest_valid(repo_digest)))
    return mtk_err_set(err, EINVAL, "invalid digest \"%s\"",
                       mtk_digest_valid(manifest_digest) ? repo_digest : manifest_digest);
  mtk_autofree char *name = NULL;
  if (ref && (name = stored_name(ref, err)) == NULL)
    return -1;
  mtk_autoptr(mtk_manifest) m = NULL;
  if (mtk_store_manifest_load(s, manifest_digest, media_type, &m, err) < 0)
    return mtk_err_wrap(err, "tagging %s", ref ? ref : manifest_digest);
  if (m->kind != MTK_MANIFEST_IMAGE)
    return mtk_err_set(err, EINVAL,
                       "tagging %s: %s is an index; tag one of its platform "
                       "manifests",
                       ref ? ref : manifest_digest, manifest_digest);
  int64_t real = mtk_store_blob_size(s, manifest_digest, err);
  if (real < 0)
    return -1;
  if (size >= 0 && size != real)
    return mtk_err_set(err, EBADMSG, "size mismatch for %s: got %lld bytes, expected %lld",
                       manifest_digest, (long long) real, (long long) size);
  json_t *entry = new_entry(manifest_digest, m->media_type, real, m->config.digest);
  if (repo_digest)
    json_object_set_new(json_object_get(entry, "annotations"), MTK_ANN_REPO_DIGEST,
                        json_string(repo_digest));
  mtk_autoclose int lk = mtk_store_flock(s, "lock", LOCK_EX, err);
  int r = lk < 0 ? -1 : tag_locked(s, name, entry, err);
  json_decref(entry);
  return r;
}

int mtk_store_tag(struct mtk_store *s, const char *ref, const char *manifest_digest,
                  const char *media_type, int64_t size, struct mtk_err **err)
{
  return mtk_store_tag_repo(s, ref, manifest_digest, media_type, size, NULL, err);
}

int mtk_store_untag(struct mtk_store *s, const char *ref, char **removed_id, struct mtk_err **err)
{
  if (removed_id)
    *removed_id = NULL;
  mtk_autofree char *name = stored_name(ref, err);
  if (name == NULL)
    return -1;
  mtk_autoclose int lk = mtk_store_flock(s, "lock", LOCK_EX, err);
  if (lk < 0)
    return -1;
  json_t *idx;
  if (mtk_store_index_load(s, &idx, err) < 0)
    return -1;
  json_t *list = json_object_get(idx, "manifests");
  int at = find_name(list, name);
  if (at < 0) {
    json_decref(idx);
    return mtk_err_set(err, ENOENT, "No such image: %s", ref);
  }
  json_t *e = json_array_get(list, (size_t) at);
  mtk_autofree char *digest = mtk_xstrdup(entry_digest(e));
  const char *config = mtk_store_entry_ann(e, MTK_ANN_CONFIG);
  mtk_autofree char *id = config ? mtk_xstrdup(config) : NULL;
  json_array_remove(list, (size_t) at);
  int r = mtk_store_index_save(s, idx, err);
  if (r == 0 && removed_id && count_manifest(list, digest) == 0)
    *removed_id = mtk_steal_ptr(&id);
  json_decref(idx);
  return r;
}

int mtk_store_remove(struct mtk_store *s, const char *manifest_digest, struct mtk_err **err)
{
  if (!mtk_digest_valid(manifest_digest))
    return mtk_err_set(err, EINVAL, "invalid digest \"%s\"", manifest_digest);
  mtk_autoclose int lk = mtk_store_flock(s, "lock", LOCK_EX, err);
  if (lk < 0)
    return -1;
  json_t *idx;
  if (mtk_store_index_load(s, &idx, err) < 0)
    return -1;
  json_t *list = json_object_get(idx, "manifests");
  size_t before = json_array_size(list);
  for (size_t i = before; i-- > 0;)
    if (strcmp(entry_digest(json_array_get(list, i)) ?: "", manifest_digest) == 0)
      json_array_remove(list, i);
  int r = json_array_size(list) == before
              ? mtk_err_set(err, ENOENT, "No such image: %s", manifest_digest)
              : mtk_store_index_save(s, idx, err);
  json_decref(idx);
  return r;
}
