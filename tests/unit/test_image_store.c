/* Unit tests for the image store on real files in a temp root: blobs (verification, caps, a real
 * full tmpfs, nothing left behind), two forked writers of one image, the tag index (tag, move,
 * untag, resolve by every form, list), prune with leases and in-use IDs, snapshots, and the
 * manifest, platform and config parsers. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/store.h"
#include "tap.h"
#include "util/cleanup.h"

static char root[] = "/tmp/mtk-store-test-XXXXXX";

/* Reports a failed call (want NULL) or a missing/wrong failure (want set). */
static int check(int r, struct mtk_err **e, const char *want, const char *call, int line)
{
  int bad = want ? (r >= 0 || *e == NULL || strstr((*e)->msg, want) == NULL) : r < 0;
  if (bad)
    printf("#   line %d: %s: %s%s%s\n", line, call, *e ? (*e)->msg : "no error",
           want ? ", want " : "", want ? want : "");
  mtk_err_free(e);
  return bad;
}

/* TRY(call) must succeed; FAILS(call, text) must fail with text in the message.
 * Both give the call a `struct mtk_err **err`. */
#define CHECK(call, want)                                                                          \
  do {                                                                                             \
    struct mtk_err *e_ = NULL, **err = &e_;                                                        \
    int r_ = (call);                                                                               \
    if (check(r_, err, want, #call, __LINE__))                                                     \
      return 1;                                                                                    \
  } while (0)
#define TRY(call) CHECK(call, NULL)
#define FAILS(call, want) CHECK(call, want)

static char *fresh_root(const char *name)
{
  char *r = mtk_xasprintf("%s/%s", root, name);
  mkdir(r, 0700);
  return r;
}

static int count_sub(struct mtk_store *s, const char *sub)
{
  mtk_autofree char *p = mtk_xasprintf("%s/%s", mtk_store_dir(s), sub);
  DIR *d = opendir(p);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  if (d)
    closedir(d);
  return d ? n : -1;
}

static void put_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  fputs(text, f);
  fclose(f);
}

/* A small image: n_layers random layers, a config naming their diff IDs
 * (the layers themselves stand in for the uncompressed tars), an OCI manifest. */
struct img {
  char manifest[MTK_DIGEST_SIZE], config[MTK_DIGEST_SIZE], layer[2][MTK_DIGEST_SIZE];
  int64_t layer_size[2];
};

static int make_image(struct mtk_store *s, const char *created, int seed, struct img *out,
                      struct mtk_err **err)
{
  char buf[3000];
  for (int i = 0; i < 2; i++) {
    size_t n = 1000 + (size_t) seed * 7 + (size_t) i * 100;
    for (size_t k = 0; k < n; k++)
      buf[k] = (char) (k * 31 + (size_t) seed * 17 + (size_t) i);
    out->layer_size[i] = (int64_t) n;
    if (mtk_store_blob_put(s, buf, n, out->layer[i], err) < 0)
      return -1;
  }
  mtk_autofree char *cfg = mtk_xasprintf(
      "{\"created\":\"%s\",\"architecture\":\"arm64\",\"variant\":\"v8\",\"os\":\"linux\","
      "\"config\":{\"Env\":[\"PATH=/bin\",\"SEED=%d\"],\"Cmd\":[\"sh\"],\"User\":\"1000\"},"
      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\",\"%s\"]}}",
      created, seed, out->layer[0], out->layer[1]);
  if (mtk_store_blob_put(s, cfg, strlen(cfg), out->config, err) < 0)
    return -1;
  mtk_autofree char *man = mtk_xasprintf(
      "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\",\"digest\":"
      "\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld},"
      "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld}]}",
      MTK_MT_OCI_MANIFEST, MTK_MT_OCI_CONFIG, out->config, strlen(cfg), MTK_MT_OCI_LAYER,
      out->layer[0], (long long) out->layer_size[0], MTK_MT_OCI_LAYER, out->layer[1],
      (long long) out->layer_size[1]);
  return mtk_store_blob_put(s, man, strlen(man), out->manifest, err);
}

static int test_open_layout(void)
{
  mtk_autofree char *r = fresh_root("layout");
  mtk_autoptr(mtk_store) s = NULL;
  TRY(mtk_store_open(r, &s, err));
  mtk_autofree char *layout = mtk_xasprintf("%s/image/oci-layout", r);
  mtk_autofree char *idx = mtk_xasprintf("%s/image/index.json", r);
  json_t *j = json_load_file(layout, 0, NULL);
  MTK_ASSERT_STREQ(json_string_value(json_object_get(j, "imageLayoutVersion")), "1.0.0");
  json_decref(j);
  j = json_load_file(idx, 0, NULL);
  MTK_ASSERT(json_array_size(json_object_get(j, "manifests")) == 0 &&
             json_integer_value(json_object_get(j, "schemaVersion")) == 2);
  json_decref(j);
  mtk_store_close(mtk_steal_ptr(&s));
  mtk_autofree char *deep = mtk_xasprintf("%s/a/b/c", r); /* parents are created */
  TRY(mtk_store_open(deep, &s, err));
  mtk_store_close(mtk_steal_ptr(&s));
  TRY(mtk_store_open(r, &s, err)); /* reopening an existing store */
  mtk_store_close(mtk_steal_ptr(&s));
  put_file(layout, "{\"imageLayoutVersion\":\"2.0.0\"}");
  FAILS(mtk_store_open(r, &s, err), "unsupported image layout");
  return 0;
}

static int test_blobs(void)
{
  mtk_autofree char *r = fresh_root("blobs");
  mtk_autoptr(mtk_store) s = NULL;
  TRY(mtk_store_open(r, &s, err));
  char d[MTK_DIGEST_SIZE];
  TRY(mtk_store_blob_put(s, "hello", 5, d, err));
  MTK_ASSERT_STREQ(d, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  MTK_ASSERT(mtk_store_blob_has(s, d));
  MTK_ASSERT(!mtk_store_blob_has(s, "sha256:../../etc/passwd"));
  MTK_ASSERT(mtk_store_blob_path(s, "sha256:ABC") == NULL);
  mtk_autofree char *path = mtk_store_blob_path(s, d);
  MTK_ASSERT_CONTAINS(path, "/image/blobs/sha256/2cf24dba");
  MTK_ASSERT_EQ(mtk_store_blob_size(s, d, NULL), 5);
  mtk_autofree char *buf = NULL;
  size_t len;
  TRY(mtk_store_blob_read(s, d, 100, &buf, &len, err));
  char *nb = NULL; /* stays NULL: every use fails */
  MTK_ASSERT_EQ(len, 5);
  MTK_ASSERT_STREQ(buf, "hello");
  FAILS(mtk_store_blob_read(s, d, 4, &nb, &len, err), "more than the 4 allowed");
  int fd;
  TRY(fd = mtk_store_blob_open(s, d, err));
  close(fd);
  FAILS(mtk_store_blob_open(s, "md5:d41d8cd98f00b204e9800998ecf8427e", err), "invalid digest");
  FAILS(mtk_store_blob_open(s,
                            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
                            "7852b855",
                            err),
        "not found");
  /* The same content again: one file, no leftovers. */
  TRY(mtk_store_blob_put(s, "hello", 5, NULL, err));
  MTK_ASSERT_EQ(count_sub(s, "blobs/sha256"), 1);
  MTK_ASSERT_EQ(count_sub(s, "tmp"), 0);
  /* A blob damaged on disk is refused when read. */
  put_file(path, "jello");
  FAILS(mtk_store_blob_read(s, d, 100, &nb, &len, err), "digest mismatch for sha256:2cf24dba");
  return 0;
}

static int test_writer_refuses_bad_content(void)
{
  mtk_autofree char *r = fresh_root("refuse");
  mtk_autoptr(mtk_store) s = NULL;
  TRY(mtk_store_open(r, &s, err));
  static const char want[] =
      "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"; /* "hello" */
  struct mtk_store_blob_writer *w;
  /* Corrupted content: right size, wrong bytes. */
  TRY(mtk_store_blob_writer_new(s, want, 5, &w, err));
  TRY(mtk_store_blob_write(w, "jel", 3, err));
  TRY(mtk_store_blob_write(w, "lo", 2, err));
  MTK_ASSERT_EQ(mtk_store_blob_written(w), 5);
  FAILS(
      mtk_store_blob_commit(w, NULL, err),
      "digest mismatch for sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
      ": got sha256:");
  MTK_ASSERT(!mtk_store_blob_has(s, want));
  /* More bytes than the descriptor's size: refused at the write. */
  TRY(mtk_store_blob_writer_new(s, want, 5, &w, err));
  FAILS(mtk_store_blob_write(w, "hello!", 6, err), "size mismatch for");
  FAILS(mtk_store_blob_commit(w, NULL, err), "earlier write failed");
  /* Too few bytes. */
  TRY(mtk_store_blob_writer_new(s, want, 5, &w, err));
  TRY(mtk_store_blob_write(w, "hell", 4, err));
  FAILS(mtk_store_blob_commit(w, NULL, err), "size mismatch for");
  /* Store-wide cap for unknown sizes (a full disk as far as the writer knows). */
  mtk_store_set_blob_limit(s, 1000);
  TRY(mtk_store_blob_writer_new(s, NULL, -1, &w, err));
  char big[600] = {0};
  TRY(mtk_store_blob_write(w, big, sizeof(big), err));
  FAILS(mtk_store_blob_write(w, big, sizeof(big), err), "larger than the limit of 1000 bytes");
  mtk_store_blob_abort(w);
  /* A reset writer (retry from byte 0) stores the right content. */
  TRY(mtk_store_blob_writer_new(s, want, 5, &w, err));
  TRY(mtk_store_blob_write(w, "xx", 2, err));
  TRY(mtk_store_blob_reset(w, err));
  TRY(mtk_store_blob_write(w, "hello", 5, err));
  TRY(mtk_store_blob_commit(w, NULL, err));
  MTK_ASSERT_EQ(count_sub(s, "blobs/sha256"), 1);
  MTK_ASSERT_EQ(count_sub(s, "tmp"), 0);
  FAILS(mtk_store_blob_writer_new(s, "sha256:%2e%2e", -1, &w, err), "invalid digest");
  return 0;
}

/* A real full disk: a 256 KiB tmpfs in a private mount namespace. */
static int test_full_disk(void)
{
  mtk_autofree char *r = fresh_root("full");
  pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", r, "tmpfs", 0, "size=256k") < 0)
      _exit(77);
    struct mtk_store *s;
    struct mtk_err *err = NULL;
    if (mtk_store_open(r, &s, &err) < 0)
      _exit(2);
    struct mtk_store_blob_writer *w;
    char chunk[64 * 1024];
    memset(chunk, 'x', sizeof(chunk));
    int rc = 3;
    if (mtk_store_blob_writer_new(s, NULL, -1, &w, &err) == 0) {
      for (int i = 0; i < 16 && rc == 3; i++)
        if (mtk_store_blob_write(w, chunk, sizeof(chunk), &err) < 0)
          rc = err->code == ENOSPC && strstr(err->msg, "No space left") ? 0 : 4;
      mtk_store_blob_abort(w);
    }
    if (rc == 0 && (count_sub(s, "tmp") != 0 || count_sub(s, "blobs/sha256") != 0))
      rc = 5;
    /* The store still works once space is back. */
    if (rc == 0 && mtk_store_blob_put(s, "ok", 2, NULL, &err) < 0)
      rc = 6;
    _exit(rc);
  }
  int st;
  waitpid(pid, &st, 0);
  MTK_ASSERT(WIFEXITED(st));
  if (WEXITSTATUS(st) == 77)
    return 77;
  MTK_ASSERT_EQ(WEXITSTATUS(st), 0);
  return 0;
}

/* Two processes pull the same image at once: both succeed, one copy stays. */
static int test_two_writers(void)
{
  mtk_autofree char *r = fresh_root("race");
  enum { SIZE = 4 << 20 };
  mtk_autofree char *data = mtk_xmalloc(SIZE);
  for (int i = 0; i < SIZE; i++)
    data[i] = (char) (i * 7 + i / 4096);
  char digest[MTK_DIGEST_SIZE];
  mtk_sha256_digest(data, SIZE, digest);
  int go[2];
  MTK_ASSERT(pipe(go) == 0);
  pid_t kids[2];
  for (int k = 0; k < 2; k++) {
    if ((kids[k] = fork()) == 0) {
      struct mtk_store *s;
      struct mtk_store_blob_writer *w;
      struct img im;
      char c;
      close(go[1]);
      if (mtk_store_open(r, &s, NULL) < 0 || read(go[0], &c, 1) != 0)
        _exit(2);
      if (mtk_store_blob_writer_new(s, digest, SIZE, &w, NULL) < 0)
        _exit(3);
      for (int off = 0; off < SIZE; off += 65536)
        if (mtk_store_blob_write(w, data + off, 65536, NULL) < 0)
          _exit(4);
      if (mtk_store_blob_commit(w, NULL, NULL) < 0 ||
          make_image(s, "2024-01-01T00:00:00Z", 1, &im, NULL) < 0 ||
          mtk_store_tag(s, "team/lab:1", im.manifest, MTK_MT_OCI_MANIFEST, -1, NULL) < 0)
        _exit(5);
      _exit(0);
    }
  }
  close(go[0]);
  close(go[1]); /* both children start writing now */
  for (int k = 0; k < 2; k++) {
    int st;
    waitpid(kids[k], &st, 0);
    MTK_ASSERT(WIFEXITED(st));
    MTK_ASSERT_EQ(WEXITSTATUS(st), 0);
  }
  mtk_autoptr(mtk_store) s = NULL;
  TRY(mtk_store_open(r, &s, err));
  MTK_ASSERT(mtk_store_blob_has(s, digest));
  MTK_ASSERT_EQ(count_sub(s, "blobs/sha256"), 5); /* big blob + 2 layers, config, manifest */
  MTK_ASSERT_EQ(count_sub(s, "tmp"), 0);
  struct mtk_store_image *imgs;
  size_t n;
  TRY(mtk_store_list(s, &imgs, &n, err));
  MTK_ASSERT_EQ(n, 1);
  MTK_ASSERT_EQ(imgs[0].n_refs, 1);
  mtk_store_images_free(imgs, n);
  return 0;
}

#define ONES "1111111111111111111111111111111111111111111111111111111111111111"

static int test_tags_and_resolve(void)
{
  mtk_autofree char *r = fresh_root("tags");
  mtk_autoptr(mtk_store) s = NULL;
  TRY(mtk_store_open(r, &s, err));
  struct img a, b;
  TRY(make_image(s, "2024-01-02T03:04:05.123456789Z", 1, &a, err));
  TRY(make_image(s, "2025-06-01T00:00:00+02:00", 2, &b, err));
  static const char repo[] = "sha256:" ONES;
  TRY(mtk_store_tag_repo(s, "python:3-alpine", a.manifest, MTK_MT_OCI_MANIFEST, -1, repo, err));
  TRY(mtk_store_tag(s, "127.0.0.1:5000/team/lab", a.manifest, MTK_MT_OCI_MANIFEST, -1, err));
  FAILS(mtk_store_tag(s, "x:1", a.config, NULL, -1, err), "manifest");
  FAILS(mtk_store_tag(s, "x:1", a.manifest, MTK_MT_OCI_MANIFEST, 3, err), "size mismatch");
  FAILS(mtk_store_tag(s, "Bad", a.manifest, MTK_MT_OCI_MANIFEST, -1, err), "must be lowercase");
  char shortid[13], with_manifest[200];
  snprintf(shortid, sizeof(shortid), "%.12s", a.config + 7);
  snprintf(with_manifest, sizeof(with_manifest), "127.0.0.1:5000/team/lab@%s", a.manifest);
  const char *forms[] = {"python:3-alpine", "docker.io/library/python:3-alpine",
                         a.manifest,        "127.0.0.1:5000/team/lab:latest",
                         a.config,          a.config + 7,
                         shortid,           "python@sha256:" ONES,
                         with_manifest};
  for (size_t i = 0; i < 9; i++) {
    mtk_autoptr(mtk_store_image) im = NULL;
    TRY(mtk_store_resolve(s, forms[i], &im, err));
    MTK_ASSERT_STREQ(im->id, a.config);
    MTK_ASSERT_STREQ(im->manifest_digest, a.manifest);
  }
  mtk_autoptr(mtk_store_image) im = NULL;
  FAILS(mtk_store_resolve(s, "python:3", &im, err), "No such image: python:3");
  FAILS(mtk_store_resolve(s, "ffffffffffff", &im, err), "No such image");
  TRY(mtk_store_resolve(s, "python:3-alpine", &im, err));
  MTK_ASSERT_EQ(im->n_refs, 2);
  MTK_ASSERT_STREQ(im->refs[0], "127.0.0.1:5000/team/lab:latest");
  MTK_ASSERT_STREQ(im->refs[1], "docker.io/library/python:3-alpine");
  MTK_ASSERT_EQ(im->n_repo_digests, 1);
  MTK_ASSERT_STREQ(im->repo_digests[0], "docker.io/library/python@sha256:" ONES);
  MTK_ASSERT_EQ(im->size, a.layer_size[0] + a.layer_size[1]);
  MTK_ASSERT_EQ(im->created_unix, 1704164645);
  MTK_ASSERT_STREQ(im->architecture, "arm64");
  MTK_ASSERT_STREQ(im->variant, "v8");
  MTK_ASSERT_STREQ(im->os, "linux");
  /* Moving the tag leaves the old image as <none> with its digest. */
  TRY(mtk_store_tag(s, "python:3-alpine", b.manifest, MTK_MT_OCI_MANIFEST, -1, err));
  struct mtk_store_image *imgs;
  size_t n;
  TRY(mtk_store_list(s, &imgs, &n, err));
  MTK_ASSERT_EQ(n, 2);
  MTK_ASSERT_STREQ(imgs[0].id, b.config); /* newest first */
  MTK_ASSERT_EQ(imgs[0].created_unix, 1748728800);
  MTK_ASSERT_EQ(imgs[1].n_refs, 1);
  MTK_ASSERT_EQ(imgs[1].n_repo_digests, 1);
  mtk_store_images_free(imgs, n);
  /* Untag: the last name of an image removes the image. */
  char *removed = NULL;
  TRY(mtk_store_untag(s, "127.0.0.1:5000/team/lab", &removed, err));
  MTK_ASSERT(removed == NULL); /* still named python@sha256:1111... */
  FAILS(mtk_store_untag(s, "127.0.0.1:5000/team/lab", &removed, err), "No such image");
  TRY(mtk_store_untag(s, "python:3-alpine", &removed, err));
  MTK_ASSERT_STREQ(removed, b.config);
  free(removed);
  TRY(mtk_store_remove(s, a.manifest, err));
  TRY(mtk_store_list(s, &imgs, &n, err));
  MTK_ASSERT_EQ(n, 0);
  free(imgs);
  /* An untagged record (load of an unnamed image), then an ambiguous prefix. */
  struct img many[20];
  int hit = -1;
  for (int i = 0; i < 20 && hit < 0; i++) {
    TRY(make_image(s, "2024-01-01T00:00:00Z", 10 + i, &many[i], err));
    TRY(mtk_store_tag(s, NULL, many[i].manifest, MTK_MT_OCI_MANIFEST, -1, err));
    for (int k = 0; k < i && hit < 0; k++)
      if (many[k].config[7] == many[i].config[7])
        hit = i;
  }
  MTK_ASSERT(hit > 0);
  char one[2] = {many[hit].config[7], 0};
  struct mtk_store_image *none = NULL;
  FAILS(mtk_store_resolve(s, one, &none, err), "multiple IDs found with provided prefix");
  return 0;
}

static int write_file(int dirfd, const char *name, const char *text)
{
  int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0)
    return -1;
  ssize_t w = write(fd, text, strlen(text));
  close(fd);
  return w < 0 ? -1 : 0;
}

