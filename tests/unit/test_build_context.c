/* Unit tests of src/build/context.c on real directory trees: selection with
 * an ignore file (and `!` exceptions under excluded directories), the
 * Dockerfile-specific ignore file, symlinks that are never followed, cleaned
 * `..` paths, cache keys and the deterministic tar stream (read back with
 * libarchive). */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "build/context.h"
#include "tap.h"
#include "util/strbuf.h"

static char tmp[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
  return remove(p);
}

/* A fresh empty context directory (the previous one removed). */
static const char *fresh(void)
{
  if (tmp[0])
    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  strcpy(tmp, "/tmp/mtk-ctx-XXXXXX");
  if (!mkdtemp(tmp))
    abort();
  return tmp;
}

/* Writes `text` to the context-relative `rel` (parents created) with `mode`. */
static void put(const char *rel, const char *text, mode_t mode)
{
  mtk_autofree char *path = mtk_xasprintf("%s/%s", tmp, rel);
  for (char *s = strchr(path + strlen(tmp) + 1, '/'); s; s = strchr(s + 1, '/')) {
    *s = '\0';
    mkdir(path, 0755);
    *s = '/';
  }
  FILE *f = fopen(path, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0)
    abort();
  chmod(path, mode);
}

static void link_at(const char *target, const char *rel)
{
  mtk_autofree char *path = mtk_xasprintf("%s/%s", tmp, rel);
  if (symlink(target, path) < 0)
    abort();
}

static struct mtk_context *open_ctx(const char *dockerfile)
{
  struct mtk_err *err = NULL;
  struct mtk_context *c = mtk_context_open(tmp, dockerfile, &err);
  if (!c) {
    mtk_autofree char *m = mtk_err_format(err);
    printf("# mtk_context_open: %s\n", m);
    mtk_err_free(&err);
  }
  return c;
}

/* The selected paths joined by spaces. */
static char *listing(const struct mtk_context *c)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (size_t i = 0; i < mtk_context_len(c); i++)
    mtk_strbuf_addf(&sb, "%s%s", i ? " " : "", mtk_context_path(c, i));
  return mtk_strbuf_steal(&sb);
}

/* Open file descriptors of this process (to catch leaks). */
static int open_fds(void)
{
  int n = 0;
  for (int fd = 0; fd < 1024; fd++)
    n += fcntl(fd, F_GETFD) >= 0;
  return n;
}

static char *key(struct mtk_context *c, const char *src)
{
  char hex[65];
  struct mtk_err *err = NULL;
  if (mtk_context_hash(c, (const char *const[]){src}, 1, hex, &err) < 0) {
    mtk_err_free(&err);
    return mtk_xstrdup("error");
  }
  return mtk_xstrdup(hex);
}

/* The tar of c as bytes (in *len). */
static char *tar_bytes(struct mtk_context *c, size_t *len)
{
  struct mtk_err *err = NULL;
  mtk_autoclose int fd = memfd_create("tar", MFD_CLOEXEC);
  if (fd < 0 || mtk_context_tar(c, fd, &err) < 0) {
    mtk_err_free(&err);
    return NULL;
  }
  *len = (size_t) lseek(fd, 0, SEEK_END);
  char *buf = mtk_xmalloc(*len + 1);
  if (pread(fd, buf, *len, 0) != (ssize_t) *len)
    abort();
  close(fd);
  return buf;
}

/* "path[->link]" or "path=content" of each tar member, joined by spaces. */
static char *tar_listing(const char *buf, size_t len)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  struct archive *a = archive_read_new();
  struct archive_entry *e;
  archive_read_support_format_tar(a);
  if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
    abort();
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    mtk_strbuf_addf(&sb, "%s%s", sb.len ? " " : "", archive_entry_pathname(e));
    if (archive_entry_symlink(e))
      mtk_strbuf_addf(&sb, "->%s", archive_entry_symlink(e));
    if (archive_entry_uid(e) != 0 || archive_entry_gid(e) != 0)
      mtk_strbuf_adds(&sb, "!owner");
    char data[256];
    ssize_t n = archive_read_data(a, data, sizeof(data));
    if (n > 0)
      mtk_strbuf_addf(&sb, "=%.*s", (int) n, data);
  }
  archive_read_free(a);
  return mtk_strbuf_steal(&sb);
}

