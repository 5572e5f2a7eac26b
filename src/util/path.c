/* Go's path/filepath lexical operations (Clean, Join, Dir) and the loader's
 * "absolute against a base directory", for '/'-separated paths. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/path.h"

/* One pass over p, writing into a buffer never longer than p (plus "."):
 * empty and "." elements dropped, ".." removes the element before it (or is
 * kept when nothing is left to remove in a relative path; dropped at the
 * root). */
char *mtk_path_clean(const char *p)
{
  size_t n = strlen(p);
  if (n == 0)
    return mtk_xstrdup(".");
  bool rooted = p[0] == '/';
  char *out = mtk_xmalloc(n + 2);
  size_t w = 0, r = 0, dotdot = 0; /* dotdot: where ".." can no longer backtrack */
  if (rooted) {
    out[w++] = '/';
    r = dotdot = 1;
  }
  while (r < n) {
    if (p[r] == '/') {
      r++;
    } else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
      r++;
    } else if (p[r] == '.' && p[r + 1] == '.' && (r + 2 == n || p[r + 2] == '/')) {
      r += 2;
      if (w > dotdot) {
        w--;
        while (w > dotdot && out[w] != '/')
          w--;
      } else if (!rooted) {
        if (w > 0)
          out[w++] = '/';
        out[w++] = '.';
        out[w++] = '.';
        dotdot = w;
      }
    } else {
      if ((rooted && w != 1) || (!rooted && w != 0))
        out[w++] = '/';
      while (r < n && p[r] != '/')
        out[w++] = p[r++];
    }
  }
  if (w == 0)
    out[w++] = '.';
  out[w] = '\0';
  return out;
}

char *mtk_path_join(const char *a, const char *b)
{
  a = a ? a : "";
  b = b ? b : "";
  if (*a == '\0' && *b == '\0')
    return mtk_xstrdup("");
  if (*a == '\0')
    return mtk_path_clean(b);
  if (*b == '\0')
    return mtk_path_clean(a);
  mtk_autofree char *j = mtk_xasprintf("%s/%s", a, b);
  return mtk_path_clean(j);
}

char *mtk_path_dir(const char *p)
{
  const char *slash = strrchr(p, '/');
  mtk_autofree char *head = mtk_xstrndup(p, slash ? (size_t) (slash - p) + 1 : 0);
  return mtk_path_clean(head);
}

char *mtk_path_abs(const char *base, const char *p)
{
  if (p[0] == '/')
    return mtk_xstrdup(p);
  return mtk_path_join(base, p);
}
