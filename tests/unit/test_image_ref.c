/* Unit tests for image reference normalisation.  The tables are the test
 * data of distribution/reference (normalize_test.go, reference_test.go at
 * 0965666a), transcribed as inputs and expected outputs of the normalised
 * parse that `docker pull` uses, plus the cases the issue names. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/ref.h"
#include "tap.h"
#include "util/cleanup.h"

#define FF64 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define DBCC "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c"
#define E669 "e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582"
#define A10 "aaaaaaaaaa"
#define A50 A10 A10 A10 A10 A10
#define A255 A50 A50 A50 A50 A50 "aaaaa"
#define AS10 "a/a/a/a/a/a/a/a/a/a/"
#define AS127 AS10 AS10 AS10 AS10 AS10 AS10 AS10 AS10 AS10 AS10 AS10 AS10 "a/a/a/a/a/a/a/"

static char *parse_error(const char *in)
{
  struct mtk_image_ref r;
  struct mtk_err *err = NULL;
  if (mtk_image_ref_parse(in, &r, &err) == 0) {
    mtk_image_ref_free(&r);
    return NULL;
  }
  char *msg = mtk_xstrdup(err->msg);
  mtk_err_free(&err);
  return msg;
}

static int test_valid_and_invalid_names(void)
{
  static const char *const valid[] = {
      "docker/docker",
      "library/debian",
      "debian",
      "localhost/library/debian",
      "localhost/debian",
      "LOCALDOMAIN/library/debian",
      "LOCALDOMAIN/debian",
      "docker.io/docker/docker",
      "docker.io/library/debian",
      "docker.io/debian",
      "index.docker.io/docker/docker",
      "index.docker.io/library/debian",
      "index.docker.io/debian",
      "127.0.0.1:5000/docker/docker",
      "127.0.0.1:5000/library/debian",
      "127.0.0.1:5000/debian",
      "192.168.0.1",
      "192.168.0.1:80",
      "192.168.0.1:8/debian",
      "192.168.0.2:25000/debian",
      "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
      "[fc00::1]:5000/docker",
      "[fc00::1]:5000/docker/docker",
      "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
      "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
      "Docker/docker",
      "DOCKER/docker",
      "docker-rules/docker",
      "docker---rules/docker",
      "doc/docker",
      "d/docker",
      "jess/t",
      "dock__er/docker",
  };
  static const char *const invalid[] = {
      "https://github.com/docker/docker",
      "docker/Docker",
      "-docker",
      "-docker/docker",
      "-docker.io/docker/docker",
      "docker///docker",
      "docker.io/docker/Docker",
      "docker.io/docker///docker",
      "[fc00::1]",
      "[fc00::1]:5000",
      "fc00::1:5000/debian",
      "[fe80::1%eth0]:5000/debian",
      "[2001:db8:3:4::192.0.2.33]:5000/debian",
      "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
      "docker-/docker",
      "-docker-/docker",
      "____/____",
      "_docker/_docker",
      "dock..er/docker",
      "dock_.er/docker",
      "dock-.er/docker",
      "docker/",
      "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_"
      "namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_"
      "lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_"
      "255/docker",
  };
  for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
    mtk_autofree char *e = parse_error(valid[i]);
    if (e) {
      printf("#   %s refused: %s\n", valid[i], e);
      return 1;
    }
  }
  for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
    mtk_autofree char *e = parse_error(invalid[i]);
    if (e == NULL) {
      printf("#   %s accepted\n", invalid[i]);
      return 1;
    }
  }
  return 0;
}

/* TestParseRepositoryInfo: every spelling gives the same familiar name,
 * full name, domain and path. */
