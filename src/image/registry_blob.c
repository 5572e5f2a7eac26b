/* Blob downloads: several blobs at once on a curl multi handle, each
 * streamed into its caller's sink with its size enforced and its SHA-256
 * checked at the end; redirects to blob storage followed by hand without the
 * registry's Authorization; a dropped or stalled connection resumed with a
 * Range request (a server that answers 200 instead of 206 has the bytes the
 * sink already holds skipped); 429/5xx and network errors retried with
 * exponential backoff; the first fatal error stops every transfer
 * (IMAGES.md §2.1, §2.3; SECURITY.md §2.7, §2.10).  Also HEAD of a blob and
 * small blobs into memory. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry_internal.h"
#include "util/cleanup.h"
#include "util/sha256.h"

#define MAX_HOPS 5
#define MAX_AUTH_ROUNDS 3

struct dl;

struct xfer {
  struct dl *dl;                           /* borrowed: the download */
  const struct mtk_registry_blob_req *req; /* borrowed */
  char *reg_url;                           /* owned: the blob URL at the registry */
  char *url;                               /* owned: current URL (registry or redirect) */
  CURL *h;                                 /* owned: while running */
  struct curl_slist *hdrs;                 /* owned: while running */
  bool sent_auth;                          /* this attempt carried Authorization */
  struct mtk_registry_resp resp;           /* headers, and the body of error answers */
  int64_t done;                            /* bytes the sink has */
  int64_t skip;                            /* bytes of this answer already in the sink */
  int64_t start_done;                      /* done when this attempt started */
  bool checked;                            /* status judged at the first body byte */
  bool streaming;                          /* the body goes to the sink */
  bool no_range;                           /* the server refused Range (416) */
  int attempts;                            /* failed attempts in a row without progress */
  int hops;                                /* redirects followed in this attempt chain */
  int auth_rounds;                         /* 401s answered */
  double not_before;                       /* backoff: not started before */
  bool running;                            /* in the multi handle */
  bool finished;                           /* verified and complete */
  struct mtk_sha256 hash;                  /* running hash unless the sink verifies */
  struct mtk_err *err;                     /* owned: fatal error raised in a callback */
  char errbuf[CURL_ERROR_SIZE];
};

struct dl {
  struct mtk_registry *r;            /* borrowed */
  char *scope;                       /* owned: auth scope of the repository */
  char *origin;                      /* owned: "<scheme>://<host>/" of the registry */
  CURLM *multi;                      /* owned */
  struct xfer *x;                    /* owned: one per request */
  size_t n;                          /* number of transfers */
  mtk_registry_progress_cb progress; /* or NULL */
  void *pud;                         /* borrowed: progress user data */
};

/* ------------------------------------------------------------- callbacks */

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
  struct xfer *x = ud;
  mtk_registry_resp_header(&x->resp, buf, size * n);
  return size * n;
}

/* First body byte of an answer: decides whether it is blob data and where it
 * starts relative to what the sink has. */
static int judge(struct xfer *x)
{
  long st = x->resp.status;
  x->checked = true;
  x->streaming = st == 200 || st == 206;
  x->skip = 0;
  if (st == 200) {
    x->skip = x->done; /* Range ignored: the whole blob again */
  } else if (st == 206) {
    int64_t a = -1, b = -1;
    const char *cr = x->resp.content_range ? x->resp.content_range : "";
    if (sscanf(cr, "bytes %" SCNd64 "-%" SCNd64, &a, &b) != 2 || a > x->done || a < 0)
      return mtk_err_set(&x->err, MTK_E_PULL,
                         "blob %s: unusable Content-Range \"%.60s\" for a "
                         "request from byte %" PRId64,
                         x->req->digest, cr, x->done);
    x->skip = x->done - a;
  }
  return 0;
}

static size_t on_data(char *buf, size_t size, size_t n, void *ud)
{
  struct xfer *x = ud;
  size_t len = size * n;
  const char *data = buf;
  if (!x->checked && judge(x) < 0)
    return 0;
  if (!x->streaming) {
    if (x->resp.body.len + len <= MTK_REGISTRY_ERROR_MAX)
      mtk_strbuf_add(&x->resp.body, buf, len);
    return size * n;
  }
  size_t k = x->skip < (int64_t) len ? (size_t) x->skip : len;
  x->skip -= (int64_t) k;
  data += k;
  len -= k;
  if (len == 0)
    return size * n;
  if (x->done + (int64_t) len > x->req->size) {
    mtk_err_set(&x->err, MTK_E_PULL,
                "blob %s: the registry sent more than the %" PRId64 " bytes of its descriptor",
                x->req->digest, x->req->size);
    return 0;
  }
  if (x->hash.ctx)
    mtk_sha256_update(&x->hash, data, len);
  if (x->req->sink(x->req->sink_ud, data, len, &x->err) < 0) {
    if (!x->err)
      mtk_err_set(&x->err, EIO, "blob %s: the sink failed", x->req->digest);
    return 0;
  }
  x->done += (int64_t) len;
  x->dl->r->stats.bytes_in += (int64_t) len;
  if (x->dl->progress)
    x->dl->progress(x->dl->pud, x->req->digest, x->done, x->req->size);
  return size * n;
}

