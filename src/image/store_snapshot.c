/* Snapshot directories of the image store, keyed by chain ID:
 * snapshots/<hex>/fs is an unpacked layer stack position (what overlayfs
 * mounts), snapshots/<hex>/complete the marker written last.  A snapshot is
 * unpacked into snapshots/tmp-<random>/ and renamed into place, so a
 * snapshot at its final name is always whole; the loser of two concurrent
 * unpacks of the same chain ID throws its copy away.  Also the recursive
 * removal that never follows a symlink (snapshot trees hold hostile ones). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store_internal.h"
#include "util/cleanup.h"

/* Deeper directories are moved up to the top of the tree being removed, so
 * that the walk holds at most this many descriptors whatever the depth. */
#define REMOVE_MAX_DEPTH 64

int mtk_store_chain_id(const char *parent_chain, const char *diff_id, char out[MTK_DIGEST_SIZE],
                       struct mtk_err **err)
{
  if (!mtk_digest_valid(diff_id))
    return mtk_err_set(err, EINVAL, "invalid diff ID \"%s\"", diff_id ? diff_id : "");
  if (parent_chain == NULL) {
    memcpy(out, diff_id, MTK_DIGEST_SIZE);
    return 0;
  }
  if (!mtk_digest_valid(parent_chain))
    return mtk_err_set(err, EINVAL, "invalid chain ID \"%s\"", parent_chain);
  char buf[2 * MTK_DIGEST_SIZE];
  int n = snprintf(buf, sizeof(buf), "%s %s", parent_chain, diff_id);
  mtk_sha256_digest(buf, (size_t) n, out);
  return 0;
}

char *mtk_store_snapshot_path(struct mtk_store *s, const char *chain_id)
{
  const char *hex = mtk_digest_hex(chain_id);
  return hex ? mtk_xasprintf("%s/snapshots/%s/fs", s->dir, hex) : NULL;
}

