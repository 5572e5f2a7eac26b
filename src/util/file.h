/* Whole-file reading with a size cap: configuration files (compose files, .env files) are
 * read into memory in one call, and a file that is far too large is refused rather than
 * exhausting memory. */
#ifndef MTK_UTIL_FILE_H
#define MTK_UTIL_FILE_H

#include <stddef.h>

#include "mtk/err.h"

/* The contents of the file at `path` (NUL-terminated; it may hold NUL bytes, *len is the
   true length), owned by the caller.  NULL with *err on failure, naming the path: the errno
   of open, fstat or read ("open PATH: No such file or directory"); EISDIR for a directory
   ("read PATH: Is a directory"); EFBIG when the file holds more than `max` bytes ("read
   PATH: larger than MAX bytes"; found while reading, so a growing file or a pipe is capped
   too). */
char *mtk_file_read(const char *path, size_t max, size_t *len, struct mtk_err **err);

#endif
