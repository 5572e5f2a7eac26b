/* The registry client object and its request engine: scheme and auth
 * discovery (GET /v2/), one HTTP exchange on a reused curl easy handle with
 * the Authorization the auth module hands out, 401 challenges answered,
 * redirects followed by hand (no Authorization to another origin, no https ->
 * http), transient failures retried with backoff, and the registry's JSON
 * errors turned into messages.  Manifests are in registry_manifest.c, blobs in
 * registry_blob.c and registry_push.c. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "image/ref.h"
#include "image/registry_internal.h"
#include "util/cleanup.h"
#include "util/dl.h"
#include "util/sha256.h"

#define MAX_REDIRECTS 5
#define RETRY_AFTER_MAX 30

/* ------------------------------------------------------------ the object */

static bool host_valid(const char *h)
{
  if (!h || !*h || strlen(h) > 255)
    return false;
  for (const char *p = h; *p; p++)
    if (!isalnum((unsigned char) *p) && !strchr(".-:[]_", *p))
      return false;
  return true;
}

/* localhost, 127.0.0.0/8 and ::1 (with or without a port) may use plain HTTP,
 * as Docker treats them as insecure registries by default. */
static bool host_loopback(const char *h)
{
  char name[256];
  if (h[0] == '[') {
    const char *e = strchr(h, ']');
    if (!e || (size_t) (e - h - 1) >= sizeof(name))
      return false;
    snprintf(name, sizeof(name), "%.*s", (int) (e - h - 1), h + 1);
    return strcmp(name, "::1") == 0;
  }
  snprintf(name, sizeof(name), "%s", h);
  char *colon = strchr(name, ':');
  if (colon)
    *colon = '\0';
  if (strcasecmp(name, "localhost") == 0)
    return true;
  unsigned a, b, c, d;
  char extra;
  return sscanf(name, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4 && a == 127 && b < 256 &&
         c < 256 && d < 256;
}

struct mtk_registry *mtk_registry_new(const struct mtk_registry_opts *o, struct mtk_err **err)
{
  const char *host = o->host;
  if (host && (strcmp(host, "docker.io") == 0 || strcmp(host, "index.docker.io") == 0))
    host = MTK_IMAGE_REF_HUB_REGISTRY;
  if (!host_valid(host)) {
    mtk_err_set(err, EINVAL, "invalid registry host \"%s\"", host ? host : "");
    return NULL;
  }
  CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (cc != CURLE_OK) { /* libcurl missing (util/dl.h): its strerror says so */
    mtk_err_set(err, mtk_dl_error(MTK_DL_CURL) ? ELIBACC : MTK_E_PULL, "%s",
                curl_easy_strerror(cc));
    return NULL;
  }
  struct mtk_registry *r = mtk_xcalloc(1, sizeof(*r));
  r->host = mtk_xstrdup(host);
  r->insecure = o->insecure || host_loopback(host);
  r->user_agent = mtk_xstrdup(o->user_agent ? o->user_agent : "mtk/" MTK_VERSION);
  r->auth_config = o->auth_config ? mtk_xstrdup(o->auth_config) : NULL;
  r->ca_file = o->ca_file ? mtk_xstrdup(o->ca_file) : NULL;
  r->chunk_size = o->chunk_size > 0 ? o->chunk_size : 8 * 1024 * 1024;
  r->max_attempts = o->max_attempts > 0 ? o->max_attempts : 5;
  r->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : 250;
  r->cancel = o->cancel;
  r->easy = curl_easy_init();
  r->share = curl_share_init();
  if (!r->easy || !r->share)
    abort();
  curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  return r;
}

void mtk_registry_free(struct mtk_registry *r)
{
  if (!r)
    return;
  curl_easy_cleanup(r->easy);
  curl_share_cleanup(r->share);
  mtk_registry_tokens_free(r);
  mtk_registry_creds_clear(&r->creds);
  free(r->host);
  free(r->user_agent);
  free(r->auth_config);
  free(r->ca_file);
  free(r->realm);
  free(r->service);
  free(r);
}

const char *mtk_registry_host(const struct mtk_registry *r)
{
  return r->host;
}

const char *mtk_registry_scheme(const struct mtk_registry *r)
{
  return r->scheme;
}

void mtk_registry_get_stats(const struct mtk_registry *r, struct mtk_registry_stats *out)
{
  *out = r->stats;
}

/* -------------------------------------------------------------- helpers */

double mtk_registry_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int mtk_registry_backoff_ms(const struct mtk_registry *r, int attempt)
{
  long ms = r->backoff_ms;
  for (int i = 1; i < attempt && ms < 5000; i++)
    ms *= 2;
  return ms > 5000 ? 5000 : (int) ms;
}

bool mtk_registry_transient(CURLcode c)
{
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

bool mtk_registry_cancelled(const struct mtk_registry *r)
{
  return r->cancel && *r->cancel;
}

char *mtk_registry_scope(const char *repo, const char *actions)
{
  return mtk_xasprintf("repository:%s:%s", repo, actions);
}

static void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* "<scheme>://<host>" (owned). */
static char *base_url(struct mtk_registry *r)
{
  return mtk_xasprintf("%s://%s", r->scheme ? r->scheme : "https", r->host);
}

char *mtk_registry_url(struct mtk_registry *r, const char *repo, const char *kind, const char *ref,
                       bool tag_ok, struct mtk_err **err)
{
  /* Validated before anything reaches a URL (CVE-2024-3727). */
  if (!repo || !mtk_image_ref_path_valid(repo)) {
    mtk_err_set(err, EINVAL, "invalid repository name \"%s\"", repo ? repo : "");
    return NULL;
  }
  if (ref && !mtk_digest_valid(ref) && !(tag_ok && mtk_image_ref_tag_valid(ref))) {
    mtk_err_set(err, EINVAL, tag_ok ? "invalid tag or digest \"%s\"" : "invalid digest \"%s\"",
                ref);
    return NULL;
  }
  /* The scheme is known only once the registry answered. */
  if (mtk_registry_ping(r, err) < 0)
    return NULL;
  mtk_autofree char *base = base_url(r);
  return mtk_xasprintf("%s/v2/%s/%s/%s", base, repo, kind, ref ? ref : "");
}

char *mtk_registry_resolve(const char *base, const char *location, struct mtk_err **err)
{
  CURLU *u = curl_url();
  char *out = NULL, *scheme = NULL;
  if (!u)
    abort();
  if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
      curl_url_set(u, CURLUPART_URL, location, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK) {
    mtk_err_set(err, MTK_E_PULL, "invalid Location \"%.200s\"", location);
    goto done;
  }
  if (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) {
    mtk_err_set(err, MTK_E_PULL, "refusing to follow a redirect to \"%.200s\"", location);
    curl_free(out);
    out = NULL;
  } else if (strncmp(base, "https:", 6) == 0 && strcmp(scheme, "http") == 0) {
    mtk_err_set(err, MTK_E_PULL, "refusing a redirect from https to plain http (%.200s)", location);
    curl_free(out);
    out = NULL;
  }
done:;
  char *ret = out ? mtk_xstrdup(out) : NULL;
  curl_free(out);
  curl_free(scheme);
  curl_url_cleanup(u);
  return ret;
}

static char *url_part(const char *url, CURLUPart part)
{
  CURLU *u = curl_url();
  char *v = NULL, *ret = NULL;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, part, &v, part == CURLUPART_PORT ? CURLU_DEFAULT_PORT : 0) == CURLUE_OK)
    ret = mtk_xstrdup(v);
  curl_free(v);
  curl_url_cleanup(u);
  return ret;
}