/* Fills a snapshot with hostile content: a link to a host directory, an
 * unreadable directory, a 100-level deep tree. */
static int fill_snapshot(int fd, const char *outside)
{
  if (write_file(fd, "file", "data") < 0 || symlinkat(outside, fd, "escape") < 0 ||
      mkdirat(fd, "locked", 0755) < 0 || write_file(fd, "locked/x", "x") < 0 ||
      fchmodat(fd, "locked", 0, 0) < 0)
    return -1;
  int cur = dup(fd);
  for (int i = 0; i < 100; i++) {
    if (mkdirat(cur, "d", 0755) < 0)
      return -1;
    int next = openat(cur, "d", O_RDONLY | O_DIRECTORY);
    close(cur);
    cur = next;
  }
  int r = write_file(cur, "deep", "deep");
  close(cur);
  return r;
}

static int test_snapshots(void)
{
  mtk_autofree char *r = fresh_root("snap");
  mtk_autofree char *outside = fresh_root("outside");
  mtk_autofree char *sentinel = mtk_xasprintf("%s/keep", outside);
  put_file(sentinel, "keep");
  mtk_autoptr(mtk_store) s = NULL;
  TRY(mtk_store_open(r, &s, err));
  static const char d1[] =
      "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
  static const char d2[] =
      "sha256:d8d8e0cdc1b6c8d8b6df4a1a6d50f1f4e04d8a2e6b8b2a4b1b9d5d62a0a5f3c1";
  char c1[MTK_DIGEST_SIZE], c2[MTK_DIGEST_SIZE], want[MTK_DIGEST_SIZE];
  TRY(mtk_store_chain_id(NULL, d1, c1, err));
  MTK_ASSERT_STREQ(c1, d1);
  TRY(mtk_store_chain_id(c1, d2, c2, err));
  mtk_autofree char *pair = mtk_xasprintf("%s %s", d1, d2);
  mtk_sha256_digest(pair, strlen(pair), want);
  MTK_ASSERT_STREQ(c2, want);
  FAILS(mtk_store_chain_id(c1, "sha256:x", c2, err), "invalid diff ID");
  /* Two unpackers of one chain ID: both commit, one snapshot stays. */
  struct mtk_store_snapshot_tx *t1, *t2, *t3;
  TRY(mtk_store_snapshot_begin(s, c1, &t1, err));
  TRY(mtk_store_snapshot_begin(s, c1, &t2, err));
  MTK_ASSERT_CONTAINS(mtk_store_snapshot_tx_path(t1), "/image/snapshots/tmp-");
  MTK_ASSERT(!mtk_store_snapshot_has(s, c1));
  MTK_ASSERT_EQ(fill_snapshot(mtk_store_snapshot_tx_fd(t1), outside), 0);
  MTK_ASSERT_EQ(fill_snapshot(mtk_store_snapshot_tx_fd(t2), outside), 0);
  TRY(mtk_store_snapshot_commit(t1, d1, NULL, err));
  TRY(mtk_store_snapshot_commit(t2, d1, NULL, err));
  MTK_ASSERT(mtk_store_snapshot_has(s, c1));
  MTK_ASSERT_EQ(count_sub(s, "snapshots"), 1);
  mtk_autofree char *fs = mtk_store_snapshot_path(s, c1);
  mtk_autofree char *file = mtk_xasprintf("%s/file", fs);
  MTK_ASSERT(access(file, F_OK) == 0);
  /* Abort leaves nothing. */
  TRY(mtk_store_snapshot_begin(s, c2, &t3, err));
  MTK_ASSERT_EQ(fill_snapshot(mtk_store_snapshot_tx_fd(t3), outside), 0);
  mtk_store_snapshot_abort(t3);
  MTK_ASSERT_EQ(count_sub(s, "snapshots"), 1);
  /* Prune: no image references c1, so it goes; the link target stays. */
  int64_t freed = 0;
  TRY(mtk_store_prune(s, NULL, 0, &freed, err));
  MTK_ASSERT_EQ(count_sub(s, "snapshots"), 0);
  MTK_ASSERT(freed >= 8);
  MTK_ASSERT(access(sentinel, F_OK) == 0);
  return 0;
}