static int test_repository_info(void)
{
  static const struct {
    const char *remote, *familiar, *full, *ambiguous, *domain;
  } t[] = {
      {"fooo", "localhost/fooo", "localhost/fooo", "localhost/fooo", "localhost"},
      {"fooo/bar", "localhost/fooo/bar", "localhost/fooo/bar", "localhost/fooo/bar", "localhost"},
      {"fooo", "LOCALDOMAIN/fooo", "LOCALDOMAIN/fooo", "LOCALDOMAIN/fooo", "LOCALDOMAIN"},
      {"fooo/bar", "LOCALDOMAIN/fooo/bar", "LOCALDOMAIN/fooo/bar", "LOCALDOMAIN/fooo/bar",
       "LOCALDOMAIN"},
      {"fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io"},
      {"library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io"},
      {"nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", NULL, "docker.io"},
      {"other/library", "other/library", "docker.io/other/library", NULL, "docker.io"},
      {"private/moonbase", "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase",
       NULL, "127.0.0.1:8000"},
      {"privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", NULL,
       "127.0.0.1:8000"},
      {"private/moonbase", "example.com/private/moonbase", "example.com/private/moonbase", NULL,
       "example.com"},
      {"privatebase", "example.com/privatebase", "example.com/privatebase", NULL, "example.com"},
      {"private/moonbase", "example.com:8000/private/moonbase", "example.com:8000/private/moonbase",
       NULL, "example.com:8000"},
      {"privatebasee", "example.com:8000/privatebasee", "example.com:8000/privatebasee", NULL,
       "example.com:8000"},
      {"library/ubuntu-12.04-base", "ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base",
       "index.docker.io/library/ubuntu-12.04-base", "docker.io"},
      {"library/foo", "foo", "docker.io/library/foo", "docker.io/foo", "docker.io"},
      {"library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", NULL, "docker.io"},
      {"store/foo/bar", "store/foo/bar", "docker.io/store/foo/bar", NULL, "docker.io"},
      {"bar", "Foo/bar", "Foo/bar", NULL, "Foo"},
      {"bar", "FOO/bar", "FOO/bar", NULL, "FOO"},
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    const char *spellings[] = {t[i].familiar, t[i].full, t[i].ambiguous};
    for (int k = 0; k < 3 && spellings[k]; k++) {
      mtk_autoimageref r = {0};
      struct mtk_err *err = NULL;
      if (mtk_image_ref_parse(spellings[k], &r, &err) < 0) {
        printf("#   %s: %s\n", spellings[k], err->msg);
        mtk_err_free(&err);
        return 1;
      }
      mtk_autofree char *fam = mtk_image_ref_familiar(&r);
      mtk_autofree char *name = mtk_image_ref_name(&r);
      MTK_ASSERT_STREQ(fam, t[i].familiar);
      MTK_ASSERT_STREQ(name, t[i].full);
      MTK_ASSERT_STREQ(r.domain, t[i].domain);
      MTK_ASSERT_STREQ(r.path, t[i].remote);
      MTK_ASSERT_STREQ(r.tag, "latest");
      MTK_ASSERT(r.digest == NULL);
    }
  }
  return 0;
}

/* TestNormalizedSplitHostname, TestParseDockerRef, TestParseAnyReference
 * (named cases) and the cases of the issue: input -> what is pulled
 * (name:tag, or name@digest when there is a digest). */
