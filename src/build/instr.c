/* Typed Dockerfile instructions, after BuildKit's instructions package
 * (parse.go, commands.go, bflag.go, commands_runmount.go,
 * commands_runnetwork.go, commands_runsecurity.go): an AST node becomes a
 * struct mtk_instr, its flags are checked as BFlags checks them, its
 * arguments counted, heredoc sources told from paths, and RUN --mount specs
 * parsed (a first time without expansion, only to refuse `from=$VAR`; again,
 * expanded, by mtk_instr_expand).  Error texts are BuildKit's. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "build/instr.h"
#include "util/gostr.h"
#include "util/strbuf.h"

/* ------------------------------------------------------------ small helpers */

static void strv_push(char ***v, size_t *n, const char *s)
{
  *v = mtk_xrealloc(*v, (*n + 2) * sizeof(**v));
  (*v)[(*n)++] = mtk_xstrdup(s);
  (*v)[*n] = NULL;
}

static void strv_free(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static bool ascii_ieq(const char *a, const char *b)
{
  return strcasecmp(a, b) == 0;
}

static char *lower_dup(const char *s)
{
  char *d = mtk_xstrdup(s);
  for (char *p = d; *p; p++)
    *p = (char) tolower((unsigned char) *p);
  return d;
}

static char *upper_dup(const char *s)
{
  char *d = mtk_xstrdup(s);
  for (char *p = d; *p; p++)
    *p = (char) toupper((unsigned char) *p);
  return d;
}

/* Decodes one UTF-8 rune (invalid bytes count as one rune each). */
static uint32_t next_rune(const unsigned char **p)
{
  const unsigned char *s = *p;
  int len = s[0] < 0x80         ? 1
            : (s[0] >> 5) == 6  ? 2
            : (s[0] >> 4) == 14 ? 3
            : (s[0] >> 3) == 30 ? 4
                                : 1;
  uint32_t r = len == 1 ? s[0] : s[0] & (0x7f >> len);
  for (int i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) {
      *p = s + 1;
      return 0xfffd;
    }
    r = (r << 6) | (s[i] & 0x3f);
  }
  *p = s + len;
  return r;
}

static size_t runes(const char *s, uint32_t **out)
{
  size_t n = 0, cap = strlen(s) + 1;
  *out = mtk_xcalloc(cap, sizeof(**out));
  for (const unsigned char *p = (const unsigned char *) s; *p;)
    (*out)[n++] = next_rune(&p);
  return n;
}

