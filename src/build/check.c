/* Build checks after BuildKit's linter (frontend/dockerfile/linter):
 * the rule table with BuildKit's names, descriptions, URLs and formats, the
 * check directive and per-instruction `# check=` comments, warning
 * collection, the checks that look only at the AST or typed instructions
 * (parse.go's, validations.go's validateStageNames and
 * validateCommandCasing), and mtk_check_dockerfile, which runs parser,
 * stage resolution and checks as `docker build --check` does. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "build/check.h"
#include "build/stages.h"
#include "util/strbuf.h"
#include "util/strmap.h"

#define URL(x) "https://docs.docker.com/go/dockerfile/rule/" x "/"

static const struct mtk_check_rule_info rules[MTK_CHECK_N_RULES] = {
    [MTK_CHECK_STAGE_NAME_CASING] = {"StageNameCasing", "Stage names should be lowercase",
                                     URL("stage-name-casing"), false},
    [MTK_CHECK_FROM_AS_CASING] = {"FromAsCasing",
                                  "The 'as' keyword should match the case of the 'from' keyword",
                                  URL("from-as-casing"), false},
    [MTK_CHECK_NO_EMPTY_CONTINUATION] = {"NoEmptyContinuation",
                                         "Empty continuation lines will become errors in a "
                                         "future release",
                                         URL("no-empty-continuation"), false},
    [MTK_CHECK_CONSISTENT_INSTRUCTION_CASING] = {"ConsistentInstructionCasing",
                                                 "All commands within the Dockerfile should use "
                                                 "the same casing (either upper or lower)",
                                                 URL("consistent-instruction-casing"), false},
    [MTK_CHECK_DUPLICATE_STAGE_NAME] = {"DuplicateStageName", "Stage names should be unique",
                                        URL("duplicate-stage-name"), false},
    [MTK_CHECK_RESERVED_STAGE_NAME] = {"ReservedStageName",
                                       "Reserved words should not be used as stage names",
                                       URL("reserved-stage-name"), false},
    [MTK_CHECK_JSON_ARGS_RECOMMENDED] = {"JSONArgsRecommended",
                                         "JSON arguments recommended for ENTRYPOINT/CMD to "
                                         "prevent unintended behavior related to OS signals",
                                         URL("json-args-recommended"), false},
    [MTK_CHECK_MAINTAINER_DEPRECATED] = {"MaintainerDeprecated",
                                         "The MAINTAINER instruction is deprecated, use a label "
                                         "instead to define an image author",
                                         URL("maintainer-deprecated"), false},
    [MTK_CHECK_UNDEFINED_ARG_IN_FROM] = {"UndefinedArgInFrom",
                                         "FROM command must use declared ARGs",
                                         URL("undefined-arg-in-from"), false},
    [MTK_CHECK_WORKDIR_RELATIVE_PATH] = {"WorkdirRelativePath",
                                         "Relative workdir without an absolute workdir declared "
                                         "within the build can have unexpected results if the "
                                         "base image changes",
                                         URL("workdir-relative-path"), false},
    [MTK_CHECK_UNDEFINED_VAR] = {"UndefinedVar", "Variables should be defined before their use",
                                 URL("undefined-var"), false},
    [MTK_CHECK_MULTIPLE_INSTRUCTIONS_DISALLOWED] = {"MultipleInstructionsDisallowed",
                                                    "Multiple instructions of the same type "
                                                    "should not be used in the same stage",
                                                    URL("multiple-instructions-disallowed"), false},
    [MTK_CHECK_LEGACY_KEY_VALUE_FORMAT] = {"LegacyKeyValueFormat",
                                           "Legacy key/value format with whitespace separator "
                                           "should not be used",
                                           URL("legacy-key-value-format"), false},
    [MTK_CHECK_REDUNDANT_TARGET_PLATFORM] = {"RedundantTargetPlatform",
                                             "Setting platform to predefined $TARGETPLATFORM in "
                                             "FROM is redundant as this is the default behavior",
                                             URL("redundant-target-platform"), false},
    [MTK_CHECK_SECRETS_USED_IN_ARG_OR_ENV] = {"SecretsUsedInArgOrEnv",
                                              "Sensitive data should not be used in the ARG or "
                                              "ENV commands",
                                              URL("secrets-used-in-arg-or-env"), false},
    [MTK_CHECK_INVALID_DEFAULT_ARG_IN_FROM] = {"InvalidDefaultArgInFrom",
                                               "Default value for global ARG results in an empty "
                                               "or invalid base image name",
                                               URL("invalid-default-arg-in-from"), false},
    [MTK_CHECK_FROM_PLATFORM_FLAG_CONST_DISALLOWED] = {"FromPlatformFlagConstDisallowed",
                                                       "FROM --platform flag should not use a "
                                                       "constant value",
                                                       URL("from-platform-flag-const-disallowed"),
                                                       false},
    [MTK_CHECK_COPY_IGNORED_FILE] = {"CopyIgnoredFile",
                                     "Attempting to Copy file that is excluded by .dockerignore",
                                     URL("copy-ignored-file"), false},
    [MTK_CHECK_INVALID_DEFINITION_DESCRIPTION] = {"InvalidDefinitionDescription",
                                                  "Comment for build stage or argument should "
                                                  "follow the format: `# <arg/stage name> "
                                                  "<description>`. If this is not intended to be "
                                                  "a description comment, add an empty line or "
                                                  "comment between the instruction and the "
                                                  "comment.",
                                                  URL("invalid-definition-description"), true},
    [MTK_CHECK_EXPOSE_PROTO_CASING] = {"ExposeProtoCasing",
                                       "Protocol in EXPOSE instruction should be lowercase",
                                       URL("expose-proto-casing"), false},
    [MTK_CHECK_EXPOSE_INVALID_FORMAT] = {"ExposeInvalidFormat",
                                         "IP address and host-port mapping should not be used in "
                                         "EXPOSE instruction. This will become an error in a "
                                         "future release",
                                         URL("expose-invalid-format"), false},
};

const struct mtk_check_rule_info *mtk_check_rule_info(enum mtk_check_rule rule)
{
  return rule < MTK_CHECK_N_RULES ? &rules[rule] : NULL;
}

bool mtk_check_rule_from_name(const char *name, enum mtk_check_rule *rule)
{
  for (int i = 0; i < MTK_CHECK_N_RULES; i++)
    if (strcmp(rules[i].name, name) == 0) {
      *rule = (enum mtk_check_rule) i;
      return true;
    }
  return false;
}

/* ------------------------------------------------------------ configuration */

