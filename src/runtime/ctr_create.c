/* mtk_ctr_create: Docker's ContainerCreate request -> <root>/containers/<id>/
 * (config + a "created" state).  Everything that can be checked is checked
 * before anything is written: the image (resolved locally), the name, the
 * merged config (image defaults under the request, as moby's daemon/commit.go
 * merge), the command, the user in the image, capabilities, security
 * options, limits, ulimits, sysctls, mounts, the network and the published
 * host ports.  The name is claimed under <root>/containers/.lock; on any
 * error nothing is left. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "image/image.h"
#include "image/store.h"
#include "net/net.h"
#include "oci/spec.h"
#include "runtime/ctr_internal.h"
#include "util/cleanup.h"

/* What the image contributes. */
struct image_info {
  char *id;       /* image ID "sha256:..." */
  char *manifest; /* manifest digest */
  char *lowerdir; /* overlay lowerdir, top first */
  json_t *config; /* the image config's "config" object (or an empty one) */
  char *platform; /* "linux/amd64" */
};

static void image_info_clear(struct image_info *ii)
{
  free(ii->id);
  free(ii->manifest);
  free(ii->lowerdir);
  json_decref(ii->config);
  free(ii->platform);
}

static int load_image(const char *root, const char *ref, struct image_info *ii,
                      struct mtk_err **err)
{
  mtk_autoptr(mtk_store) s = NULL;
  mtk_autoptr(mtk_store_image) img = NULL;
  mtk_autoptr(mtk_image_config) ic = NULL;
  if (mtk_store_open(root, &s, err) < 0)
    return -1;
  struct mtk_err *e = NULL;
  if (mtk_store_resolve(s, ref, &img, &e) < 0) {
    if (e->code != ENOENT) {
      *err = e;
      return -1;
    }
    mtk_err_free(&e);
    mtk_err_set(err, ENOENT, "Unable to find image '%s' locally", ref);
    mtk_err_hint(err, "get it first: mtk image pull %s", ref);
    return -1;
  }
  mtk_autofree char *buf = NULL;
  size_t len = 0;
  if (mtk_store_blob_read(s, img->id, MTK_STORE_CONFIG_MAX, &buf, &len, err) < 0 ||
      mtk_image_config_parse(buf, len, &ic, err) < 0)
    return mtk_err_wrap(err, "image %s", ref);
  ii->lowerdir = mtk_image_lowerdir(s, img->manifest_digest, img->media_type, err);
  if (!ii->lowerdir)
    return mtk_err_wrap(err, "image %s", ref);
  if (!*ii->lowerdir)
    return mtk_err_set(err, EINVAL, "image %s has no layers: there is nothing to run", ref);
  ii->id = mtk_xstrdup(img->id);
  ii->manifest = mtk_xstrdup(img->manifest_digest);
  ii->config = json_is_object(ic->config) ? json_deep_copy(ic->config) : json_object();
  ii->platform = mtk_xasprintf("%s/%s", ic->os ? ic->os : "linux",
                               ic->architecture ? ic->architecture : "amd64");
  return 0;
}

/* ------------------------------------------------------------- the config */

static size_t key_len(const char *kv)
{
  return strcspn(kv, "=");
}

static bool env_has_key(const json_t *env, const char *kv)
{
  size_t n = key_len(kv), i;
  json_t *v;
  json_array_foreach(env, i, v)
  {
    const char *s = json_string_value(v);
    if (s && key_len(s) == n && strncmp(s, kv, n) == 0)
      return true;
  }
  return false;
}

/* Config.Env: the request's entries ("K" alone takes our value, or removes
 * K), then the image's whose key the request did not name. */
static int merge_env(json_t *cfg, const json_t *img, struct mtk_err **err)
{
  json_t *req = json_object_get(cfg, "Env");
  if (req && !json_is_array(req) && !json_is_null(req))
    return mtk_err_set(err, EINVAL, "Config.Env must be an array of strings");
  json_t *user = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(req, i, v)
  {
    const char *s = json_string_value(v);
    if (!s || !*s || s[0] == '=') {
      json_decref(user);
      return mtk_err_set(err, EINVAL, "invalid environment variable: %s", s ? s : "(not a string)");
    }
    const char *val = strchr(s, '=') ? NULL : getenv(s);
    json_array_append_new(user, val ? json_sprintf("%s=%s", s, val) : json_string(s));
  }
  json_t *env = json_array();
  json_array_foreach(user, i, v)
  {
    if (strchr(json_string_value(v), '='))
      json_array_append(env, v);
  }
  json_array_foreach(json_object_get(img, "Env"), i, v)
  {
    if (json_is_string(v) && !env_has_key(user, json_string_value(v)))
      json_array_append(env, v);
  }
  json_decref(user);
  json_object_set_new(cfg, "Env", env);
  return 0;
}

