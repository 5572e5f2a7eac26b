/* The registry client against real registries (registry_fixture.h), push and
 * credentials side: monolithic and chunked blob uploads read back by skopeo
 * (inspect and copy), existing blobs skipped, cross-repository mounts (open
 * and token auth), a manifest with a missing blob refused; htpasswd Basic
 * auth with credentials from config.json (legacy keys, ':' in passwords,
 * DOCKER_AUTH_CONFIG), docker-credential-* helpers (credHelpers, credsStore,
 * missing helper = error), Bearer tokens with credentials and scope
 * upgrades, and login/logout rewriting config.json. */
#include "config.h"

#include <jansson.h>

#include "image/registry.h"
#include "image/registry_internal.h" /* mtk_registry_base64 */
#include "image/store.h"
#include "registry_fixture.h"
#include "tap.h"
#include "util/sha256.h"

static struct rf_registry reg_open, reg_basic, reg_token;
static char amd64_digest[MTK_DIGEST_SIZE];
static struct mtk_manifest *amd64; /* the layout's amd64 manifest */
static char *amd64_body;           /* its bytes */
static size_t amd64_len;

/* ------------------------------------------------------------- helpers */

static struct mtk_registry *client_opts(const char *host, const char *config, int64_t chunk)
{
  struct mtk_registry_opts o = {.host = host,
                                .backoff_ms = 20,
                                .max_attempts = 4,
                                .chunk_size = chunk,
                                .auth_config = config ? config : rf_path("no-config.json")};
  struct mtk_err *err = NULL;
  struct mtk_registry *r = mtk_registry_new(&o, &err);
  if (!r) {
    printf("# mtk_registry_new: %s\n", err->msg);
    exit(1);
  }
  return r;
}

static struct mtk_registry *client(const char *host, const char *config)
{
  return client_opts(host, config, 0);
}

static void show(struct mtk_err *err)
{
  if (err)
    printf("# error (%d): %s%s%s\n", err->code, err->msg, err->hint ? " | hint: " : "",
           err->hint ? err->hint : "");
}

static char *slurp(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t) n + 1);
  size_t got = fread(b, 1, (size_t) n, f);
  fclose(f);
  b[got] = '\0';
  if (len)
    *len = got;
  return b;
}

static char *blob_path(const char *digest)
{
  return rf_path("oci/blobs/sha256/%s", mtk_digest_hex(digest));
}

/* Pushes config + layer of the amd64 image to repo, then the manifest as tag. */
static int push_image(struct mtk_registry *r, const char *repo, const char *tag, bool chunked,
                      const char *mount_from, int results[2], struct mtk_err **err)
{
  const struct mtk_descriptor *d[2] = {&amd64->config, &amd64->layers[0]};
  for (int i = 0; i < 2; i++) {
    mtk_autoclose int fd = open(blob_path(d[i]->digest), O_RDONLY);
    results[i] =
        mtk_registry_push_blob(r, repo, d[i]->digest, d[i]->size, fd, mount_from, chunked, err);
    if (results[i] < 0)
      return -1;
  }
  mtk_autofree char *dg = NULL;
  if (mtk_registry_put_manifest(r, repo, tag, MTK_MT_OCI_MANIFEST, amd64_body, amd64_len, &dg,
                                err) < 0)
    return -1;
  return strcmp(dg, amd64_digest) == 0 ? 0 : -1;
}

/* `skopeo inspect` of host/repo:tag: its Digest, Architecture (owned, "" on failure). */
static char *skopeo_inspect(const struct rf_registry *reg, const char *repo, const char *tag,
                            const char *creds, char **arch)
{
  char ref[300], credarg[100];
  snprintf(ref, sizeof(ref), "docker://%s/%s:%s", reg->host, repo, tag);
  snprintf(credarg, sizeof(credarg), "--creds=%s", creds ? creds : "");
  char *argv[] = {"skopeo", "inspect", "--tls-verify=false", ref, creds ? credarg : NULL, NULL};
  char *out = NULL;
  int st = rf_run(argv, &out);
  json_t *doc = st == 0 ? json_loads(out, 0, NULL) : NULL;
  const char *dg = json_string_value(json_object_get(doc, "Digest"));
  const char *a = json_string_value(json_object_get(doc, "Architecture"));
  char *ret = strdup(dg ? dg : "");
  *arch = strdup(a ? a : "");
  json_decref(doc);
  free(out);
  return ret;
}

