/* Network namespaces: a container's namespace as an nsfs bind mount at
 * <runroot>/netns/<ctr-id> (that directory a private mount, so the binds
 * neither propagate into other mount namespaces nor receive theirs), and
 * work inside a namespace.  The supervisor is multi-threaded (libuv's
 * threadpool) and setns(CLONE_NEWNET) changes the calling thread only, so
 * namespace work runs on a short-lived thread of our own: it enters (or
 * unshares) the namespace, does its work and exits.  A netlink socket
 * opened there keeps talking to that namespace after the thread is gone. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "net/net.h"
#include "net/netlink.h"
#include "net/network_int.h"
#include "util/cleanup.h"

int mtk_net_mkdirs(const char *path, mode_t mode, struct mtk_err **err)
{
  mtk_autofree char *p = mtk_xstrdup(path);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(p, mode) < 0 && errno != EEXIST)
      return mtk_err_set(err, errno, "mkdir %s: %s", p, strerror(errno));
    *s = '/';
  }
  if (mkdir(p, mode) < 0 && errno != EEXIST)
    return mtk_err_set(err, errno, "mkdir %s: %s", p, strerror(errno));
  return 0;
}

/* --------------------------------------------------- work in a namespace */

struct ns_job {
  int nsfd;                                   /* namespace to enter, -1 = a new one */
  const char *bind_to;                        /* new namespace: bind-mount it here */
  int (*fn)(void *arg, struct mtk_err **err); /* the work, in the namespace */
  void *arg;
  struct mtk_err *err; /* owned */
  int ret;
};

static void *ns_thread(void *p)
{
  struct ns_job *j = p;
  if (j->nsfd >= 0) {
    if (setns(j->nsfd, CLONE_NEWNET) < 0) {
      j->ret = mtk_err_set(&j->err, errno, "entering the network namespace: %s", strerror(errno));
      return NULL;
    }
  } else {
    if (unshare(CLONE_NEWNET) < 0) {
      j->ret = mtk_err_set(&j->err, errno, "creating a network namespace: %s", strerror(errno));
      return NULL;
    }
    if (mount("/proc/thread-self/ns/net", j->bind_to, NULL, MS_BIND, NULL) < 0) {
      j->ret = mtk_err_set(&j->err, errno, "bind-mounting the network namespace on %s: %s",
                           j->bind_to, strerror(errno));
      return NULL;
    }
  }
  j->ret = j->fn ? j->fn(j->arg, &j->err) : 0;
  return NULL;
}

static int run_job(struct ns_job *j, struct mtk_err **err)
{
  pthread_t t;
  int e = pthread_create(&t, NULL, ns_thread, j);
  if (e)
    return mtk_err_set(err, e, "starting a thread for namespace work: %s", strerror(e));
  pthread_join(t, NULL);
  if (j->ret < 0) {
    if (err && !*err)
      *err = j->err;
    else
      mtk_err_free(&j->err);
    return -1;
  }
  return 0;
}

int mtk_net_in_netns(int nsfd, int (*fn)(void *arg, struct mtk_err **err), void *arg,
                     struct mtk_err **err)
{
  struct ns_job j = {.nsfd = nsfd, .fn = fn, .arg = arg};
  return run_job(&j, err);
}

static int open_nl_cb(void *arg, struct mtk_err **err)
{
  return mtk_net_nl_open(arg, err);
}

int mtk_net_nl_open_ns(struct mtk_net_nl *nl, int nsfd, struct mtk_err **err)
{
  return mtk_net_in_netns(nsfd, open_nl_cb, nl, err);
}

/* ------------------------------------------------------------ the files */

static bool is_nsfs(const char *path)
{
  struct statfs sf;
  return statfs(path, &sf) == 0 && sf.f_type == NSFS_MAGIC;
}

/* <runroot>/netns as a private mount (bound onto itself first when it is
 * not a mount point), under a lock (*lock_fd, held until closed) so that
 * two mtk neither stack binds nor unmount it under each other. */