static bool str_array_ok(const json_t *a)
{
  if (!a || json_is_null(a))
    return true;
  if (!json_is_array(a))
    return false;
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v)
  {
    if (!json_is_string(v))
      return false;
  }
  return true;
}

/* Entrypoint and Cmd: an empty request Entrypoint takes the image's, and then
 * an empty Cmd takes the image's too; --entrypoint "" ([""]) clears it. */
static int merge_command(json_t *cfg, const json_t *img, struct mtk_err **err)
{
  json_t *ep = json_object_get(cfg, "Entrypoint"), *cmd = json_object_get(cfg, "Cmd");
  if (!str_array_ok(ep) || !str_array_ok(cmd))
    return mtk_err_set(err, EINVAL, "Config.Entrypoint and Config.Cmd must be arrays of strings");
  if (json_array_size(ep) == 0) {
    if (json_array_size(cmd) == 0 && json_is_array(json_object_get(img, "Cmd")))
      json_object_set(cfg, "Cmd", json_object_get(img, "Cmd"));
    if (!json_is_array(ep) && json_is_array(json_object_get(img, "Entrypoint")))
      json_object_set(cfg, "Entrypoint", json_object_get(img, "Entrypoint"));
  } else if (json_array_size(ep) == 1 && !*json_string_value(json_array_get(ep, 0))) {
    json_object_set_new(cfg, "Entrypoint", json_null());
  }
  ep = json_object_get(cfg, "Entrypoint");
  cmd = json_object_get(cfg, "Cmd");
  if (json_array_size(ep) == 0 && json_array_size(cmd) == 0) {
    mtk_err_set(err, EINVAL, "No command specified");
    mtk_err_hint(err, "give a command after the image name, or use an image with an ENTRYPOINT "
                      "or CMD");
    return -1;
  }
  if (!json_is_array(cmd))
    json_object_set_new(cfg, "Cmd", json_null());
  if (!json_is_array(ep))
    json_object_set_new(cfg, "Entrypoint", json_null());
  return 0;
}

static void take_string(json_t *cfg, const json_t *img, const char *key)
{
  const char *s = json_string_value(json_object_get(cfg, key));
  const char *i = json_string_value(json_object_get(img, key));
  if ((!s || !*s) && i && *i)
    json_object_set_new(cfg, key, json_string(i));
  else if (!s)
    json_object_set_new(cfg, key, json_string(""));
}

/* Objects merged key by key, the request's winning. */
static void union_object(json_t *cfg, const json_t *img, const char *key)
{
  json_t *r = json_object_get(cfg, key), *i = json_object_get(img, key);
  json_t *out = json_is_object(i) ? json_deep_copy(i) : json_object();
  if (json_is_object(r))
    json_object_update(out, r);
  json_object_set_new(cfg, key, out);
}

static void merge_health(json_t *cfg, const json_t *img)
{
  json_t *r = json_object_get(cfg, "Healthcheck"), *i = json_object_get(img, "Healthcheck");
  if (!json_is_object(i))
    return;
  if (!json_is_object(r)) {
    json_object_set(cfg, "Healthcheck", i);
    return;
  }
  static const char *const keys[] = {"Test",        "Interval",      "Timeout",
                                     "StartPeriod", "StartInterval", "Retries"};
  for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
    json_t *v = json_object_get(r, keys[k]);
    bool empty = !v || json_is_null(v) || (json_is_integer(v) && json_integer_value(v) == 0) ||
                 (json_is_array(v) && json_array_size(v) == 0);
    if (empty && json_object_get(i, keys[k]))
      json_object_set(r, keys[k], json_object_get(i, keys[k]));
  }
}

static int check_workdir(const json_t *cfg, bool from_request, struct mtk_err **err)
{
  const char *wd = json_string_value(json_object_get(cfg, "WorkingDir"));
  if (!wd || !*wd)
    return 0;
  if (from_request && wd[0] != '/')
    return mtk_err_set(
        err, EINVAL, "the working directory '%s' is invalid, it needs to be an absolute path", wd);
  /* CVE-2024-21626: a cwd on /proc/self/fd/N is a host directory */
  const char *p = wd;
  while (*p == '/')
    p++;
  if (strncmp(p, "proc/", 5) == 0 || strcmp(p, "proc") == 0)
    return mtk_err_set(err, EINVAL, "the working directory '%s' is invalid: it is under /proc", wd);
  return 0;
}

