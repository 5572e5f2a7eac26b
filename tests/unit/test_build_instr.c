/* Unit tests for typed instructions (src/build/instr.c): BuildKit's flag
 * handling (BFlags), argument counts and error texts per instruction, heredoc
 * sources, RUN --mount parsing and validation, HEALTHCHECK durations, which
 * fields each instruction expands, and the helpers (suggestions, Go
 * durations, signals, chmod).  Expected texts are BuildKit's
 * (frontend/dockerfile/instructions). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "build/dockerfile.h"
#include "build/instr.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

/* Parses `text` and types instruction `k`; NULL with *err on failure. */
static struct mtk_instr *instr_at(const char *text, size_t k, struct mtk_df_result **df,
                                  struct mtk_err **err)
{
  *df = mtk_dockerfile_parse("Dockerfile", text, strlen(text), err);
  if (*df == NULL || k >= (*df)->ast->n_children)
    return NULL;
  return mtk_instr_parse((*df)->ast->children[k], "Dockerfile", err);
}

/* The error message of typing instruction k of text ("" when it parsed). */
static char *error_of(const char *text, size_t k)
{
  struct mtk_df_result *df = NULL;
  struct mtk_err *err = NULL;
  struct mtk_instr *in = instr_at(text, k, &df, &err);
  char *msg = err ? mtk_xasprintf("%d:%s", err->line, err->msg) : mtk_xstrdup("");
  if (err && err->code != MTK_E_BUILD)
    msg[0] = '?';
  mtk_instr_free(in);
  mtk_df_result_free(df);
  mtk_err_free(&err);
  return msg;
}

#define ASSERT_ERR(text, k, want)                                                                  \
  do {                                                                                             \
    mtk_autofree char *got_ = error_of(text, k);                                                   \
    MTK_ASSERT_STREQ(got_, want);                                                                  \
  } while (0)

static int test_unknown_instruction(void)
{
  ASSERT_ERR("FROM a\nRUNN x\n", 1, "2:unknown instruction: RUNN (did you mean RUN?)");
  ASSERT_ERR("FROM a\nrunn x\n", 1, "2:unknown instruction: runn (did you mean run?)");
  ASSERT_ERR("FROM a\nCopi x y\n", 1, "2:unknown instruction: Copi (did you mean COPY?)");
  ASSERT_ERR("FROM a\nFROBNICATE x\n", 1, "2:unknown instruction: FROBNICATE");
  return 0;
}

static int test_from(void)
{
  struct mtk_df_result *df = NULL;
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_instr) in =
      instr_at("FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\n", 0, &df, &err);
  mtk_autoptr(mtk_df_result) dfp = df;
  MTK_ASSERT(in != NULL);
  MTK_ASSERT_EQ(in->kind, MTK_INSTR_FROM);
  MTK_ASSERT_STREQ(in->base, "golang:1.22");
  MTK_ASSERT_STREQ(in->stage_name, "build");
  MTK_ASSERT_STREQ(in->platform, "$BUILDPLATFORM");
  MTK_ASSERT_STREQ(in->code, "FROM --platform=$BUILDPLATFORM golang:1.22 AS Build");
  ASSERT_ERR("FROM a AS 1x\n", 0,
             "1:invalid name for build stage: \"1x\", name can't start "
             "with a number or contain symbols");
  ASSERT_ERR("FROM a b\n", 0, "1:FROM requires either one or three arguments");
  ASSERT_ERR("FROM a AS b c\n", 0, "1:FROM requires either one or three arguments");
  ASSERT_ERR("FROM --plaform=x a\n", 0, "1:unknown flag: --plaform (did you mean platform?)");
  ASSERT_ERR("FROM a as b_c.d-1\n", 0, "");
  return 0;
}

