/* The Go text/template subset of `--format` and `inspect -f` (docker's
 * templates package over JSON values): text with {{actions}}, trim markers
 * {{- and -}}, pipelines CMD | CMD, operands . .A.B $ $.A "string" `raw`
 * (pipeline) (pipeline).A.B
 * numbers true false nil, the functions json, index, join, split, upper,
 * lower, title, len, println, eq, ne, not, and, or, and range / if / with
 * ... else ... end.
 * Values print as Go's %v prints what encoding/json decodes (strings bare,
 * arrays "[a b]", objects "map[k:v]", null "<nil>").  A field followed by
 * arguments (.Label "k") is a method call answered by the caller's hook. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

enum kind { K_TEXT, K_ACTION, K_RANGE, K_IF, K_WITH };

struct node {
  enum kind kind;
  char *text;        /* owned: K_TEXT text, or the pipeline source */
  struct node *body; /* owned: range/if/with body */
  struct node *alt;  /* owned: the else branch */
  struct node *next; /* owned */
};

static void nodes_free(struct node *n)
{
  while (n) {
    struct node *next = n->next;
    free(n->text);
    nodes_free(n->body);
    nodes_free(n->alt);
    free(n);
    n = next;
  }
}

/* ----------------------------------------------------------------- parse */

struct lexer {
  const char *p;  /* the rest of the template */
  bool trim_next; /* the previous action ended with -}} */
};

/* The next item: text (*is_action false) or an action's inside.  0 at the end. */
static int lex(struct lexer *lx, char **item, bool *is_action, struct mtk_err **err)
{
  if (!*lx->p)
    return 0;
  const char *open = strstr(lx->p, "{{");
  if (open != lx->p) {
    size_t n = open ? (size_t) (open - lx->p) : strlen(lx->p);
    const char *s = lx->p;
    if (lx->trim_next)
      while (n && isspace((unsigned char) *s))
        s++, n--;
    lx->trim_next = false;
    bool trim_prev = open && open[2] == '-' && isspace((unsigned char) open[3]);
    while (trim_prev && n && isspace((unsigned char) s[n - 1]))
      n--;
    *item = mtk_xstrndup(s, n);
    *is_action = false;
    lx->p = open ? open : lx->p + strlen(lx->p);
    return 1;
  }
  const char *close = strstr(open + 2, "}}");
  if (!close)
    return mtk_err_set(err, MTK_E_USAGE, "template: unclosed action");
  const char *a = open + 2, *e = close;
  if (*a == '-' && isspace((unsigned char) a[1]))
    a++;
  lx->trim_next = e - a >= 2 && e[-1] == '-' && isspace((unsigned char) e[-2]);
  if (lx->trim_next)
    e--;
  while (a < e && isspace((unsigned char) *a))
    a++;
  while (e > a && isspace((unsigned char) e[-1]))
    e--;
  *item = mtk_xstrndup(a, (size_t) (e - a));
  *is_action = true;
  lx->p = close + 2;
  return 1;
}

static bool keyword(const char *s, const char *kw, const char **rest)
{
  size_t n = strlen(kw);
  if (strncmp(s, kw, n) != 0 || (s[n] && !isspace((unsigned char) s[n])))
    return false;
  if (rest)
    *rest = s + n + strspn(s + n, " \t");
  return true;
}

/* Parses items into a list until {{end}} / {{else}} (*stop says which) or
 * the end of the template (*stop 0). */