static int ns_dir(const char *runroot, char **out, int *lock_fd, struct mtk_err **err)
{
  mtk_autofree char *dir = mtk_xasprintf("%s/netns", runroot);
  mtk_autofree char *lockp = mtk_xasprintf("%s/.netns.lock", runroot);
  if (mtk_net_mkdirs(dir, 0755, err) < 0)
    return -1;
  *lock_fd = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (*lock_fd < 0 || flock(*lock_fd, LOCK_EX) < 0)
    return mtk_err_set(err, errno, "lock %s: %s", lockp, strerror(errno));
  if (mount(NULL, dir, NULL, MS_PRIVATE | MS_REC, NULL) < 0) {
    if (errno != EINVAL)
      return mtk_err_set(err, errno, "making %s a private mount: %s", dir, strerror(errno));
    /* Not a mount point yet. */
    if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0 ||
        mount(NULL, dir, NULL, MS_PRIVATE | MS_REC, NULL) < 0)
      return mtk_err_set(err, errno, "making %s a private mount: %s", dir, strerror(errno));
  }
  *out = mtk_steal_ptr(&dir);
  return 0;
}

static int lo_up_cb(void *arg, struct mtk_err **err)
{
  (void) arg;
  struct mtk_net_nl nl;
  if (mtk_net_nl_open(&nl, err) < 0)
    return -1;
  int idx = mtk_net_nl_ifindex(&nl, "lo", err);
  int r = idx > 0 ? mtk_net_nl_link_up(&nl, idx, err) : idx;
  if (idx == 0)
    r = mtk_err_set(err, ENODEV, "no loopback interface in the new network namespace");
  mtk_net_nl_close(&nl);
  return r;
}

static void ns_undo(const char *path)
{
  umount2(path, MNT_DETACH);
  unlink(path);
}

int mtk_net_ns_create(const char *runroot, const char *ctr_id, char **path, struct mtk_err **err)
{
  mtk_autofree char *dir = NULL;
  mtk_autoclose int lk = -1;
  if (ns_dir(runroot, &dir, &lk, err) < 0)
    return -1;
  mtk_autofree char *p = mtk_xasprintf("%s/%s", dir, ctr_id);
  if (is_nsfs(p)) {
    *path = mtk_steal_ptr(&p);
    return 0;
  }
  int fd = open(p, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0)
    return mtk_err_set(err, errno, "create %s: %s", p, strerror(errno));
  close(fd);
  struct ns_job j = {.nsfd = -1, .bind_to = p, .fn = lo_up_cb};
  if (run_job(&j, err) < 0) {
    ns_undo(p);
    return mtk_err_wrap(err, "network namespace of container %.12s", ctr_id);
  }
  *path = mtk_steal_ptr(&p);
  return 0;
}

static bool dir_empty(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *de;
  bool empty = true;
  while (d && empty && (de = readdir(d)))
    empty = de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]));
  if (d)
    closedir(d);
  return empty;
}

int mtk_net_ns_remove(const char *runroot, const char *ctr_id, struct mtk_err **err)
{
  mtk_autofree char *dir = mtk_xasprintf("%s/netns", runroot);
  mtk_autofree char *p = mtk_xasprintf("%s/%s", dir, ctr_id);
  mtk_autofree char *lockp = mtk_xasprintf("%s/.netns.lock", runroot);
  mtk_autoclose int lk = open(lockp, O_RDWR | O_CLOEXEC);
  if (lk >= 0 && flock(lk, LOCK_EX) < 0)
    return mtk_err_set(err, errno, "lock %s: %s", lockp, strerror(errno));
  /* A namespace file can carry stacked binds after a crash: unmount them all. */
  while (umount2(p, MNT_DETACH) == 0)
    ;
  if (errno != EINVAL && errno != ENOENT)
    return mtk_err_set(err, errno, "unmount %s: %s", p, strerror(errno));
  if (unlink(p) < 0 && errno != ENOENT)
    return mtk_err_set(err, errno, "remove %s: %s", p, strerror(errno));
  /* The last one gone: the private mount of the directory goes too. */
  if (lk >= 0 && dir_empty(dir))
    umount2(dir, MNT_DETACH);
  return 0;
}
