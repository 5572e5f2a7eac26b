/* Signal names as Docker's ParseSignal reads them: a number, or a name with
 * or without SIG in any case ("term", "SIGKILL", "RTMIN+3"). */
#ifndef MTK_UTIL_SIGNAL_H
#define MTK_UTIL_SIGNAL_H

#include <stdbool.h>

/* The signal named by s; false for an unknown name or a number outside
 * 1..SIGRTMAX (the callers word the error as their command does). */
bool mtk_signal_parse(const char *s, int *sig);

/* "SIGTERM" (the usual name of an aliased number), or "signal N". */
const char *mtk_signal_name(int sig, char buf[16]);

#endif
