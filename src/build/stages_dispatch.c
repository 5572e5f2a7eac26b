/* The dispatch of each stage's instructions, after BuildKit's
 * dockerfile2llb dispatch (convert.go dispatch, dispatchArg, dispatchEnv,
 * dispatchRun, dispatchWorkdir, dispatchCmd; convert_copy.go dispatchCopy's
 * checks; convert_expose.go): words expanded with the stage's ARG/ENV
 * environment where BuildKit expands them (a variable an unknown base image
 * may set is left as written, with a note), the environment updated in
 * order, the checks that need it reported (UndefinedVar, WorkdirRelativePath,
 * JSONArgsRecommended, MultipleInstructionsDisallowed, LegacyKeyValueFormat,
 * SecretsUsedInArgOrEnv, CopyIgnoredFile, Expose*), and each instruction
 * rendered as the builder will see it. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "build/ignore.h"
#include "build/stages_int.h"
#include "util/strbuf.h"

/* ------------------------------------------------------------ expansion */

static const char *const non_env_args[] = {"BUILDKIT_SBOM_SCAN_CONTEXT",
                                           "BUILDKIT_SBOM_SCAN_STAGE"};

static bool non_env(const char *k)
{
  return strcmp(k, non_env_args[0]) == 0 || strcmp(k, non_env_args[1]) == 0;
}

struct xp {
  struct ctx *x;
  struct state *d;
  const struct mtk_instr *cmd;
  struct mtk_strmap *unknown; /* names left for the builder (unknown base environment),
                                with a suggestion among the names set, or NULL */
};

/* reportUnmatchedVariables */
static void report_undefined(struct xp *p, const struct mtk_strmap *unmatched)
{
  const struct state *d = p->d;
  for (size_t i = 0; i < unmatched->len; i++) {
    const char *k = unmatched->keys[i];
    if (mtk_stages_strv_has(d->declared, d->n_declared, k) || non_env(k))
      continue;
    mtk_autofree char *s =
        mtk_instr_suggest(k, (const char *const *) d->env.keys, d->env.len, true);
    if (!d->env_known) {
      /* PATH is always set (BuildKit adds a default one when the image has none). */
      if (strcmp(k, "PATH") != 0 && !mtk_strmap_has(p->unknown, k))
        mtk_strmap_set(p->unknown, k, s);
      continue;
    }
    mtk_check_report(p->x->lint, MTK_CHECK_UNDEFINED_VAR, p->cmd->comments, p->cmd->n_comments,
                     p->cmd->start_line, p->cmd->end_line,
                     "Usage of undefined variable '$%s'%s%s%s", k, s ? " (did you mean $" : "",
                     s ? s : "", s ? "?)" : "");
  }
}

static bool left_for_builder(const struct state *d, const struct mtk_strmap *unmatched)
{
  if (d->env_known)
    return false;
  for (size_t i = 0; i < unmatched->len; i++)
    if (!mtk_stages_strv_has(d->declared, d->n_declared, unmatched->keys[i]) &&
        !non_env(unmatched->keys[i]))
      return true;
  return false;
}

/* ProcessWord with the stage's environment.  When the base image's ENV is
 * unknown, a name the Dockerfile does not set is kept as written. */
static char *expand_with(struct xp *p, struct mtk_shlex *lex, const char *word,
                         struct mtk_err **err)
{
  mtk_autostrmap unmatched = MTK_STRMAP_INIT;
  struct mtk_err *e = NULL;
  char *v = mtk_shlex_word_ex(lex, word, &p->d->env, NULL, &unmatched, &e);
  report_undefined(p, &unmatched);
  if (!left_for_builder(p->d, &unmatched)) {
    if (v == NULL)
      *err = e;
    return v;
  }
  free(v);
  mtk_err_free(&e);
  unsigned fl = mtk_shlex_flags(lex);
  mtk_shlex_set_flags(lex, fl | MTK_SHLEX_SKIP_UNSET_ENV);
  v = mtk_shlex_word(lex, word, &p->d->env, err);
  mtk_shlex_set_flags(lex, fl);
  return v;
}

static char *xp_word(void *ud, const char *word, struct mtk_err **err)
{
  struct xp *p = ud;
  return expand_with(p, p->x->lex, word, err);
}

static char *xp_raw(void *ud, const char *word, struct mtk_err **err)
{
  struct xp *p = ud;
  return expand_with(p, p->x->raw_lex, word, err);
}

/* ------------------------------------------------------------ dispatch */