static int test_docker_ref(void)
{
  static const struct {
    const char *in, *want;
  } t[] = {
      {"test.com/foo", "test.com/foo:latest"},
      {"test_com/foo", "docker.io/test_com/foo:latest"},
      {"docker/migrator", "docker.io/docker/migrator:latest"},
      {"test.com:8080/foo", "test.com:8080/foo:latest"},
      {"test-com:8080/foo", "test-com:8080/foo:latest"},
      {"foo", "docker.io/library/foo:latest"},
      {"xn--n3h.com/foo", "xn--n3h.com/foo:latest"},
      {"xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo:latest"},
      {"docker.io/foo", "docker.io/library/foo:latest"},
      {"docker.io/library/foo", "docker.io/library/foo:latest"},
      {"docker.io/library/foo/bar", "docker.io/library/foo/bar:latest"},
      {"busybox", "docker.io/library/busybox:latest"},
      {"busybox:latest", "docker.io/library/busybox:latest"},
      {"busybox@sha256:" E669, "docker.io/library/busybox@sha256:" E669},
      {"library/busybox", "docker.io/library/busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest"},
      {"docker.io/busybox:latest", "docker.io/library/busybox:latest"},
      {"library/busybox:latest", "docker.io/library/busybox:latest"},
      {"gcr.io/library/busybox", "gcr.io/library/busybox:latest"},
      {"gcr.io/library/busybox:latest@sha256:" E669, "gcr.io/library/busybox@sha256:" E669},
      {"redis", "docker.io/library/redis:latest"},
      {"redis@sha256:" DBCC, "docker.io/library/redis@sha256:" DBCC},
      {"dmcgowan/myapp", "docker.io/dmcgowan/myapp:latest"},
      {"docker.io/mcgowan/myapp:latest", "docker.io/mcgowan/myapp:latest"},
      {"dmcgowan/myapp@sha256:" DBCC, "docker.io/dmcgowan/myapp@sha256:" DBCC},
      {"dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9",
       "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9:latest"},
      {"dbcc1", "docker.io/library/dbcc1:latest"},
      /* reference_test.go inputs, normalised */
      {"test_com", "docker.io/library/test_com:latest"},
      {"test.com:5000", "docker.io/library/test.com:5000"},
      {"test:5000/repo@sha256:" FF64, "test:5000/repo@sha256:" FF64},
      {"lowercase:Uppercase", "docker.io/library/lowercase:Uppercase"},
      {AS127 "a:tag-puts-this-over-max", "docker.io/" AS127 "a:tag-puts-this-over-max"},
      {"sub-dom1.foo.com/bar/baz/quux:some-long-tag",
       "sub-dom1.foo.com/bar/baz/quux:some-long-tag"},
      {"b.gcr.io/test.example.com/my-app:test.example.com",
       "b.gcr.io/test.example.com/my-app:test.example.com"},
      {"xn--7o8h.com/myimage:xn--7o8h.com@sha256:" FF64, "xn--7o8h.com/myimage@sha256:" FF64},
      {"foo_bar.com:8080", "docker.io/library/foo_bar.com:8080"},
      {"foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080"},
      {"192.168.1.1:5000", "docker.io/library/192.168.1.1:5000"},
      {"192.168.1.1/repo", "192.168.1.1/repo:latest"},
      {"192.168.1.1:5000/repo:5050", "192.168.1.1:5000/repo:5050"},
      {"[2001:db8::1]/repo", "[2001:db8::1]/repo:latest"},
      {"[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]/repo:tag"},
      {"[2001:db8::1]:5000/repo:tag@sha256:" FF64, "[2001:db8::1]:5000/repo@sha256:" FF64},
      {"[2001:db8::]:5000/repo", "[2001:db8::]:5000/repo:latest"},
      {"[::1]:5000/repo", "[::1]:5000/repo:latest"},
      {"example.com/" A255 ":tag", "example.com/" A255 ":tag"},
      /* the issue */
      {"python:3-alpine", "docker.io/library/python:3-alpine"},
      {"index.docker.io/library/python:3-alpine", "docker.io/library/python:3-alpine"},
      {"rocker/rstudio", "docker.io/rocker/rstudio:latest"},
      {"127.0.0.1:5000/team/lab:1", "127.0.0.1:5000/team/lab:1"},
      {"localhost:5000/x", "localhost:5000/x:latest"},
      {"localhost/x", "localhost/x:latest"},
      {"localhost", "docker.io/library/localhost:latest"},
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    mtk_autoimageref r = {0};
    struct mtk_err *err = NULL;
    if (mtk_image_ref_parse(t[i].in, &r, &err) < 0) {
      printf("#   %s: %s\n", t[i].in, err->msg);
      mtk_err_free(&err);
      return 1;
    }
    mtk_autofree char *name = mtk_image_ref_name(&r);
    mtk_autofree char *got =
        r.digest ? mtk_xasprintf("%s@%s", name, r.digest) : mtk_xasprintf("%s:%s", name, r.tag);
    MTK_ASSERT_STREQ(got, t[i].want);
  }
  return 0;
}

static int test_errors(void)
{
  static const struct {
    const char *in, *msg;
  } t[] = {
      {"", "invalid reference format"},
      {":justtag", "invalid reference format"},
      {"@sha256:" FF64, "invalid reference format"},
      {"repo@sha256:ffffffffffffffffffffffffffffffffff", "invalid checksum digest length"},
      {"validname@invaliddigest:" FF64, "unsupported digest algorithm"},
      {"validname@sha512:" FF64 FF64, "unsupported digest algorithm"},
      {"repo@sha256:" DBCC "A", "invalid checksum digest length"},
      {"repo@sha256:ABCC1C35AC38DF41FD2F5E4130B32FFDB93EBAE8B3DBE638C23575912276FC9C",
       "invalid checksum digest format"},
      {"Uppercase:tag", "invalid reference format: repository name (library/Uppercase) must be "
                        "lowercase"},
      {"test:5000/Uppercase/lowercase:tag",
       "invalid reference format: repository name (Uppercase/lowercase) must be lowercase"},
      {"Python", "invalid reference format: repository name (library/Python) must be lowercase"},
      {"domain/" A255 "a:tag", "repository name must not be more than 255 characters"},
      {"aa/asdf$$^/aa", "invalid reference format"},
      {"[2001:db8::1]", "invalid reference format"},
      {"[2001:db8::1]:5000", "invalid reference format"},
      {"[2001:db8::1]:tag", "invalid reference format"},
      {"[fe80::1%eth0]:5000/repo", "invalid reference format"},
      {"[fe80::1%@invalidzone]:5000/repo", "invalid reference format"},
      {"python:-bad", "invalid reference format"},
      {"python:" A50 A50 "abcdefghijklmnopqrstuvwxyz012", "invalid reference format"},
      {DBCC, "invalid repository name (" DBCC "), cannot specify 64-byte hexadecimal strings"},
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    mtk_autofree char *e = parse_error(t[i].in);
    if (e == NULL) {
      printf("#   %s accepted\n", t[i].in);
      return 1;
    }
    MTK_ASSERT_STREQ(e, t[i].msg);
  }
  struct mtk_image_ref r;
  struct mtk_err *err = NULL;
  MTK_ASSERT(mtk_image_ref_parse("Bad", &r, &err) < 0);
  MTK_ASSERT_EQ(err->code, EINVAL);
  MTK_ASSERT(r.domain == NULL && r.path == NULL && r.tag == NULL);
  mtk_err_free(&err);
  return 0;
}

