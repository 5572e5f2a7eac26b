/* The mounts of a container request, checked and normalised at create into
 * the config's "Mounts" list (Docker inspect's shape: Type, Name, Source,
 * Destination, Driver, Mode, RW, Propagation; plus mtk's Anonymous, NoCopy,
 * CreateSource, TmpfsOptions): HostConfig.Binds (moby's Linux short syntax
 * "src:dst[:mode]"), HostConfig.Mounts (bind, volume, tmpfs),
 * HostConfig.Tmpfs and the anonymous volumes of Config.Volumes (the image's
 * VOLUMEs included), sorted parents first as moby sorts them. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "runtime/ctr_internal.h"
#include "util/cleanup.h"
#include "util/path.h"
#include "util/strbuf.h"

static const char *const propagations[] = {"shared", "rshared", "slave",
                                           "rslave", "private", "rprivate"};

static bool is_propagation(const char *s)
{
  for (size_t i = 0; i < sizeof(propagations) / sizeof(propagations[0]); i++)
    if (strcmp(s, propagations[i]) == 0)
      return true;
  return false;
}

/* moby's ValidMountMode: at most one of each kind. */
static bool parse_mode(const char *mode, bool *rw, const char **prop, bool *nocopy)
{
  mtk_autofree char *m = mtk_xstrdup(mode);
  int n_rw = 0, n_label = 0, n_prop = 0, n_copy = 0;
  *rw = true;
  *nocopy = false;
  for (char *save = NULL, *o = strtok_r(m, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    if (strcmp(o, "ro") == 0 || strcmp(o, "rw") == 0) {
      n_rw++;
      *rw = o[1] == 'w';
    } else if (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0) {
      n_label++;
    } else if (strcmp(o, "nocopy") == 0 || strcmp(o, "copy") == 0) {
      n_copy++;
      *nocopy = o[0] == 'n';
    } else if (is_propagation(o)) {
      n_prop++;
      for (size_t i = 0; i < sizeof(propagations) / sizeof(propagations[0]); i++)
        if (strcmp(o, propagations[i]) == 0)
          *prop = propagations[i];
    } else {
      return false;
    }
  }
  return n_rw <= 1 && n_label <= 1 && n_prop <= 1 && n_copy <= 1;
}

static void anon_name(char out[65])
{
  unsigned char b[32];
  size_t got = 0;
  while (got < sizeof(b)) {
    ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
    if (r > 0)
      got += (size_t) r;
  }
  for (size_t i = 0; i < sizeof(b); i++)
    snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The destination, cleaned; EINVAL when relative or "/". */
static char *destination(const char *spec, const char *type, const char *dst, struct mtk_err **err)
{
  if (!dst || dst[0] != '/') {
    mtk_err_set(err, EINVAL,
                "invalid volume specification: '%s': invalid mount config for type \"%s\": "
                "invalid mount path: '%s' mount path must be absolute",
                spec, type, dst ? dst : "");
    return NULL;
  }
  char *clean = mtk_path_clean(dst);
  if (strcmp(clean, "/") == 0) {
    free(clean);
    mtk_err_set(err, EINVAL, "invalid specification: destination can't be '/'");
    return NULL;
  }
  return clean;
}

static json_t *volume_entry(const char *root, const char *name, const char *dst, bool rw,
                            const char *mode, bool nocopy, bool anonymous)
{
  char anon[65];
  if (!name) {
    anon_name(anon);
    name = anon;
  }
  mtk_autofree char *src = mtk_xasprintf("%s/volumes/%s/_data", root, name);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:b, s:b}", "Type", "volume", "Name",
                   name, "Source", src, "Destination", dst, "Driver", "local", "Mode", mode, "RW",
                   rw, "Propagation", "", "NoCopy", nocopy, "Anonymous", anonymous);
}

