/* Applying one tar entry of a layer: the OCI changeset rules (dir over dir keeps the directory,
 * anything else unlinks and recreates, whiteouts and opaque directories in flatten or overlay
 * form, hardlinks to files already in the root) and the entry's metadata (ownership when root,
 * allowed xattrs, mode, times).  Objects are created with *at() calls relative to a parent fd
 * resolved inside the root, with O_NOFOLLOW/O_EXCL on the last component, and their metadata
 * is set on the new object's own fd, or with AT_SYMLINK_NOFOLLOW, never on a path a later
 * entry could have swapped. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "image/unpack_internal.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

#define WH_PREFIX ".wh."
#define WH_META ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_OPAQUE_NAME ".wh..opq" /* WH_OPAQUE without the whiteout prefix */

struct meta {
  uid_t uid; /* owner (restored only when c->restore_owner) */
  gid_t gid;
  mode_t mode;           /* permission bits, set-id bits dropped when ownership is not restored */
  struct timespec ts[2]; /* atime, mtime */
};

static long clamp_nsec(long ns)
{
  return ns < 0 ? 0 : ns > 999999999L ? 999999999L : ns;
}

static int read_meta(const struct mtk_unpack_ctx *c, struct archive_entry *e, struct meta *m,
                     struct mtk_err **err)
{
  int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
  /* (uid_t)-1 means "unchanged" to chown: ids must be 0..2^32-2 (CVE-2024-40635 shape). */
  if (uid < 0 || uid > 0xfffffffeLL || gid < 0 || gid > 0xfffffffeLL)
    return mtk_err_set(err, MTK_E_INVALID, "uid/gid %lld:%lld out of range", (long long) uid,
                       (long long) gid);
  m->uid = (uid_t) uid;
  m->gid = (gid_t) gid;
  m->mode = archive_entry_perm(e) & 07777;
  if (!c->restore_owner)
    m->mode &= ~(mode_t) (S_ISUID | S_ISGID);
  m->ts[1].tv_sec = (time_t) archive_entry_mtime(e);
  m->ts[1].tv_nsec = clamp_nsec(archive_entry_mtime_nsec(e));
  m->ts[0] = m->ts[1];
  if (archive_entry_atime_is_set(e)) {
    m->ts[0].tv_sec = (time_t) archive_entry_atime(e);
    m->ts[0].tv_nsec = clamp_nsec(archive_entry_atime_nsec(e));
  }
  return 0;
}

static int sys_err(struct mtk_err **err, const char *what)
{
  int e = errno;
  return mtk_err_set(err, e, "%s: %s", what, strerror(e));
}

static uint64_t ino_of(int fd)
{
  struct stat st;
  return fstat(fd, &st) == 0 ? (uint64_t) st.st_ino : 0;
}

/* Only security.capability and user.* (not user.overlay.*, which a rootless overlay mount would
 * obey) come from the archive; trusted.*, security.selinux, system.* never do. */
static bool xattr_allowed(const char *name)
{
  if (strcmp(name, "security.capability") == 0)
    return true;
  return strncmp(name, "user.", 5) == 0 && strncmp(name, "user.overlay.", 13) != 0;
}

static int set_xattrs(struct mtk_unpack_ctx *c, struct archive_entry *e, int fd,
                      struct mtk_err **err)
{
  const char *name;
  const void *val;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
    if (!name || !xattr_allowed(name)) {
      c->st.skipped_xattrs++;
      continue;
    }
    if (size > MTK_UNPACK_MAX_XATTR)
      return mtk_err_set(err, MTK_E_INVALID, "xattr %s is %zu bytes, above the %d-byte limit", name,
                         size, MTK_UNPACK_MAX_XATTR);
    if (fsetxattr(fd, name, val, size, 0) == 0)
      continue;
    if (errno == ENOTSUP || (errno == EPERM && !c->restore_owner)) {
      c->st.skipped_xattrs++;
      continue;
    }
    return mtk_err_set(err, errno, "setting xattr %s: %s", name, strerror(errno));
  }
  return 0;
}

