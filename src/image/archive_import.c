/* `mtk image import`, as `docker import` with Docker's containerd store
 * (moby daemon/containerd/image_import.go): a gzip or zstd tarball is stored
 * as it is, anything else (plain tar, xz, bzip2) is decompressed and
 * recompressed with gzip (no timestamp in the header); the DiffID is the
 * SHA-256 of the uncompressed tar.  The config names the platform, the time
 * and a history entry "Imported from <source>"; the image is unpacked, then
 * tagged.  Also the manifest and layer-type helpers load shares. */
#include "config.h"

#include "image/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/archive_internal.h"
#include "image/ref.h"
#include "util/strbuf.h"

#define BLOCK (256 * 1024)

const char *mtk_archive_layer_type(const unsigned char *h, size_t n)
{
  if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b)
    return MTK_MT_OCI_LAYER_GZIP;
  if (n >= 4 && h[0] == 0x28 && h[1] == 0xb5 && h[2] == 0x2f && h[3] == 0xfd)
    return MTK_MT_OCI_LAYER_ZSTD;
  return MTK_MT_OCI_LAYER;
}

static json_t *descriptor(const char *mt, const char *digest, int64_t size)
{
  return json_pack("{s:s,s:s,s:I}", "mediaType", mt, "digest", digest, "size", (json_int_t) size);
}

int mtk_archive_put_manifest(struct mtk_store *s, const char *config_digest, int64_t config_size,
                             const struct mtk_archive_layer *layers, size_t n,
                             char digest[MTK_DIGEST_SIZE], int64_t *size, struct mtk_err **err)
{
  json_t *ls = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(ls, descriptor(layers[i].media_type, layers[i].digest, layers[i].size));
  json_t *m =
      json_pack("{s:i,s:s,s:o,s:o}", "schemaVersion", 2, "mediaType", MTK_MT_OCI_MANIFEST, "config",
                descriptor(MTK_MT_OCI_CONFIG, config_digest, config_size), "layers", ls);
  mtk_autofree char *text = json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(m);
  *size = (int64_t) strlen(text);
  return mtk_store_blob_put(s, text, strlen(text), digest, err);
}

/* ------------------------------------------------------------ the layer */

/* Input: the bytes already peeked at, then the rest of the fd. */
struct input {
  int fd;
  unsigned char head[16];
  size_t n_head, off_head;
  char buf[BLOCK];
};

static ssize_t input_read(struct input *in, void *buf, size_t n)
{
  if (in->off_head < in->n_head) {
    size_t k = in->n_head - in->off_head < n ? in->n_head - in->off_head : n;
    memcpy(buf, in->head + in->off_head, k);
    in->off_head += k;
    return (ssize_t) k;
  }
  for (;;) {
    ssize_t r = read(in->fd, buf, n);
    if (r < 0 && errno == EINTR)
      continue;
    return r;
  }
}

static la_ssize_t la_input(struct archive *a, void *ud, const void **buf)
{
  struct input *in = ud;
  ssize_t r = input_read(in, in->buf, sizeof(in->buf));
  if (r < 0)
    archive_set_error(a, errno, "reading the input: %s", strerror(errno));
  *buf = in->buf;
  return r;
}

struct sink {
  struct mtk_store_blob_writer *w; /* borrowed */
  struct mtk_err *err;             /* owned: the writer's failure */
};

static la_ssize_t la_output(struct archive *a, void *ud, const void *buf, size_t n)
{
  struct sink *s = ud;
  if (mtk_store_blob_write(s->w, buf, n, &s->err) < 0) {
    archive_set_error(a, s->err->code, "%s", s->err->msg);
    return -1;
  }
  return (la_ssize_t) n;
}

static int la_error(struct archive *a, const char *what, struct sink *s, struct mtk_err **err)
{
  if (s && s->err) {
    *err = mtk_steal_ptr(&s->err);
    return -1;
  }
  int e = archive_errno(a);
  return mtk_err_set(err, e > 0 && e != EINVAL && e != EILSEQ ? e : MTK_E_INVALID, "%s: %s", what,
                     archive_error_string(a) ? archive_error_string(a) : "unknown error");
}

/* Decompresses the input (plain, xz, bzip2) and writes it gzip-compressed
 * into w; diff_id gets the SHA-256 of the uncompressed stream. */
