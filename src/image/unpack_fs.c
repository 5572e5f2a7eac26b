/* The file-system side of layer unpacking: entry names cleaned, parent directories resolved
 * inside the snapshot root with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV) (missing ones created the way containerd does, through dangling symlinks
 * re-resolved in the root), removal of lower-layer content without following symlinks, the set
 * of entries written by this layer, and the deferred directory modes and times.
 * Nothing here ever builds a host path: every call is relative to a directory fd. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "image/unpack_internal.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* Symlinks followed while creating missing parents, as the kernel's MAXSYMLINKS. */
#define MAX_HOPS 40
/* Directory levels removed while holding each level's fd; deeper levels re-open the parent
 * through ".." so a deep tree cannot exhaust the fd table. */
#define HELD_LEVELS 32

char *mtk_unpack_clean(const char *name, struct mtk_err **err)
{
  size_t n = strlen(name);
  if (n > MTK_UNPACK_MAX_PATH)
    return mtk_err_set(err, MTK_E_INVALID, "name is %zu bytes long, above the %d-byte limit", n,
                       MTK_UNPACK_MAX_PATH),
           NULL;
  char *out = mtk_xmalloc(n + 1);
  size_t len = 0;
  const char *p = name;
  while (*p) {
    while (*p == '/')
      p++;
    const char *s = p;
    while (*p && *p != '/')
      p++;
    size_t cl = (size_t) (p - s);
    if (cl == 0 || (cl == 1 && s[0] == '.'))
      continue;
    if (cl == 2 && s[0] == '.' && s[1] == '.') {
      /* Pop the last kept component; popping past the root is an escape. */
      if (len == 0) {
        free(out);
        return mtk_err_set(err, MTK_E_INVALID, "name climbs above the root with \"..\""), NULL;
      }
      while (len > 0 && out[len - 1] != '/')
        len--;
      if (len > 0)
        len--;
      continue;
    }
    if (len > 0)
      out[len++] = '/';
    memcpy(out + len, s, cl);
    len += cl;
  }
  out[len] = '\0';
  return out;
}

