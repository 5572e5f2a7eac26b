/* mtk_ctr_create against a real image store (a busybox image imported from
 * busybox-static): the config document (image defaults merged, Path/Args,
 * Mounts normalised), the name claim (duplicates, bad names), and bad input
 * refused before anything is written: an unknown image, bad mounts, relative
 * targets, unknown users and capabilities, bad limits, sysctls, restart
 * policies, security options, signals.  After every failure the containers
 * directory holds exactly the containers made on purpose. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/image.h"
#include "image/store.h"
#include "runtime/container.h"
#include "runtime/ctr_internal.h"
#include "tap.h"

static char tmp[64], root[96], runroot[96];
static bool have_image;

/* A busybox rootfs with passwd/group, a /data dir and a VOLUME-less config. */
static int import_busybox(void)
{
  char cmd[1024];
  snprintf(cmd, sizeof(cmd),
           "set -e; bb=$(command -v busybox); r=%s/rootfs; mkdir -p $r/bin $r/etc $r/tmp "
           "$r/data; cp $bb $r/bin/busybox; for x in sh sleep true cat echo ls; do ln -s busybox "
           "$r/bin/$x; done; printf 'root:x:0:0:root:/root:/bin/sh\\nwww:x:33:33::/var/www:/bin/"
           "sh\\n' > $r/etc/passwd; printf 'root:x:0:\\nwww:x:33:\\nstaff:x:50:www\\n' > "
           "$r/etc/group; echo seed > $r/data/seed; tar -C $r -cf %s/rootfs.tar .",
           tmp, tmp);
  if (system(cmd) != 0)
    return -1;
  snprintf(cmd, sizeof(cmd), "%s/rootfs.tar", tmp);
  int fd = open(cmd, O_RDONLY | O_CLOEXEC);
  struct mtk_store *s = NULL;
  struct mtk_err *e = NULL;
  char *id = NULL;
  struct mtk_image_import_opts o = {.ref = "busybox", .source = cmd};
  int r = fd >= 0 && mtk_store_open(root, &s, &e) == 0 && mtk_image_import(s, fd, &o, &id, &e) == 0
              ? 0
              : -1;
  if (e)
    printf("# import: %s\n", e->msg);
  mtk_err_free(&e);
  free(id);
  mtk_store_close(s);
  if (fd >= 0)
    close(fd);
  return r;
}

static size_t n_containers(void)
{
  char dir[160];
  snprintf(dir, sizeof(dir), "%s/containers", root);
  DIR *d = opendir(dir);
  size_t n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    n += e->d_name[0] != '.';
  if (d)
    closedir(d);
  return n;
}

static json_t *req(const char *extra_json)
{
  json_error_t je;
  json_t *r = json_loads(extra_json, 0, &je);
  if (!r)
    printf("# bad test JSON: %s\n", je.text);
  if (!json_object_get(r, "Image"))
    json_object_set_new(r, "Image", json_string("busybox"));
  if (!json_object_get(r, "Cmd"))
    json_object_set_new(r, "Cmd", json_pack("[s]", "true"));
  return r;
}

/* Creating fails with code and a message containing want; nothing left. */
static int refuse(const char *name, const char *json, int code, const char *want)
{
  size_t before = n_containers();
  json_t *r = req(json);
  struct mtk_err *e = NULL;
  struct mtk_ctr *c = NULL;
  int rc = mtk_ctr_create(root, runroot, r, name, &c, &e);
  json_decref(r);
  if (rc == 0) {
    printf("#   accepted %s\n", json);
    mtk_ctr_free(c);
    return 1;
  }
  int bad = 0;
  if (e->code != code || !strstr(e->msg, want)) {
    printf("#   %s:\n#     got %d \"%s\"\n#     want %d \"%s\"\n", json, e->code, e->msg, code,
           want);
    bad = 1;
  }
  mtk_err_free(&e);
  if (n_containers() != before) {
    printf("#   %s left something in containers/\n", json);
    bad = 1;
  }
  return bad;
}

