/* Image config parsing (Docker and OCI share the format, ispec config.md):
 * the whole document is kept as a jansson object, and the fields that pull,
 * unpack, build and run need are lifted out with their types checked:
 * rootfs.diff_ids (validated digests), created, os/architecture/variant,
 * and config.{User,WorkingDir,StopSignal,Env,Entrypoint,Cmd}.  The values
 * come from untrusted images: callers validate paths and IDs before use. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "image/store.h"
#include "util/cleanup.h"

/* Entries of Env/Entrypoint/Cmd, and diff IDs (SECURITY.md §2.7). */
#define LIST_MAX 65536

int64_t mtk_image_time_parse(const char *s)
{
  if (s == NULL)
    return -1;
  struct tm tm = {0};
  int used = 0;
  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec, &used) != 6 ||
      used != 19)
    return -1;
  const char *p = s + used;
  if (*p == '.') /* fractional seconds are dropped */
    for (p++; *p >= '0' && *p <= '9'; p++)
      ;
  int64_t offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int h, m, n = 0;
    if (sscanf(p + 1, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5)
      return -1;
    offset = (int64_t) (h * 3600 + m * 60) * (*p == '+' ? 1 : -1);
    p += 6;
  } else {
    return -1;
  }
  if (*p != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return (int64_t) timegm(&tm) - offset;
}

/* A JSON array of strings into a NULL-free vector; NULL/absent gives NULL.
 * Returns -1 for any other type. */
static int strings(json_t *a, const char *what, char ***out, size_t *n, struct mtk_err **err)
{
  *out = NULL;
  *n = 0;
  if (a == NULL || json_is_null(a))
    return 0;
  if (!json_is_array(a) || json_array_size(a) > LIST_MAX)
    return mtk_err_set(err, EINVAL, "image config: %s must be an array of strings", what);
  char **v = mtk_xcalloc(json_array_size(a) + 1, sizeof(*v));
  for (size_t i = 0; i < json_array_size(a); i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if (s == NULL) {
      for (size_t k = 0; k < i; k++)
        free(v[k]);
      free(v);
      return mtk_err_set(err, EINVAL, "image config: %s[%zu] must be a string", what, i);
    }
    v[i] = mtk_xstrdup(s);
  }
  *out = v;
  *n = json_array_size(a);
  return 0;
}

static int opt_str(json_t *o, const char *key, const char *where, char **out, struct mtk_err **err)
{
  json_t *v = json_object_get(o, key);
  *out = NULL;
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return mtk_err_set(err, EINVAL, "image config: %s%s must be a string", where, key);
  *out = mtk_xstrdup(json_string_value(v));
  return 0;
}

static int parse_rootfs(struct mtk_image_config *c, struct mtk_err **err)
{
  json_t *rootfs = json_object_get(c->json, "rootfs");
  json_t *type = json_object_get(rootfs, "type");
  if (!json_is_object(rootfs) || !json_is_string(type) ||
      strcmp(json_string_value(type), "layers") != 0)
    return mtk_err_set(err, EINVAL, "image config: rootfs must be {\"type\": \"layers\", ...}");
  if (strings(json_object_get(rootfs, "diff_ids"), "rootfs.diff_ids", &c->diff_ids, &c->n_diff_ids,
              err) < 0)
    return -1;
  for (size_t i = 0; i < c->n_diff_ids; i++)
    if (!mtk_digest_valid(c->diff_ids[i]))
      return mtk_err_set(err, EINVAL,
                         "image config: rootfs.diff_ids[%zu]: invalid digest "
                         "\"%s\"",
                         i, c->diff_ids[i]);
  return 0;
}

static int parse_run_config(struct mtk_image_config *c, struct mtk_err **err)
{
  json_t *cfg = json_object_get(c->json, "config");
  if (cfg == NULL || json_is_null(cfg))
    return 0;
  if (!json_is_object(cfg))
    return mtk_err_set(err, EINVAL, "image config: config must be an object");
  c->config = cfg;
  if (opt_str(cfg, "User", "config.", &c->user, err) < 0 ||
      opt_str(cfg, "WorkingDir", "config.", &c->working_dir, err) < 0 ||
      opt_str(cfg, "StopSignal", "config.", &c->stop_signal, err) < 0 ||
      strings(json_object_get(cfg, "Env"), "config.Env", &c->env, &c->n_env, err) < 0 ||
      strings(json_object_get(cfg, "Entrypoint"), "config.Entrypoint", &c->entrypoint,
              &c->n_entrypoint, err) < 0 ||
      strings(json_object_get(cfg, "Cmd"), "config.Cmd", &c->cmd, &c->n_cmd, err) < 0)
    return -1;
  return 0;
}

int mtk_image_config_parse(const void *buf, size_t len, struct mtk_image_config **out,
                           struct mtk_err **err)
{
  *out = NULL;
  if (len > MTK_STORE_CONFIG_MAX)
    return mtk_err_set(err, EFBIG, "image config of %zu bytes refused (the limit is %d)", len,
                       MTK_STORE_CONFIG_MAX);
  json_error_t je;
  json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
  if (doc == NULL)
    return mtk_err_set(err, EINVAL, "image config: invalid JSON at line %d, column %d: %s", je.line,
                       je.column, je.text);
  mtk_autoptr(mtk_image_config) c = mtk_xcalloc(1, sizeof(*c));
  c->json = doc;
  if (!json_is_object(doc))
    return mtk_err_set(err, EINVAL, "image config: not a JSON object");
  if (opt_str(doc, "created", "", &c->created, err) < 0 ||
      opt_str(doc, "os", "", &c->os, err) < 0 ||
      opt_str(doc, "architecture", "", &c->architecture, err) < 0 ||
      opt_str(doc, "variant", "", &c->variant, err) < 0 || parse_rootfs(c, err) < 0 ||
      parse_run_config(c, err) < 0)
    return -1;
  int64_t t = mtk_image_time_parse(c->created);
  c->created_unix = t < 0 ? 0 : t;
  *out = mtk_steal_ptr(&c);
  return 0;
}

static void strv_free(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void mtk_image_config_free(struct mtk_image_config *c)
{
  if (c == NULL)
    return;
  json_decref(c->json);
  strv_free(c->diff_ids, c->n_diff_ids);
  strv_free(c->env, c->n_env);
  strv_free(c->entrypoint, c->n_entrypoint);
  strv_free(c->cmd, c->n_cmd);
  free(c->created);
  free(c->os);
  free(c->architecture);
  free(c->variant);
  free(c->user);
  free(c->working_dir);
  free(c->stop_signal);
  free(c);
}