size_t mtk_instr_levenshtein(const char *a, const char *b)
{
  mtk_autofree uint32_t *ra = NULL;
  mtk_autofree uint32_t *rb = NULL;
  size_t na = runes(a, &ra), nb = runes(b, &rb);
  mtk_autofree size_t *row = mtk_xcalloc(nb + 1, sizeof(*row));
  for (size_t j = 0; j <= nb; j++)
    row[j] = j;
  for (size_t i = 1; i <= na; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= nb; j++) {
      size_t up = row[j], best = diag + (ra[i - 1] != rb[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  return row[nb];
}

char *mtk_instr_suggest(const char *val, const char *const *options, size_t n, bool case_sensitive)
{
  mtk_autofree char *v = case_sensitive ? mtk_xstrdup(val) : lower_dup(val);
  char *match = NULL;
  size_t mindist = 3;
  for (size_t i = 0; i < n; i++) {
    mtk_autofree char *opt = case_sensitive ? mtk_xstrdup(options[i]) : lower_dup(options[i]);
    if (strcmp(v, opt) == 0) {
      free(match);
      return NULL;
    }
    size_t d = mtk_instr_levenshtein(v, opt);
    if (d < mindist) {
      free(match);
      mindist = d;
      if (case_sensitive) {
        match = mtk_steal_ptr(&opt);
      } else {
        mtk_autofree char *lo = lower_dup(val);
        mtk_autofree char *up = upper_dup(val);
        match = strcmp(val, lo) == 0   ? mtk_steal_ptr(&opt)
                : strcmp(val, up) == 0 ? upper_dup(opt)
                                       : mtk_xstrdup(options[i]);
      }
    }
  }
  return match;
}

bool mtk_instr_parse_bool(const char *s, bool *out)
{
  return mtk_go_parse_bool(s, out);
}

/* Go's strconv.ParseUint(s, base, 32) for base 8 or 10. */
static bool parse_u32(const char *s, int base, uint32_t *out)
{
  uint64_t v = 0;
  if (*s == '\0')
    return false;
  for (const char *p = s; *p; p++) {
    int d = *p - '0';
    if (d < 0 || d >= base)
      return false;
    v = v * (uint64_t) base + (uint64_t) d;
    if (v > UINT32_MAX)
      return false;
  }
  *out = (uint32_t) v;
  return true;
}

/* ------------------------------------------------------------ durations */

static int bad_duration(const char *s, struct mtk_err **err)
{
  return mtk_err_set(err, MTK_E_BUILD, "time: invalid duration \"%s\"", s);
}

/* One "<number><unit>" element of a Go duration; advances *p. */
static int duration_elem(const char *s, const char **p, double *ns, struct mtk_err **err)
{
  static const struct {
    const char *u;
    double mult;
  } units[] = {{"ns", 1},   {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"\xce\xbcs", 1e3},
               {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
  const char *q = *p;
  double v = 0, scale = 1;
  bool digits = false;
  for (; *q >= '0' && *q <= '9'; q++, digits = true)
    v = v * 10 + (*q - '0');
  if (*q == '.') {
    bool frac = false;
    for (q++; *q >= '0' && *q <= '9'; q++, frac = true)
      v += (*q - '0') * (scale /= 10);
    digits = digits || frac;
  }
  if (!digits)
    return bad_duration(s, err);
  const char *u = q;
  while (*q && *q != '.' && (*q < '0' || *q > '9'))
    q++;
  if (q == u)
    return mtk_err_set(err, MTK_E_BUILD, "time: missing unit in duration \"%s\"", s);
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
    if (strlen(units[i].u) == (size_t) (q - u) && memcmp(units[i].u, u, (size_t) (q - u)) == 0) {
      *ns += v * units[i].mult;
      *p = q;
      return 0;
    }
  return mtk_err_set(err, MTK_E_BUILD, "time: unknown unit \"%.*s\" in duration \"%s\"",
                     (int) (q - u), u, s);
}

int mtk_instr_parse_duration(const char *s, int64_t *out, struct mtk_err **err)
{
  const char *p = s;
  bool neg = false;
  double ns = 0;
  if (*p == '-' || *p == '+')
    neg = *p++ == '-';
  if (strcmp(p, "0") == 0)
    return *out = 0, 0;
  if (*p == '\0')
    return bad_duration(s, err);
  while (*p)
    if (duration_elem(s, &p, &ns, err) < 0)
      return -1;
  if (ns > 9.223372036854775807e18)
    return bad_duration(s, err);
  *out = neg ? -(int64_t) ns : (int64_t) ns;
  return 0;
}

int mtk_instr_check_signal(const char *s, struct mtk_err **err)
{
  static const char *const names[] = {
      "ABRT", "ALRM",   "BUS",  "CHLD",   "CLD",   "CONT", "FPE",  "HUP",   "ILL",
      "INT",  "IO",     "IOT",  "KILL",   "PIPE",  "POLL", "PROF", "PWR",   "QUIT",
      "SEGV", "STKFLT", "STOP", "SYS",    "TERM",  "TRAP", "TSTP", "TTIN",  "TTOU",
      "URG",  "USR1",   "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX"};
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*s && *end == '\0' && !isspace((unsigned char) *s) && errno == 0) {
    if (v == 0)
      return mtk_err_set(err, MTK_E_BUILD, "invalid signal: %s", s);
    return 0;
  }
  mtk_autofree char *up = upper_dup(s);
  const char *name = strncmp(up, "SIG", 3) == 0 ? up + 3 : up;
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(name, names[i]) == 0)
      return 0;
  int k;
  char sign;
  int used = 0;
  if (sscanf(name, "RTMIN%c%d%n", &sign, &k, &used) == 2 && sign == '+' && k >= 1 && k <= 15 &&
      name[used] == '\0' && name[6] != '0')
    return 0;
  if (sscanf(name, "RTMAX%c%d%n", &sign, &k, &used) == 2 && sign == '-' && k >= 1 && k <= 14 &&
      name[used] == '\0' && name[6] != '0')
    return 0;
  return mtk_err_set(err, MTK_E_BUILD, "invalid signal: %s", s);
}

/* dchapes-mode's symbolic grammar: [ugoa]*[+-=][rwxXstugo]* clauses separated by ','. */
static bool symbolic_mode(const char *s)
{
  for (;;) {
    s += strspn(s, "ugoa");
    if (*s != '+' && *s != '-' && *s != '=')
      return false;
    while (*s == '+' || *s == '-' || *s == '=') {
      s++;
      s += strspn(s, "rwxXstugo");
    }
    if (*s == '\0')
      return true;
    if (*s != ',')
      return false;
    s++;
  }
}

int mtk_instr_check_chmod(const char *s, struct mtk_err **err)
{
  uint32_t v;
  if (parse_u32(s, 8, &v)) {
    if (v <= 07777)
      return 0;
  } else if (*s && !(*s >= '0' && *s <= '9')) {
    if (symbolic_mode(s))
      return 0;
    return mtk_err_set(err, MTK_E_BUILD, "invalid syntax");
  }
  return mtk_err_set(err, MTK_E_BUILD,
                     "invalid chmod parameter: '%s'. it should be octal string and between 0 "
                     "and 07777",
                     s);
}

/* ------------------------------------------------------------ BFlags */

enum ftype { F_BOOL, F_STRING, F_STRINGS };

struct flag {
  const char *name;
  enum ftype type;
  const char *value;   /* borrowed: the default or the given value */
  const char **values; /* owned array, borrowed strings: F_STRINGS */
  size_t n_values;
  bool used;
};

struct bflags {
  const struct mtk_df_str *args; /* borrowed: node flags */
  size_t n_args;
  struct flag defs[8];
  size_t n_defs;
  const char *used[8]; /* names in order of first use */
  size_t n_used;
};

static struct flag *bf_add(struct bflags *bf, const char *name, enum ftype t, const char *def)
{
  struct flag *f = &bf->defs[bf->n_defs++];
  memset(f, 0, sizeof(*f));
  f->name = name;
  f->type = t;
  f->value = def;
  return f;
}

static void bf_free(struct bflags *bf)
{
  for (size_t i = 0; i < bf->n_defs; i++)
    free(bf->defs[i].values);
}

static int bf_unknown(struct bflags *bf, const char *flagname, const char *arg,
                      struct mtk_err **err)
{
  const char *names[8];
  for (size_t i = 0; i < bf->n_defs; i++)
    names[i] = bf->defs[i].name;
  mtk_autofree char *s = mtk_instr_suggest(arg, names, bf->n_defs, true);
  if (s)
    return mtk_err_set(err, MTK_E_BUILD, "unknown flag: %s (did you mean %s?)", flagname, s);
  return mtk_err_set(err, MTK_E_BUILD, "unknown flag: %s", flagname);
}

/* Sets one flag from "--name[=value]". */
static int bf_set(struct bflags *bf, struct flag *f, const char *flagname, const char *eq,
                  struct mtk_err **err)
{
  const char *value = eq ? eq + 1 : "";
  if (f->used && f->type != F_STRINGS)
    return mtk_err_set(err, MTK_E_BUILD, "duplicate flag specified: %s", flagname);
  if (!f->used)
    bf->used[bf->n_used++] = f->name;
  f->used = true;
  if (f->type == F_BOOL) {
    if (eq && *value == '\0')
      return mtk_err_set(err, MTK_E_BUILD, "missing a value on flag: %s", flagname);
    if (*value == '\0' || ascii_ieq(value, "true"))
      f->value = "true";
    else if (ascii_ieq(value, "false"))
      f->value = "false";
    else
      return mtk_err_set(err, MTK_E_BUILD, "expecting boolean value for flag %s, not: %s", flagname,
                         value);
    return 0;
  }
  if (!eq)
    return mtk_err_set(err, MTK_E_BUILD, "missing a value on flag: %s", flagname);
  if (f->type == F_STRING) {
    f->value = value;
    return 0;
  }
  f->values = mtk_xrealloc(f->values, (f->n_values + 1) * sizeof(*f->values));
  f->values[f->n_values++] = value;
  return 0;
}

static int bf_parse(struct bflags *bf, struct mtk_err **err)
{
  for (size_t i = 0; i < bf->n_args; i++) {
    const char *a = bf->args[i].s;
    if (strcmp(a, "--") == 0)
      return 0;
    if (strncmp(a, "--", 2) != 0)
      return mtk_err_set(err, MTK_E_BUILD, "arg should start with -- : %s", a);
    const char *eq = strchr(a, '=');
    mtk_autofree char *flagname = eq ? mtk_xstrndup(a, (size_t) (eq - a)) : mtk_xstrdup(a);
    struct flag *f = NULL;
    for (size_t j = 0; j < bf->n_defs && !f; j++)
      if (strcmp(bf->defs[j].name, flagname + 2) == 0)
        f = &bf->defs[j];
    if (f == NULL)
      return bf_unknown(bf, flagname, flagname + 2, err);
    if (bf_set(bf, f, flagname, eq, err) < 0)
      return -1;
  }
  return 0;
}

static bool bf_true(const struct flag *f)
{
  return strcmp(f->value, "true") == 0;
}

/* ------------------------------------------------------------ parse request */

struct req {
  const struct mtk_df_node *node;
  const char *file;
  const char *command; /* borrowed: keyword as written */
  char **args;         /* owned array of borrowed strings */
  size_t n_args;
  bool json;
  struct bflags flags;
};

static void node_args(const struct mtk_df_node *node, struct req *r)
{
  for (const struct mtk_df_node *a = node->next; a; a = a->next) {
    const struct mtk_df_node *v = a->n_children == 1 ? a->children[0] : a;
    if (a->n_children > 1)
      continue;
    r->args = mtk_xrealloc(r->args, (r->n_args + 1) * sizeof(*r->args));
    r->args[r->n_args++] = v->value;
    if (a->n_children == 1)
      node_args(a->children[0], r);
  }
}

static void req_init(struct req *r, const struct mtk_df_node *node, const char *file)
{
  memset(r, 0, sizeof(*r));
  r->node = node;
  r->file = file;
  r->command = node->value;
  r->json = node->json;
  r->flags.args = node->flags;
  r->flags.n_args = node->n_flags;
  node_args(node, r);
}

static void req_free(struct req *r)
{
  free(r->args);
  bf_free(&r->flags);
}

static int fail(struct req *r, struct mtk_err **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct req *r, struct mtk_err **err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mtk_autofree char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    abort();
  va_end(ap);
  (void) r;
  return mtk_err_set(err, MTK_E_BUILD, "%s", msg);
}

static int at_least_one(struct req *r, const char *cmd, struct mtk_err **err)
{
  return fail(r, err, "%s requires at least one argument", cmd);
}

static int exactly_one(struct req *r, const char *cmd, struct mtk_err **err)
{
  return fail(r, err, "%s requires exactly one argument", cmd);
}

/* handleJSONArgs: the exec form as is, the shell form as one word. */
static void json_args(const struct req *r, struct mtk_instr *in, size_t from)
{
  if (r->n_args <= from)
    return;
  if (r->json) {
    for (size_t i = from; i < r->n_args; i++)
      strv_push(&in->args, &in->n_args, r->args[i]);
    return;
  }
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (size_t i = from; i < r->n_args; i++) {
    if (i > from)
      mtk_strbuf_addc(&sb, ' ');
    mtk_strbuf_adds(&sb, r->args[i]);
  }
  strv_push(&in->args, &in->n_args, mtk_strbuf_str(&sb));
}

/* ------------------------------------------------------------ mounts */

/* csvvalue.Fields: one CSV record (encoding/csv quoting, no lazy quotes). */
static int csv_fields(const char *line, char ***out, size_t *n, struct mtk_err **err)
{
  size_t pos = 0, len = strlen(line);
  if (len > 0 && line[len - 1] == '\n')
    len -= (len > 1 && line[len - 2] == '\r') ? 2 : 1;
  if (len == 0)
    return mtk_err_set(err, MTK_E_BUILD, "EOF");
  for (;;) {
    mtk_autostrbuf f = MTK_STRBUF_INIT;
    mtk_strbuf_adds(&f, "");
    if (pos >= len || line[pos] != '"') {
      size_t end = pos;
      while (end < len && line[end] != ',')
        end++;
      const char *q = memchr(line + pos, '"', end - pos);
      if (q)
        return mtk_err_set(err, MTK_E_BUILD,
                           "parse error on line 1, column %zu: bare \" in non-quoted-field",
                           (size_t) (q - line) + 1);
      mtk_strbuf_add(&f, line + pos, end - pos);
      strv_push(out, n, f.buf);
      if (end >= len)
        return 0;
      pos = end + 1;
      continue;
    }
    for (pos++;;) {
      const char *q = pos < len ? memchr(line + pos, '"', len - pos) : NULL;
      if (!q)
        return mtk_err_set(err, MTK_E_BUILD,
                           "parse error on line 1, column %zu: extraneous or missing \" in "
                           "quoted-field",
                           pos + 1);
      mtk_strbuf_add(&f, line + pos, (size_t) (q - (line + pos)));
      pos = (size_t) (q - line) + 1;
      if (pos < len && line[pos] == '"') {
        mtk_strbuf_addc(&f, '"');
        pos++;
        continue;
      }
      if (pos >= len || line[pos] == ',')
        break;
      return mtk_err_set(err, MTK_E_BUILD,
                         "parse error on line 1, column %zu: extraneous or missing \" in "
                         "quoted-field",
                         pos);
    }
    strv_push(out, n, f.buf);
    if (pos >= len)
      return 0;
    pos++;
  }
}

static void mount_clear(struct mtk_instr_mount *m)
{
  free(m->spec);
  free(m->from);
  free(m->source);
  free(m->target);
  free(m->id);
  free(m->sharing);
  free(m->env);
  memset(m, 0, sizeof(*m));
}

static const char *const mount_types[] = {"bind", "cache", "tmpfs", "secret", "ssh"};

static int suggest_err(struct mtk_err **err, const char *value, const char *const *opts, size_t n,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int suggest_err(struct mtk_err **err, const char *value, const char *const *opts, size_t n,
                       const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mtk_autofree char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    abort();
  va_end(ap);
  mtk_autofree char *s = mtk_instr_suggest(value, opts, n, true);
  if (s)
    return mtk_err_set(err, MTK_E_BUILD, "%s (did you mean %s?)", msg, s);
  return mtk_err_set(err, MTK_E_BUILD, "%s", msg);
}

/* go-units RAMInBytes: "64m", "1.5GiB", "100" (binary multiples). */
static bool ram_in_bytes(const char *s, int64_t *out)
{
  const char *p = s;
  double v = 0, scale = 1;
  if (!(*p >= '0' && *p <= '9'))
    return false;
  for (; *p >= '0' && *p <= '9'; p++)
    v = v * 10 + (*p - '0');
  while (*p == '.') {
    if (!(p[1] >= '0' && p[1] <= '9'))
      return false;
    for (p++; *p >= '0' && *p <= '9'; p++)
      if (scale > 0)
        v += (*p - '0') * (scale /= 10);
    scale = 0; /* Go's regexp allows "1.2.3" and parses "1.2" */
  }
  if (*p == ' ')
    p++;
  static const char units[] = "kmgtp";
  const char *u = *p ? strchr(units, tolower((unsigned char) *p)) : NULL;
  if (u) {
    for (const char *k = units; k <= u; k++)
      v *= 1024;
    p++;
  }
  if (*p == 'i' || *p == 'I')
    p++;
  if (*p == 'b' || *p == 'B')
    p++;
  if (*p)
    return false;
  *out = (int64_t) v;
  return true;
}

/* A valueless field ("ro", "required"). */
static int mount_flag_field(struct mtk_instr_mount *m, const char *key, const char *field,
                            bool *ro_auto, struct mtk_err **err)
{
  if (strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0) {
    m->readonly = true, *ro_auto = false;
  } else if (strcmp(key, "readwrite") == 0 || strcmp(key, "rw") == 0) {
    m->readonly = false, *ro_auto = false;
  } else if (strcmp(key, "required") == 0) {
    if (m->type != MTK_INSTR_MOUNT_SECRET && m->type != MTK_INSTR_MOUNT_SSH)
      return mtk_err_set(err, MTK_E_BUILD, "unexpected key '%s' for mount type '%s'", key,
                         mount_types[m->type]);
    m->required = true;
  } else {
    return mtk_err_set(err, MTK_E_BUILD, "invalid field '%s' must be a key=value pair", field);
  }
  return 0;
}

static int mount_bool(const char *key, const char *value, bool *out, struct mtk_err **err)
{
  if (!mtk_instr_parse_bool(value, out))
    return mtk_err_set(err, MTK_E_BUILD, "invalid value for %s: %s", key, value);
  return 0;
}

static int mount_numeric(struct mtk_instr_mount *m, const char *key, const char *value,
                         struct mtk_err **err)
{
  if (strcmp(key, "mode") == 0) {
    if (!parse_u32(value, 8, &m->mode))
      return mtk_err_set(err, MTK_E_BUILD, "invalid value %s for mode", value);
    m->has_mode = true;
  } else if (strcmp(key, "uid") == 0) {
    if (!parse_u32(value, 10, &m->uid))
      return mtk_err_set(err, MTK_E_BUILD, "invalid value %s for uid", value);
    m->has_uid = true;
  } else {
    if (!parse_u32(value, 10, &m->gid))
      return mtk_err_set(err, MTK_E_BUILD, "invalid value %s for gid", value);
    m->has_gid = true;
  }
  return 0;
}

static void set_str(char **dst, const char *v)
{
  free(*dst);
  *dst = mtk_xstrdup(v);
}

/* One key=value field of a mount (after expansion). */
static int mount_kv(struct mtk_instr_mount *m, const char *key, const char *value,
                    const char *field, bool *ro_auto, struct mtk_err **err)
{
  static const char *const keys[] = {"type", "from",    "source",    "target", "readonly",
                                     "id",   "sharing", "required",  "size",   "mode",
                                     "uid",  "gid",     "src",       "dst",    "destination",
                                     "ro",   "rw",      "readwrite", "env"};
  static const char *const sharing[] = {"shared", "private", "locked"};
  bool b;
  if (strcmp(key, "type") == 0) {
    mtk_autofree char *v = lower_dup(value);
    for (size_t i = 0; i < 5; i++)
      if (strcmp(v, mount_types[i]) == 0)
        return m->type = (enum mtk_instr_mount_type) i, 0;
    return suggest_err(err, value, mount_types, 5, "unsupported mount type \"%s\"", value);
  }
  if (strcmp(key, "from") == 0)
    return set_str(&m->from, value), 0;
  if (strcmp(key, "source") == 0 || strcmp(key, "src") == 0)
    return set_str(&m->source, value), 0;
  if (strcmp(key, "target") == 0 || strcmp(key, "dst") == 0 || strcmp(key, "destination") == 0)
    return set_str(&m->target, value), 0;
  if (strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0) {
    *ro_auto = false;
    return mount_bool(key, value, &m->readonly, err);
  }
  if (strcmp(key, "readwrite") == 0 || strcmp(key, "rw") == 0) {
    *ro_auto = false;
    if (mount_bool(key, value, &b, err) < 0)
      return -1;
    return m->readonly = !b, 0;
  }
  if (strcmp(key, "required") == 0) {
    if (m->type != MTK_INSTR_MOUNT_SECRET && m->type != MTK_INSTR_MOUNT_SSH)
      return mtk_err_set(err, MTK_E_BUILD, "unexpected key '%s' for mount type '%s'", key,
                         mount_types[m->type]);
    return mount_bool(key, value, &m->required, err);
  }
  if (strcmp(key, "size") == 0) {
    if (m->type != MTK_INSTR_MOUNT_TMPFS)
      return mtk_err_set(err, MTK_E_BUILD, "unexpected key '%s' for mount type '%s'", key,
                         mount_types[m->type]);
    if (!ram_in_bytes(value, &m->size_limit))
      return mtk_err_set(err, MTK_E_BUILD, "invalid value for %s: %s", key, value);
    return 0;
  }
  if (strcmp(key, "id") == 0)
    return set_str(&m->id, value), 0;
  if (strcmp(key, "sharing") == 0) {
    mtk_autofree char *v = lower_dup(value);
    for (size_t i = 0; i < 3; i++)
      if (strcmp(v, sharing[i]) == 0)
        return set_str(&m->sharing, v), 0;
    return suggest_err(err, value, sharing, 3, "unsupported sharing value \"%s\"", value);
  }
  if (strcmp(key, "mode") == 0 || strcmp(key, "uid") == 0 || strcmp(key, "gid") == 0)
    return mount_numeric(m, key, value, err);
  if (strcmp(key, "env") == 0) {
    m->has_env = true;
    return set_str(&m->env, value), 0;
  }
  return suggest_err(err, key, keys, sizeof(keys) / sizeof(keys[0]), "unexpected key '%s' in '%s'",
                     key, field);
}

/* The checks parseMount runs after the fields. */
static int mount_validate(struct mtk_instr_mount *m, bool ro_auto, struct mtk_err **err)
{
  const char *t = mount_types[m->type];
  bool file_info = m->type == MTK_INSTR_MOUNT_SECRET || m->type == MTK_INSTR_MOUNT_SSH ||
                   m->type == MTK_INSTR_MOUNT_CACHE;
  if (!file_info && m->has_mode)
    return mtk_err_set(err, MTK_E_BUILD, "mode not allowed for \"%s\" type mounts", t);
  if (!file_info && m->has_uid)
    return mtk_err_set(err, MTK_E_BUILD, "uid not allowed for \"%s\" type mounts", t);
  if (!file_info && m->has_gid)
    return mtk_err_set(err, MTK_E_BUILD, "gid not allowed for \"%s\" type mounts", t);
  if (ro_auto)
    m->readonly = !(m->type == MTK_INSTR_MOUNT_CACHE || m->type == MTK_INSTR_MOUNT_TMPFS);
  if (m->type == MTK_INSTR_MOUNT_SECRET) {
    if (m->from && *m->from)
      return mtk_err_set(err, MTK_E_BUILD, "secret mount should not have a from");
    if (m->sharing)
      return mtk_err_set(err, MTK_E_BUILD, "secret mount should not define sharing");
    bool src = m->source && *m->source, tgt = m->target && *m->target, id = m->id && *m->id;
    if (!src && !tgt && !id)
      return mtk_err_set(err, MTK_E_BUILD, "invalid secret mount. one of source, target required");
    if (src && id)
      return mtk_err_set(err, MTK_E_BUILD, "both source and id can't be set");
  }
  if (m->sharing && m->type != MTK_INSTR_MOUNT_CACHE)
    return mtk_err_set(err, MTK_E_BUILD, "invalid cache sharing set for %s mount", t);
  return 0;
}

/* parseMount: with exp NULL only `from` is looked at (a `$` in it, other
 * than last, is refused); with exp every value is expanded and checked. */
static int parse_mount(const char *val, mtk_instr_expand_cb exp, void *ud,
                       struct mtk_instr_mount *m, struct mtk_err **err)
{
  char **fields = NULL;
  size_t nf = 0;
  bool ro_auto = true;
  int rc = 0;
  memset(m, 0, sizeof(*m));
  m->spec = mtk_xstrdup(val);
  if (csv_fields(val, &fields, &nf, err) < 0) {
    strv_free(fields, nf);
    return mtk_err_wrap(err, "failed to parse csv mounts");
  }
  for (size_t i = 0; i < nf && rc == 0; i++) {
    char *eq = strchr(fields[i], '=');
    mtk_autofree char *key = lower_dup(fields[i]);
    if (eq)
      key[eq - fields[i]] = '\0';
    if (!eq) {
      if (exp)
        rc = mount_flag_field(m, key, fields[i], &ro_auto, err);
      continue;
    }
    mtk_autofree char *value = NULL;
    if (exp) {
      if ((value = exp(ud, eq + 1, err)) == NULL)
        rc = -1;
    } else if (strcmp(key, "from") == 0) {
      const char *d = strchr(eq + 1, '$');
      if (d && d[1] != '\0')
        rc = mtk_err_set(err, MTK_E_BUILD,
                         "'%s' doesn't support variable expansion, define "
                         "alias stage instead",
                         key);
      value = mtk_xstrdup(eq + 1);
    } else {
      continue;
    }
    if (rc == 0)
      rc = mount_kv(m, key, value, fields[i], &ro_auto, err);
  }
  strv_free(fields, nf);
  if (rc == 0)
    rc = mount_validate(m, ro_auto, err);
  return rc;
}

/* ------------------------------------------------------------ instructions */

static int parse_kvps(struct req *r, struct mtk_instr *in, const char *cmd, struct mtk_err **err)
{
  if (r->n_args == 0)
    return at_least_one(r, cmd, err);
  if (r->n_args % 3 != 0)
    return fail(r, err, "Bad input to %s, too many arguments", cmd);
  in->kvs = mtk_xcalloc(r->n_args / 3, sizeof(*in->kvs));
  for (size_t j = 0; j < r->n_args; j += 3) {
    if (r->args[j][0] == '\0')
      return fail(r, err, "%s names can not be blank", cmd);
    struct mtk_instr_kv *kv = &in->kvs[in->n_kvs++];
    kv->key = mtk_xstrdup(r->args[j]);
    kv->value = mtk_xstrdup(r->args[j + 1]);
    kv->no_delim = r->args[j + 2][0] == '\0';
  }
  return 0;
}

static int parse_env_label(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  if (bf_parse(&r->flags, err) < 0)
    return -1;
  return parse_kvps(r, in, in->kind == MTK_INSTR_ENV ? "ENV" : "LABEL", err);
}

static int parse_maintainer(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  if (r->n_args != 1)
    return exactly_one(r, "MAINTAINER", err);
  if (bf_parse(&r->flags, err) < 0)
    return -1;
  in->value = mtk_xstrdup(r->args[0]);
  return 0;
}

/* A source or destination word that is a heredoc ("<<EOF"): 1 and *h filled. */
static int heredoc_word(const char *w, struct mtk_df_heredoc *h)
{
  struct mtk_err *e = NULL;
  int r = mtk_df_parse_heredoc_word(w, h, &e);
  mtk_err_free(&e);
  return r > 0;
}

static void add_content(struct req *r, struct mtk_instr *in, const struct mtk_df_heredoc *h)
{
  const struct mtk_df_node *n = r->node;
  const char *data = "";
  size_t len = 0;
  /* heredocLookup: a map by name, so the last heredoc of that name wins. */
  for (size_t i = 0; i < n->n_heredocs; i++)
    if (strcmp(n->heredocs[i].name, h->name) == 0)
      data = n->heredocs[i].content, len = n->heredocs[i].content_len;
  in->files = mtk_xrealloc(in->files, (in->n_files + 1) * sizeof(*in->files));
  struct mtk_instr_file *f = &in->files[in->n_files++];
  memset(f, 0, sizeof(*f));
  f->name = mtk_xstrdup(h->name);
  f->expand = h->expand;
  f->chomp = h->chomp;
  if (h->chomp) {
    f->data = mtk_df_heredoc_chomp(data, len, &f->data_len);
  } else {
    f->data = mtk_xstrndup(data, len);
    f->data_len = len;
  }
}

/* parseSourcesAndDest */
static int sources_and_dest(struct req *r, struct mtk_instr *in, const char *cmd,
                            struct mtk_err **err)
{
  struct mtk_df_heredoc h;
  const char *dest = r->args[r->n_args - 1];
  if (heredoc_word(dest, &h)) {
    free(h.name);
    return fail(r, err, "%s cannot accept a heredoc as a destination", cmd);
  }
  in->dest = mtk_xstrdup(dest);
  for (size_t i = 0; i + 1 < r->n_args; i++) {
    if (heredoc_word(r->args[i], &h)) {
      add_content(r, in, &h);
      free(h.name);
    } else {
      strv_push(&in->args, &in->n_args, r->args[i]);
    }
  }
  if (in->args == NULL)
    in->args = mtk_xcalloc(1, sizeof(*in->args));
  return 0;
}

static void copy_strings(char ***dst, size_t *n, const struct flag *f)
{
  for (size_t i = 0; i < f->n_values; i++)
    strv_push(dst, n, f->values[i]);
}

static char *nonempty(const char *s)
{
  return s && *s ? mtk_xstrdup(s) : NULL;
}

static int parse_add(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  if (r->n_args < 2)
    return fail(r, err,
                "ADD requires at least two arguments, but only one was provided. "
                "Destination could not be determined");
  struct bflags *bf = &r->flags;
  struct flag *chown = bf_add(bf, "chown", F_STRING, ""),
              *chmod = bf_add(bf, "chmod", F_STRING, "");
  struct flag *link = bf_add(bf, "link", F_BOOL, "false");
  struct flag *keep = bf_add(bf, "keep-git-dir", F_BOOL, "false");
  struct flag *checksum = bf_add(bf, "checksum", F_STRING, "");
  struct flag *unpack = bf_add(bf, "unpack", F_BOOL, "false");
  struct flag *excl = bf_add(bf, "exclude", F_STRINGS, NULL);
  if (bf_parse(bf, err) < 0 || sources_and_dest(r, in, "ADD", err) < 0)
    return -1;
  in->chown = nonempty(chown->value);
  in->chmod = nonempty(chmod->value);
  in->checksum = nonempty(checksum->value);
  in->link = bf_true(link);
  in->keep_git_dir = keep->used ? bf_true(keep) : -1;
  in->unpack = unpack->used ? bf_true(unpack) : -1;
  copy_strings(&in->excludes, &in->n_excludes, excl);
  return 0;
}

static int parse_copy(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  if (r->n_args < 2)
    return fail(r, err,
                "COPY requires at least two arguments, but only one was provided. "
                "Destination could not be determined");
  struct bflags *bf = &r->flags;
  struct flag *chown = bf_add(bf, "chown", F_STRING, ""), *from = bf_add(bf, "from", F_STRING, "");
  struct flag *chmod = bf_add(bf, "chmod", F_STRING, "");
  struct flag *link = bf_add(bf, "link", F_BOOL, "false");
  struct flag *excl = bf_add(bf, "exclude", F_STRINGS, NULL);
  struct flag *parents = bf_add(bf, "parents", F_BOOL, "false");
  if (bf_parse(bf, err) < 0 || sources_and_dest(r, in, "COPY", err) < 0)
    return -1;
  in->from = nonempty(from->value);
  in->chown = nonempty(chown->value);
  in->chmod = nonempty(chmod->value);
  in->link = bf_true(link);
  in->parents = bf_true(parents);
  in->keep_git_dir = in->unpack = -1;
  copy_strings(&in->excludes, &in->n_excludes, excl);
  return 0;
}

/* ^[a-z][a-z0-9-_.]*$ */
static bool valid_stage_name(const char *s)
{
  if (!(*s >= 'a' && *s <= 'z'))
    return false;
  for (s++; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("-_.", *s)))
      return false;
  return true;
}

static int parse_from(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  if (r->n_args == 3 && ascii_ieq(r->args[1], "as")) {
    in->stage_name = lower_dup(r->args[2]);
    if (!valid_stage_name(in->stage_name))
      return fail(r, err,
                  "invalid name for build stage: \"%s\", name can't start with a "
                  "number or contain symbols",
                  r->args[2]);
  } else if (r->n_args != 1) {
    return fail(r, err, "FROM requires either one or three arguments");
  }
  struct flag *platform = bf_add(&r->flags, "platform", F_STRING, "");
  if (bf_parse(&r->flags, err) < 0)
    return -1;
  in->base = mtk_xstrdup(r->args[0]);
  in->platform = nonempty(platform->value);
  return 0;
}

/* (?i)^\s*ONBUILD\s* removed from the original, heredoc bodies appended. */
static int parse_onbuild(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  if (r->n_args == 0)
    return at_least_one(r, "ONBUILD", err);
  if (bf_parse(&r->flags, err) < 0)
    return -1;
  mtk_autofree char *trigger = upper_dup(r->args[0]);
  if (strcmp(trigger, "ONBUILD") == 0)
    return fail(r, err, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (strcmp(trigger, "MAINTAINER") == 0 || strcmp(trigger, "FROM") == 0)
    return fail(r, err, "%s isn't allowed as an ONBUILD trigger", trigger);
  const char *o = r->node->original;
  while (isspace((unsigned char) *o))
    o++;
  if (strncasecmp(o, "onbuild", 7) == 0)
    for (o += 7; isspace((unsigned char) *o);)
      o++;
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, o);
  for (size_t i = 0; i < r->node->n_heredocs; i++) {
    mtk_strbuf_addc(&sb, '\n');
    mtk_strbuf_add(&sb, r->node->heredocs[i].content, r->node->heredocs[i].content_len);
    mtk_strbuf_adds(&sb, r->node->heredocs[i].name);
  }
  in->value = mtk_strbuf_steal(&sb);
  return 0;
}

static int parse_one_value(struct req *r, struct mtk_instr *in, const char *cmd,
                           struct mtk_err **err)
{
  if (r->n_args != 1)
    return exactly_one(r, cmd, err);
  if (in->kind != MTK_INSTR_STOPSIGNAL && bf_parse(&r->flags, err) < 0)
    return -1;
  in->value = mtk_xstrdup(r->args[0]);
  return 0;
}

static void shell_files(struct req *r, struct mtk_instr *in)
{
  const struct mtk_df_node *n = r->node;
  if (n->n_heredocs == 0)
    return;
  in->files = mtk_xcalloc(n->n_heredocs, sizeof(*in->files));
  for (size_t i = 0; i < n->n_heredocs; i++) {
    struct mtk_instr_file *f = &in->files[in->n_files++];
    f->name = mtk_xstrdup(n->heredocs[i].name);
    f->data = mtk_xstrndup(n->heredocs[i].content, n->heredocs[i].content_len);
    f->data_len = n->heredocs[i].content_len;
    f->chomp = n->heredocs[i].chomp;
    f->expand = n->heredocs[i].expand;
  }
}

/* parseShellDependentCommand */
static void shell_dependent(struct req *r, struct mtk_instr *in)
{
  shell_files(r, in);
  json_args(r, in, 0);
  if (in->args == NULL && in->kind != MTK_INSTR_ENTRYPOINT)
    in->args = mtk_xcalloc(1, sizeof(*in->args));
  in->prepend_shell = !r->json;
}

static int parse_run(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  struct bflags *bf = &r->flags;
  struct flag *mount = bf_add(bf, "mount", F_STRINGS, NULL);
  struct flag *network = bf_add(bf, "network", F_STRING, "default");
  struct flag *security = bf_add(bf, "security", F_STRING, "sandbox");
  if (bf_parse(bf, err) < 0)
    return -1;
  for (size_t i = 0; i < bf->n_used; i++)
    strv_push(&in->flags_used, &in->n_flags_used, bf->used[i]);
  shell_dependent(r, in);
  if (mount->n_values)
    in->mounts = mtk_xcalloc(mount->n_values, sizeof(*in->mounts));
  for (size_t i = 0; i < mount->n_values; i++) {
    int rc = parse_mount(mount->values[i], NULL, NULL, &in->mounts[in->n_mounts++], err);
    if (rc < 0)
      return -1;
  }
  if (strcmp(network->value, "default") != 0 && strcmp(network->value, "none") != 0 &&
      strcmp(network->value, "host") != 0)
    return fail(r, err, "invalid network mode \"%s\"", network->value);
  if (strcmp(security->value, "sandbox") != 0 && strcmp(security->value, "insecure") != 0)
    return fail(r, err, "security \"%s\" is not valid", security->value);
  in->network = mtk_xstrdup(network->value);
  in->security = mtk_xstrdup(security->value);
  return 0;
}

static int parse_cmd_entrypoint(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  if (bf_parse(&r->flags, err) < 0)
    return -1;
  shell_dependent(r, in);
  return 0;
}

/* parseOptInterval */
static int opt_interval(const struct flag *f, int64_t *out, struct mtk_err **err)
{
  *out = 0;
  if (f->value[0] == '\0')
    return 0;
  if (mtk_instr_parse_duration(f->value, out, err) < 0)
    return -1;
  if (*out != 0 && *out < 1000000) {
    *out = 0;
    return mtk_err_set(err, MTK_E_BUILD, "Interval \"%s\" cannot be less than 1ms", f->name);
  }
  return 0;
}

static int health_cmd(struct req *r, struct mtk_instr *in, struct mtk_instr_health *h,
                      struct flag **fl, struct mtk_err **err)
{
  size_t n = in->n_args;
  json_args(r, in, 1);
  if (in->n_args == n)
    return fail(r, err, "Missing command after HEALTHCHECK CMD");
  strv_push(&h->test, &h->n_test, r->json ? "CMD" : "CMD-SHELL");
  for (size_t i = 0; i < in->n_args; i++)
    strv_push(&h->test, &h->n_test, in->args[i]);
  if (opt_interval(fl[0], &h->interval, err) < 0 || opt_interval(fl[1], &h->timeout, err) < 0 ||
      opt_interval(fl[2], &h->start_period, err) < 0 ||
      opt_interval(fl[3], &h->start_interval, err) < 0)
    return -1;
  if (fl[4]->value[0] == '\0')
    return 0;
  char *end;
  errno = 0;
  long long v = strtoll(fl[4]->value, &end, 10);
  if (*end || end == fl[4]->value || isspace((unsigned char) fl[4]->value[0]))
    return fail(r, err, "strconv.ParseInt: parsing \"%s\": invalid syntax", fl[4]->value);
  if (errno == ERANGE || v > INT32_MAX || v < INT32_MIN)
    return fail(r, err, "strconv.ParseInt: parsing \"%s\": value out of range", fl[4]->value);
  if (v < 0)
    return fail(r, err, "--retries cannot be negative (%lld)", v);
  h->retries = (int) v;
  return 0;
}

static int parse_healthcheck(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  if (r->n_args == 0)
    return at_least_one(r, "HEALTHCHECK", err);
  struct mtk_instr_health *h = in->health = mtk_xcalloc(1, sizeof(*h));
  mtk_autofree char *typ = upper_dup(r->args[0]);
  if (strcmp(typ, "NONE") == 0) {
    if (r->n_args != 1)
      return fail(r, err, "HEALTHCHECK NONE takes no arguments");
    strv_push(&h->test, &h->n_test, "NONE");
    return 0;
  }
  struct bflags *bf = &r->flags;
  struct flag *fl[5] = {bf_add(bf, "interval", F_STRING, ""), bf_add(bf, "timeout", F_STRING, ""),
                        bf_add(bf, "start-period", F_STRING, ""),
                        bf_add(bf, "start-interval", F_STRING, ""),
                        bf_add(bf, "retries", F_STRING, "")};
  if (bf_parse(bf, err) < 0)
    return -1;
  if (strcmp(typ, "CMD") != 0)
    return fail(r, err, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", typ);
  return health_cmd(r, in, h, fl, err);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *) a, *(char *const *) b);
}

static int parse_expose(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  if (r->n_args == 0)
    return at_least_one(r, "EXPOSE", err);
  if (bf_parse(&r->flags, err) < 0)
    return -1;
  for (size_t i = 0; i < r->n_args; i++)
    strv_push(&in->args, &in->n_args, r->args[i]);
  qsort(in->args, in->n_args, sizeof(*in->args), cmp_str);
  return 0;
}

static char *trim_dup(const char *s)
{
  while (isspace((unsigned char) *s))
    s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char) s[n - 1]))
    n--;
  return mtk_xstrndup(s, n);
}

