/* The registry client against real registries (docker-registry 2.8 on free
 * loopback ports, see registry_fixture.h), pull side: manifests by tag and
 * digest (OCI and Docker schema2), an OCI index with an attestation entry and
 * the store's platform matcher, concurrent verified blob downloads, a blob
 * whose stored bytes were corrupted, anonymous Bearer tokens from
 * token-server.py, 307 redirects to a "CDN" that refuses Authorization, and
 * a loopback proxy that cuts blob transfers (resume with Range, give up
 * cleanly). */
#include "config.h"

#include <jansson.h>

#include "image/registry.h"
#include "image/registry_internal.h" /* mtk_registry_base64 */
#include "image/store.h"
#include "registry_fixture.h"
#include "tap.h"
#include "util/sha256.h"

static struct rf_registry reg_open, reg_token, reg_redirect, reg_tls;
static char amd64_digest[MTK_DIGEST_SIZE], arm64_digest[MTK_DIGEST_SIZE];

/* ------------------------------------------------------------- helpers */

static struct mtk_registry *client(const char *host, const char *config)
{
  struct mtk_registry_opts o = {.host = host,
                                .backoff_ms = 20,
                                .max_attempts = 4,
                                .auth_config = config ? config : rf_path("no-config.json")};
  struct mtk_err *err = NULL;
  struct mtk_registry *r = mtk_registry_new(&o, &err);
  if (!r) {
    printf("# mtk_registry_new: %s\n", err->msg);
    exit(1);
  }
  return r;
}

static void show(struct mtk_err *err)
{
  if (err)
    printf("# error (%d): %s%s%s\n", err->code, err->msg, err->hint ? " | hint: " : "",
           err->hint ? err->hint : "");
}

struct memsink {
  char *buf;                     /* owned */
  size_t len;                    /* bytes */
  int64_t last_done, last_total; /* last progress report */
};

static int mem_write(void *ud, const void *b, size_t n, struct mtk_err **err)
{
  struct memsink *m = ud;
  (void) err;
  m->buf = realloc(m->buf, m->len + n + 1);
  memcpy(m->buf + m->len, b, n);
  m->len += n;
  return 0;
}

/* Digest of a tag in the umoci layout (what build-images.sh produced). */
static int layout_digest(const char *tag, char out[MTK_DIGEST_SIZE])
{
  json_t *idx = json_load_file(rf_path("oci/index.json"), 0, NULL);
  size_t i;
  json_t *m;
  int ret = -1;
  json_array_foreach(json_object_get(idx, "manifests"), i, m)
  {
    json_t *ann = json_object_get(m, "annotations");
    const char *name = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
    if (name && strcmp(name, tag) == 0) {
      snprintf(out, MTK_DIGEST_SIZE, "%s", json_string_value(json_object_get(m, "digest")));
      ret = 0;
    }
  }
  json_decref(idx);
  return ret;
}

/* The manifest of tag parsed (via the client); NULL on failure. */
static struct mtk_manifest *fetch_manifest(struct mtk_registry *r, const char *ref)
{
  char *body = NULL, *mt = NULL;
  size_t len = 0;
  struct mtk_err *err = NULL;
  struct mtk_manifest *m = NULL;
  if (mtk_registry_get_manifest(r, RF_REPO, ref, &body, &len, &mt, NULL, &err) == 0)
    mtk_manifest_parse(body, len, mt, &m, &err);
  show(err);
  mtk_err_free(&err);
  free(body);
  free(mt);
  return m;
}

/* --------------------------------------------------------------- tests */

