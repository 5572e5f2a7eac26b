/* libFuzzer target for layer unpacking (src/image/unpack*.c): the input is a layer (tar, or
 * gzip/zstd of one), unpacked into a fresh snapshot directory beside a canary directory.
 * After every input: nothing may appear beside the snapshot roots, the canary must be
 * untouched, and the result must be consistent (0 with a well-formed DiffID, or an error with
 * MTK_E_INVALID or an errno code and a message).  Inputs of odd length use the overlay mode.
 * The canary sits at a fixed path, /tmp/mtk-fuzz-unpack/out, so that seeds can aim absolute
 * symlinks and hardlinks at it (tests/fuzz/corpus/unpack/). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/unpack.h"

#define BASE "/tmp/mtk-fuzz-unpack"
#define OUT BASE "/out"

static char root[64];
static struct stat out_st;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  if (flag == FTW_DP)
    chmod(p, 0700);
  return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

static void rm_tree(const char *p)
{
  chmod(p, 0700);
  nftw(p, rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
  mkdir(BASE, 0755);
  if (mkdir(OUT, 0700) == 0 || errno == EEXIST) {
    int fd = open(OUT "/keep", O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
      if (write(fd, "canary", 6) != 6)
        abort();
      close(fd);
    }
  }
  if (stat(OUT, &out_st) < 0)
    abort();
  snprintf(root, sizeof(root), BASE "/root-%d", (int) getpid());
}

/* Only root-<pid> dirs and the untouched canary may exist under BASE. */
static void check_canary(void)
{
  struct stat st;
  if (stat(OUT, &st) < 0 || st.st_mode != out_st.st_mode || st.st_nlink != out_st.st_nlink ||
      st.st_mtim.tv_sec != out_st.st_mtim.tv_sec || st.st_mtim.tv_nsec != out_st.st_mtim.tv_nsec)
    abort();
  char buf[16] = {0};
  int fd = open(OUT "/keep", O_RDONLY | O_NOFOLLOW);
  if (fd < 0 || read(fd, buf, sizeof(buf)) != 6 || memcmp(buf, "canary", 6) != 0 ||
      fstat(fd, &st) < 0 || st.st_nlink != 1 || (st.st_mode & 07777) != 0644)
    abort();
  close(fd);
  DIR *d = opendir(BASE);
  struct dirent *de;
  while (d && (de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "out") &&
        strncmp(de->d_name, "root-", 5) != 0)
      abort();
  if (d)
    closedir(d);
}

static void check_result(int r, struct mtk_err *err, const char *diff)
{
  if ((r < 0) != (err != NULL))
    abort();
  if (err) {
    if (!err->msg || !err->msg[0] ||
        (err->code != MTK_E_INVALID && (err->code <= 0 || err->code >= 1000)))
      abort();
    return;
  }
  if (strncmp(diff, "sha256:", 7) != 0 || strlen(diff) != 71)
    abort();
  for (int i = 7; i < 71; i++)
    if (!strchr("0123456789abcdef", diff[i]))
      abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!root[0])
    setup();
  rm_tree(root);
  if (mkdir(root, 0755) < 0)
    abort();
  int fd = memfd_create("layer", MFD_CLOEXEC);
  if (fd < 0 || (size && write(fd, data, size) != (ssize_t) size) || lseek(fd, 0, SEEK_SET) != 0)
    abort();
  int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0)
    abort();
  struct mtk_unpack_stats st = {0};
  struct mtk_unpack_opts o = {
      .max_bytes = 64 << 20,
      .max_entries = 20000,
      .mode = size & 1 ? MTK_UNPACK_OVERLAY : MTK_UNPACK_FLATTEN,
      .stats = &st,
  };
  struct mtk_err *err = NULL;
  char diff[72] = {0};
  int r = mtk_layer_unpack(fd, rfd, &o, diff, &err);
  check_result(r, err, diff);
  if (st.tar_bytes > o.max_bytes || st.entries > o.max_entries + 1)
    abort();
  mtk_err_free(&err);
  close(rfd);
  close(fd);
  check_canary();
  return 0;
}
