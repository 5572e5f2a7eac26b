/* Unit tests for the Dockerfile parser (src/build/dockerfile*.c): what the shared parser
 * cases do not cover — start/end lines (continuations, comments, heredoc bodies), heredocs
 * (names, quoting, fd, chomp, several per instruction, ONBUILD, JSON form), the escape
 * directive and the other directives, errors with their line, warnings, flags, the JSON
 * form, comments kept above an instruction, deep ONBUILD chains, the heredoc lexer's NUL
 * bytes and nesting limit, and linear time.  The expected values were checked against
 * BuildKit's parser (the nesting limit is mtk's own: see dockerfile_heredoc.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build/dockerfile.h"
#include "tap.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

static struct mtk_df_result *parse(const char *text)
{
  struct mtk_err *err = NULL;
  struct mtk_df_result *r = mtk_dockerfile_parse("Dockerfile", text, strlen(text), &err);
  if (!r) {
    printf("#   unexpected error: %s\n", err->msg);
    mtk_err_free(&err);
  }
  return r;
}

/* The formatted error of parsing text ("" when it parses). */
static char *parse_error(const char *text, size_t len)
{
  struct mtk_err *err = NULL;
  struct mtk_df_result *r = mtk_dockerfile_parse("Dockerfile", text, len, &err);
  if (r) {
    mtk_df_result_free(r);
    return mtk_xstrdup("");
  }
  char *msg = err->code == MTK_E_INVALID ? mtk_err_format(err) : mtk_xstrdup("bad code");
  mtk_err_free(&err);
  return msg;
}

static char *dump(const struct mtk_df_result *r)
{
  return mtk_dockerfile_dump(r->ast);
}

static int test_lines(void)
{
  const char *text = "# escape=\\\n"
                     "\n"
                     "FROM a\n"          /* 3 */
                     "RUN one \\\n"      /* 4 */
                     "# a comment\n"     /* 5 */
                     "\n"                /* 6 */
                     "  two\n"           /* 7 */
                     "COPY <<A <<B /d\n" /* 8 */
                     "a\n"
                     "A\n"
                     "b\n"
                     "B\n"          /* 12 */
                     "  USER x  \n" /* 13 */
                     "\n\n";
  mtk_autoptr(mtk_df_result) r = parse(text);
  MTK_ASSERT(r);
  MTK_ASSERT_EQ(r->ast->n_children, 4);
  MTK_ASSERT_EQ(r->ast->start_line, 3);
  MTK_ASSERT_EQ(r->ast->end_line, 13);
  const int want[4][2] = {{3, 3}, {4, 7}, {8, 12}, {13, 13}};
  for (size_t i = 0; i < 4; i++) {
    MTK_ASSERT_EQ(r->ast->children[i]->start_line, want[i][0]);
    MTK_ASSERT_EQ(r->ast->children[i]->end_line, want[i][1]);
  }
  /* Whitespace of continuation lines is kept; the first line's is not. */
  MTK_ASSERT_STREQ(r->ast->children[1]->original, "RUN one   two");
  MTK_ASSERT_STREQ(r->ast->children[3]->original, "USER x  ");
  mtk_autofree char *d = dump(r);
  MTK_ASSERT_STREQ(d, "(from \"a\")\n(run \"one   two\")\n(copy \"<<A\" \"<<B\" \"/d\")\n"
                      "(user \"x\")");
  /* One warning for the empty line inside the continuation, on the last line. */
  MTK_ASSERT_EQ(r->n_warnings, 1);
  MTK_ASSERT_EQ(r->warnings[0].line, 7);
  MTK_ASSERT_STREQ(r->warnings[0].short_msg, "Empty continuation line found in: RUN one   two");
  MTK_ASSERT_CONTAINS(r->warnings[0].url, "no-empty-continuation");
  return 0;
}

static int test_crlf_bom_and_eof(void)
{
  mtk_autoptr(mtk_df_result) r = parse("\xEF\xBB\xBF"
                                       "FROM a\r\nRUN b \\\r\n  c\r\nCMD x \\");
  MTK_ASSERT(r);
  mtk_autofree char *d = dump(r);
  MTK_ASSERT_STREQ(d, "(from \"a\")\n(run \"b   c\")\n(cmd \"x\")");
  MTK_ASSERT_EQ(r->ast->end_line, 4);
  return 0;
}

