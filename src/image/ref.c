/* Image reference parsing and normalisation, after distribution/reference
 * (normalize.go ParseNormalizedNamed/splitDockerDomain, reference.go Parse,
 * regexp.go grammar).  The grammar pieces are POSIX EREs compiled once; the
 * reference is split by hand (a name holds ':' only inside its domain, a tag
 * holds neither ':' nor '/', nothing holds '@' but the digest separator),
 * which matches exactly the strings Docker's anchored reference regexp does.
 * Digests must be sha256 (go-digest's error texts for the rest). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "image/ref.h"
#include "util/cleanup.h"
#include "util/sha256.h"

#define PATH_COMPONENT "[a-z0-9]+(([._]|__|[-]+)[a-z0-9]+)*"
#define DOMAIN_COMPONENT "([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
#define DOMAIN_NAME DOMAIN_COMPONENT "(\\." DOMAIN_COMPONENT ")*"
#define HOST "(" DOMAIN_NAME "|\\[[a-fA-F0-9:]+\\])"

static const char *const patterns[] = {
    "^" HOST "(:[0-9]+)?$",                                                  /* domain and port */
    "^" PATH_COMPONENT "(/" PATH_COMPONENT ")*$",                            /* remote name */
    "^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}$",                                   /* tag */
    "^[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[[:xdigit:]]{32,}$", /* digest */
    "^[a-f0-9]{64}$",                                                        /* identifier */
};
enum { RE_DOMAIN, RE_REMOTE, RE_TAG, RE_DIGEST, RE_ID, RE_COUNT };

#define NAME_MAX_LEN 255

static regex_t regexes[RE_COUNT];
static pthread_once_t regexes_once = PTHREAD_ONCE_INIT;

static void compile_regexes(void)
{
  for (int i = 0; i < RE_COUNT; i++)
    if (regcomp(&regexes[i], patterns[i], REG_EXTENDED | REG_NOSUB) != 0)
      abort(); /* the patterns are constants: a failure is a bug */
}

static bool matches(int which, const char *s)
{
  pthread_once(&regexes_once, compile_regexes);
  return regexec(&regexes[which], s, 0, NULL, 0) == 0;
}

bool mtk_image_ref_tag_valid(const char *tag)
{
  return tag && matches(RE_TAG, tag);
}

bool mtk_image_ref_path_valid(const char *path)
{
  return path && strlen(path) <= NAME_MAX_LEN && matches(RE_REMOTE, path);
}

bool mtk_image_ref_is_identifier(const char *s)
{
  return s && matches(RE_ID, s);
}

static bool has_upper(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (isupper((unsigned char) s[i]))
      return true;
  return false;
}

/* splitDockerDomain: the first component names a registry when it has a '.'
 * or ':', is "localhost", or has uppercase (namespaces cannot). */
static void split_docker_domain(const char *name, char **domain, char **remainder)
{
  const char *slash = strchr(name, '/');
  if (slash == NULL) {
    *domain = mtk_xstrdup(MTK_IMAGE_REF_DEFAULT_DOMAIN);
    *remainder = mtk_xasprintf("library/%s", name);
    return;
  }
  size_t n = (size_t) (slash - name);
  const char *rest = slash + 1;
  if (n == 15 && strncmp(name, "index.docker.io", n) == 0) {
    *domain = mtk_xstrdup(MTK_IMAGE_REF_DEFAULT_DOMAIN);
  } else if ((n == 9 && strncmp(name, "localhost", n) == 0) || memchr(name, '.', n) ||
             memchr(name, ':', n) || has_upper(name, n)) {
    *domain = mtk_xstrndup(name, n);
  } else {
    *domain = mtk_xstrdup(MTK_IMAGE_REF_DEFAULT_DOMAIN);
    rest = name;
  }
  if (strcmp(*domain, MTK_IMAGE_REF_DEFAULT_DOMAIN) == 0 && strchr(rest, '/') == NULL)
    *remainder = mtk_xasprintf("library/%s", rest);
  else
    *remainder = mtk_xstrdup(rest);
}

/* go-digest Digest.Validate, restricted to the one algorithm mtk implements. */
static int check_digest(const char *d, struct mtk_err **err)
{
  const char *colon = strchr(d, ':');
  if (strncmp(d, "sha256:", 7) != 0 || colon != d + 6)
    return mtk_err_set(err, EINVAL, "unsupported digest algorithm");
  if (strlen(colon + 1) != 64)
    return mtk_err_set(err, EINVAL, "invalid checksum digest length");
  if (!mtk_digest_valid(d))
    return mtk_err_set(err, EINVAL, "invalid checksum digest format");
  return 0;
}

/* Splits "name[:tag][@digest]" and checks each piece against the grammar. */
static bool split_reference(char *s, char **name, char **tag, char **digest)
{
  *tag = *digest = NULL;
  char *at = strchr(s, '@');
  if (at) {
    *at = '\0';
    *digest = at + 1;
    if (!matches(RE_DIGEST, *digest))
      return false;
  }
  char *slash = strrchr(s, '/');
  char *colon = strrchr(slash ? slash : s, ':');
  if (colon) {
    *colon = '\0';
    *tag = colon + 1;
    if (!matches(RE_TAG, *tag))
      return false;
  }
  *name = s;
  return true;
}