static int parse_list(struct lexer *lx, struct node **out, int *stop, struct mtk_err **err)
{
  struct node **tail = out;
  *stop = 0;
  for (;;) {
    char *item = NULL;
    bool is_action = false;
    int r = lex(lx, &item, &is_action, err);
    if (r <= 0)
      return r;
    mtk_autofree char *owned = item;
    const char *rest = NULL;
    if (is_action && (strcmp(item, "end") == 0 || strcmp(item, "else") == 0)) {
      *stop = item[0] == 'e' && item[1] == 'n' ? 'e' : 'l';
      return 0;
    }
    if (is_action && strncmp(item, "/*", 2) == 0)
      continue; /* a comment */
    struct node *n = mtk_xcalloc(1, sizeof(*n));
    *tail = n;
    tail = &n->next;
    if (!is_action) {
      n->kind = K_TEXT;
      n->text = mtk_steal_ptr(&owned);
      continue;
    }
    enum kind k = keyword(item, "range", &rest)  ? K_RANGE
                  : keyword(item, "if", &rest)   ? K_IF
                  : keyword(item, "with", &rest) ? K_WITH
                                                 : K_ACTION;
    n->kind = k;
    n->text = mtk_xstrdup(k == K_ACTION ? item : rest);
    if (k == K_ACTION)
      continue;
    if (!*n->text)
      return mtk_err_set(err, MTK_E_USAGE, "template: missing value for %s", item);
    int st;
    if (parse_list(lx, &n->body, &st, err) < 0)
      return -1;
    if (st == 'l' && parse_list(lx, &n->alt, &st, err) < 0)
      return -1;
    if (st != 'e')
      return mtk_err_set(err, MTK_E_USAGE, "template: unexpected EOF (missing {{end}})");
  }
}

/* ------------------------------------------------------------ evaluation */

struct exec {
  json_t *root;
  const struct mtk_cli_tmpl_hook *hook;
  struct mtk_strbuf *out;
};

/* Splits a pipeline into words: strings keep their quotes, '|' is a word. */
/* The end of the quoted string or parenthesised pipeline at s, or NULL. */
static const char *skip_group(const char *s)
{
  if (*s == '"' || *s == '`') {
    char q = *s++;
    while (*s && *s != q)
      s += (q == '"' && *s == '\\' && s[1]) ? 2 : 1;
    return *s ? s + 1 : NULL;
  }
  int depth = 0;
  for (; *s; s++) {
    if (*s == '"' || *s == '`') {
      const char *e = skip_group(s);
      if (!e)
        return NULL;
      s = e - 1;
    } else if (*s == '(') {
      depth++;
    } else if (*s == ')' && --depth == 0) {
      return s + 1;
    }
  }
  return NULL;
}

/* Splits a pipeline into words: strings keep their quotes, "(pipeline)"
 * (with a field chain after it) is one word, '|' is a word. */
static int words_split(const char *s, char ***out, size_t *n, struct mtk_err **err)
{
  char **v = NULL;
  size_t k = 0;
  while (*s) {
    s += strspn(s, " \t");
    if (!*s)
      break;
    const char *b = s;
    if (*s == '"' || *s == '`' || *s == '(') {
      s = skip_group(s);
      if (!s) {
        for (size_t i = 0; i < k; i++)
          free(v[i]);
        free(v);
        return mtk_err_set(err, MTK_E_USAGE, "template: unterminated %s",
                           *b == '(' ? "parenthesis" : "quoted string");
      }
      if (*b == '(')
        s += strcspn(s, " \t|");
    } else if (*s == '|') {
      s++;
    } else {
      s += strcspn(s, " \t|");
    }
    v = mtk_xrealloc(v, (k + 1) * sizeof(*v));
    v[k++] = mtk_xstrndup(b, (size_t) (s - b));
  }
  *out = v;
  *n = k;
  return 0;
}

static json_t *unquote(const char *w)
{
  if (w[0] == '`')
    return json_stringn(w + 1, strlen(w) - 2);
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (const char *p = w + 1; *p && *p != '"'; p++) {
    if (*p == '\\' && p[1]) {
      p++;
      mtk_strbuf_addc(&sb, *p == 'n' ? '\n' : *p == 't' ? '\t' : *p);
    } else {
      mtk_strbuf_addc(&sb, *p);
    }
  }
  return json_string(mtk_strbuf_str(&sb));
}

