/* Pure parts of the registry auth code: WWW-Authenticate parsing (several
 * challenges, quoting, commas in values, token68), scope lists (union,
 * coverage, names with a port) and the config.json key of a host
 * (SECURITY.md §3.8-47, IMAGES.md §2.4, §5). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "image/registry_internal.h"
#include "tap.h"
#include "util/cleanup.h"

static int test_bearer(void)
{
  struct mtk_registry_challenge c[4];
  size_t n = mtk_registry_challenges_parse(
      "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
      "scope=\"repository:library/python:pull\"",
      c, 4);
  MTK_ASSERT_EQ(n, 1);
  MTK_ASSERT_STREQ(c[0].scheme, "Bearer");
  MTK_ASSERT_STREQ(c[0].realm, "https://auth.docker.io/token");
  MTK_ASSERT_STREQ(c[0].service, "registry.docker.io");
  MTK_ASSERT_STREQ(c[0].scope, "repository:library/python:pull");
  MTK_ASSERT(c[0].error == NULL);
  mtk_registry_challenge_free(&c[0]);
  /* distribution's insufficient_scope answer, scope with a comma inside quotes */
  n = mtk_registry_challenges_parse(
      "Bearer realm=\"http://127.0.0.1:5001/token\",service=\"regfix-registry\","
      "scope=\"repository:fixture/busybox:push,pull\",error=\"insufficient_scope\"",
      c, 4);
  MTK_ASSERT_EQ(n, 1);
  MTK_ASSERT_STREQ(c[0].scope, "repository:fixture/busybox:push,pull");
  MTK_ASSERT_STREQ(c[0].error, "insufficient_scope");
  mtk_registry_challenge_free(&c[0]);
  return 0;
}

static int test_odd_quoting(void)
{
  struct mtk_registry_challenge c[4];
  size_t n = mtk_registry_challenges_parse("Basic realm=\"a,b\"", c, 4);
  MTK_ASSERT_EQ(n, 1);
  MTK_ASSERT_STREQ(c[0].scheme, "Basic");
  MTK_ASSERT_STREQ(c[0].realm, "a,b");
  mtk_registry_challenge_free(&c[0]);
  n = mtk_registry_challenges_parse("bearer  REALM = \"x\\\"y\" , Service=svc,error=invalid_token",
                                    c, 4);
  MTK_ASSERT_EQ(n, 1);
  MTK_ASSERT_STREQ(c[0].scheme, "bearer");
  MTK_ASSERT_STREQ(c[0].realm, "x\"y");
  MTK_ASSERT_STREQ(c[0].service, "svc");
  MTK_ASSERT_STREQ(c[0].error, "invalid_token");
  mtk_registry_challenge_free(&c[0]);
  return 0;
}

static int test_several(void)
{
  struct mtk_registry_challenge c[4];
  size_t n = mtk_registry_challenges_parse(
      "Negotiate abc==, Basic realm=\"r1\", Bearer realm=\"https://t/x\",service=\"s\"", c, 4);
  MTK_ASSERT_EQ(n, 3);
  MTK_ASSERT_STREQ(c[0].scheme, "Negotiate");
  MTK_ASSERT(c[0].realm == NULL);
  MTK_ASSERT_STREQ(c[1].scheme, "Basic");
  MTK_ASSERT_STREQ(c[1].realm, "r1");
  MTK_ASSERT_STREQ(c[2].scheme, "Bearer");
  MTK_ASSERT_STREQ(c[2].realm, "https://t/x");
  MTK_ASSERT_STREQ(c[2].service, "s");
  for (size_t i = 0; i < n; i++)
    mtk_registry_challenge_free(&c[i]);
  MTK_ASSERT_EQ(mtk_registry_challenges_parse("", c, 4), 0);
  MTK_ASSERT_EQ(mtk_registry_challenges_parse(NULL, c, 4), 0);
  n = mtk_registry_challenges_parse("Bearer realm=\"unterminated", c, 4);
  MTK_ASSERT_EQ(n, 1);
  MTK_ASSERT_STREQ(c[0].realm, "unterminated");
  mtk_registry_challenge_free(&c[0]);
  return 0;
}

static int test_scopes(void)
{
  mtk_autofree char *u = mtk_registry_scopes_union(
      "repository:a/b:pull", "repository:a/b:push repository:c:pull repository:a/b:pull");
  MTK_ASSERT_STREQ(u, "repository:a/b:pull,push repository:c:pull");
  mtk_autofree char *port = mtk_registry_scopes_union("repository:host:5000/x:pull,push", NULL);
  MTK_ASSERT_STREQ(port, "repository:host:5000/x:pull,push");
  mtk_autofree char *empty = mtk_registry_scopes_union(NULL, NULL);
  MTK_ASSERT_STREQ(empty, "");
  MTK_ASSERT(mtk_registry_scopes_cover(u, "repository:a/b:pull"));
  MTK_ASSERT(mtk_registry_scopes_cover(u, "repository:c:pull repository:a/b:push"));
  MTK_ASSERT(!mtk_registry_scopes_cover(u, "repository:c:push"));
  MTK_ASSERT(!mtk_registry_scopes_cover(u, "repository:d:pull"));
  MTK_ASSERT(mtk_registry_scopes_cover("registry:catalog:*", "registry:catalog:*"));
  MTK_ASSERT(mtk_registry_scopes_cover("repository:a:*", "repository:a:pull,push"));
  MTK_ASSERT(mtk_registry_scopes_cover("", ""));
  MTK_ASSERT(!mtk_registry_scopes_cover("", "repository:a:pull"));
  return 0;
}

