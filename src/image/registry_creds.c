/* Registry credentials as the docker CLI keeps them (IMAGES.md §5):
 * config.json `auths` (base64 "auth", username/password, identitytoken,
 * registrytoken; Docker Hub under "https://index.docker.io/v1/"),
 * `credHelpers` / `credsStore` through `docker-credential-<name>
 * get|store|erase` (JSON over stdin/stdout, spawned without a shell), the
 * DOCKER_AUTH_CONFIG variable, and `login`/`logout`, which verify and then
 * rewrite config.json atomically with mode 0600, keeping every other key.
 * A configured helper that is missing or fails is an error: nothing is sent
 * anywhere else (CVE-2021-41092). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/ref.h"
#include "image/registry_internal.h"
#include "util/cleanup.h"
#include "util/file.h"
#include "util/strbuf.h"

extern char **environ;

#define HELPER_OUT_MAX (1024 * 1024)
#define HELPER_TIMEOUT_MS 60000

/* -------------------------------------------------------------- paths */

static bool hub_host(const char *h)
{
  return strcmp(h, "docker.io") == 0 || strcmp(h, "index.docker.io") == 0 ||
         strcmp(h, MTK_IMAGE_REF_HUB_REGISTRY) == 0;
}

const char *mtk_registry_auth_key(const char *host)
{
  return hub_host(host) ? MTK_IMAGE_REF_HUB_AUTH_KEY : host;
}

char *mtk_registry_config_path(const char *auth_config)
{
  if (auth_config)
    return mtk_xstrdup(auth_config);
  const char *d = getenv("DOCKER_CONFIG");
  if (d && *d)
    return mtk_xasprintf("%s/config.json", d);
  const char *home = getenv("HOME");
  if (!home || !*home) {
    struct passwd *pw = getpwuid(getuid());
    home = pw ? pw->pw_dir : "/";
  }
  return mtk_xasprintf("%s/.docker/config.json", home);
}

/* ConvertToHostname: "https://host:5000/v1/" -> "host:5000". Owned. */
static char *key_hostname(const char *key)
{
  const char *s = key;
  if (strncasecmp(s, "http://", 7) == 0)
    s += 7;
  else if (strncasecmp(s, "https://", 8) == 0)
    s += 8;
  return mtk_xstrndup(s, strcspn(s, "/"));
}

static bool key_matches(const char *k, const char *host)
{
  mtk_autofree char *kh = key_hostname(k);
  if (hub_host(host))
    return hub_host(kh);
  return strcmp(kh, host) == 0;
}

/* ------------------------------------------------------------- config */

/* Reads config.json; a missing file is an empty object. */
static json_t *config_read(const char *path, struct mtk_err **err)
{
  json_error_t je;
  json_t *doc = json_load_file(path, 0, &je);
  if (!doc) {
    if (access(path, F_OK) < 0 && errno == ENOENT)
      return json_object();
    mtk_err_set_at(err, MTK_E_GENERIC, path, je.line, je.column, "%s", je.text);
    mtk_err_hint(err, "fix or remove the Docker credentials file");
    return NULL;
  }
  if (!json_is_object(doc)) {
    json_decref(doc);
    mtk_err_set_at(err, MTK_E_GENERIC, path, 1, 1, "a JSON object was expected");
    return NULL;
  }
  return doc;
}

static const char *str_at(json_t *o, const char *k)
{
  const char *v = json_string_value(json_object_get(o, k));
  return v && *v ? v : NULL;
}

/* The auths entry for host: exact key first, then any key naming the host. */
static json_t *auths_entry(json_t *doc, const char *host, const char **key_out)
{
  json_t *auths = json_object_get(doc, "auths");
  const char *key = mtk_registry_auth_key(host), *k;
  json_t *v = json_object_get(auths, key);
  if (json_is_object(v)) {
    *key_out = key;
    return v;
  }
  json_object_foreach(auths, k, v)
  {
    if (json_is_object(v) && key_matches(k, host)) {
      *key_out = k;
      return v;
    }
  }
  return NULL;
}