/* .A.B on v (new reference). */
static json_t *field_chain(json_t *v, const char *chain, struct mtk_err **err)
{
  mtk_autofree char *copy = mtk_xstrdup(chain);
  char *save = NULL;
  json_incref(v);
  for (char *k = strtok_r(copy, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
    json_t *next = NULL;
    if (json_is_object(v))
      next = json_object_get(v, k);
    int r = 0;
    if (!next && json_is_object(v))
      r = mtk_err_set(err, MTK_E_USAGE,
                      "template: executing at <%s>: map has no entry for key \"%s\"", chain, k);
    else if (!next && json_is_null(v))
      r = mtk_err_set(err, MTK_E_USAGE, "template: executing at <%s>: nil pointer evaluating .%s",
                      chain, k);
    else if (!next)
      r = mtk_err_set(err, MTK_E_USAGE, "template: executing at <%s>: can't evaluate field %s",
                      chain, k);
    json_decref(v);
    if (r < 0)
      return NULL;
    v = json_incref(next);
  }
  return v;
}

static json_t *pipeline(struct exec *x, json_t *dot, const char *src, struct mtk_err **err);

static json_t *operand(struct exec *x, json_t *dot, const char *w, struct mtk_err **err)
{
  if (w[0] == '"' || w[0] == '`')
    return unquote(w);
  if (w[0] == '(') { /* (pipeline) and maybe .Field.Chain on its value */
    const char *end = skip_group(w);
    mtk_autofree char *inner = mtk_xstrndup(w + 1, (size_t) (end - w - 2));
    json_t *v = pipeline(x, dot, inner, err);
    if (!v || !*end)
      return v;
    json_t *f = *end == '.' ? field_chain(v, end, err) : NULL;
    if (*end != '.')
      mtk_err_set(err, MTK_E_USAGE, "template: unexpected \"%s\" after a parenthesis", end);
    json_decref(v);
    return f;
  }
  if (strcmp(w, ".") == 0)
    return json_incref(dot);
  if (w[0] == '.')
    return field_chain(dot, w, err);
  if (strcmp(w, "$") == 0)
    return json_incref(x->root);
  if (strncmp(w, "$.", 2) == 0)
    return field_chain(x->root, w + 1, err);
  if (strcmp(w, "true") == 0 || strcmp(w, "false") == 0)
    return json_boolean(w[0] == 't');
  if (strcmp(w, "nil") == 0)
    return json_null();
  char *end;
  long long i = strtoll(w, &end, 10);
  if (*w && !*end)
    return json_integer(i);
  mtk_err_set(err, MTK_E_USAGE, "template: function \"%s\" not defined", w);
  return NULL;
}

/* Go's %v of a decoded JSON value. */
void mtk_cli_tmpl_print(struct mtk_strbuf *sb, const json_t *v)
{
  char buf[32];
  switch (json_typeof(v)) {
    case JSON_STRING:
      mtk_strbuf_add(sb, json_string_value(v), json_string_length(v));
      break;
    case JSON_INTEGER:
      mtk_strbuf_addf(sb, "%lld", (long long) json_integer_value(v));
      break;
    case JSON_REAL:
      mtk_cli_format_real(json_real_value(v), buf);
      mtk_strbuf_adds(sb, buf);
      break;
    case JSON_TRUE:
    case JSON_FALSE:
      mtk_strbuf_adds(sb, json_is_true(v) ? "true" : "false");
      break;
    case JSON_NULL:
      mtk_strbuf_adds(sb, "<nil>");
      break;
    case JSON_ARRAY: {
      size_t i;
      json_t *e;
      mtk_strbuf_addc(sb, '[');
      json_array_foreach(v, i, e)
      {
        if (i)
          mtk_strbuf_addc(sb, ' ');
        mtk_cli_tmpl_print(sb, e);
      }
      mtk_strbuf_addc(sb, ']');
      break;
    }
    case JSON_OBJECT: {
      /* Go prints map keys sorted. */
      size_t n = json_object_size(v), k = 0;
      mtk_autofree const char **keys = mtk_xcalloc(n + 1, sizeof(*keys));
      const char *key;
      json_t *e;
      json_object_foreach((json_t *) v, key, e) keys[k++] = key;
      qsort(keys, k, sizeof(*keys), mtk_cli_strcmp_p);
      mtk_strbuf_adds(sb, "map[");
      for (size_t i = 0; i < k; i++) {
        mtk_strbuf_addf(sb, "%s%s:", i ? " " : "", keys[i]);
        mtk_cli_tmpl_print(sb, json_object_get(v, keys[i]));
      }
      mtk_strbuf_addc(sb, ']');
      break;
    }
  }
}

static char *text_of(const json_t *v)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_cli_tmpl_print(&sb, v);
  return mtk_strbuf_steal(&sb);
}