static int test_prune(void)
{
  mtk_autofree char *r = fresh_root("prune");
  mtk_autoptr(mtk_store) s = NULL;
  TRY(mtk_store_open(r, &s, err));
  struct img a, b, c;
  TRY(make_image(s, "2024-01-01T00:00:00Z", 1, &a, err));
  TRY(make_image(s, "2024-01-01T00:00:00Z", 2, &b, err));
  TRY(make_image(s, "2024-01-01T00:00:00Z", 3, &c, err));
  TRY(mtk_store_tag(s, "a:1", a.manifest, NULL, -1, err));
  TRY(mtk_store_tag(s, NULL, b.manifest, NULL, -1, err)); /* untagged, in use */
  TRY(mtk_store_tag(s, NULL, c.manifest, NULL, -1, err)); /* untagged, unused */
  TRY(mtk_store_blob_put(s, "stray", 5, NULL, err));
  /* Snapshots for a's two layers, and one nobody needs. */
  char ch[MTK_DIGEST_SIZE];
  const char *chains[3] = {a.layer[0], NULL, c.layer[0]};
  TRY(mtk_store_chain_id(a.layer[0], a.layer[1], ch, err));
  chains[1] = ch;
  for (int i = 0; i < 3; i++) {
    struct mtk_store_snapshot_tx *tx;
    TRY(mtk_store_snapshot_begin(s, chains[i], &tx, err));
    MTK_ASSERT_EQ(write_file(mtk_store_snapshot_tx_fd(tx), "f", "x"), 0);
    TRY(mtk_store_snapshot_commit(tx, NULL, NULL, err));
  }
  /* A stale temp file and snapshot from a crashed process. */
  mtk_autofree char *stale = mtk_xasprintf("%s/image/tmp/blob-1-dead", r);
  mtk_autofree char *stale_snap = mtk_xasprintf("%s/image/snapshots/tmp-dead", r);
  put_file(stale, "");
  mkdir(stale_snap, 0700);
  struct timespec old[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
  MTK_ASSERT(utimensat(AT_FDCWD, stale, old, 0) == 0);
  MTK_ASSERT(utimensat(AT_FDCWD, stale_snap, old, 0) == 0);
  const char *keep[] = {b.config};
  int64_t freed;
  TRY(mtk_store_prune(s, keep, 1, &freed, err));
  MTK_ASSERT(mtk_store_blob_has(s, a.manifest) && mtk_store_blob_has(s, a.config));
  MTK_ASSERT(mtk_store_blob_has(s, a.layer[0]) && mtk_store_blob_has(s, a.layer[1]));
  MTK_ASSERT(mtk_store_blob_has(s, b.manifest) && mtk_store_blob_has(s, b.layer[1]));
  MTK_ASSERT(!mtk_store_blob_has(s, c.manifest) && !mtk_store_blob_has(s, c.config));
  MTK_ASSERT(!mtk_store_blob_has(s, c.layer[0]));
  MTK_ASSERT(mtk_store_snapshot_has(s, a.layer[0]) && mtk_store_snapshot_has(s, ch));
  MTK_ASSERT(!mtk_store_snapshot_has(s, c.layer[0]));
  MTK_ASSERT(access(stale, F_OK) != 0 && access(stale_snap, F_OK) != 0);
  MTK_ASSERT_EQ(count_sub(s, "blobs/sha256"), 8);
  MTK_ASSERT(freed >= c.layer_size[0] + c.layer_size[1] + 5);
  struct mtk_store_image *imgs;
  size_t n;
  TRY(mtk_store_list(s, &imgs, &n, err));
  MTK_ASSERT_EQ(n, 2);
  mtk_store_images_free(imgs, n);
  /* Nothing in use any more: b goes too. */
  TRY(mtk_store_prune(s, NULL, 0, &freed, err));
  MTK_ASSERT(!mtk_store_blob_has(s, b.manifest));
  MTK_ASSERT_EQ(count_sub(s, "blobs/sha256"), 4);
  return 0;
}

/* Prune waits for a pull in progress (a lease) and so spares its blobs. */
static int test_prune_waits_for_lease(void)
{
  mtk_autofree char *r = fresh_root("lease");
  int ready[2];
  MTK_ASSERT(pipe(ready) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    struct mtk_store *s;
    struct img a;
    close(ready[0]);
    if (mtk_store_open(r, &s, NULL) < 0 || mtk_store_lease(s, NULL) < 0 ||
        make_image(s, "2024-01-01T00:00:00Z", 5, &a, NULL) < 0)
      _exit(2);
    close(ready[1]); /* blobs stored, not tagged yet */
    usleep(300 * 1000);
    if (mtk_store_tag(s, "late:1", a.manifest, NULL, -1, NULL) < 0)
      _exit(3);
    mtk_store_unlease(s);
    _exit(0);
  }
  close(ready[1]);
  char c;
  MTK_ASSERT(read(ready[0], &c, 1) == 0);
  close(ready[0]);
  mtk_autoptr(mtk_store) s = NULL;
  TRY(mtk_store_open(r, &s, err));
  TRY(mtk_store_prune(s, NULL, 0, NULL, err));
  int st;
  waitpid(pid, &st, 0);
  MTK_ASSERT(WIFEXITED(st));
  MTK_ASSERT_EQ(WEXITSTATUS(st), 0);
  MTK_ASSERT_EQ(count_sub(s, "blobs/sha256"), 4);
  mtk_autoptr(mtk_store_image) im = NULL;
  TRY(mtk_store_resolve(s, "late:1", &im, err));
  return 0;
}

#define DG(c) "\"sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c "\""
#define DESC(mt, c, size) "{\"mediaType\":\"" mt "\",\"digest\":" DG(c) ",\"size\":" #size

static int test_manifest_parse(void)
{
  static const char oci[] =
      "{\"schemaVersion\":2,\"config\":" DESC(MTK_MT_OCI_CONFIG, "aa", 10) "},\"layers\":[" DESC(
          MTK_MT_OCI_LAYER_GZIP, "bb", 20) ",\"urls\":[\"http://x/y\"]}],"
                                           "\"annotations\":{\"k\":\"v\"}}";
  mtk_autoptr(mtk_manifest) m = NULL;
  struct mtk_manifest *bad = NULL; /* stays NULL: every use fails */
  /* No mediaType field (umoci): the Content-Type decides, parameters ignored. */
  TRY(mtk_manifest_parse(oci, strlen(oci), MTK_MT_OCI_MANIFEST "; charset=utf-8", &m, err));
  MTK_ASSERT_EQ(m->kind, MTK_MANIFEST_IMAGE);
  MTK_ASSERT_STREQ(m->media_type, MTK_MT_OCI_MANIFEST);
  MTK_ASSERT_EQ(m->config.size, 10);
  MTK_ASSERT_EQ(m->n_layers, 1);
  MTK_ASSERT_STREQ(m->layers[0].urls[0], "http://x/y");
  MTK_ASSERT_STREQ(mtk_layer_compression(m->layers[0].media_type), "gzip");
  MTK_ASSERT_STREQ(json_string_value(json_object_get(m->annotations, "k")), "v");
  FAILS(mtk_manifest_parse(oci, strlen(oci), NULL, &bad, err), "no mediaType");
  static const char docker[] =
      "{\"schemaVersion\":2,\"mediaType\":\"" MTK_MT_DOCKER_MANIFEST
      "\",\"config\":" DESC(MTK_MT_DOCKER_CONFIG, "aa", 10) "},\"layers\":[]}";
  mtk_manifest_free(mtk_steal_ptr(&m));
  TRY(mtk_manifest_parse(docker, strlen(docker), "application/json", &m, err));
  MTK_ASSERT_STREQ(m->media_type, MTK_MT_DOCKER_MANIFEST);
  FAILS(mtk_manifest_parse(docker, strlen(docker), MTK_MT_OCI_MANIFEST, &bad, err),
        "does not match the Content-Type");
  static const char both[] = "{\"schemaVersion\":2,\"mediaType\":\"" MTK_MT_OCI_INDEX "\","
                             "\"manifests\":[],\"layers\":[]}";
  FAILS(mtk_manifest_parse(both, strlen(both), NULL, &bad, err), "CVE-2021-41190");
  static const char v1[] = "{\"schemaVersion\":1,\"name\":\"x\"}";
  FAILS(mtk_manifest_parse(v1, strlen(v1),
                           "application/vnd.docker.distribution.manifest.v1+prettyjws", &bad, err),
        "schema 1");
  static const char *const bad_digests[] = {"sha256:../../etc/passwd", "sha256:ABCD",
                                            "md5:d41d8cd98f00b204e9800998ecf8427e",
                                            "sha256:%2e%2e"};
  for (size_t i = 0; i < 4; i++) {
    mtk_autofree char *doc = mtk_xasprintf(
        "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":\"%s\","
        "\"digest\":\"%s\",\"size\":1}]}",
        MTK_MT_OCI_INDEX, MTK_MT_OCI_MANIFEST, bad_digests[i]);
    FAILS(mtk_manifest_parse(doc, strlen(doc), NULL, &bad, err), "invalid digest");
  }
  static const char dup[] = "{\"schemaVersion\":2,\"schemaVersion\":2}";
  FAILS(mtk_manifest_parse(dup, strlen(dup), MTK_MT_OCI_INDEX, &bad, err), "invalid JSON");
  static const char neg[] =
      "{\"schemaVersion\":2,\"config\":" DESC(MTK_MT_OCI_CONFIG, "aa", -1) "},\"layers\":[]}";
  FAILS(mtk_manifest_parse(neg, strlen(neg), MTK_MT_OCI_MANIFEST, &bad, err), "size >= 0");
  MTK_ASSERT(mtk_layer_compression(MTK_MT_OCI_LAYER_ZSTD)[0] == 'z');
  MTK_ASSERT(mtk_layer_compression(MTK_MT_OCI_LAYER)[0] == '\0');
  MTK_ASSERT(mtk_layer_compression("application/vnd.in-toto+json") == NULL);
  return 0;
}

struct entry {
  const char *mt, *os, *arch, *variant;
};

/* An index whose entry i has the digest sha256:<%02x of i+1, 32 times>. */
static char *make_index(const char *type, const struct entry *e, size_t n)
{
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) {
    char d[MTK_DIGEST_SIZE] = "sha256:";
    for (int k = 0; k < 32; k++)
      snprintf(d + 7 + 2 * k, 3, "%02x", (unsigned) (i + 1) & 0xffu);
    json_t *plat = json_pack("{s:s,s:s}", "os", e[i].os, "architecture", e[i].arch);
    if (e[i].variant)
      json_object_set_new(plat, "variant", json_string(e[i].variant));
    json_array_append_new(list, json_pack("{s:s,s:s,s:i,s:o}", "mediaType", e[i].mt, "digest", d,
                                          "size", 100, "platform", plat));
  }
  json_t *doc =
      json_pack("{s:i,s:s,s:o}", "schemaVersion", 2, "mediaType", type, "manifests", list);
  char *text = json_dumps(doc, 0);
  json_decref(doc);
  return text;
}

