/* Platforms: parsing "os/arch[/variant]", normalisation and the choice of a
 * manifest in an index, after containerd's platforms package (database.go
 * normalizeArch, platforms.go Parse, compare.go Only/platformVector): the
 * wanted platform expands into an ordered list of acceptable ones (amd64/v3
 * then v2, v1, 386; arm64 then arm/v8..v5; arm/v7 then v6, v5); the entry
 * matching the earliest one wins, the first in index order among equals. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "image/store.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define MAX_VECTOR 24

static void set_str(char **field, const char *v)
{
  free(*field);
  *field = v && *v ? mtk_xstrdup(v) : NULL;
}

static void lower(char *s)
{
  for (; s && *s; s++)
    *s = (char) tolower((unsigned char) *s);
}

static bool eq(const char *a, const char *b)
{
  return strcmp(a ? a : "", b ? b : "") == 0;
}

void mtk_platform_normalize(struct mtk_platform *p)
{
  lower(p->os);
  lower(p->architecture);
  lower(p->variant);
  if (p->os && strcmp(p->os, "macos") == 0)
    set_str(&p->os, "darwin");
  const char *a = p->architecture ? p->architecture : "";
  const char *v = p->variant ? p->variant : "";
  if (strcmp(a, "i386") == 0) {
    set_str(&p->architecture, "386");
    set_str(&p->variant, NULL);
  } else if (strcmp(a, "x86_64") == 0 || strcmp(a, "x86-64") == 0 || strcmp(a, "amd64") == 0) {
    set_str(&p->architecture, "amd64");
    if (strcmp(v, "v1") == 0)
      set_str(&p->variant, NULL);
  } else if (strcmp(a, "aarch64") == 0 || strcmp(a, "arm64") == 0) {
    set_str(&p->architecture, "arm64");
    if (strcmp(v, "8") == 0 || strcmp(v, "v8") == 0 || strcmp(v, "v8.0") == 0)
      set_str(&p->variant, NULL);
    else if (strcmp(v, "9") == 0 || strcmp(v, "9.0") == 0 || strcmp(v, "v9.0") == 0)
      set_str(&p->variant, "v9");
  } else if (strcmp(a, "armhf") == 0) {
    set_str(&p->architecture, "arm");
    set_str(&p->variant, "v7");
  } else if (strcmp(a, "armel") == 0) {
    set_str(&p->architecture, "arm");
    set_str(&p->variant, "v6");
  } else if (strcmp(a, "arm") == 0) {
    if (*v == '\0' || strcmp(v, "7") == 0)
      set_str(&p->variant, "v7");
    else if (strcmp(v, "5") == 0 || strcmp(v, "6") == 0 || strcmp(v, "8") == 0) {
      char b[4] = {'v', v[0], 0, 0};
      set_str(&p->variant, b);
    }
  }
}

void mtk_platform_free(struct mtk_platform *p)
{
  if (p == NULL)
    return;
  free(p->os);
  free(p->architecture);
  free(p->variant);
  free(p->os_version);
  for (size_t i = 0; i < p->n_os_features; i++)
    free(p->os_features[i]);
  free(p->os_features);
  memset(p, 0, sizeof(*p));
}

char *mtk_platform_format(const struct mtk_platform *p)
{
  if (p->os == NULL)
    return mtk_xstrdup("unknown");
  return mtk_xasprintf("%s/%s%s%s", p->os, p->architecture ? p->architecture : "",
                       p->variant ? "/" : "", p->variant ? p->variant : "");
}

static const char *host_arm_variant(const char *machine)
{
  if (strncmp(machine, "armv", 4) == 0 && machine[4] >= '5' && machine[4] <= '8')
    return machine[4] == '5' ? "v5" : machine[4] == '6' ? "v6" : machine[4] == '7' ? "v7" : "v8";
  return "v7";
}

void mtk_platform_host(struct mtk_platform *out)
{
  memset(out, 0, sizeof(*out));
  struct utsname u;
  const char *m = uname(&u) == 0 ? u.machine : "x86_64";
  out->os = mtk_xstrdup("linux");
  if (strcmp(m, "i386") == 0 || strcmp(m, "i486") == 0 || strcmp(m, "i586") == 0 ||
      strcmp(m, "i686") == 0) {
    out->architecture = mtk_xstrdup("386");
  } else if (strncmp(m, "arm", 3) == 0 && strcmp(m, "arm64") != 0) {
    out->architecture = mtk_xstrdup("arm");
    out->variant = mtk_xstrdup(host_arm_variant(m));
  } else {
    out->architecture = mtk_xstrdup(m); /* x86_64 and aarch64 are normalised below */
  }
  mtk_platform_normalize(out);
}