/* Config as Docker's inspect shows it: the request over the image config. */
static json_t *merge_config(const json_t *req, const json_t *img, struct mtk_err **err)
{
  json_t *cfg = json_deep_copy(req);
  json_object_del(cfg, "HostConfig");
  json_object_del(cfg, "NetworkingConfig");
  bool req_wd = json_string_value(json_object_get(cfg, "WorkingDir")) &&
                *json_string_value(json_object_get(cfg, "WorkingDir"));
  if (merge_env(cfg, img, err) < 0 || merge_command(cfg, img, err) < 0) {
    json_decref(cfg);
    return NULL;
  }
  take_string(cfg, img, "User");
  take_string(cfg, img, "WorkingDir");
  take_string(cfg, img, "StopSignal");
  union_object(cfg, img, "Labels");
  union_object(cfg, img, "ExposedPorts");
  union_object(cfg, img, "Volumes");
  merge_health(cfg, img);
  if (check_workdir(cfg, req_wd, err) < 0) {
    json_decref(cfg);
    return NULL;
  }
  return cfg;
}

/* ------------------------------------------------------------- host config */

static int check_name(const char *name, struct mtk_err **err)
{
  const char *n = name[0] == '/' ? name + 1 : name;
  bool ok = strlen(n) >= 2 && strlen(n) <= 253 && isalnum((unsigned char) n[0]);
  for (const char *p = n + 1; ok && *p; p++)
    ok = isalnum((unsigned char) *p) || strchr("_.-", *p);
  if (!ok)
    return mtk_err_set(err, EINVAL,
                       "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                       name);
  return 0;
}

static int check_hostname(const char *h, struct mtk_err **err)
{
  bool ok = strlen(h) <= 64;
  for (const char *p = h; ok && *p; p++)
    ok = isalnum((unsigned char) *p) || strchr("-._", *p);
  if (!ok)
    return mtk_err_set(err, EINVAL, "invalid hostname format: %s", h);
  return 0;
}

static int check_restart(const json_t *hc, struct mtk_err **err)
{
  json_t *rp = json_object_get(hc, "RestartPolicy");
  const char *name = json_string_value(json_object_get(rp, "Name"));
  json_int_t max = json_integer_value(json_object_get(rp, "MaximumRetryCount"));
  if (!name || !*name)
    name = "no";
  if (strcmp(name, "no") && strcmp(name, "always") && strcmp(name, "unless-stopped") &&
      strcmp(name, "on-failure"))
    return mtk_err_set(err, EINVAL, "invalid restart policy '%s'", name);
  if (max < 0)
    return mtk_err_set(err, EINVAL, "maximum retry count cannot be negative");
  if (max > 0 && strcmp(name, "on-failure"))
    return mtk_err_set(err, EINVAL, "maximum retry count cannot be used with restart policy '%s'",
                       name);
  if (json_is_true(json_object_get(hc, "AutoRemove")) && strcmp(name, "no"))
    return mtk_err_set(err, EINVAL, "can't create 'AutoRemove' container with restart policy");
  return 0;
}

static int check_limits(const json_t *hc, struct mtk_err **err)
{
  json_int_t mem = json_integer_value(json_object_get(hc, "Memory"));
  if (mem > 0 && mem < 6 * 1024 * 1024)
    return mtk_err_set(err, EINVAL, "Minimum memory limit allowed is 6MB");
  json_int_t cpus = json_integer_value(json_object_get(hc, "NanoCpus"));
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (cpus < 0 || (ncpu > 0 && cpus > (json_int_t) ncpu * 1000000000LL))
    return mtk_err_set(err, EINVAL,
                       "Range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs available",
                       ncpu, ncpu);
  if (json_integer_value(json_object_get(hc, "ShmSize")) < 0)
    return mtk_err_set(err, EINVAL, "SHM size can not be less than 0");
  json_int_t oom = json_integer_value(json_object_get(hc, "OomScoreAdj"));
  if (oom < -1000 || oom > 1000)
    return mtk_err_set(err, EINVAL, "Invalid value %lld, range for oom score adj is [-1000, 1000]",
                       (long long) oom);
  return 0;
}

static int check_security_opts(const json_t *hc, struct mtk_err **err)
{
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "SecurityOpt"), i, v)
  {
    const char *s = json_string_value(v);
    if (!s)
      return mtk_err_set(err, EINVAL, "SecurityOpt must be strings");
    if (strcmp(s, "no-new-privileges") == 0 || strcmp(s, "no-new-privileges:true") == 0 ||
        strcmp(s, "no-new-privileges=true") == 0 || strcmp(s, "no-new-privileges:false") == 0 ||
        strcmp(s, "no-new-privileges=false") == 0 || strcmp(s, "seccomp=unconfined") == 0 ||
        strcmp(s, "seccomp:unconfined") == 0 || strncmp(s, "apparmor=", 9) == 0 ||
        strncmp(s, "apparmor:", 9) == 0 || strncmp(s, "label=", 6) == 0 ||
        strncmp(s, "label:", 6) == 0)
      continue;
    if (strncmp(s, "seccomp", 7) == 0) {
      mtk_err_set(err, EINVAL, "--security-opt %s: custom seccomp profiles are not supported", s);
      mtk_err_hint(err, "use the default profile, or seccomp=unconfined");
      return -1;
    }
    return mtk_err_set(err, EINVAL, "invalid --security-opt %zu: \"%s\"", i + 1, s);
  }
  return 0;
}

