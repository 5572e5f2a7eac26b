/* libarchive, loaded on first use (see util/dl.h): this file defines the
 * archive_* functions mtk calls (src/image, src/build/context.c and the unit
 * tests), each forwarding to libarchive.so.13 opened by dlopen the first
 * time any of them runs, so that commands which never read or write a tar
 * do not map libarchive, libxml2 and ICU.
 *
 * When libarchive cannot be loaded, archive_read_new/archive_write_new/
 * archive_entry_new return NULL, every other function returns ARCHIVE_FATAL
 * (or 0, NULL, nothing) without touching its NULL handle, archive_errno
 * returns ELIBACC and archive_error_string the reason ("libarchive.so.13 is
 * not installed: apt-get install libarchive13"): the callers' usual error
 * paths ("writing the archive (open): <archive_error_string>") report it. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "util/dl.h"

#define FATAL ARCHIVE_FATAL
#define NOENT ((struct archive_entry *) NULL)
#define ENT struct archive_entry *e
#define AR struct archive *a

/* F(name, ret, (params), (args), failure value), V(name, (params), (args)). */
#define ARCHIVE_ENTRY_FUNCS(F, V)                                                                  \
  F(archive_entry_new, struct archive_entry *, (void), (), NOENT)                                  \
  V(archive_entry_free, (ENT), (e))                                                                \
  F(archive_entry_clear, struct archive_entry *, (ENT), (e), NOENT)                                \
  F(archive_entry_atime, time_t, (ENT), (e), 0)                                                    \
  F(archive_entry_atime_is_set, int, (ENT), (e), 0)                                                \
  F(archive_entry_atime_nsec, long, (ENT), (e), 0)                                                 \
  F(archive_entry_mtime, time_t, (ENT), (e), 0)                                                    \
  F(archive_entry_mtime_nsec, long, (ENT), (e), 0)                                                 \
  F(archive_entry_filetype, __LA_MODE_T, (ENT), (e), 0)                                            \
  F(archive_entry_perm, __LA_MODE_T, (ENT), (e), 0)                                                \
  F(archive_entry_uid, la_int64_t, (ENT), (e), 0)                                                  \
  F(archive_entry_gid, la_int64_t, (ENT), (e), 0)                                                  \
  F(archive_entry_size, la_int64_t, (ENT), (e), 0)                                                 \
  F(archive_entry_rdevmajor, dev_t, (ENT), (e), 0)                                                 \
  F(archive_entry_rdevminor, dev_t, (ENT), (e), 0)                                                 \
  F(archive_entry_pathname, const char *, (ENT), (e), NULL)                                        \
  F(archive_entry_pathname_utf8, const char *, (ENT), (e), NULL)                                   \
  F(archive_entry_hardlink, const char *, (ENT), (e), NULL)                                        \
  F(archive_entry_hardlink_utf8, const char *, (ENT), (e), NULL)                                   \
  F(archive_entry_symlink, const char *, (ENT), (e), NULL)                                         \
  F(archive_entry_symlink_utf8, const char *, (ENT), (e), NULL)                                    \
  V(archive_entry_copy_pathname, (ENT, const char *s), (e, s))                                     \
  V(archive_entry_copy_symlink, (ENT, const char *s), (e, s))                                      \
  V(archive_entry_set_pathname, (ENT, const char *s), (e, s))                                      \
  V(archive_entry_set_hardlink, (ENT, const char *s), (e, s))                                      \
  V(archive_entry_set_symlink, (ENT, const char *s), (e, s))                                       \
  V(archive_entry_set_filetype, (ENT, unsigned int t), (e, t))                                     \
  V(archive_entry_set_mode, (ENT, __LA_MODE_T m), (e, m))                                          \
  V(archive_entry_set_perm, (ENT, __LA_MODE_T m), (e, m))                                          \
  V(archive_entry_set_uid, (ENT, la_int64_t v), (e, v))                                            \
  V(archive_entry_set_gid, (ENT, la_int64_t v), (e, v))                                            \
  V(archive_entry_set_size, (ENT, la_int64_t v), (e, v))                                           \
  V(archive_entry_set_mtime, (ENT, time_t t, long ns), (e, t, ns))                                 \
  V(archive_entry_set_rdev, (ENT, dev_t d), (e, d))                                                \
  V(archive_entry_set_rdevmajor, (ENT, dev_t d), (e, d))                                           \
  V(archive_entry_set_rdevminor, (ENT, dev_t d), (e, d))                                           \
  V(archive_entry_xattr_add_entry, (ENT, const char *n, const void *v, size_t z), (e, n, v, z))    \
  F(archive_entry_xattr_count, int, (ENT), (e), 0)                                                 \
  F(archive_entry_xattr_reset, int, (ENT), (e), 0)                                                 \
  F(archive_entry_xattr_next, int, (ENT, const char **n, const void **v, size_t *z), (e, n, v, z), \
    ARCHIVE_WARN)