#define M MTK_MT_OCI_MANIFEST
static const struct entry index_entries[] = {
    {M, "unknown", "unknown", NULL},                                  /* 01: attestation */
    {"application/vnd.example.unknown+json", "linux", "amd64", NULL}, /* 02: not an image */
    {M, "linux", "arm", "v6"},
    {M, "linux", "amd64", NULL},
    {M, "linux", "arm64", "v8"},
    {M, "linux", "arm", "v7"},
    {M, "linux", "amd64", NULL},
    {M, "linux", "amd64", "v2"},
    {M, "windows", "amd64", NULL},
};

/* The two-hex-digit number of the entry picked for platform, "--" for none. */
static int pick(const struct mtk_manifest *idx, const char *platform, char *out)
{
  const struct mtk_descriptor *d;
  int r = mtk_platform_match(idx, platform, &d, NULL);
  snprintf(out, 3, "%.2s", r < 0 ? "--" : d->digest + 7);
  return r;
}

static int test_platform_match(void)
{
  mtk_autoptr(mtk_manifest) idx = NULL;
  mtk_autofree char *index_doc = make_index(MTK_MT_OCI_INDEX, index_entries, 9);
  TRY(mtk_manifest_parse(index_doc, strlen(index_doc), NULL, &idx, err));
  MTK_ASSERT_EQ(idx->kind, MTK_MANIFEST_INDEX);
  MTK_ASSERT_EQ(idx->n_manifests, 9);
  static const struct {
    const char *want, *got;
  } t[] = {
      {"linux/amd64", "04"}, /* unknown media type (02) skipped, first of equals */
      {"linux/x86_64", "04"},   {"linux/amd64/v3", "08"}, /* v3 -> v2 before v1 */
      {"linux/amd64/v2", "08"}, {"linux/arm64", "05"},    {"linux/aarch64", "05"},
      {"linux/arm64/v8", "05"}, {"linux/arm", "06"},      {"linux/arm/v7", "06"},
      {"linux/armhf", "06"},    {"linux/arm/v6", "03"},   {"linux/armel", "03"},
      {"linux/386", "--"},      {"linux/arm/v5", "--"},   {"windows/amd64", "09"},
      {"linux/riscv64", "--"},
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    char got[3];
    pick(idx, t[i].want, got);
    if (strcmp(got, t[i].got) != 0) {
      printf("#   %s: picked %s, want %s\n", t[i].want, got, t[i].got);
      return 1;
    }
  }
  const struct mtk_descriptor *d;
  FAILS(mtk_platform_match(idx, "linux/386", &d, err),
        "no matching manifest for linux/386 in the manifest list entries (available: "
        "linux/arm/v6, linux/amd64, linux/arm64/v8, linux/arm/v7");
  FAILS(mtk_platform_match(idx, "linux/arm64/v8/x", &d, err), "invalid platform");
  FAILS(mtk_platform_match(idx, "linux//amd64", &d, err), "invalid platform");
  /* The host (NULL) picks its own architecture. */
  struct mtk_platform host;
  mtk_platform_host(&host);
  if (mtk_platform_match(idx, NULL, &d, NULL) == 0) {
    struct mtk_platform p = {0};
    p.os = mtk_xstrdup(d->platform->os);
    p.architecture = mtk_xstrdup(d->platform->architecture);
    mtk_platform_normalize(&p);
    MTK_ASSERT_STREQ(p.architecture, host.architecture);
    mtk_platform_free(&p);
  }
  mtk_platform_free(&host);
  /* An arm64 host falls back to arm/v7 when there is no arm64 image. */
  static const struct entry arm_entries[] = {{M, "linux", "arm", NULL}, {M, "linux", "arm", "v8"}};
  mtk_autofree char *armonly = make_index(MTK_MT_DOCKER_LIST, arm_entries, 2);
  mtk_autoptr(mtk_manifest) arm = NULL;
  TRY(mtk_manifest_parse(armonly, strlen(armonly), NULL, &arm, err));
  char got[3];
  MTK_ASSERT_EQ(pick(arm, "linux/arm64", got), 0);
  MTK_ASSERT_STREQ(got, "02");
  MTK_ASSERT_EQ(pick(arm, "linux/arm/v7", got), 0);
  MTK_ASSERT_STREQ(got, "01");
  struct mtk_platform p;
  TRY(mtk_platform_parse("Linux/AMD64/v1", &p, err));
  mtk_autofree char *f = mtk_platform_format(&p);
  MTK_ASSERT_STREQ(f, "linux/amd64");
  mtk_platform_free(&p);
  return 0;
}