static int test_walk_with_ignore(void)
{
  fresh();
  put("Dockerfile", "FROM scratch\n", 0644);
  put(".dockerignore", "# build outputs\nnode_modules\n*.log\n**/*.tmp\n", 0644);
  put("app.py", "print(1)\n", 0644);
  put("debug.log", "x", 0644);
  put("src/a.log", "kept: *.log is root-only", 0644);
  put("src/b.tmp", "x", 0644);
  put("src/z.c", "int z;", 0644);
  put("node_modules/pkg/index.js", "x", 0644);
  put("a-b", "x", 0644);
  mtk_autoptr(mtk_context) c = open_ctx(NULL);
  MTK_ASSERT(c != NULL);
  mtk_autofree char *l = listing(c);
  MTK_ASSERT_STREQ(l, ".dockerignore Dockerfile a-b app.py src src/a.log src/z.c");
  MTK_ASSERT_CONTAINS(mtk_context_ignore_file(c), "/.dockerignore");
  MTK_ASSERT(mtk_context_find(c, "./src//z.c") != NULL);
  MTK_ASSERT(mtk_context_find(c, "/src/../app.py") != NULL);
  MTK_ASSERT(mtk_context_find(c, "node_modules") == NULL);
  const struct mtk_context_entry *e = mtk_context_find(c, "src/z.c");
  MTK_ASSERT_EQ(e->size, 6);
  MTK_ASSERT(S_ISREG(e->mode));
  MTK_ASSERT(S_ISDIR(mtk_context_find(c, "src")->mode));
  return 0;
}

static int test_exceptions(void)
{
  fresh();
  put(".dockerignore", "dir\n!dir/keep/file.txt\ngone\n", 0644);
  put("dir/keep/file.txt", "kept", 0644);
  put("dir/keep/other.txt", "x", 0644);
  put("dir/drop.txt", "x", 0644);
  put("gone/x", "x", 0644);
  mtk_autoptr(mtk_context) c = open_ctx(NULL);
  MTK_ASSERT(c != NULL);
  mtk_autofree char *l = listing(c);
  MTK_ASSERT_STREQ(l, ".dockerignore dir dir/keep dir/keep/file.txt");
  /* A wildcard exception makes every excluded directory worth walking. */
  put(".dockerignore", "*\n!**/*.keep\n", 0644);
  put("gone/deep/a.keep", "k", 0644);
  mtk_autoptr(mtk_context) w = open_ctx(NULL);
  MTK_ASSERT(w != NULL);
  mtk_autofree char *lw = listing(w);
  MTK_ASSERT_STREQ(lw, "gone gone/deep gone/deep/a.keep");
  return 0;
}

static int test_dockerfile_ignore_wins(void)
{
  fresh();
  put(".dockerignore", "a.txt\n", 0644);
  put("docker/app.Dockerfile", "FROM scratch\n", 0644);
  put("docker/app.Dockerfile.dockerignore", "b.txt\ndocker\n", 0644);
  put("a.txt", "a", 0644);
  put("b.txt", "b", 0644);
  mtk_autoptr(mtk_context) c = open_ctx("docker/app.Dockerfile");
  MTK_ASSERT(c != NULL);
  mtk_autofree char *l = listing(c);
  MTK_ASSERT_STREQ(l, ".dockerignore a.txt");
  MTK_ASSERT_CONTAINS(mtk_context_ignore_file(c), "/docker/app.Dockerfile.dockerignore");
  MTK_ASSERT_CONTAINS(mtk_context_dockerfile(c), "/docker/app.Dockerfile");
  /* Excluded, yet sent: the Dockerfile and the ignore file in use. */
  size_t n;
  mtk_autofree char *t = tar_bytes(c, &n);
  MTK_ASSERT(t != NULL);
  mtk_autofree char *tl = tar_listing(t, n);
  MTK_ASSERT_STREQ(tl, ".dockerignore=a.txt\n a.txt=a docker/app.Dockerfile=FROM scratch\n"
                       " docker/app.Dockerfile.dockerignore=b.txt\ndocker\n");
  /* The default Dockerfile looks for Dockerfile.dockerignore, absent here. */
  mtk_autoptr(mtk_context) d = open_ctx(NULL);
  MTK_ASSERT(d != NULL);
  mtk_autofree char *ld = listing(d);
  MTK_ASSERT_STREQ(ld, ".dockerignore b.txt docker docker/app.Dockerfile "
                       "docker/app.Dockerfile.dockerignore");
  return 0;
}