bool mtk_registry_same_origin(const char *a, const char *b)
{
  static const CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_HOST, CURLUPART_PORT};
  for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
    mtk_autofree char *x = url_part(a, parts[i]);
    mtk_autofree char *y = url_part(b, parts[i]);
    if (!x || !y || strcasecmp(x, y) != 0)
      return false;
  }
  return true;
}

/* TLS verification is skipped only towards the registry itself when it is
 * insecure (loopback or marked by the user); token realms and redirect
 * targets on other hosts are always verified. */
static bool verify_tls(struct mtk_registry *r, const char *url)
{
  if (!r->insecure)
    return true;
  mtk_autofree char *origin = mtk_xasprintf("https://%s/", r->host);
  return !mtk_registry_same_origin(url, origin);
}

static void set_tls(struct mtk_registry *r, CURL *h, const char *url);

void mtk_registry_setup_easy(struct mtk_registry *r, CURL *h, const char *url, char *errbuf)
{
  errbuf[0] = '\0';
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_USERAGENT, r->user_agent);
  curl_easy_setopt(h, CURLOPT_SHARE, r->share);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  /* A stalled transfer (no byte for a minute) counts as dropped. */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  if (r->ca_file)
    curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
  curl_easy_setopt(h, CURLOPT_URL, url);
  set_tls(r, h, url);
}

