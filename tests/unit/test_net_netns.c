/* Network namespaces of containers (src/net/netns.c), for real: needs root
 * (skips otherwise).  The file is an nsfs bind mount with lo up, the
 * directory a private mount, a second create reuses the namespace, remove
 * unmounts and deletes (and the directory's mount goes with the last one),
 * removing twice is fine; namespace work runs on a thread of its own, so
 * the caller's namespace never changes. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "net/net.h"
#include "net/netlink.h"
#include "net/network_int.h"
#include "tap.h"
#include "util/cleanup.h"

static char runroot[64];

static bool mounted(const char *path)
{
  FILE *f = fopen("/proc/self/mountinfo", "r");
  char line[4096], needle[256];
  bool hit = false;
  snprintf(needle, sizeof(needle), " %s ", path);
  while (f && !hit && fgets(line, sizeof(line), f))
    hit = strstr(line, needle) != NULL;
  if (f)
    fclose(f);
  return hit;
}

static bool is_nsfs(const char *path)
{
  struct statfs sf;
  return statfs(path, &sf) == 0 && sf.f_type == NSFS_MAGIC;
}

static ino_t ns_inode(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

static int count_links(void *arg, struct mtk_err **err)
{
  struct mtk_net_nl nl;
  struct mtk_net_nl_link *v = NULL;
  size_t n = 0;
  if (mtk_net_nl_open(&nl, err) < 0)
    return -1;
  int r = mtk_net_nl_links(&nl, &v, &n, err);
  for (size_t i = 0; r == 0 && i < n; i++)
    if (strcmp(v[i].name, "lo") == 0)
      *(int *) arg = 1;
  *((int *) arg + 1) = (int) n;
  free(v);
  mtk_net_nl_close(&nl);
  return r;
}

static int test_create_remove(void)
{
  struct mtk_err *e = NULL;
  mtk_autofree char *p = NULL, *p2 = NULL;
  ino_t self = ns_inode("/proc/thread-self/ns/net");
  MTK_ASSERT_EQ(mtk_net_ns_create(runroot, "c1", &p, &e), 0);
  mtk_autofree char *want = mtk_xasprintf("%s/netns/c1", runroot);
  mtk_autofree char *dir = mtk_xasprintf("%s/netns", runroot);
  MTK_ASSERT_STREQ(p, want);
  MTK_ASSERT(is_nsfs(p));
  MTK_ASSERT(mounted(dir));
  MTK_ASSERT(ns_inode(p) != self);
  MTK_ASSERT_EQ(ns_inode("/proc/thread-self/ns/net"), self);
  /* lo is up in it (`ip` would say so; ask the kernel through the file). */
  mtk_autofree char *cmd = mtk_xasprintf("nsenter --net=%s ip -o link show lo | grep -q ',UP'", p);
  if (access("/usr/sbin/ip", X_OK) == 0 || access("/sbin/ip", X_OK) == 0)
    MTK_ASSERT_EQ(system(cmd), 0);
  /* Work inside it sees only lo. */
  int seen[2] = {0, 0};
  mtk_autoclose int fd = open(p, O_RDONLY | O_CLOEXEC);
  MTK_ASSERT(fd >= 0);
  MTK_ASSERT_EQ(mtk_net_in_netns(fd, count_links, seen, &e), 0);
  MTK_ASSERT_EQ(seen[0], 1);
  MTK_ASSERT_EQ(ns_inode("/proc/thread-self/ns/net"), self);
  /* Reused, not replaced. */
  MTK_ASSERT_EQ(mtk_net_ns_create(runroot, "c1", &p2, &e), 0);
  MTK_ASSERT_EQ(ns_inode(p2), ns_inode(p));
  MTK_ASSERT_EQ(mtk_net_ns_remove(runroot, "c1", &e), 0);
  MTK_ASSERT(access(p, F_OK) < 0 && errno == ENOENT);
  MTK_ASSERT(!mounted(p));
  MTK_ASSERT(!mounted(dir));
  MTK_ASSERT_EQ(mtk_net_ns_remove(runroot, "c1", &e), 0);
  return 0;
}

static int test_two(void)
{
  struct mtk_err *e = NULL;
  mtk_autofree char *a = NULL, *b = NULL;
  mtk_autofree char *dir = mtk_xasprintf("%s/netns", runroot);
  MTK_ASSERT_EQ(mtk_net_ns_create(runroot, "a", &a, &e), 0);
  MTK_ASSERT_EQ(mtk_net_ns_create(runroot, "b", &b, &e), 0);
  MTK_ASSERT(ns_inode(a) != ns_inode(b));
  MTK_ASSERT_EQ(mtk_net_ns_remove(runroot, "a", &e), 0);
  MTK_ASSERT(mounted(dir)); /* b still needs it */
  MTK_ASSERT(is_nsfs(b));
  MTK_ASSERT_EQ(mtk_net_ns_remove(runroot, "b", &e), 0);
  MTK_ASSERT(!mounted(dir));
  return 0;
}

static int test_bad_runroot(void)
{
  struct mtk_err *e = NULL;
  char *p = NULL;
  MTK_ASSERT(mtk_net_ns_create("/proc/version/x", "c", &p, &e) < 0);
  MTK_ASSERT(e != NULL);
  MTK_ASSERT_CONTAINS(e->msg, "/proc/version");
  mtk_err_free(&e);
  MTK_ASSERT(p == NULL);
  return 0;
}

int main(void)
{
  if (geteuid() != 0) {
    printf("1..0 # SKIP needs root\n");
    return 77;
  }
  snprintf(runroot, sizeof(runroot), "/tmp/mtk-netns-XXXXXX");
  if (!mkdtemp(runroot))
    return 1;
  static const struct mtk_test tests[] = {
      {"create, reuse, remove", test_create_remove},
      {"two namespaces, the directory mount lives while one does", test_two},
      {"an impossible runroot is an error naming it", test_bad_runroot},
      {NULL, NULL},
  };
  int r = mtk_test_main(tests);
  mtk_autofree char *cmd = mtk_xasprintf("rm -rf %s", runroot);
  if (system(cmd) != 0)
    r = 1;
  return r;
}
