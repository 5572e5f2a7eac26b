/* Layer unpacking: applies one OCI image layer (a tar stream, gzip / zstd / plain) on top of a
 * snapshot directory with the changeset semantics of the image spec (whiteouts, opaque
 * directories, hardlinks, symlinks, xattrs, modes, ownership), and computes the layer's DiffID
 * while reading.  No entry can land outside the snapshot root: every path is resolved by mtk
 * inside the root with openat2(RESOLVE_IN_ROOT), never by libarchive or the host.
 * Design and the list of refused inputs: docs/internals/unpack.md. */
#ifndef MTK_IMAGE_UNPACK_H
#define MTK_IMAGE_UNPACK_H

#include <stdbool.h>
#include <stdint.h>

#include "mtk/err.h"

/* Defaults used when a cap of struct mtk_unpack_opts is 0 (or negative). */
#define MTK_UNPACK_DEFAULT_MAX_BYTES (64LL << 30) /* 64 GiB of uncompressed tar */
#define MTK_UNPACK_DEFAULT_MAX_ENTRIES 4000000LL  /* tar entries, whiteouts included */
#define MTK_UNPACK_MAX_PATH 4095                  /* bytes of a cleaned entry path */
#define MTK_UNPACK_MAX_LINK 4095                  /* bytes of a symlink target */
#define MTK_UNPACK_MAX_XATTR 65536                /* bytes of one xattr value */

enum mtk_unpack_mode {
  /* Whiteouts delete from the target, which holds the lower layers (a copy of them, or the
   * merged view): for builders and a plain rootfs.  Whiteout files never appear. */
  MTK_UNPACK_FLATTEN = 0,
  /* The target is an empty directory that becomes one overlayfs lowerdir: a whiteout becomes a
   * 0/0 character device, an opaque directory gets the overlay "opaque" xattr
   * (trusted.overlay.opaque, or user.overlay.opaque when rootless for a `userxattr` mount). */
  MTK_UNPACK_OVERLAY = 1,
};

/* What an unpack did besides writing files (filled when opts->stats is set, also on error). */
struct mtk_unpack_stats {
  int64_t entries;         /* tar entries read */
  int64_t tar_bytes;       /* bytes of the uncompressed tar stream */
  int64_t data_bytes;      /* bytes of file content written */
  int64_t skipped_devices; /* device nodes not created (not root, or EPERM) */
  int64_t skipped_xattrs;  /* xattrs not restored (not allowed, or unsupported by the fs) */
  int64_t skipped_meta;    /* AUFS metadata entries (/.wh..wh.*) skipped */
};

struct mtk_unpack_opts {
  int64_t max_bytes;         /* cap on total uncompressed bytes read (bomb guard); 0: default */
  int64_t max_entries;       /* cap on entries; 0: default */
  bool rootless;             /* ownership not restored (set-id bits dropped with it),
                                no device nodes, user.overlay.* instead of trusted.overlay.* */
  enum mtk_unpack_mode mode; /* flatten (default) or overlay upper */
  struct mtk_unpack_stats *stats; /* borrowed, optional: what was skipped */
};

/* Reads the layer from fd (compression auto-detected: gzip, zstd or none), applies it on top of
 * the directory root_fd (an O_PATH|O_DIRECTORY fd of the snapshot root: the lower layers copied
 * for MTK_UNPACK_FLATTEN, an empty directory for MTK_UNPACK_OVERLAY) and writes the DiffID
 * ("sha256:<hex>" of the uncompressed tar stream, computed while reading) to diff_id.
 * opts may be NULL (flatten, default caps, ownership restored when running as root).
 * On error returns negative with err->code MTK_E_INVALID (bad or hostile layer) or an errno,
 * the message naming the entry; nothing was written outside root_fd, and the caller deletes
 * the partial snapshot directory.  The directory must be private to the caller while the
 * unpack runs (a fresh temporary snapshot dir): nothing else may write in it meanwhile. */
int mtk_layer_unpack(int fd, int root_fd, const struct mtk_unpack_opts *opts, char diff_id[72],
                     struct mtk_err **err);

#endif
