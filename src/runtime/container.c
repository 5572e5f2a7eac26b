/* Containers: a directory <root>/containers/<id>/ (config JSON, overlay
 * upper and work dirs) and a bundle <runroot>/containers/<id>/ (config.json,
 * rootfs = overlay of the image's snapshots), run in the foreground through
 * the runtime vtable (create, start, wait as child subreaper, delete); every
 * step is undone in reverse order on the way out. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/image.h"
#include "image/store.h"
#include "oci/spec.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* What has been set up so far, for the undo. */
struct ctr {
  char id[65];
  char *root_dir;         /* owned: <root>/containers/<id> (created) or NULL */
  char *run_dir;          /* owned: <runroot>/containers/<id> (created) or NULL */
  char *rootfs;           /* owned: <run_dir>/rootfs */
  bool mounted;           /* rootfs is an overlay mount */
  struct mtk_runtime *rt; /* owned: set once create was attempted */
  json_t *config;         /* owned: the container's config document */
};

static int mkdir_p(const char *path, mode_t mode, struct mtk_err **err)
{
  mtk_autofree char *p = mtk_xstrdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = 0;
    if (mkdir(p, mode) < 0 && errno != EEXIST)
      return mtk_err_set(err, errno, "creating %s: %s", p, strerror(errno));
    *s = '/';
  }
  if (mkdir(p, mode) < 0 && errno != EEXIST)
    return mtk_err_set(err, errno, "creating %s: %s", p, strerror(errno));
  return 0;
}

