/* Docker's restart policies and back-off, as moby's restartmanager decides
 * them (daemon/internal/restartmanager): the delay starts at 100 ms and
 * doubles up to one minute, and goes back to 100 ms once a run lasted 10 s;
 * a manual stop cancels every policy. */
#include "config.h"

#include <string.h>

#include "sup/internal.h"

#define DELAY_FIRST_MS 100
#define DELAY_MAX_MS 60000
#define RESET_AFTER_MS 10000

int mtk_sup_restart_parse(const char *name)
{
  if (!name || !*name || strcmp(name, "no") == 0)
    return MTK_SUP_RESTART_NO;
  if (strcmp(name, "always") == 0)
    return MTK_SUP_RESTART_ALWAYS;
  if (strcmp(name, "unless-stopped") == 0)
    return MTK_SUP_RESTART_UNLESS_STOPPED;
  if (strcmp(name, "on-failure") == 0)
    return MTK_SUP_RESTART_ON_FAILURE;
  return -1;
}

uint64_t mtk_sup_restart_delay(uint64_t prev_ms, uint64_t ran_ms)
{
  if (ran_ms >= RESET_AFTER_MS)
    prev_ms = 0;
  uint64_t d = prev_ms == 0 ? DELAY_FIRST_MS : prev_ms < DELAY_MAX_MS ? prev_ms * 2 : prev_ms;
  return d > DELAY_MAX_MS ? DELAY_MAX_MS : d;
}

bool mtk_sup_restart_should(enum mtk_sup_restart policy, long max_retry, long restart_count,
                            int exit_code, bool manual_stop)
{
  if (manual_stop)
    return false;
  switch (policy) {
    case MTK_SUP_RESTART_ALWAYS:
    case MTK_SUP_RESTART_UNLESS_STOPPED:
      return true;
    case MTK_SUP_RESTART_ON_FAILURE:
      return exit_code != 0 && (max_retry <= 0 || restart_count < max_retry);
    case MTK_SUP_RESTART_NO:
      break;
  }
  return false;
}