static void set_tls(struct mtk_registry *r, CURL *h, const char *url)
{
  long v = verify_tls(r, url) ? 1L : 0L;
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, v);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, v ? 2L : 0L);
}

/* ---------------------------------------------------------- responses */

void mtk_registry_resp_free(struct mtk_registry_resp *p)
{
  free(p->content_type);
  free(p->digest);
  free(p->location);
  free(p->range);
  free(p->content_range);
  free(p->www_auth);
  mtk_strbuf_free(&p->body);
  size_t cap = p->cap;
  memset(p, 0, sizeof(*p));
  p->cap = cap;
  p->content_length = -1;
  p->retry_after = -1;
}

static void set_field(char **f, const char *v, size_t n)
{
  free(*f);
  *f = mtk_xstrndup(v, n);
}

void mtk_registry_resp_header(struct mtk_registry_resp *p, const char *line, size_t n)
{
  while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
    n--;
  if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
    /* A new response (after 100 Continue, or a redirect): forget the old headers. */
    struct mtk_strbuf keep = p->body;
    p->body = (struct mtk_strbuf) MTK_STRBUF_INIT;
    mtk_registry_resp_free(p);
    p->body = keep;
    const char *sp = memchr(line, ' ', n);
    p->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    return;
  }
  const char *colon = memchr(line, ':', n);
  if (!colon)
    return;
  size_t klen = (size_t) (colon - line);
  const char *v = colon + 1;
  while (v < line + n && (*v == ' ' || *v == '\t'))
    v++;
  size_t vlen = (size_t) (line + n - v);
#define IS(name) (klen == sizeof(name) - 1 && strncasecmp(line, name, klen) == 0)
  if (IS("content-type")) {
    size_t m = 0;
    while (m < vlen && v[m] != ';' && v[m] != ' ')
      m++;
    set_field(&p->content_type, v, m);
  } else if (IS("docker-content-digest")) {
    set_field(&p->digest, v, vlen);
  } else if (IS("location")) {
    set_field(&p->location, v, vlen);
  } else if (IS("range")) {
    set_field(&p->range, v, vlen);
  } else if (IS("content-range")) {
    set_field(&p->content_range, v, vlen);
  } else if (IS("content-length")) {
    p->content_length = strtoll(v, NULL, 10);
  } else if (IS("retry-after")) {
    p->retry_after = isdigit((unsigned char) *v) ? (int) strtol(v, NULL, 10) : 1;
  } else if (IS("oci-chunk-min-length")) {
    p->chunk_min = strtoll(v, NULL, 10);
  } else if (IS("www-authenticate")) {
    char *joined =
        p->www_auth ? mtk_xasprintf("%s, %.*s", p->www_auth, (int) vlen, v) : mtk_xstrndup(v, vlen);
    free(p->www_auth);
    p->www_auth = joined;
  }
#undef IS
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
  mtk_registry_resp_header(ud, buf, size * n);
  return size * n;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
  struct mtk_registry_resp *p = ud;
  size_t cap = p->cap ? p->cap : MTK_REGISTRY_ERROR_MAX;
  if (p->body.len + size * n > cap) {
    p->too_big = true;
    return 0;
  }
  mtk_strbuf_add(&p->body, buf, size * n);
  return size * n;
}