struct disp {
  struct ctx *x;
  struct state *d;
  struct cmd *c;
  struct mtk_plan_step *step;
  struct mtk_strmap unknown; /* see struct xp */
};

static void report(struct disp *q, enum mtk_check_rule rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void report(struct disp *q, enum mtk_check_rule rule, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  mtk_autofree char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    abort();
  va_end(ap);
  const struct mtk_instr *in = q->c->in;
  mtk_check_report(q->x->lint, rule, in->comments, in->n_comments, in->start_line, in->end_line,
                   "%s", msg);
}

static void secret_key(struct disp *q, const char *instruction, const char *key)
{
  if (mtk_check_is_secret_key(key))
    report(q, MTK_CHECK_SECRETS_USED_IN_ARG_OR_ENV,
           "Do not use ARG or ENV instructions for sensitive data (%s \"%s\")", instruction, key);
}

static void dispatch_env(struct disp *q)
{
  struct mtk_instr *in = q->c->in;
  for (size_t i = 0; i < in->n_kvs; i++) {
    if (in->kvs[i].no_delim)
      report(q, MTK_CHECK_LEGACY_KEY_VALUE_FORMAT,
             "\"%s key=value\" should be used instead of "
             "legacy \"%s key value\" format",
             in->name, in->name);
    if (in->kind == MTK_INSTR_ENV) {
      secret_key(q, "ENV", in->kvs[i].key);
      mtk_strmap_set(&q->d->env, in->kvs[i].key, in->kvs[i].value);
    }
  }
}

/* dispatchArg */
static int dispatch_arg(struct disp *q, struct mtk_err **err)
{
  struct mtk_instr *in = q->c->in;
  struct state *d = q->d;
  for (size_t i = 0; i < in->n_kvs; i++) {
    struct mtk_instr_kv *kv = &in->kvs[i];
    secret_key(q, "ARG", kv->key);
    bool given = false, global = false;
    const char *bv = mtk_strmap_get(&q->x->build_args, kv->key, &given);
    const char *gv = mtk_strmap_get(&q->x->global, kv->key, &global);
    if (given) {
      free(kv->value);
      kv->value = mtk_xstrdup(bv);
    } else if (kv->value) {
      struct xp p = {q->x, d, in, &q->unknown};
      char *v = expand_with(&p, q->x->lex, kv->value, err);
      if (v == NULL)
        return -1;
      free(kv->value);
      kv->value = v;
    } else if (global) {
      kv->value = mtk_xstrdup(gv);
    }
    if (kv->value && !non_env(kv->key))
      mtk_strmap_set(&d->env, kv->key, kv->value);
    mtk_stages_strv_push(&d->declared, &d->n_declared, kv->key);
  }
  return 0;
}

static void used_once(struct disp *q, struct tracker *t)
{
  const struct mtk_instr *in = q->c->in;
  if (t->set)
    mtk_check_report(q->x->lint, MTK_CHECK_MULTIPLE_INSTRUCTIONS_DISALLOWED, t->comments,
                     t->n_comments, t->line, t->end_line,
                     "Multiple %s instructions should not "
                     "be used in the same stage because only the last one will be used",
                     in->name);
  mtk_stages_tracker_free(t);
  t->set = true;
  t->line = in->start_line;
  t->end_line = in->end_line;
  t->comments = NULL;
  t->n_comments = 0;
  for (size_t i = 0; i < in->n_comments; i++)
    mtk_stages_strv_push(&t->comments, &t->n_comments, in->comments[i]);
}

/* withShell: the image's SHELL (default /bin/sh -c) and the joined command. */
static void with_shell(struct disp *q, char **args, size_t n)
{
  struct mtk_plan_step *s = q->step;
  if (q->d->n_shell) {
    for (size_t i = 0; i < q->d->n_shell; i++)
      mtk_stages_strv_push(&s->exec, &s->n_exec, q->d->shell[i]);
  } else {
    mtk_stages_strv_push(&s->exec, &s->n_exec, "/bin/sh");
    mtk_stages_strv_push(&s->exec, &s->n_exec, "-c");
  }
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "");
  for (size_t i = 0; i < n; i++) {
    if (i)
      mtk_strbuf_addc(&sb, ' ');
    mtk_strbuf_adds(&sb, args[i]);
  }
  mtk_stages_strv_push(&s->exec, &s->n_exec, sb.buf);
}

