/* Where command output goes: stdout, or a file replaced atomically (a
 * temporary file in the same directory, written, synced, then renamed over
 * the target), so that a reader never sees a half-written file and a failed
 * run leaves the old one in place. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/file.h"

int mtk_cli_write_output(const char *path, const char *text, size_t len, struct mtk_err **err)
{
  if (path && *path && strcmp(path, "-") != 0)
    return mtk_file_write_atomic(path, text, len, (mode_t) -1, err);
  if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
    return mtk_err_set(err, errno, "cannot write to stdout: %s", strerror(errno));
  return 0;
}
