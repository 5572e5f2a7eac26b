/* Unit tests for the Go filepath helpers (src/util/path.c): the expectations
 * are what Go's filepath.Clean, Join and Dir return for the same input. */
#include "config.h"

#include <stdlib.h>

#include "tap.h"
#include "util/cleanup.h"
#include "util/path.h"

static int test_clean(void)
{
  static const char *const cases[][2] = {
      {"", "."},
      {".", "."},
      {"..", ".."},
      {"./", "."},
      {"../", ".."},
      {"../..", "../.."},
      {"abc", "abc"},
      {"abc/", "abc"},
      {"abc//def//ghi", "abc/def/ghi"},
      {"abc/./def", "abc/def"},
      {"abc/.", "abc"},
      {"abc/def/..", "abc"},
      {"abc/def/../..", "."},
      {"abc/def/../../..", ".."},
      {"abc/def/ghi/../jkl", "abc/def/jkl"},
      {"abc/../../././../def", "../../def"},
      {"a/../..", ".."},
      {"a//b/./c/", "a/b/c"},
      {"/", "/"},
      {"//", "/"},
      {"/.", "/"},
      {"/..", "/"},
      {"/../a", "/a"},
      {"/abc/", "/abc"},
      {"//abc", "/abc"},
      {"///abc", "/abc"},
      {"//a//b/", "/a/b"},
      {"/./abc/def", "/abc/def"},
      {"/abc/def/../..", "/"},
      {"/abc/def/../../..", "/"},
      {"/a/b/../../../c/", "/c"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    mtk_autofree char *c = mtk_path_clean(cases[i][0]);
    MTK_ASSERT_STREQ(c, cases[i][1]);
  }
  return 0;
}

static int test_join(void)
{
  static const char *const cases[][3] = {
      {"a", "b", "a/b"},
      {"a", "", "a"},
      {"", "b", "b"},
      {"/", "a", "/a"},
      {"/", "", "/"},
      {"a/", "b", "a/b"},
      {"", "", ""},
      {"/w", "./api/", "/w/api"},
      {"/w", "../x", "/x"},
      {"a", "/b", "a/b"},
      {"/w/", "../../..", "/"},
      {"rel", "../..", ".."},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    mtk_autofree char *j = mtk_path_join(cases[i][0], cases[i][1]);
    MTK_ASSERT_STREQ(j, cases[i][2]);
  }
  mtk_autofree char *n = mtk_path_join(NULL, "x/");
  MTK_ASSERT_STREQ(n, "x");
  return 0;
}

static int test_dir(void)
{
  static const char *const cases[][2] = {
      {"", "."},          {".", "."},        {"/.", "/"},       {"/", "/"},
      {"////", "/"},      {"/foo", "/"},     {"x/", "x"},       {"abc", "."},
      {"abc/def", "abc"}, {"a/b/.x", "a/b"}, {"/a/b/", "/a/b"}, {"/a/../b/c", "/b"},
      {"//a//b", "/a"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    mtk_autofree char *d = mtk_path_dir(cases[i][0]);
    MTK_ASSERT_STREQ(d, cases[i][1]);
  }
  return 0;
}

static int test_abs(void)
{
  static const char *const cases[][3] = {
      {"/w", "a/../b", "/w/b"},
      {"/w", ".", "/w"},
      {"/w", "", "/w"},
      {"/w/", "./x/", "/w/x"},
      {"/w", "../..", "/"},
      {"/w", "/x/../y/", "/x/../y/"}, /* absolute: as written */
      {"rel/dir", "f", "rel/dir/f"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    mtk_autofree char *a = mtk_path_abs(cases[i][0], cases[i][1]);
    MTK_ASSERT_STREQ(a, cases[i][2]);
  }
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"clean", test_clean}, {"join", test_join}, {"dir", test_dir},
      {"abs", test_abs},     {NULL, NULL},
  };
  return mtk_test_main(tests);
}