static int parse_volume(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  if (r->n_args == 0)
    return at_least_one(r, "VOLUME", err);
  if (bf_parse(&r->flags, err) < 0)
    return -1;
  for (size_t i = 0; i < r->n_args; i++) {
    mtk_autofree char *v = trim_dup(r->args[i]);
    if (*v == '\0')
      return fail(r, err, "VOLUME specified can not be an empty string");
    strv_push(&in->args, &in->n_args, v);
  }
  return 0;
}

static int parse_arg(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  if (r->n_args < 1)
    return at_least_one(r, "ARG", err);
  in->kvs = mtk_xcalloc(r->n_args, sizeof(*in->kvs));
  for (size_t i = 0; i < r->n_args; i++) {
    const char *eq = strchr(r->args[i], '=');
    if (eq == r->args[i])
      return fail(r, err, "ARG names can not be blank");
    struct mtk_instr_kv *kv = &in->kvs[in->n_kvs++];
    kv->key = eq ? mtk_xstrndup(r->args[i], (size_t) (eq - r->args[i])) : mtk_xstrdup(r->args[i]);
    kv->value = eq ? mtk_xstrdup(eq + 1) : NULL;
  }
  return 0;
}

static int parse_shell(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  if (bf_parse(&r->flags, err) < 0)
    return -1;
  json_args(r, in, 0);
  if (in->n_args == 0)
    return at_least_one(r, "SHELL", err);
  if (!r->json)
    return fail(r, err, "SHELL requires the arguments to be in JSON form");
  return 0;
}