static int test_strings_and_hosts(void)
{
  static const struct {
    const char *in, *full, *familiar, *familiar_string, *host;
  } t[] = {
      {"python:3-alpine", "docker.io/library/python:3-alpine", "python", "python:3-alpine",
       "registry-1.docker.io"},
      {"rocker/rstudio", "docker.io/rocker/rstudio:latest", "rocker/rstudio",
       "rocker/rstudio:latest", "registry-1.docker.io"},
      {"127.0.0.1:5000/team/lab", "127.0.0.1:5000/team/lab:latest", "127.0.0.1:5000/team/lab",
       "127.0.0.1:5000/team/lab:latest", "127.0.0.1:5000"},
      {"busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
       "docker.io/library/busybox:latest@sha256:"
       "86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
       "busybox",
       "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
       "registry-1.docker.io"},
      {"docker.io/library/foo/bar:1", "docker.io/library/foo/bar:1", "library/foo/bar",
       "library/foo/bar:1", "registry-1.docker.io"},
      {"localhost/x@sha256:" FF64, "localhost/x@sha256:" FF64, "localhost/x",
       "localhost/x@sha256:" FF64, "localhost"},
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    mtk_autoimageref r = {0};
    MTK_ASSERT_EQ(mtk_image_ref_parse(t[i].in, &r, NULL), 0);
    mtk_autofree char *full = mtk_image_ref_string(&r);
    mtk_autofree char *fam = mtk_image_ref_familiar(&r);
    mtk_autofree char *fams = mtk_image_ref_familiar_string(&r);
    MTK_ASSERT_STREQ(full, t[i].full);
    MTK_ASSERT_STREQ(fam, t[i].familiar);
    MTK_ASSERT_STREQ(fams, t[i].familiar_string);
    MTK_ASSERT_STREQ(mtk_image_ref_registry_host(&r), t[i].host);
    /* The fully qualified string parses back to the same reference. */
    mtk_autoimageref again = {0};
    MTK_ASSERT_EQ(mtk_image_ref_parse(full, &again, NULL), 0);
    mtk_autofree char *full2 = mtk_image_ref_string(&again);
    MTK_ASSERT_STREQ(full2, full);
    mtk_autoimageref copy = {0};
    mtk_image_ref_copy(&copy, &r);
    mtk_autofree char *full3 = mtk_image_ref_string(&copy);
    MTK_ASSERT_STREQ(full3, full);
  }
  return 0;
}

static int test_grammar_helpers(void)
{
  MTK_ASSERT(mtk_image_ref_tag_valid("3-alpine"));
  MTK_ASSERT(mtk_image_ref_tag_valid("_x.Y-1"));
  MTK_ASSERT(!mtk_image_ref_tag_valid("-x"));
  MTK_ASSERT(!mtk_image_ref_tag_valid(".x"));
  MTK_ASSERT(!mtk_image_ref_tag_valid(""));
  MTK_ASSERT(!mtk_image_ref_tag_valid("a/b"));
  MTK_ASSERT(mtk_image_ref_tag_valid(A50 A50 "abcdefghijklmnopqrstuvwxyz01"));   /* 128 */
  MTK_ASSERT(!mtk_image_ref_tag_valid(A50 A50 "abcdefghijklmnopqrstuvwxyz012")); /* 129 */
  MTK_ASSERT(mtk_image_ref_path_valid("team/lab"));
  MTK_ASSERT(mtk_image_ref_path_valid(A255));
  MTK_ASSERT(!mtk_image_ref_path_valid(A255 "a"));
  MTK_ASSERT(!mtk_image_ref_path_valid("Team/lab"));
  MTK_ASSERT(!mtk_image_ref_path_valid("team//lab"));
  MTK_ASSERT(mtk_image_ref_is_identifier(DBCC));
  MTK_ASSERT(!mtk_image_ref_is_identifier("sha256:" DBCC));
  MTK_ASSERT(!mtk_image_ref_is_identifier("dbcc1"));
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"valid and invalid repository names", test_valid_and_invalid_names},
      {"familiar, full name, domain and path of each spelling", test_repository_info},
      {"normalised references (what is pulled)", test_docker_ref},
      {"errors with Docker's texts", test_errors},
      {"string forms and registry hosts", test_strings_and_hosts},
      {"tag, path and identifier grammar", test_grammar_helpers},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