static int test_create(void)
{
  if (!have_image)
    return 77;
  setenv("MTK_TEST_FROM_HOST", "host-value", 1);
  json_t *r = req("{\"Env\": [\"A=1\", \"MTK_TEST_FROM_HOST\", \"MTK_TEST_UNSET\"],"
                  " \"Labels\": {\"l\": \"v\"}, \"StopSignal\": \"SIGUSR1\","
                  " \"HostConfig\": {\"Binds\": [\"/tmp:/host-tmp:ro\", \"data:/data\"],"
                  " \"Tmpfs\": {\"/run\": \"size=1m,noexec\"}}, \"Volumes\": {\"/anon\": {}},"
                  " \"Cmd\": [\"sh\", \"-c\", \"echo hi\"]}");
  struct mtk_ctr *c = NULL;
  struct mtk_err *e = NULL;
  MTK_ASSERT_EQ(mtk_ctr_create(root, runroot, r, "web", &c, &e), 0);
  json_decref(r);
  MTK_ASSERT_STREQ(c->name, "web");
  MTK_ASSERT_EQ(strlen(c->id), 64);
  MTK_ASSERT_STREQ(mtk_ctr_status(c), "created");
  json_t *cfg = json_object_get(c->config, "Config");
  MTK_ASSERT_STREQ(json_string_value(json_object_get(c->config, "Path")), "sh");
  MTK_ASSERT_EQ(json_array_size(json_object_get(c->config, "Args")), 2);
  json_t *env = json_object_get(cfg, "Env");
  MTK_ASSERT_EQ(json_array_size(env), 2);
  MTK_ASSERT_STREQ(json_string_value(json_array_get(env, 1)), "MTK_TEST_FROM_HOST=host-value");
  MTK_ASSERT_STREQ(json_string_value(json_object_get(cfg, "Image")), "busybox");
  MTK_ASSERT(strncmp(json_string_value(json_object_get(c->config, "Image")), "sha256:", 7) == 0);
  char host[13];
  snprintf(host, sizeof(host), "%.12s", c->id);
  MTK_ASSERT_STREQ(json_string_value(json_object_get(cfg, "Hostname")), host);
  MTK_ASSERT_STREQ(
      json_string_value(json_object_get(json_object_get(c->config, "HostConfig"), "NetworkMode")),
      MTK_CTR_DEFAULT_NETWORK);
  json_t *m = json_object_get(c->config, "Mounts");
  MTK_ASSERT_EQ(json_array_size(m), 4);
  /* parents first (all of depth 1 here: the request's order: Binds, Tmpfs,
   * Volumes) */
  const char *dsts[] = {"/host-tmp", "/data", "/run", "/anon"};
  for (size_t i = 0; i < 4; i++)
    MTK_ASSERT_STREQ(json_string_value(json_object_get(json_array_get(m, i), "Destination")),
                     dsts[i]);
  json_t *bind = json_array_get(m, 0), *named = json_array_get(m, 1), *anon = json_array_get(m, 3);
  MTK_ASSERT(json_is_false(json_object_get(bind, "RW")));
  MTK_ASSERT_STREQ(json_string_value(json_object_get(named, "Name")), "data");
  MTK_ASSERT(json_is_false(json_object_get(named, "Anonymous")));
  MTK_ASSERT(json_is_true(json_object_get(anon, "Anonymous")));
  MTK_ASSERT_EQ(strlen(json_string_value(json_object_get(anon, "Name"))), 64);
  mtk_ctr_free(c);
  /* on disk, as load sees it */
  MTK_ASSERT_EQ(mtk_ctr_load(root, runroot, "web", &c, &e), 0);
  MTK_ASSERT_STREQ(
      json_string_value(json_object_get(json_object_get(c->config, "Config"), "StopSignal")),
      "SIGUSR1");
  MTK_ASSERT_EQ(mtk_ctr_stop_signal(c), 10);
  mtk_ctr_free(c);
  /* no name: the short ID */
  r = req("{}");
  MTK_ASSERT_EQ(mtk_ctr_create(root, runroot, r, NULL, &c, &e), 0);
  json_decref(r);
  snprintf(host, sizeof(host), "%.12s", c->id);
  MTK_ASSERT_STREQ(c->name, host);
  mtk_ctr_free(c);
  MTK_ASSERT_EQ(n_containers(), 2);
  return 0;
}

static int test_names(void)
{
  if (!have_image)
    return 77;
  int bad = refuse("web", "{}", EEXIST, "Conflict. The container name \"/web\" is already in use");
  bad |= refuse("/web", "{}", EEXIST, "already in use by container");
  bad |= refuse("a", "{}", EINVAL, "Invalid container name (a)");
  bad |= refuse("../x", "{}", EINVAL, "Invalid container name");
  bad |= refuse("a b", "{}", EINVAL, "Invalid container name");
  bad |= refuse("x/y", "{}", EINVAL, "Invalid container name");
  return bad;
}

static int test_image(void)
{
  if (!have_image)
    return 77;
  int bad =
      refuse("n1", "{\"Image\": \"nosuch:1\"}", ENOENT, "Unable to find image 'nosuch:1' locally");
  bad |= refuse("n1", "{\"Image\": \"\"}", EINVAL, "no image given");
  bad |= refuse("n1", "{\"Cmd\": []}", EINVAL, "No command specified");
  bad |= refuse("n1", "{\"Entrypoint\": [\"\"], \"Cmd\": null}", EINVAL, "No command specified");
  return bad;
}