/* linter.Config: rule names are kept as written (unknown names are allowed
 * and simply never match). */
struct config {
  bool skip_all, experimental_all, error;
  char **skip;
  size_t n_skip;
  char **experimental;
  size_t n_experimental;
};

struct mtk_check {
  char *file;
  struct config cfg;
  struct mtk_check_warning *w;
  size_t n;
  bool sorted;
  bool called[MTK_CHECK_N_RULES];
  enum mtk_check_rule order[MTK_CHECK_N_RULES]; /* rules in order of first report */
  size_t n_called;
};

static void config_free(struct config *c)
{
  for (size_t i = 0; i < c->n_skip; i++)
    free(c->skip[i]);
  free(c->skip);
  for (size_t i = 0; i < c->n_experimental; i++)
    free(c->experimental[i]);
  free(c->experimental);
  memset(c, 0, sizeof(*c));
}

static char *trim(const char *s, size_t n)
{
  while (n > 0 && isspace((unsigned char) *s))
    s++, n--;
  while (n > 0 && isspace((unsigned char) s[n - 1]))
    n--;
  return mtk_xstrndup(s, n);
}

/* "A, B ,C" -> {"A","B","C"} (strings.Split then TrimSpace, empty parts kept). */
static void split_rules(const char *v, char ***out, size_t *n)
{
  for (const char *p = v;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t) (comma - p) : strlen(p);
    *out = mtk_xrealloc(*out, (*n + 1) * sizeof(**out));
    (*out)[(*n)++] = trim(p, len);
    if (!comma)
      return;
    p = comma + 1;
  }
}