static int decode_auth(const char *b64, struct mtk_registry_creds *c, const char *where,
                       struct mtk_err **err)
{
  size_t n = strlen(b64);
  mtk_autofree unsigned char *raw = mtk_xmalloc(n / 4 * 3 + 4);
  int len = n % 4 == 0 ? EVP_DecodeBlock(raw, (const unsigned char *) b64, (int) n) : -1;
  if (len >= 0) {
    /* EVP_DecodeBlock counts the padding as NUL bytes. */
    for (size_t i = n; i > 0 && b64[i - 1] == '='; i--)
      len--;
  }
  char *colon = len > 0 ? memchr(raw, ':', (size_t) len) : NULL;
  if (!colon || colon == (char *) raw)
    return mtk_err_set(err, MTK_E_GENERIC, "%s: invalid \"auth\" (base64 of user:password)", where);
  int plen = len - (int) (colon + 1 - (char *) raw);
  while (plen > 0 && colon[plen] == '\0') /* NUL padding (decodeAuth trims it) */
    plen--;
  c->username = mtk_xstrndup((char *) raw, (size_t) (colon - (char *) raw));
  c->password = mtk_xstrndup(colon + 1, (size_t) plen);
  return 0;
}

static int creds_from_entry(json_t *e, struct mtk_registry_creds *c, const char *where,
                            struct mtk_err **err)
{
  const char *auth = str_at(e, "auth");
  if (auth && decode_auth(auth, c, where, err) < 0)
    return -1;
  if (!auth && str_at(e, "username") && str_at(e, "password")) {
    c->username = mtk_xstrdup(str_at(e, "username"));
    c->password = mtk_xstrdup(str_at(e, "password"));
  }
  if (str_at(e, "identitytoken"))
    c->identity_token = mtk_xstrdup(str_at(e, "identitytoken"));
  if (str_at(e, "registrytoken"))
    c->registry_token = mtk_xstrdup(str_at(e, "registrytoken"));
  return 0;
}

void mtk_registry_creds_clear(struct mtk_registry_creds *c)
{
  free(c->username);
  free(c->password);
  free(c->identity_token);
  free(c->registry_token);
  memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------- helpers */

static bool helper_name_valid(const char *n)
{
  if (!*n || strlen(n) > 100)
    return false;
  for (; *n; n++)
    if (!isalnum((unsigned char) *n) && !strchr("._-", *n))
      return false;
  return true;
}

/* Reads everything the helper prints (capped) within the timeout. */
static int helper_read(int fd, struct mtk_strbuf *out, const char *prog, struct mtk_err **err)
{
  char buf[4096];
  for (;;) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int pr = poll(&pfd, 1, HELPER_TIMEOUT_MS);
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr == 0)
      return mtk_err_set(err, ETIMEDOUT, "credential helper %s did not answer", prog);
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return 0;
    if (out->len + (size_t) n > HELPER_OUT_MAX)
      return mtk_err_set(err, EFBIG, "credential helper %s printed too much", prog);
    mtk_strbuf_add(out, buf, (size_t) n);
  }
}

/* Runs docker-credential-<name> <action> with input on stdin.  Returns its
 * exit status (>= 0) with *out its stdout, or negative when it could not run. */