static int check_skopeo(const struct rf_registry *reg, const char *repo, const char *tag,
                        const char *creds)
{
  mtk_autofree char *arch = NULL;
  mtk_autofree char *dg = skopeo_inspect(reg, repo, tag, creds, &arch);
  MTK_ASSERT_STREQ(dg, amd64_digest);
  MTK_ASSERT_STREQ(arch, "amd64");
  return 0;
}

static int write_config(const char *path, const char *key, const char *user, const char *pass)
{
  char up[200];
  snprintf(up, sizeof(up), "%s:%s", user, pass);
  mtk_autofree char *b64 = mtk_registry_base64(up, strlen(up));
  mtk_autofree char *text = mtk_xasprintf("{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}", key, b64);
  return rf_write(path, text);
}

/* Returns 0 when the client can read the amd64 manifest through reg. */
static int can_pull(const struct rf_registry *reg, const char *config, struct mtk_err **err)
{
  mtk_autoptr(mtk_registry) r = client(reg->host, config);
  return mtk_registry_get_manifest(r, "test/base", "oci-amd64", NULL, NULL, NULL, NULL, err);
}

/* --------------------------------------------------------------- tests */

static int test_push_monolithic(void)
{
  mtk_autoptr(mtk_registry) r = client(reg_open.host, NULL);
  struct mtk_err *err = NULL;
  int res[2];
  int ret = push_image(r, "test/mono", "v1", false, NULL, res, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_EQ(res[0], MTK_REGISTRY_PUSHED);
  MTK_ASSERT_EQ(res[1], MTK_REGISTRY_PUSHED);
  MTK_ASSERT_EQ(check_skopeo(&reg_open, "test/mono", "v1", NULL), 0);
  /* Again: the registry has both blobs. */
  MTK_ASSERT_EQ(push_image(r, "test/mono", "v2", false, NULL, res, &err), 0);
  MTK_ASSERT_EQ(res[0], MTK_REGISTRY_EXISTS);
  MTK_ASSERT_EQ(res[1], MTK_REGISTRY_EXISTS);
  /* skopeo copies it out: the layer bytes are the ones pushed. */
  char src[200], dst[600];
  snprintf(src, sizeof(src), "docker://%s/test/mono:v1", reg_open.host);
  snprintf(dst, sizeof(dst), "dir:%s", rf_path("copied"));
  char *argv[] = {"skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false", src, dst,
                  NULL};
  MTK_ASSERT_EQ(rf_run(argv, NULL), 0);
  size_t a = 0, b = 0;
  mtk_autofree char *orig = slurp(blob_path(amd64->layers[0].digest), &a);
  mtk_autofree char *copy =
      slurp(rf_path("copied/%s", mtk_digest_hex(amd64->layers[0].digest)), &b);
  MTK_ASSERT(orig && copy && a == b && memcmp(orig, copy, a) == 0);
  return 0;
}

static int test_push_chunked(void)
{
  mtk_autoptr(mtk_registry) r = client_opts(reg_open.host, NULL, 64 * 1024);
  struct mtk_err *err = NULL;
  int res[2];
  struct mtk_registry_stats st;
  int ret = push_image(r, "test/chunked", "v1", true, NULL, res, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_EQ(res[1], MTK_REGISTRY_PUSHED);
  mtk_registry_get_stats(r, &st);
  int64_t patches = (amd64->layers[0].size + 65535) / 65536;
  MTK_ASSERT(st.requests >= patches + 6); /* PATCHes + HEAD/POST/PUT per blob + manifest */
  MTK_ASSERT_EQ(check_skopeo(&reg_open, "test/chunked", "v1", NULL), 0);
  MTK_ASSERT_EQ(mtk_registry_blob_exists(r, "test/chunked", amd64->layers[0].digest, NULL, &err),
                1);
  return 0;
}

/* Uploads through a proxy that cuts them: a PATCH cut in its body resumes
 * from the session's status (or a new session), a monolithic PUT cut midway
 * starts over; the registry verifies the digest of what it finally got. */
static int push_through_cut(const struct rf_proxy_rule *rule, const char *repo, bool chunked,
                            int want_cuts)
{
  int port = rf_start_proxy(reg_open.port, rule);
  MTK_ASSERT(port > 0);
  char host[32];
  snprintf(host, sizeof(host), "127.0.0.1:%d", port);
  mtk_autoptr(mtk_registry) r = client_opts(host, NULL, 64 * 1024);
  struct mtk_err *err = NULL;
  int res[2];
  int ret = push_image(r, repo, "v1", chunked, NULL, res, &err);
  rf_stop_proxy();
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_EQ(res[1], MTK_REGISTRY_PUSHED);
  int cuts, ranges;
  rf_proxy_stats(&cuts, &ranges);
  struct mtk_registry_stats st;
  mtk_registry_get_stats(r, &st);
  printf("# %s: %d cuts, %" PRId64 " retries\n", repo, cuts, st.retries);
  MTK_ASSERT_EQ(cuts, want_cuts);
  MTK_ASSERT(st.retries >= 1);
  return check_skopeo(&reg_open, repo, "v1", NULL);
}

/* Lines of the open registry's access log holding both a and b. */
static int log_count(const char *a, const char *b)
{
  mtk_autofree char *log = slurp(rf_path("registry-open.log"), NULL);
  int n = 0;
  for (char *line = log ? strtok(log, "\n") : NULL; line; line = strtok(NULL, "\n"))
    n += strstr(line, a) && strstr(line, b);
  return n;
}

static int test_push_cut(void)
{
  /* Cut inside a PATCH body: the registry got part of it, the session is
   * gone (404 on the status), a new one is started. */
  struct rf_proxy_rule patch = {"PATCH ", "/blobs/uploads/", 0, 30000, 2, 0};
  MTK_ASSERT_EQ(push_through_cut(&patch, "test/cut-chunked", true, 2), 0);
  MTK_ASSERT(log_count("\"GET /v2/test/cut-chunked/blobs/uploads/", "\" 404 ") >= 1);
  /* Cut in the headers of the layer's third PATCH, twice (libcurl itself
   * resends once on a fresh connection when a reused one dies before any
   * answer): nothing arrived, the session status says 0-131071 and the
   * upload continues from there. */
  struct rf_proxy_rule head = {"PATCH ", "/blobs/uploads/", 0, 100, 2, 3};
  MTK_ASSERT_EQ(push_through_cut(&head, "test/cut-resume", true, 2), 0);
  MTK_ASSERT_EQ(log_count("\"GET /v2/test/cut-resume/blobs/uploads/", "\" 204 "), 1);
  MTK_ASSERT_EQ(log_count("\"POST /v2/test/cut-resume/blobs/uploads/", "\" 202 "), 2);
  /* A monolithic PUT cut midway (twice: one may be resent by libcurl
   * itself): a new session. */
  struct rf_proxy_rule put = {"PUT ", "digest=sha256", 0, 200000, 2, 0};
  MTK_ASSERT_EQ(push_through_cut(&put, "test/cut-mono", false, 2), 0);
  return 0;
}

static int test_push_mount(void)
{
  struct mtk_err *err = NULL;
  int res[2];
  mtk_autoptr(mtk_registry) r = client(reg_open.host, NULL);
  int ret = push_image(r, "test/mounted", "v1", false, "test/base", res, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_EQ(res[0], MTK_REGISTRY_MOUNTED);
  MTK_ASSERT_EQ(res[1], MTK_REGISTRY_MOUNTED);
  MTK_ASSERT_EQ(check_skopeo(&reg_open, "test/mounted", "v1", NULL), 0);
  /* Token auth: one token with push on the target and pull on the source. */
  MTK_ASSERT_EQ(write_config(rf_path("token.json"), reg_token.host, RF_USER, RF_PASS), 0);
  mtk_autoptr(mtk_registry) t = client(reg_token.host, rf_path("token.json"));
  ret = push_image(t, "test/mounted-token", "v1", false, "test/base", res, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_EQ(res[0], MTK_REGISTRY_MOUNTED);
  MTK_ASSERT_EQ(res[1], MTK_REGISTRY_MOUNTED);
  struct mtk_registry_stats st;
  mtk_registry_get_stats(t, &st);
  MTK_ASSERT_EQ(st.token_fetches, 1);
  MTK_ASSERT_EQ(check_skopeo(&reg_token, "test/mounted-token", "v1", RF_USER ":" RF_PASS), 0);
  return 0;
}

static int test_manifest_blob_unknown(void)
{
  mtk_autoptr(mtk_registry) r = client(reg_open.host, NULL);
  struct mtk_err *err = NULL;
  int ret = mtk_registry_put_manifest(r, "test/empty", "v1", MTK_MT_OCI_MANIFEST, amd64_body,
                                      amd64_len, NULL, &err);
  MTK_ASSERT(ret < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "(MANIFEST_BLOB_UNKNOWN)");
  mtk_err_free(&err);
  return 0;
}

static int test_basic_auth(void)
{
  struct mtk_err *err = NULL;
  MTK_ASSERT(can_pull(&reg_basic, NULL, &err) < 0 && err);
  MTK_ASSERT_EQ(err->code, MTK_E_PULL);
  MTK_ASSERT_CONTAINS(err->msg, "authentication required");
  MTK_ASSERT_CONTAINS(err->hint, reg_basic.host);
  mtk_err_free(&err);
  char *cfg = rf_path("basic.json");
  MTK_ASSERT_EQ(write_config(cfg, reg_basic.host, RF_USER, RF_PASS), 0);
  MTK_ASSERT_EQ(can_pull(&reg_basic, cfg, &err), 0);
  MTK_ASSERT_EQ(write_config(cfg, reg_basic.host, RF_USER, "wrong"), 0);
  MTK_ASSERT(can_pull(&reg_basic, cfg, &err) < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "incorrect username or password");
  mtk_err_free(&err);
  char legacy[100];
  snprintf(legacy, sizeof(legacy), "http://%s/v2/", reg_basic.host);
  MTK_ASSERT_EQ(write_config(cfg, legacy, "colon", "pa:ss"), 0); /* ':' in the password */
  MTK_ASSERT_EQ(can_pull(&reg_basic, cfg, &err), 0);
  mtk_autofree char *bad =
      mtk_xasprintf("{\"auths\":{\"%s\":{\"auth\":\"%%%%%%\"}}}", reg_basic.host);
  MTK_ASSERT_EQ(rf_write(cfg, bad), 0);
  MTK_ASSERT(can_pull(&reg_basic, cfg, &err) < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, cfg);
  MTK_ASSERT_CONTAINS(err->msg, "invalid \"auth\"");
  mtk_err_free(&err);
  /* DOCKER_AUTH_CONFIG takes precedence over the (broken) file. */
  char up[] = RF_USER ":" RF_PASS;
  mtk_autofree char *b64 = mtk_registry_base64(up, strlen(up));
  mtk_autofree char *env =
      mtk_xasprintf("{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}", reg_basic.host, b64);
  setenv("DOCKER_AUTH_CONFIG", env, 1);
  int ret = can_pull(&reg_basic, cfg, &err);
  unsetenv("DOCKER_AUTH_CONFIG");
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  return 0;
}

/* A fake docker-credential-mtktest: logs "<action> <stdin>" and answers get. */
static int install_helper(void)
{
  mkdir(rf_path("bin"), 0755);
  mtk_autofree char *script = mtk_xasprintf(
      "#!/bin/sh\nin=$(cat)\necho \"$1 $in\" >> %s\n"
      "case $1 in\n  get) case $in in\n    %s) printf '{\"ServerURL\":\"%%s\",\"Username\":"
      "\"%s\",\"Secret\":\"%s\"}' \"$in\";;\n"
      "    *) echo 'credentials not found in native keychain'; exit 1;;\n  esac;;\nesac\n",
      rf_path("helper.log"), reg_basic.host, RF_USER, RF_PASS);
  char *path = rf_path("bin/docker-credential-mtktest");
  if (rf_write(path, script) < 0 || chmod(path, 0755) < 0)
    return -1;
  mtk_autofree char *p = mtk_xasprintf("%s:%s", rf_path("bin"), getenv("PATH"));
  return setenv("PATH", p, 1);
}

static int test_cred_helpers(void)
{
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(install_helper(), 0);
  char *cfg = rf_path("helper.json");
  mtk_autofree char *h = mtk_xasprintf("{\"credHelpers\":{\"%s\":\"mtktest\"}}", reg_basic.host);
  MTK_ASSERT_EQ(rf_write(cfg, h), 0);
  MTK_ASSERT_EQ(can_pull(&reg_basic, cfg, &err), 0);
  mtk_autofree char *log = slurp(rf_path("helper.log"), NULL);
  mtk_autofree char *want = mtk_xasprintf("get %s\n", reg_basic.host);
  MTK_ASSERT_STREQ(log, want);
  MTK_ASSERT_EQ(rf_write(cfg, "{\"credsStore\":\"mtktest\"}"), 0);
  MTK_ASSERT_EQ(can_pull(&reg_basic, cfg, &err), 0);
  /* The helper knows nothing about this host: anonymous, then refused. */
  mtk_autofree char *other =
      mtk_xasprintf("{\"credHelpers\":{\"%s\":\"mtktest\"}}", reg_token.host);
  MTK_ASSERT_EQ(rf_write(cfg, other), 0);
  MTK_ASSERT_EQ(can_pull(&reg_token, cfg, &err), 0); /* anonymous pull token */
  /* A configured helper that does not exist is an error (CVE-2021-41092). */
  MTK_ASSERT_EQ(rf_write(cfg, "{\"credsStore\":\"nosuchhelper\",\"auths\":{}}"), 0);
  MTK_ASSERT(can_pull(&reg_basic, cfg, &err) < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "docker-credential-nosuchhelper");
  mtk_err_free(&err);
  return 0;
}

static int test_token_push(void)
{
  struct mtk_err *err = NULL;
  MTK_ASSERT_EQ(write_config(rf_path("token.json"), reg_token.host, RF_USER, RF_PASS), 0);
  mtk_autoptr(mtk_registry) r = client(reg_token.host, rf_path("token.json"));
  /* pull first (a pull token), then push: a second token with pull,push. */
  MTK_ASSERT_EQ(
      mtk_registry_get_manifest(r, "test/base", "oci-amd64", NULL, NULL, NULL, NULL, &err), 0);
  int res[2];
  int ret = push_image(r, "test/token", "v1", false, NULL, res, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  struct mtk_registry_stats st;
  mtk_registry_get_stats(r, &st);
  MTK_ASSERT_EQ(st.token_fetches, 2);
  MTK_ASSERT_EQ(check_skopeo(&reg_token, "test/token", "v1", RF_USER ":" RF_PASS), 0);
  MTK_ASSERT_EQ(write_config(rf_path("token.json"), reg_token.host, RF_USER, "wrong"), 0);
  mtk_autoptr(mtk_registry) w = client(reg_token.host, rf_path("token.json"));
  ret = mtk_registry_get_manifest(w, "test/base", "oci-amd64", NULL, NULL, NULL, NULL, &err);
  MTK_ASSERT(ret < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "incorrect username or password");
  mtk_err_free(&err);
  return 0;
}

/* An identity token (config.json `identitytoken`) is traded at the realm
 * with the OAuth2 refresh_token grant; the token grants push. */
static int test_identity_token(void)
{
  struct mtk_err *err = NULL;
  char *cfg = rf_path("identity.json");
  mtk_autofree char *text =
      mtk_xasprintf("{\"auths\":{\"%s\":{\"identitytoken\":\"%s\"}}}", reg_token.host, RF_REFRESH);
  MTK_ASSERT_EQ(rf_write(cfg, text), 0);
  mtk_autoptr(mtk_registry) r = client(reg_token.host, cfg);
  int res[2];
  int ret = push_image(r, "test/identity", "v1", false, NULL, res, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  MTK_ASSERT_EQ(check_skopeo(&reg_token, "test/identity", "v1", RF_USER ":" RF_PASS), 0);
  mtk_autofree char *bad =
      mtk_xasprintf("{\"auths\":{\"%s\":{\"identitytoken\":\"revoked\"}}}", reg_token.host);
  MTK_ASSERT_EQ(rf_write(cfg, bad), 0);
  mtk_autoptr(mtk_registry) w = client(reg_token.host, cfg);
  ret = mtk_registry_get_manifest(w, "test/base", "oci-amd64", NULL, NULL, NULL, NULL, &err);
  MTK_ASSERT(ret < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "unauthorized");
  MTK_ASSERT_CONTAINS(err->hint, "mtk login");
  mtk_err_free(&err);
  return 0;
}

static int login_as(const struct rf_registry *reg, const char *cfg, const char *user,
                    const char *pass, struct mtk_err **err)
{
  struct mtk_registry_opts o = {.host = reg->host, .auth_config = cfg};
  return mtk_registry_login(&o, user, pass, err);
}

static int test_login_logout(void)
{
  struct mtk_err *err = NULL;
  char *cfg = rf_path("login/config.json");
  MTK_ASSERT_EQ(mkdir(rf_path("login"), 0700), 0);
  MTK_ASSERT_EQ(rf_write(cfg, "{\"auths\":{\"other:1\":{\"auth\":\"eDp5\"}},\"psFormat\":\"x\"}"),
                0);
  MTK_ASSERT_EQ(login_as(&reg_basic, cfg, RF_USER, RF_PASS, &err), 0);
  struct stat st;
  MTK_ASSERT_EQ(stat(cfg, &st), 0);
  MTK_ASSERT_EQ(st.st_mode & 0777, 0600);
  json_t *doc = json_load_file(cfg, 0, NULL);
  char up[] = RF_USER ":" RF_PASS;
  mtk_autofree char *b64 = mtk_registry_base64(up, strlen(up));
  json_t *auths = json_object_get(doc, "auths");
  MTK_ASSERT_STREQ(
      json_string_value(json_object_get(json_object_get(auths, reg_basic.host), "auth")), b64);
  MTK_ASSERT(json_object_get(auths, "other:1") != NULL);
  MTK_ASSERT_STREQ(json_string_value(json_object_get(doc, "psFormat")), "x");
  json_decref(doc);
  MTK_ASSERT_EQ(can_pull(&reg_basic, cfg, &err), 0);
  /* A wrong password: an error, and the file stays as it was. */
  mtk_autofree char *before = slurp(cfg, NULL);
  MTK_ASSERT(login_as(&reg_basic, cfg, RF_USER, "wrong", &err) < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "incorrect username or password");
  mtk_err_free(&err);
  mtk_autofree char *after = slurp(cfg, NULL);
  MTK_ASSERT_STREQ(after, before);
  struct mtk_registry_opts o = {.host = reg_basic.host, .auth_config = cfg};
  MTK_ASSERT_EQ(mtk_registry_logout(&o, &err), 1);
  doc = json_load_file(cfg, 0, NULL);
  MTK_ASSERT(json_object_get(json_object_get(doc, "auths"), reg_basic.host) == NULL);
  MTK_ASSERT(json_object_get(json_object_get(doc, "auths"), "other:1") != NULL);
  json_decref(doc);
  MTK_ASSERT_EQ(mtk_registry_logout(&o, &err), 0);
  /* Token registries: the token server checks the credentials. */
  MTK_ASSERT_EQ(login_as(&reg_token, cfg, RF_USER, RF_PASS, &err), 0);
  MTK_ASSERT(login_as(&reg_token, cfg, RF_USER, "wrong", &err) < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "incorrect username or password");
  mtk_err_free(&err);
  return 0;
}

/* With credsStore the secret goes to the helper; config.json keeps an empty entry. */
static int test_login_helper(void)
{
  struct mtk_err *err = NULL;
  char *cfg = rf_path("login-helper.json");
  MTK_ASSERT_EQ(rf_write(cfg, "{\"credsStore\":\"mtktest\"}"), 0);
  unlink(rf_path("helper.log"));
  int ret = login_as(&reg_basic, cfg, RF_USER, RF_PASS, &err);
  show(err);
  MTK_ASSERT_EQ(ret, 0);
  mtk_autofree char *log = slurp(rf_path("helper.log"), NULL);
  mtk_autofree char *want = mtk_xasprintf("store {\"ServerURL\":\"%s\",\"Username\":\"%s\","
                                          "\"Secret\":\"%s\"}\n",
                                          reg_basic.host, RF_USER, RF_PASS);
  MTK_ASSERT_STREQ(log, want);
  mtk_autofree char *text = slurp(cfg, NULL);
  MTK_ASSERT(strstr(text, RF_PASS) == NULL);
  json_t *doc = json_loads(text, 0, NULL);
  json_t *e = json_object_get(json_object_get(doc, "auths"), reg_basic.host);
  MTK_ASSERT(json_is_object(e) && json_object_size(e) == 0);
  json_decref(doc);
  MTK_ASSERT_EQ(rf_write(cfg, "{\"credsStore\":\"nosuchhelper\"}"), 0);
  MTK_ASSERT(login_as(&reg_basic, cfg, RF_USER, RF_PASS, &err) < 0 && err);
  MTK_ASSERT_CONTAINS(err->msg, "docker-credential-nosuchhelper");
  mtk_err_free(&err);
  return 0;
}

/* ---------------------------------------------------------------- main */

static int setup(void)
{
  const char *basic = rf_htpasswd_auth();
  int token_port = 0;
  const char *tok = rf_token_auth(&token_port);
  if (!basic || !tok)
    return -1;
  /* A second htpasswd user whose password holds a ':'. */
  char *line = NULL;
  char *argv[] = {"htpasswd", "-Bbn", "colon", "pa:ss", NULL};
  if (rf_run(argv, &line) != 0)
    return -1;
  FILE *f = fopen(rf_path("htpasswd"), "a");
  fputs(line, f);
  fclose(f);
  free(line);
  if (rf_start_registry(&reg_open, "open", "", "") < 0 ||
      rf_start_registry(&reg_basic, "basic", basic, "") < 0 ||
      rf_start_registry(&reg_token, "token", tok, "") < 0 || rf_build_and_push(&reg_open) < 0)
    return -1;
  /* test/base: the mount source, readable through every registry (shared storage). */
  char src[600], dst[200];
  snprintf(src, sizeof(src), "oci:%s:busybox-amd64", rf_path("oci"));
  snprintf(dst, sizeof(dst), "docker://%s/test/base:oci-amd64", reg_open.host);
  char *copy[] = {"skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false", src, dst,
                  NULL};
  if (rf_run(copy, NULL) != 0)
    return -1;
  json_t *idx = json_load_file(rf_path("oci/index.json"), 0, NULL), *m;
  size_t i;
  json_array_foreach(json_object_get(idx, "manifests"), i, m)
  {
    json_t *ann = json_object_get(m, "annotations");
    const char *name = json_string_value(json_object_get(ann, MTK_ANN_REF_NAME));
    if (name && strcmp(name, "busybox-amd64") == 0)
      snprintf(amd64_digest, sizeof(amd64_digest), "%s",
               json_string_value(json_object_get(m, "digest")));
  }
  json_decref(idx);
  amd64_body = slurp(blob_path(amd64_digest), &amd64_len);
  struct mtk_err *err = NULL;
  if (!amd64_body ||
      mtk_manifest_parse(amd64_body, amd64_len, MTK_MT_OCI_MANIFEST, &amd64, &err) < 0) {
    show(err);
    return -1;
  }
  return 0;
}

int main(void)
{
  int rc = rf_init(__FILE__);
  if (rc != 0)
    return rc;
  unsetenv("DOCKER_AUTH_CONFIG");
  if (setup() < 0) {
    printf("Bail out! fixture setup failed (logs in %s; MTK_TEST_KEEP=1 keeps them)\n", rf_dir);
    return 1;
  }
  static const struct mtk_test tests[] = {
      {"monolithic push read back by skopeo inspect/copy, then skipped", test_push_monolithic},
      {"chunked push (64 KiB PATCHes)", test_push_chunked},
      {"uploads cut by a proxy: resumed or restarted", test_push_cut},
      {"cross-repository mounts (open and token)", test_push_mount},
      {"manifest with a missing blob refused", test_manifest_blob_unknown},
      {"htpasswd Basic auth from config.json and DOCKER_AUTH_CONFIG", test_basic_auth},
      {"credential helpers; a missing one is an error", test_cred_helpers},
      {"token auth with credentials, scope upgrade for push", test_token_push},
      {"identity token: OAuth2 refresh_token grant", test_identity_token},
      {"login/logout rewrite config.json (0600, other keys kept)", test_login_logout},
      {"login through credsStore", test_login_helper},
      {NULL, NULL}};
  rc = mtk_test_main(tests);
  mtk_manifest_free(amd64);
  free(amd64_body);
  return rc;
}