bool mtk_store_snapshot_has(struct mtk_store *s, const char *chain_id)
{
  const char *hex = mtk_digest_hex(chain_id);
  if (hex == NULL)
    return false;
  char marker[64 + sizeof("/complete")];
  snprintf(marker, sizeof(marker), "%s/complete", hex);
  return faccessat(s->snapfd, marker, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ------------------------------------------------------------- removal */

static int open_dir_at(int dirfd, const char *name)
{
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
    fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  return fd;
}

/* Moves a too-deep directory to the top of the tree under a fresh name. */
static int flatten(int dirfd, const char *name, int topfd)
{
  for (;;) {
    char fresh[32] = "..mtk-deep-";
    mtk_store_random_hex(fresh + 11, 16);
    if (renameat2(dirfd, name, topfd, fresh, RENAME_NOREPLACE) == 0)
      return 0;
    if (errno != EEXIST)
      return -1;
  }
}

/* Empties the directory fd (consumed), depth levels below topfd. */
static int empty_dir(int fd, int topfd, int depth, int64_t *freed, struct mtk_err **err)
{
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return mtk_err_set(err, errno, "reading a directory to remove: %s", strerror(errno));
  }
  int r = 0;
  bool again = true;
  while (r == 0 && again) {
    again = false;
    rewinddir(d);
    struct dirent *e;
    while (r == 0 && (e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      again = true;
      struct stat st;
      if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT)
          r = mtk_err_set(err, errno, "removing %s: %s", e->d_name, strerror(errno));
        continue;
      }
      if (!S_ISDIR(st.st_mode)) {
        if (unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
          r = mtk_err_set(err, errno, "removing %s: %s", e->d_name, strerror(errno));
        else if (freed && S_ISREG(st.st_mode) && st.st_nlink <= 1)
          *freed += st.st_size;
        continue;
      }
      if (depth >= REMOVE_MAX_DEPTH) {
        if (flatten(dirfd(d), e->d_name, topfd) < 0)
          r = mtk_err_set(err, errno, "removing %s: %s", e->d_name, strerror(errno));
        continue;
      }
      int cfd = open_dir_at(dirfd(d), e->d_name);
      if (cfd < 0)
        r = mtk_err_set(err, errno, "removing %s: %s", e->d_name, strerror(errno));
      else if ((r = empty_dir(cfd, topfd, depth + 1, freed, err)) == 0 &&
               unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        r = mtk_err_set(err, errno, "removing %s: %s", e->d_name, strerror(errno));
    }
  }
  closedir(d);
  return r;
}

int mtk_store_remove_tree(int dirfd, const char *name, int64_t *freed, struct mtk_err **err)
{
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : mtk_err_set(err, errno, "removing %s: %s", name, strerror(errno));
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
      return mtk_err_set(err, errno, "removing %s: %s", name, strerror(errno));
    if (freed && S_ISREG(st.st_mode))
      *freed += st.st_size;
    return 0;
  }
  int fd = open_dir_at(dirfd, name);
  if (fd < 0)
    return mtk_err_set(err, errno, "removing %s: %s", name, strerror(errno));
  int top = dup(fd);
  if (top < 0) {
    close(fd);
    return mtk_err_set(err, errno, "removing %s: %s", name, strerror(errno));
  }
  int r = empty_dir(fd, top, 0, freed, err);
  close(top);
  if (r == 0 && unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return mtk_err_set(err, errno, "removing %s: %s", name, strerror(errno));
  return r;
}

/* ------------------------------------------------------------- transactions */

struct mtk_store_snapshot_tx {
  struct mtk_store *s;         /* borrowed */
  char chain[MTK_DIGEST_SIZE]; /* the chain ID being made */
  char tmp_name[32];           /* "tmp-<random>" under snapshots/ */
  char *path;                  /* owned: <dir>/snapshots/tmp-<random>/fs */
  int fd;                      /* owned: O_DIRECTORY on path */
};

int mtk_store_snapshot_begin(struct mtk_store *s, const char *chain_id,
                             struct mtk_store_snapshot_tx **out, struct mtk_err **err)
{
  *out = NULL;
  if (!mtk_digest_valid(chain_id))
    return mtk_err_set(err, EINVAL, "invalid chain ID \"%s\"", chain_id ? chain_id : "");
  if (mtk_store_lease(s, err) < 0)
    return -1;
  struct mtk_store_snapshot_tx *tx = mtk_xcalloc(1, sizeof(*tx));
  tx->s = s;
  tx->fd = -1;
  memcpy(tx->chain, chain_id, MTK_DIGEST_SIZE);
  memcpy(tx->tmp_name, "tmp-", 4);
  mtk_store_random_hex(tx->tmp_name + 4, 16);
  tx->path = mtk_xasprintf("%s/snapshots/%s/fs", s->dir, tx->tmp_name);
  if (mkdirat(s->snapfd, tx->tmp_name, 0700) < 0) {
    mtk_err_set(err, errno, "creating %s: %s", tx->path, strerror(errno));
    tx->tmp_name[0] = '\0';
    mtk_store_snapshot_abort(tx);
    return -1;
  }
  mtk_autoclose int top = open_dir_at(s->snapfd, tx->tmp_name);
  if (top < 0 || mkdirat(top, "fs", 0755) < 0 || (tx->fd = open_dir_at(top, "fs")) < 0) {
    mtk_err_set(err, errno, "creating %s: %s", tx->path, strerror(errno));
    mtk_store_snapshot_abort(tx);
    return -1;
  }
  *out = tx;
  return 0;
}

const char *mtk_store_snapshot_tx_path(const struct mtk_store_snapshot_tx *tx)
{
  return tx->path;
}

int mtk_store_snapshot_tx_fd(const struct mtk_store_snapshot_tx *tx)
{
  return tx->fd;
}

static int write_marker(struct mtk_store_snapshot_tx *tx, const char *diff_id, const char *parent,
                        struct mtk_err **err)
{
  json_t *j = json_pack("{s:s}", "chainID", tx->chain);
  if (diff_id)
    json_object_set_new(j, "diffID", json_string(diff_id));
  if (parent)
    json_object_set_new(j, "parent", json_string(parent));
  mtk_autofree char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(j);
  mtk_autoclose int top = open_dir_at(tx->s->snapfd, tx->tmp_name);
  if (top < 0)
    return mtk_err_set(err, errno, "snapshot %s: %s", tx->chain, strerror(errno));
  return mtk_store_write_atomic(top, "complete", text, strlen(text), err);
}

int mtk_store_snapshot_commit(struct mtk_store_snapshot_tx *tx, const char *diff_id,
                              const char *parent_chain, struct mtk_err **err)
{
  mtk_autoptr(mtk_store_snapshot_tx) t = tx;
  struct mtk_store *s = tx->s;
  /* The unpacked files reach the disk before the marker says "complete". */
  if (syncfs(tx->fd) < 0)
    return mtk_err_set(err, errno, "snapshot %s: syncfs: %s", tx->chain, strerror(errno));
  if (write_marker(tx, diff_id, parent_chain, err) < 0)
    return -1;
  close(tx->fd);
  tx->fd = -1;
  if (renameat(s->snapfd, tx->tmp_name, s->snapfd, tx->chain + 7) == 0) {
    tx->tmp_name[0] = '\0';
    fsync(s->snapfd);
    return 0;
  }
  if ((errno == ENOTEMPTY || errno == EEXIST) && mtk_store_snapshot_has(s, tx->chain))
    return 0; /* another process committed it first; abort removes this copy */
  return mtk_err_set(err, errno, "snapshot %s: renaming into place: %s", tx->chain,
                     strerror(errno));
}

void mtk_store_snapshot_abort(struct mtk_store_snapshot_tx *tx)
{
  if (tx == NULL)
    return;
  if (tx->fd >= 0)
    close(tx->fd);
  if (tx->tmp_name[0])
    mtk_store_remove_tree(tx->s->snapfd, tx->tmp_name, NULL, NULL);
  mtk_store_unlease(tx->s);
  free(tx->path);
  free(tx);
}
