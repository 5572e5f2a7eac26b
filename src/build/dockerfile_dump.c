/* BuildKit's Node.Dump(): an AST as s-expressions, one "(keyword [flags] args)"
 * line per instruction, each argument quoted as Go's strconv.Quote, the flags as
 * fmt's %q of a []string, ONBUILD's sub-instruction in parentheses, each level
 * trimmed of surrounding white space.  Iterative, so that the depth of a tree
 * (a chain of ONBUILDs) is bounded by memory, not by the C stack. */
#include "config.h"

#include <string.h>

#include "build/dockerfile_int.h"
#include "util/cleanup.h"

struct frame {
  const struct mtk_df_node *node; /* borrowed: the node being dumped */
  const struct mtk_df_node *next; /* borrowed: next argument to print */
  size_t child;                   /* next child to print */
  size_t start;                   /* offset of this node's text in the output */
  bool is_child;                  /* printed as a child: "(" ... ")\n" */
};

static void open_frame(struct mtk_strbuf *out, struct frame *f, const struct mtk_df_node *n,
                       bool is_child)
{
  *f = (struct frame){n, n->next, 0, out->len, is_child};
  mtk_go_lower_append(out, n->value, n->value_len);
  if (n->n_flags == 0)
    return;
  mtk_strbuf_adds(out, " [");
  for (size_t i = 0; i < n->n_flags; i++) {
    if (i)
      mtk_strbuf_addc(out, ' ');
    mtk_go_quote_append(out, n->flags[i].s, n->flags[i].len);
  }
  mtk_strbuf_addc(out, ']');
}

/* strings.TrimSpace of out[start:], in place. */
static void trim_from(struct mtk_strbuf *out, size_t start)
{
  size_t n = out->len - start;
  size_t lead = mtk_go_space_prefix(out->buf + start, n);
  size_t keep = mtk_go_trim_right_len(out->buf + start + lead, n - lead);
  if (lead)
    memmove(out->buf + start, out->buf + start + lead, keep);
  out->len = start + keep;
  out->buf[out->len] = '\0';
}

char *mtk_dockerfile_dump(const struct mtk_df_node *root)
{
  size_t len;
  return mtk_dockerfile_dump_n(root, &len);
}

char *mtk_dockerfile_dump_n(const struct mtk_df_node *root, size_t *len)
{
  mtk_autostrbuf out = MTK_STRBUF_INIT;
  size_t depth = 0, cap = 16;
  mtk_autofree struct frame *stack = mtk_xmalloc(cap * sizeof(*stack));
  mtk_strbuf_add(&out, "", 0);
  open_frame(&out, &stack[depth++], root, false);
  while (depth > 0) {
    struct frame *f = &stack[depth - 1];
    const struct mtk_df_node *sub = NULL;
    bool is_child = false;
    if (f->child < f->node->n_children) {
      sub = f->node->children[f->child++];
      is_child = true;
      mtk_strbuf_addc(&out, '(');
    } else if (f->next) {
      const struct mtk_df_node *arg = f->next;
      f->next = arg->next;
      mtk_strbuf_addc(&out, ' ');
      if (arg->n_children > 0)
        sub = arg;
      else
        mtk_go_quote_append(&out, arg->value, arg->value_len);
    } else {
      trim_from(&out, f->start);
      if (f->is_child)
        mtk_strbuf_adds(&out, ")\n");
      depth--;
    }
    if (!sub)
      continue;
    if (depth == cap) {
      cap *= 2;
      stack = mtk_xrealloc(stack, cap * sizeof(*stack));
    }
    open_frame(&out, &stack[depth++], sub, is_child);
  }
  *len = out.len;
  return mtk_strbuf_steal(&out);
}