static int test_config_parse(void)
{
  static const char cfg[] =
      "{\"created\":\"2023-11-14T22:13:20Z\",\"architecture\":\"amd64\",\"os\":\"linux\","
      "\"config\":{\"Env\":[\"PATH=/usr/bin\"],\"Entrypoint\":null,\"Cmd\":[\"python3\"],"
      "\"WorkingDir\":\"/app\",\"User\":\"app\",\"Labels\":{\"a\":\"b\"}},"
      "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" DG("cc") "]},\"history\":[]}";
  mtk_autoptr(mtk_image_config) c = NULL;
  TRY(mtk_image_config_parse(cfg, strlen(cfg), &c, err));
  MTK_ASSERT_EQ(c->created_unix, 1700000000);
  MTK_ASSERT_EQ(c->n_diff_ids, 1);
  MTK_ASSERT_STREQ(c->env[0], "PATH=/usr/bin");
  MTK_ASSERT(c->entrypoint == NULL);
  MTK_ASSERT_EQ(c->n_cmd, 1);
  MTK_ASSERT_STREQ(c->working_dir, "/app");
  MTK_ASSERT_STREQ(c->user, "app");
  MTK_ASSERT_STREQ(json_string_value(json_object_get(json_object_get(c->config, "Labels"), "a")),
                   "b");
  static const char *const bad[] = {
      "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:abc\"]}}",
      "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"Env\":[1]}}",
      "{\"rootfs\":{\"type\":\"other\",\"diff_ids\":[]}}",
      "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{\"User\":0}}",
      "[]",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    mtk_autoptr(mtk_image_config) x = NULL;
    FAILS(mtk_image_config_parse(bad[i], strlen(bad[i]), &x, err), "image config");
  }
  MTK_ASSERT_EQ(mtk_image_time_parse("1970-01-01T00:00:00Z"), 0);
  MTK_ASSERT_EQ(mtk_image_time_parse("2023-11-14T23:13:20.5+01:00"), 1700000000);
  MTK_ASSERT_EQ(mtk_image_time_parse("2023-11-14 22:13:20"), -1);
  MTK_ASSERT_EQ(mtk_image_time_parse("2023-11-14T22:13:20Zjunk"), -1);
  return 0;
}