/* ------------------------------------------------------ request bodies */

struct body_src {
  const struct mtk_registry_req *q;
  int64_t pos;
};

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
  struct body_src *s = ud;
  int64_t total = s->q->fd >= 0 ? s->q->fd_len : (int64_t) s->q->body_len;
  size_t want = size * n;
  if ((int64_t) want > total - s->pos)
    want = (size_t) (total - s->pos);
  if (want == 0)
    return 0;
  if (s->q->fd < 0) {
    memcpy(buf, (const char *) s->q->body + s->pos, want);
  } else {
    ssize_t got = pread(s->q->fd, buf, want, s->q->fd_off + s->pos);
    if (got <= 0)
      return CURL_READFUNC_ABORT;
    want = (size_t) got;
  }
  s->pos += (int64_t) want;
  return want;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
  struct body_src *s = ud;
  if (origin != SEEK_SET)
    return CURL_SEEKFUNC_CANTSEEK;
  s->pos = off;
  return CURL_SEEKFUNC_OK;
}

/* One exchange on r->easy; no auth logic, no retries. */
static CURLcode perform(struct mtk_registry *r, const struct mtk_registry_req *q, const char *url,
                        const char *authz, struct mtk_registry_resp *p, char *errbuf)
{
  CURL *h = r->easy;
  struct curl_slist *hdrs = NULL;
  mtk_autofree char *a1 = NULL, *a2 = NULL, *a3 = NULL, *a4 = NULL;
  struct body_src src = {q, 0};
  curl_easy_reset(h);
  mtk_registry_setup_easy(r, h, url, errbuf);
  if (authz)
    hdrs = curl_slist_append(hdrs, a1 = mtk_xasprintf("Authorization: %s", authz));
  if (q->accept)
    hdrs = curl_slist_append(hdrs, a2 = mtk_xasprintf("Accept: %s", q->accept));
  if (q->content_type)
    hdrs = curl_slist_append(hdrs, a3 = mtk_xasprintf("Content-Type: %s", q->content_type));
  if (q->content_range)
    hdrs = curl_slist_append(hdrs, a4 = mtk_xasprintf("Content-Range: %s", q->content_range));
  hdrs = curl_slist_append(hdrs, "Expect:");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  bool has_body = strcmp(q->method, "PUT") == 0 || strcmp(q->method, "POST") == 0 ||
                  strcmp(q->method, "PATCH") == 0;
  if (strcmp(q->method, "HEAD") == 0) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &src);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &src);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
                     (curl_off_t) (q->fd >= 0 ? q->fd_len : (int64_t) q->body_len));
    if (strcmp(q->method, "PUT") != 0)
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
  } else if (strcmp(q->method, "GET") != 0) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
  }
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, p);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, p);
  mtk_registry_resp_free(p);
  p->cap = q->cap;
  r->stats.requests++;
  CURLcode c = curl_easy_perform(h);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdrs);
  return c;
}

char *mtk_registry_url_shown(const char *url)
{
  return mtk_xstrndup(url, strcspn(url, "?#"));
}

static int transport_error(const char *method, const char *url, CURLcode c, const char *errbuf,
                           struct mtk_err **err)
{
  mtk_autofree char *shown = mtk_registry_url_shown(url);
  return mtk_err_set(err, MTK_E_PULL, "%s %s: %s", method, shown,
                     errbuf[0] ? errbuf : curl_easy_strerror(c));
}

bool mtk_registry_retry_status(long s)
{
  return s == 429 || (s >= 500 && s != 501 && s != 505);
}

static void wait_retry(struct mtk_registry *r, const struct mtk_registry_resp *p, int attempt);

static int too_big(const struct mtk_registry_req *q, const char *url, struct mtk_err **err)
{
  mtk_autofree char *shown = mtk_registry_url_shown(url);
  return mtk_err_set(err, MTK_E_PULL, "%s %s: the response is larger than %zu bytes", q->method,
                     shown, q->cap ? q->cap : (size_t) MTK_REGISTRY_ERROR_MAX);
}

