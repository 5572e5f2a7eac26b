/* jansson helpers: whole-file reads before parsing. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/json.h"
#include "util/strbuf.h"

json_t *mtk_json_loadfd(int fd, size_t flags, json_error_t *error)
{
  struct mtk_strbuf sb = MTK_STRBUF_INIT;
  char buf[16384];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      mtk_strbuf_free(&sb);
      if (error) {
        memset(error, 0, sizeof(*error));
        snprintf(error->text, sizeof(error->text), "read: %s", strerror(errno));
      }
      return NULL;
    }
    if (r == 0)
      break;
    mtk_strbuf_add(&sb, buf, (size_t) r);
  }
  json_t *j = json_loadb(sb.buf ? sb.buf : "", sb.len, flags, error);
  mtk_strbuf_free(&sb);
  return j;
}