static int test_symlinks_not_followed(void)
{
  mtk_autofree char *outside = mtk_xasprintf("%s-outside", fresh());
  mkdir(outside, 0755);
  mtk_autofree char *secret = mtk_xasprintf("%s/secret", outside);
  FILE *f = fopen(secret, "w");
  MTK_ASSERT(f && fputs("top secret", f) >= 0 && fclose(f) == 0);
  mtk_autofree char *rel_out = mtk_xasprintf("../%s", strrchr(outside, '/') + 1);
  link_at(rel_out, "out");
  link_at("/etc", "etc");
  link_at("out/secret", "via");
  put("real.txt", "r", 0644);
  mtk_autoptr(mtk_context) c = open_ctx(NULL);
  MTK_ASSERT(c != NULL);
  mtk_autofree char *l = listing(c);
  MTK_ASSERT_STREQ(l, "etc out real.txt via");
  const struct mtk_context_entry *e = mtk_context_find(c, "out");
  MTK_ASSERT(S_ISLNK(e->mode));
  MTK_ASSERT_STREQ(e->link, rel_out);
  MTK_ASSERT(mtk_context_find(c, "out/secret") == NULL);
  mtk_autofree char *k_in = key(c, "out/secret");
  MTK_ASSERT_STREQ(k_in, "error");
  mtk_autofree char *k_link = key(c, "via");
  MTK_ASSERT(strcmp(k_link, "error") != 0);
  /* The tar holds the links themselves, never the secret. */
  size_t n;
  mtk_autofree char *t = tar_bytes(c, &n);
  MTK_ASSERT(t != NULL);
  mtk_autofree char *tl = tar_listing(t, n);
  mtk_autofree char *want = mtk_xasprintf("etc->/etc out->%s real.txt=r via->out/secret", rel_out);
  MTK_ASSERT_STREQ(tl, want);
  MTK_ASSERT(memmem(t, n, "top secret", 10) == NULL);
  /* Changing what a link points at changes the key; the target's content does not. */
  f = fopen(secret, "w");
  MTK_ASSERT(f && fputs("changed", f) >= 0 && fclose(f) == 0);
  mtk_autoptr(mtk_context) c2 = open_ctx(NULL);
  mtk_autofree char *k_link2 = key(c2, "via");
  MTK_ASSERT_STREQ(k_link2, k_link);
  unlink(secret);
  rmdir(outside);
  return 0;
}

static int test_dotdot_cleaned(void)
{
  fresh();
  put(".dockerignore", "sub/../build\n../../etc\n./tmp/\n", 0644);
  put("build/out.bin", "x", 0644);
  put("tmp/t", "x", 0644);
  put("sub/keep", "k", 0644);
  put("etc/passwd", "not the host's", 0644);
  mtk_autoptr(mtk_context) c = open_ctx(NULL);
  MTK_ASSERT(c != NULL);
  mtk_autofree char *l = listing(c);
  MTK_ASSERT_STREQ(l, ".dockerignore etc etc/passwd sub sub/keep");
  /* COPY sources cannot climb out either: "../../sub/keep" is "sub/keep". */
  mtk_autofree char *k1 = key(c, "../../sub/keep");
  mtk_autofree char *k2 = key(c, "sub/keep");
  mtk_autofree char *k3 = key(c, "/sub/./keep");
  MTK_ASSERT(strcmp(k2, "error") != 0);
  MTK_ASSERT_STREQ(k1, k2);
  MTK_ASSERT_STREQ(k3, k2);
  mtk_autofree char *k4 = key(c, "../etc/passwd"); /* the context's etc, not the host's */
  MTK_ASSERT(strcmp(k4, "error") != 0);
  return 0;
}