static json_t *bind_entry(const char *src, const char *dst, bool rw, const char *mode,
                          const char *prop, bool create)
{
  mtk_autofree char *clean = mtk_path_clean(src);
  return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:b}", "Type", "bind", "Source", clean,
                   "Destination", dst, "Mode", mode, "RW", rw, "Propagation",
                   prop ? prop : "rprivate", "CreateSource", create);
}

static int bad_volume_name(const char *name, struct mtk_err **err)
{
  mtk_err_set(err, EINVAL,
              "create %s: \"%s\" includes invalid characters for a local volume name, only "
              "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed",
              name, name);
  mtk_err_hint(err, "If you intended to pass a host directory, use an absolute path");
  return -1;
}

/* One "src:dst[:mode]" (or "dst") of HostConfig.Binds. */
static json_t *parse_bind(const char *root, const char *spec, struct mtk_err **err)
{
  mtk_autofree char *s = mtk_xstrdup(spec);
  char *parts[3] = {0};
  size_t n = 0;
  for (char *p = s, *next; p; p = next) {
    next = strchr(p, ':');
    if (next)
      *next++ = 0;
    if (n < 3)
      parts[n] = p;
    n++;
  }
  const char *src = NULL, *dst = NULL, *mode = "";
  bool rw, nocopy;
  const char *prop = NULL;
  if (n == 1)
    dst = parts[0];
  else if (n == 2 && !parse_mode(parts[1], &rw, &prop, &nocopy))
    src = parts[0], dst = parts[1];
  else if (n == 3)
    src = parts[0], dst = parts[1], mode = parts[2];
  else
    return mtk_err_set(err, EINVAL, "invalid volume specification: '%s'", spec), NULL;
  if (src && !*src)
    return mtk_err_set(err, EINVAL, "invalid volume specification: '%s'", spec), NULL;
  prop = NULL;
  if (!parse_mode(mode, &rw, &prop, &nocopy))
    return mtk_err_set(err, EINVAL, "invalid mode: %s", mode), NULL;
  bool is_bind = src && src[0] == '/';
  mtk_autofree char *d = destination(spec, is_bind ? "bind" : "volume", dst, err);
  if (!d)
    return NULL;
  if (is_bind) {
    if (nocopy)
      return mtk_err_set(err, EINVAL, "invalid mode: %s", mode), NULL;
    return bind_entry(src, d, rw, mode, prop, true);
  }
  if (prop)
    return mtk_err_set(err, EINVAL, "invalid mode: %s", mode), NULL;
  if (src && !mtk_ctr_volume_name_valid(src))
    return bad_volume_name(src, err), NULL;
  return volume_entry(root, src, d, rw, mode, nocopy, src == NULL);
}

static const char *const tmpfs_flags[] = {
    "ro",         "rw",       "exec",       "noexec",      "suid",          "nosuid",  "dev",
    "nodev",      "sync",     "async",      "dirsync",     "atime",         "noatime", "diratime",
    "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime",
};
static const char *const tmpfs_keys[] = {
    "size=", "mode=", "uid=", "gid=", "nr_inodes=", "nr_blocks="};

/* --tmpfs options: known flags and key=value options with a plain value. */
static int check_tmpfs_opts(const char *dst, const char *opts, bool *ro, struct mtk_err **err)
{
  mtk_autofree char *m = mtk_xstrdup(opts);
  *ro = false;
  for (char *save = NULL, *o = strtok_r(m, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    bool ok = false;
    for (size_t i = 0; !ok && i < sizeof(tmpfs_flags) / sizeof(tmpfs_flags[0]); i++)
      ok = strcmp(o, tmpfs_flags[i]) == 0;
    if (ok && strcmp(o, "ro") == 0)
      *ro = true;
    if (ok && strcmp(o, "rw") == 0)
      *ro = false;
    for (size_t i = 0; !ok && i < sizeof(tmpfs_keys) / sizeof(tmpfs_keys[0]); i++) {
      size_t kl = strlen(tmpfs_keys[i]);
      ok = strncmp(o, tmpfs_keys[i], kl) == 0 && o[kl] &&
           strspn(o + kl, "0123456789kmgKMG%") == strlen(o + kl);
    }
    if (!ok)
      return mtk_err_set(err, EINVAL, "tmpfs %s: invalid option \"%s\"", dst, o);
  }
  return 0;
}

static json_t *tmpfs_entry(const char *dst, bool rw, const char *opts)
{
  return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "Type", "tmpfs", "Source", "",
                   "Destination", dst, "Mode", "", "RW", rw, "Propagation", "", "TmpfsOptions",
                   opts);
}

