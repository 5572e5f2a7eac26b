/* Named volumes on disk: a directory per volume with its data and a small
 * record, in use while a container's config mounts it. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/store.h"
#include "orch/orch.h"
#include "runtime/volume.h"
#include "util/cleanup.h"
#include "util/file.h"

static int check_name(const char *name, struct mtk_err **err)
{
  if (mtk_ctr_volume_name_valid(name))
    return 0;
  mtk_err_set(err, EINVAL, "\"%s\" includes invalid characters for a local volume name", name);
  mtk_err_hint(err, "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  return -1;
}

int mtk_volume_create(const char *root, const char *name, const char *const *labels, size_t n,
                      json_t **out, struct mtk_err **err)
{
  if (check_name(name, err) < 0)
    return -1;
  bool created;
  mtk_autofree char *data = mtk_ctr_volume_ensure(root, name, &created, err);
  if (!data)
    return mtk_err_wrap(err, "creating volume %s", name);
  mtk_autofree char *rec = mtk_xasprintf("%s/volumes/%s/volume.json", root, name);
  json_t *v = json_load_file(rec, 0, NULL);
  if (!v) {
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    json_t *l = json_object();
    for (size_t i = 0; i < n; i++) {
      const char *eq = strchr(labels[i], '=');
      mtk_autofree char *k =
          eq ? mtk_xstrndup(labels[i], (size_t) (eq - labels[i])) : mtk_xstrdup(labels[i]);
      json_object_set_new(l, k, json_string(eq ? eq + 1 : ""));
    }
    v = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:{}}", "Name", name, "Driver", "local",
                  "Mountpoint", data, "CreatedAt", ts, "Labels", l, "Scope", "local", "Options");
    mtk_autofree char *text = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (mtk_file_write_atomic(rec, text, strlen(text), 0600, err) < 0) {
      json_decref(v);
      return -1;
    }
  }
  if (out)
    *out = v;
  else
    json_decref(v);
  return 0;
}

int mtk_volume_inspect(const char *root, const char *name, json_t **out, struct mtk_err **err)
{
  mtk_autofree char *dir = mtk_xasprintf("%s/volumes/%s", root, name);
  struct stat st;
  if (!mtk_ctr_volume_name_valid(name) || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
    mtk_err_set(err, ENOENT, "get %s: no such volume", name);
    return -1;
  }
  mtk_autofree char *rec = mtk_xasprintf("%s/volume.json", dir);
  *out = json_load_file(rec, 0, NULL);
  if (!*out) /* made by a container on first use: no record yet */
    return mtk_volume_create(root, name, NULL, 0, out, err);
  json_object_set_new(*out, "Mountpoint", json_sprintf("%s/_data", dir));
  return 0;
}

static int cmp_name(const void *a, const void *b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

int mtk_volume_list(const char *root, json_t **out, struct mtk_err **err)
{
  *out = json_array();
  mtk_autofree char *top = mtk_xasprintf("%s/volumes", root);
  DIR *d = opendir(top);
  if (!d)
    return errno == ENOENT ? 0 : mtk_err_set(err, errno, "reading %s: %s", top, strerror(errno));
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (mtk_ctr_volume_name_valid(e->d_name)) {
      names = mtk_xrealloc(names, (n + 1) * sizeof(*names));
      names[n++] = mtk_xstrdup(e->d_name);
    }
  closedir(d);
  qsort(names, n, sizeof(*names), cmp_name);
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *v = NULL;
    if (rc == 0 && mtk_volume_inspect(root, names[i], &v, err) < 0)
      rc = -1;
    if (v)
      json_array_append_new(*out, v);
    free(names[i]);
  }
  free(names);
  return rc;
}

json_t *mtk_volume_users(const char *root, const char *name)
{
  json_t *users = json_array();
  mtk_autofree char *top = mtk_xasprintf("%s/containers", root);
  DIR *d = opendir(top);
  if (!d)
    return users;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    mtk_autofree char *cfg = mtk_xasprintf("%s/%s/config", top, e->d_name);
    json_t *c = json_load_file(cfg, 0, NULL);
    size_t i;
    json_t *m;
    /* the config's own Mounts list: Binds, --mount and image volumes resolved */
    json_t *list = json_object_get(c, "Mounts");
    if (!list)
      list = json_object_get(json_object_get(c, "HostConfig"), "Mounts");
    json_array_foreach(list, i, m)
    {
      const char *type = json_string_value(json_object_get(m, "Type"));
      /* inspect's shape names the volume in Name; the request's in Source */
      const char *src = json_string_value(json_object_get(m, "Name"));
      if (!src)
        src = json_string_value(json_object_get(m, "Source"));
      if (type && src && strcmp(type, "volume") == 0 && strcmp(src, name) == 0) {
        json_array_append_new(users, json_string(e->d_name));
        break;
      }
    }
    json_decref(c);
  }
  closedir(d);
  return users;
}

int mtk_volume_remove(const char *root, const char *name, bool force, struct mtk_err **err)
{
  json_t *v = NULL;
  if (mtk_volume_inspect(root, name, &v, err) < 0)
    return -1;
  json_decref(v);
  json_t *users = mtk_volume_users(root, name);
  if (json_array_size(users) && !force) {
    mtk_autofree char *list = json_dumps(users, JSON_COMPACT);
    json_decref(users);
    mtk_err_set(err, EBUSY, "remove %s: volume is in use - %s", name, list);
    mtk_err_hint(err, "remove those containers first (mtk container rm)");
    return -1;
  }
  json_decref(users);
  mtk_autofree char *top = mtk_xasprintf("%s/volumes", root);
  mtk_autoclose int dfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return mtk_err_set(err, errno, "%s: %s", top, strerror(errno));
  return mtk_store_remove_tree(dfd, name, NULL, err);
}