static const char *const ulimit_names[] = {
    "as",   "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue",
    "nice", "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack",
};

static int check_ulimits(const json_t *hc, struct mtk_err **err)
{
  size_t i;
  json_t *u;
  json_array_foreach(json_object_get(hc, "Ulimits"), i, u)
  {
    const char *name = json_string_value(json_object_get(u, "Name"));
    bool known = false;
    for (size_t k = 0; name && k < sizeof(ulimit_names) / sizeof(ulimit_names[0]); k++)
      known = known || strcmp(name, ulimit_names[k]) == 0;
    if (!known)
      return mtk_err_set(err, EINVAL, "invalid ulimit type: %s", name ? name : "(none)");
    json_int_t soft = json_integer_value(json_object_get(u, "Soft"));
    json_int_t hard = json_integer_value(json_object_get(u, "Hard"));
    if (soft > hard && hard >= 0)
      return mtk_err_set(err, EINVAL,
                         "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
                         (long long) soft, (long long) hard);
  }
  return 0;
}

static int check_sysctls(const json_t *hc, bool host_net, struct mtk_err **err)
{
  static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                    "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                    "kernel.shmmni", "kernel.shm_rmid_forced"};
  const char *k;
  json_t *v;
  json_object_foreach((json_t *) json_object_get(hc, "Sysctls"), k, v)
  {
    if (!json_is_string(v))
      return mtk_err_set(err, EINVAL, "sysctl %s: the value must be a string", k);
    if (strchr(k, '/') || strstr(k, ".."))
      return mtk_err_set(err, EINVAL, "sysctl \"%s\" is not whitelisted", k);
    bool ok = strncmp(k, "fs.mqueue.", 10) == 0;
    for (size_t i = 0; !ok && i < sizeof(ipc) / sizeof(ipc[0]); i++)
      ok = strcmp(k, ipc[i]) == 0;
    if (!ok && strncmp(k, "net.", 4) == 0) {
      if (host_net)
        return mtk_err_set(err, EINVAL, "sysctl \"%s\" not allowed in host network namespace", k);
      ok = true;
    }
    if (!ok)
      return mtk_err_set(err, EINVAL, "sysctl \"%s\" is not whitelisted", k);
  }
  return 0;
}

static int check_extra_hosts(const json_t *hc, struct mtk_err **err)
{
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(hc, "ExtraHosts"), i, v)
  {
    const char *s = json_string_value(v);
    const char *sep = s ? strpbrk(s, ":=") : NULL;
    if (!sep || sep == s)
      return mtk_err_set(err, EINVAL, "bad format for add-host: \"%s\"", s ? s : "");
    for (const char *p = s; p < sep; p++)
      if (isspace((unsigned char) *p) || !isprint((unsigned char) *p))
        return mtk_err_set(err, EINVAL, "bad format for add-host: \"%s\"", s);
    const char *ip = sep + 1;
    unsigned char buf[16];
    mtk_autofree char *bare = mtk_xstrdup(ip);
    if (bare[0] == '[' && bare[strlen(bare) - 1] == ']') {
      memmove(bare, bare + 1, strlen(bare));
      bare[strlen(bare) - 1] = 0;
    }
    if (strcmp(bare, "host-gateway") && inet_pton(AF_INET, bare, buf) != 1 &&
        inet_pton(AF_INET6, bare, buf) != 1)
      return mtk_err_set(err, EINVAL, "invalid IP address in add-host: \"%s\"", ip);
  }
  return 0;
}