static int test_mounts(void)
{
  if (!have_image)
    return 77;
  int bad = refuse("mm", "{\"HostConfig\": {\"Binds\": [\"/tmp:rel\"]}}", EINVAL,
                   "invalid mount path: 'rel' mount path must be absolute");
  bad |= refuse("mm", "{\"HostConfig\": {\"Binds\": [\"./rel:/x\"]}}", EINVAL,
                "includes invalid characters for a local volume name");
  bad |= refuse("mm", "{\"HostConfig\": {\"Binds\": [\"/tmp:/\"]}}", EINVAL,
                "destination can't be '/'");
  bad |= refuse("mm", "{\"HostConfig\": {\"Binds\": [\"/tmp:/x:rw,ro\"]}}", EINVAL,
                "invalid mode: rw,ro");
  bad |= refuse("mm", "{\"HostConfig\": {\"Binds\": [\"a:b:c:d\"]}}", EINVAL,
                "invalid volume specification: 'a:b:c:d'");
  bad |= refuse("mm", "{\"HostConfig\": {\"Binds\": [\"/tmp:/x\", \"/etc:/x/\"]}}", EINVAL,
                "Duplicate mount point: /x");
  bad |= refuse("mm",
                "{\"HostConfig\": {\"Mounts\": [{\"Type\": \"bind\", \"Source\": "
                "\"/nonexistent/mtk\", \"Target\": \"/x\"}]}}",
                ENOENT, "bind source path does not exist: /nonexistent/mtk");
  bad |= refuse("mm",
                "{\"HostConfig\": {\"Mounts\": [{\"Type\": \"bind\", \"Source\": \"rel\", "
                "\"Target\": \"/x\"}]}}",
                EINVAL, "must be absolute");
  bad |= refuse("mm", "{\"HostConfig\": {\"Mounts\": [{\"Type\": \"npipe\", \"Target\": \"/x\"}]}}",
                EINVAL, "mount type unknown");
  bad |= refuse("mm",
                "{\"HostConfig\": {\"Mounts\": [{\"Type\": \"volume\", \"Source\": \"../up\", "
                "\"Target\": \"/x\"}]}}",
                EINVAL, "invalid characters");
  bad |= refuse("mm", "{\"HostConfig\": {\"Tmpfs\": {\"/t\": \"size=1m,bogus\"}}}", EINVAL,
                "invalid option \"bogus\"");
  bad |= refuse("mm", "{\"HostConfig\": {\"Tmpfs\": {\"t\": \"\"}}}", EINVAL, "must be absolute");
  bad |= refuse("mm", "{\"WorkingDir\": \"/proc/self/fd/7\"}", EINVAL, "under /proc");
  bad |= refuse("mm", "{\"WorkingDir\": \"rel\"}", EINVAL, "needs to be an absolute path");
  return bad;
}

