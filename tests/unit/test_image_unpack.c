/* Unit tests for layer unpacking (src/image/unpack*.c): real files in a temporary directory,
 * layers built with libarchive's writer (or byte by byte for headers the writer will not
 * produce), every hostile input of design/SECURITY.md §3.1-3.6 that applies, each checked to
 * be refused or contained: a canary directory beside the snapshot root must stay untouched.
 * Also the legitimate cases naive extractors break (lib -> usr/lib, absolute symlink targets,
 * hardlinks, whiteouts of lower files), both whiteout modes, gzip/zstd/plain, and the DiffID
 * checked against sha256sum(1) of the uncompressed tar (decompressed by gzip(1)/zstd(1)). */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/unpack.h"
#include "tap.h"
#include "util/cleanup.h"

/* One tar entry for the writer; zero fields take defaults (0644 files, 0755 dirs). */
struct ent {
  const char *name;
  mode_t type; /* AE_IFREG (default), AE_IFDIR, AE_IFLNK, AE_IFCHR, ... */
  mode_t perm;
  const char *link;     /* symlink target */
  const char *hardlink; /* hardlink target */
  const char *data;     /* file content */
  int64_t uid, gid;
  int64_t mtime;
  unsigned maj, min;
  const char *xattrs[6]; /* name, value pairs */
};

static void write_ent(struct archive *a, const struct ent *x)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, x->name);
  mode_t type = x->type ? x->type : AE_IFREG;
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, x->perm ? x->perm : type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_uid(e, x->uid);
  archive_entry_set_gid(e, x->gid);
  archive_entry_set_mtime(e, x->mtime ? x->mtime : 1700000000, 0);
  if (x->link)
    archive_entry_set_symlink(e, x->link);
  if (x->hardlink)
    archive_entry_set_hardlink(e, x->hardlink);
  if (x->maj || x->min)
    archive_entry_set_rdev(e, makedev(x->maj, x->min));
  for (int i = 0; i < 6 && x->xattrs[i]; i += 2)
    archive_entry_xattr_add_entry(e, x->xattrs[i], x->xattrs[i + 1], strlen(x->xattrs[i + 1]));
  size_t len = x->data ? strlen(x->data) : 0;
  archive_entry_set_size(e, type == AE_IFREG && !x->hardlink ? (int64_t) len : 0);
  if (archive_write_header(a, e) < ARCHIVE_WARN)
    fprintf(stderr, "write_header %s: %s\n", x->name, archive_error_string(a));
  if (len && type == AE_IFREG && !x->hardlink)
    archive_write_data(a, x->data, len);
  archive_entry_free(e);
}

/* Writes a layer to path; filter 0 (plain), 'g' (gzip) or 'z' (zstd). */
static void make_layer(const char *path, char filter, const struct ent *ents)
{
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (filter == 'g')
    archive_write_add_filter_gzip(a);
  else if (filter == 'z')
    archive_write_add_filter_zstd(a);
  if (archive_write_open_filename(a, path) != ARCHIVE_OK)
    fprintf(stderr, "open %s: %s\n", path, archive_error_string(a));
  for (; ents->name; ents++)
    write_ent(a, ents);
  archive_write_close(a);
  archive_write_free(a);
}
#define LAYER(path, filter, ...) make_layer(path, filter, (const struct ent[]){__VA_ARGS__, {0}})

/* A hand-made ustar header + data (padded), for entries libarchive's writer refuses to write. */
static size_t raw_entry(unsigned char *buf, const char *name, char type, const char *linkname,
                        const char *data, size_t len)
{
  memset(buf, 0, 512);
  memcpy(buf, name, strnlen(name, 100));
  snprintf((char *) buf + 100, 8, "%07o", 0644);
  snprintf((char *) buf + 108, 8, "%07o", 0);
  snprintf((char *) buf + 116, 8, "%07o", 0);
  snprintf((char *) buf + 124, 12, "%011zo", len);
  snprintf((char *) buf + 136, 12, "%011o", 1700000000);
  buf[156] = (unsigned char) type;
  if (linkname)
    memcpy(buf + 157, linkname, strnlen(linkname, 100));
  memcpy(buf + 257, "ustar", 6);
  memcpy(buf + 263, "00", 2);
  memset(buf + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++)
    sum += buf[i];
  snprintf((char *) buf + 148, 8, "%06o", sum);
  size_t padded = (len + 511) / 512 * 512;
  memset(buf + 512, 0, padded);
  if (len)
    memcpy(buf + 512, data, len);
  return 512 + padded;
}

static int write_file(const char *path, const void *data, size_t len)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return -1;
  ssize_t n = write(fd, data, len);
  close(fd);
  return n == (ssize_t) len ? 0 : -1;
}

/* A temporary directory holding the snapshot root and, beside it, the canary. */
struct box {
  char dir[64];  /* /tmp/mtk-unpack-XXXXXX */
  char root[96]; /* dir/root */
  char out[96];  /* dir/out: the canary, must stay untouched */
  struct stat out_st;
};

static int box_init(struct box *b)
{
  snprintf(b->dir, sizeof(b->dir), "/tmp/mtk-unpack-XXXXXX");
  if (!mkdtemp(b->dir))
    return -1;
  snprintf(b->root, sizeof(b->root), "%s/root", b->dir);
  snprintf(b->out, sizeof(b->out), "%s/out", b->dir);
  mkdir(b->root, 0755);
  mkdir(b->out, 0700);
  char keep[128];
  snprintf(keep, sizeof(keep), "%s/keep", b->out);
  write_file(keep, "canary", 6);
  return stat(b->out, &b->out_st);
}

static void box_free(struct box *b)
{
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", b->dir, b->dir);
  if (system(cmd) != 0)
    fprintf(stderr, "# cleanup of %s failed\n", b->dir);
}

static char *bpath(const struct box *b, const char *rel)
{
  return mtk_xasprintf("%s/%s", b->dir, rel);
}

