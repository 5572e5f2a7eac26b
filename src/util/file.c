/* Reading a whole file with a size cap, and replacing one atomically (see file.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/file.h"
#include "util/strbuf.h"

char *mtk_file_read(const char *path, size_t max, size_t *len, struct mtk_err **err)
{
  mtk_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0)
    return mtk_err_set(err, errno, "open %s: %s", path, strerror(errno)), NULL;
  if (fstat(fd, &st) < 0)
    return mtk_err_set(err, errno, "stat %s: %s", path, strerror(errno)), NULL;
  if (S_ISDIR(st.st_mode))
    return mtk_err_set(err, EISDIR, "read %s: %s", path, strerror(EISDIR)), NULL;
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  char buf[65536];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return mtk_err_set(err, errno, "read %s: %s", path, strerror(errno)), NULL;
    if (r == 0)
      break;
    if ((size_t) r > max - sb.len)
      return mtk_err_set(err, EFBIG, "read %s: larger than %zu bytes", path, max), NULL;
    mtk_strbuf_add(&sb, buf, (size_t) r);
  }
  *len = sb.len;
  return mtk_strbuf_steal(&sb);
}

int mtk_file_write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    len -= (size_t) w;
  }
  return 0;
}

int mtk_file_atomic_open(struct mtk_file_atomic *a, const char *path, mode_t mode,
                         struct mtk_err **err)
{
  const char *slash = strrchr(path, '/');
  a->path = mtk_xstrdup(path);
  a->tmp = slash ? mtk_xasprintf("%.*s/.%s.XXXXXX", (int) (slash - path), path, slash + 1)
                 : mtk_xasprintf(".%s.XXXXXX", path);
  a->fd = mkostemp(a->tmp, O_CLOEXEC);
  if (a->fd < 0) {
    int e = errno;
    mtk_file_atomic_abort(a);
    return mtk_err_set(err, e, "cannot create a temporary file for %s: %s", path, strerror(e));
  }
  if (mode == (mode_t) -1) {
    mode_t mask = umask(0);
    umask(mask);
    mode = 0666 & ~mask;
  }
  if (fchmod(a->fd, mode) < 0) {
    int e = errno;
    mtk_file_atomic_abort(a);
    return mtk_err_set(err, e, "cannot write %s: %s", path, strerror(e));
  }
  return 0;
}

int mtk_file_atomic_commit(struct mtk_file_atomic *a, struct mtk_err **err)
{
  int fd = a->fd, e = 0;
  a->fd = -1;
  if (fsync(fd) < 0)
    e = errno;
  if (close(fd) < 0 && e == 0)
    e = errno;
  if (e == 0 && rename(a->tmp, a->path) < 0)
    e = errno;
  if (e != 0) {
    mtk_err_set(err, e, "cannot write %s: %s", a->path, strerror(e));
    mtk_file_atomic_abort(a);
    return -1;
  }
  free(a->tmp);
  free(a->path);
  a->tmp = a->path = NULL;
  return 0;
}

void mtk_file_atomic_abort(struct mtk_file_atomic *a)
{
  if (a->fd >= 0)
    close(a->fd);
  a->fd = -1;
  if (a->tmp)
    unlink(a->tmp);
  free(a->tmp);
  free(a->path);
  a->tmp = a->path = NULL;
}

int mtk_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
                          struct mtk_err **err)
{
  struct mtk_file_atomic a;
  if (mtk_file_atomic_open(&a, path, mode, err) < 0)
    return -1;
  if (mtk_file_write_all(a.fd, buf, len) < 0) {
    int e = errno;
    mtk_file_atomic_abort(&a);
    return mtk_err_set(err, e, "cannot write %s: %s", path, strerror(e));
  }
  return mtk_file_atomic_commit(&a, err);
}
