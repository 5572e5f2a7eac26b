/* Garbage collection of the image store (`mtk image prune`): untagged
 * images that no container uses leave the index, then every blob and
 * snapshot that no remaining image references is removed, with temp files
 * older than an hour.  Prune holds gc.lock exclusively (it waits for every
 * lease: pulls, loads and builds in progress) and the index lock
 * exclusively, so nothing it cannot see a reference to is being written. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/store_internal.h"
#include "util/cleanup.h"

#define STALE_SECONDS 3600

/* A set of 64-hex names: a growable sorted-at-the-end array. */
struct hexset {
  char (*v)[65];
  size_t n, cap;
};

static void set_add(struct hexset *h, const char *digest)
{
  const char *hex = mtk_digest_hex(digest);
  if (hex == NULL)
    return;
  if (h->n == h->cap) {
    h->cap = h->cap ? 2 * h->cap : 64;
    h->v = mtk_xrealloc(h->v, h->cap * sizeof(*h->v));
  }
  memcpy(h->v[h->n++], hex, 65);
}

static int cmp_hex(const void *a, const void *b)
{
  return memcmp(a, b, 64);
}

static bool set_has(const struct hexset *h, const char *hex)
{
  return h->n > 0 && bsearch(hex, h->v, h->n, sizeof(*h->v), cmp_hex) != NULL;
}

static bool in_keep(json_t *e, const char *const *keep, size_t n)
{
  const char *digest = json_string_value(json_object_get(e, "digest"));
  const char *id = mtk_store_entry_ann(e, MTK_ANN_CONFIG);
  for (size_t i = 0; i < n; i++) {
    const char *k = keep[i];
    if (k == NULL)
      continue;
    const char *khex = strncmp(k, "sha256:", 7) == 0 ? k + 7 : k;
    if ((mtk_digest_valid(digest) && strcmp(digest + 7, khex) == 0) ||
        (mtk_digest_valid(id) && strcmp(id + 7, khex) == 0))
      return true;
  }
  return false;
}

/* Everything a kept image needs: manifest, config, layers, the index the
 * registry served, and the chain IDs of its snapshots. */
static int mark_image(struct mtk_store *s, json_t *e, struct hexset *blobs, struct hexset *chains,
                      struct mtk_err **err)
{
  const char *digest = json_string_value(json_object_get(e, "digest"));
  const char *mt = json_string_value(json_object_get(e, "mediaType"));
  set_add(blobs, digest);
  set_add(blobs, mtk_store_entry_ann(e, MTK_ANN_REPO_DIGEST));
  mtk_autoptr(mtk_manifest) m = NULL;
  /* An unreadable manifest keeps only itself: prune must not fail on it. */
  if (mtk_store_manifest_load(s, digest, mt, &m, NULL) < 0 || m->kind != MTK_MANIFEST_IMAGE)
    return 0;
  set_add(blobs, m->config.digest);
  for (size_t i = 0; i < m->n_layers; i++)
    set_add(blobs, m->layers[i].digest);
  mtk_autofree char *buf = NULL;
  size_t len;
  mtk_autoptr(mtk_image_config) c = NULL;
  if (mtk_store_blob_read(s, m->config.digest, MTK_STORE_CONFIG_MAX, &buf, &len, NULL) < 0 ||
      mtk_image_config_parse(buf, len, &c, NULL) < 0)
    return 0;
  char chain[MTK_DIGEST_SIZE];
  for (size_t i = 0; i < c->n_diff_ids; i++) {
    if (mtk_store_chain_id(i ? chain : NULL, c->diff_ids[i], chain, err) < 0)
      return -1;
    set_add(chains, chain);
  }
  return 0;
}

/* Drops untagged entries not in use; marks what the others reference. */
static int mark(struct mtk_store *s, const char *const *keep, size_t n_keep, struct hexset *blobs,
                struct hexset *chains, struct mtk_err **err)
{
  json_t *idx;
  if (mtk_store_index_load(s, &idx, err) < 0)
    return -1;
  json_t *list = json_object_get(idx, "manifests");
  size_t before = json_array_size(list);
  for (size_t i = before; i-- > 0;) {
    json_t *e = json_array_get(list, i);
    if (!mtk_store_entry_tagged(e) && !in_keep(e, keep, n_keep))
      json_array_remove(list, i);
  }
  int r = json_array_size(list) != before ? mtk_store_index_save(s, idx, err) : 0;
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e)
  {
    if (r == 0)
      r = mark_image(s, e, blobs, chains, err);
  }
  json_decref(idx);
  if (blobs->n)
    qsort(blobs->v, blobs->n, sizeof(*blobs->v), cmp_hex);
  if (chains->n)
    qsort(chains->v, chains->n, sizeof(*chains->v), cmp_hex);
  return r;
}

