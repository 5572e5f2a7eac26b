/* Blob uploads (IMAGES.md §2.2): HEAD to skip what the registry has, a
 * cross-repository mount, then an upload session (POST) finished either
 * monolithically (PUT <Location>&digest= with the whole blob) or in chunks
 * (PATCH <Location> with Content-Range, then PUT).  Distribution 2.8 ignores
 * Content-Range and cancels a session addressed by a stale Location, so the
 * Location of the latest answer is always used, a failed PATCH resumes from
 * the session's status (GET <Location> -> Range: 0-<last>), and a session
 * that is gone is started over. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/ref.h"
#include "image/registry_internal.h"
#include "util/cleanup.h"
#include "util/sha256.h"

/* What an upload step asks the caller to do. */
enum step {
  STEP_DONE = 0,    /* the blob is stored */
  STEP_RESTART = 1, /* the session is gone: start a new one */
};

struct push {
  struct mtk_registry *r; /* borrowed */
  const char *repo;       /* borrowed */
  const char *digest;     /* borrowed */
  int64_t size;           /* blob size */
  int fd;                 /* borrowed: blob content */
  char *scope;            /* owned: auth scope */
  char *location;         /* owned: the session URL from the latest answer */
  int64_t chunk;          /* bytes per PATCH */
};

/* Hands a collected error to the caller (the first cause wins). */
static void pass_err(struct mtk_err **err, struct mtk_err **e)
{
  if (err && !*err)
    *err = mtk_steal_ptr(e);
  mtk_err_free(e);
}

static int set_location(struct push *u, const char *base, const struct mtk_registry_resp *p,
                        struct mtk_err **err)
{
  if (!p->location || !*p->location)
    return mtk_err_set(err, MTK_E_GENERIC,
                       "blob %s: the registry answered %ld without a "
                       "Location for the upload",
                       u->digest, p->status);
  char *next = mtk_registry_resolve(base, p->location, err);
  if (!next)
    return -1;
  free(u->location);
  u->location = next;
  return 0;
}

static int push_error(struct push *u, const struct mtk_registry_resp *p, struct mtk_err **err)
{
  mtk_registry_resp_error(u->r, p, MTK_E_GENERIC, err);
  return mtk_err_wrap(err, "blob %s", u->digest);
}

/* POST: a new session (or a finished mount: returns 1). */
static int session_start(struct push *u, const char *mount_from, struct mtk_err **err)
{
  mtk_autofree char *base = mtk_registry_url(u->r, u->repo, "blobs", NULL, false, err);
  if (!base)
    return -1;
  mtk_autofree char *url =
      mount_from ? mtk_xasprintf("%suploads/?mount=%s&from=%s", base, u->digest, mount_from)
                 : mtk_xasprintf("%suploads/", base);
  struct mtk_registry_req q = {
      .method = "POST", .url = url, .scope = u->scope, .fd = -1, .retry = true};
  struct mtk_registry_resp p = {.content_length = -1, .retry_after = -1};
  int ret = mtk_registry_request(u->r, &q, &p, err);
  if (ret == 0 && mount_from && p.status == 201)
    ret = 1;
  else if (ret == 0 && p.status != 202)
    ret = push_error(u, &p, err);
  else if (ret == 0)
    ret = set_location(u, url, &p, err);
  if (ret == 0 && p.chunk_min > u->chunk)
    u->chunk = p.chunk_min;
  mtk_registry_resp_free(&p);
  return ret;
}

/* The URL that finishes the session: Location + digest parameter. Owned. */
static char *put_url(const struct push *u)
{
  const char *sep = strchr(u->location, '?') ? "&" : "?";
  return mtk_xasprintf("%s%sdigest=sha256%%3A%s", u->location, sep, mtk_digest_hex(u->digest));
}

/* PUT <Location>&digest= with the bytes [off, size) (all of them for a
 * monolithic upload, none after the chunks). */