static void exec_form(struct disp *q)
{
  struct mtk_instr *in = q->c->in;
  if (in->prepend_shell) {
    with_shell(q, in->args, in->n_args);
    return;
  }
  for (size_t i = 0; i < in->n_args; i++)
    mtk_stages_strv_push(&q->step->exec, &q->step->n_exec, in->args[i]);
  if (q->step->exec == NULL)
    q->step->exec = mtk_xcalloc(1, sizeof(char *));
}

static int dispatch_cmd(struct disp *q)
{
  struct mtk_instr *in = q->c->in;
  used_once(q, in->kind == MTK_INSTR_CMD ? &q->d->cmd_t : &q->d->entrypoint_t);
  if (in->prepend_shell && q->d->n_shell == 0)
    report(q, MTK_CHECK_JSON_ARGS_RECOMMENDED,
           "JSON arguments recommended for %s to prevent "
           "unintended behavior related to OS signals",
           in->name);
  exec_form(q);
  return 0;
}

/* dispatchRun: a lone heredoc is the command (or a script, run by path, when
 * it starts with #!); several are handed to the shell with the command. */
static int dispatch_run(struct disp *q, struct mtk_err **err)
{
  struct mtk_instr *in = q->c->in;
  for (size_t i = 0; i < in->n_mounts && i < q->c->n_sources; i++) {
    size_t s = q->c->sources[i];
    if (in->mounts[i].from && s != NONE && !q->x->states[s].dispatched)
      return mtk_stages_fail_at(err, q->x->file, in->start_line,
                                "cannot mount from stage \"%s\" to \"%s\", "
                                "stage needs to be defined before current command",
                                in->mounts[i].from,
                                in->mounts[i].target ? in->mounts[i].target : "");
  }
  if (in->n_files == 0) {
    exec_form(q);
    return 0;
  }
  if (in->n_args != 1 || !in->prepend_shell)
    return mtk_stages_fail_at(err, q->x->file, in->start_line,
                              "parsing produced an invalid run command");
  struct mtk_df_heredoc h;
  struct mtk_err *e = NULL;
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "");
  if (mtk_df_parse_heredoc_word(in->args[0], &h, &e) > 0) {
    free(h.name);
    const struct mtk_instr_file *f = &in->files[0];
    mtk_autofree char *data =
        f->chomp ? mtk_df_heredoc_chomp(f->data, f->data_len, NULL) : mtk_xstrdup(f->data);
    if (strncmp(data, "#!", 2) == 0)
      mtk_strbuf_addf(&sb, "/dev/pipes/%s", f->name);
    else
      mtk_strbuf_adds(&sb, data);
  } else {
    mtk_err_free(&e);
    mtk_strbuf_adds(&sb, in->args[0]);
    for (size_t i = 0; i < in->n_files; i++) {
      mtk_strbuf_addc(&sb, '\n');
      mtk_strbuf_adds(&sb, in->files[i].data);
      mtk_strbuf_adds(&sb, in->files[i].name);
    }
  }
  with_shell(q, &sb.buf, 1);
  return 0;
}

static void dispatch_workdir(struct disp *q)
{
  struct mtk_instr *in = q->c->in;
  if (!q->d->workdir_set && in->value[0] != '/')
    report(q, MTK_CHECK_WORKDIR_RELATIVE_PATH,
           "Relative workdir \"%s\" can have unexpected "
           "results if the base image changes",
           in->value);
  q->d->workdir_set = true;
}

/* ------------------------------------------------------------ EXPOSE */

/* parsePortNumber */
static int port_number(const char *s, size_t n, int *out, const char **why)
{
  long v = 0;
  size_t i = 0;
  if (n == 0)
    return *why = "value is empty", -1;
  if (s[0] == '+' || s[0] == '-')
    i = 1;
  if (i == n)
    return *why = "invalid syntax", -1;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return *why = "invalid syntax", -1;
    if (v < 1000000)
      v = v * 10 + (s[i] - '0');
  }
  if (s[0] == '-')
    v = -v;
  if (v < 0 || v > 65535)
    return *why = "value out of range (0\xe2\x80\x93"
                  "65535)",
           -1;
  *out = (int) v;
  return 0;
}

static int port_range(const char *s, int *start, int *end)
{
  const char *why;
  if (*s == '\0')
    return -1;
  const char *dash = strchr(s, '-');
  size_t n1 = dash ? (size_t) (dash - s) : strlen(s);
  if (port_number(s, n1, start, &why) < 0)
    return -1;
  if (!dash || (strlen(dash + 1) == n1 && strncmp(s, dash + 1, n1) == 0)) {
    *end = *start;
    return 0;
  }
  if (port_number(dash + 1, strlen(dash + 1), end, &why) < 0 || *end < *start)
    return -1;
  return 0;
}