/* ------------------------------------------------------------ dispatch */

static const char *const kind_names[] = {
    "ADD",    "ARG",   "CMD",         "COPY",  "ENTRYPOINT", "ENV",
    "EXPOSE", "FROM",  "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD",
    "RUN",    "SHELL", "STOPSIGNAL",  "USER",  "VOLUME",     "WORKDIR"};

const char *mtk_instr_kind_name(enum mtk_instr_kind kind)
{
  return kind_names[kind];
}

bool mtk_instr_kind_from_name(const char *keyword, enum mtk_instr_kind *kind)
{
  for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
    if (ascii_ieq(keyword, kind_names[i])) {
      *kind = (enum mtk_instr_kind) i;
      return true;
    }
  return false;
}

static int parse_kind(struct req *r, struct mtk_instr *in, struct mtk_err **err)
{
  switch (in->kind) {
    case MTK_INSTR_ENV:
    case MTK_INSTR_LABEL:
      return parse_env_label(r, in, err);
    case MTK_INSTR_MAINTAINER:
      return parse_maintainer(r, in, err);
    case MTK_INSTR_ADD:
      return parse_add(r, in, err);
    case MTK_INSTR_COPY:
      return parse_copy(r, in, err);
    case MTK_INSTR_FROM:
      return parse_from(r, in, err);
    case MTK_INSTR_ONBUILD:
      return parse_onbuild(r, in, err);
    case MTK_INSTR_WORKDIR:
      return parse_one_value(r, in, "WORKDIR", err);
    case MTK_INSTR_USER:
      return parse_one_value(r, in, "USER", err);
    case MTK_INSTR_STOPSIGNAL:
      return parse_one_value(r, in, "STOPSIGNAL", err);
    case MTK_INSTR_RUN:
      return parse_run(r, in, err);
    case MTK_INSTR_CMD:
    case MTK_INSTR_ENTRYPOINT:
      return parse_cmd_entrypoint(r, in, err);
    case MTK_INSTR_HEALTHCHECK:
      return parse_healthcheck(r, in, err);
    case MTK_INSTR_EXPOSE:
      return parse_expose(r, in, err);
    case MTK_INSTR_VOLUME:
      return parse_volume(r, in, err);
    case MTK_INSTR_ARG:
      return parse_arg(r, in, err);
    case MTK_INSTR_SHELL:
      return parse_shell(r, in, err);
  }
  return 0;
}