/* The capabilities and the user, as config.json will need them. */
static int check_caps(const json_t *hc, struct mtk_err **err)
{
  const json_t *add = json_object_get(hc, "CapAdd"), *drop = json_object_get(hc, "CapDrop");
  if (!str_array_ok(add) || !str_array_ok(drop))
    return mtk_err_set(err, EINVAL, "CapAdd and CapDrop must be arrays of strings");
  size_t na = json_array_size(add), nd = json_array_size(drop);
  mtk_autofree const char **a = mtk_xcalloc(na + 1, sizeof(char *));
  mtk_autofree const char **d = mtk_xcalloc(nd + 1, sizeof(char *));
  for (size_t i = 0; i < na; i++)
    a[i] = json_string_value(json_array_get(add, i));
  for (size_t i = 0; i < nd; i++)
    d[i] = json_string_value(json_array_get(drop, i));
  struct mtk_oci_run_opts o = {.cap_add = a, .n_cap_add = na, .cap_drop = d, .n_cap_drop = nd};
  json_t *caps = mtk_oci_spec_caps(&o, err);
  if (!caps)
    return -1;
  json_decref(caps);
  return 0;
}

/* The layer that holds the effective /etc/passwd (top-most; whiteouts end the
 * search), or NULL when it is a symlink (checked at start instead). */
static char *passwd_layer(const char *lowerdir)
{
  mtk_autofree char *copy = mtk_xstrdup(lowerdir);
  char *first = NULL;
  for (char *save = NULL, *l = strtok_r(copy, ":", &save); l; l = strtok_r(NULL, ":", &save)) {
    if (!first)
      first = l;
    mtk_autofree char *p = mtk_xasprintf("%s/etc/passwd", l);
    struct stat st;
    if (lstat(p, &st) < 0)
      continue;
    if (S_ISLNK(st.st_mode))
      return NULL;
    return mtk_xstrdup(l); /* a regular file, or a whiteout (reads as missing) */
  }
  return first ? mtk_xstrdup(first) : NULL;
}

static int check_user(const json_t *cfg, const char *lowerdir, struct mtk_err **err)
{
  const char *user = json_string_value(json_object_get(cfg, "User"));
  mtk_autofree char *layer = passwd_layer(lowerdir);
  if (!layer)
    return 0;
  struct mtk_oci_user u;
  if (mtk_oci_user_resolve(layer, user, &u, err) < 0)
    return -1;
  mtk_oci_user_clear(&u);
  return 0;
}

/* -------------------------------------------------------------- networking */

static int normalize_network(json_t *hc, struct mtk_err **err)
{
  json_t *v = json_object_get(hc, "NetworkMode");
  if (v && !json_is_string(v))
    return mtk_err_set(err, EINVAL, "HostConfig.NetworkMode must be a string");
  const char *m = json_string_value(v);
  if (!m || !*m || strcmp(m, "default") == 0)
    json_object_set_new(hc, "NetworkMode", json_string(MTK_CTR_DEFAULT_NETWORK));
  else if (strncmp(m, "container:", 10) == 0)
    return mtk_err_set(err, EINVAL,
                       "--network %s: joining another container's network is not "
                       "supported",
                       m);
  return 0;
}

static int check_endpoints(const json_t *req, const char *mode, struct mtk_err **err)
{
  json_t *eps = json_object_get(json_object_get(req, "NetworkingConfig"), "EndpointsConfig");
  if (!eps || json_is_null(eps))
    return 0;
  if (!json_is_object(eps))
    return mtk_err_set(err, EINVAL, "NetworkingConfig.EndpointsConfig must be an object");
  bool special = strcmp(mode, "none") == 0 || strcmp(mode, "host") == 0;
  const char *net;
  json_t *ep;
  json_object_foreach(eps, net, ep)
  {
    if (special && strcmp(net, mode) != 0)
      return mtk_err_set(err, EINVAL,
                         "container cannot be connected to network %s with "
                         "network mode %s",
                         net, mode);
    const char *ip =
        json_string_value(json_object_get(json_object_get(ep, "IPAMConfig"), "IPv4Address"));
    unsigned char buf[4];
    if (ip && *ip && inet_pton(AF_INET, ip, buf) != 1)
      return mtk_err_set(err, EINVAL, "invalid IPv4 address: %s", ip);
    if (!str_array_ok(json_object_get(ep, "Aliases")))
      return mtk_err_set(err, EINVAL, "network %s: Aliases must be an array of strings", net);
  }
  return 0;
}