static int test_options(void)
{
  if (!have_image)
    return 77;
  int bad = refuse("oo", "{\"User\": \"nobody2\"}", ENOENT, "unable to find user nobody2");
  bad |= refuse("oo", "{\"User\": \"www:nogroup\"}", ENOENT, "unable to find group nogroup");
  bad |= refuse("oo", "{\"User\": \"4294967296:0\"}", EINVAL, "range");
  bad |=
      refuse("oo", "{\"HostConfig\": {\"CapAdd\": [\"CAP_BOGUS\"]}}", EINVAL, "unknown capability");
  bad |= refuse("oo", "{\"HostConfig\": {\"Memory\": 1000}}", EINVAL, "Minimum memory limit");
  bad |= refuse("oo", "{\"HostConfig\": {\"NanoCpus\": 1000000000000}}", EINVAL, "Range of CPUs");
  bad |= refuse("oo", "{\"HostConfig\": {\"OomScoreAdj\": 1001}}", EINVAL, "oom score adj");
  bad |= refuse("oo",
                "{\"HostConfig\": {\"AutoRemove\": true, \"RestartPolicy\": {\"Name\": "
                "\"always\"}}}",
                EINVAL, "AutoRemove");
  bad |= refuse("oo", "{\"HostConfig\": {\"RestartPolicy\": {\"Name\": \"sometimes\"}}}", EINVAL,
                "invalid restart policy");
  bad |= refuse("oo", "{\"HostConfig\": {\"SecurityOpt\": [\"bogus\"]}}", EINVAL,
                "invalid --security-opt");
  bad |= refuse("oo", "{\"HostConfig\": {\"Sysctls\": {\"kernel.panic\": \"1\"}}}", EINVAL,
                "not whitelisted");
  bad |= refuse("oo",
                "{\"HostConfig\": {\"NetworkMode\": \"host\", \"Sysctls\": "
                "{\"net.ipv4.ip_forward\": \"1\"}}}",
                EINVAL, "not allowed in host network namespace");
  bad |= refuse("oo",
                "{\"HostConfig\": {\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 10, "
                "\"Hard\": 5}]}}",
                EINVAL, "soft limit");
  bad |= refuse("oo", "{\"HostConfig\": {\"Ulimits\": [{\"Name\": \"bogus\"}]}}", EINVAL,
                "invalid ulimit type");
  bad |= refuse("oo", "{\"StopSignal\": \"SIGBOGUS\"}", EINVAL, "Invalid signal: SIGBOGUS");
  bad |= refuse("oo", "{\"HostConfig\": {\"ExtraHosts\": [\"name\"]}}", EINVAL, "add-host");
  bad |= refuse("oo", "{\"HostConfig\": {\"ExtraHosts\": [\"name:1.2.3\"]}}", EINVAL,
                "invalid IP address");
  bad |= refuse("oo", "{\"Hostname\": \"a\\nb\"}", EINVAL, "invalid hostname");
  bad |= refuse("oo", "{\"Domainname\": \"x y\"}", EINVAL, "invalid hostname");
  bad |= refuse("oo", "{\"Env\": [\"=x\"]}", EINVAL, "invalid environment variable");
  bad |=
      refuse("oo", "{\"HostConfig\": {\"NetworkMode\": \"container:x\"}}", EINVAL, "not supported");
  return bad;
}

static int test_ports(void)
{
  if (!have_image)
    return 77;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  MTK_ASSERT(fd >= 0 && bind(fd, (struct sockaddr *) &a, sizeof(a)) == 0 && listen(fd, 1) == 0);
  MTK_ASSERT(getsockname(fd, (struct sockaddr *) &a, &al) == 0);
  char json[256];
  snprintf(json, sizeof(json),
           "{\"HostConfig\": {\"NetworkMode\": \"bridge\", \"PortBindings\": {\"80/tcp\": "
           "[{\"HostIp\": \"127.0.0.1\", \"HostPort\": \"%d\"}]}}}",
           ntohs(a.sin_port));
  int bad = refuse("pp", json, EADDRINUSE, "already in use");
  close(fd);
  bad |= refuse("pp", "{\"HostConfig\": {\"PortBindings\": {\"http/tcp\": []}}}", EINVAL,
                "invalid port specification");
  bad |= refuse("pp",
                "{\"HostConfig\": {\"PortBindings\": {\"80/sctp\": [{\"HostPort\": "
                "\"80\"}]}}}",
                EINVAL, "invalid port specification");
  bad |= refuse("pp", "{\"HostConfig\": {\"PortBindings\": {\"80\": [{\"HostPort\": \"99999\"}]}}}",
                EINVAL, "invalid host port");
  return bad;
}

static int test_leftovers(void)
{
  if (!have_image)
    return 77;
  /* only the two containers of test_create, and no lock holder files */
  MTK_ASSERT_EQ(n_containers(), 2);
  struct mtk_ctr **v = NULL;
  size_t n = 0;
  struct mtk_err *e = NULL;
  MTK_ASSERT_EQ(mtk_ctr_list(root, runroot, &v, &n, &e), 0);
  MTK_ASSERT_EQ(n, 2);
  MTK_ASSERT_STREQ(v[1]->name, "web");
  mtk_ctr_list_free(v, n);
  return 0;
}

int main(void)
{
  snprintf(tmp, sizeof(tmp), "/tmp/mtk-test-create-%d", (int) getpid());
  snprintf(root, sizeof(root), "%s/root", tmp);
  snprintf(runroot, sizeof(runroot), "%s/run", tmp);
  mkdir(tmp, 0700);
  have_image = import_busybox() == 0;
  if (!have_image)
    printf("# no busybox image (busybox-static missing?): tests skipped\n");
  static const struct mtk_test tests[] = {
      {"create: the config document", test_create},
      {"names: duplicates and bad names", test_names},
      {"image and command", test_image},
      {"bad mounts", test_mounts},
      {"bad options", test_options},
      {"published ports: taken host port, bad specs", test_ports},
      {"nothing left behind by the refusals", test_leftovers},
      {NULL, NULL},
  };
  int r = mtk_test_main(tests);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
  if (system(cmd) != 0)
    r = 1;
  return r;
}