static json_t *parse_tmpfs_map(const char *dst, const char *opts, struct mtk_err **err)
{
  mtk_autofree char *d = destination(dst, "tmpfs", dst, err);
  if (!d)
    return NULL;
  bool ro;
  if (check_tmpfs_opts(d, opts, &ro, err) < 0)
    return NULL;
  /* ro/rw are carried by RW; the rest goes to the mount as written */
  mtk_autofree char *copy = mtk_xstrdup(opts);
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (char *save = NULL, *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
    if (strcmp(o, "ro") != 0 && strcmp(o, "rw") != 0)
      mtk_strbuf_addf(&sb, "%s%s", sb.len ? "," : "", o);
  return tmpfs_entry(d, !ro, mtk_strbuf_str(&sb));
}

/* One entry of HostConfig.Mounts (the long syntax). */
static json_t *parse_long(const char *root, const json_t *m, struct mtk_err **err)
{
  const char *type = json_string_value(json_object_get(m, "Type"));
  const char *src = json_string_value(json_object_get(m, "Source"));
  const char *dst = json_string_value(json_object_get(m, "Target"));
  bool rw = !json_is_true(json_object_get(m, "ReadOnly"));
  if (!type)
    return mtk_err_set(err, EINVAL, "invalid mount config: the mount type is required"), NULL;
  mtk_autofree char *spec = mtk_xasprintf("type=%s,target=%s", type, dst ? dst : "");
  if (strcmp(type, "bind") && strcmp(type, "volume") && strcmp(type, "tmpfs"))
    return mtk_err_set(err, EINVAL, "invalid mount config for type \"%s\": mount type unknown",
                       type),
           NULL;
  mtk_autofree char *d = destination(spec, type, dst, err);
  if (!d)
    return NULL;
  if (strcmp(type, "tmpfs") == 0) {
    if (src && *src)
      return mtk_err_set(err, EINVAL,
                         "invalid mount config for type \"tmpfs\": source must not be specified"),
             NULL;
    json_t *o = json_object_get(m, "TmpfsOptions");
    mtk_autostrbuf sb = MTK_STRBUF_INIT;
    json_int_t size = json_integer_value(json_object_get(o, "SizeBytes"));
    json_int_t mode = json_integer_value(json_object_get(o, "Mode"));
    if (size < 0)
      return mtk_err_set(err, EINVAL, "invalid tmpfs size %lld", (long long) size), NULL;
    if (size > 0)
      mtk_strbuf_addf(&sb, "size=%lld", (long long) size);
    if (mode > 0)
      mtk_strbuf_addf(&sb, "%smode=%llo", sb.len ? "," : "", (unsigned long long) (mode & 07777));
    return tmpfs_entry(d, rw, mtk_strbuf_str(&sb));
  }
  if (strcmp(type, "volume") == 0) {
    if (src && *src && !mtk_ctr_volume_name_valid(src))
      return bad_volume_name(src, err), NULL;
    bool nocopy = json_is_true(json_object_get(json_object_get(m, "VolumeOptions"), "NoCopy"));
    bool anon = !src || !*src;
    return volume_entry(root, anon ? NULL : src, d, rw, "", nocopy, anon);
  }
  if (!src || src[0] != '/')
    return mtk_err_set(err, EINVAL,
                       "invalid mount config for type \"bind\": invalid mount path: '%s' mount "
                       "path must be absolute",
                       src ? src : ""),
           NULL;
  json_t *bo = json_object_get(m, "BindOptions");
  const char *prop = json_string_value(json_object_get(bo, "Propagation"));
  if (prop && *prop && !is_propagation(prop))
    return mtk_err_set(err, EINVAL, "invalid propagation mode: %s", prop), NULL;
  bool create = json_is_true(json_object_get(bo, "CreateMountpoint"));
  struct stat st;
  if (!create && stat(src, &st) < 0)
    return mtk_err_set(err, ENOENT,
                       "invalid mount config for type \"bind\": bind source path does not exist: "
                       "%s",
                       src),
           NULL;
  return bind_entry(src, d, rw, "", prop && *prop ? prop : NULL, create);
}

static size_t depth(const char *p)
{
  size_t n = 0;
  for (; *p; p++)
    n += *p == '/';
  return n;
}

static int by_depth(const void *a, const void *b)
{
  const char *x = json_string_value(json_object_get(*(json_t *const *) a, "Destination"));
  const char *y = json_string_value(json_object_get(*(json_t *const *) b, "Destination"));
  size_t dx = depth(x), dy = depth(y);
  return dx < dy ? -1 : dx > dy ? 1 : 0;
}

/* Appends e unless its destination is taken (EINVAL "Duplicate mount point"). */
static int add(json_t *list, json_t *e, struct mtk_err **err)
{
  if (!e)
    return -1;
  const char *dst = json_string_value(json_object_get(e, "Destination"));
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v)
  {
    if (strcmp(json_string_value(json_object_get(v, "Destination")), dst) == 0) {
      int r = mtk_err_set(err, EINVAL, "Duplicate mount point: %s", dst);
      json_decref(e);
      return r;
    }
  }
  json_array_append_new(list, e);
  return 0;
}

