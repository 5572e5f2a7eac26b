/* Manifests over the distribution API: GET/HEAD by tag or digest with the
 * full Accept list, the body verified against the digest asked for or the
 * one the registry announced, the media type decided by Content-Type and
 * `mediaType` (which must agree: CVE-2021-41190), and PUT with the digest of
 * the exact bytes sent checked against Docker-Content-Digest
 * (IMAGES.md §2.1, §2.2; SECURITY.md §2.8-2.9). */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry_internal.h"
#include "util/cleanup.h"
#include "util/sha256.h"

/* Content types that say nothing about the document. */
static bool generic_type(const char *ct)
{
  return !ct || !*ct || strcmp(ct, "application/json") == 0 || strcmp(ct, "text/plain") == 0 ||
         strcmp(ct, "application/octet-stream") == 0;
}

/* The effective media type of a fetched manifest (owned), or NULL with *err. */
static char *media_type_of(const char *ct, const char *body, size_t len, struct mtk_err **err)
{
  json_error_t je;
  json_t *doc = json_loadb(body, len, 0, &je);
  char *ret = NULL;
  if (!json_is_object(doc)) {
    mtk_err_set(err, MTK_E_PULL, "the manifest is not a JSON object (line %d: %s)", je.line,
                doc ? "not an object" : je.text);
    goto out;
  }
  const char *field = json_string_value(json_object_get(doc, "mediaType"));
  if (generic_type(ct))
    ct = NULL;
  if (field && ct && strcmp(field, ct) != 0) {
    mtk_err_set(err, MTK_E_PULL, "the manifest says mediaType %s but was served as %s", field, ct);
    goto out;
  }
  if (json_object_get(doc, "manifests") &&
      (json_object_get(doc, "layers") || json_object_get(doc, "config"))) {
    mtk_err_set(err, MTK_E_PULL,
                "ambiguous document: both an index (manifests) and an "
                "image manifest (config/layers)");
    goto out;
  }
  const char *mt = field ? field : ct;
  if (!mt)
    mtk_err_set(err, MTK_E_PULL, "the manifest has no media type");
  else if (strncmp(mt, "application/vnd.docker.distribution.manifest.v1", 47) == 0)
    mtk_err_set(err, MTK_E_PULL, "Docker schema 1 manifests are not supported (%s)", mt);
  else
    ret = mtk_xstrdup(mt);
out:
  json_decref(doc);
  return ret;
}

static int verify_body(const char *ref, const struct mtk_registry_resp *p,
                       char digest[MTK_DIGEST_SIZE], struct mtk_err **err)
{
  mtk_sha256_digest(p->body.buf ? p->body.buf : "", p->body.len, digest);
  if (mtk_digest_valid(ref)) {
    if (strcmp(ref, digest) != 0)
      return mtk_err_set(err, MTK_E_PULL, "manifest %s: digest mismatch: got %s", ref, digest);
    return 0;
  }
  /* By tag: the announced digest must match what came (dspec "Pulling
   * manifests"); other algorithms than sha256 are not checked here. */
  if (p->digest && strncmp(p->digest, "sha256:", 7) == 0 && strcmp(p->digest, digest) != 0)
    return mtk_err_set(err, MTK_E_PULL,
                       "manifest %s: the registry announced %.80s but the content is %s", ref,
                       p->digest, digest);
  return 0;
}

int mtk_registry_get_manifest(struct mtk_registry *r, const char *repo, const char *ref,
                              char **body, size_t *len, char **media_type, char **digest,
                              struct mtk_err **err)
{
  mtk_autofree char *url = mtk_registry_url(r, repo, "manifests", ref, true, err);
  if (!url)
    return -1;
  mtk_autofree char *scope = mtk_registry_scope(repo, "pull");
  struct mtk_registry_req q = {.method = "GET",
                               .url = url,
                               .scope = scope,
                               .fd = -1,
                               .accept = MTK_REGISTRY_ACCEPT,
                               .cap = MTK_REGISTRY_MANIFEST_MAX,
                               .retry = true};
  struct mtk_registry_resp p = {.content_length = -1, .retry_after = -1};
  char d[MTK_DIGEST_SIZE];
  int ret = mtk_registry_request(r, &q, &p, err);
  if (ret == 0 && p.status != 200)
    ret = mtk_registry_resp_error(r, &p, MTK_E_PULL, err);
  if (ret == 0)
    ret = verify_body(ref, &p, d, err);
  char *mt =
      ret == 0 ? media_type_of(p.content_type, mtk_strbuf_str(&p.body), p.body.len, err) : NULL;
  if (!mt) {
    mtk_registry_resp_free(&p);
    return -1;
  }
  if (len)
    *len = p.body.len;
  if (body)
    *body = p.body.len ? mtk_strbuf_steal(&p.body) : mtk_xstrdup("");
  if (media_type)
    *media_type = mt;
  else
    free(mt);
  if (digest)
    *digest = mtk_xstrdup(d);
  mtk_registry_resp_free(&p);
  return 0;
}