int mtk_registry_send(struct mtk_registry *r, const struct mtk_registry_req *q, const char *authz,
                      struct mtk_registry_resp *p, struct mtk_err **err)
{
  char errbuf[CURL_ERROR_SIZE];
  for (int attempt = 1;; attempt++) {
    if (mtk_registry_cancelled(r))
      return mtk_err_set(err, MTK_E_INTR, "interrupted");
    CURLcode c = perform(r, q, q->url, authz, p, errbuf);
    if (p->too_big)
      return too_big(q, q->url, err);
    bool again = q->retry && attempt < r->max_attempts &&
                 (c == CURLE_OK ? mtk_registry_retry_status(p->status) : mtk_registry_transient(c));
    if (!again)
      return c == CURLE_OK ? 0 : transport_error(q->method, q->url, c, errbuf, err);
    wait_retry(r, c == CURLE_OK ? p : NULL, attempt);
  }
}

/* ---------------------------------------------------------------- ping */

static int ping_scheme(struct mtk_registry *r, const char *scheme, struct mtk_registry_resp *p,
                       CURLcode *c, char *errbuf)
{
  mtk_autofree char *url = mtk_xasprintf("%s://%s/v2/", scheme, r->host);
  struct mtk_registry_req q = {.method = "GET", .url = url, .fd = -1};
  *c = perform(r, &q, url, NULL, p, errbuf);
  return *c == CURLE_OK ? 0 : -1;
}

int mtk_registry_ping(struct mtk_registry *r, struct mtk_err **err)
{
  if (r->scheme)
    return 0;
  struct mtk_registry_resp p = {.content_length = -1, .retry_after = -1};
  char errbuf[CURL_ERROR_SIZE];
  CURLcode c = CURLE_OK;
  int ok = -1;
  for (int attempt = 1; ok < 0 && attempt <= r->max_attempts; attempt++) {
    /* HTTPS first; plain HTTP only for insecure registries (never a silent
     * downgrade for the others: CVE-2014-5277). */
    if (ping_scheme(r, "https", &p, &c, errbuf) == 0)
      ok = 0, r->scheme = "https";
    else if (r->insecure && ping_scheme(r, "http", &p, &c, errbuf) == 0)
      ok = 0, r->scheme = "http";
    else if (c != CURLE_COULDNT_CONNECT && c != CURLE_OPERATION_TIMEDOUT)
      break;
    else if (attempt < r->max_attempts)
      sleep_ms(mtk_registry_backoff_ms(r, attempt));
  }
  if (ok < 0) {
    mtk_registry_resp_free(&p);
    mtk_err_set(err, MTK_E_PULL, "registry %s is not reachable: %s", r->host,
                errbuf[0] ? errbuf : curl_easy_strerror(c));
    if (!r->insecure)
      mtk_err_hint(err, "HTTPS with a verified certificate is required for %s", r->host);
    return -1;
  }
  int ret = 0;
  if (p.status == 401)
    ret = mtk_registry_auth_learn(r, p.www_auth, err);
  else
    r->auth = MTK_REGISTRY_AUTH_NONE;
  mtk_registry_resp_free(&p);
  return ret;
}

/* ------------------------------------------------------------- requests */

bool mtk_registry_is_redirect(long s)
{
  return s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
}

static void wait_retry(struct mtk_registry *r, const struct mtk_registry_resp *p, int attempt)
{
  int ms = mtk_registry_backoff_ms(r, attempt);
  if (p && p->retry_after > 0)
    ms = (p->retry_after > RETRY_AFTER_MAX ? RETRY_AFTER_MAX : p->retry_after) * 1000;
  r->stats.retries++;
  sleep_ms(ms);
}