static bool is_hex64(const char *s)
{
  return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static bool is_stale(int dirfd, const char *name, time_t now)
{
  struct stat st;
  return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime + STALE_SECONDS < now;
}

/* Calls decide(name) for each entry of dirfd and removes those it selects. */
static int sweep(int dirfd, const char *what, bool (*decide)(int, const char *, void *), void *ctx,
                 int64_t *freed, struct mtk_err **err)
{
  int fd = dup(dirfd);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (d == NULL) {
    if (fd >= 0)
      close(fd);
    return mtk_err_set(err, errno, "reading %s: %s", what, strerror(errno));
  }
  rewinddir(d);
  int r = 0;
  struct dirent *e;
  while (r == 0 && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || strcmp(e->d_name, "..") == 0))
      continue;
    if (decide(dirfd, e->d_name, ctx))
      r = mtk_store_remove_tree(dirfd, e->d_name, freed, err);
  }
  closedir(d);
  return r;
}

struct sweep_ctx {
  const struct hexset *keep;
  time_t now;
};

static bool blob_unused(int dirfd, const char *name, void *p)
{
  struct sweep_ctx *c = p;
  if (is_hex64(name))
    return !set_has(c->keep, name);
  return is_stale(dirfd, name, c->now); /* a stray file */
}

static bool snapshot_unused(int dirfd, const char *name, void *p)
{
  struct sweep_ctx *c = p;
  if (!is_hex64(name))
    return strncmp(name, "tmp-", 4) == 0 && is_stale(dirfd, name, c->now);
  if (!set_has(c->keep, name))
    return true;
  char marker[80];
  snprintf(marker, sizeof(marker), "%s/complete", name);
  return faccessat(dirfd, marker, F_OK, AT_SYMLINK_NOFOLLOW) != 0;
}

static bool temp_stale(int dirfd, const char *name, void *p)
{
  struct sweep_ctx *c = p;
  return is_stale(dirfd, name, c->now);
}

static bool index_temp_stale(int dirfd, const char *name, void *p)
{
  struct sweep_ctx *c = p;
  return strncmp(name, ".index.json.tmp-", 16) == 0 && is_stale(dirfd, name, c->now);
}

int mtk_store_prune(struct mtk_store *s, const char *const *keep_ids_in_use, size_t n_keep,
                    int64_t *freed_bytes, struct mtk_err **err)
{
  if (freed_bytes)
    *freed_bytes = 0;
  if (s->leases > 0)
    return mtk_err_set(err, EBUSY, "image prune: this process is writing to the image store");
  mtk_autoclose int gc = mtk_store_flock(s, "gc.lock", LOCK_EX, err);
  if (gc < 0)
    return -1;
  mtk_autoclose int lk = mtk_store_flock(s, "lock", LOCK_EX, err);
  if (lk < 0)
    return -1;
  struct hexset blobs = {0}, chains = {0};
  int64_t freed = 0;
  int r = mark(s, keep_ids_in_use, n_keep, &blobs, &chains, err);
  struct sweep_ctx bc = {&blobs, time(NULL)}, sc = {&chains, bc.now};
  mtk_autofree char *bdir = mtk_xasprintf("%s/blobs/sha256", s->dir);
  mtk_autofree char *sdir = mtk_xasprintf("%s/snapshots", s->dir);
  mtk_autofree char *tdir = mtk_xasprintf("%s/tmp", s->dir);
  if (r == 0)
    r = sweep(s->blobsfd, bdir, blob_unused, &bc, &freed, err);
  if (r == 0)
    r = sweep(s->snapfd, sdir, snapshot_unused, &sc, &freed, err);
  if (r == 0)
    r = sweep(s->tmpfd, tdir, temp_stale, &bc, &freed, err);
  if (r == 0)
    r = sweep(s->dirfd, s->dir, index_temp_stale, &bc, &freed, err);
  free(blobs.v);
  free(chains.v);
  if (freed_bytes)
    *freed_bytes = freed;
  return r < 0 ? mtk_err_wrap(err, "image prune") : 0;
}