static int test_flags(void)
{
  ASSERT_ERR("FROM a\nCOPY --chwn=1 a b\n", 1, "2:unknown flag: --chwn (did you mean chown?)");
  ASSERT_ERR("FROM a\nCOPY --xyzzy a b\n", 1, "2:unknown flag: --xyzzy");
  ASSERT_ERR("FROM a\nCOPY --from=a --from=b a b\n", 1, "2:duplicate flag specified: --from");
  ASSERT_ERR("FROM a\nCOPY --from a b\n", 1, "2:missing a value on flag: --from");
  ASSERT_ERR("FROM a\nCOPY --link= a b\n", 1, "2:missing a value on flag: --link");
  ASSERT_ERR("FROM a\nCOPY --link=yes a b\n", 1,
             "2:expecting boolean value for flag --link, not: yes");
  ASSERT_ERR("FROM a\nENV --x=1 A=b\n", 1, "2:unknown flag: --x");
  /* STOPSIGNAL and ARG never look at their flags. */
  ASSERT_ERR("FROM a\nSTOPSIGNAL --x SIGTERM\n", 1, "");
  ASSERT_ERR("FROM a\nARG --x A\n", 1, "");
  struct mtk_df_result *df = NULL;
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_instr) in = instr_at("FROM a\nCOPY --link=FALSE --parents --exclude=*.o "
                                       "--exclude=tmp a b /d/\n",
                                       1, &df, &err);
  mtk_autoptr(mtk_df_result) dfp = df;
  MTK_ASSERT(in != NULL);
  MTK_ASSERT(!in->link);
  MTK_ASSERT(in->parents);
  MTK_ASSERT_EQ(in->n_excludes, 2);
  MTK_ASSERT_STREQ(in->excludes[1], "tmp");
  MTK_ASSERT_EQ(in->n_args, 2);
  MTK_ASSERT_STREQ(in->dest, "/d/");
  return 0;
}

static int test_copy_add(void)
{
  ASSERT_ERR("FROM a\nCOPY a\n", 1,
             "2:COPY requires at least two arguments, but only one was "
             "provided. Destination could not be determined");
  ASSERT_ERR("FROM a\nADD a\n", 1,
             "2:ADD requires at least two arguments, but only one was "
             "provided. Destination could not be determined");
  ASSERT_ERR("FROM a\nCOPY --checksum=x a b\n", 1, "2:unknown flag: --checksum");
  ASSERT_ERR("FROM a\nCOPY a <<EOF\nx\nEOF\n", 1,
             "2:COPY cannot accept a heredoc as a "
             "destination");
  struct mtk_df_result *df = NULL;
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_instr) in =
      instr_at("FROM a\nCOPY <<-EOF x <<'RAW' /dst/\n\tone $A\n\tEOF\nraw $B\nRAW\n", 1, &df, &err);
  mtk_autoptr(mtk_df_result) dfp = df;
  MTK_ASSERT(in != NULL);
  MTK_ASSERT_EQ(in->n_args, 1);
  MTK_ASSERT_STREQ(in->args[0], "x");
  MTK_ASSERT_EQ(in->n_files, 2);
  MTK_ASSERT_STREQ(in->files[0].name, "EOF");
  MTK_ASSERT_STREQ(in->files[0].data, "one $A\n"); /* chomped */
  MTK_ASSERT(in->files[0].expand);
  MTK_ASSERT_STREQ(in->files[1].data, "raw $B\n");
  MTK_ASSERT(!in->files[1].expand);
  struct mtk_df_result *df2 = NULL;
  mtk_autoptr(mtk_instr) add = instr_at(
      "FROM a\nADD --keep-git-dir --checksum=sha256:x https://h/r.git /s\n", 1, &df2, &err);
  mtk_autoptr(mtk_df_result) dfp2 = df2;
  MTK_ASSERT(add != NULL);
  MTK_ASSERT_EQ(add->keep_git_dir, 1);
  MTK_ASSERT_EQ(add->unpack, -1);
  MTK_ASSERT_STREQ(add->checksum, "sha256:x");
  return 0;
}