static int session_finish(struct push *u, int64_t off, struct mtk_err **err)
{
  mtk_autofree char *url = put_url(u);
  struct mtk_registry_req q = {.method = "PUT",
                               .url = url,
                               .scope = u->scope,
                               .fd = u->fd,
                               .fd_off = off,
                               .fd_len = u->size - off,
                               .content_type = "application/octet-stream"};
  struct mtk_registry_resp p = {.content_length = -1, .retry_after = -1};
  struct mtk_err *e = NULL;
  int ret = mtk_registry_request(u->r, &q, &p, &e);
  if (ret < 0 && p.curl_code && mtk_registry_transient(p.curl_code)) {
    mtk_err_free(&e); /* the connection broke: a new session (HEAD first) */
    ret = STEP_RESTART;
  } else if (ret < 0) {
    pass_err(err, &e);
  } else if (p.status == 404 || mtk_registry_retry_status(p.status)) {
    ret = STEP_RESTART; /* session gone, or a server hiccup: HEAD, then a new one */
  } else if (p.status != 201) {
    ret = push_error(u, &p, err);
  } else if (p.digest && strcmp(p.digest, u->digest) != 0) {
    ret =
        mtk_err_set(err, MTK_E_GENERIC, "blob %s: the registry stored %.80s", u->digest, p.digest);
  }
  mtk_registry_resp_free(&p);
  return ret;
}

/* "0-<last>" -> last + 1 (bytes the session holds); -1 when unusable. */
static int64_t range_end(const char *range)
{
  int64_t a, b;
  if (!range || sscanf(range, "%" SCNd64 "-%" SCNd64, &a, &b) != 2 || a != 0 || b < 0)
    return -1;
  return b + 1;
}

/* GET <Location>: how much the session holds (or STEP_RESTART when it is gone). */
static int session_status(struct push *u, int64_t *off, struct mtk_err **err)
{
  struct mtk_registry_req q = {
      .method = "GET", .url = u->location, .scope = u->scope, .fd = -1, .retry = true};
  struct mtk_registry_resp p = {.content_length = -1, .retry_after = -1};
  int ret = mtk_registry_request(u->r, &q, &p, err);
  if (ret == 0 && (p.status == 404 || p.status == 400))
    ret = STEP_RESTART;
  else if (ret == 0 && p.status != 204)
    ret = push_error(u, &p, err);
  else if (ret == 0) {
    /* distribution answers "0-0" for an empty session and for one holding
     * one byte: ambiguous, so such a session is started over. */
    int64_t end = range_end(p.range);
    *off = end < 0 ? 0 : end;
    if (end <= 1 || end > u->size)
      ret = STEP_RESTART;
    else
      ret = set_location(u, u->location, &p, err);
  }
  mtk_registry_resp_free(&p);
  return ret;
}

/* One PATCH of [off, off+n).  Returns 0 (with *off advanced to what the
 * registry says it holds) or 1 when the chunk must be retried. */
static int patch_chunk(struct push *u, int64_t *off, int64_t n, struct mtk_err **err)
{
  char range[64];
  snprintf(range, sizeof(range), "%" PRId64 "-%" PRId64, *off, *off + n - 1);
  struct mtk_registry_req q = {.method = "PATCH",
                               .url = u->location,
                               .scope = u->scope,
                               .fd = u->fd,
                               .fd_off = *off,
                               .fd_len = n,
                               .content_type = "application/octet-stream",
                               .content_range = range};
  struct mtk_registry_resp p = {.content_length = -1, .retry_after = -1};
  struct mtk_err *e = NULL;
  int ret = mtk_registry_request(u->r, &q, &p, &e);
  if (ret < 0 && p.curl_code && mtk_registry_transient(p.curl_code)) {
    mtk_err_free(&e); /* a network failure: ask the session where it stands */
    ret = 1;
  } else if (ret < 0) {
    pass_err(err, &e);
  } else if (p.status == 416 || mtk_registry_retry_status(p.status)) {
    ret = 1;
  } else if (p.status != 202) {
    ret = push_error(u, &p, err);
  } else if ((ret = set_location(u, u->location, &p, err)) == 0) {
    int64_t end = range_end(p.range);
    *off = end > 0 ? end : *off + n;
  }
  mtk_registry_resp_free(&p);
  return ret;
}