static json_t *fn_index(json_t **a, size_t n, struct mtk_err **err)
{
  json_t *v = json_incref(a[0]);
  for (size_t i = 1; i < n && v; i++) {
    json_t *next = NULL;
    if (json_is_object(v) && json_is_string(a[i]))
      next = json_object_get(v, json_string_value(a[i]));
    else if (json_is_array(v) && json_is_integer(a[i]))
      next = json_array_get(v, (size_t) json_integer_value(a[i]));
    else if (!json_is_null(v) || !json_is_string(a[i])) {
      json_decref(v);
      mtk_err_set(err, MTK_E_USAGE, "template: error calling index: cannot index this value");
      return NULL;
    }
    json_decref(v);
    /* a missing key gives the zero value, as for Docker's map[string]string */
    v = next ? json_incref(next) : json_string("");
  }
  return v;
}

static json_t *bad_args(const char *f, struct mtk_err **err)
{
  mtk_err_set(err, MTK_E_USAGE, "template: wrong arguments for %s", f);
  return NULL;
}

static json_t *fn_join(json_t **a, size_t n, struct mtk_err **err)
{
  if (n != 2 || !json_is_array(a[0]) || !json_is_string(a[1]))
    return bad_args("join", err);
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  size_t i;
  json_t *e;
  json_array_foreach(a[0], i, e)
  {
    if (i)
      mtk_strbuf_adds(&sb, json_string_value(a[1]));
    mtk_cli_tmpl_print(&sb, e);
  }
  return json_string(mtk_strbuf_str(&sb));
}

static json_t *fn_split(json_t **a, size_t n, struct mtk_err **err)
{
  if (n != 2 || !json_is_string(a[1]) || !*json_string_value(a[1]))
    return bad_args("split", err);
  mtk_autofree char *s = text_of(a[0]);
  json_t *arr = json_array();
  const char *sep = json_string_value(a[1]);
  size_t sl = strlen(sep);
  for (const char *p = s;;) {
    const char *q = strstr(p, sep);
    json_array_append_new(arr, json_stringn(p, q ? (size_t) (q - p) : strlen(p)));
    if (!q)
      break;
    p = q + sl;
  }
  return arr;
}

/* upper, lower, title */
static json_t *fn_case(const char *f, json_t **a, size_t n, struct mtk_err **err)
{
  if (n != 1)
    return bad_args(f, err);
  mtk_autofree char *s = text_of(a[0]);
  bool title_next = true;
  for (char *p = s; *p; p++) {
    if (strcmp(f, "upper") == 0)
      *p = (char) toupper((unsigned char) *p);
    else if (strcmp(f, "lower") == 0)
      *p = (char) tolower((unsigned char) *p);
    else if (title_next)
      *p = (char) toupper((unsigned char) *p);
    title_next = !isalnum((unsigned char) *p);
  }
  return json_string(s);
}

static bool truth(const json_t *v);

/* eq, ne, not, and, or (Go's builtins; and/or return an argument). */
static json_t *fn_logic(const char *f, json_t **a, size_t n, struct mtk_err **err)
{
  if (strcmp(f, "not") == 0)
    return n == 1 ? json_boolean(!truth(a[0])) : bad_args(f, err);
  if (strcmp(f, "and") == 0 || strcmp(f, "or") == 0) {
    if (n < 1)
      return bad_args(f, err);
    bool want = f[0] == 'o';
    for (size_t i = 0; i + 1 < n; i++)
      if (truth(a[i]) == want)
        return json_incref(a[i]);
    return json_incref(a[n - 1]);
  }
  if (n < 2 || (f[0] == 'n' && n != 2))
    return bad_args(f, err);
  bool any = false;
  for (size_t i = 1; i < n; i++)
    any |= json_equal(a[0], a[i]) != 0;
  return json_boolean(f[0] == 'e' ? any : !any);
}