static int test_tar_deterministic(void)
{
  fresh();
  put("b/z.txt", "zzz", 0600);
  put("b/a.txt", "aaa", 0755);
  put("a", "first", 0644);
  put(".dockerignore", "*.tmp\n", 0644);
  link_at("b/a.txt", "ln");
  mtk_autoptr(mtk_context) c = open_ctx(NULL);
  MTK_ASSERT(c != NULL);
  size_t n1, n2, n3;
  mtk_autofree char *t1 = tar_bytes(c, &n1);
  mtk_autofree char *t2 = tar_bytes(c, &n2);
  MTK_ASSERT(t1 && t2);
  MTK_ASSERT_EQ(n1, n2);
  MTK_ASSERT(memcmp(t1, t2, n1) == 0);
  mtk_autofree char *tl = tar_listing(t1, n1);
  MTK_ASSERT_STREQ(tl, ".dockerignore=*.tmp\n a=first b/ b/a.txt=aaa b/z.txt=zzz ln->b/a.txt");
  /* With a fixed mtime, a fresh walk after touching every file gives the same bytes. */
  mtk_context_set_tar_mtime(c, 1700000000);
  mtk_autofree char *f1 = tar_bytes(c, &n1);
  struct timeval tv[2] = {{1000, 0}, {1000, 0}};
  mtk_autofree char *pa = mtk_xasprintf("%s/a", tmp);
  MTK_ASSERT_EQ(utimes(pa, tv), 0);
  put("ignored.tmp", "not sent", 0644);
  mtk_autoptr(mtk_context) d = open_ctx(NULL);
  mtk_context_set_tar_mtime(d, 1700000000);
  mtk_autofree char *f2 = tar_bytes(d, &n3);
  MTK_ASSERT(f1 && f2);
  MTK_ASSERT_EQ(n1, n3);
  MTK_ASSERT(memcmp(f1, f2, n1) == 0);
  return 0;
}

static int test_cache_keys(void)
{
  fresh();
  put(".dockerignore", "*.tmp\n", 0644);
  put("src/main.c", "int main;", 0644);
  put("src/util.c", "int u;", 0644);
  put("notes.tmp", "v1", 0644);
  mtk_autoptr(mtk_context) c = open_ctx(NULL);
  mtk_autofree char *k_src = key(c, "src");
  mtk_autofree char *k_all = key(c, ".");
  mtk_autofree char *k_glob = key(c, "src/*.c");
  MTK_ASSERT_EQ(strlen(k_src), 64);
  MTK_ASSERT(strcmp(k_src, k_all) != 0);
  mtk_autofree char *k_again = key(c, "src/");
  MTK_ASSERT_STREQ(k_again, k_src);
  /* An ignored file and an mtime change nothing. */
  put("notes.tmp", "v2", 0644);
  struct timeval tv[2] = {{5, 0}, {5, 0}};
  mtk_autofree char *pm = mtk_xasprintf("%s/src/main.c", tmp);
  MTK_ASSERT_EQ(utimes(pm, tv), 0);
  mtk_autoptr(mtk_context) c2 = open_ctx(NULL);
  mtk_autofree char *k_all2 = key(c2, ".");
  MTK_ASSERT_STREQ(k_all2, k_all);
  /* Content and mode do. */
  put("src/main.c", "int main2;", 0644);
  mtk_autoptr(mtk_context) c3 = open_ctx(NULL);
  mtk_autofree char *k_src3 = key(c3, "src");
  mtk_autofree char *k_glob3 = key(c3, "src/*.c");
  MTK_ASSERT(strcmp(k_src3, k_src) != 0);
  MTK_ASSERT(strcmp(k_glob3, k_glob) != 0);
  MTK_ASSERT_EQ(chmod(pm, 0755), 0);
  mtk_autoptr(mtk_context) c4 = open_ctx(NULL);
  mtk_autofree char *k_src4 = key(c4, "src");
  MTK_ASSERT(strcmp(k_src4, k_src3) != 0);
  /* Several sources: order counts. */
  char h1[65], h2[65];
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(
      mtk_context_hash(c4, (const char *const[]){"src/main.c", "src/util.c"}, 2, h1, &err), 0);
  MTK_ASSERT_EQ(
      mtk_context_hash(c4, (const char *const[]){"src/util.c", "src/main.c"}, 2, h2, &err), 0);
  MTK_ASSERT(strcmp(h1, h2) != 0);
  /* Nothing matches: an error naming the source; so does an ignored file. */
  MTK_ASSERT(mtk_context_hash(c4, (const char *const[]){"*.go"}, 1, h1, &err) < 0);
  MTK_ASSERT_EQ(err->code, MTK_E_BUILD);
  MTK_ASSERT_CONTAINS(err->msg, "*.go");
  mtk_err_free(&err);
  MTK_ASSERT(mtk_context_hash(c4, (const char *const[]){"notes.tmp"}, 1, h1, &err) < 0);
  mtk_err_free(&err);
  return 0;
}