/* ------------------------------------------------------------- transfers */

static void stop(struct dl *d, struct xfer *x)
{
  if (x->h) {
    if (x->running)
      curl_multi_remove_handle(d->multi, x->h);
    curl_easy_cleanup(x->h);
  }
  curl_slist_free_all(x->hdrs);
  x->h = NULL;
  x->hdrs = NULL;
  x->running = false;
}

static int start(struct dl *d, struct xfer *x, struct mtk_err **err)
{
  mtk_autofree char *authz = NULL;
  bool at_registry = mtk_registry_same_origin(x->url, d->origin);
  if (at_registry && mtk_registry_auth_header(d->r, d->scope, &authz, err) < 0)
    return -1;
  x->h = curl_easy_init();
  if (!x->h)
    abort();
  mtk_registry_setup_easy(d->r, x->h, x->url, x->errbuf);
  if (authz) {
    mtk_autofree char *h = mtk_xasprintf("Authorization: %s", authz);
    x->hdrs = curl_slist_append(x->hdrs, h);
  }
  if (x->done > 0 && !x->no_range) {
    char h[64];
    snprintf(h, sizeof(h), "Range: bytes=%" PRId64 "-", x->done);
    x->hdrs = curl_slist_append(x->hdrs, h);
  }
  x->sent_auth = authz != NULL;
  curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
  curl_easy_setopt(x->h, CURLOPT_BUFFERSIZE, 256L * 1024); /* fewer, larger sink writes */
  curl_easy_setopt(x->h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(x->h, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
  mtk_registry_resp_free(&x->resp);
  x->checked = x->streaming = false;
  x->skip = 0;
  x->start_done = x->done;
  x->running = true;
  d->r->stats.requests++;
  if (curl_multi_add_handle(d->multi, x->h) != CURLM_OK)
    abort();
  return 0;
}

static int finish(struct dl *d, struct xfer *x, struct mtk_err **err)
{
  if (x->hash.ctx) {
    char got[MTK_DIGEST_SIZE];
    mtk_sha256_final(&x->hash, got);
    if (strcmp(got, x->req->digest) != 0)
      return mtk_err_set(err, MTK_E_PULL,
                         "blob %s: digest mismatch: got %s; the download was "
                         "discarded",
                         x->req->digest, got);
  }
  x->finished = true;
  if (d->progress)
    d->progress(d->pud, x->req->digest, x->done, x->req->size);
  return 0;
}

/* A transient failure: back off and resume (or give up). */
static int again(struct dl *d, struct xfer *x, const char *why, struct mtk_err **err)
{
  struct mtk_registry *r = d->r;
  if (x->done > x->start_done)
    x->attempts = 0; /* progress was made: the count starts over */
  if (++x->attempts >= r->max_attempts)
    return mtk_err_set(err, MTK_E_PULL, "blob %s: giving up after %d attempts: %s", x->req->digest,
                       x->attempts, why);
  int ms = mtk_registry_backoff_ms(r, x->attempts);
  if (x->resp.retry_after > 0)
    ms = (x->resp.retry_after > 30 ? 30 : x->resp.retry_after) * 1000;
  x->not_before = mtk_registry_now() + ms / 1000.0;
  /* Back to the registry: redirect targets may be signed, short-lived URLs. */
  free(x->url);
  x->url = mtk_xstrdup(x->reg_url);
  x->hops = 0;
  r->stats.retries++;
  if (x->done > 0 && !x->no_range)
    r->stats.resumes++;
  return 0;
}

static int on_redirect(struct dl *d, struct xfer *x, struct mtk_err **err)
{
  if (++x->hops > MAX_HOPS)
    return mtk_err_set(err, MTK_E_PULL, "blob %s: too many redirects", x->req->digest);
  char *next = mtk_registry_resolve(x->url, x->resp.location, err);
  if (!next)
    return mtk_err_wrap(err, "blob %s", x->req->digest);
  free(x->url);
  x->url = next;
  d->r->stats.redirects++;
  return 0;
}

static int on_unauthorized(struct dl *d, struct xfer *x, struct mtk_err **err)
{
  if (++x->auth_rounds > MAX_AUTH_ROUNDS)
    return mtk_registry_resp_error(d->r, &x->resp, MTK_E_PULL, err);
  mtk_autofree char *next = NULL;
  if (mtk_registry_auth_retry(d->r, d->scope, x->resp.www_auth, x->sent_auth, &next, err) < 0)
    return -1;
  free(d->scope);
  d->scope = mtk_steal_ptr(&next);
  return 0;
}

/* A transfer ended: judge the outcome.  0 = finished or queued again. */
static int ended(struct dl *d, struct xfer *x, CURLcode c, struct mtk_err **err)
{
  long st = x->resp.status;
  bool at_registry = mtk_registry_same_origin(x->url, d->origin);
  stop(d, x);
  if (x->err) {
    *err = mtk_steal_ptr(&x->err);
    return -1;
  }
  if (c != CURLE_OK) {
    mtk_autofree char *why = mtk_xasprintf("%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(c));
    if (mtk_registry_transient(c))
      return again(d, x, why, err);
    mtk_autofree char *shown = mtk_registry_url_shown(x->url);
    return mtk_err_set(err, MTK_E_PULL, "blob %s: GET %s: %s", x->req->digest, shown, why);
  }
  if (st == 200 || st == 206) {
    if (x->done == x->req->size && x->skip == 0)
      return finish(d, x, err);
    return again(d, x, "the connection closed before the end of the blob", err);
  }
  if (mtk_registry_is_redirect(st) && x->resp.location)
    return on_redirect(d, x, err);
  if (st == 401 && at_registry)
    return on_unauthorized(d, x, err);
  if (st == 416 && !x->no_range) {
    x->no_range = true;
    return 0;
  }
  if (mtk_registry_retry_status(st)) {
    mtk_autofree char *why = mtk_xasprintf("HTTP %ld", st);
    return again(d, x, why, err);
  }
  mtk_registry_resp_error(d->r, &x->resp, MTK_E_PULL, err);
  return mtk_err_wrap(err, "blob %s", x->req->digest);
}

/* ------------------------------------------------------------- the loop */

/* Starts queued transfers; returns how many are running, sets *next_ms to the
 * wait until the next backoff expires (or leaves it). */
static int schedule(struct dl *d, int max_parallel, long *next_ms, struct mtk_err **err)
{
  int running = 0;
  double now = mtk_registry_now();
  for (size_t i = 0; i < d->n; i++)
    running += d->x[i].running;
  for (size_t i = 0; i < d->n && running < max_parallel; i++) {
    struct xfer *x = &d->x[i];
    if (x->finished || x->running)
      continue;
    if (x->not_before > now) {
      long ms = (long) ((x->not_before - now) * 1000) + 1;
      if (ms < *next_ms)
        *next_ms = ms;
      continue;
    }
    if (start(d, x, err) < 0)
      return -1;
    running++;
  }
  return running;
}

static bool all_finished(const struct dl *d)
{
  for (size_t i = 0; i < d->n; i++)
    if (!d->x[i].finished)
      return false;
  return true;
}

static int run(struct dl *d, int max_parallel, struct mtk_err **err)
{
  while (!all_finished(d)) {
    if (mtk_registry_cancelled(d->r))
      return mtk_err_set(err, MTK_E_INTR, "interrupted");
    long wait_ms = 1000;
    if (schedule(d, max_parallel, &wait_ms, err) < 0)
      return -1;
    int still = 0;
    if (curl_multi_perform(d->multi, &still) != CURLM_OK)
      return mtk_err_set(err, MTK_E_PULL, "curl multi failure");
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(d->multi, &left))) {
      if (m->msg != CURLMSG_DONE)
        continue;
      struct xfer *x = NULL;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &x);
      if (ended(d, x, m->data.result, err) < 0)
        return -1;
      wait_ms = 0; /* something may start at once */
    }
    if (wait_ms > 0)
      curl_multi_poll(d->multi, NULL, 0, (int) wait_ms, NULL);
  }
  return 0;
}