static int unknown_instruction(const struct mtk_df_node *node, struct mtk_err **err)
{
  const char *names[sizeof(kind_names) / sizeof(kind_names[0])];
  size_t n = sizeof(kind_names) / sizeof(kind_names[0]);
  for (size_t i = 0; i < n; i++)
    names[i] = kind_names[i];
  mtk_autofree char *s = mtk_instr_suggest(node->value, names, n, false);
  if (s)
    return mtk_err_set(err, MTK_E_BUILD, "unknown instruction: %s (did you mean %s?)", node->value,
                       s);
  return mtk_err_set(err, MTK_E_BUILD, "unknown instruction: %s", node->value);
}

static void position(struct mtk_err **err, const char *file, int line)
{
  if (err == NULL || *err == NULL || (*err)->line > 0)
    return;
  if (file && (*err)->file == NULL)
    (*err)->file = mtk_xstrdup(file);
  (*err)->line = line;
}

struct mtk_instr *mtk_instr_parse(const struct mtk_df_node *node, const char *file,
                                  struct mtk_err **err)
{
  enum mtk_instr_kind kind;
  if (!mtk_instr_kind_from_name(node->value, &kind)) {
    unknown_instruction(node, err);
    position(err, file, node->start_line);
    return NULL;
  }
  mtk_autoptr(mtk_instr) in = mtk_xcalloc(1, sizeof(*in));
  in->kind = kind;
  in->node = node;
  in->name = mtk_xstrdup(node->value);
  in->code = trim_dup(node->original ? node->original : "");
  in->start_line = node->start_line;
  in->end_line = node->end_line;
  in->json = node->json;
  in->keep_git_dir = in->unpack = -1;
  for (size_t i = 0; i < node->n_prev_comment; i++)
    strv_push(&in->comments, &in->n_comments, node->prev_comment[i]);
  struct req r;
  req_init(&r, node, file);
  int rc = parse_kind(&r, in, err);
  req_free(&r);
  if (rc < 0) {
    position(err, file, node->start_line);
    return NULL;
  }
  return mtk_steal_ptr(&in);
}

