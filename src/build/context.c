/* The build context: which files of a context directory a build may use,
 * their cache keys, and the tar stream `docker build` would send.
 *
 * Selection follows BuildKit (fsutil's filtered walk with patternmatcher):
 * each directory's names are visited in byte order; an excluded directory is
 * skipped unless an exception (`!...`) could re-include something below it,
 * in which case it is walked and listed only if something below it is kept.
 * The ignore file is `<Dockerfile>.dockerignore` beside the Dockerfile when
 * that exists, else the context's `.dockerignore`.
 *
 * Nothing is ever resolved through a symlink below the root: the walk uses
 * openat/fstatat with O_NOFOLLOW relative to directory fds, and a file is
 * reopened for reading one component at a time with O_NOFOLLOW, so a
 * symlink swapped in during the build cannot lead outside the context.
 *
 * The cache key leaves out what cannot reach an image (owners, times, inode
 * numbers): see mtk_context_hash in context.h. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "build/context.h"
#include "build/ignore.h"
#include "util/cleanup.h"
#include "util/sha256.h"
#include "util/strbuf.h"

/* An ignore file larger than this is refused (it would be read whole). */
#define IGNORE_FILE_MAX (16 * 1024 * 1024)
#define IO_CHUNK 65536

struct entries {
  struct mtk_context_entry *v; /* owned */
  size_t n, cap;
};

struct mtk_context {
  int root_fd;               /* owned: O_PATH directory fd of the root */
  char *root;                /* owned: the root, symlinks resolved */
  char *dockerfile;          /* owned: absolute path of the Dockerfile */
  char *ignore_file;         /* owned: absolute path of the ignore file in use, or NULL */
  struct mtk_ignore *ignore; /* owned: its patterns, or NULL */
  bool prefix_exceptions;    /* every exception is a plain path (fsutil's shortcut) */
  struct entries ents;       /* the selected entries, in walk order */
  char (*digests)[MTK_SHA256_HEX_SIZE]; /* owned: content digest per entry, "" until known */
  struct entries build_files;           /* excluded Dockerfile / ignore file, still sent */
  bool fixed_mtime;                     /* mtk_context_set_tar_mtime was called */
  int64_t tar_mtime;                    /* the mtime it set */
};

/* The walk's state: the pending (excluded, maybe re-included) directories. */
struct walk {
  struct mtk_context *c;  /* borrowed */
  struct entries pending; /* excluded directories above the current one */
};

static void entry_clear(struct mtk_context_entry *e)
{
  free(e->path);
  free(e->link);
}

static void entries_free(struct entries *l)
{
  for (size_t i = 0; i < l->n; i++)
    entry_clear(&l->v[i]);
  free(l->v);
  *l = (struct entries){0};
}

static void entries_push(struct entries *l, struct mtk_context_entry e)
{
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 64;
    l->v = mtk_xrealloc(l->v, l->cap * sizeof(*l->v));
  }
  l->v[l->n++] = e;
}

/* Walk order: bytes compared with '/' lowest, so a directory's contents
 * follow it directly ("a", "a/b", "a-b"). */
static int walk_cmp(const char *a, const char *b)
{
  for (;; a++, b++) {
    int x = *a == '/' ? 1 : *a ? (unsigned char) *a + 1 : 0;
    int y = *b == '/' ? 1 : *b ? (unsigned char) *b + 1 : 0;
    if (x != y || x == 0)
      return (x > y) - (x < y);
  }
}

static int entry_cmp(const void *a, const void *b)
{
  return walk_cmp(((const struct mtk_context_entry *) a)->path,
                  ((const struct mtk_context_entry *) b)->path);
}

/* ---- opening files beneath the root ---- */

/* Opens the context-relative `rel` with `flags`, never through a symlink:
 * every directory component is opened with O_NOFOLLOW, then the last one. */
