/* Where command output goes: stdout, or a file replaced atomically (a
 * temporary file in the same directory, written, synced, then renamed over
 * the target), so that a reader never sees a half-written file and a failed
 * run leaves the old one in place. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/cleanup.h"

static int write_all(int fd, const char *text, size_t len)
{
  while (len > 0) {
    ssize_t w = write(fd, text, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    text += w;
    len -= (size_t) w;
  }
  return 0;
}

static int write_file(const char *path, const char *text, size_t len, struct mtk_err **err)
{
  /* POSIX dirname/basename may modify their argument: give each a copy. */
  mtk_autofree char *dir = mtk_xstrdup(path), *base = mtk_xstrdup(path);
  mtk_autofree char *tmp = mtk_xasprintf("%s/.%s.XXXXXX", dirname(dir), basename(base));
  mtk_autoclose int fd = mkstemp(tmp);
  if (fd < 0)
    return mtk_err_set(err, errno, "cannot create a temporary file for %s: %s", path,
                       strerror(errno));
  /* mkstemp creates 0600; give the file what the umask allows, as a plain create would. */
  mode_t mask = umask(0);
  umask(mask);
  int saved;
  if (fchmod(fd, 0666 & ~mask) < 0 || write_all(fd, text, len) < 0 || fsync(fd) < 0)
    goto fail;
  if (close(mtk_steal_fd(&fd)) < 0 || rename(tmp, path) < 0)
    goto fail;
  return 0;
fail:
  saved = errno;
  unlink(tmp);
  return mtk_err_set(err, saved, "cannot write %s: %s", path, strerror(saved));
}

int mtk_cli_write_output(const char *path, const char *text, size_t len, struct mtk_err **err)
{
  if (path && *path && strcmp(path, "-") != 0)
    return write_file(path, text, len, err);
  if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
    return mtk_err_set(err, errno, "cannot write to stdout: %s", strerror(errno));
  return 0;
}
