/* mtk_layer_unpack: the stream side of layer unpacking.  Two libarchive readers are chained:
 * the first ("raw" format, gzip and zstd filters) only decompresses; its output is hashed
 * (the DiffID), counted against the size cap (decompression bombs) and fed to the second,
 * which parses the tar (tar format only, no filter).  After the end-of-archive marker the rest
 * of the stream is drained so the DiffID covers every uncompressed byte.  Entries are applied
 * by unpack_entry.c; libarchive never writes to disk. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/unpack_internal.h"
#include "util/cleanup.h"
#include "util/dl.h"

#define READ_BLOCK (256 * 1024)

/* The decompressed stream between the two readers. */
struct stream {
  struct archive *raw; /* owned: decompressing reader */
  EVP_MD_CTX *md;      /* owned: SHA-256 of everything handed to the tar reader */
  int64_t total;       /* uncompressed bytes so far */
  int64_t max;         /* cap on total */
  bool over;           /* the cap was hit */
  bool raw_failed;     /* the decompressing reader failed (message in raw) */
};

static la_ssize_t stream_read(struct archive *a, void *data, const void **buf)
{
  struct stream *s = data;
  size_t len = 0;
  la_int64_t off;
  int r = archive_read_data_block(s->raw, buf, &len, &off);
  if (r == ARCHIVE_EOF)
    return 0;
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
    s->raw_failed = true;
    archive_set_error(a, EIO, "%s", archive_error_string(s->raw));
    return -1;
  }
  if ((int64_t) len > s->max - s->total) {
    s->over = true;
    archive_set_error(a, EFBIG, "layer larger than the limit");
    return -1;
  }
  s->total += (int64_t) len;
  EVP_DigestUpdate(s->md, *buf, len);
  return (la_ssize_t) len;
}

static int stream_error(struct stream *s, struct archive *tar, struct mtk_err **err)
{
  if (s->over)
    return mtk_err_set(err, MTK_E_INVALID,
                       "layer decompresses to more than %lld bytes (decompression bomb?)",
                       (long long) s->max);
  struct archive *a = s->raw_failed ? s->raw : tar;
  int e = archive_errno(a);
  const char *msg = archive_error_string(a);
  /* A read(2) error of the fd keeps its errno; anything about the data is a bad layer. */
  int code = e > 0 && e != EILSEQ && e != EINVAL && e != EIO ? e : MTK_E_INVALID;
  if (s->raw_failed && e == EIO)
    code = EIO;
  return mtk_err_set(err, code, "%s layer: %s", s->raw_failed ? "decompressing" : "reading",
                     msg ? msg : "unknown error");
}

static int open_stream(struct stream *s, int fd, struct mtk_err **err)
{
  struct archive_entry *re;
  s->raw = archive_read_new();
  if (!s->raw && mtk_dl_error(MTK_DL_ARCHIVE)) /* libarchive missing (util/dl.h) */
    return mtk_dl_fail(MTK_DL_ARCHIVE, err);
  s->md = EVP_MD_CTX_new();
  if (!s->raw || !s->md || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1)
    return mtk_err_set(err, ENOMEM, "cannot set up the layer reader");
  archive_read_support_filter_gzip(s->raw);
  archive_read_support_filter_zstd(s->raw);
  archive_read_support_format_raw(s->raw);
  if (archive_read_open_fd(s->raw, fd, READ_BLOCK) != ARCHIVE_OK) {
    s->raw_failed = true;
    return stream_error(s, NULL, err);
  }
  int r = archive_read_next_header(s->raw, &re);
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
    s->raw_failed = true;
    return stream_error(s, NULL, err);
  }
  return 0;
}

/* Everything after the end-of-archive marker still belongs to the DiffID. */
static int drain(struct stream *s, struct archive *tar, struct mtk_err **err)
{
  const void *buf;
  la_ssize_t n;
  while ((n = stream_read(tar, s, &buf)) > 0)
    ;
  return n < 0 ? stream_error(s, tar, err) : 0;
}

