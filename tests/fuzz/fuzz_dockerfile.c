/* libFuzzer target for the Dockerfile parser (src/build/dockerfile*.c): the input is a
 * Dockerfile, parsed and dumped.  Checks that a parse either succeeds without an error or
 * fails with an MTK_E_INVALID error naming the file and a line within the text, that the
 * lines of the tree are ordered and inside the text, and that every string of the tree
 * holds its stated length. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "build/dockerfile.h"

static void check_node(const struct mtk_df_node *n)
{
  for (; n; n = n->next) {
    if (!n->value || n->value[n->value_len] != '\0')
      abort();
    for (size_t i = 0; i < n->n_flags; i++)
      if (n->flags[i].s[n->flags[i].len] != '\0')
        abort();
    for (size_t i = 0; i < n->n_heredocs; i++)
      if (n->heredocs[i].content[n->heredocs[i].content_len] != '\0' ||
          n->heredocs[i].name[n->heredocs[i].name_len] != '\0')
        abort();
    if (n->original && n->original[n->original_len] != '\0')
      abort();
    /* ONBUILD chains are walked iteratively: only the first child is followed here. */
    if (n->n_children == 1 && n->children[0]->n_children == 0)
      check_node(n->children[0]);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct mtk_err *err = NULL;
  size_t lines = 1;
  for (size_t i = 0; i < size; i++)
    lines += data[i] == '\n';
  struct mtk_df_result *r = mtk_dockerfile_parse("Dockerfile", (const char *) data, size, &err);
  if ((r == NULL) != (err != NULL))
    abort();
  if (err) {
    if (err->code != MTK_E_INVALID || !err->msg[0] || strcmp(err->file, "Dockerfile") != 0 ||
        err->line < 0 || (size_t) err->line > lines)
      abort();
    mtk_err_free(&err);
    return 0;
  }
  const struct mtk_df_node *root = r->ast;
  int prev_end = 0;
  if (root->n_children == 0 || root->start_line != root->children[0]->start_line)
    abort();
  for (size_t i = 0; i < root->n_children; i++) {
    const struct mtk_df_node *c = root->children[i];
    if (c->start_line <= prev_end || c->end_line < c->start_line || (size_t) c->end_line > lines)
      abort();
    prev_end = c->end_line;
    check_node(c);
  }
  if (root->end_line != prev_end || (r->escape != '\\' && r->escape != '`'))
    abort();
  size_t len;
  char *dump = mtk_dockerfile_dump_n(root, &len);
  if (!dump || dump[len] != '\0')
    abort();
  free(dump);
  mtk_df_result_free(r);
  return 0;
}
