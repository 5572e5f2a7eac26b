/* Unit tests for the build checks (src/build/check.c and the checks the
 * stage layer reports): each rule with BuildKit's message and line, the
 * check directive (skip, error, experimental) and `# check=` comments above
 * an instruction, ordering, CopyIgnoredFile with a .dockerignore, and
 * mtk_check_dockerfile's results on Dockerfiles that do not parse. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "build/check.h"
#include "build/ignore.h"
#include "build/stages.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/strbuf.h"
#include "util/strmap.h"

/* The warnings of checking text, one "LINE Rule: detail" per line, or
 * "ERR LINE: message" at the end when it failed. */
static char *lint_with(const char *text, const struct mtk_stages_opts *opts)
{
  static const struct mtk_stages_opts none = {.all_stages = true};
  struct mtk_plan *plan = NULL;
  struct mtk_check *lint = NULL;
  struct mtk_err *err = NULL;
  int rc = mtk_check_dockerfile("Dockerfile", text, strlen(text), opts ? opts : &none, &plan, &lint,
                                &err);
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "");
  for (size_t i = 0; i < mtk_check_count(lint); i++) {
    const struct mtk_check_warning *w = mtk_check_warning(lint, i);
    mtk_strbuf_addf(&sb, "%d %s: %s\n", w->line, mtk_check_rule_info(w->rule)->name, w->detail);
  }
  if (rc < 0)
    mtk_strbuf_addf(&sb, "ERR%s %d: %s\n", err->code == MTK_E_BUILD ? "" : "?", err->line,
                    err->msg);
  mtk_err_free(&err);
  mtk_plan_free(plan);
  mtk_check_free(lint);
  return mtk_strbuf_steal(&sb);
}

#define ASSERT_LINT(text, want)                                                                    \
  do {                                                                                             \
    mtk_autofree char *got_ = lint_with(text, NULL);                                               \
    MTK_ASSERT_STREQ(got_, want);                                                                  \
  } while (0)

static int test_rule_table(void)
{
  enum mtk_check_rule r;
  MTK_ASSERT(mtk_check_rule_from_name("JSONArgsRecommended", &r));
  MTK_ASSERT_EQ(r, MTK_CHECK_JSON_ARGS_RECOMMENDED);
  MTK_ASSERT_STREQ(mtk_check_rule_info(r)->url,
                   "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/");
  MTK_ASSERT(!mtk_check_rule_from_name("jsonargsrecommended", &r));
  for (int i = 0; i < MTK_CHECK_N_RULES; i++) {
    const struct mtk_check_rule_info *info = mtk_check_rule_info((enum mtk_check_rule) i);
    MTK_ASSERT(info->name && info->description && info->url);
    MTK_ASSERT(mtk_check_rule_from_name(info->name, &r) && r == (enum mtk_check_rule) i);
    MTK_ASSERT_EQ(info->experimental, i == MTK_CHECK_INVALID_DEFINITION_DESCRIPTION);
  }
  return 0;
}