static void dl_free(struct dl *d)
{
  for (size_t i = 0; i < d->n; i++) {
    struct xfer *x = &d->x[i];
    stop(d, x);
    mtk_sha256_free(&x->hash);
    mtk_registry_resp_free(&x->resp);
    mtk_err_free(&x->err);
    free(x->url);
    free(x->reg_url);
  }
  free(d->x);
  free(d->scope);
  free(d->origin);
  if (d->multi)
    curl_multi_cleanup(d->multi);
}

static int dl_init(struct dl *d, const char *repo, const struct mtk_registry_blob_req *reqs,
                   size_t n, struct mtk_err **err)
{
  d->x = mtk_xcalloc(n ? n : 1, sizeof(*d->x));
  d->n = n;
  for (size_t i = 0; i < n; i++) {
    struct xfer *x = &d->x[i];
    x->dl = d;
    x->req = &reqs[i];
    x->resp = (struct mtk_registry_resp){.content_length = -1, .retry_after = -1};
    if (reqs[i].size < 0 || !reqs[i].sink)
      return mtk_err_set(err, EINVAL, "blob %s: a size and a sink are required",
                         reqs[i].digest ? reqs[i].digest : "?");
    x->reg_url = mtk_registry_url(d->r, repo, "blobs", reqs[i].digest, false, err);
    if (!x->reg_url)
      return -1;
    x->url = mtk_xstrdup(x->reg_url);
    if (!reqs[i].sink_verifies)
      mtk_sha256_init(&x->hash);
  }
  d->multi = curl_multi_init();
  if (!d->multi)
    abort();
  return 0;
}