static int test_manifest_oci_by_tag(void)
{
  mtk_autoptr(mtk_registry) r = client(reg_open.host, NULL);
  mtk_autofree char *body = NULL, *mt = NULL, *dg = NULL, *raw = NULL;
  size_t len = 0;
  struct mtk_err *err = NULL;
  int ret = mtk_registry_get_manifest(r, RF_REPO, "oci-amd64", &body, &len, &mt, &dg, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_STREQ(mtk_registry_scheme(r), "http"); /* loopback: https failed, http allowed */
  MTK_ASSERT_STREQ(mt, MTK_MT_OCI_MANIFEST);
  MTK_ASSERT_STREQ(dg, amd64_digest); /* the digest umoci computed for the layout */
  raw = rf_skopeo_raw(&reg_open, RF_REPO, "oci-amd64");
  MTK_ASSERT_EQ(len, strlen(raw));
  MTK_ASSERT(memcmp(body, raw, len) == 0);
  return 0;
}

static int test_manifest_docker_by_digest(void)
{
  mtk_autoptr(mtk_registry) r = client(reg_open.host, NULL);
  mtk_autofree char *body = NULL, *mt = NULL, *dg = NULL;
  mtk_autofree char *body2 = NULL, *mt2 = NULL, *dg2 = NULL, *hmt = NULL, *hdg = NULL;
  size_t len = 0, len2 = 0;
  int64_t hsize = -1;
  struct mtk_err *err = NULL;
  int ret = mtk_registry_get_manifest(r, RF_REPO, "docker-amd64", &body, &len, &mt, &dg, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_STREQ(mt, MTK_MT_DOCKER_MANIFEST);
  MTK_ASSERT(strcmp(dg, amd64_digest) != 0); /* converted by skopeo: other bytes */
  ret = mtk_registry_get_manifest(r, RF_REPO, dg, &body2, &len2, &mt2, &dg2, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_STREQ(dg2, dg);
  MTK_ASSERT_STREQ(mt2, MTK_MT_DOCKER_MANIFEST);
  MTK_ASSERT(len == len2 && memcmp(body, body2, len) == 0);
  ret = mtk_registry_head_manifest(r, RF_REPO, "docker-amd64", &hmt, &hdg, &hsize, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_STREQ(hdg, dg);
  MTK_ASSERT_STREQ(hmt, MTK_MT_DOCKER_MANIFEST);
  MTK_ASSERT_EQ(hsize, (long long) len);
  return 0;
}

static int test_manifest_errors(void)
{
  mtk_autoptr(mtk_registry) r = client(reg_open.host, NULL);
  struct mtk_err *err = NULL;
  char *body = NULL;
  int ret = mtk_registry_get_manifest(r, RF_REPO, "no-such-tag", &body, NULL, NULL, NULL, &err);
  MTK_ASSERT(ret < 0 && err);
  MTK_ASSERT_EQ(err->code, MTK_E_PULL);
  MTK_ASSERT_STREQ(err->msg, "manifest unknown (MANIFEST_UNKNOWN)");
  mtk_err_free(&err);
  struct mtk_registry_stats before, after;
  mtk_registry_get_stats(r, &before);
  /* Bad digests and names never reach a URL (SECURITY.md §3.7-37). */
  const char *bad[] = {"sha256:../../etc/passwd", "sha256:ABCDEF", "md5:d41d8cd98f00b204",
                       "sha256:%2e%2e"};
  for (size_t i = 0; i < 4; i++) {
    ret = mtk_registry_get_manifest(r, RF_REPO, bad[i], &body, NULL, NULL, NULL, &err);
    MTK_ASSERT(ret < 0 && err && err->code == EINVAL);
    mtk_err_free(&err);
  }
  char d[MTK_DIGEST_SIZE];
  mtk_sha256_digest("x", 1, d);
  ret = mtk_registry_get_manifest(r, "../etc", d, &body, NULL, NULL, NULL, &err);
  MTK_ASSERT(ret < 0 && err && err->code == EINVAL);
  mtk_err_free(&err);
  mtk_registry_get_stats(r, &after);
  MTK_ASSERT_EQ(after.requests, before.requests);
  /* A digest nobody pushed: the registry's own error. */
  ret = mtk_registry_get_manifest(r, RF_REPO, d, &body, NULL, NULL, NULL, &err);
  MTK_ASSERT(ret < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "(MANIFEST_UNKNOWN)");
  mtk_err_free(&err);
  return 0;
}

/* An OCI index (attestation entry first, then arm64/v8, then amd64) PUT by
 * the client, read back by skopeo, and resolved with mtk_platform_match. */
static int test_index_platforms(void)
{
  mtk_autoptr(mtk_registry) r = client(reg_open.host, NULL);
  struct mtk_err *err = NULL;
  mtk_autofree char *idx = mtk_xasprintf(
      "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
      "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":349,\"platform\":{\"architecture\":"
      "\"unknown\",\"os\":\"unknown\"},\"annotations\":{\"vnd.docker.reference.type\":"
      "\"attestation-manifest\"}},"
      "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":349,\"platform\":{\"architecture\":"
      "\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}},"
      "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":349,\"platform\":{\"architecture\":"
      "\"amd64\",\"os\":\"linux\"}}]}",
      MTK_MT_OCI_INDEX, MTK_MT_OCI_MANIFEST, amd64_digest, MTK_MT_OCI_MANIFEST, arm64_digest,
      MTK_MT_OCI_MANIFEST, amd64_digest);
  mtk_autofree char *put_digest = NULL, *raw = NULL;
  int ret = mtk_registry_put_manifest(r, RF_REPO, "index", MTK_MT_OCI_INDEX, idx, strlen(idx),
                                      &put_digest, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  raw = rf_skopeo_raw(&reg_open, RF_REPO, "index");
  MTK_ASSERT_STREQ(raw, idx);
  mtk_autoptr(mtk_manifest) m = fetch_manifest(r, "index");
  MTK_ASSERT(m != NULL);
  MTK_ASSERT_EQ(m->kind, MTK_MANIFEST_INDEX);
  const struct mtk_descriptor *d = NULL;
  MTK_ASSERT_EQ(mtk_platform_match(m, "linux/arm64", &d, &err), 0);
  MTK_ASSERT_STREQ(d->digest, arm64_digest);
  MTK_ASSERT_EQ(mtk_platform_match(m, "linux/amd64", &d, &err), 0);
  MTK_ASSERT_STREQ(d->digest, amd64_digest);
  MTK_ASSERT(mtk_platform_match(m, "linux/s390x", &d, &err) < 0);
  mtk_err_free(&err);
  /* The arm64 child by digest, then its config: architecture arm64. */
  MTK_ASSERT_EQ(mtk_platform_match(m, "linux/arm64/v8", &d, &err), 0);
  mtk_autoptr(mtk_manifest) child = fetch_manifest(r, d->digest);
  MTK_ASSERT(child && child->kind == MTK_MANIFEST_IMAGE);
  mtk_autofree char *cfg = NULL;
  size_t cfglen = 0;
  ret = mtk_registry_get_blob_mem(r, RF_REPO, child->config.digest, child->config.size,
                                  MTK_STORE_CONFIG_MAX, &cfg, &cfglen, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  mtk_autoptr(mtk_image_config) c = NULL;
  MTK_ASSERT_EQ(mtk_image_config_parse(cfg, cfglen, &c, &err), 0);
  MTK_ASSERT_STREQ(c->architecture, "arm64");
  return 0;
}

struct seen {
  const char *digest;
  int64_t done, total;
  int calls;
};

static void record_progress(void *ud, const char *digest, int64_t done, int64_t total)
{
  struct seen *s = ud;
  for (int i = 0; i < 2; i++)
    if (strcmp(s[i].digest, digest) == 0 && done <= total)
      s[i].done = done, s[i].total = total, s[i].calls++;
}

/* The layer and the config of oci-amd64 at once, verified here too. */
static int blobs_of(struct mtk_registry *r, struct memsink sinks[2], struct seen seen[2],
                    struct mtk_manifest **mout)
{
  struct mtk_manifest *m = fetch_manifest(r, "oci-amd64");
  if (!m)
    return -1;
  struct mtk_registry_blob_req reqs[2] = {
      {.digest = m->config.digest, .size = m->config.size, .sink = mem_write, .sink_ud = &sinks[0]},
      {.digest = m->layers[0].digest,
       .size = m->layers[0].size,
       .sink = mem_write,
       .sink_ud = &sinks[1]}};
  seen[0] = (struct seen){.digest = reqs[0].digest};
  seen[1] = (struct seen){.digest = reqs[1].digest};
  struct mtk_err *err = NULL;
  int ret = mtk_registry_get_blobs(r, RF_REPO, reqs, 2, 2, record_progress, seen, &err);
  show(err);
  mtk_err_free(&err);
  *mout = m;
  return ret;
}

static int check_blobs(const struct mtk_manifest *m, struct memsink sinks[2],
                       const struct seen seen[2])
{
  const struct mtk_descriptor *d[2] = {&m->config, &m->layers[0]};
  for (int i = 0; i < 2; i++) {
    char got[MTK_DIGEST_SIZE];
    mtk_sha256_digest(sinks[i].buf, sinks[i].len, got);
    MTK_ASSERT_STREQ(got, d[i]->digest);
    MTK_ASSERT_EQ(sinks[i].len, d[i]->size);
    MTK_ASSERT_EQ(seen[i].done, d[i]->size);
    MTK_ASSERT_EQ(seen[i].total, d[i]->size);
    MTK_ASSERT(seen[i].calls >= 1);
  }
  return 0;
}

static int test_blobs_concurrent(void)
{
  mtk_autoptr(mtk_registry) r = client(reg_open.host, NULL);
  struct memsink sinks[2] = {0};
  struct seen seen[2];
  mtk_autoptr(mtk_manifest) m = NULL;
  MTK_ASSERT_EQ(blobs_of(r, sinks, seen, &m), 0);
  int ret = check_blobs(m, sinks, seen);
  /* Same bytes as the layout's blob file. */
  FILE *f = fopen(rf_path("oci/blobs/sha256/%s", mtk_digest_hex(m->layers[0].digest)), "rb");
  MTK_ASSERT(f != NULL);
  char *file = malloc(sinks[1].len + 1);
  size_t n = fread(file, 1, sinks[1].len + 1, f);
  fclose(f);
  MTK_ASSERT_EQ(n, sinks[1].len);
  MTK_ASSERT(memcmp(file, sinks[1].buf, n) == 0);
  free(file);
  free(sinks[0].buf);
  free(sinks[1].buf);
  return ret;
}

/* A blob whose stored bytes no longer match its digest, and a descriptor
 * size that is too small: both refused. */
static int test_blob_mismatch(void)
{
  mtk_autoptr(mtk_registry) r = client(reg_open.host, NULL);
  struct mtk_err *err = NULL;
  char content[70000], d[MTK_DIGEST_SIZE];
  for (size_t i = 0; i < sizeof(content); i++)
    content[i] = (char) ('a' + (i * 7 + (size_t) getpid()) % 26);
  mtk_sha256_digest(content, sizeof(content), d);
  char *tmp = rf_path("corrupt.bin");
  MTK_ASSERT_EQ(rf_write(tmp, ""), 0);
  FILE *f = fopen(tmp, "wb");
  fwrite(content, 1, sizeof(content), f);
  fclose(f);
  mtk_autoclose int fd = open(tmp, O_RDONLY);
  int ret = mtk_registry_push_blob(r, RF_REPO, d, sizeof(content), fd, NULL, false, &err);
  show(err);
  MTK_ASSERT_EQ(ret, MTK_REGISTRY_PUSHED);
  const char *hex = mtk_digest_hex(d);
  char *data = rf_path("storage/docker/registry/v2/blobs/sha256/%.2s/%s/data", hex, hex);
  f = fopen(data, "r+b");
  MTK_ASSERT(f != NULL);
  fseek(f, 1000, SEEK_SET);
  fputc('#', f);
  fclose(f);
  struct memsink s = {0};
  struct mtk_registry_blob_req q = {
      .digest = d, .size = sizeof(content), .sink = mem_write, .sink_ud = &s};
  ret = mtk_registry_get_blobs(r, RF_REPO, &q, 1, 1, NULL, NULL, &err);
  MTK_ASSERT(ret < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "digest mismatch");
  MTK_ASSERT_CONTAINS(err->msg, d);
  mtk_err_free(&err);
  free(s.buf);
  s = (struct memsink){0};
  q.size = sizeof(content) - 10; /* the registry sends more than the descriptor says */
  ret = mtk_registry_get_blobs(r, RF_REPO, &q, 1, 1, NULL, NULL, &err);
  MTK_ASSERT(ret < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "more than");
  MTK_ASSERT(s.len <= sizeof(content) - 10);
  mtk_err_free(&err);
  free(s.buf);
  return 0;
}

/* Anonymous Bearer tokens: one token for several pulls of the same scope, a
 * push refused with the login hint. */
static int test_token_anonymous(void)
{
  mtk_autoptr(mtk_registry) r = client(reg_token.host, NULL);
  struct mtk_err *err = NULL;
  mtk_autofree char *dg = NULL;
  int ret = mtk_registry_get_manifest(r, RF_REPO, "oci-amd64", NULL, NULL, NULL, &dg, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_STREQ(dg, amd64_digest);
  struct memsink sinks[2] = {0};
  struct seen seen[2];
  mtk_autoptr(mtk_manifest) m = NULL;
  MTK_ASSERT_EQ(blobs_of(r, sinks, seen, &m), 0);
  MTK_ASSERT_EQ(check_blobs(m, sinks, seen), 0);
  free(sinks[0].buf);
  free(sinks[1].buf);
  struct mtk_registry_stats st;
  mtk_registry_get_stats(r, &st);
  MTK_ASSERT_EQ(st.token_fetches, 1);
  ret = mtk_registry_put_manifest(r, RF_REPO, "anon", MTK_MT_OCI_MANIFEST, "{}", 2, NULL, &err);
  MTK_ASSERT(ret < 0 && err);
  MTK_ASSERT_EQ(err->code, MTK_E_PULL);
  MTK_ASSERT_CONTAINS(err->msg, "denied");
  MTK_ASSERT_CONTAINS(err->hint, "mtk login 127.0.0.1:");
  mtk_err_free(&err);
  return 0;
}

/* A registry with Basic auth answering 307 to the CDN (cdn.py answers 400
 * to any Authorization): the bytes come from there, verified; HEAD's 307
 * counts as "exists". */
static int test_redirect(void)
{
  mtk_autoptr(mtk_registry) r = client(reg_redirect.host, rf_path("redirect.json"));
  struct memsink sinks[2] = {0};
  struct seen seen[2];
  mtk_autoptr(mtk_manifest) m = NULL;
  MTK_ASSERT_EQ(blobs_of(r, sinks, seen, &m), 0);
  MTK_ASSERT_EQ(check_blobs(m, sinks, seen), 0);
  free(sinks[0].buf);
  free(sinks[1].buf);
  struct mtk_registry_stats st;
  mtk_registry_get_stats(r, &st);
  MTK_ASSERT(st.redirects >= 2);
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(mtk_registry_blob_exists(r, RF_REPO, m->layers[0].digest, NULL, &err), 1);
  char none[MTK_DIGEST_SIZE];
  mtk_sha256_digest("nothing", 7, none);
  MTK_ASSERT_EQ(mtk_registry_blob_exists(r, RF_REPO, none, NULL, &err), 0);
  mtk_autofree char *log = NULL;
  char *cat[] = {"cat", rf_path("cdn.log"), NULL};
  rf_run(cat, &log);
  MTK_ASSERT_CONTAINS(log, mtk_digest_hex(m->layers[0].digest));
  MTK_ASSERT(strstr(log, "\" 400 ") == NULL);
  return 0;
}

/* A registry serving TLS only: HTTPS is tried first and used (the
 * self-signed certificate is accepted because loopback is insecure). */
static int test_tls(void)
{
  mtk_autoptr(mtk_registry) r = client(reg_tls.host, NULL);
  struct mtk_err *err = NULL;
  mtk_autofree char *dg = NULL;
  int ret = mtk_registry_get_manifest(r, RF_REPO, "oci-amd64", NULL, NULL, NULL, &dg, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_STREQ(mtk_registry_scheme(r), "https");
  MTK_ASSERT_STREQ(dg, amd64_digest);
  return 0;
}

/* Hostile manifests from a "registry" that is a static file tree (cdn.py):
 * over the 4 MiB cap (refused without being held whole), other bytes than
 * the digest asked, an index that is also a manifest. */
static int test_manifest_cap(void)
{
  mtk_autoptr(mtk_registry) r = client(reg_open.host, NULL);
  mtk_autoptr(mtk_manifest) m = fetch_manifest(r, "oci-amd64");
  MTK_ASSERT(m != NULL);
  size_t pad = 5 * 1024 * 1024;
  char *big = malloc(pad + 1);
  memset(big, 'x', pad);
  big[pad] = '\0';
  mtk_autofree char *doc =
      mtk_xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
                    "\"digest\":\"%s\",\"size\":%" PRId64 "},\"layers\":[{\"mediaType\":\"%s\","
                    "\"digest\":\"%s\",\"size\":%" PRId64 "}],\"annotations\":{\"pad\":\"%s\"}}",
                    MTK_MT_OCI_MANIFEST, m->config.media_type, m->config.digest, m->config.size,
                    m->layers[0].media_type, m->layers[0].digest, m->layers[0].size, big);
  free(big);
  /* distribution caps manifests at 4 MiB itself (PUT: "request body too
   * large", GET: "read exceeds limit"): the oversized one is served by
   * cdn.py as a static file tree that looks like a registry. */
  char *mk[] = {"mkdir", "-p", rf_path("storage/v2/%s/manifests", RF_REPO), NULL};
  MTK_ASSERT_EQ(rf_run(mk, NULL), 0);
  MTK_ASSERT_EQ(rf_write(rf_path("storage/v2/%s/manifests/huge", RF_REPO), doc), 0);
  char host[32];
  snprintf(host, sizeof(host), "127.0.0.1:%d", rf_cdn_port);
  mtk_autoptr(mtk_registry) fake = client(host, NULL);
  struct mtk_err *err = NULL;
  char *body = NULL;
  int ret = mtk_registry_get_manifest(fake, RF_REPO, "huge", &body, NULL, NULL, NULL, &err);
  MTK_ASSERT(ret < 0 && err && body == NULL);
  MTK_ASSERT_CONTAINS(err->msg, "larger than 4194304 bytes");
  mtk_err_free(&err);
  /* Asked by digest, served other bytes (SECURITY.md §3.7-38). */
  char d[MTK_DIGEST_SIZE];
  mtk_sha256_digest("other", 5, d);
  const char *small =
      "{\"schemaVersion\":2,\"mediaType\":\"" MTK_MT_OCI_INDEX "\",\"manifests\":[]}";
  MTK_ASSERT_EQ(rf_write(rf_path("storage/v2/%s/manifests/%s", RF_REPO, d), small), 0);
  ret = mtk_registry_get_manifest(fake, RF_REPO, d, &body, NULL, NULL, NULL, &err);
  MTK_ASSERT(ret < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "digest mismatch");
  mtk_err_free(&err);
  /* Index and manifest at once (CVE-2021-41190, §3.7-39). */
  const char *both = "{\"schemaVersion\":2,\"manifests\":[],\"layers\":[]}";
  MTK_ASSERT_EQ(rf_write(rf_path("storage/v2/%s/manifests/both", RF_REPO), both), 0);
  ret = mtk_registry_get_manifest(fake, RF_REPO, "both", &body, NULL, NULL, NULL, &err);
  MTK_ASSERT(ret < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "ambiguous");
  mtk_err_free(&err);
  return 0;
}

/* Every blob connection cut after 300 kB: the ~1 MB layer still arrives,
 * resumed with Range requests, verified. */
static int test_fault_resume(void)
{
  struct rf_proxy_rule rule = {"GET ", "/blobs/sha256:", 1, 300 * 1000, 1000, 0};
  int port = rf_start_proxy(reg_open.port, &rule);
  MTK_ASSERT(port > 0);
  char host[32];
  snprintf(host, sizeof(host), "127.0.0.1:%d", port);
  mtk_autoptr(mtk_registry) r = client(host, NULL);
  struct memsink sinks[2] = {0};
  struct seen seen[2];
  mtk_autoptr(mtk_manifest) m = NULL;
  int ret = blobs_of(r, sinks, seen, &m);
  rf_stop_proxy();
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_EQ(check_blobs(m, sinks, seen), 0);
  free(sinks[0].buf);
  free(sinks[1].buf);
  struct mtk_registry_stats st;
  mtk_registry_get_stats(r, &st);
  int cuts, ranges;
  rf_proxy_stats(&cuts, &ranges);
  printf("# layer %" PRId64 " bytes: %d cuts, %d Range requests, %" PRId64 " resumes\n",
         m->layers[0].size, cuts, ranges, st.resumes);
  MTK_ASSERT(m->layers[0].size > 600 * 1000);
  MTK_ASSERT(cuts >= 2);
  MTK_ASSERT_EQ(ranges, cuts);
  MTK_ASSERT_EQ(st.resumes, cuts);
  return 0;
}

/* Every blob connection cut before the body: no progress, the download
 * stops after max_attempts with a clear error. */
static int test_fault_give_up(void)
{
  struct rf_proxy_rule rule = {"GET ", "/blobs/sha256:", 1, 0, 1000, 0};
  int port = rf_start_proxy(reg_open.port, &rule);
  MTK_ASSERT(port > 0);
  char host[32];
  snprintf(host, sizeof(host), "127.0.0.1:%d", port);
  mtk_autoptr(mtk_registry) r = client(host, NULL);
  struct memsink sinks[2] = {0};
  struct seen seen[2];
  mtk_autoptr(mtk_manifest) m = NULL;
  int ret = blobs_of(r, sinks, seen, &m);
  rf_stop_proxy();
  MTK_ASSERT(ret < 0);
  MTK_ASSERT(m != NULL);
  int cuts, ranges;
  rf_proxy_stats(&cuts, &ranges);
  printf("# %d cuts\n", cuts);
  MTK_ASSERT(cuts >= 4); /* max_attempts (4) for the first blob to fail */
  free(sinks[0].buf);
  free(sinks[1].buf);
  return 0;
}

/* ---------------------------------------------------------------- main */

static int setup(void)
{
  if (rf_start_registry(&reg_open, "open", "", "") < 0 || rf_build_and_push(&reg_open) < 0)
    return -1;
  int token_port = 0;
  const char *tok = rf_token_auth(&token_port), *cdn = rf_cdn_middleware();
  const char *basic = rf_htpasswd_auth();
  if (!tok || !cdn || !basic || rf_start_registry(&reg_token, "token", tok, "") < 0 ||
      rf_start_registry(&reg_redirect, "redirect", basic, cdn) < 0)
    return -1;
  /* Credentials for the redirecting registry (htpasswd): they must not reach the CDN. */
  char up[] = RF_USER ":" RF_PASS, *b64 = mtk_registry_base64(up, strlen(up));
  char cfg[300];
  snprintf(cfg, sizeof(cfg), "{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}", reg_redirect.host, b64);
  free(b64);
  if (rf_write(rf_path("redirect.json"), cfg) < 0)
    return -1;
  /* A TLS-only registry with a self-signed certificate for 127.0.0.1. */
  char *key = rf_path("tls-key.pem"), *cert = rf_path("tls-cert.pem");
  char *gen[] = {"openssl",  "req",
                 "-x509",    "-newkey",
                 "rsa:2048", "-nodes",
                 "-days",    "30",
                 "-subj",    "/CN=127.0.0.1",
                 "-addext",  "subjectAltName=IP:127.0.0.1",
                 "-keyout",  key,
                 "-out",     cert,
                 NULL};
  char tls[1200];
  snprintf(tls, sizeof(tls), "  tls:\n    certificate: %s\n    key: %s\n", cert, key);
  if (rf_run(gen, NULL) != 0 || rf_start_registry(&reg_tls, "tls", tls, "") < 0)
    return -1;
  if (layout_digest("busybox-amd64", amd64_digest) < 0 ||
      layout_digest("busybox-arm64", arm64_digest) < 0)
    return -1;
  return 0;
}

int main(void)
{
  int rc = rf_init(__FILE__);
  if (rc != 0)
    return rc;
  unsetenv("DOCKER_AUTH_CONFIG");
  if (setup() < 0) {
    printf("Bail out! fixture setup failed (logs in %s; MTK_TEST_KEEP=1 keeps them)\n", rf_dir);
    return 1;
  }
  static const struct mtk_test tests[] = {
      {"manifest OCI by tag, bytes and digest as skopeo/umoci", test_manifest_oci_by_tag},
      {"manifest Docker schema2 by digest, HEAD", test_manifest_docker_by_digest},
      {"manifest unknown, invalid digests refused before any request", test_manifest_errors},
      {"OCI index put, platform matched, child and config fetched", test_index_platforms},
      {"blobs concurrently, verified", test_blobs_concurrent},
      {"corrupted blob and short descriptor refused", test_blob_mismatch},
      {"anonymous bearer token cached, push denied with login hint", test_token_anonymous},
      {"307 redirect to a CDN without Authorization", test_redirect},
      {"TLS registry: https chosen", test_tls},
      {"hostile manifests: over 4 MiB, wrong digest, ambiguous", test_manifest_cap},
      {"cut connections resumed with Range", test_fault_resume},
      {"connections cut before the body: give up cleanly", test_fault_give_up},
      {NULL, NULL}};
  return mtk_test_main(tests);
}