static int test_run(void)
{
  struct mtk_df_result *df = NULL;
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_instr) in = instr_at("FROM a\nRUN --network=none --mount=type=cache,target=/c "
                                       "[\"make\", \"all\"]\n",
                                       1, &df, &err);
  mtk_autoptr(mtk_df_result) dfp = df;
  MTK_ASSERT(in != NULL);
  MTK_ASSERT(!in->prepend_shell);
  MTK_ASSERT_EQ(in->n_args, 2);
  MTK_ASSERT_STREQ(in->network, "none");
  MTK_ASSERT_STREQ(in->security, "sandbox");
  MTK_ASSERT_EQ(in->n_flags_used, 2);
  MTK_ASSERT_STREQ(in->flags_used[0], "network");
  MTK_ASSERT_EQ(in->n_mounts, 1);
  MTK_ASSERT_STREQ(in->mounts[0].spec, "type=cache,target=/c");
  ASSERT_ERR("FROM a\nRUN --network=bridge x\n", 1, "2:invalid network mode \"bridge\"");
  ASSERT_ERR("FROM a\nRUN --security=open x\n", 1, "2:security \"open\" is not valid");
  ASSERT_ERR("FROM a\nRUN --mount=from=$X,target=/x x\n", 1,
             "2:'from' doesn't support variable expansion, define alias stage instead");
  /* A '$' at the end of from= is allowed; other keys wait for expansion. */
  ASSERT_ERR("FROM a\nRUN --mount=from=x$,type=$T,mode=$M x\n", 1, "");
  ASSERT_ERR("FROM a\nRUN --mount='source=\"a' x\n", 1,
             "2:failed to parse csv mounts: parse error on line 1, column 8: bare \" in "
             "non-quoted-field");
  ASSERT_ERR("FROM a\nRUN --mount='\"a\"b' x\n", 1,
             "2:failed to parse csv mounts: parse error on line 1, column 3: extraneous or "
             "missing \" in quoted-field");
  ASSERT_ERR("FROM a\nRUN --devic=x y\n", 1, "2:unknown flag: --devic");
  return 0;
}

static char *upper_cb(void *ud, const char *word, struct mtk_err **err)
{
  (void) err;
  mtk_strbuf_addf(ud, "[%s]", word);
  char *s = mtk_xstrdup(word);
  for (char *p = s; *p; p++)
    if (*p >= 'a' && *p <= 'z')
      *p = (char) (*p - 'a' + 'A');
  return s;
}

/* Expands instruction 1 of text with upper_cb: returns the words seen. */
static char *expanded_words(const char *text, struct mtk_instr **out)
{
  struct mtk_df_result *df = NULL;
  struct mtk_err *err = NULL;
  mtk_autostrbuf seen = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&seen, "");
  struct mtk_instr *in = instr_at(text, 1, &df, &err);
  mtk_df_result_free(df);
  if (in == NULL || mtk_instr_expand(in, upper_cb, upper_cb, &seen, &err) < 0) {
    mtk_err_free(&err);
    mtk_instr_free(in);
    return mtk_xstrdup("ERR");
  }
  *out = in;
  return mtk_strbuf_steal(&seen);
}