/* Go's strconv.ParseBool; false on an invalid value. */
static int parse_option(struct config *c, const char *p, size_t n, struct mtk_err **err)
{
  const char *eq = memchr(p, '=', n);
  mtk_autofree char *raw = mtk_xstrndup(p, n);
  if (eq == NULL)
    return mtk_err_set(err, MTK_E_BUILD, "invalid check option \"%s\"", raw);
  mtk_autofree char *k = trim(p, (size_t) (eq - p));
  mtk_autofree char *v = trim(eq + 1, n - (size_t) (eq - p) - 1);
  if (strcmp(k, "skip") == 0) {
    if (strcmp(v, "all") == 0)
      c->skip_all = true;
    else
      split_rules(v, &c->skip, &c->n_skip);
  } else if (strcmp(k, "experimental") == 0) {
    if (strcmp(v, "all") == 0)
      c->experimental_all = true;
    else
      split_rules(v, &c->experimental, &c->n_experimental);
  } else if (strcmp(k, "error") == 0) {
    if (!mtk_instr_parse_bool(v, &c->error))
      return mtk_err_set(err, MTK_E_BUILD,
                         "failed to parse check option \"%s\": "
                         "strconv.ParseBool: parsing \"%s\": invalid syntax",
                         raw, v);
  } else {
    return mtk_err_set(err, MTK_E_BUILD, "invalid check option \"%s\"", k);
  }
  return 0;
}

/* linter.ParseLintOptions: at most three ';'-separated options. */
static int parse_config(const char *s, struct config *c, struct mtk_err **err)
{
  memset(c, 0, sizeof(*c));
  mtk_autofree char *t = trim(s, strlen(s));
  if (*t == '\0')
    return 0;
  const char *p = t;
  for (int part = 0; part < 3; part++) {
    const char *semi = part < 2 ? strchr(p, ';') : NULL;
    size_t n = semi ? (size_t) (semi - p) : strlen(p);
    if (parse_option(c, p, n, err) < 0) {
      config_free(c);
      return -1;
    }
    if (!semi)
      break;
    p = semi + 1;
  }
  return 0;
}

/* A comment that is a check directive ("check=skip=X" above an instruction). */
static bool comment_config(char *const *comments, size_t n, struct config *c)
{
  for (size_t i = 0; i < n; i++) {
    const char *s = comments[i];
    while (isspace((unsigned char) *s))
      s++;
    if (!isalpha((unsigned char) *s))
      continue;
    size_t k = 1;
    while (isalnum((unsigned char) s[k]))
      k++;
    const char *eq = s + k;
    while (isspace((unsigned char) *eq))
      eq++;
    if (*eq != '=' || k != 5 || strncasecmp(s, "check", 5) != 0)
      continue;
    mtk_autofree char *value = trim(eq + 1, strlen(eq + 1));
    if (*value == '\0')
      continue;
    value[strcspn(value, " ")] = '\0';
    struct mtk_err *e = NULL;
    if (parse_config(value, c, &e) < 0) {
      mtk_err_free(&e);
      return false;
    }
    return true;
  }
  return false;
}

static bool listed(char *const *v, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], name) == 0)
      return true;
  return false;
}

/* Linter.Run's filter, with the comment configuration merged in. */
static bool enabled(const struct mtk_check *c, const struct mtk_check_rule_info *r,
                    const struct config *extra)
{
  if (r->experimental)
    return c->cfg.experimental_all || listed(c->cfg.experimental, c->cfg.n_experimental, r->name) ||
           (extra && (extra->experimental_all ||
                      listed(extra->experimental, extra->n_experimental, r->name)));
  return !(c->cfg.skip_all || listed(c->cfg.skip, c->cfg.n_skip, r->name) ||
           (extra && (extra->skip_all || listed(extra->skip, extra->n_skip, r->name))));
}