/* Ownership, xattrs, mode, times, in that order: chown clears set-id bits and file
 * capabilities, so it comes first, and writing the data is already done. */
static int meta_fd(struct mtk_unpack_ctx *c, struct archive_entry *e, int fd, const struct meta *m,
                   bool mode_and_times, struct mtk_err **err)
{
  if (c->restore_owner && fchown(fd, m->uid, m->gid) < 0)
    return sys_err(err, "chown");
  if (set_xattrs(c, e, fd, err) < 0)
    return -1;
  if (!mode_and_times)
    return 0;
  if (fchmod(fd, m->mode) < 0)
    return sys_err(err, "chmod");
  if (futimens(fd, m->ts) < 0)
    return sys_err(err, "setting times");
  return 0;
}

/* Makes room for a new object of type `type` at base in pfd: a directory over a directory is
 * kept (returns 1), anything else there is removed (returns 0; *was_whiteout when it was an
 * overlay whiteout device).  A symlink there is removed, never followed. */
static int make_room(struct mtk_unpack_ctx *c, int pfd, const char *base, mode_t type,
                     bool *was_whiteout, struct mtk_err **err)
{
  struct stat st;
  *was_whiteout = false;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : sys_err(err, "stat");
  if (S_ISDIR(type) && S_ISDIR(st.st_mode))
    return 1;
  *was_whiteout = S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
  return mtk_unpack_remove(c, pfd, base, false, err) < 0 ? -1 : 0;
}

static int pwrite_all(int fd, const char *buf, size_t len, int64_t off)
{
  while (len > 0) {
    ssize_t n = pwrite(fd, buf, len, (off_t) off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    buf += n;
    len -= (size_t) n;
    off += n;
  }
  return 0;
}

/* Copies the entry's data blocks (holes of sparse entries stay holes) and sets the size. */
static int write_data(struct mtk_unpack_ctx *c, struct archive_entry *e, int fd,
                      struct mtk_err **err)
{
  int64_t end = 0;
  for (;;) {
    const void *buf;
    size_t len;
    la_int64_t off;
    int r = archive_read_data_block(c->tar, &buf, &len, &off);
    if (r == ARCHIVE_EOF)
      break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      return mtk_err_set(err, MTK_E_INVALID, "reading file data: %s", archive_error_string(c->tar));
    if (off < 0 || off > c->max_bytes || (int64_t) len > c->max_bytes - off)
      return mtk_err_set(err, MTK_E_INVALID, "file data beyond the %lld-byte limit",
                         (long long) c->max_bytes);
    if (len > 0 && pwrite_all(fd, buf, len, off) < 0)
      return sys_err(err, "writing file data");
    c->st.data_bytes += (int64_t) len;
    if (off + (int64_t) len > end)
      end = off + (int64_t) len;
  }
  int64_t size = archive_entry_size(e);
  if (size > end && ftruncate(fd, (off_t) size) < 0)
    return sys_err(err, "setting the file size");
  return 0;
}

static int regular(struct mtk_unpack_ctx *c, struct archive_entry *e, const char *path,
                   struct mtk_err **err)
{
  struct meta m;
  const char *base;
  bool wh;
  if (read_meta(c, e, &m, err) < 0)
    return -1;
  int64_t size = archive_entry_size(e);
  if (size < 0 || size > c->max_bytes)
    return mtk_err_set(err, MTK_E_INVALID, "file size %lld is above the %lld-byte limit",
                       (long long) size, (long long) c->max_bytes);
  int pfd = mtk_unpack_parent(c, path, true, &base, err);
  if (pfd < 0 || make_room(c, pfd, base, S_IFREG, &wh, err) < 0)
    return -1;
  mtk_autoclose int fd =
      openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return sys_err(err, "create");
  mtk_unpack_mark(c, ino_of(pfd), base);
  if (write_data(c, e, fd, err) < 0)
    return -1;
  return meta_fd(c, e, fd, &m, true, err);
}

static int set_opaque(struct mtk_unpack_ctx *c, int pfd, const char *name, struct mtk_err **err)
{
  mtk_autoclose int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return sys_err(err, "opening the directory to make it opaque");
  if (fsetxattr(fd, c->opaque_xattr, "y", 1, 0) < 0)
    return mtk_err_set(err, errno, "setting %s: %s", c->opaque_xattr, strerror(errno));
  return 0;
}

/* A directory's mode and times are deferred (mtk_unpack_finish_dirs): entries created inside
 * would change the mtime, and a read-only mode would stop a rootless unpack. */
static int directory(struct mtk_unpack_ctx *c, struct archive_entry *e, const char *path,
                     struct mtk_err **err)
{
  struct meta m;
  const char *base;
  bool wh;
  struct stat st;
  if (read_meta(c, e, &m, err) < 0)
    return -1;
  int pfd = mtk_unpack_parent(c, path, true, &base, err);
  if (pfd < 0)
    return -1;
  int kept = make_room(c, pfd, base, S_IFDIR, &wh, err);
  if (kept < 0)
    return -1;
  if (!kept && mkdirat(pfd, base, 0700) < 0)
    return sys_err(err, "mkdir");
  mtk_autoclose int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &st) < 0)
    return sys_err(err, "opening the new directory");
  mtk_unpack_mark(c, ino_of(pfd), base);
  if (meta_fd(c, e, fd, &m, false, err) < 0)
    return -1;
  /* A directory replacing a whiteout of this layer hides the lower directory's content. */
  if (c->mode == MTK_UNPACK_OVERLAY && wh && set_opaque(c, pfd, base, err) < 0)
    return -1;
  mtk_unpack_defer_dir(c, path, &st, m.mode, m.ts);
  return 0;
}

