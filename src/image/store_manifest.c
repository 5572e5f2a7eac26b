/* Manifest and index parsing: OCI image manifests and indexes, Docker
 * schema2 manifests and manifest lists.  The type comes from the document's
 * mediaType, else from the Content-Type; the two must agree, and a document
 * that is both an index and a manifest is refused (CVE-2021-41190).  Every
 * descriptor digest is validated before anyone can use it in a path or a
 * URL (CVE-2024-3727). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/store.h"
#include "util/cleanup.h"

bool mtk_manifest_media_type_is_index(const char *mt)
{
  return mt && (strcmp(mt, MTK_MT_OCI_INDEX) == 0 || strcmp(mt, MTK_MT_DOCKER_LIST) == 0);
}

bool mtk_manifest_media_type_known(const char *mt)
{
  return mt && (mtk_manifest_media_type_is_index(mt) || strcmp(mt, MTK_MT_OCI_MANIFEST) == 0 ||
                strcmp(mt, MTK_MT_DOCKER_MANIFEST) == 0);
}

const char *mtk_layer_compression(const char *mt)
{
  static const struct {
    const char *type, *compression;
  } layers[] = {
      {MTK_MT_OCI_LAYER, ""},
      {MTK_MT_OCI_LAYER_GZIP, "gzip"},
      {MTK_MT_OCI_LAYER_ZSTD, "zstd"},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", ""},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "gzip"},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", "zstd"},
      {"application/vnd.docker.image.rootfs.diff.tar", ""},
      {MTK_MT_DOCKER_LAYER_GZIP, "gzip"},
      {MTK_MT_DOCKER_LAYER_FOREIGN, "gzip"},
  };
  for (size_t i = 0; mt && i < sizeof(layers) / sizeof(layers[0]); i++)
    if (strcmp(mt, layers[i].type) == 0)
      return layers[i].compression;
  return NULL;
}

/* ------------------------------------------------------------- descriptors */

static char **string_array(json_t *a, size_t *n)
{
  *n = json_array_size(a);
  if (*n == 0)
    return NULL;
  char **v = mtk_xcalloc(*n, sizeof(*v));
  for (size_t i = 0; i < *n; i++)
    v[i] = mtk_xstrdup(json_string_value(json_array_get(a, i)));
  return v;
}

static bool all_strings(json_t *a)
{
  size_t i;
  json_t *x;
  if (!json_is_array(a))
    return false;
  json_array_foreach(a, i, x) if (!json_is_string(x)) return false;
  return true;
}

static const char *opt_string(json_t *o, const char *key, bool *bad)
{
  json_t *v = json_object_get(o, key);
  if (v && !json_is_string(v))
    *bad = true;
  return json_string_value(v);
}

static int parse_platform(json_t *j, const char *where, struct mtk_platform **out,
                          struct mtk_err **err)
{
  bool bad = !json_is_object(j);
  const char *os = opt_string(j, "os", &bad), *arch = opt_string(j, "architecture", &bad);
  const char *variant = opt_string(j, "variant", &bad);
  const char *osv = opt_string(j, "os.version", &bad);
  json_t *feat = json_object_get(j, "os.features");
  if (bad || os == NULL || arch == NULL || (feat && !all_strings(feat)))
    return mtk_err_set(err, EINVAL, "%s: invalid platform", where);
  struct mtk_platform *p = mtk_xcalloc(1, sizeof(*p));
  p->os = mtk_xstrdup(os);
  p->architecture = mtk_xstrdup(arch);
  p->variant = variant && *variant ? mtk_xstrdup(variant) : NULL;
  p->os_version = osv ? mtk_xstrdup(osv) : NULL;
  p->os_features = string_array(feat, &p->n_os_features);
  *out = p;
  return 0;
}

static void descriptor_clear(struct mtk_descriptor *d)
{
  free(d->media_type);
  free(d->digest);
  if (d->platform) {
    mtk_platform_free(d->platform);
    free(d->platform);
  }
  json_decref(d->annotations);
  for (size_t i = 0; i < d->n_urls; i++)
    free(d->urls[i]);
  free(d->urls);
  free(d->artifact_type);
  memset(d, 0, sizeof(*d));
}