static int test_expand_fields(void)
{
  struct mtk_instr *in = NULL;
  mtk_autofree char *w1 = expanded_words("FROM a\nCOPY --from=st --chown=u:g src /dst\n", &in);
  /* --from is never expanded (BuildKit refuses variables in it). */
  MTK_ASSERT_STREQ(w1, "[u:g][src][/dst]");
  MTK_ASSERT_STREQ(in->from, "st");
  MTK_ASSERT_STREQ(in->chown, "U:G");
  mtk_instr_free(in);
  mtk_autofree char *w2 = expanded_words("FROM a\nENV a=b c=d\n", &in);
  MTK_ASSERT_STREQ(w2, "[a][b][c][d]");
  mtk_instr_free(in);
  mtk_autofree char *w3 = expanded_words("FROM a\nCMD echo $x\n", &in);
  MTK_ASSERT_STREQ(w3, "");
  mtk_instr_free(in);
  mtk_autofree char *w4 = expanded_words("FROM a\nRUN --mount=target=$t,id=x,ro echo\n", &in);
  MTK_ASSERT_STREQ(w4, "[$t][x]");
  MTK_ASSERT_STREQ(in->mounts[0].target, "$T");
  MTK_ASSERT_STREQ(in->mounts[0].id, "X");
  mtk_instr_free(in);
  mtk_autofree char *w5 = expanded_words("FROM a\nCOPY <<EOF <<'Q' /d\nx $y\nEOF\nq\nQ\n", &in);
  MTK_ASSERT_STREQ(w5, "[/d][x $y\n]"); /* the quoted heredoc is not expanded */
  mtk_instr_free(in);
  mtk_autofree char *w6 = expanded_words("FROM a\nARG x=$y\n", &in);
  MTK_ASSERT_STREQ(w6, ""); /* ARG: the stage layer expands defaults */
  mtk_instr_free(in);
  /* Mount values are validated after expansion. */
  struct mtk_df_result *df = NULL;
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_instr) run =
      instr_at("FROM a\nRUN --mount=type=bind,target=/x,mode=0700 y\n", 1, &df, &err);
  mtk_autoptr(mtk_df_result) dfp = df;
  mtk_autostrbuf seen = MTK_STRBUF_INIT;
  MTK_ASSERT(run != NULL);
  MTK_ASSERT(mtk_instr_expand(run, upper_cb, NULL, &seen, &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "mode not allowed for \"bind\" type mounts"); /* BIND: any case */
  mtk_err_free(&err);
  return 0;
}

static int lower_cb_ok;
static char *same_cb(void *ud, const char *word, struct mtk_err **err)
{
  (void) ud, (void) err;
  lower_cb_ok++;
  return mtk_xstrdup(word);
}

/* Mount validation errors, as BuildKit's parseMount. */
static char *mount_error(const char *spec)
{
  mtk_autofree char *text = mtk_xasprintf("FROM a\nRUN --mount=%s x\n", spec);
  struct mtk_df_result *df = NULL;
  struct mtk_err *err = NULL;
  struct mtk_instr *in = instr_at(text, 1, &df, &err);
  char *r;
  if (in && mtk_instr_expand(in, same_cb, NULL, NULL, &err) == 0)
    r = mtk_xasprintf("ok ro=%d", in->mounts[0].readonly);
  else
    r = mtk_xstrdup(err ? err->msg : "?");
  mtk_err_free(&err);
  mtk_instr_free(in);
  mtk_df_result_free(df);
  return r;
}

#define ASSERT_MOUNT(spec, want)                                                                   \
  do {                                                                                             \
    mtk_autofree char *got_ = mount_error(spec);                                                   \
    MTK_ASSERT_STREQ(got_, want);                                                                  \
  } while (0)

