/* Whole-file reading with a size cap: configuration files (compose files, .env files) are
 * read into memory in one call, and a file that is far too large is refused rather than
 * exhausting memory. */
#ifndef MTK_UTIL_FILE_H
#define MTK_UTIL_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "mtk/err.h"

/* The contents of the file at `path` (NUL-terminated; it may hold NUL bytes, *len is the
   true length), owned by the caller.  NULL with *err on failure, naming the path: the errno
   of open, fstat or read ("open PATH: No such file or directory"); EISDIR for a directory
   ("read PATH: Is a directory"); EFBIG when the file holds more than `max` bytes ("read
   PATH: larger than MAX bytes"; found while reading, so a growing file or a pipe is capped
   too). */
char *mtk_file_read(const char *path, size_t max, size_t *len, struct mtk_err **err);

/* A file replaced atomically: written to a temporary file beside `path`
 * (".<name>.XXXXXX" in the same directory), then fsync'd and renamed over
 * path by commit; abort (or a failed commit) removes the temporary file, so
 * path never holds a half-written file. */
struct mtk_file_atomic {
  char *path; /* owned: the final path */
  char *tmp;  /* owned: the temporary file */
  int fd;     /* the temporary file, open for writing; -1 after commit/abort */
};

/* Creates the temporary file with `mode`, or with 0666 minus the umask (as a
 * plain create would) when mode is (mode_t) -1. */
int mtk_file_atomic_open(struct mtk_file_atomic *a, const char *path, mode_t mode,
                         struct mtk_err **err);
int mtk_file_atomic_commit(struct mtk_file_atomic *a, struct mtk_err **err);
/* Accepts an already committed or aborted (or zeroed) a. */
void mtk_file_atomic_abort(struct mtk_file_atomic *a);
/* Writes all of buf to fd (EINTR retried); -1 with errno on failure. */
int mtk_file_write_all(int fd, const void *buf, size_t len);
/* open + write_all + commit. */
int mtk_file_write_atomic(const char *path, const void *buf, size_t len, mode_t mode,
                          struct mtk_err **err);

#endif