int main(void)
{
  if (mkdtemp(root) == NULL)
    return 1;
  static const struct mtk_test tests[] = {
      {"open creates an OCI layout and refuses an unknown version", test_open_layout},
      {"blobs: put, read (verified), open, damaged blob refused", test_blobs},
      {"writer refuses wrong digest, wrong size, over-limit; nothing left",
       test_writer_refuses_bad_content},
      {"a full tmpfs fails cleanly with ENOSPC and leaves nothing", test_full_disk},
      {"two forked writers of one image: both succeed, one copy", test_two_writers},
      {"tag, move, untag, remove; resolve by name, digest, ID, prefix", test_tags_and_resolve},
      {"snapshots: chain IDs, concurrent commit, abort, hostile trees", test_snapshots},
      {"prune keeps tagged and in-use images, removes the rest and stale temps", test_prune},
      {"prune waits for a lease and spares a pull in progress", test_prune_waits_for_lease},
      {"manifest parsing: types, CVE-2021-41190, digests", test_manifest_parse},
      {"platform matching as containerd's default matcher", test_platform_match},
      {"image config parsing", test_config_parse},
      {NULL, NULL},
  };
  int r = mtk_test_main(tests);
  mtk_store_remove_tree(AT_FDCWD, root, NULL, NULL);
  return r;
}