int mtk_registry_head_manifest(struct mtk_registry *r, const char *repo, const char *ref,
                               char **media_type, char **digest, int64_t *size,
                               struct mtk_err **err)
{
  mtk_autofree char *url = mtk_registry_url(r, repo, "manifests", ref, true, err);
  if (!url)
    return -1;
  mtk_autofree char *scope = mtk_registry_scope(repo, "pull");
  struct mtk_registry_req q = {.method = "HEAD",
                               .url = url,
                               .scope = scope,
                               .fd = -1,
                               .accept = MTK_REGISTRY_ACCEPT,
                               .retry = true};
  struct mtk_registry_resp p = {.content_length = -1, .retry_after = -1};
  int ret = mtk_registry_request(r, &q, &p, err);
  if (ret == 0 && p.status != 200)
    ret = mtk_registry_resp_error(r, &p, MTK_E_PULL, err);
  if (ret == 0 && (!p.digest || !mtk_digest_valid(p.digest)))
    ret = mtk_err_set(err, MTK_E_PULL,
                      "manifest %s: the registry sent no valid "
                      "Docker-Content-Digest",
                      ref);
  if (ret == 0 && mtk_digest_valid(ref) && strcmp(ref, p.digest) != 0)
    ret = mtk_err_set(err, MTK_E_PULL, "manifest %s: the registry announced %s", ref, p.digest);
  if (ret == 0) {
    if (media_type)
      *media_type = p.content_type ? mtk_xstrdup(p.content_type) : NULL;
    if (digest)
      *digest = mtk_xstrdup(p.digest);
    if (size)
      *size = p.content_length;
  }
  mtk_registry_resp_free(&p);
  return ret;
}

int mtk_registry_put_manifest(struct mtk_registry *r, const char *repo, const char *ref,
                              const char *media_type, const void *body, size_t len,
                              char **digest_out, struct mtk_err **err)
{
  if (len > MTK_REGISTRY_MANIFEST_MAX)
    return mtk_err_set(err, EFBIG,
                       "manifest of %zu bytes: larger than the 4 MiB registries "
                       "accept",
                       len);
  if (!media_type || !*media_type || strchr(media_type, '\n') || strchr(media_type, '\r'))
    return mtk_err_set(err, EINVAL, "a manifest media type is required");
  mtk_autofree char *url = mtk_registry_url(r, repo, "manifests", ref, true, err);
  if (!url)
    return -1;
  char d[MTK_DIGEST_SIZE];
  mtk_sha256_digest(body, len, d);
  if (mtk_digest_valid(ref) && strcmp(ref, d) != 0)
    return mtk_err_set(err, EINVAL, "manifest content is %s, not %s", d, ref);
  mtk_autofree char *scope = mtk_registry_scope(repo, "pull,push");
  struct mtk_registry_req q = {.method = "PUT",
                               .url = url,
                               .scope = scope,
                               .fd = -1,
                               .content_type = media_type,
                               .body = body,
                               .body_len = len,
                               .retry = true};
  struct mtk_registry_resp p = {.content_length = -1, .retry_after = -1};
  int ret = mtk_registry_request(r, &q, &p, err);
  if (ret == 0 && p.status != 201 && p.status != 200)
    ret = mtk_registry_resp_error(r, &p, MTK_E_GENERIC, err);
  if (ret == 0 && p.digest && strncmp(p.digest, "sha256:", 7) == 0 && strcmp(p.digest, d) != 0)
    ret = mtk_err_set(err, MTK_E_GENERIC, "the registry stored the manifest as %.80s, not %s",
                      p.digest, d);
  mtk_registry_resp_free(&p);
  if (ret == 0 && digest_out)
    *digest_out = mtk_xstrdup(d);
  return ret;
}