static int test_heredocs(void)
{
  const char *text = "FROM a\n"
                     "RUN 3<<EOF cat\n"
                     "hello $X\n"
                     "EOF\n"
                     "RUN <<-'NOEXPAND'\n"
                     "\tkeep $X\n"
                     "\tNOEXPAND\n"
                     "COPY <<X <<\"Y\" /dest\n"
                     "Y\n"
                     "X\n"
                     "X\n"
                     "Y\n"
                     "RUN <<eo'f'\n"
                     "eof\n"
                     "RUN <<  EOF  > foo\n"
                     "EOF\n"
                     "ONBUILD RUN <<E\n"
                     "body\n"
                     "E\n"
                     "RUN [\"<<EOF\"]\n"
                     "USER <<EOF\n"
                     "RUN \"<<EOF\"\n";
  mtk_autoptr(mtk_df_result) r = parse(text);
  MTK_ASSERT(r);
  struct mtk_df_node **c = r->ast->children;
  MTK_ASSERT_EQ(r->ast->n_children, 10);
  MTK_ASSERT_EQ(c[1]->n_heredocs, 1);
  MTK_ASSERT_STREQ(c[1]->heredocs[0].name, "EOF");
  MTK_ASSERT_STREQ(c[1]->heredocs[0].content, "hello $X\n");
  MTK_ASSERT_EQ(c[1]->heredocs[0].fd, 3);
  MTK_ASSERT(c[1]->heredocs[0].expand && !c[1]->heredocs[0].chomp);
  MTK_ASSERT_EQ(c[1]->start_line, 2);
  MTK_ASSERT_EQ(c[1]->end_line, 4);
  MTK_ASSERT_STREQ(c[2]->heredocs[0].name, "NOEXPAND");
  MTK_ASSERT_STREQ(c[2]->heredocs[0].content, "\tkeep $X\n");
  MTK_ASSERT(!c[2]->heredocs[0].expand && c[2]->heredocs[0].chomp);
  mtk_autofree char *chomped = mtk_df_heredoc_chomp("\thello\n\t\tworld\n", 15, NULL);
  MTK_ASSERT_STREQ(chomped, "hello\nworld\n");
  /* Two heredocs, read in order; a body line may be the other delimiter. */
  MTK_ASSERT_EQ(c[3]->n_heredocs, 2);
  MTK_ASSERT_STREQ(c[3]->heredocs[0].content, "Y\n");
  MTK_ASSERT_STREQ(c[3]->heredocs[1].content, "X\n");
  MTK_ASSERT(c[3]->heredocs[0].expand && !c[3]->heredocs[1].expand);
  MTK_ASSERT_STREQ(c[4]->heredocs[0].name, "eof");
  MTK_ASSERT(!c[4]->heredocs[0].expand);
  MTK_ASSERT_STREQ(c[5]->heredocs[0].name, "EOF");
  MTK_ASSERT_STREQ(c[5]->heredocs[0].content, "");
  MTK_ASSERT_EQ(c[6]->n_heredocs, 1); /* ONBUILD RUN */
  MTK_ASSERT_STREQ(c[6]->heredocs[0].content, "body\n");
  MTK_ASSERT_EQ(c[7]->n_heredocs, 0); /* JSON form */
  MTK_ASSERT_EQ(c[8]->n_heredocs, 0); /* USER */
  MTK_ASSERT_EQ(c[9]->n_heredocs, 0); /* quoted */
  mtk_autofree char *d = dump(r);
  MTK_ASSERT_CONTAINS(d, "(onbuild (run \"<<E\"))\n(run \"<<EOF\")\n(user \"<<EOF\")");
  return 0;
}

