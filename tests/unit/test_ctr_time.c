/* mtk_ctr_parse_time (--since/--until): durations ago, RFC 3339 with and
 * without fraction and zone, dates, Unix seconds with a fraction, errors. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/container.h"
#include "runtime/ctr_internal.h"
#include "tap.h"

#define NOW 1700000000123456789LL
#define SEC 1000000000LL

static int64_t t(const char *s)
{
  int64_t v = -1;
  struct mtk_err *e = NULL;
  if (mtk_ctr_parse_time(s, NOW, &v, &e) < 0) {
    mtk_err_free(&e);
    return -12345;
  }
  return v;
}

static int test_durations(void)
{
  MTK_ASSERT_EQ(t("10m"), NOW - 600 * SEC);
  MTK_ASSERT_EQ(t("1h30m"), NOW - 5400 * SEC);
  MTK_ASSERT_EQ(t("2s"), NOW - 2 * SEC);
  MTK_ASSERT_EQ(t("1.5s"), NOW - 1500000000LL);
  MTK_ASSERT_EQ(t("300ms"), NOW - 300000000LL);
  return 0;
}

static int test_unix(void)
{
  MTK_ASSERT_EQ(t("1700000000"), 1700000000LL * SEC);
  MTK_ASSERT_EQ(t("1700000000.5"), 1700000000LL * SEC + 500000000LL);
  MTK_ASSERT_EQ(t("1700000000.000000001"), 1700000000LL * SEC + 1);
  MTK_ASSERT_EQ(t("0"), 0);
  return 0;
}

static int test_rfc3339(void)
{
  MTK_ASSERT_EQ(t("2023-11-14T22:13:20Z"), 1700000000LL * SEC);
  MTK_ASSERT_EQ(t("2023-11-14T22:13:20.25Z"), 1700000000LL * SEC + 250000000LL);
  MTK_ASSERT_EQ(t("2023-11-14T23:13:20+01:00"), 1700000000LL * SEC);
  MTK_ASSERT_EQ(t("2023-11-14T21:13:20-01:00"), 1700000000LL * SEC);
  MTK_ASSERT_EQ(t("2023-11-14T22:13:20.123456789+00:00"), 1700000000LL * SEC + 123456789LL);
  return 0;
}

static int test_local(void)
{
  setenv("TZ", "UTC", 1);
  tzset();
  MTK_ASSERT_EQ(t("2023-11-14"), 1699920000LL * SEC);
  MTK_ASSERT_EQ(t("2023-11-14T22"), 1699999200LL * SEC);
  MTK_ASSERT_EQ(t("2023-11-14T22:13"), 1699999980LL * SEC);
  MTK_ASSERT_EQ(t("2023-11-14T22:13:20"), 1700000000LL * SEC);
  setenv("TZ", "EST5", 1); /* no daylight saving: always UTC-5 */
  tzset();
  MTK_ASSERT_EQ(t("2023-11-14T17:13:20"), 1700000000LL * SEC);
  unsetenv("TZ");
  tzset();
  return 0;
}

static int test_errors(void)
{
  const char *bad[] = {"",
                       "bogus",
                       "10x",
                       "2023-13-01",
                       "2023-11-14T25:00:00Z",
                       "12:30",
                       "1700000000.",
                       "2023-11-14T22:13:20+0100",
                       "-"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct mtk_err *e = NULL;
    int64_t v;
    if (mtk_ctr_parse_time(bad[i], NOW, &v, &e) == 0) {
      printf("#   accepted \"%s\" as %lld\n", bad[i], (long long) v);
      return 1;
    }
    MTK_ASSERT_EQ(e->code, EINVAL);
    MTK_ASSERT_CONTAINS(e->msg, "failed to parse value as time or duration");
    mtk_err_free(&e);
  }
  return 0;
}

static int test_rfc3339_strict(void)
{
  int64_t v;
  MTK_ASSERT(mtk_ctr_rfc3339_parse("2023-11-14T22:13:20.000000001Z", 30, &v));
  MTK_ASSERT_EQ(v, 1700000000LL * SEC + 1);
  MTK_ASSERT(!mtk_ctr_rfc3339_parse("2023-11-14T22:13:20", 19, &v));
  MTK_ASSERT(!mtk_ctr_rfc3339_parse("2023-11-14 22:13:20Z", 20, &v));
  MTK_ASSERT(!mtk_ctr_rfc3339_parse("2023-11-14T22:13:20.Z", 21, &v));
  char ts[40];
  mtk_ctr_timestamp(ts);
  MTK_ASSERT(mtk_ctr_rfc3339_parse(ts, strlen(ts), &v));
  int64_t now = mtk_ctr_now_ns();
  MTK_ASSERT(v <= now && now - v < 5 * SEC);
  MTK_ASSERT_EQ(strlen(ts), 30);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"durations ago", test_durations},
      {"unix seconds", test_unix},
      {"RFC 3339 with zones", test_rfc3339},
      {"dates and times in local time", test_local},
      {"errors", test_errors},
      {"RFC 3339 nano of the log and timestamps", test_rfc3339_strict},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