/* ------------------------------------------------------------ expansion */

static int expand_str(char **s, mtk_instr_expand_cb cb, void *ud, struct mtk_err **err)
{
  if (*s == NULL)
    return 0;
  char *v = cb(ud, *s, err);
  if (v == NULL)
    return -1;
  free(*s);
  *s = v;
  return 0;
}

/* Like expand_str, for a flag that BuildKit expands even when it is empty
 * (so that its variables are looked up): NULL stays NULL. */
static int expand_strv(char **v, size_t n, mtk_instr_expand_cb cb, void *ud, struct mtk_err **err)
{
  for (size_t i = 0; i < n; i++)
    if (expand_str(&v[i], cb, ud, err) < 0)
      return -1;
  return 0;
}

static int expand_mounts(struct mtk_instr *in, mtk_instr_expand_cb cb, void *ud,
                         struct mtk_err **err)
{
  for (size_t i = 0; i < in->n_mounts; i++) {
    struct mtk_instr_mount m;
    mtk_autofree char *spec = mtk_xstrdup(in->mounts[i].spec);
    if (parse_mount(spec, cb, ud, &m, err) < 0) {
      mount_clear(&m);
      return -1;
    }
    mount_clear(&in->mounts[i]);
    in->mounts[i] = m;
  }
  return 0;
}