static bool valid_component(const char *s, size_t n)
{
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char) s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
      return false;
  return true;
}

int mtk_platform_parse(const char *s, struct mtk_platform *out, struct mtk_err **err)
{
  memset(out, 0, sizeof(*out));
  const char *parts[4];
  size_t lens[4], n = 0;
  for (const char *p = s ? s : "";; p++) {
    const char *slash = strchr(p, '/');
    size_t len = slash ? (size_t) (slash - p) : strlen(p);
    if (n == 3 || !valid_component(p, len))
      return mtk_err_set(err, EINVAL,
                         "invalid platform \"%s\": want os/arch[/variant], e.g. "
                         "linux/amd64 or linux/arm/v7",
                         s ? s : "");
    parts[n] = p;
    lens[n++] = len;
    if (slash == NULL)
      break;
    p = slash;
  }
  if (n == 1) {
    /* "linux" alone means the host's architecture; "arm64" alone, Linux. */
    static const char *const oses[] = {"linux", "windows", "darwin", "freebsd"};
    mtk_platform_host(out);
    for (size_t i = 0; i < sizeof(oses) / sizeof(oses[0]); i++)
      if (strlen(oses[i]) == lens[0] && strncasecmp(parts[0], oses[i], lens[0]) == 0) {
        set_str(&out->os, oses[i]);
        return 0;
      }
    set_str(&out->architecture, parts[0]);
    set_str(&out->variant, NULL);
    mtk_platform_normalize(out);
    return 0;
  }
  out->os = mtk_xstrndup(parts[0], lens[0]);
  out->architecture = mtk_xstrndup(parts[1], lens[1]);
  if (n == 3)
    out->variant = mtk_xstrndup(parts[2], lens[2]);
  mtk_platform_normalize(out);
  return 0;
}

/* ------------------------------------------------------------- matching */

struct want {
  const char *arch; /* borrowed (static or from the wanted platform) */
  char variant[16]; /* "" = none */
};

static void push(struct want *v, size_t *n, const char *arch, const char *variant)
{
  if (*n >= MAX_VECTOR)
    return;
  v[*n].arch = arch;
  snprintf(v[*n].variant, sizeof(v[*n].variant), "%.15s", variant ? variant : "");
  (*n)++;
}

static void arm_vector(struct want *v, size_t *n, const char *variant)
{
  push(v, n, "arm", variant);
  int ver = variant[0] == 'v' ? atoi(variant + 1) : 0;
  for (ver--; ver >= 5; ver--) {
    char b[24];
    snprintf(b, sizeof(b), "v%d", ver);
    push(v, n, "arm", b);
  }
}

/* platformVector of containerd, on a normalised platform. */
static size_t platform_vector(const struct mtk_platform *p, struct want *v)
{
  size_t n = 0;
  const char *arch = p->architecture ? p->architecture : "";
  const char *variant = p->variant ? p->variant : "";
  if (strcmp(arch, "amd64") == 0) {
    push(v, &n, "amd64", variant);
    int ver = variant[0] == 'v' ? atoi(variant + 1) : 0;
    for (ver--; ver >= 1; ver--) {
      char b[24];
      snprintf(b, sizeof(b), "v%d", ver);
      push(v, &n, "amd64", ver == 1 ? "" : b); /* amd64/v1 normalises to amd64 */
    }
    push(v, &n, "386", "");
  } else if (strcmp(arch, "arm") == 0) {
    arm_vector(v, &n, variant);
  } else if (strcmp(arch, "arm64") == 0) {
    /* arm64 v8.N down to v8 (normalised ""), v9.N to v9 then v8.(N+5)..v8 */
    int major = 8, minor = 0;
    if (*variant)
      sscanf(variant, "v%d.%d", &major, &minor);
    for (int maj = major; maj >= 8; maj--) {
      int top = maj == major ? minor : (major == 9 ? (minor + 5 > 9 ? 9 : minor + 5) : 0);
      for (int mi = top; mi >= 0; mi--) {
        char b[32];
        snprintf(b, sizeof(b), mi ? "v%d.%d" : "v%d", maj, mi);
        push(v, &n, "arm64", strcmp(b, "v8") == 0 ? "" : b);
      }
    }
    arm_vector(v, &n, "v8");
  } else {
    push(v, &n, arch, variant);
  }
  return n;
}