static int test_mounts(void)
{
  ASSERT_MOUNT("target=/x", "ok ro=1");
  ASSERT_MOUNT("type=cache,target=/x", "ok ro=0");
  ASSERT_MOUNT("type=tmpfs,target=/x,size=64m", "ok ro=0");
  ASSERT_MOUNT("type=bind,target=/x,rw", "ok ro=0");
  ASSERT_MOUNT("type=bind,target=/x,readonly=false", "ok ro=0");
  ASSERT_MOUNT("type=secret,id=tok,required", "ok ro=1");
  ASSERT_MOUNT("type=secret", "invalid secret mount. one of source, target required");
  ASSERT_MOUNT("type=secret,id=a,source=b", "both source and id can't be set");
  ASSERT_MOUNT("type=secret,id=a,from=x", "secret mount should not have a from");
  ASSERT_MOUNT("type=bind,target=/x,mode=0700", "mode not allowed for \"bind\" type mounts");
  ASSERT_MOUNT("type=cache,target=/x,mode=0799", "invalid value 0799 for mode");
  ASSERT_MOUNT("type=cache,target=/x,uid=x", "invalid value x for uid");
  ASSERT_MOUNT("type=bind,target=/x,required", "unexpected key 'required' for mount type 'bind'");
  ASSERT_MOUNT("type=bind,size=1g", "unexpected key 'size' for mount type 'bind'");
  ASSERT_MOUNT("type=tmpfs,size=lots", "invalid value for size: lots");
  ASSERT_MOUNT("type=cache,sharing=privat", "unsupported sharing value \"privat\" (did you mean "
                                            "private?)");
  ASSERT_MOUNT("type=bind,sharing=locked", "invalid cache sharing set for bind mount");
  ASSERT_MOUNT("type=bind,targt=/x", "unexpected key 'targt' in 'targt=/x' (did you mean "
                                     "target?)");
  ASSERT_MOUNT("type=bind,bogus", "invalid field 'bogus' must be a key=value pair");
  ASSERT_MOUNT("type=bind,target=/x,ro=maybe", "invalid value for ro: maybe");
  MTK_ASSERT(lower_cb_ok > 0);
  return 0;
}

static int test_kv_and_args(void)
{
  struct mtk_df_result *df = NULL;
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_instr) env = instr_at("FROM a\nENV A value with spaces\n", 1, &df, &err);
  mtk_autoptr(mtk_df_result) dfp = df;
  MTK_ASSERT(env != NULL);
  MTK_ASSERT_EQ(env->n_kvs, 1);
  MTK_ASSERT(env->kvs[0].no_delim);
  MTK_ASSERT_STREQ(env->kvs[0].value, "value with spaces");
  struct mtk_df_result *df2 = NULL;
  mtk_autoptr(mtk_instr) arg = instr_at("FROM a\nARG A B=\"x y\" C=\n", 1, &df2, &err);
  mtk_autoptr(mtk_df_result) dfp2 = df2;
  MTK_ASSERT(arg != NULL);
  MTK_ASSERT_EQ(arg->n_kvs, 3);
  MTK_ASSERT(arg->kvs[0].value == NULL);
  MTK_ASSERT_STREQ(arg->kvs[1].value, "\"x y\""); /* quotes go at expansion */
  MTK_ASSERT_STREQ(arg->kvs[2].value, "");
  ASSERT_ERR("FROM a\nARG =x\n", 1, "2:ARG names can not be blank");
  ASSERT_ERR("FROM a\nARG\n", 1, "2:ARG requires at least one argument");
  ASSERT_ERR("FROM a\nLABEL\n", 1, "2:LABEL requires at least one argument");
  ASSERT_ERR("FROM a\nMAINTAINER\n", 1, "2:MAINTAINER requires exactly one argument");
  ASSERT_ERR("FROM a\nUSER\n", 1, "2:USER requires exactly one argument");
  ASSERT_ERR("FROM a\nWORKDIR\n", 1, "2:WORKDIR requires exactly one argument");
  ASSERT_ERR("FROM a\nSTOPSIGNAL\n", 1, "2:STOPSIGNAL requires exactly one argument");
  ASSERT_ERR("FROM a\nEXPOSE\n", 1, "2:EXPOSE requires at least one argument");
  ASSERT_ERR("FROM a\nVOLUME\n", 1, "2:VOLUME requires at least one argument");
  ASSERT_ERR("FROM a\nVOLUME [\"\"]\n", 1, "2:VOLUME specified can not be an empty string");
  ASSERT_ERR("FROM a\nSHELL bash -c\n", 1, "2:SHELL requires the arguments to be in JSON form");
  ASSERT_ERR("FROM a\nSHELL []\n", 1, "2:SHELL requires at least one argument");
  ASSERT_ERR("FROM a\nONBUILD\n", 1, "2:ONBUILD requires at least one argument");
  ASSERT_ERR("FROM a\nONBUILD ONBUILD RUN x\n", 1,
             "2:Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  ASSERT_ERR("FROM a\nONBUILD from b\n", 1, "2:FROM isn't allowed as an ONBUILD trigger");
  return 0;
}