static int test_heredoc_words(void)
{
  static const char *const valid[] = {"<<EOF",      "<<'EOF'",   "<<\"EOF\"", "<<-EOF", "<<-'EOF'",
                                      "<<-\"EOF\"", "<<EO\"F\"", "<< EOF",    "<<- EOF"};
  static const char *const invalid[] = {"<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""};
  static const char *const not_heredoc[] = {"", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"};
  struct mtk_df_heredoc h;
  struct mtk_err *err = NULL;
  for (size_t i = 0; i < sizeof(valid) / sizeof(*valid); i++) {
    MTK_ASSERT_EQ(mtk_df_parse_heredoc_word(valid[i], &h, &err), 1);
    MTK_ASSERT_STREQ(h.name, "EOF");
    MTK_ASSERT_EQ(h.chomp, strchr(valid[i], '-') != NULL);
    MTK_ASSERT_EQ(h.expand, strpbrk(valid[i], "'\"") == NULL);
    free(h.name);
  }
  for (size_t i = 0; i < sizeof(invalid) / sizeof(*invalid); i++) {
    MTK_ASSERT(mtk_df_parse_heredoc_word(invalid[i], &h, &err) < 0);
    MTK_ASSERT_CONTAINS(err->msg, "unexpected end of statement while looking for matching");
    mtk_err_free(&err);
  }
  for (size_t i = 0; i < sizeof(not_heredoc) / sizeof(*not_heredoc); i++)
    MTK_ASSERT_EQ(mtk_df_parse_heredoc_word(not_heredoc[i], &h, &err), 0);
  MTK_ASSERT_EQ(mtk_df_parse_heredoc_word("12<<\\E\\OF", &h, &err), 1);
  MTK_ASSERT_STREQ(h.name, "EOF");
  MTK_ASSERT_EQ(h.fd, 12);
  MTK_ASSERT(h.expand); /* BuildKit only counts quotes */
  free(h.name);
  return 0;
}

static int test_escape_directive(void)
{
  mtk_autoptr(mtk_df_result) r = parse("# escape=`\n"
                                       "# syntax = docker/dockerfile:1 // opts\n"
                                       "FROM windows\n"
                                       "COPY --from=\"a`\"b\" c:\\dir\\ d\\\n"
                                       "RUN one `\n"
                                       "  two\n"
                                       "ENV a=\"x`\" y\" b=c\\\n");
  MTK_ASSERT(r);
  MTK_ASSERT_EQ(r->escape, '`');
  MTK_ASSERT_STREQ(r->syntax, "docker/dockerfile:1");
  MTK_ASSERT(r->check == NULL);
  MTK_ASSERT_EQ(r->n_directives, 2);
  MTK_ASSERT_STREQ(r->directives[1].name, "syntax");
  MTK_ASSERT_STREQ(r->directives[1].value, "docker/dockerfile:1 // opts");
  MTK_ASSERT_EQ(r->directives[1].line, 2);
  mtk_autofree char *d = dump(r);
  MTK_ASSERT_STREQ(d, "(from \"windows\")\n"
                      "(copy [\"--from=a\\\"b\"] \"c:\\\\dir\\\\\" \"d\\\\\")\n"
                      "(run \"one   two\")\n"
                      "(env \"a\" \"\\\"x`\\\" y\\\"\" \"=\" \"b\" \"c\\\\\" \"=\")");
  MTK_ASSERT_EQ(r->ast->children[1]->n_flags, 1);
  MTK_ASSERT_STREQ(r->ast->children[1]->flags[0].s, "--from=a\"b");
  return 0;
}

static int test_directive_rules(void)
{
  /* After a plain comment or a blank line, "# escape=`" is only a comment. */
  mtk_autoptr(mtk_df_result) r = parse("# hello\n# escape=`\nFROM a\nRUN b `\n");
  MTK_ASSERT(r);
  MTK_ASSERT_EQ(r->escape, '\\');
  MTK_ASSERT_EQ(r->ast->n_children, 2);
  MTK_ASSERT_EQ(r->ast->children[0]->n_prev_comment, 2);
  MTK_ASSERT_STREQ(r->ast->children[0]->prev_comment[0], "hello");
  MTK_ASSERT_STREQ(r->ast->children[0]->prev_comment[1], "escape=`");
  mtk_autoptr(mtk_df_result) r2 = parse("#!/bin/sh\n# check = skip=all // x\nFROM a\n");
  MTK_ASSERT(r2);
  MTK_ASSERT_STREQ(r2->check, "skip=all"); /* as BuildKit's ParseDirective */
  MTK_ASSERT_EQ(r2->n_directives, 0);      /* but not a directive of the parse */
  mtk_autofree char *e1 = parse_error("# escape=`\n#ESCAPE=\\\nFROM a\n", 28);
  MTK_ASSERT_STREQ(e1, "Dockerfile:2: only one escape parser directive can be used");
  const char *t2 = "#syntax=a\n# escape = x \nFROM a\n";
  mtk_autofree char *e2 = parse_error(t2, strlen(t2));
  MTK_ASSERT_STREQ(e2, "Dockerfile:2: invalid escape token 'x' does not match ` or \\");
  return 0;
}

static int test_errors(void)
{
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"", "Dockerfile: file with no instructions"},
      {"# only\n\n# comments\n", "Dockerfile:3: file with no instructions"},
      {"FROM a\n\nENV PATH\n", "Dockerfile:3: ENV must have two arguments"},
      {"FROM a\nLABEL a=b \\\n  c\n",
       "Dockerfile:2: Syntax error - can't find = in \"c\". Must be of the form: name=value"},
      {"FROM a\nCMD [ \"echo\", [ \"nested json\" ] ]\n",
       "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only"},
      {"FROM a\nRUN <<EOF\nbody\n", "Dockerfile:2: unterminated heredoc"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    mtk_autofree char *msg = parse_error(cases[i].text, strlen(cases[i].text));
    MTK_ASSERT_STREQ(msg, cases[i].want);
  }
  /* A line of 65536 bytes is too long; 65535 is not. */
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "FROM a\nLABEL a=");
  while (sb.len < 7 + 65535)
    mtk_strbuf_addc(&sb, 'b');
  mtk_autofree char *ok = parse_error(sb.buf, sb.len);
  MTK_ASSERT_STREQ(ok, "");
  mtk_strbuf_adds(&sb, "b\nRUN x\n");
  mtk_autofree char *too_long = parse_error(sb.buf, sb.len);
  MTK_ASSERT_STREQ(too_long,
                   "Dockerfile:2: dockerfile line greater than max allowed size of 65535");
  return 0;
}