static int openat2_in_root(int root, const char *path, int flags)
{
  struct open_how how = {
      .flags = (uint64_t) (flags | O_CLOEXEC),
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  long r;
  int tries = 0;
  /* EAGAIN: a concurrent rename somewhere on the system; retried a few times. */
  do
    r = syscall(SYS_openat2, root, *path ? path : ".", &how, sizeof(how));
  while (r < 0 && errno == EAGAIN && ++tries < 16);
  return (int) r;
}

static int resolve_err(struct mtk_err **err, int e, const char *dir)
{
  if (e == ELOOP)
    return mtk_err_set(err, ELOOP, "too many symlinks resolving \"%s\" in the root", dir);
  if (e == ENOTDIR)
    return mtk_err_set(err, MTK_E_INVALID, "\"%s\" is not a directory in the root", dir);
  if (e == EXDEV)
    return mtk_err_set(err, MTK_E_INVALID, "\"%s\" crosses a mount point or magic link", dir);
  return mtk_err_set(err, e, "cannot open directory \"%s\" in the root: %s", dir, strerror(e));
}

/* Appends the components of rest (a '/'-separated tail) to sb. */
static void join(struct mtk_strbuf *sb, const char *rest)
{
  if (sb->len && rest[0] && sb->buf[sb->len - 1] != '/')
    mtk_strbuf_addc(sb, '/');
  mtk_strbuf_adds(sb, rest);
}

/* The symlink `comp` in directory pfd was dangling: the walk restarts on its target (read
 * relative to the root when absolute, to the prefix otherwise) followed by the rest. */
static int follow_dangling(int pfd, const char *prefix, const char *comp, const char *rest,
                           struct mtk_strbuf *next, struct mtk_err **err)
{
  char target[MTK_UNPACK_MAX_PATH + 1];
  ssize_t n = readlinkat(pfd, comp, target, sizeof(target));
  if (n < 0 || (size_t) n >= sizeof(target))
    return mtk_err_set(err, n < 0 ? errno : ENAMETOOLONG, "cannot read symlink \"%s\"", comp);
  target[n] = '\0';
  mtk_strbuf_reset(next);
  if (target[0] != '/')
    join(next, prefix);
  join(next, target);
  join(next, rest);
  if (next->len > MTK_UNPACK_MAX_PATH)
    return mtk_err_set(err, ENAMETOOLONG, "path through symlink \"%s\" is too long", comp);
  return 0;
}

/* One step of the walk: *cur, an O_PATH fd of the directory `prefix`, moves to its child
 * comp, created (0755) when missing.  A plain subdirectory is entered with O_NOFOLLOW (so a
 * walk stays linear); "..", a symlink or a non-directory is left to the kernel, resolving
 * prefix/comp inside the root.  Returns 0, 1 when comp is a dangling symlink (prefix left
 * unchanged), -1 on error. */
static int step(struct mtk_unpack_ctx *c, int *cur, struct mtk_strbuf *prefix, const char *comp,
                struct mtk_err **err)
{
  size_t plen = prefix->len;
  bool plain = strcmp(comp, "..") != 0;
  int fd = -1;
  join(prefix, comp);
  if (plain) {
    fd = openat(*cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      if (mkdirat(*cur, comp, 0755) < 0)
        return mtk_err_set(err, errno, "cannot create directory \"%s\" in the root: %s",
                           mtk_strbuf_str(prefix), strerror(errno));
      fchmodat(*cur, comp, 0755, 0); /* whatever the umask */
      fd = openat(*cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return resolve_err(err, errno, mtk_strbuf_str(prefix));
    } else if (fd < 0 && errno != ENOTDIR && errno != ELOOP) {
      return resolve_err(err, errno, mtk_strbuf_str(prefix));
    }
  }
  if (fd < 0) {
    fd = openat2_in_root(c->root_fd, mtk_strbuf_str(prefix), O_PATH | O_DIRECTORY);
    if (fd < 0 && errno == ENOENT && plain) {
      prefix->len = plen;
      prefix->buf[plen] = '\0';
      return 1;
    }
    if (fd < 0)
      return resolve_err(err, errno, mtk_strbuf_str(prefix));
  }
  close(*cur);
  *cur = fd;
  return 0;
}

/* Walks dir component by component from the root, creating missing directories (0755), and
 * returns an O_PATH fd of it.  A dangling symlink on the way is followed to its in-root target,
 * which is created: the containerd behaviour (fs.RootPath then MkdirAll) without ever leaving
 * the root. */
static int make_dirs(struct mtk_unpack_ctx *c, const char *dir, struct mtk_err **err)
{
  mtk_autostrbuf cur = MTK_STRBUF_INIT;
  mtk_autostrbuf prefix = MTK_STRBUF_INIT;
  mtk_autostrbuf next = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&cur, dir);
  for (int hops = 0; hops <= MAX_HOPS; hops++) {
    mtk_autoclose int fd = openat2_in_root(c->root_fd, "", O_PATH | O_DIRECTORY);
    if (fd < 0)
      return resolve_err(err, errno, "/");
    mtk_strbuf_reset(&prefix);
    const char *p = mtk_strbuf_str(&cur);
    for (;;) {
      while (*p == '/')
        p++;
      const char *s = p;
      while (*p && *p != '/')
        p++;
      if (p == s)
        return mtk_steal_fd(&fd);
      mtk_autofree char *comp = mtk_xstrndup(s, (size_t) (p - s));
      if (strcmp(comp, ".") == 0)
        continue;
      int r = step(c, &fd, &prefix, comp, err);
      if (r < 0)
        return -1;
      if (r == 0)
        continue;
      if (follow_dangling(fd, mtk_strbuf_str(&prefix), comp, p, &next, err) < 0)
        return -1;
      break;
    }
    mtk_strbuf_reset(&cur);
    mtk_strbuf_add(&cur, next.buf, next.len);
  }
  return mtk_err_set(err, ELOOP, "too many symlinks creating \"%s\" in the root", dir);
}

/* Returns an O_PATH fd of dir, -1 with *err set, or -2 (no error) when dir is missing or not
 * a directory and create is false. */
static int open_dir(struct mtk_unpack_ctx *c, const char *dir, bool create, struct mtk_err **err)
{
  int fd = openat2_in_root(c->root_fd, dir, O_PATH | O_DIRECTORY);
  if (fd >= 0)
    return fd;
  if (!create && (errno == ENOENT || errno == ENOTDIR))
    return -2;
  if (errno != ENOENT) {
    resolve_err(err, errno, dir);
    return -1;
  }
  fd = make_dirs(c, dir, err);
  return fd < 0 ? -1 : fd;
}

static char *dir_of(const char *path, const char **base)
{
  const char *slash = strrchr(path, '/');
  *base = slash ? slash + 1 : path;
  return slash ? mtk_xstrndup(path, (size_t) (slash - path)) : mtk_xstrdup("");
}

int mtk_unpack_parent(struct mtk_unpack_ctx *c, const char *path, bool create, const char **base,
                      struct mtk_err **err)
{
  mtk_autofree char *dir = dir_of(path, base);
  if (c->cache_stale || (c->cache_path && strcmp(c->cache_path, dir) != 0)) {
    if (c->cache_fd >= 0)
      close(c->cache_fd);
    c->cache_fd = -1;
    free(c->cache_path);
    c->cache_path = NULL;
    c->cache_stale = false;
  }
  if (c->cache_fd >= 0)
    return c->cache_fd;
  int fd = open_dir(c, dir, create, err);
  if (fd < 0)
    return fd;
  c->cache_fd = fd;
  c->cache_path = mtk_steal_ptr(&dir);
  return fd;
}

int mtk_unpack_parent_fd(struct mtk_unpack_ctx *c, const char *path, const char **base,
                         struct mtk_err **err)
{
  mtk_autofree char *dir = dir_of(path, base);
  return open_dir(c, dir, false, err);
}

/* The written-entries set: open addressing with linear probing on (inode, name). */

static uint64_t key_hash(uint64_t ino, const char *name)
{
  uint64_t h = 1469598103934665603ULL ^ ino;
  for (const unsigned char *p = (const unsigned char *) name; *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  return h ^ (h >> 29);
}

static struct mtk_unpack_key *key_slot(struct mtk_unpack_key *keys, size_t cap, uint64_t ino,
                                       const char *name)
{
  size_t i = (size_t) key_hash(ino, name) & (cap - 1);
  while (keys[i].name && (keys[i].ino != ino || strcmp(keys[i].name, name) != 0))
    i = (i + 1) & (cap - 1);
  return &keys[i];
}

bool mtk_unpack_marked(const struct mtk_unpack_ctx *c, uint64_t dir_ino, const char *name)
{
  if (c->capkeys == 0)
    return false;
  return key_slot(c->keys, c->capkeys, dir_ino, name)->name != NULL;
}

void mtk_unpack_mark(struct mtk_unpack_ctx *c, uint64_t dir_ino, const char *name)
{
  if ((c->nkeys + 1) * 2 > c->capkeys) {
    size_t cap = c->capkeys ? c->capkeys * 2 : 1024;
    struct mtk_unpack_key *keys = mtk_xcalloc(cap, sizeof(*keys));
    for (size_t i = 0; i < c->capkeys; i++)
      if (c->keys[i].name)
        *key_slot(keys, cap, c->keys[i].ino, c->keys[i].name) = c->keys[i];
    free(c->keys);
    c->keys = keys;
    c->capkeys = cap;
  }
  struct mtk_unpack_key *k = key_slot(c->keys, c->capkeys, dir_ino, name);
  if (k->name)
    return;
  k->ino = dir_ino;
  k->name = mtk_xstrdup(name);
  c->nkeys++;
}

/* Removal.  Directories are opened with O_NOFOLLOW one level at a time, so a symlink is
 * always removed itself and never entered. */

struct names {
  char **v;
  size_t n, cap;
};

static void names_free(struct names *ns)
{
  for (size_t i = 0; i < ns->n; i++)
    free(ns->v[i]);
  free(ns->v);
}

static int list_dir(int fd, struct names *ns, struct mtk_err **err)
{
  int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!d) {
    int e = errno;
    if (dfd >= 0)
      close(dfd);
    return mtk_err_set(err, e, "cannot list a directory to remove: %s", strerror(e));
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    if (ns->n == ns->cap) {
      ns->cap = ns->cap ? ns->cap * 2 : 16;
      ns->v = mtk_xrealloc(ns->v, ns->cap * sizeof(*ns->v));
    }
    ns->v[ns->n++] = mtk_xstrdup(de->d_name);
  }
  closedir(d);
  return 0;
}

static int clear_dir(struct mtk_unpack_ctx *c, int *fd, bool spare, int depth,
                     struct mtk_err **err);

/* Removes the directory `name` of *dirfd (ino dir_ino) after emptying it.  Deep down, *dirfd is
 * closed during the descent and re-opened through the child's "..", checked by inode. */
static int remove_dir(struct mtk_unpack_ctx *c, int *dirfd, uint64_t dir_ino, const char *name,
                      bool spare, int depth, struct mtk_err **err)
{
  mtk_autoclose int cfd = openat(*dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (cfd < 0)
    return mtk_err_set(err, errno, "cannot open \"%s\" to remove it: %s", name, strerror(errno));
  bool release = depth >= HELD_LEVELS;
  if (release) {
    close(*dirfd);
    *dirfd = -1;
  }
  int r = clear_dir(c, &cfd, spare, depth + 1, err);
  if (release) {
    struct stat st;
    *dirfd = openat(cfd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*dirfd < 0 || fstat(*dirfd, &st) < 0 || (uint64_t) st.st_ino != dir_ino)
      return mtk_err_set(err, EIO, "directory changed while removing \"%s\"", name);
  }
  if (r < 0)
    return r;
  if (spare && mtk_unpack_marked(c, dir_ino, name))
    return 0;
  if (unlinkat(*dirfd, name, AT_REMOVEDIR) < 0 && !(spare && errno == ENOTEMPTY))
    return mtk_err_set(err, errno, "cannot remove directory \"%s\": %s", name, strerror(errno));
  return 0;
}

/* Removes the children of the directory *fd (kept open, possibly re-opened). */
static int clear_dir(struct mtk_unpack_ctx *c, int *fd, bool spare, int depth, struct mtk_err **err)
{
  struct names ns = {0};
  struct stat dst;
  if (fstat(*fd, &dst) < 0)
    return mtk_err_set(err, errno, "cannot stat a directory to remove: %s", strerror(errno));
  if (dst.st_dev != c->root_dev)
    return mtk_err_set(err, EXDEV, "refusing to remove content on another file system");
  int r = list_dir(*fd, &ns, err);
  for (size_t i = 0; r == 0 && i < ns.n; i++) {
    struct stat st;
    if (fstatat(*fd, ns.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno != ENOENT)
        r = mtk_err_set(err, errno, "cannot stat \"%s\": %s", ns.v[i], strerror(errno));
      continue;
    }
    if (S_ISDIR(st.st_mode))
      r = remove_dir(c, fd, (uint64_t) dst.st_ino, ns.v[i], spare, depth, err);
    else if (!(spare && mtk_unpack_marked(c, (uint64_t) dst.st_ino, ns.v[i])) &&
             unlinkat(*fd, ns.v[i], 0) < 0 && errno != ENOENT)
      r = mtk_err_set(err, errno, "cannot remove \"%s\": %s", ns.v[i], strerror(errno));
  }
  names_free(&ns);
  return r < 0 ? -1 : 0;
}

int mtk_unpack_remove(struct mtk_unpack_ctx *c, int dirfd, const char *name, bool spare,
                      struct mtk_err **err)
{
  struct stat st, dst;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : mtk_err_set(err, errno, "cannot stat: %s", strerror(errno));
  if (fstat(dirfd, &dst) < 0)
    return mtk_err_set(err, errno, "cannot stat the parent directory: %s", strerror(errno));
  c->cache_stale = true;
  if (!S_ISDIR(st.st_mode)) {
    if (spare && mtk_unpack_marked(c, (uint64_t) dst.st_ino, name))
      return 0;
    if (unlinkat(dirfd, name, 0) < 0)
      return mtk_err_set(err, errno, "cannot remove \"%s\": %s", name, strerror(errno));
    return 0;
  }
  mtk_autoclose int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return mtk_err_set(err, errno, "cannot open the parent directory: %s", strerror(errno));
  return remove_dir(c, &fd, (uint64_t) dst.st_ino, name, spare, 0, err);
}

int mtk_unpack_clear(struct mtk_unpack_ctx *c, int dirfd, struct mtk_err **err)
{
  mtk_autoclose int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return mtk_err_set(err, errno, "cannot open the opaque directory: %s", strerror(errno));
  c->cache_stale = true;
  return clear_dir(c, &fd, true, 0, err);
}

/* Deferred directory metadata. */

void mtk_unpack_defer_dir(struct mtk_unpack_ctx *c, const char *path, const struct stat *st,
                          mode_t mode, const struct timespec ts[2])
{
  if (c->ndirs == c->capdirs) {
    c->capdirs = c->capdirs ? c->capdirs * 2 : 64;
    c->dirs = mtk_xrealloc(c->dirs, c->capdirs * sizeof(*c->dirs));
  }
  struct mtk_unpack_dir *d = &c->dirs[c->ndirs++];
  d->path = mtk_xstrdup(path);
  d->dev = st->st_dev;
  d->ino = st->st_ino;
  d->mode = mode;
  d->ts[0] = ts[0];
  d->ts[1] = ts[1];
}

/* Children first (reverse order), so that setting a parent read-only or stamping its mtime
 * comes after everything inside it.  A path that no longer leads to the same directory inode
 * (replaced by a later entry, by a symlink for instance) is skipped: O_NOFOLLOW on the last
 * component, and the inode check, keep a fixup from ever reaching another file
 * (CVE-2021-31566). */
int mtk_unpack_finish_dirs(struct mtk_unpack_ctx *c, struct mtk_err **err)
{
  for (size_t i = c->ndirs; i-- > 0;) {
    struct mtk_unpack_dir *d = &c->dirs[i];
    mtk_autoclose int fd =
        openat2_in_root(c->root_fd, d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != d->dev || st.st_ino != d->ino)
      continue;
    if (fchmod(fd, d->mode) < 0)
      return mtk_err_set(err, errno, "chmod \"%s\": %s", d->path, strerror(errno));
    if (futimens(fd, d->ts) < 0)
      return mtk_err_set(err, errno, "setting the times of \"%s\": %s", d->path, strerror(errno));
  }
  return 0;
}

void mtk_unpack_ctx_release(struct mtk_unpack_ctx *c)
{
  if (c->cache_fd >= 0)
    close(c->cache_fd);
  c->cache_fd = -1;
  free(c->cache_path);
  c->cache_path = NULL;
  for (size_t i = 0; i < c->capkeys; i++)
    free(c->keys[i].name);
  free(c->keys);
  c->keys = NULL;
  c->capkeys = c->nkeys = 0;
  for (size_t i = 0; i < c->ndirs; i++)
    free(c->dirs[i].path);
  free(c->dirs);
  c->dirs = NULL;
  c->ndirs = c->capdirs = 0;
}