static int remove_dir(const char *path, struct mtk_err **err)
{
  mtk_autofree char *copy = mtk_xstrdup(path);
  char *slash = strrchr(copy, '/');
  *slash = 0;
  mtk_autoclose int dfd = open(*copy ? copy : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return errno == ENOENT ? 0 : mtk_err_set(err, errno, "%s: %s", copy, strerror(errno));
  return mtk_store_remove_tree(dfd, slash + 1, NULL, err);
}

static int write_json(const char *path, json_t *doc, struct mtk_err **err)
{
  mtk_autofree char *tmp = mtk_xasprintf("%s.tmp", path);
  if (json_dump_file(doc, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 || rename(tmp, path) < 0) {
    unlink(tmp);
    return mtk_err_set(err, EIO, "writing %s failed", path);
  }
  return 0;
}

static void random_id(char out[65])
{
  unsigned char b[32];
  size_t got = 0;
  while (got < sizeof(b)) {
    ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
    if (r > 0)
      got += (size_t) r;
  }
  for (size_t i = 0; i < sizeof(b); i++)
    snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* --------------------------------------------------------------- process */

/* ------------------------------------------------------------- lifecycle */

/* The image, its config and its overlay lowerdir. */
static int load_image(const char *root, const char *ref, char **image_id, char **lowerdir,
                      struct mtk_image_config **ic, struct mtk_err **err)
{
  mtk_autoptr(mtk_store) s = NULL;
  mtk_autoptr(mtk_store_image) img = NULL;
  if (mtk_store_open(root, &s, err) < 0)
    return -1;
  struct mtk_err *e = NULL;
  if (mtk_store_resolve(s, ref, &img, &e) < 0) {
    if (e->code != ENOENT) {
      *err = e;
      return -1;
    }
    mtk_err_free(&e);
    mtk_err_set(err, ENOENT, "Unable to find image '%s' locally", ref);
    mtk_err_hint(err, "get it first: mtk image pull %s", ref);
    return -1;
  }
  mtk_autofree char *buf = NULL;
  size_t len = 0;
  if (mtk_store_blob_read(s, img->id, 16 << 20, &buf, &len, err) < 0 ||
      mtk_image_config_parse(buf, len, ic, err) < 0)
    return mtk_err_wrap(err, "image %s", ref);
  *lowerdir = mtk_image_lowerdir(s, img->manifest_digest, img->media_type, err);
  if (!*lowerdir)
    return mtk_err_wrap(err, "image %s", ref);
  *image_id = mtk_xstrdup(img->id);
  return 0;
}

/* The container using name, or NULL. */
static char *name_owner(const char *dir, const char *name)
{
  DIR *d = opendir(dir);
  if (!d)
    return NULL;
  char *owner = NULL;
  struct dirent *e;
  while (!owner && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    mtk_autofree char *p = mtk_xasprintf("%s/%s/config", dir, e->d_name);
    json_t *j = json_load_file(p, 0, NULL);
    const char *n = json_string_value(json_object_get(j, "Name"));
    if (n && strcmp(n, name) == 0)
      owner = mtk_xstrdup(e->d_name);
    json_decref(j);
  }
  closedir(d);
  return owner;
}

/* Picks the ID, checks the name and creates <root>/containers/<id>/ with its
 * config, all under a lock on the containers directory. */
static int claim(struct ctr *c, const char *root, const struct mtk_container_run_opts *o,
                 const char *image_id, struct mtk_err **err)
{
  mtk_autofree char *dir = mtk_xasprintf("%s/containers", root);
  if (mkdir_p(dir, 0700, err) < 0)
    return -1;
  mtk_autofree char *lock = mtk_xasprintf("%s/.lock", dir);
  mtk_autoclose int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lfd < 0 || flock(lfd, LOCK_EX) < 0)
    return mtk_err_set(err, errno, "locking %s: %s", lock, strerror(errno));
  random_id(c->id);
  char short_id[13];
  snprintf(short_id, sizeof(short_id), "%.12s", c->id);
  const char *name = o->name ? o->name : short_id;
  mtk_autofree char *owner = name_owner(dir, name);
  if (owner) {
    mtk_err_set(err, EEXIST,
                "Conflict. The container name \"/%s\" is already in use by container \"%s\"", name,
                owner);
    mtk_err_hint(err, "remove (or rename) that container to be able to reuse that name");
    return -1;
  }
  c->root_dir = mtk_xasprintf("%s/%s", dir, c->id);
  if (mkdir(c->root_dir, 0700) < 0) {
    int e = errno;
    free(c->root_dir);
    c->root_dir = NULL;
    return mtk_err_set(err, e, "creating %s: %s", dir, strerror(e));
  }
  char created[32];
  time_t now = time(NULL);
  struct tm tm;
  strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  c->config = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "Id", c->id, "Name", name, "Image",
                        image_id, "ImageName", o->image, "Created", created, "State", "created");
  mtk_autofree char *cfg = mtk_xasprintf("%s/config", c->root_dir);
  return write_json(cfg, c->config, err);
}

/* upper/work dirs, the bundle dir and the overlay rootfs. */
static int mount_rootfs(struct ctr *c, const char *runroot, const char *lowerdir,
                        struct mtk_err **err)
{
  mtk_autofree char *upper = mtk_xasprintf("%s/upper", c->root_dir);
  mtk_autofree char *work = mtk_xasprintf("%s/work", c->root_dir);
  if (mkdir_p(upper, 0755, err) < 0 || mkdir_p(work, 0700, err) < 0)
    return -1;
  mtk_autofree char *parent = mtk_xasprintf("%s/containers", runroot);
  if (mkdir_p(parent, 0700, err) < 0)
    return -1;
  c->run_dir = mtk_xasprintf("%s/%s", parent, c->id);
  if (mkdir(c->run_dir, 0700) < 0) {
    int e = errno;
    free(c->run_dir);
    c->run_dir = NULL;
    return mtk_err_set(err, e, "creating %s/%s: %s", parent, c->id, strerror(e));
  }
  c->rootfs = mtk_xasprintf("%s/rootfs", c->run_dir);
  if (mkdir(c->rootfs, 0755) < 0)
    return mtk_err_set(err, errno, "creating %s: %s", c->rootfs, strerror(errno));
  mtk_autofree char *data =
      mtk_xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", lowerdir, upper, work);
  if (strlen(data) >= 4096)
    return mtk_err_set(err, E2BIG, "the overlay mount options of %s exceed a page", c->id);
  if (mount("overlay", c->rootfs, "overlay", 0, data) < 0) {
    int e = errno;
    mtk_err_set(err, e, "mounting the overlay rootfs of %s: %s", c->id, strerror(e));
    if (e == ENODEV || e == EINVAL)
      mtk_err_hint(err,
                   "overlayfs must be available (modprobe overlay), and %s must not be "
                   "on an overlay filesystem",
                   c->root_dir);
    return -1;
  }
  c->mounted = true;
  return 0;
}

static int write_bundle(struct ctr *c, const struct mtk_image_config *ic,
                        const struct mtk_container_run_opts *o, struct mtk_err **err)
{
  char hostname[13];
  snprintf(hostname, sizeof(hostname), "%.12s", c->id);
  const char *ep[1] = {o->entrypoint};
  struct mtk_oci_run_opts so = {
      .cmd = o->cmd,
      .n_cmd = o->n_cmd,
      .entrypoint = ep,
      .n_entrypoint = o->entrypoint ? 1 : 0,
      .entrypoint_set = o->entrypoint != NULL,
      .env = o->env,
      .n_env = o->n_env,
      .user = o->user,
      .workdir = o->workdir,
      .hostname = hostname,
  };
  json_t *spec = mtk_oci_spec_new(c->rootfs, ic->json, &so, err);
  if (!spec)
    return -1;
  mtk_autofree char *path = mtk_xasprintf("%s/config.json", c->run_dir);
  int rc = write_json(path, spec, err);
  json_decref(spec);
  return rc;
}

/* Waits for the container's PID 1 (our child once the runtime's intermediate
 * process exited: we are a child subreaper), forwarding signals to it and
 * reaping every other orphan. */
static int wait_container(pid_t pid, const sigset_t *set)
{
  for (;;) {
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
      if (p == pid)
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
    if (p < 0 && errno == ECHILD)
      return 255;
    siginfo_t si;
    int sig = sigwaitinfo(set, &si);
    if (sig > 0 && sig != SIGCHLD)
      kill(pid, sig);
  }
}

/* Docker's exit code for a runtime error: 127 for a command that does not
 * exist, 126 for one that cannot be executed, else 125. */
static int start_error_code(const struct mtk_err *e)
{
  if (e && e->msg && strstr(e->msg, "not found") &&
      (strstr(e->msg, "executable") || strstr(e->msg, "no such file")))
    return 127;
  if (e && e->msg && (strstr(e->msg, "ermission denied") || strstr(e->msg, "not executable")))
    return 126;
  return 125;
}

static int run_foreground(struct ctr *c, const char *runroot, const char *runtime,
                          const sigset_t *set, int *exit_code, struct mtk_err **err)
{
  c->rt = mtk_runtime_new(runtime, runroot, err);
  if (!c->rt || mkdir_p(c->rt->root, 0700, err) < 0)
    return -1;
  mtk_autofree char *log = mtk_xasprintf("%s/runtime.log", c->run_dir);
  mtk_autofree char *pid_file = mtk_xasprintf("%s/pid", c->run_dir);
  mtk_runtime_set_log(c->rt, log);
  sigset_t pending;
  if (sigpending(&pending) == 0 &&
      (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)))
    return mtk_err_set(err, MTK_E_INTR, "interrupted");
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
    return mtk_err_set(err, errno, "PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
  if (c->rt->ops->create(c->rt, c->id, c->run_dir, pid_file, err) < 0) {
    *exit_code = start_error_code(*err);
    return -1;
  }
  mtk_autofclose FILE *f = fopen(pid_file, "re");
  long pid = 0;
  if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 0)
    return mtk_err_set(err, EIO, "%s create %s wrote no pid to %s", c->rt->ops->name, c->id,
                       pid_file);
  if (c->rt->ops->start(c->rt, c->id, err) < 0) {
    *exit_code = start_error_code(*err);
    return -1;
  }
  *exit_code = wait_container((pid_t) pid, set);
  return 0;
}