static int expand_copy(struct mtk_instr *in, mtk_instr_expand_cb word, mtk_instr_expand_cb raw,
                       void *ud, struct mtk_err **err)
{
  if (expand_str(&in->chown, word, ud, err) < 0 || expand_str(&in->chmod, word, ud, err) < 0)
    return -1;
  if (in->kind == MTK_INSTR_ADD && expand_str(&in->checksum, word, ud, err) < 0)
    return -1;
  if (expand_strv(in->args, in->n_args, word, ud, err) < 0 ||
      expand_str(&in->dest, word, ud, err) < 0)
    return -1;
  for (size_t i = 0; raw && i < in->n_files; i++) {
    if (!in->files[i].expand)
      continue;
    if (expand_str(&in->files[i].data, raw, ud, err) < 0)
      return -1;
    in->files[i].data_len = strlen(in->files[i].data);
  }
  return 0;
}

int mtk_instr_expand(struct mtk_instr *in, mtk_instr_expand_cb word, mtk_instr_expand_cb raw,
                     void *ud, struct mtk_err **err)
{
  switch (in->kind) {
    case MTK_INSTR_ENV:
    case MTK_INSTR_LABEL:
      for (size_t i = 0; i < in->n_kvs; i++)
        if (expand_str(&in->kvs[i].key, word, ud, err) < 0 ||
            expand_str(&in->kvs[i].value, word, ud, err) < 0)
          return -1;
      return 0;
    case MTK_INSTR_ADD:
    case MTK_INSTR_COPY:
      return expand_copy(in, word, raw, ud, err);
    case MTK_INSTR_WORKDIR:
    case MTK_INSTR_USER:
    case MTK_INSTR_STOPSIGNAL:
      return expand_str(&in->value, word, ud, err);
    case MTK_INSTR_VOLUME:
      return expand_strv(in->args, in->n_args, word, ud, err);
    case MTK_INSTR_RUN:
      return expand_mounts(in, word, ud, err);
    default:
      return 0;
  }
}

/* ------------------------------------------------------------ free */

void mtk_instr_free(struct mtk_instr *in)
{
  if (in == NULL)
    return;
  free(in->name);
  free(in->code);
  strv_free(in->comments, in->n_comments);
  free(in->base);
  free(in->stage_name);
  free(in->platform);
  strv_free(in->args, in->n_args);
  for (size_t i = 0; i < in->n_files; i++) {
    free(in->files[i].name);
    free(in->files[i].data);
  }
  free(in->files);
  for (size_t i = 0; i < in->n_mounts; i++)
    mount_clear(&in->mounts[i]);
  free(in->mounts);
  free(in->network);
  free(in->security);
  strv_free(in->flags_used, in->n_flags_used);
  for (size_t i = 0; i < in->n_kvs; i++) {
    free(in->kvs[i].key);
    free(in->kvs[i].value);
  }
  free(in->kvs);
  free(in->dest);
  free(in->from);
  free(in->chown);
  free(in->chmod);
  free(in->checksum);
  strv_free(in->excludes, in->n_excludes);
  free(in->value);
  if (in->health)
    strv_free(in->health->test, in->health->n_test);
  free(in->health);
  free(in);
}