/* ------------------------------------------------------------ linter */

/* A linter configured by `value` (the directive's text up to its first
 * space, or the whole build argument); `what` names it in errors. */
static struct mtk_check *check_new(const char *file, const char *value, bool cut, const char *what,
                                   struct mtk_err **err)
{
  struct mtk_check *c = mtk_xcalloc(1, sizeof(*c));
  c->file = mtk_xstrdup(file ? file : "Dockerfile");
  if (value) {
    mtk_autofree char *v = mtk_xstrdup(value);
    if (cut)
      v[strcspn(v, " ")] = '\0';
    if (parse_config(v, &c->cfg, err) < 0) {
      mtk_check_free(c);
      mtk_err_wrap(err, "%s", what);
      return NULL;
    }
  }
  return c;
}

struct mtk_check *mtk_check_new(const char *file, const char *directive, struct mtk_err **err)
{
  return check_new(file, directive, true, "failed to parse check options", err);
}

void mtk_check_free(struct mtk_check *c)
{
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->n; i++)
    free(c->w[i].detail);
  free(c->w);
  config_free(&c->cfg);
  free(c->file);
  free(c);
}

const char *mtk_check_file(const struct mtk_check *c)
{
  return c->file;
}

void mtk_check_report(struct mtk_check *c, enum mtk_check_rule rule, char *const *comments,
                      size_t n_comments, int line, int end_line, const char *fmt, ...)
{
  if (c == NULL || rule >= MTK_CHECK_N_RULES)
    return;
  struct config extra;
  bool has_extra = comment_config(comments, n_comments, &extra);
  bool on = enabled(c, &rules[rule], has_extra ? &extra : NULL);
  if (has_extra)
    config_free(&extra);
  if (!on)
    return;
  va_list ap;
  va_start(ap, fmt);
  char *detail = NULL;
  if (vasprintf(&detail, fmt, ap) < 0)
    abort();
  va_end(ap);
  c->w = mtk_xrealloc(c->w, (c->n + 1) * sizeof(*c->w));
  c->w[c->n++] = (struct mtk_check_warning){rule, detail, line, end_line > line ? end_line : line};
  c->sorted = false;
  if (!c->called[rule]) {
    c->called[rule] = true;
    c->order[c->n_called++] = rule;
  }
}

size_t mtk_check_count(const struct mtk_check *c)
{
  return c ? c->n : 0;
}

/* LintResults.PrintTo sorts by line; insertion sort keeps reports in order. */
const struct mtk_check_warning *mtk_check_warning(struct mtk_check *c, size_t i)
{
  if (!c->sorted) {
    for (size_t k = 1; k < c->n; k++) {
      struct mtk_check_warning w = c->w[k];
      size_t j = k;
      for (; j > 0 && c->w[j - 1].line > w.line; j--)
        c->w[j] = c->w[j - 1];
      c->w[j] = w;
    }
    c->sorted = true;
  }
  return i < c->n ? &c->w[i] : NULL;
}

int mtk_check_error(const struct mtk_check *c, struct mtk_err **err)
{
  if (c == NULL || !c->cfg.error || c->n_called == 0)
    return 0;
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (size_t i = 0; i < c->n_called; i++)
    mtk_strbuf_addf(&sb, "%s%s", i ? ", " : "", rules[c->order[i]].name);
  int r = mtk_err_set(err, MTK_E_BUILD, "lint violation found for rules: %s", sb.buf);
  if (err && *err && (*err)->file == NULL)
    (*err)->file = mtk_xstrdup(c->file);
  return r;
}

/* ------------------------------------------------------------ AST checks */

