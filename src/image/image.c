/* What `image rm` and `image prune` ask of the rest of mtk: the images that
 * containers use.  The runtime writes <root>/containers/<id>/config (JSON)
 * for every container it creates; its "Image" member names the image (ID or
 * manifest digest).  No directory means no containers yet. */
#include "config.h"

#include "image/image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/json.h"

#define CONFIG_MAX (4 * 1024 * 1024)

void mtk_image_strv_free(char **v, size_t n)
{
  if (!v)
    return;
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* The "Image" of one container config, or NULL when unreadable (a container
 * being created or removed right now is not an error). */
static char *container_image(int dirfd, const char *name)
{
  mtk_autofree char *path = mtk_xasprintf("%s/config", name);
  mtk_autoclose int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return NULL;
  json_error_t je;
  json_t *j = mtk_json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
  if (!j)
    return NULL;
  json_t *img = json_object_get(j, "Image");
  if (!img)
    img = json_object_get(j, "image");
  char *out = json_is_string(img) ? mtk_xstrdup(json_string_value(img)) : NULL;
  json_decref(j);
  return out;
}

int mtk_image_in_use(const char *root, char ***ids, char ***containers, size_t *n,
                     struct mtk_err **err)
{
  *n = 0;
  if (ids)
    *ids = NULL;
  if (containers)
    *containers = NULL;
  mtk_autofree char *dir = mtk_xasprintf("%s/containers", root ? root : MTK_DEFAULT_ROOT);
  mtk_autoclose int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    if (errno == ENOENT)
      return 0;
    return mtk_err_set(err, errno, "reading %s: %s", dir, strerror(errno));
  }
  DIR *d = fdopendir(dup(dirfd));
  if (!d)
    return mtk_err_set(err, errno, "reading %s: %s", dir, strerror(errno));
  char **iv = NULL, **cv = NULL;
  size_t k = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char *img = container_image(dirfd, e->d_name);
    if (!img)
      continue;
    iv = mtk_xrealloc(iv, (k + 1) * sizeof(*iv));
    cv = mtk_xrealloc(cv, (k + 1) * sizeof(*cv));
    iv[k] = img;
    cv[k] = mtk_xstrdup(e->d_name);
    k++;
  }
  closedir(d);
  *n = k;
  if (ids)
    *ids = iv;
  else
    mtk_image_strv_free(iv, k);
  if (containers)
    *containers = cv;
  else
    mtk_image_strv_free(cv, k);
  return 0;
}