/* Parse() of reference.go on an already domain-prefixed string. */
static int parse_full(const char *full, struct mtk_image_ref *out, struct mtk_err **err)
{
  mtk_autofree char *s = mtk_xstrdup(full);
  char *name, *tag, *digest;
  bool ok = split_reference(s, &name, &tag, &digest);
  char *slash = ok ? strchr(name, '/') : NULL;
  if (slash) {
    *slash = '\0';
    ok = matches(RE_DOMAIN, name) && matches(RE_REMOTE, slash + 1);
  }
  /* Docker would take a name whose first component is neither a domain
   * nor valid as a whole (e.g. "a_b.c/x") as a domain-less path; such a
   * name has no registry to pull from, so it is refused here. */
  if (!ok || slash == NULL) {
    mtk_autofree char *lower = mtk_xstrdup(full);
    for (char *p = lower; *p; p++)
      *p = (char) tolower((unsigned char) *p);
    struct mtk_image_ref tmp = {0};
    if (strcmp(lower, full) != 0 && parse_full(lower, &tmp, NULL) == 0) {
      mtk_image_ref_free(&tmp);
      return mtk_err_set(err, EINVAL, "repository name must be lowercase");
    }
    return mtk_err_set(err, EINVAL, "invalid reference format");
  }
  if (strlen(slash + 1) > NAME_MAX_LEN)
    return mtk_err_set(err, EINVAL, "repository name must not be more than %d characters",
                       NAME_MAX_LEN);
  if (digest && check_digest(digest, err) < 0)
    return -1;
  out->domain = mtk_xstrdup(name);
  out->path = mtk_xstrdup(slash + 1);
  out->tag = tag ? mtk_xstrdup(tag) : NULL;
  out->digest = digest ? mtk_xstrdup(digest) : NULL;
  return 0;
}

int mtk_image_ref_parse(const char *s, struct mtk_image_ref *out, struct mtk_err **err)
{
  memset(out, 0, sizeof(*out));
  if (s == NULL || *s == '\0')
    return mtk_err_set(err, EINVAL, "invalid reference format");
  if (matches(RE_ID, s))
    return mtk_err_set(
        err, EINVAL, "invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s);
  mtk_autofree char *domain = NULL;
  mtk_autofree char *remainder = NULL;
  split_docker_domain(s, &domain, &remainder);
  size_t remote_len = strcspn(remainder, ":");
  if (has_upper(remainder, remote_len))
    return mtk_err_set(err, EINVAL,
                       "invalid reference format: repository name (%.*s) must be lowercase",
                       (int) remote_len, remainder);
  mtk_autofree char *full = mtk_xasprintf("%s/%s", domain, remainder);
  if (parse_full(full, out, err) < 0)
    return -1;
  if (out->tag == NULL && out->digest == NULL)
    out->tag = mtk_xstrdup(MTK_IMAGE_REF_DEFAULT_TAG);
  return 0;
}

char *mtk_image_ref_name(const struct mtk_image_ref *r)
{
  return mtk_xasprintf("%s/%s", r->domain, r->path);
}

static char *with_suffixes(char *name, const struct mtk_image_ref *r)
{
  char *s = mtk_xasprintf("%s%s%s%s%s", name, r->tag ? ":" : "", r->tag ? r->tag : "",
                          r->digest ? "@" : "", r->digest ? r->digest : "");
  free(name);
  return s;
}

char *mtk_image_ref_string(const struct mtk_image_ref *r)
{
  return with_suffixes(mtk_image_ref_name(r), r);
}

/* familiarizeName: docker.io is dropped, and so is "library/" when what
 * follows is a single component. */
char *mtk_image_ref_familiar(const struct mtk_image_ref *r)
{
  if (strcmp(r->domain, MTK_IMAGE_REF_DEFAULT_DOMAIN) != 0)
    return mtk_image_ref_name(r);
  const char *p = r->path;
  if (strncmp(p, "library/", 8) == 0 && strchr(p + 8, '/') == NULL)
    p += 8;
  return mtk_xstrdup(p);
}

char *mtk_image_ref_familiar_string(const struct mtk_image_ref *r)
{
  return with_suffixes(mtk_image_ref_familiar(r), r);
}

const char *mtk_image_ref_registry_host(const struct mtk_image_ref *r)
{
  if (strcmp(r->domain, MTK_IMAGE_REF_DEFAULT_DOMAIN) == 0)
    return MTK_IMAGE_REF_HUB_REGISTRY;
  return r->domain;
}

void mtk_image_ref_copy(struct mtk_image_ref *dst, const struct mtk_image_ref *src)
{
  dst->domain = src->domain ? mtk_xstrdup(src->domain) : NULL;
  dst->path = src->path ? mtk_xstrdup(src->path) : NULL;
  dst->tag = src->tag ? mtk_xstrdup(src->tag) : NULL;
  dst->digest = src->digest ? mtk_xstrdup(src->digest) : NULL;
}

void mtk_image_ref_free(struct mtk_image_ref *r)
{
  if (r == NULL)
    return;
  free(r->domain);
  free(r->path);
  free(r->tag);
  free(r->digest);
  memset(r, 0, sizeof(*r));
}