/* User networks named by NetworkMode and EndpointsConfig must exist. */
static int check_networks(const char *root, const json_t *req, const char *mode,
                          struct mtk_err **err)
{
  if (strcmp(mode, "none") == 0 || strcmp(mode, "host") == 0)
    return 0;
  json_t *eps = json_object_get(json_object_get(req, "NetworkingConfig"), "EndpointsConfig");
  json_t *names = json_array();
  json_array_append_new(names, json_string(mode));
  const char *net;
  json_t *ep;
  json_object_foreach(eps, net, ep)
  {
    json_array_append_new(names, json_string(net));
  }
  size_t i;
  json_t *n;
  int r = 0;
  json_array_foreach(names, i, n)
  {
    const char *name = json_string_value(n);
    if (r < 0 || strcmp(name, MTK_NET_DEFAULT) == 0)
      continue;
    json_t *rec = NULL;
    r = mtk_net_load(root, name, &rec, err);
    json_decref(rec);
  }
  json_decref(names);
  return r;
}

static int parse_port_key(const char *key, struct mtk_net_port *p, struct mtk_err **err)
{
  char *end;
  long port = strtol(key, &end, 10);
  const char *proto = *end == '/' ? end + 1 : *end ? NULL : "tcp";
  if (end == key || port < 1 || port > 65535 || !proto ||
      (strcmp(proto, "tcp") && strcmp(proto, "udp")))
    return mtk_err_set(err, EINVAL, "invalid port specification: \"%s\"", key);
  snprintf(p->proto, sizeof(p->proto), "%s", proto);
  p->ctr_port = (uint16_t) port;
  return 0;
}

static int parse_ports(const json_t *hc, struct mtk_net_port **v, size_t *n, struct mtk_err **err)
{
  const char *key;
  json_t *arr;
  json_object_foreach((json_t *) json_object_get(hc, "PortBindings"), key, arr)
  {
    struct mtk_net_port base = {0};
    if (parse_port_key(key, &base, err) < 0)
      return -1;
    size_t i;
    json_t *b;
    json_array_foreach(arr, i, b)
    {
      struct mtk_net_port p = base;
      const char *ip = json_string_value(json_object_get(b, "HostIp"));
      const char *hp = json_string_value(json_object_get(b, "HostPort"));
      unsigned char buf[16];
      if (ip && *ip && inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1)
        return mtk_err_set(err, EINVAL, "invalid IP address %s in the binding of %s", ip, key);
      snprintf(p.host_ip, sizeof(p.host_ip), "%s", ip ? ip : "");
      char *end = NULL;
      long port = hp && *hp ? strtol(hp, &end, 10) : 0;
      if ((end && *end) || port < 0 || port > 65535)
        return mtk_err_set(err, EINVAL, "invalid host port \"%s\" for %s", hp, key);
      p.host_port = (uint16_t) port;
      *v = mtk_xrealloc(*v, (*n + 1) * sizeof(**v));
      (*v)[(*n)++] = p;
    }
  }
  return 0;
}

static int check_ports(const json_t *hc, const char *mode, struct mtk_err **err)
{
  json_t *pb = json_object_get(hc, "PortBindings");
  if (pb && !json_is_object(pb) && !json_is_null(pb))
    return mtk_err_set(err, EINVAL, "HostConfig.PortBindings must be an object");
  mtk_autofree struct mtk_net_port *v = NULL;
  size_t n = 0;
  if (parse_ports(hc, &v, &n, err) < 0)
    return -1;
  if (n == 0 || strcmp(mode, "none") == 0 || strcmp(mode, "host") == 0)
    return 0;
  return mtk_net_ports_check(v, n, err);
}

/* ------------------------------------------------------------------- claim */

static void random_id(char out[MTK_CTR_ID_LEN + 1])
{
  unsigned char b[MTK_CTR_ID_LEN / 2];
  size_t got = 0;
  while (got < sizeof(b)) {
    ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
    if (r > 0)
      got += (size_t) r;
  }
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof(b); i++) {
    out[2 * i] = hex[b[i] >> 4];
    out[2 * i + 1] = hex[b[i] & 15];
  }
  out[MTK_CTR_ID_LEN] = 0;
}

/* The ID of the container named name, or NULL. */
static char *name_owner(const char *dir, const char *name)
{
  DIR *d = opendir(dir);
  if (!d)
    return NULL;
  char *owner = NULL;
  struct dirent *e;
  while (!owner && (e = readdir(d))) {
    if (e->d_name[0] == '.' || strlen(e->d_name) != MTK_CTR_ID_LEN)
      continue;
    mtk_autofree char *p = mtk_xasprintf("%s/%s/config", dir, e->d_name);
    json_t *j = json_load_file(p, 0, NULL);
    const char *n = json_string_value(json_object_get(j, "Name"));
    if (n && strcmp(n, name) == 0)
      owner = mtk_xstrdup(e->d_name);
    json_decref(j);
  }
  closedir(d);
  return owner;
}

/* Under the lock: a fresh ID, the name checked, the directory with config
 * and state.  doc gets Id, Name and the paths that depend on the ID. */
