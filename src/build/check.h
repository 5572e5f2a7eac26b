/* Build checks, after BuildKit's linter (moby/buildkit
 * frontend/dockerfile/linter: ruleset.go, linter.go): the rule table (names,
 * descriptions, documentation URLs, message formats), the configuration of
 * the `# check=skip=...;error=true;experimental=...` directive and of the
 * same text in a comment right above an instruction, the warnings collected
 * while a Dockerfile is resolved, and the checks that need only the AST or
 * the typed instructions (MaintainerDeprecated, StageNameCasing,
 * FromAsCasing, InvalidDefinitionDescription, ConsistentInstructionCasing,
 * DuplicateStageName, ReservedStageName, NoEmptyContinuation).  The checks
 * that need a stage's ARG/ENV scope run in the stage layer (stages_dispatch.c) and
 * report through mtk_check_report.  mtk_check_dockerfile ties parser,
 * stages and checks together, as `docker build --check` does. */
#ifndef MTK_BUILD_CHECK_H
#define MTK_BUILD_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "build/dockerfile.h"
#include "build/instr.h"
#include "mtk/err.h"
#include "util/cleanup.h"

struct mtk_stages_opts;
struct mtk_plan;

enum mtk_check_rule {
  MTK_CHECK_STAGE_NAME_CASING,
  MTK_CHECK_FROM_AS_CASING,
  MTK_CHECK_NO_EMPTY_CONTINUATION,
  MTK_CHECK_CONSISTENT_INSTRUCTION_CASING,
  MTK_CHECK_DUPLICATE_STAGE_NAME,
  MTK_CHECK_RESERVED_STAGE_NAME,
  MTK_CHECK_JSON_ARGS_RECOMMENDED,
  MTK_CHECK_MAINTAINER_DEPRECATED,
  MTK_CHECK_UNDEFINED_ARG_IN_FROM,
  MTK_CHECK_WORKDIR_RELATIVE_PATH,
  MTK_CHECK_UNDEFINED_VAR,
  MTK_CHECK_MULTIPLE_INSTRUCTIONS_DISALLOWED,
  MTK_CHECK_LEGACY_KEY_VALUE_FORMAT,
  MTK_CHECK_REDUNDANT_TARGET_PLATFORM,
  MTK_CHECK_SECRETS_USED_IN_ARG_OR_ENV,
  MTK_CHECK_INVALID_DEFAULT_ARG_IN_FROM,
  MTK_CHECK_FROM_PLATFORM_FLAG_CONST_DISALLOWED,
  MTK_CHECK_COPY_IGNORED_FILE,
  MTK_CHECK_INVALID_DEFINITION_DESCRIPTION,
  MTK_CHECK_EXPOSE_PROTO_CASING,
  MTK_CHECK_EXPOSE_INVALID_FORMAT,
  MTK_CHECK_N_RULES,
};

struct mtk_check_rule_info {
  const char *name;        /* "JSONArgsRecommended" */
  const char *description; /* BuildKit's Description */
  const char *url;         /* documentation, "https://docs.docker.com/go/dockerfile/rule/..." */
  bool experimental;       /* reported only when enabled with experimental=... */
};

const struct mtk_check_rule_info *mtk_check_rule_info(enum mtk_check_rule rule);
/* The rule with that exact name; false when there is none. */
bool mtk_check_rule_from_name(const char *name, enum mtk_check_rule *rule);

/* A warning as BuildKit's linter reports it. */
struct mtk_check_warning {
  enum mtk_check_rule rule;
  char *detail; /* owned: the formatted message ("JSON arguments recommended for CMD ...") */
  int line;     /* 1-based first line of the location */
  int end_line; /* 1-based last line */
};

/* The linter of one Dockerfile. */
struct mtk_check;

/* A linter for `file` (used in positions) configured by the check directive
 * value (NULL or "" for the defaults).  An invalid value is an error
 * (MTK_E_BUILD): "failed to parse check options: invalid check option \"x\"". */
struct mtk_check *mtk_check_new(const char *file, const char *directive, struct mtk_err **err);
void mtk_check_free(struct mtk_check *c);
MTK_DEFINE_AUTOPTR(mtk_check, mtk_check_free)

const char *mtk_check_file(const struct mtk_check *c);

/* Linter.Run: records a warning unless the rule is skipped (skip=Rule or
 * skip=all, also in a `# check=...` comment among `comments`, the comments
 * right above the instruction) or experimental and not enabled.  c may be
 * NULL (nothing happens). */
void mtk_check_report(struct mtk_check *c, enum mtk_check_rule rule, char *const *comments,
                      size_t n_comments, int line, int end_line, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* The warnings, sorted by line (stable: the order of reporting breaks ties). */
size_t mtk_check_count(const struct mtk_check *c);
const struct mtk_check_warning *mtk_check_warning(struct mtk_check *c, size_t i);

/* Linter.Error: with error=true and at least one warning, fails with
 * "lint violation found for rules: A, B" (rules in order of first report). */
int mtk_check_error(const struct mtk_check *c, struct mtk_err **err);

/* --- The checks that need no ARG/ENV scope (called by the stage layer) --- */

/* Parser warnings that are build checks (NoEmptyContinuation). */
void mtk_check_parser_warnings(struct mtk_check *c, const struct mtk_df_result *df);
/* Before an instruction is parsed: MaintainerDeprecated, StageNameCasing,
 * FromAsCasing (on the node's words as written). */
void mtk_check_node(struct mtk_check *c, const struct mtk_df_node *node);
/* After FROM or ARG parsed: InvalidDefinitionDescription (experimental). */
void mtk_check_definition(struct mtk_check *c, const struct mtk_instr *in);
/* Over the instructions of all stages (FROM included, ARGs before the first
 * FROM excluded), in file order: ConsistentInstructionCasing,
 * DuplicateStageName, ReservedStageName. */
void mtk_check_casing_and_names(struct mtk_check *c, struct mtk_instr *const *instrs, size_t n);

/* SecretsUsedInArgOrEnv's test: a `_`-separated part of key is a secret
 * word (apikey, auth, credential(s), key, password, pword, passwd, secret,
 * token) and none is an allowed one (public, file, version). */
bool mtk_check_is_secret_key(const char *key);

/* `docker build --check` on one Dockerfile: parses `text` (path `file` in
 * positions), resolves stages with `opts` (whose lint member is ignored: a
 * linter is made from the check directive, or from the build argument
 * BUILDKIT_DOCKERFILE_CHECK, which replaces it) and runs every check.  *plan
 * receives the resolved plan when the stages resolved (also when a check
 * then fails the build: `# check=error=true`), *lint the linter (its
 * warnings) whenever the Dockerfile parsed, also when a later step failed;
 * the caller frees both.  Errors are MTK_E_BUILD with the file (and the
 * line when BuildKit gives one). */
int mtk_check_dockerfile(const char *file, const char *text, size_t len,
                         const struct mtk_stages_opts *opts, struct mtk_plan **plan,
                         struct mtk_check **lint, struct mtk_err **err);

#endif