static int test_expose_onbuild(void)
{
  struct mtk_df_result *df = NULL;
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_instr) ex = instr_at("FROM a\nEXPOSE 9000 80/udp 443\n", 1, &df, &err);
  mtk_autoptr(mtk_df_result) dfp = df;
  MTK_ASSERT(ex != NULL);
  MTK_ASSERT_EQ(ex->n_args, 3);
  MTK_ASSERT_STREQ(ex->args[0], "443"); /* sorted, as BuildKit */
  MTK_ASSERT_STREQ(ex->args[2], "9000");
  struct mtk_df_result *df2 = NULL;
  mtk_autoptr(mtk_instr) ob = instr_at("FROM a\n  onbuild   RUN echo  hi\n", 1, &df2, &err);
  mtk_autoptr(mtk_df_result) dfp2 = df2;
  MTK_ASSERT(ob != NULL);
  MTK_ASSERT_STREQ(ob->value, "RUN echo  hi");
  return 0;
}

static int test_healthcheck(void)
{
  struct mtk_df_result *df = NULL;
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_instr) h = instr_at("FROM a\nHEALTHCHECK --interval=1m30s --timeout=500ms "
                                      "--retries=3 CMD curl -f http://x/ || exit 1\n",
                                      1, &df, &err);
  mtk_autoptr(mtk_df_result) dfp = df;
  MTK_ASSERT(h != NULL);
  MTK_ASSERT_EQ(h->health->n_test, 2);
  MTK_ASSERT_STREQ(h->health->test[0], "CMD-SHELL");
  MTK_ASSERT_STREQ(h->health->test[1], "curl -f http://x/ || exit 1");
  MTK_ASSERT_EQ(h->health->interval, 90000000000LL);
  MTK_ASSERT_EQ(h->health->timeout, 500000000LL);
  MTK_ASSERT_EQ(h->health->retries, 3);
  ASSERT_ERR("FROM a\nHEALTHCHECK NONE x\n", 1, "2:HEALTHCHECK NONE takes no arguments");
  ASSERT_ERR("FROM a\nHEALTHCHECK --bogus=1 NONE\n", 1, ""); /* NONE: flags ignored */
  ASSERT_ERR("FROM a\nHEALTHCHECK CMD\n", 1, "2:Missing command after HEALTHCHECK CMD");
  ASSERT_ERR("FROM a\nHEALTHCHECK PING x\n", 1,
             "2:Unknown type \"PING\" in HEALTHCHECK "
             "(try CMD)");
  ASSERT_ERR("FROM a\nHEALTHCHECK --interval=10us CMD x\n", 1,
             "2:Interval \"interval\" cannot be less than 1ms");
  ASSERT_ERR("FROM a\nHEALTHCHECK --timeout=5 CMD x\n", 1,
             "2:time: missing unit in duration \"5\"");
  ASSERT_ERR("FROM a\nHEALTHCHECK --retries=x CMD x\n", 1,
             "2:strconv.ParseInt: parsing \"x\": invalid syntax");
  ASSERT_ERR("FROM a\nHEALTHCHECK --retries=-2 CMD x\n", 1, "2:--retries cannot be negative (-2)");
  ASSERT_ERR("FROM a\nHEALTHCHECK --interval=0s CMD x\n", 1, "");
  return 0;
}

