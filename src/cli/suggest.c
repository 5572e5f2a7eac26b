/* "Did you mean ...?": the nearest command name to a mistyped word, by the
 * optimal-string-alignment distance (Levenshtein plus the transposition of
 * two adjacent characters, so "cnofig" is one edit away from "config"). */
#include "config.h"

#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"

static size_t min3(size_t a, size_t b, size_t c)
{
  size_t m = a < b ? a : b;
  return m < c ? m : c;
}

size_t mtk_cli_edit_distance(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  /* Three rows suffice: the transposition looks two rows back. */
  mtk_autofree size_t *rows = mtk_xcalloc(3 * (lb + 1), sizeof(size_t));
  size_t *prev2 = rows, *prev = rows + lb + 1, *cur = rows + 2 * (lb + 1);
  for (size_t j = 0; j <= lb; j++)
    prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          prev2[j - 2] + 1 < cur[j])
        cur[j] = prev2[j - 2] + 1;
    }
    size_t *t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[lb];
}

const char *mtk_cli_suggest(const struct mtk_cli_cmd *table, const char *word)
{
  const char *best = NULL;
  size_t best_d = 3;
  for (const struct mtk_cli_cmd *c = table; c->name; c++) {
    if (c->hidden)
      continue;
    size_t d = mtk_cli_edit_distance(word, c->name);
    /* A one-letter word is within two edits of every short command: only
     * suggest when the distance is smaller than the word. */
    if (d < best_d && d < strlen(word)) {
      best = c->name;
      best_d = d;
    }
  }
  return best;
}
