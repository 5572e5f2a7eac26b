/* process.user for config.json: `docker run -u` resolved in the container's
 * own /etc/passwd and /etc/group, with libcontainer's rules (user.GetExecUser):
 * numeric ids are kept even when no entry matches, names must match, the
 * primary group comes from passwd unless a group is given, supplementary
 * groups are the /etc/group entries listing the user when no group is given.
 * The files are opened inside the rootfs (openat2 RESOLVE_IN_ROOT), so an
 * image's symlinked /etc/passwd cannot make us read a host file. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "oci/spec.h"
#include "util/cleanup.h"

#define MAX_ID 2147483647L

/* Opens rootfs/path read-only, resolving inside rootfs.  NULL when missing. */
static FILE *open_in_root(const char *rootfs, const char *path)
{
  mtk_autoclose int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return NULL;
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
  int fd = (int) syscall(SYS_openat2, root, path, &how, sizeof how);
  if (fd < 0 && errno == ENOSYS) {
    mtk_autofree char *full = mtk_xasprintf("%s/%s", rootfs, path);
    fd = open(full, O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0)
    return NULL;
  FILE *f = fdopen(fd, "r");
  if (!f)
    close(fd);
  return f;
}

/* Go's strconv.Atoi restricted to ids: -1 when not a decimal number. */
static long parse_id(const char *s)
{
  if (!*s)
    return -1;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*end || errno || v < 0)
    return v < 0 && !*end && !errno ? -2 : -1;
  return v;
}

/* Splits a line in place on ':' into at most n fields; missing ones are "". */
static void split_fields(char *line, char **fields, size_t n)
{
  size_t i = 0;
  line[strcspn(line, "\r\n")] = '\0';
  fields[i++] = line;
  for (char *p = line; *p && i < n; p++)
    if (*p == ':') {
      *p = '\0';
      fields[i++] = p + 1;
    }
  for (; i < n; i++)
    fields[i] = (char *) "";
}

static bool member_of(char *members, const char *name)
{
  for (char *save = NULL, *m = strtok_r(members, ",", &save); m; m = strtok_r(NULL, ",", &save))
    if (strcmp(m, name) == 0)
      return true;
  return false;
}

/* Looks the user up in passwd; sets *found, fills uid/gid/home and name. */
static void find_passwd(const char *rootfs, const char *user, long uid_arg, struct mtk_oci_user *u,
                        char **name, bool *found)
{
  mtk_autofclose FILE *f = open_in_root(rootfs, "etc/passwd");
  mtk_autofree char *line = NULL;
  size_t cap = 0;
  *found = false;
  while (f && getline(&line, &cap, f) > 0) {
    char *fl[7];
    split_fields(line, fl, 7);
    if (!fl[0][0] && !fl[2][0])
      continue;
    long uid = parse_id(fl[2]);
    if (uid_arg >= 0 ? uid != uid_arg : strcmp(fl[0], user) != 0)
      continue;
    long gid = parse_id(fl[3]);
    u->uid = uid > 0 ? (uint32_t) uid : 0;
    u->gid = gid > 0 ? (uint32_t) gid : 0;
    u->home = mtk_xstrdup(fl[5]);
    *name = mtk_xstrdup(fl[0]);
    *found = true;
    return;
  }
}

/* Primary group by name or gid (group given), else supplementary gids of
 * `name`.  Returns false when a named group is not found. */
static bool scan_groups(const char *rootfs, const char *group, long gid_arg, const char *name,
                        struct mtk_oci_user *u)
{
  mtk_autofclose FILE *f = open_in_root(rootfs, "etc/group");
  mtk_autofree char *line = NULL;
  size_t cap = 0;
  while (f && getline(&line, &cap, f) > 0) {
    char *fl[4];
    split_fields(line, fl, 4);
    long gid = parse_id(fl[2]);
    if (group) {
      if (gid_arg >= 0 ? gid == gid_arg : strcmp(fl[0], group) == 0) {
        u->gid = gid > 0 ? (uint32_t) gid : 0;
        return true;
      }
    } else if (name && member_of(fl[3], name)) {
      u->additional_gids =
          mtk_xrealloc(u->additional_gids, (u->n_additional_gids + 1) * sizeof(uint32_t));
      u->additional_gids[u->n_additional_gids++] = gid > 0 ? (uint32_t) gid : 0;
    }
  }
  if (group && gid_arg >= 0) {
    u->gid = (uint32_t) gid_arg;
    return true;
  }
  return !group;
}

int mtk_oci_user_resolve(const char *rootfs, const char *spec, struct mtk_oci_user *out,
                         struct mtk_err **err)
{
  memset(out, 0, sizeof *out);
  mtk_autofree char *copy = mtk_xstrdup(spec ? spec : "");
  char *group = strchr(copy, ':');
  if (group)
    *group++ = '\0';
  if (group && !*group)
    group = NULL; /* "name:" = no group, as libcontainer */
  const char *user = copy;
  long uid_arg = *user ? parse_id(user) : 0, gid_arg = group ? parse_id(group) : -1;
  if (uid_arg == -2 || gid_arg == -2 || uid_arg > MAX_ID || gid_arg > MAX_ID)
    return mtk_err_set(err, EINVAL, "uids and gids must be in range 0-%ld", MAX_ID);
  mtk_autofree char *name = NULL;
  bool found;
  find_passwd(rootfs, user, uid_arg, out, &name, &found);
  if (!found) {
    if (uid_arg < 0)
      return mtk_err_set(err, ENOENT, "unable to find user %s: no matching entries in passwd file",
                         user);
    out->uid = (uint32_t) uid_arg;
  }
  if (!scan_groups(rootfs, group, gid_arg, name, out)) {
    mtk_oci_user_clear(out);
    return mtk_err_set(err, ENOENT, "unable to find group %s: no matching entries in group file",
                       group);
  }
  return 0;
}

void mtk_oci_user_clear(struct mtk_oci_user *u)
{
  free(u->additional_gids);
  free(u->home);
  memset(u, 0, sizeof *u);
}