static int open_beneath(int root_fd, const char *rel, int flags)
{
  mtk_autofree char *copy = mtk_xstrdup(rel);
  mtk_autoclose int dir = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  char *save = NULL, *part = strtok_r(copy, "/", &save);
  if (dir < 0 || part == NULL)
    return -1;
  for (char *next; (next = strtok_r(NULL, "/", &save)) != NULL; part = next) {
    int fd = openat(dir, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      return -1;
    close(dir);
    dir = fd;
  }
  return openat(dir, part, flags | O_NOFOLLOW | O_CLOEXEC);
}

/* Opens a regular file of the context for reading and checks it is still
 * the entry that was listed (a regular file of the same size). */
static int open_entry(const struct mtk_context *c, const struct mtk_context_entry *e,
                      struct mtk_err **err)
{
  mtk_autoclose int fd = open_beneath(c->root_fd, e->path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0)
    return mtk_err_set(err, errno, "build context: cannot open %s: %s", e->path, strerror(errno));
  if (fstat(fd, &st) < 0)
    return mtk_err_set(err, errno, "build context: %s: %s", e->path, strerror(errno));
  if (!S_ISREG(st.st_mode) || st.st_size != e->size)
    return mtk_err_set(err, MTK_E_BUILD, "build context: %s changed while building", e->path);
  return mtk_steal_fd(&fd);
}

/* ---- the ignore file ---- */

/* Reads a whole file (at most IGNORE_FILE_MAX bytes) from fd. */
static int read_small(int fd, const char *what, struct mtk_strbuf *out, struct mtk_err **err)
{
  char buf[IO_CHUNK];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return mtk_err_set(err, errno, "cannot read %s: %s", what, strerror(errno));
    if (r == 0)
      return 0;
    if (out->len + (size_t) r > IGNORE_FILE_MAX)
      return mtk_err_set(err, MTK_E_INVALID, "%s is larger than %d bytes", what, IGNORE_FILE_MAX);
    mtk_strbuf_add(out, buf, (size_t) r);
  }
}

/* The context's .dockerignore, with symlinks resolved inside the root only
 * (BuildKit reads it through its FollowPaths, which cannot leave the root). */