static int symlink_entry(struct mtk_unpack_ctx *c, struct archive_entry *e, const char *path,
                         struct mtk_err **err)
{
  struct meta m;
  const char *base;
  bool wh;
  const char *target = archive_entry_symlink(e);
  if (!target)
    target = archive_entry_symlink_utf8(e);
  if (!target || !*target)
    return mtk_err_set(err, MTK_E_INVALID, "symlink without a target");
  if (strlen(target) > MTK_UNPACK_MAX_LINK)
    return mtk_err_set(err, MTK_E_INVALID, "symlink target is %zu bytes, above the %d-byte limit",
                       strlen(target), MTK_UNPACK_MAX_LINK);
  if (read_meta(c, e, &m, err) < 0)
    return -1;
  int pfd = mtk_unpack_parent(c, path, true, &base, err);
  if (pfd < 0 || make_room(c, pfd, base, S_IFLNK, &wh, err) < 0)
    return -1;
  /* The target is stored verbatim (absolute targets are legal); it is only ever interpreted by
   * openat2(RESOLVE_IN_ROOT), with the snapshot root as "/". */
  if (symlinkat(target, pfd, base) < 0)
    return sys_err(err, "symlink");
  mtk_unpack_mark(c, ino_of(pfd), base);
  if (c->restore_owner && fchownat(pfd, base, m.uid, m.gid, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_err(err, "lchown");
  if (utimensat(pfd, base, m.ts, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_err(err, "setting times");
  /* Mode bits, xattrs and ACLs of a symlink entry are not applied (CVE-2021-23177). */
  c->st.skipped_xattrs += archive_entry_xattr_count(e);
  return 0;
}

/* A hardlink's target must already be in the root (this layer or a lower one), be a clean
 * local path and not a directory; it is resolved inside the root like any name and linked
 * without following a final symlink.  Data carried by a hardlink entry is ignored
 * (CVE-2016-5418). */
static int hardlink(struct mtk_unpack_ctx *c, const char *path, const char *raw_target,
                    struct mtk_err **err)
{
  const char *base, *tbase;
  struct stat tst, st;
  bool wh;
  mtk_autofree char *target = mtk_unpack_clean(raw_target, err);
  if (!target)
    return mtk_err_wrap(err, "hardlink target");
  if (!*target || strcmp(target, path) == 0)
    return mtk_err_set(err, MTK_E_INVALID, "hardlink to %s",
                       *target ? "itself" : "the root directory");
  mtk_autoclose int tfd = mtk_unpack_parent_fd(c, target, &tbase, err);
  if (tfd == -1)
    return -1;
  if (tfd == -2 || fstatat(tfd, tbase, &tst, AT_SYMLINK_NOFOLLOW) < 0) {
    mtk_autofree char *q = mtk_unpack_quote(target);
    if (tfd == -2 || errno == ENOENT)
      return mtk_err_set(err, MTK_E_INVALID, "hardlink target %s does not exist%s", q,
                         c->mode == MTK_UNPACK_OVERLAY ? " in this layer" : "");
    return sys_err(err, "stat of the hardlink target");
  }
  if (S_ISDIR(tst.st_mode))
    return mtk_err_set(err, MTK_E_INVALID, "hardlink to a directory");
  int pfd = mtk_unpack_parent(c, path, true, &base, err);
  if (pfd < 0)
    return -1;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == tst.st_dev &&
      st.st_ino == tst.st_ino) {
    mtk_unpack_mark(c, ino_of(pfd), base);
    return 0;
  }
  if (make_room(c, pfd, base, S_IFREG, &wh, err) < 0)
    return -1;
  if (linkat(tfd, tbase, pfd, base, 0) < 0)
    return sys_err(err, "link");
  mtk_unpack_mark(c, ino_of(pfd), base);
  return 0;
}

/* FIFOs always; character and block devices only when running as root and not rootless (an
 * EPERM, as in a user namespace, skips them too).  Never opened. */
static int node(struct mtk_unpack_ctx *c, struct archive_entry *e, const char *path, mode_t type,
                struct mtk_err **err)
{
  struct meta m;
  const char *base;
  bool wh;
  if (type != S_IFIFO && !c->make_devices) {
    c->st.skipped_devices++;
    return 0;
  }
  if (read_meta(c, e, &m, err) < 0)
    return -1;
  int pfd = mtk_unpack_parent(c, path, true, &base, err);
  if (pfd < 0 || make_room(c, pfd, base, type, &wh, err) < 0)
    return -1;
  dev_t dev = type == S_IFIFO ? 0 : makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
  if (mknodat(pfd, base, type | 0600, dev) < 0) {
    if (errno == EPERM && type != S_IFIFO) {
      c->st.skipped_devices++;
      return 0;
    }
    return sys_err(err, "mknod");
  }
  mtk_unpack_mark(c, ino_of(pfd), base);
  if (c->restore_owner && fchownat(pfd, base, m.uid, m.gid, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_err(err, "lchown");
  /* The node was just created by this process in its private snapshot, so the name cannot
   * have become a symlink in between. */
  if (fchmodat(pfd, base, m.mode, 0) < 0)
    return sys_err(err, "chmod");
  if (utimensat(pfd, base, m.ts, AT_SYMLINK_NOFOLLOW) < 0)
    return sys_err(err, "setting times");
  c->st.skipped_xattrs += archive_entry_xattr_count(e);
  return 0;
}

/* `dir/.wh.<name>` hides <name> of the lower layers; `dir/.wh..wh..opq` hides all lower
 * children of dir.  Flatten: deleted in the target (what this layer wrote is spared).  Overlay:
 * a 0/0 character device, or the opaque xattr. */
static int whiteout(struct mtk_unpack_ctx *c, const char *path, const char *name,
                    struct mtk_err **err)
{
  const char *base;
  struct stat st;
  bool opaque = strcmp(name, WH_OPAQUE_NAME) == 0;
  if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
    return mtk_err_set(err, MTK_E_INVALID, "whiteout that names no file");
  if (!opaque && strncmp(name, WH_PREFIX, 4) == 0)
    return mtk_err_set(err, MTK_E_INVALID, "unknown whiteout metadata entry");
  bool overlay = c->mode == MTK_UNPACK_OVERLAY;
  int pfd = mtk_unpack_parent(c, path, overlay, &base, err);
  if (pfd == -2)
    return 0; /* flatten: nothing below to hide */
  if (pfd < 0)
    return -1;
  if (!overlay)
    return opaque ? mtk_unpack_clear(c, pfd, err) : mtk_unpack_remove(c, pfd, name, true, err);
  if (opaque)
    return set_opaque(c, pfd, ".", err);
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return S_ISDIR(st.st_mode) ? set_opaque(c, pfd, name, err) : 0;
  if (errno != ENOENT)
    return sys_err(err, "stat");
  if (mknodat(pfd, name, S_IFCHR, makedev(0, 0)) < 0)
    return sys_err(err, "creating the overlay whiteout");
  return 0;
}

/* Root-level `.wh..wh.*` entries are AUFS metadata (skipped); any other component used as a
 * directory that starts with `.wh.` is refused, so no whiteout name ever appears in the
 * result. */
static int check_components(struct mtk_unpack_ctx *c, const char *path, bool *skip,
                            struct mtk_err **err)
{
  *skip = false;
  if (strncmp(path, WH_META, 8) == 0 && path[8] && path[8] != '/' && strcmp(path, WH_OPAQUE) != 0) {
    c->st.skipped_meta++;
    *skip = true;
    return 0;
  }
  for (const char *p = path; *p;) {
    const char *slash = strchr(p, '/');
    if (!slash)
      break;
    if (strncmp(p, WH_PREFIX, 4) == 0)
      return mtk_err_set(err, MTK_E_INVALID, "a whiteout name is used as a directory");
    p = slash + 1;
  }
  return 0;
}

int mtk_unpack_entry(struct mtk_unpack_ctx *c, struct archive_entry *e, struct mtk_err **err)
{
  bool skip;
  const char *name = archive_entry_pathname(e);
  if (!name)
    name = archive_entry_pathname_utf8(e);
  /* libarchive gives NULL for an empty name: the root, like "." */
  mtk_autofree char *path = mtk_unpack_clean(name ? name : "", err);
  if (!path)
    return -1;
  mode_t type = archive_entry_filetype(e);
  const char *hl = archive_entry_hardlink(e);
  if (!hl)
    hl = archive_entry_hardlink_utf8(e);
  if (!*path) {
    /* ".", "./", "/": the root itself is never replaced nor re-stated (CVE-2021-29136). */
    if (type == AE_IFDIR && !hl)
      return 0;
    return mtk_err_set(err, MTK_E_INVALID, "entry would replace the snapshot root");
  }
  if (check_components(c, path, &skip, err) < 0 || skip)
    return skip ? 0 : -1;
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  if (strncmp(base, WH_PREFIX, 4) == 0)
    return whiteout(c, path, base + 4, err);
  if (hl)
    return hardlink(c, path, hl, err);
  switch (type) {
    case AE_IFREG:
      return regular(c, e, path, err);
    case AE_IFDIR:
      return directory(c, e, path, err);
    case AE_IFLNK:
      return symlink_entry(c, e, path, err);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      return node(c, e, path, type, err);
    case AE_IFSOCK:
      c->st.skipped_devices++;
      return 0;
    default:
      return mtk_err_set(err, MTK_E_INVALID, "unsupported entry type 0%o", (unsigned) type);
  }
}

char *mtk_unpack_quote(const char *name)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  size_t n = 0;
  mtk_strbuf_addc(&sb, '"');
  for (const unsigned char *p = (const unsigned char *) name; *p; p++, n++) {
    if (n >= 200) {
      mtk_strbuf_adds(&sb, "...");
      break;
    }
    if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
      mtk_strbuf_addf(&sb, "\\x%02x", *p);
    else
      mtk_strbuf_addc(&sb, (char) *p);
  }
  mtk_strbuf_addc(&sb, '"');
  return mtk_strbuf_steal(&sb);
}