static int recompress(struct input *in, struct mtk_store_blob_writer *w,
                      char diff_id[MTK_DIGEST_SIZE], struct mtk_err **err)
{
  struct archive *rd = archive_read_new(), *wr = archive_write_new();
  struct sink sk = {.w = w};
  struct archive_entry *e = NULL, *oe = archive_entry_new();
  mtk_autosha256 h = {0};
  mtk_sha256_init(&h);
  archive_read_support_filter_xz(rd);
  archive_read_support_filter_bzip2(rd);
  archive_read_support_format_raw(rd);
  archive_write_add_filter_gzip(wr);
  archive_write_set_format_raw(wr);
  archive_write_set_bytes_per_block(wr, 0);
  int r = 0;
  if (archive_write_set_filter_option(wr, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
      archive_write_open(wr, &sk, NULL, la_output, NULL) != ARCHIVE_OK)
    r = la_error(wr, "compressing the layer", &sk, err);
  if (r == 0 && (archive_read_open(rd, in, NULL, la_input, NULL) != ARCHIVE_OK ||
                 archive_read_next_header(rd, &e) != ARCHIVE_OK))
    r = la_error(rd, "reading the input", NULL, err);
  archive_entry_set_filetype(oe, AE_IFREG);
  archive_entry_set_pathname(oe, "layer.tar");
  if (r == 0 && archive_write_header(wr, oe) != ARCHIVE_OK)
    r = la_error(wr, "compressing the layer", &sk, err);
  const void *buf;
  size_t n;
  la_int64_t off;
  int k;
  while (r == 0 && (k = archive_read_data_block(rd, &buf, &n, &off)) == ARCHIVE_OK) {
    mtk_sha256_update(&h, buf, n);
    if (archive_write_data(wr, buf, n) != (la_ssize_t) n)
      r = la_error(wr, "compressing the layer", &sk, err);
  }
  if (r == 0 && k != ARCHIVE_EOF)
    r = la_error(rd, "reading the input", NULL, err);
  if (r == 0 && archive_write_close(wr) != ARCHIVE_OK)
    r = la_error(wr, "compressing the layer", &sk, err);
  if (r == 0)
    mtk_sha256_final(&h, diff_id);
  archive_entry_free(oe);
  archive_read_free(rd);
  archive_write_free(wr);
  mtk_err_free(&sk.err);
  return r;
}

/* The DiffID of a stored gzip/zstd blob. */
static int diff_id_of(struct mtk_store *s, const char *digest, char out[MTK_DIGEST_SIZE],
                      struct mtk_err **err)
{
  mtk_autoclose int fd = mtk_store_blob_open(s, digest, err);
  if (fd < 0)
    return -1;
  struct archive *rd = archive_read_new();
  struct archive_entry *e;
  archive_read_support_filter_gzip(rd);
  archive_read_support_filter_zstd(rd);
  archive_read_support_format_raw(rd);
  mtk_autosha256 h = {0};
  mtk_sha256_init(&h);
  int r = 0, k = ARCHIVE_OK;
  if (archive_read_open_fd(rd, fd, BLOCK) != ARCHIVE_OK ||
      archive_read_next_header(rd, &e) != ARCHIVE_OK)
    r = la_error(rd, "reading the layer", NULL, err);
  const void *buf;
  size_t n;
  la_int64_t off;
  while (r == 0 && (k = archive_read_data_block(rd, &buf, &n, &off)) == ARCHIVE_OK)
    mtk_sha256_update(&h, buf, n);
  if (r == 0 && k != ARCHIVE_EOF)
    r = la_error(rd, "decompressing the layer", NULL, err);
  if (r == 0)
    mtk_sha256_final(&h, out);
  archive_read_free(rd);
  return r;
}

/* Stores the layer: *mt its media type, digest and diff_id. */
static int store_layer(struct mtk_store *s, int fd, const char **mt, char digest[MTK_DIGEST_SIZE],
                       char diff_id[MTK_DIGEST_SIZE], struct mtk_err **err)
{
  struct input *in = mtk_xcalloc(1, sizeof(*in));
  in->fd = fd;
  while (in->n_head < 4) {
    ssize_t r = read(fd, in->head + in->n_head, 4 - in->n_head);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      free(in);
      return mtk_err_set(err, errno, "reading the input: %s", strerror(errno));
    }
    if (r == 0)
      break;
    in->n_head += (size_t) r;
  }
  *mt = mtk_archive_layer_type(in->head, in->n_head);
  bool keep = strcmp(*mt, MTK_MT_OCI_LAYER) != 0;
  if (!keep)
    *mt = MTK_MT_OCI_LAYER_GZIP;
  mtk_autoptr(mtk_store_blob_writer) w = NULL;
  int r = mtk_store_blob_writer_new(s, NULL, -1, &w, err);
  if (r == 0 && keep) {
    ssize_t n;
    while (r == 0 && (n = input_read(in, in->buf, sizeof(in->buf))) > 0)
      r = mtk_store_blob_write(w, in->buf, (size_t) n, err);
    if (r == 0 && n < 0)
      r = mtk_err_set(err, errno, "reading the input: %s", strerror(errno));
  } else if (r == 0) {
    r = recompress(in, w, diff_id, err);
  }
  free(in);
  if (r == 0)
    r = mtk_store_blob_commit(mtk_steal_ptr(&w), digest, err);
  if (r == 0 && keep)
    r = diff_id_of(s, digest, diff_id, err);
  return r;
}