static int helper_run(const char *name, const char *action, const char *input, char **out,
                      struct mtk_err **err)
{
  if (!helper_name_valid(name))
    return mtk_err_set(err, EINVAL, "invalid credential helper name \"%s\"", name);
  mtk_autofree char *prog = mtk_xasprintf("docker-credential-%s", name);
  int sv[2];
  /* A socketpair for stdin and stdout: send() with MSG_NOSIGNAL cannot raise
   * SIGPIPE in our process if the helper exits early. */
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return mtk_err_set(err, errno, "socketpair: %s", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
  posix_spawn_file_actions_adddup2(&fa, sv[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* no registry sockets for the helper */
  char *argv[] = {prog, (char *) action, NULL};
  pid_t pid;
  int rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    mtk_err_set(err, rc, "credential helper %s: %s", prog, strerror(rc));
    mtk_err_hint(err, "install %s or remove it from the Docker credentials file", prog);
    return -1;
  }
  size_t len = strlen(input), off = 0;
  while (off < len) {
    ssize_t n = send(sv[0], input + off, len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    off += (size_t) n;
  }
  shutdown(sv[0], SHUT_WR);
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  int ret = helper_read(sv[0], &sb, prog, err);
  close(sv[0]);
  if (ret < 0)
    kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (ret < 0)
    return -1;
  *out = mtk_strbuf_steal(&sb);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int helper_failed(const char *name, const char *action, const char *out,
                         struct mtk_err **err)
{
  size_t n = strcspn(out, "\r\n");
  return mtk_err_set(err, MTK_E_GENERIC, "credential helper docker-credential-%s %s: %.*s", name,
                     action, (int) (n > 300 ? 300 : n), n ? out : "failed");
}

static int helper_get(const char *name, const char *key, struct mtk_registry_creds *c,
                      struct mtk_err **err)
{
  mtk_autofree char *out = NULL;
  int st = helper_run(name, "get", key, &out, err);
  if (st < 0)
    return -1;
  if (st != 0) {
    if (strstr(out, "credentials not found"))
      return 0;
    return helper_failed(name, "get", out, err);
  }
  json_t *doc = json_loads(out, 0, NULL);
  const char *user = str_at(doc, "Username"), *secret = str_at(doc, "Secret");
  if (!json_is_object(doc)) {
    json_decref(doc);
    return mtk_err_set(err, MTK_E_GENERIC,
                       "credential helper docker-credential-%s get: "
                       "invalid answer",
                       name);
  }
  if (user && secret && strcmp(user, "<token>") == 0) {
    c->identity_token = mtk_xstrdup(secret);
  } else if (user && secret) {
    c->username = mtk_xstrdup(user);
    c->password = mtk_xstrdup(secret);
  }
  json_decref(doc);
  return 0;
}

/* The helper configured for key: credHelpers[key], else credsStore; borrowed. */
static const char *helper_for(json_t *doc, const char *key)
{
  const char *h = str_at(json_object_get(doc, "credHelpers"), key);
  return h ? h : str_at(doc, "credsStore");
}

/* --------------------------------------------------------------- load */

static int load_env(const char *host, struct mtk_registry_creds *c, bool *found,
                    struct mtk_err **err)
{
  const char *env = getenv("DOCKER_AUTH_CONFIG");
  *found = false;
  if (!env || !*env)
    return 0;
  json_error_t je;
  json_t *doc = json_loads(env, 0, &je);
  if (!json_is_object(doc)) {
    json_decref(doc);
    return mtk_err_set(err, MTK_E_GENERIC, "DOCKER_AUTH_CONFIG: invalid JSON: %s", je.text);
  }
  const char *k = NULL;
  json_t *e = auths_entry(doc, host, &k);
  int ret = 0;
  if (e) {
    *found = true;
    ret = creds_from_entry(e, c, "DOCKER_AUTH_CONFIG", err);
  }
  json_decref(doc);
  return ret;
}

int mtk_registry_creds_load(struct mtk_registry *r, struct mtk_err **err)
{
  if (r->creds_loaded)
    return 0;
  struct mtk_registry_creds c = {0};
  bool found = false;
  int ret = load_env(r->host, &c, &found, err);
  if (ret == 0 && !found) {
    mtk_autofree char *path = mtk_registry_config_path(r->auth_config);
    json_t *doc = config_read(path, err);
    const char *key = mtk_registry_auth_key(r->host), *k = NULL;
    const char *helper = doc ? helper_for(doc, key) : NULL;
    json_t *e = doc ? auths_entry(doc, r->host, &k) : NULL;
    if (!doc) {
      ret = -1;
    } else if (helper) {
      ret = helper_get(helper, key, &c, err);
    } else if (e) {
      mtk_autofree char *where = mtk_xasprintf("%s: auths[\"%s\"]", path, k);
      ret = creds_from_entry(e, &c, where, err);
    }
    json_decref(doc);
  }
  if (ret < 0) {
    mtk_registry_creds_clear(&c);
    return -1;
  }
  r->creds = c;
  r->creds_loaded = true;
  return 0;
}

/* -------------------------------------------------------------- write */

static int config_write(const char *path, json_t *doc, struct mtk_err **err)
{
  mtk_autofree char *real = realpath(path, NULL); /* write through a symlinked file */
  const char *target = real ? real : path;
  mtk_autofree char *dir = mtk_xstrdup(target);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  if (slash && *dir && mkdir(dir, 0700) < 0 && errno != EEXIST)
    return mtk_err_set(err, errno, "%s: %s", dir, strerror(errno));
  mtk_autofree char *text = json_dumps(doc, JSON_INDENT(1));
  mtk_autofree char *nl = mtk_xasprintf("%s\n", text);
  return mtk_file_write_atomic(target, nl, strlen(nl), 0600, err);
}

static json_t *auths_obj(json_t *doc)
{
  json_t *a = json_object_get(doc, "auths");
  if (!json_is_object(a)) {
    a = json_object();
    json_object_set_new(doc, "auths", a);
  }
  return a;
}

static int creds_save(const char *path, const char *host, const char *user, const char *pass,
                      struct mtk_err **err)
{
  json_t *doc = config_read(path, err);
  if (!doc)
    return -1;
  const char *key = mtk_registry_auth_key(host);
  const char *helper = helper_for(doc, key);
  int ret = 0;
  if (helper) {
    json_t *in = json_pack("{s:s,s:s,s:s}", "ServerURL", key, "Username", user, "Secret", pass);
    mtk_autofree char *input = json_dumps(in, JSON_COMPACT);
    mtk_autofree char *out = NULL;
    json_decref(in);
    int st = helper_run(helper, "store", input, &out, err);
    ret = st < 0 ? -1 : st > 0 ? helper_failed(helper, "store", out, err) : 0;
    if (ret == 0) /* docker keeps an empty entry so that the host is listed */
      json_object_set_new(auths_obj(doc), key, json_object());
  } else {
    mtk_autofree char *up = mtk_xasprintf("%s:%s", user, pass);
    mtk_autofree char *b64 = mtk_registry_base64(up, strlen(up));
    json_object_set_new(auths_obj(doc), key, json_pack("{s:s}", "auth", b64));
  }
  if (ret == 0)
    ret = config_write(path, doc, err);
  json_decref(doc);
  return ret;
}

/* -------------------------------------------------------- login/logout */

static int login_check(struct mtk_registry *r, struct mtk_err **err)
{
  mtk_autofree char *url = mtk_xasprintf("%s://%s/v2/", r->scheme, r->host);
  struct mtk_registry_req q = {.method = "GET", .url = url, .fd = -1, .retry = true};
  struct mtk_registry_resp p = {.content_length = -1, .retry_after = -1};
  int ret = mtk_registry_request(r, &q, &p, err);
  if (ret == 0 && p.status == 401)
    ret = mtk_err_set(err, MTK_E_GENERIC, "unauthorized: incorrect username or password");
  else if (ret == 0 && p.status != 200)
    ret = mtk_registry_resp_error(r, &p, MTK_E_GENERIC, err);
  mtk_registry_resp_free(&p);
  return ret;
}

int mtk_registry_login(const struct mtk_registry_opts *o, const char *username,
                       const char *password, struct mtk_err **err)
{
  if (!username || !*username || strchr(username, ':'))
    return mtk_err_set(err, MTK_E_USAGE, "a username without ':' is required");
  if (!password || !*password)
    return mtk_err_set(err, MTK_E_USAGE, "a password is required");
  mtk_autoptr(mtk_registry) r = mtk_registry_new(o, err);
  if (!r)
    return -1;
  /* Check exactly these credentials, not the stored ones. */
  r->creds.username = mtk_xstrdup(username);
  r->creds.password = mtk_xstrdup(password);
  r->creds_loaded = true;
  if (mtk_registry_ping(r, err) < 0 || login_check(r, err) < 0) {
    if (*err && (*err)->code == MTK_E_PULL)
      (*err)->code = MTK_E_GENERIC;
    return mtk_err_wrap(err, "login to %s", r->host);
  }
  mtk_autofree char *path = mtk_registry_config_path(o->auth_config);
  return creds_save(path, r->host, username, password, err);
}

int mtk_registry_logout(const struct mtk_registry_opts *o, struct mtk_err **err)
{
  const char *host = o->host && hub_host(o->host) ? MTK_IMAGE_REF_HUB_REGISTRY : o->host;
  if (!host || !*host)
    return mtk_err_set(err, MTK_E_USAGE, "a registry host is required");
  mtk_autofree char *path = mtk_registry_config_path(o->auth_config);
  json_t *doc = config_read(path, err);
  if (!doc)
    return -1;
  const char *key = mtk_registry_auth_key(host), *helper = helper_for(doc, key);
  int removed = 0, ret = 0;
  if (helper) {
    mtk_autofree char *out = NULL;
    int st = helper_run(helper, "erase", key, &out, err);
    if (st < 0)
      ret = -1;
    else if (st == 0)
      removed = 1;
    else if (!strstr(out, "credentials not found"))
      ret = helper_failed(helper, "erase", out, err);
  }
  json_t *auths = json_object_get(doc, "auths");
  const char *k;
  void *tmp;
  json_t *v;
  json_object_foreach_safe(auths, tmp, k, v)
  {
    if (strcmp(k, key) == 0 || key_matches(k, host)) {
      json_object_del(auths, k);
      removed = 1;
    }
  }
  if (ret == 0 && removed)
    ret = config_write(path, doc, err);
  json_decref(doc);
  return ret < 0 ? -1 : removed;
}