static int test_forms(void)
{
  mtk_autoptr(mtk_df_result) r = parse("FROM --platform=$P img AS b\n"
                                       "CMD [\"a\", \"\\u00e9\\ud83d\\ude00\", \"\\ud800\"]\n"
                                       "CMD ['a']\n"
                                       "ENTRYPOINT [\"a\", 1e400]\n"
                                       "ADD --chown=1:1 -- --x a  b\n"
                                       "ENV A B C\n"
                                       "HEALTHCHECK --interval=5s CMD [\"x\"]\n"
                                       "ARG a=\"1 2\" b\n"
                                       "EXPOSE 80 443/udp\n"
                                       "ONBUILD ONBUILD ADD x y\n"
                                       "bogus x y\n");
  MTK_ASSERT(r);
  struct mtk_df_node **c = r->ast->children;
  MTK_ASSERT(c[1]->json && !c[2]->json && !c[3]->json && c[6]->json);
  MTK_ASSERT_STREQ(c[0]->flags[0].s, "--platform=$P");
  mtk_autofree char *d = dump(r);
  MTK_ASSERT_STREQ(d, "(from [\"--platform=$P\"] \"img\" \"AS\" \"b\")\n"
                      "(cmd \"a\" \"é😀\" \"�\")\n"
                      "(cmd \"['a']\")\n"
                      "(entrypoint \"[\\\"a\\\", 1e400]\")\n"
                      "(add [\"--chown=1:1\"] \"--x\" \"a\" \"b\")\n"
                      "(env \"A\" \"B C\" \"\")\n"
                      "(healthcheck [\"--interval=5s\"] \"CMD\" \"x\")\n"
                      "(arg \"a=\\\"1 2\\\"\" \"b\")\n"
                      "(expose \"80\" \"443/udp\")\n"
                      "(onbuild (onbuild (add \"x\" \"y\")))\n"
                      "(bogus \"\")");
  /* ONBUILD's sub-instruction keeps its own text. */
  MTK_ASSERT_STREQ(c[9]->next->children[0]->original, "ONBUILD ADD x y");
  return 0;
}

static int test_json_nul_and_quote(void)
{
  mtk_autoptr(mtk_df_result) r = parse("CMD [\"a\\u0000b\", \"\\t\\u007f\\u200b\"]\n");
  MTK_ASSERT(r);
  const struct mtk_df_node *a = r->ast->children[0]->next;
  MTK_ASSERT_EQ(a->value_len, 3);
  MTK_ASSERT(memcmp(a->value, "a\0b", 3) == 0);
  mtk_autofree char *d = dump(r);
  MTK_ASSERT_STREQ(d, "(cmd \"a\\x00b\" \"\\t\\x7f\\u200b\")");
  return 0;
}

static int test_deep_onbuild(void)
{
  /* 200000 nested ONBUILDs through continuation lines: neither the parser nor the dump
   * may recurse on the C stack. */
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  for (int i = 0; i < 200000; i++)
    mtk_strbuf_adds(&sb, "ONBUILD \\\n");
  mtk_strbuf_adds(&sb, "RUN x\n");
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_df_result) r = mtk_dockerfile_parse("Dockerfile", sb.buf, sb.len, &err);
  MTK_ASSERT(r);
  MTK_ASSERT_EQ(r->ast->children[0]->end_line, 200001);
  size_t len;
  mtk_autofree char *d = mtk_dockerfile_dump_n(r->ast, &len);
  MTK_ASSERT_EQ(len, 200000 * strlen("(onbuild )") + strlen("(run \"x\")"));
  MTK_ASSERT(strncmp(d, "(onbuild (onbuild (", 19) == 0);
  MTK_ASSERT(memcmp(d + len - 200000 - 9, "(run \"x\"))))", 12) == 0);
  return 0;
}

