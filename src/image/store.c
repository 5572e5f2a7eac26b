/* The image store handle and its content-addressed blobs.
 *
 * A blob is written to an unnamed O_TMPFILE in tmp/ (or, where the file
 * system lacks O_TMPFILE, a uniquely named temp file there), hashed while it
 * is written, capped by its expected size or the store's limit, fsync'd,
 * and only then linked at blobs/sha256/<hex> — never under its final name
 * before its digest was checked.  Two processes writing the same blob both
 * succeed: the first link wins and the second copy is dropped.  See
 * docs/internals/image-store.md. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/store_internal.h"
#include "util/cleanup.h"
#include "util/json.h"

#define DEFAULT_BLOB_LIMIT ((int64_t) 64 << 30)

/* ------------------------------------------------------------- helpers */

void mtk_store_random_hex(char *out, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char raw[64];
  size_t need = (n + 1) / 2;
  if (need > sizeof(raw))
    abort();
  size_t got = 0;
  while (got < need) {
    ssize_t r = getrandom(raw + got, need - got, 0);
    if (r < 0 && errno != EINTR)
      abort(); /* getrandom cannot fail on Linux >= 3.17 for small sizes */
    if (r > 0)
      got += (size_t) r;
  }
  for (size_t i = 0; i < n; i++)
    out[i] = hex[(raw[i / 2] >> ((i % 2) * 4)) & 15];
  out[n] = '\0';
}

static int write_all(int fd, const void *buf, size_t n)
{
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= (size_t) w;
  }
  return 0;
}

int mtk_store_write_atomic(int dirfd, const char *name, const void *buf, size_t len,
                           struct mtk_err **err)
{
  char rnd[17];
  mtk_store_random_hex(rnd, 16);
  mtk_autofree char *tmp = mtk_xasprintf(".%s.tmp-%s", name, rnd);
  int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return mtk_err_set(err, errno, "creating %s: %s", tmp, strerror(errno));
  if (write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
    int e = errno;
    close(fd);
    unlinkat(dirfd, tmp, 0);
    return mtk_err_set(err, e, "writing %s: %s", name, strerror(e));
  }
  close(fd);
  if (renameat(dirfd, tmp, dirfd, name) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    return mtk_err_set(err, e, "renaming %s into place: %s", name, strerror(e));
  }
  fsync(dirfd);
  return 0;
}

int mtk_store_flock(struct mtk_store *s, const char *name, int op, struct mtk_err **err)
{
  int fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return mtk_err_set(err, errno, "opening %s/%s: %s", s->dir, name, strerror(errno));
  while (flock(fd, op) < 0) {
    if (errno == EINTR)
      continue;
    int e = errno;
    close(fd);
    return mtk_err_set(err, e, "locking %s/%s: %s", s->dir, name, strerror(e));
  }
  return fd;
}

/* ------------------------------------------------------------- open */

/* mkdir + open of parent_path/name (name may be absolute: parent is then unused). */
static int mkdir_open(int parent, const char *parent_path, const char *name, mode_t mode,
                      struct mtk_err **err)
{
  mtk_autofree char *shown =
      name[0] == '/' ? mtk_xstrdup(name) : mtk_xasprintf("%s/%s", parent_path, name);
  if (mkdirat(parent, name, mode) < 0 && errno != EEXIST)
    return mtk_err_set(err, errno, "creating %s: %s", shown, strerror(errno));
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return mtk_err_set(err, errno, "opening %s: %s", shown, strerror(errno));
  return fd;
}

