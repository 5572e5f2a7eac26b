/* A minimal TAP harness for unit tests: one executable per file, each test a
 * function returning 0 (pass), 77 (skip) or 1 (fail).  The MTK_ASSERT_*
 * macros print both values and return from the test. */
#ifndef MTK_TESTS_TAP_H
#define MTK_TESTS_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MTK_ASSERT(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      printf("#   %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond);                      \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

#define MTK_ASSERT_EQ(a, b)                                                                        \
  do {                                                                                             \
    long long a_ = (long long) (a), b_ = (long long) (b);                                          \
    if (a_ != b_) {                                                                                \
      printf("#   %s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, a_, b_);           \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

#define MTK_ASSERT_STREQ(a, b)                                                                     \
  do {                                                                                             \
    const char *a_ = (a), *b_ = (b);                                                               \
    if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                                         \
      printf("#   %s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, #b,                \
             a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                              \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

#define MTK_ASSERT_CONTAINS(hay, needle)                                                           \
  do {                                                                                             \
    const char *h_ = (hay), *n_ = (needle);                                                        \
    if (h_ == NULL || strstr(h_, n_) == NULL) {                                                    \
      printf("#   %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,                    \
             h_ ? h_ : "(null)", n_);                                                              \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

struct mtk_test {
  const char *name;
  int (*fn)(void);
};

static inline int mtk_test_main(const struct mtk_test *tests)
{
  int n = 0, failed = 0;
  while (tests[n].name)
    n++;
  printf("1..%d\n", n);
  for (int i = 0; i < n; i++) {
    fflush(stdout);
    int r = tests[i].fn();
    if (r == 77)
      printf("ok %d - %s # SKIP\n", i + 1, tests[i].name);
    else if (r == 0)
      printf("ok %d - %s\n", i + 1, tests[i].name);
    else {
      printf("not ok %d - %s\n", i + 1, tests[i].name);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

#endif