static int open_root_ignore(int root_fd)
{
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  int fd = (int) syscall(SYS_openat2, root_fd, ".dockerignore", &how, sizeof(how));
  if (fd < 0 && (errno == ENOSYS || errno == EPERM))
    fd = openat(root_fd, ".dockerignore", O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  return fd;
}

/* Picks and loads the ignore file: <Dockerfile>.dockerignore beside the
 * Dockerfile, else the context's .dockerignore; none is fine. */
static int load_ignore(struct mtk_context *c, struct mtk_err **err)
{
  mtk_autofree char *beside = mtk_xasprintf("%s.dockerignore", c->dockerfile);
  mtk_autofree char *at_root = mtk_xasprintf("%s/.dockerignore", c->root);
  mtk_autoclose int fd = open(beside, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  const char *path = beside;
  if (fd < 0 && errno != ENOENT && errno != ENOTDIR)
    return mtk_err_set(err, errno, "cannot open %s: %s", beside, strerror(errno));
  if (fd < 0) {
    path = at_root;
    fd = open_root_ignore(c->root_fd);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
      return 0;
    if (fd < 0)
      return mtk_err_set(err, errno, "cannot open %s: %s", at_root, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
    return mtk_err_set(err, MTK_E_INVALID, "%s is not a regular file", path);
  mtk_autostrbuf text = MTK_STRBUF_INIT;
  if (read_small(fd, path, &text, err) < 0)
    return -1;
  c->ignore = mtk_ignore_load(text.buf ? text.buf : "", text.len, path, err);
  if (!c->ignore)
    return -1;
  c->ignore_file = mtk_xstrdup(path);
  return 0;
}

/* fsutil's patternWithoutTrailingGlob: the length without a final "/" + "**" or "/" + "*". */
static size_t without_trailing_glob(const char *p)
{
  size_t n = strlen(p);
  if (n >= 3 && strcmp(p + n - 3, "/**") == 0)
    n -= 3;
  if (n >= 2 && strncmp(p + n - 2, "/*", 2) == 0)
    n -= 2;
  return n;
}

/* fsutil's onlyPrefixExcludeExceptions: no exception uses a wildcard. */
static bool exceptions_are_prefixes(const struct mtk_ignore *m)
{
  for (size_t i = 0; i < mtk_ignore_len(m); i++) {
    bool exc;
    const char *p = mtk_ignore_pattern(m, i, &exc);
    size_t n = without_trailing_glob(p);
    for (size_t k = 0; exc && k < n; k++)
      if (strchr("*[]?^\\", p[k]))
        return false;
  }
  return true;
}

/* Whether an excluded directory must still be walked: some exception could
 * re-include something below it. */
static bool descend_excluded(const struct mtk_context *c, const char *dir)
{
  if (!c->prefix_exceptions)
    return true;
  size_t dn = strlen(dir);
  for (size_t i = 0; i < mtk_ignore_len(c->ignore); i++) {
    bool exc;
    const char *p = mtk_ignore_pattern(c->ignore, i, &exc);
    size_t n = without_trailing_glob(p);
    /* pattern + "/" starts with dir + "/" */
    if (exc && n >= dn && strncmp(p, dir, dn) == 0 && (n == dn || p[dn] == '/'))
      return true;
  }
  return false;
}

/* ---- the walk ---- */

/* Fills e for `name` in dirfd: 1, or 0 when it is gone or cannot be sent (a socket). */
static int stat_entry(int dirfd, const char *name, const char *path, struct mtk_context_entry *e,
                      struct mtk_err **err)
{
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT)
      return 0;
    return mtk_err_set(err, errno, "build context: %s: %s", path, strerror(errno));
  }
  if (S_ISSOCK(st.st_mode))
    return 0;
  *e = (struct mtk_context_entry){
      .mode = st.st_mode, .uid = st.st_uid, .gid = st.st_gid, .mtime = st.st_mtim.tv_sec};
  if (S_ISREG(st.st_mode))
    e->size = st.st_size;
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
    e->rdev = st.st_rdev;
  if (S_ISLNK(st.st_mode)) {
    size_t cap = (size_t) st.st_size + 1;
    for (;; cap *= 2) {
      e->link = mtk_xrealloc(e->link, cap);
      ssize_t r = readlinkat(dirfd, name, e->link, cap);
      if (r < 0) {
        free(e->link);
        e->link = NULL;
        return errno == ENOENT
                   ? 0
                   : mtk_err_set(err, errno, "build context: %s: %s", path, strerror(errno));
      }
      if ((size_t) r < cap) {
        e->link[r] = '\0';
        break;
      }
    }
  }
  e->path = mtk_xstrdup(path);
  return 1;
}

/* Lists e, after the excluded directories above it that it re-includes. */
static void keep(struct walk *w, struct mtk_context_entry e)
{
  for (size_t i = 0; i < w->pending.n; i++)
    entries_push(&w->c->ents, w->pending.v[i]);
  w->pending.n = 0;
  entries_push(&w->c->ents, e);
}

static int cmp_names(const void *a, const void *b)
{
  return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names in directory fd (without . and ..), sorted by bytes. */
static int read_names(int fd, char ***names, size_t *n)
{
  int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
  size_t cap = 0;
  *names = NULL, *n = 0;
  if (!d) {
    if (dup_fd >= 0)
      close(dup_fd);
    return -errno;
  }
  for (struct dirent *de; (errno = 0, de = readdir(d)) != NULL;) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    if (*n == cap)
      *names = mtk_xrealloc(*names, (cap = cap ? cap * 2 : 32) * sizeof(**names));
    (*names)[(*n)++] = mtk_xstrdup(de->d_name);
  }
  int e = errno;
  closedir(d);
  if (e)
    return -e;
  if (*n)
    qsort(*names, *n, sizeof(**names), cmp_names);
  return 0;
}

static int walk_dir(struct walk *w, int fd, const char *prefix, struct mtk_err **err);

/* One name of a directory: select it, and walk into it when it is a directory. */
static int walk_one(struct walk *w, int dirfd, const char *name, const char *path,
                    struct mtk_err **err)
{
  struct mtk_context_entry e;
  int r = stat_entry(dirfd, name, path, &e, err);
  bool excluded = false;
  if (r <= 0)
    return r;
  if (w->c->ignore && mtk_ignore_matches(w->c->ignore, path, &excluded, err) < 0) {
    entry_clear(&e);
    return -1;
  }
  if (!S_ISDIR(e.mode)) {
    if (!excluded)
      keep(w, e);
    else
      entry_clear(&e);
    return 0;
  }
  if (excluded && !descend_excluded(w->c, path)) {
    entry_clear(&e);
    return 0;
  }
  size_t depth = w->pending.n;
  if (excluded)
    entries_push(&w->pending, e);
  else
    keep(w, e);
  mtk_autoclose int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  mtk_autofree char *pre = mtk_xasprintf("%s/", path);
  if (sub < 0 && (errno == ENOENT || (excluded && errno == EACCES)))
    r = 0;
  else if (sub < 0)
    r = mtk_err_set(err, errno, "build context: cannot open directory %s: %s", path,
                    strerror(errno));
  else
    r = walk_dir(w, sub, pre, err);
  /* Still pending: nothing below it was kept, so it is not listed. */
  while (w->pending.n > depth)
    entry_clear(&w->pending.v[--w->pending.n]);
  return r;
}

static int walk_dir(struct walk *w, int fd, const char *prefix, struct mtk_err **err)
{
  char **names;
  size_t n;
  int r = read_names(fd, &names, &n);
  if (r < 0)
    return mtk_err_set(err, -r, "build context: cannot read directory %s: %s",
                       *prefix ? prefix : ".", strerror(-r));
  for (size_t i = 0; i < n && r == 0; i++) {
    mtk_autofree char *path = mtk_xasprintf("%s%s", prefix, names[i]);
    r = walk_one(w, fd, names[i], path, err);
  }
  for (size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return r;
}

/* The context-relative form of an absolute path inside the root, or NULL. */
static char *relative_to_root(const struct mtk_context *c, const char *abs)
{
  size_t n = strlen(c->root);
  if (strcmp(c->root, "/") == 0)
    return abs[1] ? mtk_xstrdup(abs + 1) : NULL;
  if (strncmp(abs, c->root, n) != 0 || abs[n] != '/' || abs[n + 1] == '\0')
    return NULL;
  return mtk_xstrdup(abs + n + 1);
}

/* The Dockerfile and the ignore file are sent even when excluded (as the
 * docker CLI does); they are then not COPY-able, so kept apart. */
static int add_build_file(struct mtk_context *c, const char *abs, struct mtk_err **err)
{
  mtk_autofree char *rel = abs ? relative_to_root(c, abs) : NULL;
  if (!rel || mtk_context_find(c, rel))
    return 0;
  for (size_t i = 0; i < c->build_files.n; i++)
    if (strcmp(c->build_files.v[i].path, rel) == 0)
      return 0;
  mtk_autofree char *dir = mtk_xstrdup(rel);
  char *slash = strrchr(dir, '/');
  const char *name = slash ? slash + 1 : rel;
  if (slash)
    *slash = '\0';
  mtk_autoclose int dfd = slash ? open_beneath(c->root_fd, dir, O_PATH | O_DIRECTORY)
                                : openat(c->root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct mtk_context_entry e;
  if (dfd < 0)
    return 0;
  int r = stat_entry(dfd, name, rel, &e, err);
  if (r <= 0)
    return r;
  if (S_ISDIR(e.mode)) {
    entry_clear(&e);
    return 0;
  }
  entries_push(&c->build_files, e);
  return 0;
}

/* ---- opening ---- */

/* The Dockerfile's absolute path: `dockerfile` against the root, cleaned. */
static char *dockerfile_path(const char *root, const char *dockerfile)
{
  if (!dockerfile || !*dockerfile)
    dockerfile = "Dockerfile";
  mtk_autofree char *joined =
      dockerfile[0] == '/' ? mtk_xstrdup(dockerfile) : mtk_xasprintf("%s/%s", root, dockerfile);
  return mtk_ignore_clean_path(joined);
}

static int open_root(struct mtk_context *c, const char *dir, struct mtk_err **err)
{
  struct stat st;
  c->root = realpath(dir, NULL);
  if (!c->root)
    return mtk_err_set(err, errno, "build context %s: %s", dir, strerror(errno));
  c->root_fd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (c->root_fd < 0)
    return mtk_err_set(err, errno, "build context %s: %s", dir, strerror(errno));
  if (fstat(c->root_fd, &st) < 0 || !S_ISDIR(st.st_mode))
    return mtk_err_set(err, ENOTDIR, "build context %s is not a directory", dir);
  return 0;
}

struct mtk_context *mtk_context_open(const char *dir, const char *dockerfile, struct mtk_err **err)
{
  mtk_autoptr(mtk_context) c = mtk_xcalloc(1, sizeof(*c));
  c->root_fd = -1;
  if (open_root(c, dir, err) < 0)
    return NULL;
  c->dockerfile = dockerfile_path(c->root, dockerfile);
  if (load_ignore(c, err) < 0)
    return NULL;
  c->prefix_exceptions = c->ignore ? exceptions_are_prefixes(c->ignore) : true;
  struct walk w = {.c = c};
  mtk_autoclose int fd = openat(c->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int r = fd < 0 ? mtk_err_set(err, errno, "build context %s: %s", dir, strerror(errno))
                 : walk_dir(&w, fd, "", err);
  entries_free(&w.pending);
  if (r < 0)
    return NULL;
  c->digests = mtk_xcalloc(c->ents.n ? c->ents.n : 1, sizeof(*c->digests));
  if (add_build_file(c, c->dockerfile, err) < 0 || add_build_file(c, c->ignore_file, err) < 0)
    return NULL;
  if (c->build_files.n > 1)
    qsort(c->build_files.v, c->build_files.n, sizeof(*c->build_files.v), entry_cmp);
  return mtk_steal_ptr(&c);
}

size_t mtk_context_len(const struct mtk_context *c)
{
  return c->ents.n;
}

const char *mtk_context_path(const struct mtk_context *c, size_t i)
{
  return i < c->ents.n ? c->ents.v[i].path : NULL;
}

const struct mtk_context_entry *mtk_context_entry(const struct mtk_context *c, size_t i)
{
  return i < c->ents.n ? &c->ents.v[i] : NULL;
}

static ssize_t find_index(const struct mtk_context *c, const char *rel)
{
  size_t lo = 0, hi = c->ents.n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int d = walk_cmp(rel, c->ents.v[mid].path);
    if (d == 0)
      return (ssize_t) mid;
    if (d < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return -1;
}

/* A context-relative path as a walk path: cleaned against the root, no leading '/'. */
static char *context_rel(const char *path)
{
  mtk_autofree char *rooted = mtk_xasprintf("/%s", path);
  char *clean = mtk_ignore_clean_path(rooted);
  memmove(clean, clean + 1, strlen(clean));
  return clean;
}

const struct mtk_context_entry *mtk_context_find(const struct mtk_context *c, const char *path)
{
  mtk_autofree char *rel = context_rel(path);
  ssize_t i = find_index(c, rel);
  return i < 0 ? NULL : &c->ents.v[i];
}

const char *mtk_context_dockerfile(const struct mtk_context *c)
{
  return c->dockerfile;
}

const char *mtk_context_ignore_file(const struct mtk_context *c)
{
  return c->ignore_file;
}

void mtk_context_set_tar_mtime(struct mtk_context *c, int64_t mtime)
{
  c->fixed_mtime = true;
  c->tar_mtime = mtime;
}

void mtk_context_free(struct mtk_context *c)
{
  if (!c)
    return;
  if (c->root_fd >= 0)
    close(c->root_fd);
  free(c->root);
  free(c->dockerfile);
  free(c->ignore_file);
  mtk_ignore_free(c->ignore);
  entries_free(&c->ents);
  entries_free(&c->build_files);
  free(c->digests);
  free(c);
}

/* ---- cache keys ---- */

/* The SHA-256 of a regular entry's content, computed once. */
static const char *content_digest(struct mtk_context *c, size_t i, struct mtk_err **err)
{
  const struct mtk_context_entry *e = &c->ents.v[i];
  if (c->digests[i][0])
    return c->digests[i];
  mtk_autoclose int fd = open_entry(c, e, err);
  if (fd < 0)
    return NULL;
  mtk_autosha256 h;
  mtk_sha256_init(&h);
  mtk_autofree char *buf = mtk_xmalloc(IO_CHUNK);
  off_t total = 0;
  for (ssize_t r; (r = read(fd, buf, IO_CHUNK)) != 0; total += r) {
    if (r < 0 && errno == EINTR)
      r = 0;
    else if (r < 0) {
      mtk_err_set(err, errno, "build context: cannot read %s: %s", e->path, strerror(errno));
      return NULL;
    }
    mtk_sha256_update(&h, buf, (size_t) r);
  }
  if (total != e->size) {
    mtk_err_set(err, MTK_E_BUILD, "build context: %s changed while building", e->path);
    return NULL;
  }
  char digest[MTK_DIGEST_SIZE];
  mtk_sha256_final(&h, digest);
  memcpy(c->digests[i], digest + strlen("sha256:"), MTK_SHA256_HEX_SIZE);
  return c->digests[i];
}

static char type_char(mode_t m)
{
  return S_ISREG(m)    ? 'f'
         : S_ISDIR(m)  ? 'd'
         : S_ISLNK(m)  ? 'l'
         : S_ISFIFO(m) ? 'p'
         : S_ISCHR(m)  ? 'c'
                       : 'b';
}

/* Feeds one entry to the key: a tagged record of its name below the source,
 * type, permission bits, size, link target, device and content digest.
 * Names and targets are length-prefixed, so no two inputs share a stream. */
static int hash_entry(struct mtk_context *c, struct mtk_sha256 *h, size_t i, const char *name,
                      struct mtk_err **err)
{
  const struct mtk_context_entry *e = &c->ents.v[i];
  const char *digest = S_ISREG(e->mode) ? content_digest(c, i, err) : "-";
  const char *link = e->link ? e->link : "";
  if (!digest)
    return -1;
  mtk_autostrbuf rec = MTK_STRBUF_INIT;
  mtk_strbuf_addf(&rec, "E%zu:%s %c %04o %lld %zu:%s %u:%u %s\n", strlen(name), name,
                  type_char(e->mode), (unsigned) (e->mode & 07777), (long long) e->size,
                  strlen(link), link, major(e->rdev), minor(e->rdev), digest);
  mtk_sha256_update(h, rec.buf, rec.len);
  return 0;
}

/* Entry i and everything below it, named from its own basename on. */
static int hash_tree(struct mtk_context *c, struct mtk_sha256 *h, size_t i, struct mtk_err **err)
{
  const char *top = c->ents.v[i].path, *slash = strrchr(top, '/');
  size_t base = slash ? (size_t) (slash - top) + 1 : 0, n = strlen(top);
  if (hash_entry(c, h, i, top + base, err) < 0)
    return -1;
  for (size_t j = i + 1; j < c->ents.n; j++) {
    const char *p = c->ents.v[j].path;
    if (strncmp(p, top, n) != 0 || p[n] != '/')
      break;
    if (hash_entry(c, h, j, p + base, err) < 0)
      return -1;
  }
  return 0;
}

/* One COPY source: its entries (a whole context for "."). */
static int hash_source(struct mtk_context *c, struct mtk_sha256 *h, const char *src,
                       struct mtk_err **err)
{
  mtk_autofree char *rel = context_rel(src);
  size_t found = 0;
  mtk_autofree char *head = mtk_xasprintf("S%zu:%s\n", strlen(rel), rel);
  mtk_sha256_update(h, head, strlen(head));
  if (!*rel) {
    for (size_t i = 0; i < c->ents.n; i++)
      if (hash_entry(c, h, i, c->ents.v[i].path, err) < 0)
        return -1;
    return 0;
  }
  if (!strpbrk(rel, "*?[\\")) {
    ssize_t i = find_index(c, rel);
    if (i >= 0 && hash_tree(c, h, (size_t) i, err) < 0)
      return -1;
    found = i >= 0;
  }
  for (size_t i = 0; strpbrk(rel, "*?[\\") && i < c->ents.n; i++) {
    bool m;
    if (mtk_ignore_glob_match(rel, c->ents.v[i].path, &m, err) < 0)
      return mtk_err_wrap(err, "COPY source \"%s\"", src);
    if (m && hash_tree(c, h, i, err) < 0)
      return -1;
    found += m;
  }
  if (!found) {
    mtk_err_set(err, MTK_E_BUILD, "COPY source \"%s\": not found in the build context %s", src,
                c->root);
    mtk_err_hint(err, "check the path and the ignore file%s%s", c->ignore_file ? " " : "",
                 c->ignore_file ? c->ignore_file : "");
    return -1;
  }
  return 0;
}

int mtk_context_hash(struct mtk_context *c, const char *const *paths_or_globs, size_t n,
                     char hex[65], struct mtk_err **err)
{
  mtk_autosha256 h;
  mtk_sha256_init(&h);
  for (size_t i = 0; i < n; i++)
    if (hash_source(c, &h, paths_or_globs[i], err) < 0)
      return -1;
  char digest[MTK_DIGEST_SIZE];
  mtk_sha256_final(&h, digest);
  memcpy(hex, digest + strlen("sha256:"), MTK_SHA256_HEX_SIZE);
  return 0;
}

/* ---- the tar stream ---- */

static int ar_error(struct archive *a, const char *what, struct mtk_err **err)
{
  const char *msg = archive_error_string(a);
  return mtk_err_set(err, archive_errno(a) > 0 ? archive_errno(a) : MTK_E_BUILD,
                     "build context tar: %s: %s", what, msg ? msg : "libarchive error");
}

/* Streams a regular entry's content after its header. */
static int tar_content(struct mtk_context *c, struct archive *a, const struct mtk_context_entry *e,
                       struct mtk_err **err)
{
  mtk_autoclose int fd = open_entry(c, e, err);
  if (fd < 0)
    return -1;
  mtk_autofree char *buf = mtk_xmalloc(IO_CHUNK);
  off_t total = 0;
  for (ssize_t r; (r = read(fd, buf, IO_CHUNK)) != 0; total += r) {
    if (r < 0 && errno == EINTR)
      r = 0;
    else if (r < 0)
      return mtk_err_set(err, errno, "build context: cannot read %s: %s", e->path, strerror(errno));
    if (total + r > e->size)
      break;
    if (r > 0 && archive_write_data(a, buf, (size_t) r) < 0)
      return ar_error(a, e->path, err);
  }
  if (total != e->size)
    return mtk_err_set(err, MTK_E_BUILD, "build context: %s changed while building", e->path);
  return 0;
}

static int tar_entry(struct mtk_context *c, struct archive *a, struct archive_entry *ae,
                     const struct mtk_context_entry *e, struct mtk_err **err)
{
  mtk_autofree char *name = S_ISDIR(e->mode) ? mtk_xasprintf("%s/", e->path) : NULL;
  archive_entry_clear(ae);
  archive_entry_copy_pathname(ae, name ? name : e->path);
  archive_entry_set_mode(ae, e->mode);
  archive_entry_set_uid(ae, 0);
  archive_entry_set_gid(ae, 0);
  archive_entry_set_mtime(ae, c->fixed_mtime ? c->tar_mtime : e->mtime, 0);
  archive_entry_set_size(ae, S_ISREG(e->mode) ? e->size : 0);
  if (e->link)
    archive_entry_copy_symlink(ae, e->link);
  if (S_ISCHR(e->mode) || S_ISBLK(e->mode)) {
    archive_entry_set_rdevmajor(ae, major(e->rdev));
    archive_entry_set_rdevminor(ae, minor(e->rdev));
  }
  /* ARCHIVE_WARN: a name kept as raw bytes (not UTF-8). */
  if (archive_write_header(a, ae) < ARCHIVE_WARN)
    return ar_error(a, e->path, err);
  return S_ISREG(e->mode) ? tar_content(c, a, e, err) : 0;
}

/* Merges the selected entries and the build files, both in walk order. */
static int tar_all(struct mtk_context *c, struct archive *a, struct mtk_err **err)
{
  struct archive_entry *ae = archive_entry_new();
  int r = 0;
  for (size_t i = 0, k = 0; r == 0 && (i < c->ents.n || k < c->build_files.n);) {
    bool take_build = k < c->build_files.n &&
                      (i == c->ents.n || entry_cmp(&c->build_files.v[k], &c->ents.v[i]) < 0);
    r = tar_entry(c, a, ae, take_build ? &c->build_files.v[k++] : &c->ents.v[i++], err);
  }
  archive_entry_free(ae);
  return r;
}

int mtk_context_tar(struct mtk_context *c, int fd, struct mtk_err **err)
{
  /* libarchive converts names to pax's UTF-8 through the current locale:
   * pin C.UTF-8 so that the bytes do not depend on the caller's locale
   * (a name that is not UTF-8 is then kept raw, with hdrcharset=BINARY). */
  locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
  locale_t saved = utf8 ? uselocale(utf8) : (locale_t) 0;
  struct archive *a = archive_write_new();
  int r = 0;
  if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      (!utf8 && archive_write_set_options(a, "hdrcharset=BINARY") != ARCHIVE_OK) ||
      archive_write_open_fd(a, fd) != ARCHIVE_OK)
    r = ar_error(a, "setup", err);
  if (r == 0)
    r = tar_all(c, a, err);
  if (r == 0 && archive_write_close(a) != ARCHIVE_OK)
    r = ar_error(a, "close", err);
  archive_write_free(a);
  if (utf8) {
    uselocale(saved);
    freelocale(utf8);
  }
  return r;
}