static bool valid_ip(const char *ip)
{
  unsigned char buf[16];
  char tmp[64];
  if (ip[0] == '[') {
    size_t n = strlen(ip);
    if (n < 2 || ip[n - 1] != ']' || n - 2 >= sizeof(tmp))
      return false;
    memcpy(tmp, ip + 1, n - 2);
    tmp[n - 2] = '\0';
    ip = tmp;
  }
  return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

/* parsePort: "[ip:][hostPort:]containerPort[/proto]" -> "port/proto" entries. */
static int expose_port(struct disp *q, const char *raw, struct mtk_err **err)
{
  mtk_autofree char *copy = mtk_xstrdup(raw);
  char *last = strrchr(copy, ':'), *host = NULL, *ip = NULL;
  char *container = last ? last + 1 : copy;
  if (last) {
    *last = '\0';
    char *prev = strrchr(copy, ':');
    host = prev ? prev + 1 : copy;
    if (prev)
      *prev = '\0', ip = copy;
  }
  char *slash = strchr(container, '/');
  const char *proto = slash ? slash + 1 : "";
  if (slash)
    *slash = '\0';
  if (*container == '\0')
    return mtk_err_set(err, MTK_E_BUILD, "invalid port: \"%s\": no port specified", raw);
  if (*proto && strcasecmp(proto, "tcp") && strcasecmp(proto, "udp") && strcasecmp(proto, "sctp"))
    return mtk_err_set(err, MTK_E_BUILD, "invalid port: \"%s\": invalid proto: %s", raw, proto);
  mtk_autofree char *lproto = mtk_stages_lower_dup(*proto ? proto : "tcp");
  if (strcmp(lproto, *proto ? proto : "tcp") != 0)
    report(q, MTK_CHECK_EXPOSE_PROTO_CASING,
           "Defined protocol '%s' in EXPOSE instruction "
           "should be lowercase",
           raw);
  if ((ip && *ip) || (host && *host))
    report(q, MTK_CHECK_EXPOSE_INVALID_FORMAT,
           "EXPOSE instruction should not define an IP "
           "address or host-port mapping, found '%s'",
           raw);
  if (ip && *ip && !valid_ip(ip))
    return mtk_err_set(err, MTK_E_BUILD, "invalid IP address: %s", ip);
  int s, e, hs, he;
  if (port_range(container, &s, &e) < 0)
    return mtk_err_set(err, MTK_E_BUILD, "invalid containerPort: %s", container);
  if (host && *host) {
    if (port_range(host, &hs, &he) < 0)
      return mtk_err_set(err, MTK_E_BUILD, "invalid hostPort: %s", host);
    if (e - s != he - hs && e != s)
      return mtk_err_set(err, MTK_E_BUILD,
                         "invalid ranges specified for container and host "
                         "Ports: %s and %s",
                         container, host);
  }
  for (int p = s; p <= e; p++) {
    mtk_autofree char *pp = mtk_xasprintf("%d/%s", p, lproto);
    mtk_stages_strv_push(&q->step->ports, &q->step->n_ports, pp);
  }
  return 0;
}

/* One EXPOSE word: expanded and split (ProcessWords), each part parsed.
 * With an unknown base environment a word naming an unset variable is kept. */
static int expose_word(struct disp *q, const char *word, char ***words, size_t *nw,
                       struct mtk_err **err)
{
  mtk_autostrmap unmatched = MTK_STRMAP_INIT;
  mtk_autofree char *w = mtk_shlex_word_ex(q->x->lex, word, &q->d->env, NULL, &unmatched, NULL);
  if (left_for_builder(q->d, &unmatched)) {
    for (size_t k = 0; k < unmatched.len; k++)
      if (strcmp(unmatched.keys[k], "PATH") != 0)
        mtk_strmap_set_default(&q->unknown, unmatched.keys[k], NULL);
    mtk_stages_strv_push(words, nw, word);
    return 0;
  }
  size_t n = 0;
  char **ws = mtk_shlex_words(q->x->lex, word, &q->d->env, &n, err);
  if (ws == NULL)
    return -1;
  int rc = 0;
  for (size_t k = 0; k < n && rc == 0; k++)
    if ((rc = expose_port(q, ws[k], err)) == 0)
      mtk_stages_strv_push(words, nw, ws[k]);
  mtk_shlex_words_free(ws);
  return rc;
}

static int dispatch_expose(struct disp *q, struct mtk_err **err)
{
  struct mtk_instr *in = q->c->in;
  char **words = NULL;
  size_t nw = 0;
  for (size_t i = 0; i < in->n_args; i++)
    if (expose_word(q, in->args[i], &words, &nw, err) < 0) {
      mtk_stages_strv_free(words, nw);
      return mtk_stages_at(err, q->x->file, in->start_line);
    }
  mtk_stages_strv_free(in->args, in->n_args);
  in->args = words ? words : mtk_xcalloc(1, sizeof(char *));
  in->n_args = nw;
  return 0;
}

/* ------------------------------------------------------------ COPY / ADD */

static bool is_http(const char *s)
{
  return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* A source BuildKit's dfgitutil takes for a Git repository (the common
 * forms; "github.com/x/y" without a scheme stays a local path). */
static bool is_git(const char *s)
{
  if (strncmp(s, "git://", 6) == 0 || strncmp(s, "git@", 4) == 0 || strncmp(s, "ssh://", 6) == 0)
    return true;
  if (!is_http(s))
    return false;
  const char *frag = strchr(s, '#');
  size_t n = frag ? (size_t) (frag - s) : strlen(s);
  return n > 4 && strncmp(s + n - 4, ".git", 4) == 0;
}

static bool root_ignored(const struct mtk_ignore *m)
{
  for (size_t i = 0; i < mtk_ignore_len(m); i++) {
    bool exc;
    const char *p = mtk_ignore_pattern(m, i, &exc);
    if (!exc && (!strcmp(p, "*") || !strcmp(p, "**") || !strcmp(p, "**/*")))
      return true;
  }
  return false;
}

/* validateCopySourcePath: CopyIgnoredFile. */
static void copy_ignored(struct disp *q, const char *src)
{
  const struct mtk_ignore *m = q->x->o->ignore;
  if (m == NULL || mtk_ignore_has_exceptions(m))
    return;
  const char *what = q->c->in->kind == MTK_INSTR_ADD ? "Add" : "Copy";
  mtk_autofree char *clean = mtk_ignore_clean_path(src);
  bool excluded = false;
  struct mtk_err *e = NULL;
  if (strcmp(clean, ".") == 0)
    excluded = root_ignored(m);
  else if (mtk_ignore_matches(m, clean, &excluded, &e) < 0)
    mtk_err_free(&e), excluded = false;
  if (excluded)
    report(q, MTK_CHECK_COPY_IGNORED_FILE,
           "Attempting to %s file \"%s\" that is excluded by "
           ".dockerignore",
           what, clean);
}

/* digest.Parse for ADD --checksum of a URL. */
static int check_digest(const char *d, struct mtk_err **err)
{
  static const struct {
    const char *alg;
    size_t hex;
  } algs[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
  const char *colon = strchr(d, ':');
  if (colon == NULL || colon == d || colon[1] == '\0')
    return mtk_err_set(err, MTK_E_BUILD, "invalid checksum digest format");
  for (size_t i = 0; i < 3; i++)
    if (strlen(algs[i].alg) == (size_t) (colon - d) &&
        !strncmp(d, algs[i].alg, algs[i].hex ? (size_t) (colon - d) : 0)) {
      if (strlen(colon + 1) != algs[i].hex || strspn(colon + 1, "0123456789abcdef") != algs[i].hex)
        return mtk_err_set(err, MTK_E_BUILD, "invalid checksum digest length");
      return 0;
    }
  return mtk_err_set(err, MTK_E_BUILD, "unsupported digest algorithm");
}

static int copy_sources(struct disp *q, bool add, struct mtk_err **err)
{
  struct mtk_instr *in = q->c->in;
  for (size_t i = 0; i < in->n_args; i++) {
    const char *src = in->args[i];
    if (is_git(src)) {
      if (!add)
        return mtk_err_set(err, MTK_E_BUILD, "source can't be a git ref for COPY");
    } else if (is_http(src)) {
      if (!add)
        return mtk_err_set(err, MTK_E_BUILD, "source can't be a URL for COPY");
      if (in->checksum && check_digest(in->checksum, err) < 0)
        return -1;
    } else if (q->c->n_sources == 0) {
      copy_ignored(q, src);
    }
  }
  return 0;
}

/* dispatchCopy's checks (what the builder would refuse before copying). */
static int dispatch_copy(struct disp *q, struct mtk_err **err)
{
  struct mtk_instr *in = q->c->in;
  bool add = in->kind == MTK_INSTR_ADD;
  if (!add && q->c->n_sources) {
    const struct state *src = &q->x->states[q->c->sources[0]];
    if (!src->dispatched)
      return mtk_stages_fail_at(err, q->x->file, in->start_line,
                                "cannot copy from stage \"%s\", it needs "
                                "to be defined before current stage \"%s\"",
                                in->from, q->d->stage_name);
  }
  if (in->chmod && mtk_instr_check_chmod(in->chmod, err) < 0)
    return mtk_stages_at(err, q->x->file, in->start_line);
  if (in->checksum) {
    if (in->n_args != 1)
      return mtk_stages_fail_at(err, q->x->file, in->start_line,
                                "checksum can't be specified for multiple sources");
    if (!is_http(in->args[0]) && !is_git(in->args[0]))
      return mtk_stages_fail_at(err, q->x->file, in->start_line,
                                "checksum requires HTTP(S) or Git sources");
  }
  if (copy_sources(q, add, err) < 0)
    return mtk_stages_at(err, q->x->file, in->start_line);
  return 0;
}

/* ------------------------------------------------------------ rendering */

static void add_json_str(struct mtk_strbuf *sb, const char *s)
{
  mtk_strbuf_addc(sb, '"');
  for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
    if (*p == '"' || *p == '\\')
      mtk_strbuf_addf(sb, "\\%c", *p);
    else if (*p == '\n')
      mtk_strbuf_adds(sb, "\\n");
    else if (*p == '\t')
      mtk_strbuf_adds(sb, "\\t");
    else if (*p < 0x20)
      mtk_strbuf_addf(sb, "\\u%04x", *p);
    else
      mtk_strbuf_addc(sb, (char) *p);
  }
  mtk_strbuf_addc(sb, '"');
}

static void add_json_list(struct mtk_strbuf *sb, char *const *v, size_t n)
{
  mtk_strbuf_addc(sb, '[');
  for (size_t i = 0; i < n; i++) {
    if (i)
      mtk_strbuf_adds(sb, ", ");
    add_json_str(sb, v[i]);
  }
  mtk_strbuf_addc(sb, ']');
}

/* A value quoted only when it would not read back as one word. */
static void add_word(struct mtk_strbuf *sb, const char *s)
{
  if (*s && !strpbrk(s, " \t\n\"'\\$`"))
    mtk_strbuf_adds(sb, s);
  else
    add_json_str(sb, s);
}

static void add_flag(struct mtk_strbuf *sb, const char *name, const char *v)
{
  if (v)
    mtk_strbuf_addf(sb, " --%s=%s", name, v);
}

static void render_copy(struct mtk_strbuf *sb, const struct mtk_instr *in)
{
  add_flag(sb, "from", in->from);
  add_flag(sb, "chown", in->chown);
  add_flag(sb, "chmod", in->chmod);
  add_flag(sb, "checksum", in->checksum);
  if (in->keep_git_dir >= 0)
    mtk_strbuf_addf(sb, " --keep-git-dir=%s", in->keep_git_dir ? "true" : "false");
  if (in->unpack >= 0)
    mtk_strbuf_addf(sb, " --unpack=%s", in->unpack ? "true" : "false");
  if (in->link)
    mtk_strbuf_adds(sb, " --link");
  if (in->parents)
    mtk_strbuf_adds(sb, " --parents");
  for (size_t i = 0; i < in->n_excludes; i++)
    add_flag(sb, "exclude", in->excludes[i]);
  for (size_t i = 0; i < in->n_args; i++)
    mtk_strbuf_addf(sb, " %s", in->args[i]);
  for (size_t i = 0; i < in->n_files; i++)
    mtk_strbuf_addf(sb, " <<%s", in->files[i].name);
  mtk_strbuf_addf(sb, " %s", in->dest);
}

/* summarizeHeredoc: the first line of the body, "..." when there are more. */
static void add_heredoc_summary(struct mtk_strbuf *sb, const struct mtk_instr_file *f)
{
  const char *s = f->data;
  while (isspace((unsigned char) *s))
    s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char) s[n - 1]))
    n--;
  size_t first = strcspn(s, "\r\n");
  mtk_strbuf_adds(sb, " (");
  mtk_strbuf_add(sb, s, first < n ? first : n);
  mtk_strbuf_adds(sb, first < n ? "...)" : ")");
}