static int test_instruction_rules(void)
{
  ASSERT_LINT("FROM alpine\nMAINTAINER me\nCMD echo hi\nENTRYPOINT [\"x\"]\n",
              "2 MaintainerDeprecated: Maintainer instruction is deprecated in favor of using "
              "label\n3 JSONArgsRecommended: JSON arguments recommended for CMD to prevent "
              "unintended behavior related to OS signals\n");
  /* A SHELL makes the shell form deliberate. */
  ASSERT_LINT("FROM alpine\nSHELL [\"/bin/bash\", \"-c\"]\ncmd echo hi\n",
              "3 ConsistentInstructionCasing: Command 'cmd' should match the case of the command "
              "majority (uppercase)\n");
  ASSERT_LINT("FROM alpine AS Builder\nfrom alpine AS b2\n",
              "1 StageNameCasing: Stage name 'Builder' should be lowercase\n"
              "2 FromAsCasing: 'AS' and 'from' keywords' casing do not match\n"
              "2 ConsistentInstructionCasing: Command 'from' should match the case of the "
              "command majority (uppercase)\n");
  ASSERT_LINT("FROM alpine AS x\nFROM alpine AS x\nFROM alpine AS context\n",
              "2 DuplicateStageName: Duplicate stage name \"x\", stage names should be unique\n"
              "3 ReservedStageName: Stage name should not use the same name as reserved stage "
              "\"context\"\n");
  ASSERT_LINT("FROM alpine\nRUN echo a \\\n\n  b\n",
              "4 NoEmptyContinuation: Empty continuation line\n"); /* the last line */
  ASSERT_LINT("FROM alpine\nCMD [\"a\"]\nCMD [\"b\"]\nHEALTHCHECK NONE\nHEALTHCHECK NONE\n"
              "ENTRYPOINT [\"c\"]\n",
              "2 MultipleInstructionsDisallowed: Multiple CMD instructions should not be used in "
              "the same stage because only the last one will be used\n"
              "4 MultipleInstructionsDisallowed: Multiple HEALTHCHECK instructions should not be "
              "used in the same stage because only the last one will be used\n");
  ASSERT_LINT("FROM alpine\nENV A 1\nLABEL b=2 c=3\nLABEL d 4\n",
              "2 LegacyKeyValueFormat: \"ENV key=value\" should be used instead of legacy \"ENV "
              "key value\" format\n4 LegacyKeyValueFormat: \"LABEL key=value\" should be used "
              "instead of legacy \"LABEL key value\" format\n");
  ASSERT_LINT("FROM alpine\nWORKDIR app\nWORKDIR sub\n",
              "2 WorkdirRelativePath: Relative workdir \"app\" can have unexpected results if "
              "the base image changes\n");
  ASSERT_LINT("FROM alpine\nWORKDIR /app\nWORKDIR sub\n", "");
  ASSERT_LINT("FROM alpine\nEXPOSE 80/TCP 0.0.0.0:81:81\n",
              "2 ExposeInvalidFormat: EXPOSE instruction should not define an IP address or "
              "host-port mapping, found '0.0.0.0:81:81'\n2 ExposeProtoCasing: Defined protocol "
              "'80/TCP' in EXPOSE instruction should be lowercase\n");
  return 0;
}

static int test_variable_rules(void)
{
  ASSERT_LINT("FROM scratch\nARG version=1\nARG DECLARED\nENV foo=x\nCOPY a$fooo$DECLARED "
              "b$VERSION /\n",
              "5 UndefinedVar: Usage of undefined variable '$fooo' (did you mean $foo?)\n"
              "5 UndefinedVar: Usage of undefined variable '$VERSION'\n");
  /* On an image whose ENV --check cannot read: no warning (a note in the plan). */
  ASSERT_LINT("FROM alpine\nCOPY $fooo /\n", "");
  ASSERT_LINT("ARG VERSION=1\nFROM alpine:3$VERSON\n",
              "2 UndefinedArgInFrom: FROM argument 'VERSON' is not declared (did you mean "
              "VERSION?)\n");
  ASSERT_LINT("ARG TAG=\nFROM alpine:$TARGETARCH$TAG\n", "");
  ASSERT_LINT("ARG IMG=\nFROM ${IMG}\n",
              "2 InvalidDefaultArgInFrom: Default value for ARG ${IMG} results in empty or "
              "invalid base image name\nERR 2: base name (${IMG}) should not be blank\n");
  ASSERT_LINT("FROM --platform=$TARGETPLATFORM alpine AS a\n"
              "FROM --platform=${BUILDPLATFORM} alpine AS b\n"
              "FROM --platform=linux/amd64 alpine AS c\n"
              "FROM --platform=linux/amd64 alpine AS amd64-tools\n",
              "1 RedundantTargetPlatform: Setting platform to predefined $TARGETPLATFORM in FROM "
              "is redundant as this is the default behavior\n"
              "3 FromPlatformFlagConstDisallowed: FROM --platform flag should not use constant "
              "value \"linux/amd64\"\n");
  ASSERT_LINT("FROM alpine\nARG GITHUB_TOKEN\nENV DB_PASSWORD=x PUBLIC_KEY=y KEYBOARD=z\n"
              "ARG SECRET_FILE\n",
              "2 SecretsUsedInArgOrEnv: Do not use ARG or ENV instructions for sensitive data "
              "(ARG \"GITHUB_TOKEN\")\n3 SecretsUsedInArgOrEnv: Do not use ARG or ENV "
              "instructions for sensitive data (ENV \"DB_PASSWORD\")\n");
  MTK_ASSERT(mtk_check_is_secret_key("apikey"));
  MTK_ASSERT(mtk_check_is_secret_key("My_Auth"));
  MTK_ASSERT(!mtk_check_is_secret_key("AUTHOR"));
  MTK_ASSERT(!mtk_check_is_secret_key("TOKEN_VERSION"));
  return 0;
}