void mtk_check_parser_warnings(struct mtk_check *c, const struct mtk_df_result *df)
{
  for (size_t i = 0; i < df->n_warnings; i++)
    if (df->warnings[i].url &&
        strcmp(df->warnings[i].url, rules[MTK_CHECK_NO_EMPTY_CONTINUATION].url) == 0)
      mtk_check_report(c, MTK_CHECK_NO_EMPTY_CONTINUATION, NULL, 0, df->warnings[i].line,
                       df->warnings[i].line, "Empty continuation line");
}

static bool all_lower(const char *s)
{
  for (; *s; s++)
    if (isupper((unsigned char) *s))
      return false;
  return true;
}

static bool all_upper(const char *s)
{
  for (; *s; s++)
    if (islower((unsigned char) *s))
      return false;
  return true;
}

void mtk_check_node(struct mtk_check *c, const struct mtk_df_node *node)
{
  char *const *cm = node->prev_comment;
  size_t nc = node->n_prev_comment;
  int l = node->start_line, e = node->end_line;
  if (strcasecmp(node->value, "maintainer") == 0)
    mtk_check_report(c, MTK_CHECK_MAINTAINER_DEPRECATED, cm, nc, l, e,
                     "Maintainer instruction is deprecated in favor of using label");
  if (strcasecmp(node->value, "from") != 0)
    return;
  const char *args[4] = {0};
  size_t n = 0;
  for (const struct mtk_df_node *a = node->next; a; a = a->next, n++)
    if (n < 4)
      args[n] = a->value;
  if (n == 3 && !all_lower(args[2]))
    mtk_check_report(c, MTK_CHECK_STAGE_NAME_CASING, cm, nc, l, e,
                     "Stage name '%s' should be lowercase", args[2]);
  if (n >= 3) {
    bool lower = all_lower(node->value), upper = all_upper(node->value);
    if ((lower && !all_lower(args[1])) || (!lower && upper && !all_upper(args[1])))
      mtk_check_report(c, MTK_CHECK_FROM_AS_CASING, cm, nc, l, e,
                       "'%s' and '%s' keywords' casing do not match", args[1], node->value);
  }
}

/* validateDefinitionDescription */
void mtk_check_definition(struct mtk_check *c, const struct mtk_instr *in)
{
  const char *keys[64];
  size_t n = 0;
  const char *what = in->kind == MTK_INSTR_FROM ? "FROM" : "ARG";
  if (in->kind == MTK_INSTR_FROM && in->stage_name)
    keys[n++] = in->stage_name;
  for (size_t i = 0; in->kind == MTK_INSTR_ARG && i < in->n_kvs && n < 64; i++)
    keys[n++] = in->kvs[i].key;
  if (in->n_comments == 0 || n == 0)
    return;
  const char *last = in->comments[in->n_comments - 1];
  size_t first = strcspn(last, " ");
  for (size_t i = 0; i < n; i++)
    if (strlen(keys[i]) == first && strncmp(keys[i], last, first) == 0)
      return;
  mtk_check_report(c, MTK_CHECK_INVALID_DEFINITION_DESCRIPTION, in->comments, in->n_comments,
                   in->start_line, in->end_line,
                   "Comment for %s should follow the format: `# %s <description>`", what,
                   n > 1 ? "<arg_key>" : keys[0]);
}

static void case_match(struct mtk_check *c, const struct mtk_instr *in, bool majority_lower)
{
  const char *want = NULL;
  if (majority_lower && !all_lower(in->name))
    want = "lowercase";
  else if (!majority_lower && !all_upper(in->name))
    want = "uppercase";
  if (want)
    mtk_check_report(c, MTK_CHECK_CONSISTENT_INSTRUCTION_CASING, NULL, 0, in->start_line,
                     in->end_line,
                     "Command '%s' should match the case of the command majority "
                     "(%s)",
                     in->name, want);
}

