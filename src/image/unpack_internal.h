/* Private to the layer unpacker (src/image/unpack*.c): the state of one unpack and the
 * helpers the stream loop (unpack.c), the entry appliers (unpack_entry.c) and the in-root
 * path resolution and removal (unpack_fs.c) share.  See docs/internals/unpack.md. */
#ifndef MTK_IMAGE_UNPACK_INTERNAL_H
#define MTK_IMAGE_UNPACK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "image/unpack.h"

struct archive;
struct archive_entry;

/* A directory this layer created or re-stated: its mode and times are set at the end, once
 * nothing more is created inside it (and only if the path still leads to that very inode). */
struct mtk_unpack_dir {
  char *path; /* owned: cleaned path inside the root */
  dev_t dev;  /* device and inode seen when the entry was applied */
  ino_t ino;
  mode_t mode;           /* permission bits to set */
  struct timespec ts[2]; /* atime, mtime */
};

/* One (parent directory inode, name) written by this layer: whiteouts and opaque directories
 * of the same layer spare these (image spec: whiteouts only hide lower layers). */
struct mtk_unpack_key {
  uint64_t ino; /* inode of the parent directory; 0 marks a free slot */
  char *name;   /* owned: the entry's last component */
};

struct mtk_unpack_ctx {
  int root_fd;                 /* borrowed: O_PATH fd of the snapshot root */
  dev_t root_dev;              /* device of the root (everything stays on it) */
  enum mtk_unpack_mode mode;   /* flatten or overlay upper */
  bool restore_owner;          /* lchown and set-id bits: root and not rootless */
  bool make_devices;           /* mknod of char/block devices allowed */
  const char *opaque_xattr;    /* trusted.overlay.opaque or user.overlay.opaque */
  int64_t max_bytes;           /* cap on the uncompressed stream */
  struct archive *tar;         /* borrowed: the tar reader, for entry data */
  struct mtk_unpack_stats st;  /* counters, copied to opts->stats at the end */
  char *cache_path;            /* owned: parent directory path whose fd is cached */
  int cache_fd;                /* O_PATH fd of cache_path, -1 when none */
  bool cache_stale;            /* something was removed: drop the cache before reuse */
  struct mtk_unpack_key *keys; /* owned: open-addressing set of written entries */
  size_t nkeys, capkeys;       /* used slots, slot count (a power of two) */
  struct mtk_unpack_dir *dirs; /* owned: directories whose mode/times are deferred */
  size_t ndirs, capdirs;
};

/* unpack_fs.c */

/* Cleans an entry name as Go's path.Clean(strings.TrimLeft(name, "/")), giving "" for the root
 * itself; refuses a name that climbs above the root with ".." and one longer than
 * MTK_UNPACK_MAX_PATH.  Returns an owned string, or NULL with *err set (MTK_E_INVALID). */
char *mtk_unpack_clean(const char *name, struct mtk_err **err);

/* Resolves the parent directory of the cleaned path `path` inside the root (symlinks followed
 * with the root as "/", ".." clamped) and returns an O_PATH directory fd owned by the cache
 * (valid until the next call), creating missing directories (mode 0755) when create is true.
 * *base points into path at the last component.  Returns -1 with *err set on error, and -2
 * without *err when create is false and the parent is missing (or not a directory). */
int mtk_unpack_parent(struct mtk_unpack_ctx *c, const char *path, bool create, const char **base,
                      struct mtk_err **err);

/* Like mtk_unpack_parent but returns a new fd the caller closes, leaving the cache alone. */
int mtk_unpack_parent_fd(struct mtk_unpack_ctx *c, const char *path, const char **base,
                         struct mtk_err **err);

/* Records that `name` in the directory of inode dir_ino was written by this layer. */
void mtk_unpack_mark(struct mtk_unpack_ctx *c, uint64_t dir_ino, const char *name);
bool mtk_unpack_marked(const struct mtk_unpack_ctx *c, uint64_t dir_ino, const char *name);

/* Removes `name` in directory dirfd (recursively, never following a symlink).  With spare,
 * what this layer wrote survives (whiteout semantics); a missing name is not an error. */
int mtk_unpack_remove(struct mtk_unpack_ctx *c, int dirfd, const char *name, bool spare,
                      struct mtk_err **err);

/* Removes the lower-layer children of directory dirfd (opaque directory), sparing this layer's. */
int mtk_unpack_clear(struct mtk_unpack_ctx *c, int dirfd, struct mtk_err **err);

/* Queues the deferred mode/times of a directory; applies them all at the end. */
void mtk_unpack_defer_dir(struct mtk_unpack_ctx *c, const char *path, const struct stat *st,
                          mode_t mode, const struct timespec ts[2]);
int mtk_unpack_finish_dirs(struct mtk_unpack_ctx *c, struct mtk_err **err);

/* Frees what the context owns (fds, sets, lists). */
void mtk_unpack_ctx_release(struct mtk_unpack_ctx *c);

/* unpack_entry.c */

/* Applies one tar entry (its data is read from c->tar).  Errors name what failed; the caller
 * prefixes the entry name. */
int mtk_unpack_entry(struct mtk_unpack_ctx *c, struct archive_entry *e, struct mtk_err **err);

/* An entry name made printable for messages (control bytes escaped, long names cut). */
char *mtk_unpack_quote(const char *name);

#endif
