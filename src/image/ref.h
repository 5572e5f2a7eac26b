/* Image references normalised as Docker does (distribution/reference
 * normalize.go, regexp.go): "python:3-alpine" is
 * "docker.io/library/python:3-alpine", "index.docker.io" is "docker.io",
 * "localhost/x", "host.name/x" and "host:5000/x" name other registries.
 * Digests in references must be "sha256:<64 lowercase hex>" (anything else
 * is refused before it can reach a URL or a path). */
#ifndef MTK_IMAGE_REF_H
#define MTK_IMAGE_REF_H

#include <stdbool.h>

#include "mtk/err.h"

#define MTK_IMAGE_REF_DEFAULT_DOMAIN "docker.io"
#define MTK_IMAGE_REF_DEFAULT_TAG "latest"
/* Where docker.io is really served (docker/cli DefaultV2Registry). */
#define MTK_IMAGE_REF_HUB_REGISTRY "registry-1.docker.io"
/* The key Docker Hub credentials have in ~/.docker/config.json `auths`. */
#define MTK_IMAGE_REF_HUB_AUTH_KEY "https://index.docker.io/v1/"

struct mtk_image_ref {
  char *domain; /* owned: "docker.io", "127.0.0.1:5000", "localhost", "[::1]:5000" */
  char *path;   /* owned: repository path, "library/python", "team/lab" */
  char *tag;    /* owned: "3-alpine"; "latest" when neither tag nor digest was given;
                   NULL when only a digest was given */
  char *digest; /* owned: "sha256:<hex>" or NULL; when set it decides what is pulled */
};

/* Parses s as `docker pull` does (ParseNormalizedNamed + the default tag):
 * fills *out (fields owned by out; free with mtk_image_ref_free).  A tag
 * given together with a digest is kept in ->tag, but the digest wins.
 * Errors (code EINVAL) use Docker's texts, e.g.
 *   "invalid reference format: repository name (library/Python) must be lowercase"
 *   "invalid reference format"
 *   "invalid repository name (<64 hex>), cannot specify 64-byte hexadecimal strings".
 * On failure *out is left zeroed. */
int mtk_image_ref_parse(const char *s, struct mtk_image_ref *out, struct mtk_err **err);

/* Fully qualified "domain/path[:tag][@digest]" (Docker's String()). Owned by caller. */
char *mtk_image_ref_string(const struct mtk_image_ref *r);
/* Fully qualified repository name "domain/path". Owned by caller. */
char *mtk_image_ref_name(const struct mtk_image_ref *r);
/* Familiar repository name as `docker images` prints it in REPOSITORY:
 * "python", "rocker/rstudio", "127.0.0.1:5000/team/lab". Owned by caller. */
char *mtk_image_ref_familiar(const struct mtk_image_ref *r);
/* Familiar full form, FamiliarString(): "python:3-alpine", "rocker/rstudio@sha256:...".
 * Owned by caller. */
char *mtk_image_ref_familiar_string(const struct mtk_image_ref *r);
/* The host[:port] to talk the distribution API to: "registry-1.docker.io"
 * for docker.io, the domain otherwise.  Borrowed (static or r->domain). */
const char *mtk_image_ref_registry_host(const struct mtk_image_ref *r);

/* Grammar checks (dspec / reference regexp.go). */
bool mtk_image_ref_tag_valid(const char *tag);
/* A repository path "comp(/comp)*" of lowercase components, <= 255 chars. */
bool mtk_image_ref_path_valid(const char *path);
/* "^[a-f0-9]{64}$": a full image ID without "sha256:". */
bool mtk_image_ref_is_identifier(const char *s);

/* Deep copy; dst must be empty or freed. */
void mtk_image_ref_copy(struct mtk_image_ref *dst, const struct mtk_image_ref *src);
/* Frees the fields and zeroes r; accepts a zeroed r. */
void mtk_image_ref_free(struct mtk_image_ref *r);

#define mtk_autoimageref __attribute__((cleanup(mtk_image_ref_free))) struct mtk_image_ref

#endif