static int test_directive(void)
{
  ASSERT_LINT("# check=skip=JSONArgsRecommended,MaintainerDeprecated\nFROM a\nCMD x\n"
              "MAINTAINER m\n",
              "");
  ASSERT_LINT("# check=skip=all\nFROM a\nCMD x\n", "");
  ASSERT_LINT("FROM a\n# check=skip=JSONArgsRecommended\nCMD x\nCMD y\n",
              "3 MultipleInstructionsDisallowed: Multiple CMD instructions should not be used in "
              "the same stage because only the last one will be used\n"
              "4 JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended "
              "behavior related to OS signals\n");
  ASSERT_LINT("# check=error=true\nFROM a\nMAINTAINER m\nCMD x\n",
              "3 MaintainerDeprecated: Maintainer instruction is deprecated in favor of using "
              "label\n4 JSONArgsRecommended: JSON arguments recommended for CMD to prevent "
              "unintended behavior related to OS signals\nERR 0: lint violation found for "
              "rules: MaintainerDeprecated, JSONArgsRecommended\n");
  ASSERT_LINT("# check=error=true;skip=MaintainerDeprecated\nFROM a\nMAINTAINER m\n", "");
  ASSERT_LINT("# check=skip\nFROM a\n",
              "ERR 0: failed to parse check options: invalid check option \"skip\"\n");
  ASSERT_LINT("# check=error=maybe\nFROM a\n",
              "ERR 0: failed to parse check options: failed to parse check option "
              "\"error=maybe\": strconv.ParseBool: parsing \"maybe\": invalid syntax\n");
  /* Experimental rules only when enabled. */
  const char *doc =
      "FROM alpine\n# the argument\nARG foo=1\n# the base image\nFROM alpine AS base\n"
      "# base2 image to build on\nFROM alpine AS base2\n";
  ASSERT_LINT(doc, "");
  mtk_autofree char *exp = mtk_xasprintf("# check=experimental=all\n%s", doc);
  ASSERT_LINT(exp, "4 InvalidDefinitionDescription: Comment for ARG should follow the format: "
                   "`# foo <description>`\n6 InvalidDefinitionDescription: Comment for FROM "
                   "should follow the format: `# base <description>`\n");
  ASSERT_LINT("# check=experimental=InvalidDefinitionDescription\nFROM a\n# foo is it\nARG foo\n",
              "");
  return 0;
}

static int test_check_build_arg(void)
{
  mtk_autostrmap args = MTK_STRMAP_INIT;
  mtk_strmap_set(&args, "BUILDKIT_DOCKERFILE_CHECK", "skip=MaintainerDeprecated");
  struct mtk_stages_opts o = {.build_args = &args};
  /* The build argument replaces the directive (its error=true is gone too). */
  mtk_autofree char *got = lint_with("# check=error=true\nFROM a\nMAINTAINER m\nCMD x\n", &o);
  MTK_ASSERT_STREQ(got, "4 JSONArgsRecommended: JSON arguments recommended for CMD to prevent "
                        "unintended behavior related to OS signals\n");
  mtk_strmap_set(&args, "BUILDKIT_DOCKERFILE_CHECK", "skip=a b");
  mtk_autofree char *got2 = lint_with("FROM a\n", &o);
  MTK_ASSERT_STREQ(got2, ""); /* the whole value, spaces included, is the rule list */
  mtk_strmap_set(&args, "BUILDKIT_DOCKERFILE_CHECK", "nope");
  mtk_autofree char *got3 = lint_with("FROM a\n", &o);
  MTK_ASSERT_STREQ(got3, "ERR 0: failed to parse build-arg:BUILDKIT_DOCKERFILE_CHECK: invalid "
                         "check option \"nope\"\n");
  return 0;
}

static int test_copy_ignored(void)
{
  struct mtk_err *err = NULL;
  const char *ign = "secret.txt\nbuild/\n";
  mtk_autoptr(mtk_ignore) m = mtk_ignore_load(ign, strlen(ign), ".dockerignore", &err);
  MTK_ASSERT(m != NULL);
  struct mtk_stages_opts o = {.ignore = m};
  mtk_autofree char *got =
      lint_with("FROM a AS b\nFROM a\nCOPY secret.txt ./app.py /\n"
                "ADD build/out.bin https://x/y /\nCOPY --from=b secret.txt /\n",
                &o);
  MTK_ASSERT_STREQ(got, "3 CopyIgnoredFile: Attempting to Copy file \"secret.txt\" that is "
                        "excluded by .dockerignore\n4 CopyIgnoredFile: Attempting to Add file "
                        "\"build/out.bin\" that is excluded by .dockerignore\n");
  /* Exceptions make the check too hard to decide: BuildKit skips it. */
  const char *ign2 = "*\n!app.py\n";
  mtk_autoptr(mtk_ignore) m2 = mtk_ignore_load(ign2, strlen(ign2), ".dockerignore", &err);
  struct mtk_stages_opts o2 = {.ignore = m2};
  mtk_autofree char *got2 = lint_with("FROM a\nCOPY secret.txt /\n", &o2);
  MTK_ASSERT_STREQ(got2, "");
  const char *ign3 = "**\n";
  mtk_autoptr(mtk_ignore) m3 = mtk_ignore_load(ign3, strlen(ign3), ".dockerignore", &err);
  struct mtk_stages_opts o3 = {.ignore = m3};
  mtk_autofree char *got3 = lint_with("FROM a\nCOPY . /\n", &o3);
  MTK_ASSERT_STREQ(got3, "2 CopyIgnoredFile: Attempting to Copy file \".\" that is excluded by "
                         ".dockerignore\n");
  return 0;
}