static void render_command(struct mtk_strbuf *sb, const struct mtk_instr *in)
{
  if (in->kind == MTK_INSTR_RUN) {
    for (size_t i = 0; i < in->n_mounts; i++)
      add_flag(sb, "mount", in->mounts[i].spec);
    if (mtk_stages_strv_has(in->flags_used, in->n_flags_used, "network"))
      add_flag(sb, "network", in->network);
    if (mtk_stages_strv_has(in->flags_used, in->n_flags_used, "security"))
      add_flag(sb, "security", in->security);
  }
  mtk_strbuf_addc(sb, ' ');
  if (in->json)
    add_json_list(sb, in->args, in->n_args);
  else if (in->n_args)
    mtk_strbuf_adds(sb, in->args[0]);
  if (in->n_files == 1)
    add_heredoc_summary(sb, &in->files[0]);
}

static void render_kvs(struct mtk_strbuf *sb, const struct mtk_instr *in)
{
  for (size_t i = 0; i < in->n_kvs; i++) {
    mtk_strbuf_addc(sb, ' ');
    add_word(sb, in->kvs[i].key);
    if (in->kvs[i].value) {
      mtk_strbuf_addc(sb, '=');
      add_word(sb, in->kvs[i].value);
    }
  }
}

static void render_health(struct mtk_strbuf *sb, const struct mtk_instr *in)
{
  const struct mtk_instr_health *h = in->health;
  if (strcmp(h->test[0], "NONE") == 0) {
    mtk_strbuf_adds(sb, " NONE");
    return;
  }
  for (size_t i = 0; i < in->node->n_flags; i++)
    mtk_strbuf_addf(sb, " %s", in->node->flags[i].s);
  mtk_strbuf_adds(sb, " CMD ");
  if (strcmp(h->test[0], "CMD") == 0)
    add_json_list(sb, h->test + 1, h->n_test - 1);
  else
    mtk_strbuf_adds(sb, h->test[1]);
}

