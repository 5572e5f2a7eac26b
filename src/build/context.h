/* The build context: the files of a context directory that a build may use,
 * after the ignore file (`<Dockerfile>.dockerignore` beside the Dockerfile,
 * else the context's `.dockerignore`) has been applied the way BuildKit's
 * fsutil walker applies it.  Symlinks are entries, never followed; every
 * file is opened beneath the context root without following symlinks.  The
 * context gives the cache key of a set of COPY sources (SHA-256 over
 * contents and metadata) and streams the selected entries as a
 * deterministic tar.  The design notes are at the top of context.c. */
#ifndef MTK_BUILD_CONTEXT_H
#define MTK_BUILD_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mtk/err.h"
#include "util/cleanup.h"

struct mtk_context;

/* One selected entry (a file, directory, symlink, fifo or device). */
struct mtk_context_entry {
  char *path;    /* owned: context-relative, '/'-separated, no "./" or trailing '/' */
  mode_t mode;   /* type and permission bits, as lstat(2) */
  uid_t uid;     /* owner on disk (not part of the cache key nor the tar) */
  gid_t gid;     /* group on disk (idem) */
  off_t size;    /* bytes of a regular file, 0 otherwise */
  int64_t mtime; /* seconds, as lstat(2) (not part of the cache key) */
  dev_t rdev;    /* device number of a character or block device */
  char *link;    /* owned: a symlink's target as stored (never resolved), else NULL */
};

/* Walks `dir` (the context root; a symlink given as the root itself is
 * resolved, none below it is) and selects its entries.  `dockerfile` is the
 * Dockerfile's path, relative to `dir` unless absolute; NULL means
 * "Dockerfile" in `dir`.  The Dockerfile need not exist (the ignore file is
 * looked up beside it all the same).  Errors: the root is not a directory or
 * cannot be read (errno), an ignore file is invalid (MTK_E_INVALID, naming
 * the file and line), a directory that is not excluded cannot be read. */
struct mtk_context *mtk_context_open(const char *dir, const char *dockerfile, struct mtk_err **err);

/* The selected entries, in walk order (each directory's entries sorted by
 * byte value, a directory before its contents).  An excluded directory is
 * listed only when something below it is re-included by a `!` pattern. */
size_t mtk_context_len(const struct mtk_context *c);
const char *mtk_context_path(const struct mtk_context *c, size_t i);
const struct mtk_context_entry *mtk_context_entry(const struct mtk_context *c, size_t i);
/* The entry at a context-relative path (cleaned first; NULL when not selected). */
const struct mtk_context_entry *mtk_context_find(const struct mtk_context *c, const char *path);

/* Absolute path of the Dockerfile and of the ignore file in use (NULL when
 * there is none).  Both are read by the builder even when the ignore rules
 * exclude them (they are then not COPY-able). */
const char *mtk_context_dockerfile(const struct mtk_context *c);
const char *mtk_context_ignore_file(const struct mtk_context *c);

/* Cache key of the COPY/ADD sources `paths_or_globs` (context-relative; a
 * leading '/' and ".." are cleaned against the context root, so nothing
 * outside can be named; `*`, `?`, `[...]` and `\` are Go filepath.Match
 * wildcards per path element).  A source names an entry and, for a
 * directory, everything selected below it.  The key is the SHA-256 (64
 * lowercase hex) of, per source in order, the cleaned source and, per entry
 * in walk order, its path from the matched entry's own name on (the whole
 * path for "."), type, permission bits, size, symlink target (never
 * resolved), device number and content SHA-256, in length-prefixed records.
 * Owners, times, inode numbers and xattrs are left out: they do not reach
 * the image (COPY makes files root-owned unless --chown), so every checkout
 * of the same tree gets the same key.  Fails (MTK_E_BUILD) when a source
 * matches nothing, errno when a file cannot be read. */
int mtk_context_hash(struct mtk_context *c, const char *const *paths_or_globs, size_t n,
                     char hex[65], struct mtk_err **err);

/* Fixes the modification time written to the tar for every entry (like
 * SOURCE_DATE_EPOCH); by default each entry's own mtime is written. */
void mtk_context_set_tar_mtime(struct mtk_context *c, int64_t mtime);

/* Streams the selected entries, plus the Dockerfile and the ignore file when
 * they are inside the context (as `docker build` sends them), to fd as a
 * POSIX (pax restricted) tar: walk order, numeric owners 0:0 (as the docker
 * CLI sends a context), no user/group names, atimes, ctimes or xattrs, so
 * the same tree gives the same bytes.  A file that changes size while being
 * read is an error. */
int mtk_context_tar(struct mtk_context *c, int fd, struct mtk_err **err);

void mtk_context_free(struct mtk_context *c);
MTK_DEFINE_AUTOPTR(mtk_context, mtk_context_free)

#endif