static json_t *call(const char *f, json_t **a, size_t n, struct mtk_err **err)
{
  if (strcmp(f, "json") == 0 && n == 1) {
    mtk_autofree char *t = json_dumps(a[0], JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    return json_string(t ? t : "null");
  }
  if (strcmp(f, "index") == 0 && n >= 2)
    return fn_index(a, n, err);
  if (strcmp(f, "len") == 0 && n == 1) {
    if (json_is_string(a[0]))
      return json_integer((json_int_t) json_string_length(a[0]));
    if (json_is_array(a[0]) || json_is_object(a[0]))
      return json_integer(
          (json_int_t) (json_is_array(a[0]) ? json_array_size(a[0]) : json_object_size(a[0])));
    mtk_err_set(err, MTK_E_USAGE, "template: error calling len: len of this value");
    return NULL;
  }
  if (strcmp(f, "println") == 0) {
    mtk_autostrbuf sb = MTK_STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
      if (i)
        mtk_strbuf_addc(&sb, ' ');
      mtk_cli_tmpl_print(&sb, a[i]);
    }
    mtk_strbuf_addc(&sb, '\n');
    return json_string(mtk_strbuf_str(&sb));
  }
  if (strcmp(f, "eq") == 0 || strcmp(f, "ne") == 0 || strcmp(f, "not") == 0 ||
      strcmp(f, "and") == 0 || strcmp(f, "or") == 0)
    return fn_logic(f, a, n, err);
  if (strcmp(f, "join") == 0)
    return fn_join(a, n, err);
  if (strcmp(f, "split") == 0)
    return fn_split(a, n, err);
  if (strcmp(f, "upper") == 0 || strcmp(f, "lower") == 0 || strcmp(f, "title") == 0)
    return fn_case(f, a, n, err);
  mtk_err_set(err, MTK_E_USAGE, "template: function \"%s\" not defined or wrong arguments", f);
  return NULL;
}

static bool is_function(const char *w)
{
  return isalpha((unsigned char) w[0]) && strcmp(w, "true") != 0 && strcmp(w, "false") != 0 &&
         strcmp(w, "nil") != 0;
}

/* One command of a pipeline (words w[0..n)), with the previous command's
 * value appended as last argument (piped, may be NULL).  New reference. */
static json_t *command(struct exec *x, json_t *dot, char **w, size_t n, json_t *piped,
                       struct mtk_err **err)
{
  if (n == 0)
    return mtk_err_set(err, MTK_E_USAGE, "template: missing command in pipeline"), NULL;
  bool fn = is_function(w[0]);
  bool method = !fn && w[0][0] == '.' && (n > 1 || piped) && x->hook && x->hook->method;
  if (!fn && !method) {
    if (n > 1 || piped)
      return mtk_err_set(err, MTK_E_USAGE, "template: can't give argument to non-function %s",
                         w[0]),
             NULL;
    return operand(x, dot, w[0], err);
  }
  size_t na = n - 1 + (piped ? 1 : 0);
  mtk_autofree json_t **args = mtk_xcalloc(na + 1, sizeof(*args));
  json_t *res = NULL;
  size_t got = 0;
  for (; got < n - 1; got++)
    if (!(args[got] = operand(x, dot, w[got + 1], err)))
      goto out;
  if (piped)
    args[got++] = json_incref(piped);
  if (fn)
    res = call(w[0], args, na, err);
  else
    res = x->hook->method(x->hook->data, dot, w[0] + 1, args, na, err);
out:
  for (size_t i = 0; i < got; i++)
    json_decref(args[i]);
  return res;
}