static int test_helpers(void)
{
  MTK_ASSERT_EQ(mtk_instr_levenshtein("kitten", "sitting"), 3);
  MTK_ASSERT_EQ(mtk_instr_levenshtein("", "abc"), 3);
  MTK_ASSERT_EQ(mtk_instr_levenshtein("\xc3\xa9t\xc3\xa9", "ete"), 2); /* runes, not bytes */
  static const char *const opts[] = {"chown", "chmod", "from"};
  mtk_autofree char *s1 = mtk_instr_suggest("chmd", opts, 3, true);
  MTK_ASSERT_STREQ(s1, "chmod");
  MTK_ASSERT(mtk_instr_suggest("from", opts, 3, true) == NULL); /* exact: no suggestion */
  MTK_ASSERT(mtk_instr_suggest("zzzzzz", opts, 3, true) == NULL);
  mtk_autofree char *s2 = mtk_instr_suggest("FRM", opts, 3, false);
  MTK_ASSERT_STREQ(s2, "FROM");
  int64_t ns = 0;
  struct mtk_err *err = NULL;
  MTK_ASSERT(mtk_instr_parse_duration("1h2m3.5s", &ns, &err) == 0);
  MTK_ASSERT_EQ(ns, 3723500000000LL);
  MTK_ASSERT(mtk_instr_parse_duration("-1.5ms", &ns, &err) == 0);
  MTK_ASSERT_EQ(ns, -1500000LL);
  MTK_ASSERT(mtk_instr_parse_duration("", &ns, &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "time: invalid duration \"\"");
  mtk_err_free(&err);
  MTK_ASSERT(mtk_instr_check_signal("SIGTERM", &err) == 0);
  MTK_ASSERT(mtk_instr_check_signal("kill", &err) == 0);
  MTK_ASSERT(mtk_instr_check_signal("9", &err) == 0);
  MTK_ASSERT(mtk_instr_check_signal("SIGRTMIN+3", &err) == 0);
  MTK_ASSERT(mtk_instr_check_signal("RTMIN+16", &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "invalid signal: RTMIN+16");
  mtk_err_free(&err);
  MTK_ASSERT(mtk_instr_check_signal("0", &err) < 0);
  mtk_err_free(&err);
  MTK_ASSERT(mtk_instr_check_chmod("0755", &err) == 0);
  MTK_ASSERT(mtk_instr_check_chmod("u+x,go-w", &err) == 0);
  MTK_ASSERT(mtk_instr_check_chmod("10000", &err) < 0);
  MTK_ASSERT_STREQ(err->msg, "invalid chmod parameter: '10000'. it should be octal string and "
                             "between 0 and 07777");
  mtk_err_free(&err);
  MTK_ASSERT(mtk_instr_check_chmod("u+q", &err) < 0);
  mtk_err_free(&err);
  bool b;
  MTK_ASSERT(mtk_instr_parse_bool("True", &b) && b);
  MTK_ASSERT(mtk_instr_parse_bool("0", &b) && !b);
  MTK_ASSERT(!mtk_instr_parse_bool("yes", &b));
  enum mtk_instr_kind k;
  MTK_ASSERT(mtk_instr_kind_from_name("healthCheck", &k) && k == MTK_INSTR_HEALTHCHECK);
  MTK_ASSERT_STREQ(mtk_instr_kind_name(MTK_INSTR_STOPSIGNAL), "STOPSIGNAL");
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"unknown instructions and suggestions", test_unknown_instruction},
      {"FROM: name, platform, errors", test_from},
      {"BFlags: unknown, duplicate, bool, missing value", test_flags},
      {"COPY/ADD: sources, heredocs, flags", test_copy_add},
      {"RUN: forms, flags, parse-time mount checks", test_run},
      {"fields each instruction expands", test_expand_fields},
      {"RUN --mount validation after expansion", test_mounts},
      {"ENV/LABEL/ARG pairs and argument counts", test_kv_and_args},
      {"EXPOSE order and ONBUILD expression", test_expose_onbuild},
      {"HEALTHCHECK", test_healthcheck},
      {"helpers: suggest, durations, signals, chmod", test_helpers},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