static int parse_descriptor(json_t *j, const char *where, struct mtk_descriptor *d,
                            struct mtk_err **err)
{
  memset(d, 0, sizeof(*d));
  bool bad = !json_is_object(j);
  const char *mt = opt_string(j, "mediaType", &bad);
  const char *digest = opt_string(j, "digest", &bad);
  const char *at = opt_string(j, "artifactType", &bad);
  json_t *size = json_object_get(j, "size"), *ann = json_object_get(j, "annotations");
  json_t *urls = json_object_get(j, "urls"), *plat = json_object_get(j, "platform");
  if (bad || mt == NULL || !json_is_integer(size) || json_integer_value(size) < 0)
    return mtk_err_set(err, EINVAL, "%s: a descriptor needs a mediaType and a size >= 0", where);
  if (!mtk_digest_valid(digest))
    return mtk_err_set(err, EINVAL,
                       "%s: invalid digest \"%s\" (only sha256:<64 lowercase "
                       "hex> is accepted)",
                       where, digest ? digest : "");
  if ((ann && !json_is_object(ann)) || (urls && !all_strings(urls)))
    return mtk_err_set(err, EINVAL, "%s: invalid annotations or urls", where);
  if (plat && parse_platform(plat, where, &d->platform, err) < 0)
    return -1;
  d->media_type = mtk_xstrdup(mt);
  d->digest = mtk_xstrdup(digest);
  d->size = json_integer_value(size);
  d->annotations = json_incref(ann);
  d->urls = string_array(urls, &d->n_urls);
  d->artifact_type = at ? mtk_xstrdup(at) : NULL;
  return 0;
}

static int parse_list(json_t *a, const char *what, struct mtk_descriptor **out, size_t *n,
                      struct mtk_err **err)
{
  if (!json_is_array(a))
    return mtk_err_set(err, EINVAL, "manifest: %s must be an array", what);
  *n = json_array_size(a);
  *out = mtk_xcalloc(*n ? *n : 1, sizeof(**out));
  for (size_t i = 0; i < *n; i++) {
    char where[48];
    snprintf(where, sizeof(where), "manifest: %s[%zu]", what, i);
    if (parse_descriptor(json_array_get(a, i), where, &(*out)[i], err) < 0)
      return -1;
  }
  return 0;
}

/* ------------------------------------------------------------- manifests */

/* The media type part of a Content-Type ("type/sub; charset=x" -> "type/sub"),
 * NULL when absent or too generic to say anything. */
static char *content_type_base(const char *ct)
{
  if (ct == NULL)
    return NULL;
  while (isspace((unsigned char) *ct))
    ct++;
  size_t n = strcspn(ct, ";");
  while (n > 0 && isspace((unsigned char) ct[n - 1]))
    n--;
  char *b = mtk_xstrndup(ct, n);
  for (char *p = b; *p; p++)
    *p = (char) tolower((unsigned char) *p);
  if (*b == '\0' || strcmp(b, "application/json") == 0 ||
      strcmp(b, "application/octet-stream") == 0 || strcmp(b, "text/plain") == 0) {
    free(b);
    return NULL;
  }
  return b;
}

static int media_type_of(json_t *doc, const char *content_type, char **out, struct mtk_err **err)
{
  json_t *field = json_object_get(doc, "mediaType");
  if (field && !json_is_string(field))
    return mtk_err_set(err, EINVAL, "manifest: mediaType must be a string");
  mtk_autofree char *ct = content_type_base(content_type);
  const char *mt = json_string_value(field);
  if (mt && ct && strcmp(mt, ct) != 0)
    return mtk_err_set(err, EINVAL, "manifest: mediaType %s does not match the Content-Type %s", mt,
                       ct);
  if (mt == NULL)
    mt = ct;
  if (mt == NULL)
    return mtk_err_set(err, EINVAL, "manifest: no mediaType and no Content-Type tell its type");
  if (strncmp(mt, "application/vnd.docker.distribution.manifest.v1", 47) == 0)
    return mtk_err_set(err, EINVAL, "manifest: Docker schema 1 manifests are not supported");
  if (!mtk_manifest_media_type_known(mt))
    return mtk_err_set(err, EINVAL, "manifest: unsupported media type %s", mt);
  *out = mtk_xstrdup(mt);
  return 0;
}