/* The heredoc lexer is shlex.h's: a NUL byte in a delimiter is kept (Go strings hold them);
 * ${...} nested 200 deep still names a heredoc, nested 200000 deep (through continuation
 * lines) is a lexing error of the line, so no heredoc, and does not overflow the C stack. */
static int test_heredoc_lexing(void)
{
  static const char nul[] = "FROM a\nRUN <<E\0F cat\nbody\nE\0F\n";
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_df_result) r = mtk_dockerfile_parse("Dockerfile", nul, sizeof(nul) - 1, &err);
  MTK_ASSERT(r);
  const struct mtk_df_node *run = r->ast->children[1];
  MTK_ASSERT_EQ(run->n_heredocs, 1);
  MTK_ASSERT_EQ(run->heredocs[0].name_len, 3);
  MTK_ASSERT(memcmp(run->heredocs[0].name, "E\0F", 4) == 0);
  MTK_ASSERT_STREQ(run->heredocs[0].content, "body\n");

  for (int deep = 0; deep < 2; deep++) {
    int levels = deep ? 200000 : 200;
    mtk_autostrbuf sb = MTK_STRBUF_INIT;
    mtk_strbuf_adds(&sb, "FROM a\nRUN <<EOF echo ");
    for (int i = 0; i < levels; i++)
      mtk_strbuf_adds(&sb, i % 5000 == 4999 ? "${a:-\\\n" : "${a:-");
    for (int i = 0; i < levels; i++)
      mtk_strbuf_adds(&sb, i % 5000 == 4999 && i + 1 < levels ? "}\\\n" : "}");
    mtk_strbuf_adds(&sb, "\nEOF\n");
    mtk_autoptr(mtk_df_result) d = mtk_dockerfile_parse("Dockerfile", sb.buf, sb.len, &err);
    MTK_ASSERT(d);
    if (!deep) {
      MTK_ASSERT_EQ(d->ast->n_children, 2);
      MTK_ASSERT_EQ(d->ast->children[1]->n_heredocs, 1);
      MTK_ASSERT_STREQ(d->ast->children[1]->heredocs[0].name, "EOF");
    } else {
      /* Without the heredoc, the line "EOF" is an instruction of its own. */
      MTK_ASSERT_EQ(d->ast->n_children, 3);
      MTK_ASSERT_EQ(d->ast->children[1]->n_heredocs, 0);
      MTK_ASSERT_STREQ(d->ast->children[2]->value, "EOF");
    }
  }
  return 0;
}

static int test_linear_time(void)
{
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  mtk_strbuf_adds(&sb, "# syntax=docker/dockerfile:1\nFROM alpine AS base\n");
  for (int i = 0; i < 2000; i++)
    mtk_strbuf_addf(&sb,
                    "# step %d\nRUN apk add --no-cache pkg%d \\\n    && echo done\n"
                    "ENV A%d=\"v $X\" B=c\nCOPY --chown=1:1 [\"a%d\", \"/b\"]\n",
                    i, i, i, i);
  struct mtk_err *err = NULL;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  mtk_autoptr(mtk_df_result) r = mtk_dockerfile_parse("Dockerfile", sb.buf, sb.len, &err);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  MTK_ASSERT(r);
  MTK_ASSERT_EQ(r->ast->n_children, 6001);
  double ms = (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6;
  printf("# 10002 lines parsed in %.1f ms\n", ms);
  /* Generous bound (sanitizer builds are slower); the release build takes a few ms. */
  MTK_ASSERT(ms < 1000);
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"start and end lines, warnings", test_lines},
      {"CRLF, BOM, continuation at EOF", test_crlf_bom_and_eof},
      {"heredocs", test_heredocs},
      {"heredoc words", test_heredoc_words},
      {"escape directive", test_escape_directive},
      {"directive rules", test_directive_rules},
      {"errors name the line", test_errors},
      {"instruction forms", test_forms},
      {"JSON NUL and quoting", test_json_nul_and_quote},
      {"deep ONBUILD chain", test_deep_onbuild},
      {"heredoc lexing: NUL bytes, deep ${...}", test_heredoc_lexing},
      {"linear time", test_linear_time},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