#define ARCHIVE_READ_FUNCS(F, V)                                                                   \
  F(archive_read_new, struct archive *, (void), (), NULL)                                          \
  F(archive_read_free, int, (AR), (a), FATAL)                                                      \
  F(archive_read_close, int, (AR), (a), FATAL)                                                     \
  F(archive_read_support_filter_bzip2, int, (AR), (a), FATAL)                                      \
  F(archive_read_support_filter_gzip, int, (AR), (a), FATAL)                                       \
  F(archive_read_support_filter_xz, int, (AR), (a), FATAL)                                         \
  F(archive_read_support_filter_zstd, int, (AR), (a), FATAL)                                       \
  F(archive_read_support_format_raw, int, (AR), (a), FATAL)                                        \
  F(archive_read_support_format_tar, int, (AR), (a), FATAL)                                        \
  F(archive_read_open, int,                                                                        \
    (AR, void *d, archive_open_callback *o, archive_read_callback *r, archive_close_callback *c),  \
    (a, d, o, r, c), FATAL)                                                                        \
  F(archive_read_open_fd, int, (AR, int fd, size_t block), (a, fd, block), FATAL)                  \
  F(archive_read_open_memory, int, (AR, const void *p, size_t n), (a, p, n), FATAL)                \
  F(archive_read_next_header, int, (AR, struct archive_entry * *e), (a, e), FATAL)                 \
  F(archive_read_data, la_ssize_t, (AR, void *p, size_t n), (a, p, n), FATAL)                      \
  F(archive_read_data_block, int, (AR, const void **p, size_t *n, la_int64_t *off),                \
    (a, p, n, off), FATAL)                                                                         \
  F(archive_read_data_skip, int, (AR), (a), FATAL)

#define ARCHIVE_WRITE_FUNCS(F, V)                                                                  \
  F(archive_write_new, struct archive *, (void), (), NULL)                                         \
  F(archive_write_free, int, (AR), (a), FATAL)                                                     \
  F(archive_write_close, int, (AR), (a), FATAL)                                                    \
  F(archive_write_add_filter_gzip, int, (AR), (a), FATAL)                                          \
  F(archive_write_add_filter_zstd, int, (AR), (a), FATAL)                                          \
  F(archive_write_set_format_pax_restricted, int, (AR), (a), FATAL)                                \
  F(archive_write_set_format_raw, int, (AR), (a), FATAL)                                           \
  F(archive_write_set_bytes_in_last_block, int, (AR, int n), (a, n), FATAL)                        \
  F(archive_write_set_bytes_per_block, int, (AR, int n), (a, n), FATAL)                            \
  F(archive_write_set_filter_option, int, (AR, const char *m, const char *o, const char *v),       \
    (a, m, o, v), FATAL)                                                                           \
  F(archive_write_set_options, int, (AR, const char *opts), (a, opts), FATAL)                      \
  F(archive_write_open, int,                                                                       \
    (AR, void *d, archive_open_callback *o, archive_write_callback *w, archive_close_callback *c), \
    (a, d, o, w, c), FATAL)                                                                        \
  F(archive_write_open_fd, int, (AR, int fd), (a, fd), FATAL)                                      \
  F(archive_write_open_filename, int, (AR, const char *path), (a, path), FATAL)                    \
  F(archive_write_header, int, (AR, struct archive_entry * e), (a, e), FATAL)                      \
  F(archive_write_data, la_ssize_t, (AR, const void *p, size_t n), (a, p, n), FATAL)

#define ARCHIVE_FUNCS(F, V, M)                                                                     \
  ARCHIVE_ENTRY_FUNCS(F, V)                                                                        \
  ARCHIVE_READ_FUNCS(F, V)                                                                         \
  ARCHIVE_WRITE_FUNCS(F, V)                                                                        \
  F(archive_version_number, int, (void), (), 0)                                                    \
  F(archive_version_string, const char *, (void), (), NULL)                                        \
  F(archive_errno, int, (AR), (a), ELIBACC)                                                        \
  F(archive_error_string, const char *, (AR), (a), mtk_dl_lib_error(&dl_lib))                      \
  V(archive_clear_error, (AR), (a))                                                                \
  M(archive_set_error, void, (struct archive *, int, const char *, ...))

MTK_DL_SHIMS(ARCHIVE_FUNCS, MTK_DL_ARCHIVE, "libarchive13")

/* The message is formatted here (the same printf rules as libarchive's) and
 * handed on as one "%s" argument: a va_list cannot be forwarded to a
 * variadic function. */
void archive_set_error(struct archive *a, int code, const char *fmt, ...)
{
  if (!mtk_dl_ready(&dl_lib))
    return;
  if (!fmt) { /* no message: libarchive clears the error string */
    MTK_DL_FN(archive_set_error)(a, code, NULL);
    return;
  }
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  MTK_DL_FN(archive_set_error)(a, code, "%s", msg);
}