static int parse_body(json_t *doc, struct mtk_manifest *m, struct mtk_err **err)
{
  json_t *sv = json_object_get(doc, "schemaVersion");
  if (!json_is_integer(sv) || json_integer_value(sv) != 2)
    return mtk_err_set(err, EINVAL, "manifest: unsupported schemaVersion (want 2)");
  json_t *manifests = json_object_get(doc, "manifests");
  json_t *config = json_object_get(doc, "config"), *layers = json_object_get(doc, "layers");
  if (manifests && (config || layers))
    return mtk_err_set(err, EINVAL,
                       "manifest: both \"manifests\" and \"config\"/\"layers\": "
                       "an ambiguous document is refused (CVE-2021-41190)");
  json_t *ann = json_object_get(doc, "annotations"), *subject = json_object_get(doc, "subject");
  if (ann && !json_is_object(ann))
    return mtk_err_set(err, EINVAL, "manifest: annotations must be an object");
  m->annotations = json_incref(ann);
  if (subject) {
    m->subject = mtk_xcalloc(1, sizeof(*m->subject));
    if (parse_descriptor(subject, "manifest: subject", m->subject, err) < 0)
      return -1;
  }
  if (mtk_manifest_media_type_is_index(m->media_type)) {
    m->kind = MTK_MANIFEST_INDEX;
    if (config || layers)
      return mtk_err_set(err, EINVAL, "manifest: an index has no config or layers");
    return parse_list(manifests, "manifests", &m->manifests, &m->n_manifests, err);
  }
  m->kind = MTK_MANIFEST_IMAGE;
  if (config == NULL || layers == NULL)
    return mtk_err_set(err, EINVAL, "manifest: an image manifest needs config and layers");
  if (parse_descriptor(config, "manifest: config", &m->config, err) < 0)
    return -1;
  return parse_list(layers, "layers", &m->layers, &m->n_layers, err);
}

int mtk_manifest_parse(const void *buf, size_t len, const char *content_type,
                       struct mtk_manifest **out, struct mtk_err **err)
{
  *out = NULL;
  if (len > MTK_STORE_MANIFEST_MAX)
    return mtk_err_set(err, EFBIG, "manifest of %zu bytes refused (the limit is %d)", len,
                       MTK_STORE_MANIFEST_MAX);
  json_error_t je;
  json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
  if (doc == NULL)
    return mtk_err_set(err, EINVAL, "manifest: invalid JSON at line %d, column %d: %s", je.line,
                       je.column, je.text);
  struct mtk_manifest *m = mtk_xcalloc(1, sizeof(*m));
  m->json = doc;
  if (!json_is_object(doc)) {
    mtk_manifest_free(m);
    return mtk_err_set(err, EINVAL, "manifest: not a JSON object");
  }
  if (media_type_of(doc, content_type, &m->media_type, err) < 0 || parse_body(doc, m, err) < 0) {
    mtk_manifest_free(m);
    return -1;
  }
  *out = m;
  return 0;
}

void mtk_manifest_free(struct mtk_manifest *m)
{
  if (m == NULL)
    return;
  free(m->media_type);
  descriptor_clear(&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    descriptor_clear(&m->layers[i]);
  free(m->layers);
  for (size_t i = 0; i < m->n_manifests; i++)
    descriptor_clear(&m->manifests[i]);
  free(m->manifests);
  if (m->subject) {
    descriptor_clear(m->subject);
    free(m->subject);
  }
  json_decref(m->annotations);
  json_decref(m->json);
  free(m);
}