static int test_auth_key(void)
{
  MTK_ASSERT_STREQ(mtk_registry_auth_key("docker.io"), "https://index.docker.io/v1/");
  MTK_ASSERT_STREQ(mtk_registry_auth_key("registry-1.docker.io"), "https://index.docker.io/v1/");
  MTK_ASSERT_STREQ(mtk_registry_auth_key("index.docker.io"), "https://index.docker.io/v1/");
  MTK_ASSERT_STREQ(mtk_registry_auth_key("127.0.0.1:5000"), "127.0.0.1:5000");
  setenv("DOCKER_CONFIG", "/tmp/dc", 1);
  mtk_autofree char *p1 = mtk_registry_config_path(NULL);
  MTK_ASSERT_STREQ(p1, "/tmp/dc/config.json");
  unsetenv("DOCKER_CONFIG");
  setenv("HOME", "/home/u", 1);
  mtk_autofree char *p2 = mtk_registry_config_path(NULL);
  MTK_ASSERT_STREQ(p2, "/home/u/.docker/config.json");
  mtk_autofree char *p3 = mtk_registry_config_path("/x/c.json");
  MTK_ASSERT_STREQ(p3, "/x/c.json");
  mtk_autofree char *b = mtk_registry_base64("user:pa:ss", 10);
  MTK_ASSERT_STREQ(b, "dXNlcjpwYTpzcw==");
  return 0;
}

static int test_urls(void)
{
  struct mtk_err *err = NULL;
  mtk_autofree char *a = mtk_registry_resolve("http://r:5000/v2/x/blobs/uploads/",
                                              "/v2/x/blobs/uploads/u?_state=s", &err);
  MTK_ASSERT_STREQ(a, "http://r:5000/v2/x/blobs/uploads/u?_state=s");
  mtk_autofree char *b =
      mtk_registry_resolve("https://r/v2/x/blobs/sha256:1", "https://cdn.example/path?sig=1", &err);
  MTK_ASSERT_STREQ(b, "https://cdn.example/path?sig=1");
  char *c = mtk_registry_resolve("https://r/v2/x", "http://cdn.example/p", &err);
  MTK_ASSERT(c == NULL && err);
  MTK_ASSERT_CONTAINS(err->msg, "https to plain http");
  mtk_err_free(&err);
  c = mtk_registry_resolve("https://r/v2/x", "file:///etc/passwd", &err);
  MTK_ASSERT(c == NULL && err);
  mtk_err_free(&err);
  MTK_ASSERT(mtk_registry_same_origin("http://a:5000/x", "http://a:5000/y?z"));
  MTK_ASSERT(!mtk_registry_same_origin("http://a:5000/x", "http://a:5002/x"));
  MTK_ASSERT(!mtk_registry_same_origin("http://a/x", "https://a/x"));
  MTK_ASSERT(mtk_registry_same_origin("https://a/x", "https://a:443/x"));
  return 0;
}

static int test_new(void)
{
  struct mtk_err *err = NULL;
  struct mtk_registry_opts o = {.host = "docker.io"};
  mtk_autoptr(mtk_registry) r = mtk_registry_new(&o, &err);
  MTK_ASSERT(r != NULL);
  MTK_ASSERT_STREQ(mtk_registry_host(r), "registry-1.docker.io");
  MTK_ASSERT(!r->insecure);
  MTK_ASSERT(mtk_registry_scheme(r) == NULL);
  const char *loop[] = {"localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]:5000"};
  for (size_t i = 0; i < 4; i++) {
    o.host = loop[i];
    mtk_autoptr(mtk_registry) l = mtk_registry_new(&o, &err);
    MTK_ASSERT(l && l->insecure);
  }
  o.host = "128.0.0.1:5000";
  mtk_autoptr(mtk_registry) remote = mtk_registry_new(&o, &err);
  MTK_ASSERT(remote && !remote->insecure);
  const char *bad[] = {"", "a/b", "user@host", "host name", "a\r\nb"};
  for (size_t i = 0; i < 5; i++) {
    o.host = bad[i];
    MTK_ASSERT(mtk_registry_new(&o, &err) == NULL);
    MTK_ASSERT_EQ(err->code, EINVAL);
    mtk_err_free(&err);
  }
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {{"bearer challenges", test_bearer},
                                          {"quoting and case", test_odd_quoting},
                                          {"several challenges in one header", test_several},
                                          {"scope union and coverage", test_scopes},
                                          {"config.json keys and paths", test_auth_key},
                                          {"Location resolution and origins", test_urls},
                                          {"hosts and insecure loopback", test_new},
                                          {NULL, NULL}};
  return mtk_test_main(tests);
}