/* os.features of the candidate must be a subset of the wanted ones. */
static bool features_ok(const struct mtk_platform *want, const struct mtk_platform *c)
{
  for (size_t i = 0; i < c->n_os_features; i++) {
    bool found = false;
    for (size_t k = 0; k < want->n_os_features && !found; k++)
      found = strcmp(c->os_features[i], want->os_features[k]) == 0;
    if (!found)
      return false;
  }
  return true;
}

/* Rank of a candidate: index in the vector, or -1 when it does not match. */
static int rank(const struct mtk_platform *want, const struct want *v, size_t n,
                const struct mtk_platform *cand)
{
  struct mtk_platform c = {0};
  c.os = cand->os ? mtk_xstrdup(cand->os) : NULL;
  c.architecture = cand->architecture ? mtk_xstrdup(cand->architecture) : NULL;
  c.variant = cand->variant ? mtk_xstrdup(cand->variant) : NULL;
  mtk_platform_normalize(&c);
  int r = -1;
  if (eq(c.os, want->os) && features_ok(want, cand)) {
    for (size_t i = 0; i < n && r < 0; i++)
      if (eq(c.architecture, v[i].arch) && eq(c.variant, v[i].variant))
        r = (int) i;
  }
  mtk_platform_free(&c);
  return r;
}

static bool is_attestation(const struct mtk_descriptor *d)
{
  return d->platform && eq(d->platform->os, "unknown") && eq(d->platform->architecture, "unknown");
}

static char *seen_platforms(const struct mtk_manifest *index)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (size_t i = 0; i < index->n_manifests; i++) {
    const struct mtk_descriptor *d = &index->manifests[i];
    if (d->platform == NULL || is_attestation(d) || !mtk_manifest_media_type_known(d->media_type))
      continue;
    mtk_autofree char *f = mtk_platform_format(d->platform);
    mtk_strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", f);
  }
  return mtk_strbuf_steal(&sb);
}

int mtk_platform_match(const struct mtk_manifest *index, const char *platform,
                       const struct mtk_descriptor **desc, struct mtk_err **err)
{
  *desc = NULL;
  struct mtk_platform want;
  if (platform == NULL)
    mtk_platform_host(&want);
  else if (mtk_platform_parse(platform, &want, err) < 0)
    return -1;
  struct want v[MAX_VECTOR];
  size_t n = platform_vector(&want, v);
  int best = -1;
  for (size_t i = 0; i < index->n_manifests; i++) {
    const struct mtk_descriptor *d = &index->manifests[i];
    if (!mtk_manifest_media_type_known(d->media_type) || is_attestation(d))
      continue;
    /* An entry without a platform matches anything, after every real match. */
    int r = d->platform ? rank(&want, v, n, d->platform) : (int) n;
    if (r >= 0 && (best < 0 || r < best)) {
      best = r;
      *desc = d;
    }
  }
  int ret = 0;
  if (*desc == NULL) {
    mtk_autofree char *w = mtk_platform_format(&want);
    mtk_autofree char *seen = seen_platforms(index);
    ret = mtk_err_set(err, ENOENT, "no matching manifest for %s in the manifest list entries%s%s%s",
                      w, *seen ? " (available: " : "", seen, *seen ? ")" : "");
  }
  mtk_platform_free(&want);
  return ret;
}