/* Undoes everything in reverse order; the first failure goes to *err when
 * nothing failed before. */
static int undo(struct ctr *c, bool rm, bool ran, int exit_code, struct mtk_err **err)
{
  int rc = 0;
  struct mtk_err *e = NULL;
  if (c->rt && c->rt->ops->del(c->rt, c->id, true, &e) < 0)
    rc = -1;
  if (c->mounted && umount2(c->rootfs, 0) < 0 && umount2(c->rootfs, MNT_DETACH) < 0)
    rc = mtk_err_set(&e, errno, "unmounting %s: %s", c->rootfs, strerror(errno));
  if (c->run_dir && remove_dir(c->run_dir, &e) < 0)
    rc = -1;
  if (c->root_dir && rm && remove_dir(c->root_dir, &e) < 0)
    rc = -1;
  if (c->root_dir && !rm && c->config) {
    json_object_set_new(c->config, "State", json_string(ran ? "exited" : "created"));
    if (ran)
      json_object_set_new(c->config, "ExitCode", json_integer(exit_code));
    mtk_autofree char *cfg = mtk_xasprintf("%s/config", c->root_dir);
    if (write_json(cfg, c->config, &e) < 0)
      rc = -1;
  }
  if (e && !*err)
    *err = e;
  else
    mtk_err_free(&e);
  mtk_runtime_free(c->rt);
  free(c->root_dir);
  free(c->run_dir);
  free(c->rootfs);
  json_decref(c->config);
  return rc;
}

int mtk_container_run(const char *root, const char *runroot, const struct mtk_container_run_opts *o,
                      int *exit_code, struct mtk_err **err)
{
  *exit_code = 125;
  mtk_autofree char *image_id = NULL, *lowerdir = NULL;
  mtk_autoptr(mtk_image_config) ic = NULL;
  if (load_image(root, o->image, &image_id, &lowerdir, &ic, err) < 0)
    return -1;
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGQUIT);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, &old);
  struct ctr c = {0};
  int status = 125;
  int rc = claim(&c, root, o, image_id, err);
  if (rc == 0)
    rc = mount_rootfs(&c, runroot, lowerdir, err);
  if (rc == 0)
    rc = write_bundle(&c, ic, o, err);
  bool ran = false;
  if (rc == 0) {
    rc = run_foreground(&c, runroot, o->runtime, &set, &status, err);
    ran = rc == 0;
  }
  if (undo(&c, o->rm, ran, status, err) < 0 && rc == 0) {
    rc = -1;
    status = 125;
  }
  struct timespec zero = {0, 0};
  while (sigtimedwait(&set, NULL, &zero) > 0)
    ;
  sigprocmask(SIG_SETMASK, &old, NULL);
  *exit_code = status;
  return rc;
}