static int claim(const char *root, const char *runroot, const char *name, json_t *doc,
                 json_t *state, char id[MTK_CTR_ID_LEN + 1], struct mtk_err **err)
{
  mtk_autofree char *dir = mtk_ctr_dir(root);
  if (mtk_ctr_mkdir_p(dir, 0700, err) < 0)
    return -1;
  mtk_autofree char *lock = mtk_xasprintf("%s/.lock", dir);
  mtk_autoclose int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lfd < 0 || flock(lfd, LOCK_EX) < 0)
    return mtk_err_set(err, errno, "locking %s: %s", lock, strerror(errno));
  mtk_autofree char *cdir = NULL;
  for (;;) {
    random_id(id);
    free(cdir);
    cdir = mtk_ctr_path(root, id);
    if (access(cdir, F_OK) < 0)
      break;
  }
  char short_id[13];
  snprintf(short_id, sizeof(short_id), "%.12s", id);
  const char *n = name ? (name[0] == '/' ? name + 1 : name) : short_id;
  mtk_autofree char *owner = name_owner(dir, n);
  if (owner) {
    mtk_err_set(err, EEXIST,
                "Conflict. The container name \"/%s\" is already in use by container \"%s\"", n,
                owner);
    mtk_err_hint(err,
                 "You have to remove (or rename) that container to be able to reuse that "
                 "name: mtk container rm %s",
                 n);
    return -1;
  }
  json_object_set_new(doc, "Id", json_string(id));
  json_object_set_new(doc, "Name", json_string(n));
  json_t *cfg = json_object_get(doc, "Config");
  const char *host = json_string_value(json_object_get(cfg, "Hostname"));
  if (!host || !*host)
    json_object_set_new(cfg, "Hostname", json_string(short_id));
  json_object_set_new(doc, "LogPath", json_sprintf("%s/ctr.log", cdir));
  mtk_autofree char *bundle = mtk_ctr_bundle_path(runroot, id);
  json_object_set_new(doc, "ResolvConfPath", json_sprintf("%s/resolv.conf", bundle));
  json_object_set_new(doc, "HostnamePath", json_sprintf("%s/hostname", bundle));
  json_object_set_new(doc, "HostsPath", json_sprintf("%s/hosts", bundle));
  json_t *gd = json_object_get(json_object_get(doc, "GraphDriver"), "Data");
  json_object_set_new(gd, "UpperDir", json_sprintf("%s/upper", cdir));
  json_object_set_new(gd, "WorkDir", json_sprintf("%s/work", cdir));
  json_object_set_new(gd, "MergedDir", json_sprintf("%s/rootfs", bundle));
  if (mkdir(cdir, 0700) < 0)
    return mtk_err_set(err, errno, "creating %s: %s", cdir, strerror(errno));
  mtk_autofree char *cfgp = mtk_xasprintf("%s/config", cdir);
  mtk_autofree char *stp = mtk_xasprintf("%s/state", cdir);
  if (mtk_ctr_write_json(stp, state, err) < 0 || mtk_ctr_write_json(cfgp, doc, err) < 0) {
    struct mtk_err *e = NULL;
    mtk_ctr_remove_tree(cdir, &e);
    mtk_err_free(&e);
    return -1;
  }
  return 0;
}

/* Path and Args: what runs (Entrypoint + Cmd). */
static void set_path_args(json_t *doc, const json_t *cfg)
{
  json_t *all = json_array();
  json_array_extend(all, json_object_get(cfg, "Entrypoint"));
  json_array_extend(all, json_object_get(cfg, "Cmd"));
  json_object_set(doc, "Path", json_array_get(all, 0));
  json_array_remove(all, 0);
  json_object_set_new(doc, "Args", all);
}

/* Every check of the merged config and the host config, in Docker's order
 * where it has one; *mounts gets the normalised Mounts list. */
