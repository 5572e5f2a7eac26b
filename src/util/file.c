/* Reading a whole file with a size cap (see file.h). */
#include "config.h"

#include <errno.h>
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