static char *render(const struct mtk_instr *in)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, mtk_instr_kind_name(in->kind));
  switch (in->kind) {
    case MTK_INSTR_ADD:
    case MTK_INSTR_COPY:
      render_copy(&sb, in);
      break;
    case MTK_INSTR_RUN:
    case MTK_INSTR_CMD:
    case MTK_INSTR_ENTRYPOINT:
      render_command(&sb, in);
      break;
    case MTK_INSTR_SHELL:
      mtk_strbuf_addc(&sb, ' ');
      add_json_list(&sb, in->args, in->n_args);
      break;
    case MTK_INSTR_ENV:
    case MTK_INSTR_LABEL:
    case MTK_INSTR_ARG:
      render_kvs(&sb, in);
      break;
    case MTK_INSTR_EXPOSE:
      for (size_t i = 0; i < in->n_args; i++)
        mtk_strbuf_addf(&sb, " %s", in->args[i]);
      break;
    case MTK_INSTR_VOLUME:
      mtk_strbuf_addc(&sb, ' ');
      if (in->json)
        add_json_list(&sb, in->args, in->n_args);
      else
        for (size_t i = 0; i < in->n_args; i++)
          mtk_strbuf_addf(&sb, "%s%s", i ? " " : "", in->args[i]);
      break;
    case MTK_INSTR_HEALTHCHECK:
      render_health(&sb, in);
      break;
    default:
      mtk_strbuf_addf(&sb, " %s", in->value ? in->value : "");
      break;
  }
  return mtk_strbuf_steal(&sb);
}

