/* go-shellwords v1.0.12 (string command/entrypoint), as compose-go uses it, and the
 * project environment lookup shared by normalize*.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compose/normalize.h"
#include "compose/values.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/strmap.h"

const char *mtk_norm_env_lookup(const char *name, void *ud)
{
  const struct mtk_norm_ctx *ctx = ud;
  /* compose-go sets COMPOSE_PROJECT_NAME in the project environment to the final name. */
  if (ctx->project_name && strcmp(name, "COMPOSE_PROJECT_NAME") == 0)
    return ctx->project_name;
  return ctx->env ? mtk_strmap_get(ctx->env, name, NULL) : NULL;
}

void mtk_compose_strv_free(char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p; p++)
    free(*p);
  free(v);
}

struct words {
  char **v;
  size_t len, cap;
};

static void words_push(struct words *w, struct mtk_strbuf *buf)
{
  if (w->len + 2 > w->cap) {
    w->cap = w->cap ? w->cap * 2 : 8;
    w->v = mtk_xrealloc(w->v, w->cap * sizeof(char *));
  }
  w->v[w->len++] = mtk_strbuf_steal(buf);
  w->v[w->len] = NULL;
}

static bool ends_with_dollar(const struct mtk_strbuf *b)
{
  return b->len > 0 && b->buf[b->len - 1] == '$';
}

enum { ARG_NO, ARG_SINGLE, ARG_QUOTED };

struct sw_state {
  bool escaped, dq, sq, bq, dollar;
  int got;
};

/* One character outside the escape/space handling; returns 1 to stop parsing (an
 * unquoted operator), -1 on error, 0 to go on. */
static int sw_char(struct sw_state *s, char c, struct mtk_strbuf *buf)
{
  bool quoted = s->sq || s->dq || s->bq || s->dollar;
  switch (c) {
    case '`':
      if (!s->sq && !s->dq && !s->dollar)
        s->bq = !s->bq;
      break;
    case ')':
      if (!s->sq && !s->dq && !s->bq)
        s->dollar = !s->dollar;
      break;
    case '(':
      if (!s->sq && !s->dq && !s->bq) {
        if (!s->dollar && ends_with_dollar(buf)) {
          s->dollar = true;
          mtk_strbuf_addc(buf, '(');
          return 0;
        }
        return -1;
      }
      break;
    case '"':
      if (!s->sq && !s->dollar) {
        if (s->dq)
          s->got = ARG_QUOTED;
        s->dq = !s->dq;
        return 0;
      }
      break;
    case '\'':
      if (!s->dq && !s->dollar) {
        if (s->sq)
          s->got = ARG_QUOTED;
        s->sq = !s->sq;
        return 0;
      }
      break;
    case ';':
    case '&':
    case '|':
    case '<':
    case '>':
      if (!quoted) {
        /* "2>file": the digits before '>' are a file descriptor, not a word. */
        if (c == '>' && buf->len > 0 && buf->buf[0] >= '0' && buf->buf[0] <= '9')
          s->got = ARG_NO;
        return 1;
      }
      break;
    default:
      break;
  }
  s->got = ARG_SINGLE;
  mtk_strbuf_addc(buf, c);
  return 0;
}

char **mtk_compose_shellwords(const char *line, size_t *argc, struct mtk_err **err)
{
  struct words w = {mtk_xcalloc(1, sizeof(char *)), 0, 1};
  mtk_autostrbuf buf = MTK_STRBUF_INIT;
  struct sw_state s = {false, false, false, false, false, ARG_NO};
  for (const char *p = line; *p; p++) {
    char c = *p;
    if (s.escaped) {
      mtk_strbuf_addc(&buf, c);
      s.escaped = false;
      s.got = ARG_SINGLE;
      continue;
    }
    if (c == '\\') {
      if (s.sq)
        mtk_strbuf_addc(&buf, c);
      else
        s.escaped = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (s.sq || s.dq || s.bq || s.dollar) {
        mtk_strbuf_addc(&buf, c);
      } else if (s.got != ARG_NO) {
        words_push(&w, &buf);
        s.got = ARG_NO;
      }
      continue;
    }
    int r = sw_char(&s, c, &buf);
    if (r < 0) {
      mtk_compose_strv_free(w.v);
      mtk_err_set(err, MTK_E_INVALID, "invalid command line string");
      return NULL;
    }
    if (r > 0)
      break;
  }
  if (s.got != ARG_NO)
    words_push(&w, &buf);
  if (s.escaped || s.sq || s.dq || s.bq || s.dollar) {
    mtk_compose_strv_free(w.v);
    mtk_err_set(err, MTK_E_INVALID, "invalid command line string");
    return NULL;
  }
  if (argc)
    *argc = w.len;
  return w.v;
}