static int check_request(const char *root, const json_t *req, const json_t *cfg, json_t *hc,
                         const char *lowerdir, json_t **mounts, struct mtk_err **err)
{
  if (normalize_network(hc, err) < 0)
    return -1;
  const char *mode = json_string_value(json_object_get(hc, "NetworkMode"));
  const char *host = json_string_value(json_object_get(cfg, "Hostname"));
  const char *sig = json_string_value(json_object_get(cfg, "StopSignal"));
  int signum, r = 0;
  const char *domain = json_string_value(json_object_get(cfg, "Domainname"));
  if (host && *host)
    r = check_hostname(host, err);
  if (r == 0 && domain && *domain)
    r = check_hostname(domain, err);
  if (r == 0)
    r = check_user(cfg, lowerdir, err);
  if (r == 0)
    r = check_caps(hc, err);
  if (r == 0)
    r = check_restart(hc, err);
  if (r == 0)
    r = check_limits(hc, err);
  if (r == 0)
    r = check_security_opts(hc, err);
  if (r == 0)
    r = check_ulimits(hc, err);
  if (r == 0)
    r = check_sysctls(hc, strcmp(mode, "host") == 0, err);
  if (r == 0)
    r = check_extra_hosts(hc, err);
  if (r == 0 && sig && *sig)
    r = mtk_ctr_signal_parse(sig, &signum, err);
  if (r == 0 && !(*mounts = mtk_ctr_mounts_parse(root, hc, json_object_get(cfg, "Volumes"), err)))
    r = -1;
  if (r == 0)
    r = check_endpoints(req, mode, err);
  if (r == 0)
    r = check_networks(root, req, mode, err);
  if (r == 0)
    r = check_ports(hc, mode, err);
  return r;
}

/* Everything checked; the config document without the ID-dependent parts. */
static json_t *build_doc(const char *root, const json_t *req, const struct image_info *ii,
                         struct mtk_err **err)
{
  json_t *hcin = json_object_get(req, "HostConfig");
  if (hcin && !json_is_object(hcin))
    return mtk_err_set(err, EINVAL, "HostConfig must be an object"), NULL;
  json_t *cfg = merge_config(req, ii->config, err);
  if (!cfg)
    return NULL;
  json_object_set(cfg, "Image", json_object_get(req, "Image"));
  json_t *hc = hcin ? json_deep_copy(hcin) : json_object();
  json_t *doc = json_pack("{s:o, s:o}", "Config", cfg, "HostConfig", hc);
  json_t *mounts = NULL;
  if (check_request(root, req, cfg, hc, ii->lowerdir, &mounts, err) < 0) {
    json_decref(mounts);
    json_decref(doc);
    return NULL;
  }
  const char *host = json_string_value(json_object_get(cfg, "Hostname"));
  bool host_net = strcmp(json_string_value(json_object_get(hc, "NetworkMode")), "host") == 0;
  if (host_net && (!host || !*host)) {
    char hn[256] = "";
    gethostname(hn, sizeof(hn) - 1);
    json_object_set_new(cfg, "Hostname", json_string(hn));
  }
  json_object_set_new(doc, "Mounts", mounts);
  json_t *nc = json_object_get(req, "NetworkingConfig");
  json_object_set_new(doc, "NetworkingConfig",
                      json_is_object(nc) ? json_deep_copy(nc)
                                         : json_pack("{s:{}}", "EndpointsConfig"));
  set_path_args(doc, cfg);
  char now[40];
  mtk_ctr_timestamp(now);
  json_object_set_new(doc, "Created", json_string(now));
  json_object_set_new(doc, "Image", json_string(ii->id));
  json_object_set_new(doc, "ImageManifest", json_string(ii->manifest));
  json_object_set_new(doc, "Platform", json_string("linux"));
  json_object_set_new(doc, "Driver", json_string("overlay"));
  json_object_set_new(
      doc, "GraphDriver",
      json_pack("{s:s, s:{s:s}}", "Name", "overlay", "Data", "LowerDir", ii->lowerdir));
  return doc;
}

int mtk_ctr_create(const char *root, const char *runroot, const json_t *req, const char *name,
                   struct mtk_ctr **out, struct mtk_err **err)
{
  if (out)
    *out = NULL;
  if (!json_is_object(req))
    return mtk_err_set(err, EINVAL, "the container request must be a JSON object");
  const char *image = json_string_value(json_object_get(req, "Image"));
  if (!image || !*image)
    return mtk_err_set(err, EINVAL, "no image given: Config.Image is required");
  if (name && check_name(name, err) < 0)
    return -1;
  struct image_info ii = {0};
  if (load_image(root, image, &ii, err) < 0) {
    image_info_clear(&ii);
    return -1;
  }
  json_t *doc = build_doc(root, req, &ii, err);
  image_info_clear(&ii);
  if (!doc)
    return -1;
  json_t *state = mtk_ctr_state_new();
  char id[MTK_CTR_ID_LEN + 1];
  int r = claim(root, runroot, name, doc, state, id, err);
  if (r < 0 || !out) {
    json_decref(doc);
    json_decref(state);
    return r;
  }
  struct mtk_ctr *c = mtk_xcalloc(1, sizeof(*c));
  snprintf(c->id, sizeof(c->id), "%s", id);
  c->name = mtk_xstrdup(json_string_value(json_object_get(doc, "Name")));
  c->config = doc;
  c->state = state;
  *out = c;
  return 0;
}