static json_t *pipeline(struct exec *x, json_t *dot, const char *src, struct mtk_err **err)
{
  char **w = NULL;
  size_t n = 0;
  if (words_split(src, &w, &n, err) < 0)
    return NULL;
  json_t *v = NULL;
  size_t start = 0;
  bool ok = true;
  for (size_t i = 0; i <= n && ok; i++) {
    if (i < n && strcmp(w[i], "|") != 0)
      continue;
    json_t *next = command(x, dot, w + start, i - start, v, err);
    json_decref(v);
    v = next;
    ok = v != NULL;
    start = i + 1;
  }
  for (size_t i = 0; i < n; i++)
    free(w[i]);
  free(w);
  return v;
}

static bool truth(const json_t *v)
{
  switch (json_typeof(v)) {
    case JSON_STRING:
      return json_string_length(v) > 0;
    case JSON_INTEGER:
      return json_integer_value(v) != 0;
    case JSON_REAL:
      return json_real_value(v) != 0;
    case JSON_TRUE:
      return true;
    case JSON_ARRAY:
      return json_array_size(v) > 0;
    case JSON_OBJECT:
      return json_object_size(v) > 0;
    default:
      return false;
  }
}

static int run_list(struct exec *x, json_t *dot, const struct node *n, struct mtk_err **err);

static int run_range(struct exec *x, json_t *v, const struct node *n, struct mtk_err **err)
{
  if (!truth(v))
    return n->alt ? run_list(x, v, n->alt, err) : 0;
  if (json_is_array(v)) {
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) if (run_list(x, e, n->body, err) < 0) return -1;
    return 0;
  }
  if (json_is_object(v)) {
    /* Go ranges over a map in key order */
    size_t k = 0;
    mtk_autofree const char **keys = mtk_xcalloc(json_object_size(v) + 1, sizeof(*keys));
    const char *key;
    json_t *e;
    json_object_foreach(v, key, e) keys[k++] = key;
    qsort(keys, k, sizeof(*keys), mtk_cli_strcmp_p);
    for (size_t i = 0; i < k; i++)
      if (run_list(x, json_object_get(v, keys[i]), n->body, err) < 0)
        return -1;
    return 0;
  }
  return mtk_err_set(err, MTK_E_USAGE, "template: range can't iterate over %s", n->text);
}

static int run_list(struct exec *x, json_t *dot, const struct node *n, struct mtk_err **err)
{
  for (; n; n = n->next) {
    if (n->kind == K_TEXT) {
      mtk_strbuf_adds(x->out, n->text);
      continue;
    }
    json_t *v = pipeline(x, dot, n->text, err);
    if (!v)
      return -1;
    int r = 0;
    if (n->kind == K_ACTION)
      mtk_cli_tmpl_print(x->out, v);
    else if (n->kind == K_RANGE)
      r = run_range(x, v, n, err);
    else if (truth(v))
      r = run_list(x, n->kind == K_WITH ? v : dot, n->body, err);
    else if (n->alt)
      r = run_list(x, dot, n->alt, err);
    json_decref(v);
    if (r < 0)
      return -1;
  }
  return 0;
}

int mtk_cli_tmpl_render(const char *tmpl, json_t *dot, const struct mtk_cli_tmpl_hook *hook,
                        struct mtk_strbuf *out, struct mtk_err **err)
{
  struct lexer lx = {.p = tmpl};
  struct node *list = NULL;
  int stop = 0;
  int r = parse_list(&lx, &list, &stop, err);
  if (r == 0 && stop)
    r = mtk_err_set(err, MTK_E_USAGE, "template: unexpected {{%s}}", stop == 'e' ? "end" : "else");
  if (r == 0) {
    struct exec x = {.root = dot, .hook = hook, .out = out};
    r = run_list(&x, dot, list, err);
  }
  nodes_free(list);
  if (r < 0)
    mtk_err_hint(err,
                 "The format is a Go template: {{.Field}}, {{json .}}, {{index .Map \"key\"}}, "
                 "{{range .List}}...{{end}}.");
  return r < 0 ? -1 : 0;
}

int mtk_cli_strcmp_p(const void *a, const void *b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}
