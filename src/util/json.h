/* jansson helpers. */
#ifndef MTK_UTIL_JSON_H
#define MTK_UTIL_JSON_H

#include <jansson.h>

/* json_loadfd reads one byte per read(2) (it must not read past the
 * document); files are read whole here, then parsed: same result, a few
 * syscalls instead of one per byte. */
json_t *mtk_json_loadfd(int fd, size_t flags, json_error_t *error);

#endif