int mtk_registry_request(struct mtk_registry *r, const struct mtk_registry_req *q,
                         struct mtk_registry_resp *p, struct mtk_err **err)
{
  if (mtk_registry_ping(r, err) < 0)
    return -1;
  mtk_autofree char *url = mtk_xstrdup(q->url);
  mtk_autofree char *scope = q->scope ? mtk_xstrdup(q->scope) : NULL;
  mtk_autofree char *origin = base_url(r);
  char errbuf[CURL_ERROR_SIZE];
  int attempt = 0, auth_rounds = 0, hops = 0;
  for (;;) {
    if (mtk_registry_cancelled(r))
      return mtk_err_set(err, MTK_E_INTR, "interrupted");
    bool at_registry = mtk_registry_same_origin(url, origin);
    mtk_autofree char *authz = NULL;
    if (at_registry && mtk_registry_auth_header(r, scope, &authz, err) < 0)
      return -1;
    CURLcode c = perform(r, q, url, authz, p, errbuf);
    if (p->too_big)
      return too_big(q, url, err);
    if (c != CURLE_OK) {
      if (q->retry && mtk_registry_transient(c) && ++attempt < r->max_attempts) {
        wait_retry(r, NULL, attempt);
        continue;
      }
      p->curl_code = (int) c;
      return transport_error(q->method, url, c, errbuf, err);
    }
    if (p->status == 401 && at_registry && auth_rounds++ < 3) {
      mtk_autofree char *next = NULL;
      if (mtk_registry_auth_retry(r, scope, p->www_auth, authz != NULL, &next, err) < 0)
        return -1;
      free(scope);
      scope = mtk_steal_ptr(&next);
      continue;
    }
    if (q->follow && mtk_registry_is_redirect(p->status) && p->location) {
      if (++hops > MAX_REDIRECTS)
        return mtk_err_set(err, MTK_E_PULL, "%s %s: too many redirects", q->method, origin);
      char *next = mtk_registry_resolve(url, p->location, err);
      if (!next)
        return -1;
      free(url);
      url = next;
      r->stats.redirects++;
      continue;
    }
    if (q->retry && mtk_registry_retry_status(p->status) && ++attempt < r->max_attempts) {
      wait_retry(r, p, attempt);
      continue;
    }
    return 0;
  }
}

/* ---------------------------------------------------------------- errors */

/* Registry text reaches the user's terminal: no control characters. */
static void add_clean(struct mtk_strbuf *sb, const char *s, size_t max)
{
  for (size_t i = 0; s[i] && i < max; i++) {
    unsigned char ch = (unsigned char) s[i];
    if (ch == '\n' || ch == '\r')
      break;
    mtk_strbuf_addc(sb, ch < 0x20 || ch == 0x7f ? '?' : (char) ch);
  }
}

static bool json_errors(const struct mtk_registry_resp *p, struct mtk_strbuf *sb)
{
  if (p->body.len == 0)
    return false;
  json_t *doc = json_loadb(p->body.buf, p->body.len, 0, NULL);
  json_t *list = json_is_object(doc) ? json_object_get(doc, "errors") : NULL;
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e)
  {
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (i > 0)
      mtk_strbuf_adds(sb, "; ");
    add_clean(sb, msg && *msg ? msg : "error", 400);
    if (code) {
      mtk_strbuf_adds(sb, " (");
      add_clean(sb, code, 64);
      mtk_strbuf_adds(sb, ")");
    }
  }
  json_decref(doc);
  return sb->len > 0;
}

int mtk_registry_resp_error(struct mtk_registry *r, const struct mtk_registry_resp *p, int code,
                            struct mtk_err **err)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  if (!json_errors(p, &sb)) {
    mtk_strbuf_addf(&sb, "HTTP %ld", p->status);
    if (p->body.len > 0 && mtk_strbuf_str(&p->body)[0] != '{') {
      mtk_strbuf_adds(&sb, ": ");
      add_clean(&sb, mtk_strbuf_str(&p->body), 200);
    }
    if (p->status == 429)
      mtk_strbuf_adds(&sb, " (too many requests)");
  }
  mtk_err_set(err, code, "%s", mtk_strbuf_str(&sb));
  if (p->status == 401 || p->status == 403) {
    if (strcmp(r->host, MTK_IMAGE_REF_HUB_REGISTRY) == 0)
      mtk_err_hint(err, "log in with `mtk login`");
    else
      mtk_err_hint(err, "log in with `mtk login %s`", r->host);
  }
  return -1;
}