/* True when the canary is untouched and nothing but root/, out/ and layers sits beside it. */
static bool canary_ok(const struct box *b)
{
  struct stat st;
  if (stat(b->out, &st) < 0 || st.st_mode != b->out_st.st_mode ||
      st.st_mtim.tv_sec != b->out_st.st_mtim.tv_sec ||
      st.st_mtim.tv_nsec != b->out_st.st_mtim.tv_nsec || st.st_nlink != b->out_st.st_nlink)
    return false;
  DIR *d = opendir(b->out);
  struct dirent *de;
  int n = 0;
  while (d && (de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      n += strcmp(de->d_name, "keep") == 0 ? 1 : 100;
  if (d)
    closedir(d);
  d = opendir(b->dir);
  while (d && (de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "root") &&
        strcmp(de->d_name, "out") && !strstr(de->d_name, ".tar"))
      n += 100;
  if (d)
    closedir(d);
  char keep[128], buf[16] = {0};
  snprintf(keep, sizeof(keep), "%s/keep", b->out);
  int fd = open(keep, O_RDONLY);
  if (fd < 0 || read(fd, buf, sizeof(buf)) != 6 || strcmp(buf, "canary") != 0)
    n += 100;
  if (fd >= 0) {
    fstat(fd, &st);
    close(fd);
    if (st.st_nlink != 1 || (st.st_mode & 07777) != 0644)
      n += 100;
  }
  return n == 1;
}

/* Unpacks dir/<layer> into root; returns mtk_layer_unpack's result. */
static int unpack(const struct box *b, const char *layer, const struct mtk_unpack_opts *o,
                  char diff[72], struct mtk_err **err)
{
  mtk_autofree char *p = bpath(b, layer);
  mtk_autoclose int fd = open(p, O_RDONLY | O_CLOEXEC);
  mtk_autoclose int rfd = open(b->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || rfd < 0)
    return -100;
  char tmp[72];
  return mtk_layer_unpack(fd, rfd, o, diff ? diff : tmp, err);
}

/* Unpacks and expects an error of the given code whose message contains `needle`. */
static int expect_fail(const struct box *b, const char *layer, const struct mtk_unpack_opts *o,
                       int code, const char *needle)
{
  struct mtk_err *err = NULL;
  int r = unpack(b, layer, o, NULL, &err);
  if (r == 0 || !err) {
    printf("#   %s: unpack succeeded, expected \"%s\"\n", layer, needle);
    return 1;
  }
  printf("#   %s: %s\n", layer, err->msg);
  bool ok = err->code == code && strstr(err->msg, needle);
  if (!ok)
    printf("#   %s: expected code %d with \"%s\", got %d\n", layer, code, needle, err->code);
  mtk_err_free(&err);
  return ok ? 0 : 1;
}

static int expect_ok(const struct box *b, const char *layer, const struct mtk_unpack_opts *o,
                     char diff[72])
{
  struct mtk_err *err = NULL;
  if (unpack(b, layer, o, diff, &err) == 0)
    return 0;
  printf("#   %s: %s\n", layer, err ? err->msg : "(no error set)");
  mtk_err_free(&err);
  return 1;
}

/* lstat of root/rel: file type and mode, -1 when missing. */
static int rmode(const struct box *b, const char *rel, struct stat *st)
{
  struct stat tmp;
  mtk_autofree char *p = mtk_xasprintf("%s/%s", b->root, rel);
  return lstat(p, st ? st : &tmp) == 0 ? 0 : -1;
}

static char *rread(const struct box *b, const char *rel)
{
  mtk_autofree char *p = mtk_xasprintf("%s/%s", b->root, rel);
  char buf[256];
  int fd = open(p, O_RDONLY | O_NOFOLLOW);
  if (fd < 0)
    return mtk_xstrdup("(missing)");
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  buf[n < 0 ? 0 : n] = '\0';
  return mtk_xstrdup(buf);
}

static char *rlink(const struct box *b, const char *rel)
{
  mtk_autofree char *p = mtk_xasprintf("%s/%s", b->root, rel);
  char buf[256];
  ssize_t n = readlink(p, buf, sizeof(buf) - 1);
  buf[n < 0 ? 0 : n] = '\0';
  return mtk_xstrdup(n < 0 ? "(not a symlink)" : buf);
}

static char *shell_sha(const char *cmd)
{
  FILE *f = popen(cmd, "r");
  char buf[128] = {0};
  if (!f)
    return mtk_xstrdup("");
  if (!fgets(buf, sizeof(buf), f))
    buf[0] = '\0';
  pclose(f);
  buf[64] = '\0';
  return mtk_xasprintf("sha256:%s", buf);
}

#define BOX()                                                                                      \
  struct box b __attribute__((cleanup(box_free)));                                                 \
  MTK_ASSERT(box_init(&b) == 0)

#define L(rel) mtk_autofree char *rel##_path = bpath(&b, #rel ".tar")

/* --- legitimate layers --------------------------------------------------------------------- */

#define BASIC_ENTS                                                                                 \
  {.name = "usr/", .type = AE_IFDIR}, {.name = "usr/lib/", .type = AE_IFDIR},                      \
      {.name = "usr/lib/libc.so", .data = "ELF", .perm = 0755},                                    \
      {.name = "lib", .type = AE_IFLNK, .link = "usr/lib"}, {.name = "bin/sh", .data = "#!shell"}, \
      {.name = "bin/ash", .hardlink = "bin/sh"},                                                   \
  {                                                                                                \
    .name = "etc/abs", .type = AE_IFLNK, .link = "/usr/lib"                                        \
  }

/* The DiffID must equal sha256sum of the same entries written uncompressed and, when the
 * tool is installed, of the layer decompressed by gzip(1)/zstd(1). */
static int check_basic_layer(char filter, const char *tool)
{
  BOX();
  mtk_autofree char *lp = bpath(&b, "l.tar");
  mtk_autofree char *pp = bpath(&b, "plain.tar");
  LAYER(lp, filter, BASIC_ENTS);
  LAYER(pp, 0, BASIC_ENTS);
  char diff[72];
  MTK_ASSERT_EQ(expect_ok(&b, "l.tar", NULL, diff), 0);
  mtk_autofree char *cmd = mtk_xasprintf("sha256sum '%s'", pp);
  mtk_autofree char *want = shell_sha(cmd);
  MTK_ASSERT_STREQ(diff, want);
  mtk_autofree char *has = mtk_xasprintf("command -v %s >/dev/null", tool);
  if (strcmp(tool, "cat") != 0 && system(has) == 0) {
    mtk_autofree char *cmd2 = mtk_xasprintf("%s -dc '%s' | sha256sum", tool, lp);
    mtk_autofree char *want2 = shell_sha(cmd2);
    MTK_ASSERT_STREQ(diff, want2);
  }
  struct stat a, h;
  MTK_ASSERT(rmode(&b, "bin/sh", &a) == 0 && rmode(&b, "bin/ash", &h) == 0);
  MTK_ASSERT_EQ(a.st_ino, h.st_ino);
  MTK_ASSERT_EQ(a.st_nlink, 2);
  mtk_autofree char *c = rread(&b, "usr/lib/libc.so");
  MTK_ASSERT_STREQ(c, "ELF");
  mtk_autofree char *l1 = rlink(&b, "lib");
  mtk_autofree char *l2 = rlink(&b, "etc/abs");
  MTK_ASSERT_STREQ(l1, "usr/lib");
  MTK_ASSERT_STREQ(l2, "/usr/lib"); /* absolute targets kept as written */
  MTK_ASSERT(rmode(&b, "usr/lib/libc.so", &a) == 0 && (a.st_mode & 07777) == 0755);
  MTK_ASSERT_EQ(a.st_mtim.tv_sec, 1700000000);
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

static int test_plain(void)
{
  return check_basic_layer(0, "cat");
}

static int test_gzip(void)
{
  return check_basic_layer('g', "gzip");
}

static int test_zstd(void)
{
  return check_basic_layer('z', "zstd");
}

/* §3.2 9/10: lib -> usr/lib in one layer, lib/foo in the next lands in usr/lib/foo; an
 * absolute target is resolved in the root. */
static int test_merged_usr(void)
{
  BOX();
  L(l1);
  L(l2);
  LAYER(l1_path, 0, {.name = "usr/lib/", .type = AE_IFDIR},
        {.name = "lib", .type = AE_IFLNK, .link = "usr/lib"},
        {.name = "abs", .type = AE_IFLNK, .link = "/usr/lib"});
  LAYER(l2_path, 'g', {.name = "lib/foo", .data = "foo"}, {.name = "abs/bar", .data = "bar"},
        {.name = "lib/sub/deep", .data = "deep"});
  MTK_ASSERT_EQ(expect_ok(&b, "l1.tar", NULL, NULL), 0);
  MTK_ASSERT_EQ(expect_ok(&b, "l2.tar", NULL, NULL), 0);
  mtk_autofree char *f = rread(&b, "usr/lib/foo");
  mtk_autofree char *g = rread(&b, "usr/lib/bar");
  mtk_autofree char *d = rread(&b, "usr/lib/sub/deep");
  MTK_ASSERT_STREQ(f, "foo");
  MTK_ASSERT_STREQ(g, "bar");
  MTK_ASSERT_STREQ(d, "deep");
  struct stat st;
  MTK_ASSERT(rmode(&b, "lib", &st) == 0 && S_ISLNK(st.st_mode));
  MTK_ASSERT(rmode(&b, "abs", &st) == 0 && S_ISLNK(st.st_mode));
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

/* --- §3.1 entry names ---------------------------------------------------------------------- */

static int test_dotdot_names(void)
{
  BOX();
  static const char *const names[] = {"../evil", "a/../../evil", "./../evil", "/../out/keep",
                                      "../out/keep"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    L(l);
    LAYER(l_path, 0, {.name = "ok", .data = "1"}, {.name = names[i], .data = "pwned"});
    MTK_ASSERT_EQ(expect_fail(&b, "l.tar", NULL, MTK_E_INVALID, "climbs above the root"), 0);
    MTK_ASSERT(canary_ok(&b));
  }
  /* Lexical ".." that stays inside is fine. */
  L(l2);
  LAYER(l2_path, 0, {.name = "a/b/../c", .data = "c"});
  MTK_ASSERT_EQ(expect_ok(&b, "l2.tar", NULL, NULL), 0);
  mtk_autofree char *c = rread(&b, "a/c");
  MTK_ASSERT_STREQ(c, "c");
  return 0;
}

static int test_absolute_names(void)
{
  BOX();
  L(l);
  /* The canary's own absolute path as an entry name lands under the root. */
  mtk_autofree char *abs = mtk_xasprintf("%s/pwned", b.out);
  mtk_autofree char *abs2 = mtk_xasprintf("%s/keep", b.out);
  LAYER(l_path, 0, {.name = abs, .data = "x"}, {.name = abs2, .data = "y"},
        {.name = "/etc/passwd", .data = "root:x:0:0::/root:/bin/sh\n"});
  MTK_ASSERT_EQ(expect_ok(&b, "l.tar", NULL, NULL), 0);
  mtk_autofree char *inside = rread(&b, abs + 1);
  MTK_ASSERT_STREQ(inside, "x");
  mtk_autofree char *pw = rread(&b, "etc/passwd");
  MTK_ASSERT_CONTAINS(pw, "root:x:0:0");
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

/* §3.1 3 / §3.2 11: ".", "./", "/" are skipped and the root is not re-stated; a symlink or a
 * file that would replace the root is refused (CVE-2021-29136). */
static int test_root_entries(void)
{
  BOX();
  struct stat before, after;
  chmod(b.root, 0751);
  MTK_ASSERT(stat(b.root, &before) == 0);
  L(l);
  LAYER(l_path, 0, {.name = ".", .type = AE_IFDIR, .perm = 0777},
        {.name = "./", .type = AE_IFDIR, .perm = 0777},
        {.name = "/", .type = AE_IFDIR, .perm = 0777}, {.name = "f", .data = "f"});
  MTK_ASSERT_EQ(expect_ok(&b, "l.tar", NULL, NULL), 0);
  MTK_ASSERT(stat(b.root, &after) == 0);
  MTK_ASSERT_EQ(after.st_mode, before.st_mode);
  MTK_ASSERT_EQ(after.st_uid, before.st_uid);
  L(s1);
  LAYER(s1_path, 0, {.name = ".", .type = AE_IFLNK, .link = "/"});
  MTK_ASSERT_EQ(expect_fail(&b, "s1.tar", NULL, MTK_E_INVALID, "replace the snapshot root"), 0);
  L(s2);
  LAYER(s2_path, 0, {.name = "x/..", .type = AE_IFLNK, .link = b.out});
  MTK_ASSERT_EQ(expect_fail(&b, "s2.tar", NULL, MTK_E_INVALID, "replace the snapshot root"), 0);
  unsigned char buf[2048] = {0};
  size_t n = raw_entry(buf, "x/..", '0', NULL, "file", 4);
  mtk_autofree char *s3 = bpath(&b, "s3.tar");
  MTK_ASSERT(write_file(s3, buf, n + 1024) == 0);
  MTK_ASSERT_EQ(expect_fail(&b, "s3.tar", NULL, MTK_E_INVALID, "replace the snapshot root"), 0);
  n = raw_entry(buf, "", '2', "/", NULL, 0);
  mtk_autofree char *s4 = bpath(&b, "s4.tar");
  MTK_ASSERT(write_file(s4, buf, n + 1024) == 0);
  MTK_ASSERT_EQ(expect_fail(&b, "s4.tar", NULL, MTK_E_INVALID, "replace the snapshot root"), 0);
  MTK_ASSERT(stat(b.root, &after) == 0 && S_ISDIR(after.st_mode));
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

/* §3.1 4: 8-bit names stored verbatim (ustar header, no charset conversion). */
static int test_raw_bytes_name(void)
{
  BOX();
  unsigned char buf[4096] = {0};
  size_t n = raw_entry(buf, "caf\xe9-\\back", '0', NULL, "v", 1);
  n += 1024; /* end-of-archive marker */
  mtk_autofree char *p = bpath(&b, "l.tar");
  MTK_ASSERT(write_file(p, buf, n) == 0);
  MTK_ASSERT_EQ(expect_ok(&b, "l.tar", NULL, NULL), 0);
  mtk_autofree char *v = rread(&b, "caf\xe9-\\back");
  MTK_ASSERT_STREQ(v, "v");
  return 0;
}

/* §3.1 5, §3.6 33: long names and deep nesting. */
static int test_long_names(void)
{
  BOX();
  char comp[300];
  memset(comp, 'n', 299);
  comp[299] = '\0';
  mtk_autofree char *longcomp = mtk_xasprintf("d/%s", comp);
  L(l1);
  LAYER(l1_path, 0, {.name = longcomp, .data = "x"});
  MTK_ASSERT_EQ(expect_fail(&b, "l1.tar", NULL, ENAMETOOLONG, "nnnnnnnn"), 0);
  char *huge = mtk_xmalloc(5001);
  for (int i = 0; i < 2500; i++)
    memcpy(huge + 2 * i, "a/", 2);
  huge[4999] = 'z';
  huge[5000] = '\0';
  L(l2);
  LAYER(l2_path, 0, {.name = huge, .data = "x"});
  free(huge);
  MTK_ASSERT_EQ(expect_fail(&b, "l2.tar", NULL, MTK_E_INVALID, "above the 4095-byte limit"), 0);
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

/* 2000 nested directories (a path of 4000 bytes) unpack, and a whiteout in the next layer
 * removes the whole tree (deeper than the fds the remover holds). */
static int test_deep_nesting(void)
{
  BOX();
  enum { DEPTH = 2000 };
  char *deep = mtk_xmalloc(2 * DEPTH + 8);
  for (int i = 0; i < DEPTH; i++)
    memcpy(deep + 2 * i, "d/", 2);
  memcpy(deep + 2 * DEPTH, "f", 2);
  L(l1);
  LAYER(l1_path, 'g', {.name = deep, .data = "bottom"}, {.name = "keep", .data = "k"});
  MTK_ASSERT_EQ(expect_ok(&b, "l1.tar", NULL, NULL), 0);
  mtk_autofree char *got = rread(&b, deep);
  free(deep);
  MTK_ASSERT_STREQ(got, "bottom");
  L(l2);
  LAYER(l2_path, 0, {.name = ".wh.d"});
  MTK_ASSERT_EQ(expect_ok(&b, "l2.tar", NULL, NULL), 0);
  MTK_ASSERT(rmode(&b, "d", NULL) < 0);
  MTK_ASSERT(rmode(&b, "keep", NULL) == 0);
  return 0;
}

/* §3.1 6 / §3.2 14: duplicates: last wins by unlink-and-recreate; a directory entry after a
 * symlink to the canary replaces the symlink, the canary's mode is not changed. */
static int test_duplicates(void)
{
  BOX();
  L(l);
  LAYER(
      l_path, 0, {.name = "p", .data = "file"}, {.name = "p", .type = AE_IFDIR},
      {.name = "q", .type = AE_IFDIR}, {.name = "q", .type = AE_IFLNK, .link = "p"},
      {.name = "d", .type = AE_IFLNK, .link = b.out}, {.name = "d", .type = AE_IFDIR, .perm = 0777},
      {.name = "r", .type = AE_IFLNK, .link = b.out}, {.name = "r", .data = "plain", .perm = 0777});
  MTK_ASSERT_EQ(expect_ok(&b, "l.tar", NULL, NULL), 0);
  struct stat st;
  MTK_ASSERT(rmode(&b, "p", &st) == 0 && S_ISDIR(st.st_mode));
  MTK_ASSERT(rmode(&b, "q", &st) == 0 && S_ISLNK(st.st_mode));
  MTK_ASSERT(rmode(&b, "d", &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0777);
  MTK_ASSERT(rmode(&b, "r", &st) == 0 && S_ISREG(st.st_mode));
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

/* --- §3.2 symlinks ------------------------------------------------------------------------- */

static int test_symlink_escapes(void)
{
  BOX();
  /* link -> / then link/etc/shadow */
  L(a);
  LAYER(a_path, 0, {.name = "link", .type = AE_IFLNK, .link = "/"},
        {.name = "link/etc/shadow", .data = "s"});
  MTK_ASSERT_EQ(expect_ok(&b, "a.tar", NULL, NULL), 0);
  mtk_autofree char *s = rread(&b, "etc/shadow");
  MTK_ASSERT_STREQ(s, "s");
  /* relative climb to the canary, absolute host path of the canary, ".." */
  mtk_autofree char *climb = mtk_xasprintf("../../../../../../..%s", b.out);
  L(c);
  LAYER(c_path, 'z', {.name = "esc", .type = AE_IFLNK, .link = climb},
        {.name = "esc/pwned", .data = "p"}, {.name = "abs", .type = AE_IFLNK, .link = b.out},
        {.name = "abs/pwned2", .data = "p"}, {.name = "abs/keep", .data = "overwritten"},
        {.name = "up", .type = AE_IFLNK, .link = ".."}, {.name = "up/up/x", .data = "x"},
        {.name = "sub/up2", .type = AE_IFLNK, .link = "../../.."},
        {.name = "sub/up2/y", .data = "y"});
  MTK_ASSERT_EQ(expect_ok(&b, "c.tar", NULL, NULL), 0);
  MTK_ASSERT(canary_ok(&b));
  mtk_autofree char *in1 = mtk_xasprintf("%s/pwned", b.out + 1);
  mtk_autofree char *in2 = mtk_xasprintf("%s/keep", b.out + 1);
  mtk_autofree char *p1 = rread(&b, in1);
  mtk_autofree char *p2 = rread(&b, in2);
  mtk_autofree char *x = rread(&b, "x");
  mtk_autofree char *y = rread(&b, "y");
  MTK_ASSERT_STREQ(p1, "p");
  MTK_ASSERT_STREQ(p2, "overwritten");
  MTK_ASSERT_STREQ(x, "x");
  MTK_ASSERT_STREQ(y, "y");
  return 0;
}

static int test_symlink_chain_loop_magic(void)
{
  BOX();
  L(a);
  LAYER(a_path, 0, {.name = "c1", .type = AE_IFLNK, .link = "c2"},
        {.name = "c2", .type = AE_IFLNK, .link = "/c3/../c4"},
        {.name = "c4", .type = AE_IFLNK, .link = b.out}, {.name = "c3", .type = AE_IFDIR},
        {.name = "c1/chained", .data = "c"});
  MTK_ASSERT_EQ(expect_ok(&b, "a.tar", NULL, NULL), 0);
  mtk_autofree char *in = mtk_xasprintf("%s/chained", b.out + 1);
  mtk_autofree char *c = rread(&b, in);
  MTK_ASSERT_STREQ(c, "c");
  L(l);
  LAYER(l_path, 0, {.name = "la", .type = AE_IFLNK, .link = "lb"},
        {.name = "lb", .type = AE_IFLNK, .link = "la"}, {.name = "la/x", .data = "x"});
  MTK_ASSERT_EQ(expect_fail(&b, "l.tar", NULL, ELOOP, "\"la/x\""), 0);
  /* /proc/self/... inside the layer is just a path in the root, never the host's procfs. */
  mtk_autofree char *probe = mtk_xasprintf("p/mtk-unpack-probe-%d", (int) getpid());
  mtk_autofree char *hostprobe = mtk_xasprintf("/mtk-unpack-probe-%d", (int) getpid());
  L(m);
  LAYER(m_path, 0, {.name = "p", .type = AE_IFLNK, .link = "/proc/self/root"},
        {.name = probe, .data = "m"}, {.name = "fd", .type = AE_IFLNK, .link = "/proc/self/fd/3"},
        {.name = "fd/z", .data = "z"});
  struct mtk_err *err = NULL;
  int r = unpack(&b, "m.tar", NULL, NULL, &err);
  if (r < 0)
    printf("#   m.tar: %s\n", err->msg);
  mtk_err_free(&err);
  MTK_ASSERT(access(hostprobe, F_OK) < 0);
  mtk_autofree char *inside = mtk_xasprintf("proc/self/root/mtk-unpack-probe-%d", (int) getpid());
  MTK_ASSERT(r < 0 || rmode(&b, inside, NULL) == 0);
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

/* §3.2 15: mode/xattrs of a symlink entry never reach the target. */
static int test_symlink_metadata(void)
{
  BOX();
  L(l);
  LAYER(l_path, 0, {.name = "t", .data = "t", .perm = 0600},
        {.name = "s", .type = AE_IFLNK, .link = "t", .perm = 0777, .xattrs = {"user.x", "1"}},
        {.name = "o", .type = AE_IFLNK, .link = b.out, .perm = 0777, .uid = 4242});
  MTK_ASSERT_EQ(expect_ok(&b, "l.tar", NULL, NULL), 0);
  struct stat st;
  MTK_ASSERT(rmode(&b, "t", &st) == 0 && (st.st_mode & 07777) == 0600);
  mtk_autofree char *t = mtk_xasprintf("%s/t", b.root);
  MTK_ASSERT(getxattr(t, "user.x", NULL, 0) < 0);
  if (geteuid() == 0) {
    MTK_ASSERT(rmode(&b, "o", &st) == 0);
    MTK_ASSERT_EQ(st.st_uid, 4242);
  }
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

/* --- §3.3 hardlinks ------------------------------------------------------------------------ */

static int test_hardlink_escapes(void)
{
  BOX();
  struct stat host;
  MTK_ASSERT(stat("/etc/passwd", &host) == 0);
  L(a);
  LAYER(a_path, 0, {.name = "h", .hardlink = "/etc/passwd"});
  MTK_ASSERT_EQ(expect_fail(&b, "a.tar", NULL, MTK_E_INVALID, "does not exist"), 0);
  mtk_autofree char *rel = mtk_xasprintf("../out/keep");
  L(c);
  LAYER(c_path, 0, {.name = "h", .hardlink = rel});
  MTK_ASSERT_EQ(expect_fail(&b, "c.tar", NULL, MTK_E_INVALID, "climbs above the root"), 0);
  mtk_autofree char *abskeep = mtk_xasprintf("%s/keep", b.out);
  L(d);
  LAYER(d_path, 0, {.name = "h", .hardlink = abskeep});
  MTK_ASSERT_EQ(expect_fail(&b, "d.tar", NULL, MTK_E_INVALID, "does not exist"), 0);
  /* With /etc/passwd in the root, an absolute target links the root's file (kaniko style),
   * and a target reached through a symlink (link -> /etc) resolves in the root too. */
  L(e);
  LAYER(e_path, 0, {.name = "etc/passwd", .data = "inside"},
        {.name = "link", .type = AE_IFLNK, .link = "/etc"},
        {.name = "h1", .hardlink = "/etc/passwd"}, {.name = "h2", .hardlink = "link/passwd"});
  MTK_ASSERT_EQ(expect_ok(&b, "e.tar", NULL, NULL), 0);
  struct stat p, h1, h2, after;
  MTK_ASSERT(rmode(&b, "etc/passwd", &p) == 0 && rmode(&b, "h1", &h1) == 0);
  MTK_ASSERT(rmode(&b, "h2", &h2) == 0);
  MTK_ASSERT_EQ(h1.st_ino, p.st_ino);
  MTK_ASSERT_EQ(h2.st_ino, p.st_ino);
  MTK_ASSERT(stat("/etc/passwd", &after) == 0 && after.st_nlink == host.st_nlink);
  /* A hardlink to a symlink that escapes links the symlink itself; a later file entry of the
   * same name replaces the link, never writes through it. */
  L(f);
  LAYER(f_path, 0, {.name = "s", .type = AE_IFLNK, .link = abskeep},
        {.name = "hs", .hardlink = "s"}, {.name = "hs", .data = "replaced"});
  MTK_ASSERT_EQ(expect_ok(&b, "f.tar", NULL, NULL), 0);
  MTK_ASSERT(rmode(&b, "hs", &h1) == 0 && S_ISREG(h1.st_mode));
  MTK_ASSERT(rmode(&b, "s", &h1) == 0 && S_ISLNK(h1.st_mode));
  L(g);
  LAYER(g_path, 0, {.name = "s2", .type = AE_IFLNK, .link = abskeep},
        {.name = "hs2", .hardlink = "s2"});
  MTK_ASSERT_EQ(expect_ok(&b, "g.tar", NULL, NULL), 0);
  MTK_ASSERT(rmode(&b, "hs2", &h1) == 0 && S_ISLNK(h1.st_mode));
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

/* §3.3 18/19: hardlink to itself, to a directory, to a missing file; a hardlink entry with data
 * (CVE-2016-5418): the data is ignored, the target keeps its content. */
static int test_hardlink_bad(void)
{
  BOX();
  L(a);
  LAYER(a_path, 0, {.name = "f", .data = "original"}, {.name = "dir/", .type = AE_IFDIR});
  MTK_ASSERT_EQ(expect_ok(&b, "a.tar", NULL, NULL), 0);
  /* A hardlink to a file of a lower layer is legitimate. */
  L(lo);
  LAYER(lo_path, 0, {.name = "sub/lowerlink", .hardlink = "f"});
  MTK_ASSERT_EQ(expect_ok(&b, "lo.tar", NULL, NULL), 0);
  struct stat fst, lst;
  MTK_ASSERT(rmode(&b, "f", &fst) == 0 && rmode(&b, "sub/lowerlink", &lst) == 0);
  MTK_ASSERT_EQ(fst.st_ino, lst.st_ino);
  L(s);
  LAYER(s_path, 0, {.name = "f", .hardlink = "f"});
  MTK_ASSERT_EQ(expect_fail(&b, "s.tar", NULL, MTK_E_INVALID, "hardlink to itself"), 0);
  mtk_autofree char *f = rread(&b, "f");
  MTK_ASSERT_STREQ(f, "original");
  L(d);
  LAYER(d_path, 0, {.name = "hd", .hardlink = "dir"});
  MTK_ASSERT_EQ(expect_fail(&b, "d.tar", NULL, MTK_E_INVALID, "hardlink to a directory"), 0);
  L(m);
  LAYER(m_path, 0, {.name = "hm", .hardlink = "missing"});
  MTK_ASSERT_EQ(expect_fail(&b, "m.tar", NULL, MTK_E_INVALID, "does not exist"), 0);
  unsigned char buf[8192];
  size_t n = raw_entry(buf, "hl", '1', "f", "EVILDATA", 8);
  n += raw_entry(buf + n, "after", '0', NULL, "after", 5);
  memset(buf + n, 0, 1024);
  n += 1024;
  mtk_autofree char *p = bpath(&b, "w.tar");
  MTK_ASSERT(write_file(p, buf, n) == 0);
  struct mtk_err *err = NULL;
  int r = unpack(&b, "w.tar", NULL, NULL, &err);
  if (r < 0)
    printf("#   w.tar: %s\n", err->msg);
  mtk_err_free(&err);
  mtk_autofree char *f2 = rread(&b, "f");
  MTK_ASSERT_STREQ(f2, "original");
  mtk_autofree char *hl = rread(&b, "hl");
  MTK_ASSERT(r < 0 || strcmp(hl, "original") == 0);
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

/* --- §3.4 whiteouts ------------------------------------------------------------------------ */

static int test_whiteouts_flatten(void)
{
  BOX();
  L(l1);
  L(l2);
  LAYER(l1_path, 0, {.name = "a/f", .data = "f"}, {.name = "a/g", .data = "g"},
        {.name = "b/c/d", .data = "d"}, {.name = "o/old", .data = "o"},
        {.name = "o/sub/old2", .data = "o2"}, {.name = "n", .data = "lower"},
        {.name = "lnk", .type = AE_IFLNK, .link = b.out});
  /* The opaque marker comes after an entry of the same layer inside o: it survives. */
  LAYER(l2_path, 'g', {.name = "a/.wh.f"}, {.name = ".wh.b"}, {.name = "o/sub/new", .data = "new"},
        {.name = "o/.wh..wh..opq"}, {.name = "n", .data = "upper"}, {.name = ".wh.n"},
        {.name = "lnk/.wh.keep"}, {.name = "gone/.wh.x"});
  MTK_ASSERT_EQ(expect_ok(&b, "l1.tar", NULL, NULL), 0);
  MTK_ASSERT_EQ(expect_ok(&b, "l2.tar", NULL, NULL), 0);
  MTK_ASSERT(rmode(&b, "a/f", NULL) < 0);
  MTK_ASSERT(rmode(&b, "a/g", NULL) == 0);
  MTK_ASSERT(rmode(&b, "b", NULL) < 0);
  MTK_ASSERT(rmode(&b, "o/old", NULL) < 0);
  MTK_ASSERT(rmode(&b, "o/sub/old2", NULL) < 0);
  mtk_autofree char *nw = rread(&b, "o/sub/new");
  mtk_autofree char *n = rread(&b, "n");
  MTK_ASSERT_STREQ(nw, "new");
  MTK_ASSERT_STREQ(n, "upper"); /* a whiteout never hides its own layer's entry */
  MTK_ASSERT(rmode(&b, "gone", NULL) < 0);
  /* No whiteout file materialised anywhere. */
  MTK_ASSERT(rmode(&b, "a/.wh.f", NULL) < 0 && rmode(&b, ".wh.b", NULL) < 0);
  MTK_ASSERT(rmode(&b, "o/.wh..wh..opq", NULL) < 0 && rmode(&b, ".wh.n", NULL) < 0);
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

static int test_whiteouts_bad(void)
{
  BOX();
  L(l1);
  LAYER(l1_path, 0, {.name = "top", .data = "t"}, {.name = "dir/x", .data = "x"});
  MTK_ASSERT_EQ(expect_ok(&b, "l1.tar", NULL, NULL), 0);
  static const char *const bad[] = {".wh.",       ".wh..",    ".wh..wh.",
                                    "dir/.wh...", "dir/.wh.", "dir/.wh..wh.plnk"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    L(w);
    LAYER(w_path, 0, {.name = bad[i]});
    MTK_ASSERT_EQ(expect_fail(&b, "w.tar", NULL, MTK_E_INVALID, "whiteout"), 0);
    MTK_ASSERT(rmode(&b, "top", NULL) == 0 && rmode(&b, "dir/x", NULL) == 0);
  }
  /* A whiteout name used as a directory, and root-level AUFS metadata (skipped). */
  L(u);
  LAYER(u_path, 0, {.name = ".wh.dir/x", .data = "x"});
  MTK_ASSERT_EQ(expect_fail(&b, "u.tar", NULL, MTK_E_INVALID, "whiteout name"), 0);
  L(m);
  struct mtk_unpack_stats st = {0};
  struct mtk_unpack_opts o = {.stats = &st};
  LAYER(m_path, 0, {.name = ".wh..wh.plnk/", .type = AE_IFDIR}, {.name = ".wh..wh.plnk/1.2"},
        {.name = ".wh..wh.aufs"});
  MTK_ASSERT_EQ(expect_ok(&b, "m.tar", &o, NULL), 0);
  MTK_ASSERT_EQ(st.skipped_meta, 3);
  MTK_ASSERT(rmode(&b, ".wh..wh.plnk", NULL) < 0);
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

static int test_whiteouts_overlay(void)
{
  if (geteuid() != 0)
    return 77; /* trusted.* xattrs and whiteout devices */
  BOX();
  L(l);
  struct mtk_unpack_opts o = {.mode = MTK_UNPACK_OVERLAY};
  LAYER(l_path, 0, {.name = "a/", .type = AE_IFDIR}, {.name = "a/.wh.f"},
        {.name = "o/.wh..wh..opq"}, {.name = "o/new", .data = "n"}, {.name = ".wh.x"},
        {.name = "x/", .type = AE_IFDIR}, {.name = "y/", .type = AE_IFDIR}, {.name = ".wh.y"},
        {.name = "z", .data = "z"}, {.name = ".wh.z"},
        {.name = "t", .data = "t", .xattrs = {"trusted.overlay.opaque", "y"}});
  MTK_ASSERT_EQ(expect_ok(&b, "l.tar", &o, NULL), 0);
  struct stat st;
  MTK_ASSERT(rmode(&b, "a/f", &st) == 0 && S_ISCHR(st.st_mode));
  MTK_ASSERT_EQ(st.st_rdev, makedev(0, 0));
  char v[8] = {0};
  mtk_autofree char *od = mtk_xasprintf("%s/o", b.root);
  mtk_autofree char *xd = mtk_xasprintf("%s/x", b.root);
  mtk_autofree char *yd = mtk_xasprintf("%s/y", b.root);
  mtk_autofree char *td = mtk_xasprintf("%s/t", b.root);
  MTK_ASSERT_EQ(getxattr(od, "trusted.overlay.opaque", v, sizeof(v)), 1);
  MTK_ASSERT_EQ(v[0], 'y');
  MTK_ASSERT_EQ(getxattr(xd, "trusted.overlay.opaque", v, sizeof(v)), 1);
  MTK_ASSERT_EQ(getxattr(yd, "trusted.overlay.opaque", v, sizeof(v)), 1);
  MTK_ASSERT(getxattr(td, "trusted.overlay.opaque", v, sizeof(v)) < 0);
  MTK_ASSERT(rmode(&b, "o/new", NULL) == 0);
  MTK_ASSERT(rmode(&b, "z", &st) == 0 && S_ISREG(st.st_mode));
  MTK_ASSERT(rmode(&b, "x", &st) == 0 && S_ISDIR(st.st_mode));
  MTK_ASSERT(rmode(&b, "a/.wh.f", NULL) < 0 && rmode(&b, "o/.wh..wh..opq", NULL) < 0);
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

/* --- §3.5 special files and metadata ------------------------------------------------------- */

static int test_devices(void)
{
  BOX();
  L(l);
  struct mtk_unpack_stats st = {0};
  struct mtk_unpack_opts o = {.rootless = true, .stats = &st};
  LAYER(l_path, 0, {.name = "dev/null", .type = AE_IFCHR, .perm = 0666, .maj = 1, .min = 3},
        {.name = "dev/sda", .type = AE_IFBLK, .perm = 0660, .maj = 8, .min = 0},
        {.name = "run/fifo", .type = AE_IFIFO, .perm = 0620});
  MTK_ASSERT_EQ(expect_ok(&b, "l.tar", &o, NULL), 0);
  MTK_ASSERT_EQ(st.skipped_devices, 2);
  MTK_ASSERT(rmode(&b, "dev/null", NULL) < 0);
  struct stat s;
  MTK_ASSERT(rmode(&b, "run/fifo", &s) == 0 && S_ISFIFO(s.st_mode) && (s.st_mode & 0777) == 0620);
  if (geteuid() != 0)
    return 0;
  box_free(&b);
  MTK_ASSERT(box_init(&b) == 0);
  mtk_autofree char *l2 = bpath(&b, "l.tar");
  LAYER(l2, 0, {.name = "dev/null", .type = AE_IFCHR, .perm = 0666, .maj = 1, .min = 3},
        {.name = "dev/sda", .type = AE_IFBLK, .perm = 0660, .maj = 8, .min = 0});
  MTK_ASSERT_EQ(expect_ok(&b, "l.tar", NULL, NULL), 0);
  MTK_ASSERT(rmode(&b, "dev/null", &s) == 0 && S_ISCHR(s.st_mode));
  MTK_ASSERT_EQ(s.st_rdev, makedev(1, 3));
  MTK_ASSERT_EQ(s.st_mode & 0777, 0666);
  MTK_ASSERT(rmode(&b, "dev/sda", &s) == 0 && S_ISBLK(s.st_mode));
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

static int test_metadata(void)
{
  BOX();
  /* A valid VFS_CAP_REVISION_2 value: cap_net_bind_service permitted+effective. */
  static const char cap[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04};
  L(l);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_filename(a, l_path);
  write_ent(a, &(struct ent){.name = "bin/su",
                             .data = "su",
                             .perm = 04755,
                             .uid = 1000,
                             .gid = 1000,
                             .mtime = 1234567890,
                             .xattrs = {"user.note", "hello", "trusted.evil", "x",
                                        "security.selinux", "system_u"}});
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "bin/ping");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0755);
  archive_entry_xattr_add_entry(e, "security.capability", cap, sizeof(cap));
  archive_entry_set_size(e, 0);
  archive_write_header(a, e);
  archive_entry_free(e);
  write_ent(a, &(struct ent){.name = "big", .data = "u", .uid = 2147483648LL, .gid = 1});
  write_ent(a, &(struct ent){.name = "old/", .type = AE_IFDIR, .perm = 0555, .mtime = 1000000000});
  write_ent(a, &(struct ent){.name = "old/inner", .data = "i", .mtime = -100});
  write_ent(a, &(struct ent){.name = "ln", .type = AE_IFLNK, .link = "old", .mtime = 1111111111});
  archive_write_close(a);
  archive_write_free(a);
  MTK_ASSERT_EQ(expect_ok(&b, "l.tar", NULL, NULL), 0);
  struct stat st;
  bool root = geteuid() == 0;
  MTK_ASSERT(rmode(&b, "bin/su", &st) == 0);
  MTK_ASSERT_EQ(st.st_mode & 07777, root ? 04755 : 0755);
  MTK_ASSERT_EQ(st.st_mtim.tv_sec, 1234567890);
  if (root) {
    MTK_ASSERT_EQ(st.st_uid, 1000);
    MTK_ASSERT(rmode(&b, "big", &st) == 0);
    MTK_ASSERT_EQ(st.st_uid, 2147483648U);
  }
  mtk_autofree char *su = mtk_xasprintf("%s/bin/su", b.root);
  mtk_autofree char *ping = mtk_xasprintf("%s/bin/ping", b.root);
  char v[64] = {0};
  MTK_ASSERT_EQ(getxattr(su, "user.note", v, sizeof(v)), 5);
  MTK_ASSERT_STREQ(v, "hello");
  MTK_ASSERT(getxattr(su, "trusted.evil", v, sizeof(v)) < 0 && errno == ENODATA);
  MTK_ASSERT(getxattr(su, "security.selinux", v, sizeof(v)) < 0);
  if (root)
    MTK_ASSERT_EQ(getxattr(ping, "security.capability", v, sizeof(v)), 20);
  MTK_ASSERT(rmode(&b, "old", &st) == 0);
  MTK_ASSERT_EQ(st.st_mode & 07777, 0555);
  MTK_ASSERT_EQ(st.st_mtim.tv_sec, 1000000000); /* deferred: not bumped by old/inner */
  MTK_ASSERT(rmode(&b, "old/inner", &st) == 0);
  MTK_ASSERT_EQ(st.st_mtim.tv_sec, -100);
  MTK_ASSERT(rmode(&b, "ln", &st) == 0 && S_ISLNK(st.st_mode));
  MTK_ASSERT_EQ(st.st_mtim.tv_sec, 1111111111);
  /* uid 2^32-1 means "unchanged" to chown: refused. */
  L(u);
  LAYER(u_path, 0, {.name = "u", .data = "u", .uid = 4294967295LL});
  MTK_ASSERT_EQ(expect_fail(&b, "u.tar", NULL, MTK_E_INVALID, "out of range"), 0);
  /* Rootless: set-id bits go with the ownership. */
  L(r);
  LAYER(r_path, 0, {.name = "r", .data = "r", .perm = 06755, .uid = 1000});
  struct mtk_unpack_opts o = {.rootless = true};
  MTK_ASSERT_EQ(expect_ok(&b, "r.tar", &o, NULL), 0);
  MTK_ASSERT(rmode(&b, "r", &st) == 0);
  MTK_ASSERT_EQ(st.st_mode & 07777, 0755);
  MTK_ASSERT_EQ(st.st_uid, geteuid());
  return 0;
}

/* --- §3.6 size and resource bombs, truncation ---------------------------------------------- */

/* 48 MiB of 'A' compressed to a few KiB: one file over the cap is refused from its header;
 * six files each under the cap are stopped by the stream count once the total passes it. */
static int check_bomb(char filter)
{
  BOX();
  L(l);
  L(m);
  size_t n = 48 << 20;
  char *bytes = mtk_xcalloc(1, n + 1);
  memset(bytes, 'A', n);
  LAYER(l_path, filter, {.name = "bomb", .data = bytes});
  bytes[8 << 20] = '\0';
  LAYER(m_path, filter, {.name = "b1", .data = bytes}, {.name = "b2", .data = bytes},
        {.name = "b3", .data = bytes}, {.name = "b4", .data = bytes}, {.name = "b5", .data = bytes},
        {.name = "b6", .data = bytes});
  free(bytes);
  struct stat st;
  MTK_ASSERT(stat(l_path, &st) == 0 && st.st_size < (1 << 20));
  MTK_ASSERT(stat(m_path, &st) == 0 && st.st_size < (1 << 20));
  struct mtk_unpack_opts o = {.max_bytes = 20 << 20};
  MTK_ASSERT_EQ(expect_fail(&b, "l.tar", &o, MTK_E_INVALID, "above the 20971520-byte limit"), 0);
  MTK_ASSERT(rmode(&b, "bomb", NULL) < 0);
  MTK_ASSERT_EQ(expect_fail(&b, "m.tar", &o, MTK_E_INVALID, "decompression bomb"), 0);
  MTK_ASSERT(rmode(&b, "b3", &st) < 0 || st.st_size <= (20 << 20));
  MTK_ASSERT(rmode(&b, "b4", NULL) < 0);
  return 0;
}

static int test_gzip_bomb(void)
{
  return check_bomb('g');
}

static int test_zstd_bomb(void)
{
  return check_bomb('z');
}

static int test_caps(void)
{
  BOX();
  L(l);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_filename(a, l_path);
  for (int i = 0; i < 100; i++) {
    char name[32];
    snprintf(name, sizeof(name), "f%d", i);
    write_ent(a, &(struct ent){.name = name, .data = "x"});
  }
  archive_write_close(a);
  archive_write_free(a);
  struct mtk_unpack_opts o = {.max_entries = 50};
  MTK_ASSERT_EQ(expect_fail(&b, "l.tar", &o, MTK_E_INVALID, "more than 50 entries"), 0);
  /* A header declaring an 8 GiB file with a few bytes behind it. */
  unsigned char buf[2048];
  size_t n = raw_entry(buf, "huge", '0', NULL, "abc", 3);
  snprintf((char *) buf + 124, 12, "%011llo", 077777777777ULL); /* 8 GiB */
  memset(buf + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < 512; i++)
    sum += buf[i];
  snprintf((char *) buf + 148, 8, "%06o", sum);
  mtk_autofree char *h = bpath(&b, "h.tar");
  MTK_ASSERT(write_file(h, buf, n) == 0);
  o.max_entries = 0;
  o.max_bytes = 1 << 30;
  MTK_ASSERT_EQ(expect_fail(&b, "h.tar", &o, MTK_E_INVALID, "huge"), 0);
  MTK_ASSERT(rmode(&b, "huge", NULL) < 0);
  /* A 3 MiB PAX extended header (a 1 MiB+ xattr would need one too): libarchive's 1 MiB cap. */
  size_t plen = 3 << 20;
  char *rec = mtk_xmalloc(plen + 64);
  int hl = snprintf(rec, 64, "%zu comment=", plen);
  memset(rec + hl, 'A', plen - (size_t) hl - 1);
  rec[plen - 1] = '\n';
  unsigned char *big = mtk_xcalloc(1, plen + 8192);
  size_t bn = raw_entry(big, "PaxHeader/p", 'x', NULL, rec, plen);
  bn += raw_entry(big + bn, "p", '0', NULL, "p", 1);
  free(rec);
  mtk_autofree char *px = bpath(&b, "px.tar");
  int w = write_file(px, big, bn + 1024);
  free(big);
  MTK_ASSERT(w == 0);
  MTK_ASSERT_EQ(expect_fail(&b, "px.tar", NULL, MTK_E_INVALID, "too large"), 0);
  MTK_ASSERT(rmode(&b, "p", NULL) < 0);
  return 0;
}

/* §3.6 35/36: truncated archives and bad checksums fail; trailing bytes after the end marker
 * are accepted and still counted in the DiffID. */
static int test_truncated_and_trailing(void)
{
  BOX();
  L(l);
  char data[3000];
  memset(data, 'q', sizeof(data) - 1);
  data[sizeof(data) - 1] = '\0';
  LAYER(l_path, 0, {.name = "a", .data = data}, {.name = "b", .data = "b"});
  int fd = open(l_path, O_RDONLY);
  unsigned char buf[65536];
  ssize_t n = read(fd, buf, sizeof(buf));
  close(fd);
  MTK_ASSERT(n > 2048);
  mtk_autofree char *t1 = bpath(&b, "t1.tar");
  MTK_ASSERT(write_file(t1, buf, 512 + 1000) == 0); /* mid data of "a" (pax header first) */
  MTK_ASSERT_EQ(expect_fail(&b, "t1.tar", NULL, MTK_E_INVALID, "runcated"), 0);
  mtk_autofree char *t2 = bpath(&b, "t2.tar");
  MTK_ASSERT(write_file(t2, buf, 300) == 0); /* mid header */
  MTK_ASSERT(expect_fail(&b, "t2.tar", NULL, MTK_E_INVALID, "layer") == 0);
  unsigned char bad[4096];
  memcpy(bad, buf, 4096);
  bad[0] ^= 1; /* checksum no longer matches */
  mtk_autofree char *t3 = bpath(&b, "t3.tar");
  MTK_ASSERT(write_file(t3, bad, 4096) == 0);
  MTK_ASSERT(expect_fail(&b, "t3.tar", NULL, MTK_E_INVALID, "layer") == 0);
  memcpy(buf + n, "TRAILING GARBAGE", 16);
  mtk_autofree char *t4 = bpath(&b, "t4.tar");
  MTK_ASSERT(write_file(t4, buf, (size_t) n + 16) == 0);
  char diff[72];
  MTK_ASSERT_EQ(expect_ok(&b, "t4.tar", NULL, diff), 0);
  mtk_autofree char *cmd = mtk_xasprintf("sha256sum '%s'", t4);
  mtk_autofree char *want = shell_sha(cmd);
  MTK_ASSERT_STREQ(diff, want);
  /* Not a tar at all. */
  mtk_autofree char *t5 = bpath(&b, "t5.tar");
  MTK_ASSERT(write_file(t5, "hello, world\n", 13) == 0);
  MTK_ASSERT(expect_fail(&b, "t5.tar", NULL, MTK_E_INVALID, "layer") == 0);
  MTK_ASSERT(canary_ok(&b));
  return 0;
}

/* An empty layer (just the end marker) and a concatenation of gzip members both work. */
static int test_empty_and_multimember(void)
{
  BOX();
  L(e);
  make_layer(e_path, 'g', (const struct ent[]){{0}});
  char diff[72];
  MTK_ASSERT_EQ(expect_ok(&b, "e.tar", NULL, diff), 0);
  mtk_autofree char *cmd = mtk_xasprintf("gzip -dc '%s' | sha256sum", e_path);
  mtk_autofree char *want = shell_sha(cmd);
  MTK_ASSERT_STREQ(diff, want);
  L(p);
  LAYER(p_path, 0, {.name = "m", .data = "multi"});
  mtk_autofree char *mm = bpath(&b, "mm.tar.gz");
  mtk_autofree char *mk = mtk_xasprintf("head -c 1024 '%s' | gzip -c > '%s' && tail -c +1025 "
                                        "'%s' | gzip -c >> '%s'",
                                        p_path, mm, p_path, mm);
  MTK_ASSERT_EQ(system(mk), 0);
  MTK_ASSERT_EQ(expect_ok(&b, "mm.tar.gz", NULL, diff), 0);
  mtk_autofree char *cmd2 = mtk_xasprintf("sha256sum '%s'", p_path);
  mtk_autofree char *want2 = shell_sha(cmd2);
  MTK_ASSERT_STREQ(diff, want2);
  mtk_autofree char *m = rread(&b, "m");
  MTK_ASSERT_STREQ(m, "multi");
  return 0;
}

static int test_stats(void)
{
  BOX();
  L(l);
  LAYER(l_path, 0, {.name = "a", .data = "12345"}, {.name = "d/", .type = AE_IFDIR});
  struct mtk_unpack_stats st = {0};
  struct mtk_unpack_opts o = {.stats = &st};
  MTK_ASSERT_EQ(expect_ok(&b, "l.tar", &o, NULL), 0);
  struct stat fs;
  MTK_ASSERT(stat(l_path, &fs) == 0);
  MTK_ASSERT_EQ(st.entries, 2);
  MTK_ASSERT_EQ(st.data_bytes, 5);
  MTK_ASSERT_EQ(st.tar_bytes, fs.st_size);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"plain layer, DiffID = sha256sum", test_plain},
      {"gzip layer, DiffID = sha256sum of gzip -dc", test_gzip},
      {"zstd layer, DiffID = sha256sum of zstd -dc", test_zstd},
      {"lib -> usr/lib and absolute targets across layers", test_merged_usr},
      {"names climbing with .. refused", test_dotdot_names},
      {"absolute names land under the root", test_absolute_names},
      {"root entries skipped, root never replaced", test_root_entries},
      {"8-bit and backslash names verbatim", test_raw_bytes_name},
      {"long names and paths refused", test_long_names},
      {"2000-deep tree unpacked and whited out", test_deep_nesting},
      {"duplicate entries: last wins, no write-through", test_duplicates},
      {"symlink escapes contained", test_symlink_escapes},
      {"symlink chain, loop, /proc magic links", test_symlink_chain_loop_magic},
      {"symlink metadata stays on the link", test_symlink_metadata},
      {"hardlink escapes refused or contained", test_hardlink_escapes},
      {"hardlink to itself, dir, missing, with data", test_hardlink_bad},
      {"whiteouts and opaque dirs, flatten", test_whiteouts_flatten},
      {"bad whiteouts refused, AUFS metadata skipped", test_whiteouts_bad},
      {"whiteouts and opaque dirs, overlay upper", test_whiteouts_overlay},
      {"device nodes and fifos", test_devices},
      {"ownership, modes, set-id, xattrs, times", test_metadata},
      {"gzip bomb stopped", test_gzip_bomb},
      {"zstd bomb stopped", test_zstd_bomb},
      {"entry cap and a lying size", test_caps},
      {"truncated, bad checksum, trailing bytes", test_truncated_and_trailing},
      {"empty layer and multi-member gzip", test_empty_and_multimember},
      {"stats", test_stats},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