static int check_layout(struct mtk_store *s, struct mtk_err **err)
{
  static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
  int fd = openat(s->dirfd, "oci-layout", O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return mtk_store_write_atomic(s->dirfd, "oci-layout", layout, sizeof(layout) - 1, err);
  if (fd < 0)
    return mtk_err_set(err, errno, "opening %s/oci-layout: %s", s->dir, strerror(errno));
  json_error_t je;
  json_t *j = mtk_json_loadfd(fd, 0, &je);
  close(fd);
  const char *v = json_string_value(json_object_get(j, "imageLayoutVersion"));
  int r = 0;
  if (v == NULL || strcmp(v, "1.0.0") != 0)
    r = mtk_err_set(err, MTK_E_GENERIC,
                    "%s/oci-layout: unsupported image layout (want "
                    "imageLayoutVersion 1.0.0)",
                    s->dir);
  json_decref(j);
  return r;
}

static int init_index(struct mtk_store *s, struct mtk_err **err)
{
  if (faccessat(s->dirfd, "index.json", F_OK, 0) == 0)
    return 0;
  mtk_autoclose int lk = mtk_store_flock(s, "lock", LOCK_EX, err);
  if (lk < 0)
    return -1;
  if (faccessat(s->dirfd, "index.json", F_OK, 0) == 0)
    return 0;
  json_t *idx =
      json_pack("{s:i,s:s,s:[]}", "schemaVersion", 2, "mediaType", MTK_MT_OCI_INDEX, "manifests");
  int r = mtk_store_index_save(s, idx, err);
  json_decref(idx);
  return r;
}

/* mkdir -p, as Docker creates its --root. */
static int mkdir_parents(const char *path, struct mtk_err **err)
{
  mtk_autofree char *p = mtk_xstrdup(path);
  for (char *c = p + 1;; c++) {
    if (*c != '/' && *c != '\0')
      continue;
    char saved = *c;
    *c = '\0';
    if (mkdir(p, 0700) < 0 && errno != EEXIST)
      return mtk_err_set(err, errno, "creating %s: %s", p, strerror(errno));
    if ((*c = saved) == '\0')
      return 0;
  }
}

static int open_dirs(struct mtk_store *s, struct mtk_err **err)
{
  if (mkdir_parents(s->root, err) < 0)
    return -1;
  s->dirfd = mkdir_open(AT_FDCWD, s->root, s->dir, 0700, err);
  if (s->dirfd < 0)
    return -1;
  mtk_autoclose int blobs = mkdir_open(s->dirfd, s->dir, "blobs", 0755, err);
  if (blobs < 0)
    return -1;
  mtk_autofree char *blobs_path = mtk_xasprintf("%s/blobs", s->dir);
  s->blobsfd = mkdir_open(blobs, blobs_path, "sha256", 0755, err);
  if (s->blobsfd < 0)
    return -1;
  s->snapfd = mkdir_open(s->dirfd, s->dir, "snapshots", 0755, err);
  if (s->snapfd < 0)
    return -1;
  s->tmpfd = mkdir_open(s->dirfd, s->dir, "tmp", 0700, err);
  return s->tmpfd < 0 ? -1 : 0;
}

int mtk_store_open(const char *root, struct mtk_store **out, struct mtk_err **err)
{
  *out = NULL;
  struct mtk_store *s = mtk_xcalloc(1, sizeof(*s));
  s->dirfd = s->blobsfd = s->snapfd = s->tmpfd = s->gcfd = -1;
  s->blob_limit = DEFAULT_BLOB_LIMIT;
  pthread_mutex_init(&s->mu, NULL);
  s->root = mtk_xstrdup(root ? root : MTK_DEFAULT_ROOT);
  s->dir = mtk_xasprintf("%s/image", s->root);
  if (open_dirs(s, err) < 0 || check_layout(s, err) < 0 || init_index(s, err) < 0) {
    mtk_err_wrap(err, "image store %s", s->dir);
    mtk_store_close(s);
    return -1;
  }
  *out = s;
  return 0;
}

void mtk_store_close(struct mtk_store *s)
{
  if (s == NULL)
    return;
  int fds[] = {s->dirfd, s->blobsfd, s->snapfd, s->tmpfd, s->gcfd};
  for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
    if (fds[i] >= 0)
      close(fds[i]);
  pthread_mutex_destroy(&s->mu);
  free(s->root);
  free(s->dir);
  free(s);
}

const char *mtk_store_dir(const struct mtk_store *s)
{
  return s->dir;
}

void mtk_store_set_blob_limit(struct mtk_store *s, int64_t max_bytes)
{
  s->blob_limit = max_bytes;
}

/* ------------------------------------------------------------- leases */

int mtk_store_lease(struct mtk_store *s, struct mtk_err **err)
{
  int r = 0;
  pthread_mutex_lock(&s->mu);
  if (s->leases == 0) {
    int fd = mtk_store_flock(s, "gc.lock", LOCK_SH, err);
    if (fd < 0)
      r = -1;
    else
      s->gcfd = fd;
  }
  if (r == 0)
    s->leases++;
  pthread_mutex_unlock(&s->mu);
  return r;
}

void mtk_store_unlease(struct mtk_store *s)
{
  pthread_mutex_lock(&s->mu);
  if (s->leases > 0 && --s->leases == 0) {
    close(s->gcfd);
    s->gcfd = -1;
  }
  pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------- blob writer */

struct mtk_store_blob_writer {
  struct mtk_store *s;            /* borrowed */
  int fd;                         /* owned: the temp file */
  char *tmp_name;                 /* owned: name in tmp/, NULL for an O_TMPFILE */
  struct mtk_sha256 h;            /* running hash */
  int64_t written;                /* bytes so far */
  int64_t expected_size;          /* -1 when unknown */
  int64_t limit;                  /* largest size accepted */
  char expected[MTK_DIGEST_SIZE]; /* "" when unknown */
  bool failed;                    /* a write failed: only abort is left */
};

static int open_temp(struct mtk_store_blob_writer *w, struct mtk_err **err)
{
  w->fd = openat(w->s->tmpfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  if (w->fd >= 0)
    return 0;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
    return mtk_err_set(err, errno, "creating a blob in %s/tmp: %s", w->s->dir, strerror(errno));
  char rnd[17];
  mtk_store_random_hex(rnd, 16);
  w->tmp_name = mtk_xasprintf("blob-%ld-%s", (long) getpid(), rnd);
  w->fd = openat(w->s->tmpfd, w->tmp_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (w->fd < 0)
    return mtk_err_set(err, errno, "creating %s/tmp/%s: %s", w->s->dir, w->tmp_name,
                       strerror(errno));
  return 0;
}

int mtk_store_blob_writer_new(struct mtk_store *s, const char *expected_digest,
                              int64_t expected_size, struct mtk_store_blob_writer **out,
                              struct mtk_err **err)
{
  *out = NULL;
  if (expected_digest && !mtk_digest_valid(expected_digest))
    return mtk_err_set(err, EINVAL, "invalid digest \"%s\"", expected_digest);
  if (mtk_store_lease(s, err) < 0)
    return -1;
  struct mtk_store_blob_writer *w = mtk_xcalloc(1, sizeof(*w));
  w->s = s;
  w->fd = -1;
  w->expected_size = expected_size < 0 ? -1 : expected_size;
  w->limit = expected_size >= 0 ? expected_size : s->blob_limit;
  if (expected_digest)
    snprintf(w->expected, sizeof(w->expected), "%s", expected_digest);
  if (open_temp(w, err) < 0) {
    mtk_store_blob_abort(w);
    return -1;
  }
  mtk_sha256_init(&w->h);
  *out = w;
  return 0;
}

int mtk_store_blob_write(struct mtk_store_blob_writer *w, const void *buf, size_t n,
                         struct mtk_err **err)
{
  const char *what = w->expected[0] ? w->expected : "blob";
  if (w->failed)
    return mtk_err_set(err, EIO, "writing %s: an earlier write failed", what);
  if ((int64_t) n > w->limit - w->written) {
    w->failed = true;
    if (w->expected_size >= 0)
      return mtk_err_set(err, EFBIG,
                         "size mismatch for %s: more than the expected %" PRId64 " bytes", what,
                         w->expected_size);
    return mtk_err_set(err, EFBIG, "writing %s: larger than the limit of %" PRId64 " bytes", what,
                       w->limit);
  }
  if (write_all(w->fd, buf, n) < 0) {
    w->failed = true;
    return mtk_err_set(err, errno, "writing %s to %s/tmp: %s", what, w->s->dir, strerror(errno));
  }
  mtk_sha256_update(&w->h, buf, n);
  w->written += (int64_t) n;
  return 0;
}

int64_t mtk_store_blob_written(const struct mtk_store_blob_writer *w)
{
  return w->written;
}

int mtk_store_blob_reset(struct mtk_store_blob_writer *w, struct mtk_err **err)
{
  if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
    return mtk_err_set(err, errno, "resetting a blob in %s/tmp: %s", w->s->dir, strerror(errno));
  mtk_sha256_free(&w->h);
  mtk_sha256_init(&w->h);
  w->written = 0;
  w->failed = false;
  return 0;
}

/* Gives the verified temp file its final name.  An existing blob (another
 * process was faster) is kept: it was verified the same way. */
static int link_blob(struct mtk_store_blob_writer *w, const char *hex, struct mtk_err **err)
{
  if (w->tmp_name) {
    if (renameat(w->s->tmpfd, w->tmp_name, w->s->blobsfd, hex) < 0)
      return mtk_err_set(err, errno, "storing blob sha256:%s: %s", hex, strerror(errno));
    free(w->tmp_name);
    w->tmp_name = NULL;
    return 0;
  }
  char proc[64];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", w->fd);
  if (linkat(AT_FDCWD, proc, w->s->blobsfd, hex, AT_SYMLINK_FOLLOW) == 0 || errno == EEXIST)
    return 0;
  /* Without /proc, AT_EMPTY_PATH does the same (it needs CAP_DAC_READ_SEARCH). */
  if (linkat(w->fd, "", w->s->blobsfd, hex, AT_EMPTY_PATH) == 0 || errno == EEXIST)
    return 0;
  return mtk_err_set(err, errno, "storing blob sha256:%s: %s", hex, strerror(errno));
}

int mtk_store_blob_commit(struct mtk_store_blob_writer *w, char digest_out[MTK_DIGEST_SIZE],
                          struct mtk_err **err)
{
  mtk_autoptr(mtk_store_blob_writer) wp = w;
  if (w->failed)
    return mtk_err_set(err, EIO, "storing %s: an earlier write failed",
                       w->expected[0] ? w->expected : "blob");
  if (w->expected_size >= 0 && w->written != w->expected_size)
    return mtk_err_set(err, EBADMSG,
                       "size mismatch for %s: got %" PRId64 " bytes, expected %" PRId64,
                       w->expected[0] ? w->expected : "blob", w->written, w->expected_size);
  char got[MTK_DIGEST_SIZE];
  mtk_sha256_final(&w->h, got);
  if (w->expected[0] && strcmp(got, w->expected) != 0)
    return mtk_err_set(err, EBADMSG, "digest mismatch for %s: got %s", w->expected, got);
  if (fsync(w->fd) < 0)
    return mtk_err_set(err, errno, "storing %s: fsync: %s", got, strerror(errno));
  if (link_blob(w, got + 7, err) < 0)
    return -1;
  fsync(w->s->blobsfd);
  if (digest_out)
    memcpy(digest_out, got, MTK_DIGEST_SIZE);
  return 0;
}

void mtk_store_blob_abort(struct mtk_store_blob_writer *w)
{
  if (w == NULL)
    return;
  if (w->fd >= 0)
    close(w->fd);
  if (w->tmp_name)
    unlinkat(w->s->tmpfd, w->tmp_name, 0);
  free(w->tmp_name);
  mtk_sha256_free(&w->h);
  mtk_store_unlease(w->s);
  free(w);
}

/* ------------------------------------------------------------- blob access */

static const char *hex_or_err(const char *digest, struct mtk_err **err)
{
  const char *hex = mtk_digest_hex(digest);
  if (hex == NULL)
    mtk_err_set(err, EINVAL, "invalid digest \"%s\"", digest ? digest : "");
  return hex;
}

bool mtk_store_blob_has(struct mtk_store *s, const char *digest)
{
  const char *hex = mtk_digest_hex(digest);
  return hex && faccessat(s->blobsfd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

char *mtk_store_blob_path(struct mtk_store *s, const char *digest)
{
  const char *hex = mtk_digest_hex(digest);
  return hex ? mtk_xasprintf("%s/blobs/sha256/%s", s->dir, hex) : NULL;
}

int mtk_store_blob_open(struct mtk_store *s, const char *digest, struct mtk_err **err)
{
  const char *hex = hex_or_err(digest, err);
  if (hex == NULL)
    return -1;
  int fd = openat(s->blobsfd, hex, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return mtk_err_set(err, ENOENT, "blob %s not found in the image store", digest);
  if (fd < 0)
    return mtk_err_set(err, errno, "opening blob %s: %s", digest, strerror(errno));
  return fd;
}

int64_t mtk_store_blob_size(struct mtk_store *s, const char *digest, struct mtk_err **err)
{
  const char *hex = hex_or_err(digest, err);
  if (hex == NULL)
    return -1;
  struct stat st;
  if (fstatat(s->blobsfd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    mtk_err_set(err, errno, "blob %s: %s", digest, strerror(errno));
    return -1;
  }
  return (int64_t) st.st_size;
}

int mtk_store_blob_put(struct mtk_store *s, const void *buf, size_t n,
                       char digest_out[MTK_DIGEST_SIZE], struct mtk_err **err)
{
  struct mtk_store_blob_writer *w;
  if (mtk_store_blob_writer_new(s, NULL, (int64_t) n, &w, err) < 0)
    return -1;
  if (mtk_store_blob_write(w, buf, n, err) < 0) {
    mtk_store_blob_abort(w);
    return -1;
  }
  return mtk_store_blob_commit(w, digest_out, err);
}

int mtk_store_blob_read(struct mtk_store *s, const char *digest, size_t max, char **buf,
                        size_t *len, struct mtk_err **err)
{
  *buf = NULL;
  *len = 0;
  mtk_autoclose int fd = mtk_store_blob_open(s, digest, err);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) < 0)
    return mtk_err_set(err, errno, "blob %s: %s", digest, strerror(errno));
  if ((uint64_t) st.st_size > max)
    return mtk_err_set(err, EFBIG, "blob %s is %lld bytes, more than the %zu allowed", digest,
                       (long long) st.st_size, max);
  size_t n = (size_t) st.st_size;
  mtk_autofree char *b = mtk_xmalloc(n + 1);
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, b + got, n - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return mtk_err_set(err, r < 0 ? errno : EIO, "reading blob %s: %s", digest,
                         r < 0 ? strerror(errno) : "short read");
    got += (size_t) r;
  }
  b[n] = '\0';
  char actual[MTK_DIGEST_SIZE];
  mtk_sha256_digest(b, n, actual);
  if (strcmp(actual, digest) != 0) {
    mtk_err_set(err, EBADMSG, "digest mismatch for %s: got %s", digest, actual);
    mtk_err_hint(err, "the image store is damaged; remove the image and pull it again");
    return -1;
  }
  *buf = mtk_steal_ptr(&b);
  *len = n;
  return 0;
}