static bool has_destination(const json_t *list, const char *dst)
{
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v)
  {
    if (strcmp(json_string_value(json_object_get(v, "Destination")), dst) == 0)
      return true;
  }
  return false;
}

static json_t *sorted(json_t *list)
{
  size_t n = json_array_size(list);
  json_t **v = mtk_xcalloc(n + 1, sizeof(*v));
  for (size_t i = 0; i < n; i++)
    v[i] = json_incref(json_array_get(list, i));
  /* stable: insertion sort keeps the order of equal depths */
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && by_depth(&v[j - 1], &v[j]) > 0; j--) {
      json_t *t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(out, v[i]);
  free(v);
  json_decref(list);
  return out;
}

json_t *mtk_ctr_mounts_parse(const char *root, const json_t *hc, const json_t *volumes,
                             struct mtk_err **err)
{
  json_t *list = json_array();
  size_t i;
  json_t *v;
  int r = 0;
  json_array_foreach(json_object_get(hc, "Binds"), i, v)
  {
    if (r == 0 && !json_is_string(v))
      r = mtk_err_set(err, EINVAL, "HostConfig.Binds must be an array of strings");
    if (r == 0)
      r = add(list, parse_bind(root, json_string_value(v), err), err);
  }
  json_array_foreach(json_object_get(hc, "Mounts"), i, v)
  {
    if (r == 0)
      r = add(list, parse_long(root, v, err), err);
  }
  const char *k;
  json_object_foreach((json_t *) json_object_get(hc, "Tmpfs"), k, v)
  {
    if (r == 0 && !json_is_string(v))
      r = mtk_err_set(err, EINVAL, "HostConfig.Tmpfs values must be strings");
    if (r == 0)
      r = add(list, parse_tmpfs_map(k, json_string_value(v), err), err);
  }
  json_object_foreach((json_t *) volumes, k, v)
  {
    mtk_autofree char *d = r == 0 ? destination(k, "volume", k, err) : NULL;
    if (!d)
      r = -1;
    else if (!has_destination(list, d))
      r = add(list, volume_entry(root, NULL, d, true, "", false, true), err);
  }
  if (r < 0) {
    json_decref(list);
    return NULL;
  }
  return sorted(list);
}
