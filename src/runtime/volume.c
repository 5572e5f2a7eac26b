/* Named volumes of the "local" driver: <root>/volumes/<name>/_data, made on
 * first use; Docker's copy-up (an empty volume mounted over a directory of
 * the image gets that directory's content, owners, modes and times); and the
 * removal of a volume no container uses.  The copy reads the source through
 * the container's rootfs with openat2(RESOLVE_IN_ROOT) and never follows a
 * symlink on either side. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/ctr_internal.h"
#include "util/cleanup.h"

#define COPY_MAX_DEPTH 128

bool mtk_ctr_volume_name_valid(const char *name)
{
  if (!name || strlen(name) < 2 || strlen(name) > 255 || !isalnum((unsigned char) name[0]))
    return false;
  for (const char *p = name + 1; *p; p++)
    if (!isalnum((unsigned char) *p) && !strchr("_.-", *p))
      return false;
  return true;
}

char *mtk_ctr_volume_ensure(const char *root, const char *name, bool *created, struct mtk_err **err)
{
  *created = false;
  if (!mtk_ctr_volume_name_valid(name)) {
    mtk_err_set(err, EINVAL, "invalid volume name \"%s\"", name);
    return NULL;
  }
  mtk_autofree char *dir = mtk_xasprintf("%s/volumes/%s", root, name);
  if (mtk_ctr_mkdir_p(dir, 0700, err) < 0)
    return NULL;
  char *data = mtk_xasprintf("%s/_data", dir);
  if (mkdir(data, 0755) == 0) {
    *created = true;
  } else if (errno != EEXIST) {
    mtk_err_set(err, errno, "creating volume %s: %s", data, strerror(errno));
    free(data);
    return NULL;
  }
  return data;
}

static bool dir_empty(int fd)
{
  int d2 = dup(fd);
  if (d2 < 0)
    return false;
  DIR *d = fdopendir(d2);
  if (!d) {
    close(d2);
    return false;
  }
  bool empty = true;
  struct dirent *e;
  while (empty && (e = readdir(d)))
    empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
  closedir(d);
  return empty;
}

static void copy_meta(int dfd, const char *name, const struct stat *st, bool link)
{
  int fl = link ? AT_SYMLINK_NOFOLLOW : 0;
  if (fchownat(dfd, name, st->st_uid, st->st_gid, fl) < 0) {
    /* keep going: the content matters more than its owner */
  }
  if (!link)
    fchmodat(dfd, name, st->st_mode & 07777, 0);
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  utimensat(dfd, name, ts, fl);
}

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st,
                     struct mtk_err **err)
{
  mtk_autoclose int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0)
    return mtk_err_set(err, errno, "copying %s: %s", name, strerror(errno));
  mtk_autoclose int out =
      openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return mtk_err_set(err, errno, "copying %s: %s", name, strerror(errno));
  char buf[65536];
  for (;;) {
    ssize_t r = read(in, buf, sizeof(buf));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return mtk_err_set(err, errno, "copying %s: %s", name, strerror(errno));
    if (r == 0)
      break;
    for (ssize_t off = 0; off < r;) {
      ssize_t w = write(out, buf + off, (size_t) (r - off));
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return mtk_err_set(err, errno, "copying %s: %s", name, strerror(errno));
      off += w;
    }
  }
  if (fchown(out, st->st_uid, st->st_gid) < 0) {
    /* as copy_meta */
  }
  fchmod(out, st->st_mode & 07777);
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  futimens(out, ts);
  return 0;
}

static int copy_tree(int sdir, int ddir, int depth, struct mtk_err **err);