static int upload_chunked(struct push *u, struct mtk_err **err)
{
  int64_t off = 0;
  int failures = 0;
  while (off < u->size) {
    int64_t n = u->size - off < u->chunk ? u->size - off : u->chunk;
    int64_t before = off;
    int ret = patch_chunk(u, &off, n, err);
    if (ret < 0)
      return -1;
    if (ret == 0 && off > before && off <= u->size) {
      failures = 0;
      continue;
    }
    if (++failures >= u->r->max_attempts)
      return mtk_err_set(err, MTK_E_GENERIC,
                         "blob %s: the upload failed %d times at byte "
                         "%" PRId64,
                         u->digest, failures, before);
    u->r->stats.retries++;
    ret = session_status(u, &off, err);
    if (ret != 0)
      return ret;
  }
  return session_finish(u, off, err);
}

static int push_init(struct push *u, const char *mount_from, struct mtk_err **err)
{
  if (!mtk_digest_valid(u->digest))
    return mtk_err_set(err, EINVAL, "invalid digest \"%s\"", u->digest ? u->digest : "");
  struct stat st;
  if (u->fd < 0 || fstat(u->fd, &st) < 0)
    return mtk_err_set(err, EBADF, "blob %s: no readable file", u->digest);
  if (u->size < 0 || (S_ISREG(st.st_mode) && st.st_size < u->size))
    return mtk_err_set(err, EINVAL, "blob %s: the file holds %lld bytes, not %" PRId64, u->digest,
                       (long long) st.st_size, u->size);
  if (mount_from && (!mtk_image_ref_path_valid(mount_from) || strcmp(mount_from, u->repo) == 0))
    mount_from = NULL;
  /* One token for everything: push on the target, pull on the mount source. */
  mtk_autofree char *own = mtk_registry_scope(u->repo, "pull,push");
  mtk_autofree char *src = mount_from ? mtk_registry_scope(mount_from, "pull") : NULL;
  u->scope = mtk_registry_scopes_union(own, src);
  u->chunk = u->r->chunk_size;
  return 0;
}

int mtk_registry_push_blob(struct mtk_registry *r, const char *repo, const char *digest,
                           int64_t size, int fd, const char *mount_from, bool chunked,
                           struct mtk_err **err)
{
  struct push u = {.r = r, .repo = repo, .digest = digest, .size = size, .fd = fd};
  int ret = push_init(&u, mount_from, err);
  if (mount_from && (!mtk_image_ref_path_valid(mount_from) || strcmp(mount_from, repo) == 0))
    mount_from = NULL;
  for (int attempt = 1; ret == 0; attempt++) {
    ret = mtk_registry_blob_head(r, repo, digest, u.scope, NULL, err);
    if (ret != 0) {
      ret = ret > 0 ? MTK_REGISTRY_EXISTS : -1;
      break;
    }
    ret = session_start(&u, attempt == 1 ? mount_from : NULL, err);
    if (ret != 0) {
      ret = ret > 0 ? MTK_REGISTRY_MOUNTED : -1;
      break;
    }
    ret = chunked ? upload_chunked(&u, err) : session_finish(&u, 0, err);
    if (ret != STEP_RESTART)
      break;
    if (attempt >= r->max_attempts) {
      ret =
          mtk_err_set(err, MTK_E_GENERIC, "blob %s: the upload session kept disappearing", digest);
      break;
    }
    r->stats.retries++;
    ret = 0;
  }
  free(u.scope);
  free(u.location);
  return ret;
}
