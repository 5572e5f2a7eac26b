/* Unit tests for Docker's restart policies and back-off (src/sup/restart.c,
 * after moby's restartmanager): the delay sequence, its cap, the reset after
 * a 10 s run, and which policy restarts after which exit. */
#include "config.h"

#include "sup/internal.h"
#include "tap.h"

static int test_parse(void)
{
  MTK_ASSERT_EQ(mtk_sup_restart_parse(NULL), MTK_SUP_RESTART_NO);
  MTK_ASSERT_EQ(mtk_sup_restart_parse(""), MTK_SUP_RESTART_NO);
  MTK_ASSERT_EQ(mtk_sup_restart_parse("no"), MTK_SUP_RESTART_NO);
  MTK_ASSERT_EQ(mtk_sup_restart_parse("always"), MTK_SUP_RESTART_ALWAYS);
  MTK_ASSERT_EQ(mtk_sup_restart_parse("unless-stopped"), MTK_SUP_RESTART_UNLESS_STOPPED);
  MTK_ASSERT_EQ(mtk_sup_restart_parse("on-failure"), MTK_SUP_RESTART_ON_FAILURE);
  MTK_ASSERT_EQ(mtk_sup_restart_parse("sometimes"), -1);
  return 0;
}

static int test_delay_sequence(void)
{
  /* quick crashes: 100, 200, 400 ... doubling up to one minute, then stays */
  uint64_t want[] = {100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000};
  uint64_t d = 0;
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
    d = mtk_sup_restart_delay(d, 50);
    MTK_ASSERT_EQ(d, want[i]);
  }
  /* a run of 10 s or more starts over at 100 ms */
  MTK_ASSERT_EQ(mtk_sup_restart_delay(60000, 10000), 100);
  MTK_ASSERT_EQ(mtk_sup_restart_delay(60000, 9999), 60000);
  MTK_ASSERT_EQ(mtk_sup_restart_delay(3200, 20000), 100);
  MTK_ASSERT_EQ(mtk_sup_restart_delay(3200, 9999), 6400);
  return 0;
}

static int test_should(void)
{
  /* no: never */
  MTK_ASSERT(!mtk_sup_restart_should(MTK_SUP_RESTART_NO, 0, 0, 1, false));
  /* always / unless-stopped: any exit, but not after a manual stop */
  MTK_ASSERT(mtk_sup_restart_should(MTK_SUP_RESTART_ALWAYS, 0, 100, 0, false));
  MTK_ASSERT(!mtk_sup_restart_should(MTK_SUP_RESTART_ALWAYS, 0, 0, 1, true));
  MTK_ASSERT(mtk_sup_restart_should(MTK_SUP_RESTART_UNLESS_STOPPED, 0, 0, 0, false));
  MTK_ASSERT(!mtk_sup_restart_should(MTK_SUP_RESTART_UNLESS_STOPPED, 0, 0, 137, true));
  /* on-failure: non-zero only; MaximumRetryCount 0 = unlimited */
  MTK_ASSERT(!mtk_sup_restart_should(MTK_SUP_RESTART_ON_FAILURE, 0, 0, 0, false));
  MTK_ASSERT(mtk_sup_restart_should(MTK_SUP_RESTART_ON_FAILURE, 0, 1000, 1, false));
  MTK_ASSERT(mtk_sup_restart_should(MTK_SUP_RESTART_ON_FAILURE, 3, 2, 1, false));
  MTK_ASSERT(!mtk_sup_restart_should(MTK_SUP_RESTART_ON_FAILURE, 3, 3, 1, false));
  MTK_ASSERT(!mtk_sup_restart_should(MTK_SUP_RESTART_ON_FAILURE, 3, 0, 2, true));
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"policy names", test_parse},
      {"back-off delays", test_delay_sequence},
      {"which exits restart", test_should},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