int mtk_registry_get_blobs(struct mtk_registry *r, const char *repo,
                           const struct mtk_registry_blob_req *reqs, size_t n, int max_parallel,
                           mtk_registry_progress_cb progress, void *pud, struct mtk_err **err)
{
  if (mtk_registry_ping(r, err) < 0)
    return -1;
  struct dl d = {.r = r, .progress = progress, .pud = pud};
  d.scope = mtk_registry_scope(repo, "pull");
  d.origin = mtk_xasprintf("%s://%s/", r->scheme, r->host);
  int ret = dl_init(&d, repo, reqs, n, err);
  if (ret == 0) {
    curl_multi_setopt(d.multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long) (max_parallel > 0 ? max_parallel : 3));
    ret = run(&d, max_parallel > 0 ? max_parallel : 3, err);
  }
  dl_free(&d);
  return ret;
}

/* ---------------------------------------------------------- small blobs */

struct membuf {
  struct mtk_strbuf sb; /* the blob */
  size_t max;           /* cap */
};

static int mem_sink(void *ud, const void *buf, size_t n, struct mtk_err **err)
{
  struct membuf *m = ud;
  if (m->sb.len + n > m->max)
    return mtk_err_set(err, EFBIG, "blob larger than %zu bytes", m->max);
  mtk_strbuf_add(&m->sb, buf, n);
  return 0;
}

int mtk_registry_get_blob_mem(struct mtk_registry *r, const char *repo, const char *digest,
                              int64_t size, size_t max, char **buf, size_t *len,
                              struct mtk_err **err)
{
  if (size < 0) {
    int e = mtk_registry_blob_exists(r, repo, digest, &size, err);
    if (e < 0)
      return -1;
    if (e == 0)
      return mtk_err_set(err, MTK_E_PULL, "blob %s: blob unknown to registry", digest);
    if (size < 0)
      return mtk_err_set(err, MTK_E_PULL, "blob %s: size unknown", digest);
  }
  if ((uint64_t) size > max)
    return mtk_err_set(err, EFBIG, "blob %s: %" PRId64 " bytes, more than the %zu allowed", digest,
                       size, max);
  struct membuf m = {MTK_STRBUF_INIT, max};
  struct mtk_registry_blob_req q = {
      .digest = digest, .size = size, .sink = mem_sink, .sink_ud = &m};
  if (mtk_registry_get_blobs(r, repo, &q, 1, 1, NULL, NULL, err) < 0) {
    mtk_strbuf_free(&m.sb);
    return -1;
  }
  if (len)
    *len = m.sb.len;
  *buf = mtk_strbuf_steal(&m.sb);
  return 0;
}

int mtk_registry_blob_exists(struct mtk_registry *r, const char *repo, const char *digest,
                             int64_t *size, struct mtk_err **err)
{
  mtk_autofree char *scope = mtk_registry_scope(repo, "pull");
  return mtk_registry_blob_head(r, repo, digest, scope, size, err);
}

int mtk_registry_blob_head(struct mtk_registry *r, const char *repo, const char *digest,
                           const char *scope, int64_t *size, struct mtk_err **err)
{
  mtk_autofree char *url = mtk_registry_url(r, repo, "blobs", digest, false, err);
  if (!url)
    return -1;
  struct mtk_registry_req q = {
      .method = "HEAD", .url = url, .scope = scope, .fd = -1, .retry = true};
  struct mtk_registry_resp p = {.content_length = -1, .retry_after = -1};
  int ret = mtk_registry_request(r, &q, &p, err);
  if (size)
    *size = -1;
  if (ret == 0) {
    /* A redirect to blob storage means the registry has it (IMAGES.md §2.3). */
    if (p.status == 200 || mtk_registry_is_redirect(p.status)) {
      ret = 1;
      if (size && p.status == 200)
        *size = p.content_length;
    } else if (p.status == 404) {
      ret = 0;
    } else {
      ret = mtk_registry_resp_error(r, &p, MTK_E_PULL, err);
      mtk_err_wrap(err, "blob %s", digest);
    }
  }
  mtk_registry_resp_free(&p);
  return ret;
}