static void digest_hex(struct stream *s, char diff_id[72])
{
  unsigned char md[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(s->md, md, &n);
  memcpy(diff_id, "sha256:", 7);
  for (unsigned i = 0; i < 32; i++)
    snprintf(diff_id + 7 + 2 * i, 3, "%02x", md[i]);
}

static void ctx_init(struct mtk_unpack_ctx *c, int root_fd, const struct mtk_unpack_opts *o,
                     const struct stat *root_st)
{
  memset(c, 0, sizeof(*c));
  c->root_fd = root_fd;
  c->root_dev = root_st->st_dev;
  c->cache_fd = -1;
  c->mode = o ? o->mode : MTK_UNPACK_FLATTEN;
  bool rootless = o && o->rootless;
  c->restore_owner = !rootless && geteuid() == 0;
  c->make_devices = c->restore_owner;
  c->opaque_xattr = rootless ? "user.overlay.opaque" : "trusted.overlay.opaque";
  c->max_bytes = o && o->max_bytes > 0 ? o->max_bytes : MTK_UNPACK_DEFAULT_MAX_BYTES;
}

/* Reads entries until the end-of-archive marker, applying each. */
static int apply_entries(struct mtk_unpack_ctx *c, struct stream *s, int64_t max_entries,
                         struct mtk_err **err)
{
  struct archive_entry *e;
  for (;;) {
    int r = archive_read_next_header(c->tar, &e);
    if (r == ARCHIVE_EOF)
      return 0;
    /* ARCHIVE_RETRY: libarchive skipped a damaged header; a layer is never half-read. */
    if (r < ARCHIVE_WARN || r == ARCHIVE_RETRY)
      return stream_error(s, c->tar, err);
    if (++c->st.entries > max_entries)
      return mtk_err_set(err, MTK_E_INVALID, "layer has more than %lld entries",
                         (long long) max_entries);
    const char *name = archive_entry_pathname(e);
    if (!name)
      name = archive_entry_pathname_utf8(e);
    if (r == ARCHIVE_FAILED) {
      mtk_autofree char *q = mtk_unpack_quote(name ? name : "");
      return mtk_err_set(err, MTK_E_INVALID, "layer entry %s: %s", q, archive_error_string(c->tar));
    }
    if (mtk_unpack_entry(c, e, err) < 0) {
      /* The bomb guard can fire while an entry's data is read: say so, not "bad data". */
      if (s->over || s->raw_failed) {
        mtk_err_free(err);
        return stream_error(s, c->tar, err);
      }
      mtk_autofree char *q = mtk_unpack_quote(name ? name : "");
      return mtk_err_wrap(err, "layer entry %s", q);
    }
  }
}

int mtk_layer_unpack(int fd, int root_fd, const struct mtk_unpack_opts *opts, char diff_id[72],
                     struct mtk_err **err)
{
  struct mtk_unpack_ctx c;
  struct stream s = {0};
  struct stat st;
  if (fstat(root_fd, &st) < 0 || !S_ISDIR(st.st_mode))
    return mtk_err_set(err, ENOTDIR, "the snapshot root is not a directory");
  ctx_init(&c, root_fd, opts, &st);
  s.max = c.max_bytes;
  int64_t max_entries =
      opts && opts->max_entries > 0 ? opts->max_entries : MTK_UNPACK_DEFAULT_MAX_ENTRIES;
  int r = open_stream(&s, fd, err);
  if (r == 0) {
    c.tar = archive_read_new();
    archive_read_support_format_tar(c.tar);
    if (archive_read_open(c.tar, &s, NULL, stream_read, NULL) != ARCHIVE_OK)
      r = stream_error(&s, c.tar, err);
  }
  if (r == 0)
    r = apply_entries(&c, &s, max_entries, err);
  if (r == 0)
    r = drain(&s, c.tar, err);
  if (r == 0)
    r = mtk_unpack_finish_dirs(&c, err);
  if (r == 0)
    digest_hex(&s, diff_id);
  c.st.tar_bytes = s.total;
  if (opts && opts->stats)
    *opts->stats = c.st;
  if (c.tar)
    archive_read_free(c.tar);
  if (s.raw)
    archive_read_free(s.raw);
  EVP_MD_CTX_free(s.md);
  mtk_unpack_ctx_release(&c);
  return r < 0 ? -1 : 0;
}