static int test_errors_keep_warnings(void)
{
  /* Warnings found before the error stay; the error names its line. */
  ASSERT_LINT("FROM alpine\nMAINTAINER m\nRUNN x\n",
              "2 MaintainerDeprecated: Maintainer instruction is deprecated in favor of using "
              "label\nERR 3: unknown instruction: RUNN (did you mean RUN?)\n");
  ASSERT_LINT("FROM alpine\nRUN <<EOF\necho\n", "ERR 2: unterminated heredoc\n");
  ASSERT_LINT("", "ERR 0: the Dockerfile cannot be empty\n");
  /* The plan is still there when error=true fails the check. */
  struct mtk_plan *plan = NULL;
  struct mtk_check *lint = NULL;
  struct mtk_err *err = NULL;
  const char *t = "# check=error=true\nFROM a\nCMD x\n";
  struct mtk_stages_opts o = {0};
  MTK_ASSERT(mtk_check_dockerfile("Dockerfile", t, strlen(t), &o, &plan, &lint, &err) < 0);
  MTK_ASSERT(plan != NULL && lint != NULL);
  MTK_ASSERT_STREQ(err->file, "Dockerfile");
  MTK_ASSERT_EQ(mtk_check_count(lint), 1);
  mtk_plan_free(plan);
  mtk_check_free(lint);
  mtk_err_free(&err);
  return 0;
}

static int test_order_and_config(void)
{
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_check) c = mtk_check_new("Dockerfile", "skip=UndefinedVar ; error=false", &err);
  MTK_ASSERT(c != NULL);
  mtk_check_report(c, MTK_CHECK_UNDEFINED_VAR, NULL, 0, 1, 1, "skipped");
  mtk_check_report(c, MTK_CHECK_JSON_ARGS_RECOMMENDED, NULL, 0, 9, 9, "late");
  mtk_check_report(c, MTK_CHECK_MAINTAINER_DEPRECATED, NULL, 0, 3, 4, "early");
  mtk_check_report(c, MTK_CHECK_WORKDIR_RELATIVE_PATH, NULL, 0, 3, 3, "tie");
  char *skip_all[] = {"check=skip=all"};
  mtk_check_report(c, MTK_CHECK_WORKDIR_RELATIVE_PATH, skip_all, 1, 2, 2, "commented out");
  MTK_ASSERT_EQ(mtk_check_count(c), 3);
  MTK_ASSERT_STREQ(mtk_check_warning(c, 0)->detail, "early");
  MTK_ASSERT_EQ(mtk_check_warning(c, 0)->end_line, 4);
  MTK_ASSERT_STREQ(mtk_check_warning(c, 1)->detail, "tie");
  MTK_ASSERT_STREQ(mtk_check_warning(c, 2)->detail, "late");
  MTK_ASSERT(mtk_check_error(c, &err) == 0);
  mtk_check_report(NULL, MTK_CHECK_UNDEFINED_VAR, NULL, 0, 1, 1, "no linter: nothing");
  MTK_ASSERT(mtk_check_new("Dockerfile", "frobnicate=1", &err) == NULL);
  MTK_ASSERT_STREQ(err->msg, "failed to parse check options: invalid check option \"frobnicate\"");
  mtk_err_free(&err);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"rule table", test_rule_table},
      {"rules on instructions", test_instruction_rules},
      {"rules on variables, FROM and platforms", test_variable_rules},
      {"check directive and comments", test_directive},
      {"BUILDKIT_DOCKERFILE_CHECK build argument", test_check_build_arg},
      {"CopyIgnoredFile", test_copy_ignored},
      {"errors keep earlier warnings", test_errors_keep_warnings},
      {"ordering and configuration", test_order_and_config},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