/* ------------------------------------------------------------ dispatch loop */

static int dispatch_kind(struct disp *q, struct mtk_err **err)
{
  struct mtk_instr *in = q->c->in;
  switch (in->kind) {
    case MTK_INSTR_ENV:
    case MTK_INSTR_LABEL:
      dispatch_env(q);
      return 0;
    case MTK_INSTR_ARG:
      return dispatch_arg(q, err) < 0 ? mtk_stages_at(err, q->x->file, in->start_line) : 0;
    case MTK_INSTR_RUN:
      return dispatch_run(q, err);
    case MTK_INSTR_WORKDIR:
      dispatch_workdir(q);
      return 0;
    case MTK_INSTR_ADD:
    case MTK_INSTR_COPY:
      return dispatch_copy(q, err);
    case MTK_INSTR_CMD:
    case MTK_INSTR_ENTRYPOINT:
      return dispatch_cmd(q);
    case MTK_INSTR_HEALTHCHECK:
      used_once(q, &q->d->health_t);
      return 0;
    case MTK_INSTR_EXPOSE:
      return dispatch_expose(q, err);
    case MTK_INSTR_STOPSIGNAL:
      if (mtk_instr_check_signal(in->value, err) < 0)
        return mtk_stages_at(err, q->x->file, in->start_line);
      return 0;
    case MTK_INSTR_VOLUME:
      for (size_t i = 0; i < in->n_args; i++)
        if (in->args[i][0] == '\0')
          return mtk_stages_fail_at(err, q->x->file, in->start_line,
                                    "VOLUME specified can not be an empty string");
      return 0;
    case MTK_INSTR_SHELL:
      mtk_stages_strv_free(q->d->shell, q->d->n_shell);
      q->d->shell = NULL, q->d->n_shell = 0;
      for (size_t i = 0; i < in->n_args; i++)
        mtk_stages_strv_push(&q->d->shell, &q->d->n_shell, in->args[i]);
      return 0;
    default:
      return 0;
  }
}

