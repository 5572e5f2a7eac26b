/* Unit tests for mtk_file_read (src/util/file.c): contents and lengths (NUL bytes, empty
 * files), the size cap (at the limit, one byte over, an endless character device) and the
 * errors (missing file, directory), each naming the path. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "util/cleanup.h"
#include "util/file.h"

static char dir[] = "/tmp/mtk-file-XXXXXX";

static char *write_file(const char *name, const char *data, size_t n)
{
  char *path = mtk_xasprintf("%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (f == NULL || fwrite(data, 1, n, f) != n || fclose(f) != 0)
    abort();
  return path;
}

static int test_contents(void)
{
  struct mtk_err *err = NULL;
  size_t len = 99;
  mtk_autofree char *path = write_file("nul", "a\0b\n", 4);
  mtk_autofree char *text = mtk_file_read(path, 4, &len, &err);
  MTK_ASSERT(text != NULL && err == NULL);
  MTK_ASSERT_EQ(len, 4);
  MTK_ASSERT(memcmp(text, "a\0b\n", 5) == 0); /* NUL-terminated after the contents */

  mtk_autofree char *empty = write_file("empty", "", 0);
  mtk_autofree char *t2 = mtk_file_read(empty, 0, &len, &err);
  MTK_ASSERT(t2 != NULL && err == NULL);
  MTK_ASSERT_EQ(len, 0);
  MTK_ASSERT_STREQ(t2, "");
  return 0;
}

static int test_cap(void)
{
  struct mtk_err *err = NULL;
  size_t len = 0;
  mtk_autofree char *path = write_file("five", "12345", 5);
  mtk_autofree char *ok = mtk_file_read(path, 5, &len, &err);
  MTK_ASSERT(ok != NULL && len == 5);
  MTK_ASSERT(mtk_file_read(path, 4, &len, &err) == NULL);
  MTK_ASSERT_EQ(err->code, EFBIG);
  MTK_ASSERT_CONTAINS(err->msg, path);
  MTK_ASSERT_CONTAINS(err->msg, "larger than 4 bytes");
  mtk_err_free(&err);
  /* A device that never ends is cut at the cap, not read until memory runs out. */
  MTK_ASSERT(mtk_file_read("/dev/zero", 1 << 20, &len, &err) == NULL);
  MTK_ASSERT_EQ(err->code, EFBIG);
  mtk_err_free(&err);
  return 0;
}

static int test_errors(void)
{
  struct mtk_err *err = NULL;
  size_t len = 0;
  mtk_autofree char *missing = mtk_xasprintf("%s/missing", dir);
  MTK_ASSERT(mtk_file_read(missing, 100, &len, &err) == NULL);
  MTK_ASSERT_EQ(err->code, ENOENT);
  mtk_autofree char *want = mtk_xasprintf("open %s: No such file or directory", missing);
  MTK_ASSERT_STREQ(err->msg, want);
  mtk_err_free(&err);
  MTK_ASSERT(mtk_file_read(dir, 100, &len, &err) == NULL);
  MTK_ASSERT_EQ(err->code, EISDIR);
  MTK_ASSERT_CONTAINS(err->msg, dir);
  mtk_err_free(&err);
  return 0;
}

/* Entries of dir whose name starts with '.': leftover temporary files. */
static int hidden_entries(void)
{
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));)
    n += e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  if (d)
    closedir(d);
  return n;
}

static int test_atomic(void)
{
  struct mtk_err *err = NULL;
  mtk_autofree char *path = mtk_xasprintf("%s/atomic", dir);
  MTK_ASSERT_EQ(mtk_file_write_atomic(path, "one\n", 4, 0600, &err), 0);
  MTK_ASSERT_EQ(mtk_file_write_atomic(path, "two\n", 4, 0640, &err), 0);
  size_t len = 0;
  mtk_autofree char *text = mtk_file_read(path, 100, &len, &err);
  MTK_ASSERT_STREQ(text, "two\n");
  struct stat st;
  MTK_ASSERT_EQ(stat(path, &st), 0);
  MTK_ASSERT_EQ(st.st_mode & 0777, 0640);
  /* An aborted replacement leaves the old contents and no temporary file. */
  struct mtk_file_atomic a;
  MTK_ASSERT_EQ(mtk_file_atomic_open(&a, path, (mode_t) -1, &err), 0);
  MTK_ASSERT_EQ(mtk_file_write_all(a.fd, "half", 4), 0);
  mtk_file_atomic_abort(&a);
  mtk_file_atomic_abort(&a);
  mtk_autofree char *again = mtk_file_read(path, 100, &len, &err);
  MTK_ASSERT_STREQ(again, "two\n");
  MTK_ASSERT_EQ(hidden_entries(), 0);
  /* A directory that does not exist: an error naming the path. */
  mtk_autofree char *bad = mtk_xasprintf("%s/no/such/file", dir);
  MTK_ASSERT(mtk_file_write_atomic(bad, "x", 1, 0600, &err) < 0);
  MTK_ASSERT_CONTAINS(err->msg, bad);
  mtk_err_free(&err);
  unlink(path);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"contents", test_contents},         {"cap", test_cap}, {"errors", test_errors},
      {"atomic replacement", test_atomic}, {NULL, NULL},
  };
  if (mkdtemp(dir) == NULL)
    return 1;
  int r = mtk_test_main(tests);
  const char *names[] = {"nul", "empty", "five"};
  for (size_t i = 0; i < 3; i++) {
    mtk_autofree char *p = mtk_xasprintf("%s/%s", dir, names[i]);
    unlink(p);
  }
  rmdir(dir);
  return r;
}