void mtk_check_casing_and_names(struct mtk_check *c, struct mtk_instr *const *instrs, size_t n)
{
  static const char *const reserved[] = {"context", "scratch"};
  size_t lower = 0, upper = 0;
  for (size_t i = 0; i < n; i++) {
    const struct mtk_instr *in = instrs[i];
    if (in->kind != MTK_INSTR_FROM || in->stage_name == NULL)
      continue;
    for (size_t k = 0; k < 2; k++)
      if (strcmp(in->stage_name, reserved[k]) == 0)
        mtk_check_report(c, MTK_CHECK_RESERVED_STAGE_NAME, NULL, 0, in->start_line, in->end_line,
                         "Stage name should not use the same name as reserved stage \"%s\"",
                         in->stage_name);
    for (size_t j = 0; j < i; j++)
      if (instrs[j]->kind == MTK_INSTR_FROM && instrs[j]->stage_name &&
          strcmp(instrs[j]->stage_name, in->stage_name) == 0) {
        mtk_check_report(c, MTK_CHECK_DUPLICATE_STAGE_NAME, NULL, 0, in->start_line, in->end_line,
                         "Duplicate stage name \"%s\", stage names should be unique",
                         in->stage_name);
        break;
      }
  }
  for (size_t i = 0; i < n; i++) {
    if (all_lower(instrs[i]->name))
      lower++;
    else if (all_upper(instrs[i]->name))
      upper++;
  }
  for (size_t i = 0; i < n; i++)
    case_match(c, instrs[i], lower > upper);
}

/* (?i)(?:_|^)(?:token)(?:_|$) */
static bool has_part(const char *key, const char *const *tokens, size_t n)
{
  for (const char *p = key;;) {
    size_t len = strcspn(p, "_");
    for (size_t i = 0; i < n; i++)
      if (strlen(tokens[i]) == len && strncasecmp(p, tokens[i], len) == 0)
        return true;
    if (p[len] == '\0')
      return false;
    p += len + 1;
  }
}

bool mtk_check_is_secret_key(const char *key)
{
  static const char *const deny[] = {"apikey",   "auth",  "credential", "credentials", "key",
                                     "password", "pword", "passwd",     "secret",      "token"};
  static const char *const allow[] = {"public", "file", "version"};
  return has_part(key, deny, 10) && !has_part(key, allow, 3);
}

/* ------------------------------------------------------------ docker build --check */

int mtk_check_dockerfile(const char *file, const char *text, size_t len,
                         const struct mtk_stages_opts *opts, struct mtk_plan **plan,
                         struct mtk_check **lint, struct mtk_err **err)
{
  *plan = NULL;
  *lint = NULL;
  if (len == 0)
    return mtk_err_set_at(err, MTK_E_BUILD, file, 0, 0, "the Dockerfile cannot be empty");
  mtk_autoptr(mtk_df_result) df = mtk_dockerfile_parse(file, text, len, err);
  if (df == NULL) {
    if (err && *err)
      (*err)->code = MTK_E_BUILD;
    return -1;
  }
  /* dockerui: the BUILDKIT_DOCKERFILE_CHECK build argument replaces the directive. */
  bool found = false;
  const char *arg = opts->build_args
                        ? mtk_strmap_get(opts->build_args, "BUILDKIT_DOCKERFILE_CHECK", &found)
                        : NULL;
  struct mtk_check *c =
      found && arg
          ? check_new(file, arg, false, "failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK", err)
          : mtk_check_new(file, df->check, err);
  if (c == NULL) {
    if (err && *err && (*err)->file == NULL)
      (*err)->file = mtk_xstrdup(file);
    return -1;
  }
  *lint = c;
  mtk_check_parser_warnings(c, df);
  struct mtk_stages_opts o = *opts;
  o.lint = c;
  *plan = mtk_stages_resolve(file, df, &o, err);
  if (*plan == NULL || mtk_check_error(c, err) < 0) {
    /* BuildKit's errors without a position are about the whole file. */
    if (err && *err && (*err)->file == NULL)
      (*err)->file = mtk_xstrdup(file);
    return -1;
  }
  return 0;
}