static int test_errors(void)
{
  struct mtk_err *err = NULL;
  int fds = open_fds();
  fresh();
  put(".dockerignore", "ok\n\n!\n", 0644);
  MTK_ASSERT(mtk_context_open(tmp, NULL, &err) == NULL);
  MTK_ASSERT_EQ(err->code, MTK_E_INVALID);
  MTK_ASSERT_CONTAINS(err->file, "/.dockerignore");
  MTK_ASSERT_EQ(err->line, 3);
  mtk_err_free(&err);
  put(".dockerignore", "x\n[z-a]*\n", 0644);
  put("y", "y", 0644);
  MTK_ASSERT(mtk_context_open(tmp, NULL, &err) == NULL);
  MTK_ASSERT_EQ(err->line, 2);
  mtk_err_free(&err);
  mtk_autofree char *missing = mtk_xasprintf("%s/nope", tmp);
  MTK_ASSERT(mtk_context_open(missing, NULL, &err) == NULL);
  MTK_ASSERT_EQ(err->code, ENOENT);
  mtk_err_free(&err);
  mtk_autofree char *file = mtk_xasprintf("%s/y", tmp);
  MTK_ASSERT(mtk_context_open(file, NULL, &err) == NULL);
  mtk_err_free(&err);
  /* A source that is gone when read: an error, and nothing left open. */
  put(".dockerignore", "", 0644);
  mtk_autoptr(mtk_context) c = open_ctx(NULL);
  MTK_ASSERT(c != NULL);
  MTK_ASSERT_EQ(unlink(file), 0);
  size_t n;
  MTK_ASSERT(tar_bytes(c, &n) == NULL);
  mtk_autofree char *k = key(c, "y");
  MTK_ASSERT_STREQ(k, "error");
  mtk_context_free(mtk_steal_ptr(&c));
  MTK_ASSERT_EQ(open_fds(), fds);
  nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"walk with an ignore file", test_walk_with_ignore},
      {"! exceptions re-include below excluded directories", test_exceptions},
      {"<Dockerfile>.dockerignore wins; build files always sent", test_dockerfile_ignore_wins},
      {"symlinks are entries, never followed", test_symlinks_not_followed},
      {".. in patterns and sources is cleaned", test_dotdot_cleaned},
      {"tar: same bytes twice", test_tar_deterministic},
      {"cache keys: content, mode, ignored files, mtime", test_cache_keys},
      {"errors: ignore file line, missing context", test_errors},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