static int copy_entry(int sdir, int ddir, const char *name, int depth, struct mtk_err **err)
{
  struct stat st;
  if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : mtk_err_set(err, errno, "copying %s: %s", name, strerror(errno));
  if (S_ISREG(st.st_mode))
    return copy_file(sdir, ddir, name, &st, err);
  if (S_ISLNK(st.st_mode)) {
    char target[4097];
    ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
    if (n < 0)
      return mtk_err_set(err, errno, "copying %s: %s", name, strerror(errno));
    target[n] = 0;
    if (symlinkat(target, ddir, name) < 0)
      return mtk_err_set(err, errno, "copying %s: %s", name, strerror(errno));
    copy_meta(ddir, name, &st, true);
    return 0;
  }
  if (S_ISDIR(st.st_mode)) {
    if (depth >= COPY_MAX_DEPTH)
      return mtk_err_set(err, ELOOP, "copying %s: directories nested too deep", name);
    if (mkdirat(ddir, name, 0700) < 0)
      return mtk_err_set(err, errno, "copying %s: %s", name, strerror(errno));
    mtk_autoclose int s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    mtk_autoclose int d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0 || d < 0)
      return mtk_err_set(err, errno, "copying %s: %s", name, strerror(errno));
    if (copy_tree(s, d, depth + 1, err) < 0)
      return -1;
    copy_meta(ddir, name, &st, false);
    return 0;
  }
  if (mknodat(ddir, name, st.st_mode, st.st_rdev) < 0)
    return mtk_err_set(err, errno, "copying %s: %s", name, strerror(errno));
  copy_meta(ddir, name, &st, false);
  return 0;
}

static int copy_tree(int sdir, int ddir, int depth, struct mtk_err **err)
{
  int d2 = dup(sdir);
  DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
  if (!d) {
    if (d2 >= 0)
      close(d2);
    return mtk_err_set(err, errno, "reading a directory to copy: %s", strerror(errno));
  }
  int r = 0;
  struct dirent *e;
  while (r == 0 && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      r = copy_entry(sdir, ddir, e->d_name, depth, err);
  closedir(d);
  return r;
}

int mtk_ctr_volume_copy_up(const char *rootfs, const char *path, const char *data,
                           struct mtk_err **err)
{
  mtk_autoclose int dfd = open(data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return mtk_err_set(err, errno, "volume %s: %s", data, strerror(errno));
  if (!dir_empty(dfd))
    return 0;
  mtk_autoclose int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return mtk_err_set(err, errno, "%s: %s", rootfs, strerror(errno));
  struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
  mtk_autoclose int sfd = (int) syscall(SYS_openat2, root, path, &how, sizeof how);
  if (sfd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return 0; /* nothing in the image there */
    return mtk_err_set(err, errno, "opening %s in the container to fill its volume: %s", path,
                       strerror(errno));
  }
  struct stat st;
  if (fstat(sfd, &st) == 0) {
    if (fchown(dfd, st.st_uid, st.st_gid) < 0) {
      /* the content still goes in */
    }
    fchmod(dfd, st.st_mode & 07777);
  }
  if (copy_tree(sfd, dfd, 0, err) < 0)
    return mtk_err_wrap(err, "filling volume %s from %s", data, path);
  return 0;
}

/* IDs of the containers (other than except) whose Mounts name the volume. */
static char *users_of(const char *root, const char *name, const char *except)
{
  mtk_autofree char *dir = mtk_ctr_dir(root);
  DIR *d = opendir(dir);
  if (!d)
    return NULL;
  char *users = NULL;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || (except && strcmp(e->d_name, except) == 0))
      continue;
    mtk_autofree char *p = mtk_xasprintf("%s/%s/config", dir, e->d_name);
    json_t *cfg = json_load_file(p, 0, NULL);
    size_t i;
    json_t *m;
    bool uses = false;
    json_array_foreach(json_object_get(cfg, "Mounts"), i, m)
    {
      const char *t = json_string_value(json_object_get(m, "Type"));
      const char *n = json_string_value(json_object_get(m, "Name"));
      uses = uses || (t && n && strcmp(t, "volume") == 0 && strcmp(n, name) == 0);
    }
    json_decref(cfg);
    if (!uses)
      continue;
    char *next = mtk_xasprintf("%s%s%s", users ? users : "", users ? ", " : "", e->d_name);
    free(users);
    users = next;
  }
  closedir(d);
  return users;
}

int mtk_ctr_volume_remove(const char *root, const char *name, const char *except_ctr,
                          struct mtk_err **err)
{
  if (!mtk_ctr_volume_name_valid(name))
    return mtk_err_set(err, EINVAL, "invalid volume name \"%s\"", name);
  mtk_autofree char *users = users_of(root, name, except_ctr);
  if (users)
    return mtk_err_set(err, EBUSY, "remove %s: volume is in use - [%s]", name, users);
  mtk_autofree char *dir = mtk_xasprintf("%s/volumes/%s", root, name);
  return mtk_ctr_remove_tree(dir, err);
}