/* ------------------------------------------------------------ the image */

static char *now_rfc3339(void)
{
  struct timespec ts;
  struct tm tm;
  char buf[40];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return mtk_xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
}

static int put_config(struct mtk_store *s, const struct mtk_image_import_opts *o,
                      const char *diff_id, char digest[MTK_DIGEST_SIZE], int64_t *size,
                      struct mtk_err **err)
{
  struct mtk_platform p = {0};
  if (o->platform) {
    if (mtk_platform_parse(o->platform, &p, err) < 0)
      return -1;
  } else {
    mtk_platform_host(&p);
  }
  mtk_autofree char *created = now_rfc3339();
  mtk_autofree char *msg = o->message
                               ? mtk_xstrdup(o->message)
                               : mtk_xasprintf("Imported from %s", o->source ? o->source : "-");
  /* ocispec.Image's field order: created, architecture, os, variant, config, rootfs, history. */
  json_t *c =
      json_pack("{s:s,s:s,s:s}", "created", created, "architecture", p.architecture, "os", p.os);
  if (p.variant)
    json_object_set_new(c, "variant", json_string(p.variant));
  json_object_set_new(c, "config", json_object());
  json_object_set_new(c, "rootfs", json_pack("{s:s,s:[s]}", "type", "layers", "diff_ids", diff_id));
  json_object_set_new(c, "history", json_pack("[{s:s,s:s}]", "created", created, "comment", msg));
  mtk_platform_free(&p);
  mtk_autofree char *text = json_dumps(c, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(c);
  *size = (int64_t) strlen(text);
  return mtk_store_blob_put(s, text, strlen(text), digest, err);
}

static int import_locked(struct mtk_store *s, int fd, const struct mtk_image_import_opts *o,
                         char **id, struct mtk_err **err)
{
  const char *mt = NULL;
  char layer[MTK_DIGEST_SIZE], diff_id[MTK_DIGEST_SIZE], config[MTK_DIGEST_SIZE];
  char manifest[MTK_DIGEST_SIZE];
  int64_t config_size, manifest_size, layer_size;
  if (store_layer(s, fd, &mt, layer, diff_id, err) < 0 ||
      (layer_size = mtk_store_blob_size(s, layer, err)) < 0 ||
      put_config(s, o, diff_id, config, &config_size, err) < 0)
    return -1;
  struct mtk_archive_layer l = {layer, layer_size, mt};
  if (mtk_archive_put_manifest(s, config, config_size, &l, 1, manifest, &manifest_size, err) < 0 ||
      mtk_image_unpack(s, manifest, MTK_MT_OCI_MANIFEST, 1, NULL, err) < 0 ||
      mtk_store_tag(s, o->ref, manifest, MTK_MT_OCI_MANIFEST, manifest_size, err) < 0)
    return -1;
  *id = mtk_xstrdup(config);
  return 0;
}

int mtk_image_import(struct mtk_store *store, int fd, const struct mtk_image_import_opts *opts,
                     char **id, struct mtk_err **err)
{
  static const struct mtk_image_import_opts defaults = {0};
  const struct mtk_image_import_opts *o = opts ? opts : &defaults;
  *id = NULL;
  if (mtk_store_lease(store, err) < 0)
    return -1;
  int r = import_locked(store, fd, o, id, err);
  mtk_store_unlease(store);
  if (r < 0)
    return mtk_err_wrap(err, "import %s", o->source ? o->source : "-");
  return 0;
}
