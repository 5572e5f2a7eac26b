/* The Dockerfile parser: text -> AST, with BuildKit's exact behaviour
 * (moby/buildkit frontend/dockerfile/parser).  It owns parser directives
 * (syntax, escape, check), comments, line continuations, heredoc bodies, the
 * split of an instruction into keyword, flags and arguments, the JSON (exec)
 * form, start/end lines, and Node.Dump().  It does not expand variables (that
 * is the shell-word lexer) nor give instructions a meaning (the stage layer).
 *
 * Strings in the tree are NUL-terminated; those that may hold a NUL byte of
 * the input (a JSON "\u0000", a raw NUL in the file) also carry their length. */
#ifndef MTK_BUILD_DOCKERFILE_H
#define MTK_BUILD_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "mtk/err.h"
#include "util/cleanup.h"

/* A byte string that may contain NUL bytes; s is NUL-terminated at len. */
struct mtk_df_str {
  char *s;    /* owned by the result's arena */
  size_t len; /* bytes, without the final NUL */
};

/* A heredoc attached to an instruction (BuildKit's parser.Heredoc). */
struct mtk_df_heredoc {
  char *name;            /* the delimiter word, quotes removed ("EOF") */
  size_t name_len;       /* bytes of name */
  char *content;         /* body lines as read, each with its "\n" (not chomped: see
                            mtk_df_heredoc_chomp); "" when empty */
  size_t content_len;    /* bytes of content */
  unsigned long long fd; /* file descriptor before "<<" ("3<<EOF" -> 3), 0 by default */
  bool expand;           /* false when any part of the delimiter was quoted */
  bool chomp;            /* "<<-": leading tabs are stripped from the body and delimiter */
};

/* AST node, as BuildKit's parser.Node.  The root has value "" and one child per
 * instruction.  An instruction node has value = the keyword as written
 * (mtk_dockerfile_dump lower-cases it; compare with strcasecmp), next = its
 * argument chain, flags, json, original, lines, heredocs and prev_comment.
 * Argument nodes have value (and, for ONBUILD, one child: the sub-instruction
 * node, whose own lines are 0). */
struct mtk_df_node {
  char *value;                     /* owned (arena) */
  size_t value_len;                /* bytes of value (a JSON "\u0000" gives a NUL) */
  struct mtk_df_node *next;        /* next argument, or NULL */
  struct mtk_df_node **children;   /* owned (arena): instructions of the root; 1 for ONBUILD */
  size_t n_children;               /* entries of children */
  struct mtk_df_str *flags;        /* "--from=x" as written, quotes removed (instruction only) */
  size_t n_flags;                  /* entries of flags */
  bool json;                       /* attributes["json"]: the exec (JSON array) form was used */
  char *original;                  /* the whole instruction as written, continuations joined */
  size_t original_len;             /* bytes of original */
  int start_line;                  /* 1-based first line (root: first instruction's) */
  int end_line;                    /* 1-based last line, heredoc bodies included */
  struct mtk_df_heredoc *heredocs; /* owned (arena), in order of appearance */
  size_t n_heredocs;               /* entries of heredocs */
  char **prev_comment;             /* comment lines since the previous instruction (an
                                      empty "#" clears them), as BuildKit: the line without
                                      its first byte, trimmed */
  size_t n_prev_comment;           /* entries of prev_comment */
};

/* A parser warning (BuildKit's parser.Warning). */
struct mtk_df_warning {
  char *short_msg; /* owned (arena): "Empty continuation line found in: RUN ..." */
  char *detail;    /* owned (arena): longer text */
  char *url;       /* owned (arena): documentation link */
  int line;        /* 1-based line the warning is about (BuildKit: the instruction's last) */
};

/* A parser directive found at the top ("# syntax=docker/dockerfile:1"). */
struct mtk_df_directive {
  char *name;  /* owned (arena): lower-cased: "syntax", "escape" or "check" */
  char *value; /* owned (arena): the value, surrounding whitespace removed */
  int line;    /* 1-based line */
};

struct mtk_df_arena;

struct mtk_df_result {
  struct mtk_df_node *ast; /* root (owned by the result) */
  char escape;             /* escape token: '\\' (default) or '`' */
  /* The syntax directive's first word as BuildKit's DetectSyntax finds it ("#" or "//"
   * comments at the top, also after a "#!" line), and the check directive's first word as
   * its ParseDirective does; NULL when absent. */
  char *syntax;
  char *check;
  struct mtk_df_directive *directives; /* all directives, in order */
  size_t n_directives;                 /* entries of directives */
  struct mtk_df_warning *warnings;     /* e.g. empty continuation lines */
  size_t n_warnings;                   /* entries of warnings */
  struct mtk_df_arena *arena;          /* owned: every allocation of the result */
};

/* Parses a Dockerfile (text need not be NUL-terminated).  path is used in
 * error positions only ("Dockerfile:7: ...").  Errors are MTK_E_INVALID with
 * BuildKit's messages (e.g. "file with no instructions", "when using JSON
 * array syntax, arrays must be comprised of strings only", "only one escape
 * parser directive can be used", "unterminated heredoc", "dockerfile line
 * greater than max allowed size of 65535").  Linear in len. */
struct mtk_df_result *mtk_dockerfile_parse(const char *path, const char *text, size_t len,
                                           struct mtk_err **err);

/* Frees the result and its whole tree; accepts NULL. */
void mtk_df_result_free(struct mtk_df_result *r);
MTK_DEFINE_AUTOPTR(mtk_df_result, mtk_df_result_free)

/* BuildKit's Node.Dump(): one "(keyword [flags] args...)" line per
 * instruction of the root (see conformance/dockerfile/README.md), without the
 * final newline.  Works on any node.  Caller frees. */
char *mtk_dockerfile_dump(const struct mtk_df_node *root);
/* The same, with its length in *len: a keyword holding a NUL byte is dumped
 * as is (arguments and flags are quoted). */
char *mtk_dockerfile_dump_n(const struct mtk_df_node *root, size_t *len);

/* BuildKit's parser.ParseHeredoc: if word is a heredoc redirection
 * ("<<EOF", "<<-'EOF'", "3<<\"E\"OF"), fills *out (name allocated with
 * malloc, content NULL) and returns 1; returns 0 when it is not one;
 * negative with *err (MTK_E_INVALID) on a lexing error ("<<'EOF").  Used by
 * COPY/ADD to tell heredoc sources from paths.  Free out->name with free(). */
int mtk_df_parse_heredoc_word(const char *word, struct mtk_df_heredoc *out, struct mtk_err **err);

/* BuildKit's ChompHeredocContent: content with leading tabs of every line
 * removed.  Caller frees; *out_len (if not NULL) receives the length. */
char *mtk_df_heredoc_chomp(const char *content, size_t len, size_t *out_len);

#endif