static void add_notes(struct disp *q)
{
  struct mtk_plan_step *s = q->step;
  for (size_t i = 0; i < q->unknown.len; i++) {
    const char *k = q->unknown.keys[i], *hint = q->unknown.vals[i];
    mtk_autofree char *note = mtk_xasprintf(
        "$%s is not set by this Dockerfile: left for the builder (the base image %s may set it "
        "with ENV; its configuration was not available to --check)%s%s%s",
        k, q->d->root_image ? q->d->root_image : "", hint ? "; did you mean $" : "",
        hint ? hint : "", hint ? "?" : "");
    mtk_stages_strv_push(&s->notes, &s->n_notes, note);
  }
}

/* dispatch: expansion (not ARG: dispatchArg expands its defaults itself),
 * then what the instruction does to the stage. */
static int dispatch_one(struct ctx *x, struct state *d, struct cmd *c, struct mtk_err **err)
{
  d->steps = mtk_xrealloc(d->steps, (d->n_steps + 1) * sizeof(*d->steps));
  struct mtk_plan_step *step = &d->steps[d->n_steps++];
  memset(step, 0, sizeof(*step));
  step->onbuild = c->onbuild;
  struct disp q = {x, d, c, step, MTK_STRMAP_INIT};
  int rc = 0;
  if (c->in->kind != MTK_INSTR_ARG) {
    struct xp p = {x, d, c->in, &q.unknown};
    if (mtk_instr_expand(c->in, xp_word, xp_raw, &p, err) < 0)
      rc = mtk_stages_at(err, x->file, c->in->start_line);
  }
  if (rc == 0)
    rc = dispatch_kind(&q, err);
  add_notes(&q);
  mtk_strmap_free(&q.unknown);
  step->text = render(c->in);
  return rc;
}

static void init_state(struct ctx *x, struct state *d)
{
  if (d->base != NONE) {
    const struct state *b = &x->states[d->base];
    mtk_strmap_merge(&d->env, &b->env);
    d->env_known = b->env_known;
    d->root_image = b->root_image;
    for (size_t i = 0; i < b->n_declared; i++)
      mtk_stages_strv_push(&d->declared, &d->n_declared, b->declared[i]);
    for (size_t i = 0; i < b->n_shell; i++)
      mtk_stages_strv_push(&d->shell, &d->n_shell, b->shell[i]);
    d->workdir_set = b->workdir_set;
    if (!d->has_platform && b->has_platform)
      d->platform = b->platform, d->has_platform = true;
    return;
  }
  if (strcmp(d->base_name, "scratch") == 0) {
    mtk_strmap_set(&d->env, "PATH", DEFAULT_PATH);
    d->env_known = true;
    return;
  }
  d->root_image = d->base_name;
  if (x->o->image_env)
    d->env_known = x->o->image_env(x->o->image_env_ud, d->base_ref ? d->base_ref : d->base_name,
                                   d->has_platform ? &d->platform : &x->target_pf, &d->env);
  if (d->env_known && !mtk_strmap_has(&d->env, "PATH"))
    mtk_strmap_set(&d->env, "PATH", DEFAULT_PATH);
}

int mtk_stages_dispatch_all(struct ctx *x, const bool *seen, struct mtk_err **err)
{
  for (size_t s = 0; s < x->n_states; s++) {
    struct state *d = &x->states[s];
    if (d->unregistered || (!x->o->all_stages && (!seen[s] || d->dispatched)))
      continue;
    init_state(x, d);
    d->dispatched = true;
    for (size_t i = 0; i < d->n_cmds; i++)
      if (dispatch_one(x, d, &d->cmds[i], err) < 0)
        return -1;
  }
  return 0;
}
