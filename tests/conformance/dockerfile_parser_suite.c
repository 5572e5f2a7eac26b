/* The dockerfile-parser suite of mtk-conformance (shared/conformance/dockerfile/README.md):
 * `dockerfile-parser DIR...` where each DIR is a case folder (it holds a Dockerfile) or a
 * folder of such folders, walked recursively in name order.  A case with a `result` file
 * must parse and dump (BuildKit's Node.Dump() + "\n") to exactly its bytes; a case with
 * `expected-lines` must parse with those start/end lines (root first, then one line per
 * instruction; '#' lines are comments); a case with neither must fail to parse.  Prints
 * one line per failing case and ends with "N passed, M failed". */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build/dockerfile.h"
#include "conformance.h"
#include "util/cleanup.h"
#include "util/strbuf.h"

struct tally {
  size_t passed; /* cases that passed */
  size_t failed; /* cases that failed (each printed) */
  bool broken;   /* a folder or file could not be read */
};

/* The whole file, or NULL (errno set) when it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
  mtk_autofclose FILE *f = fopen(path, "rb");
  mtk_autostrbuf sb = MTK_STRBUF_INIT;
  char buf[65536];
  size_t n;
  if (!f)
    return NULL;
  mtk_strbuf_add(&sb, "", 0);
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    mtk_strbuf_add(&sb, buf, n);
  if (ferror(f))
    return NULL;
  *len = sb.len;
  return mtk_strbuf_steal(&sb);
}

static bool exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Compares the lines of the tree with an expected-lines file. */
static bool check_lines(const char *dir, const struct mtk_df_result *r, const char *want)
{
  const struct mtk_df_node *ast = r->ast;
  size_t k = 0; /* 0 = root, then children */
  for (const char *p = want; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t) (nl - p) : strlen(p);
    mtk_autofree char *line = mtk_xstrndup(p, n);
    p += nl ? n + 1 : n;
    int s, e;
    if (line[0] == '#' || line[strspn(line, " \t\r")] == '\0')
      continue;
    if (sscanf(line, "%d %d", &s, &e) != 2) {
      printf("FAIL %s: malformed expected-lines line \"%s\"\n", dir, line);
      return false;
    }
    if (k > ast->n_children) {
      printf("FAIL %s: %zu instructions, expected-lines has more\n", dir, ast->n_children);
      return false;
    }
    const struct mtk_df_node *node = k == 0 ? ast : ast->children[k - 1];
    if (node->start_line != s || node->end_line != e) {
      printf("FAIL %s: %s %zu spans %d-%d, expected %d-%d\n", dir, k ? "instruction" : "root", k,
             node->start_line, node->end_line, s, e);
      return false;
    }
    k++;
  }
  if (k != ast->n_children + 1) {
    printf("FAIL %s: %zu instructions, expected-lines lists %zu\n", dir, ast->n_children,
           k ? k - 1 : 0);
    return false;
  }
  return true;
}

/* Runs one case folder; false when it failed (already printed). */
static bool run_case(const char *dir)
{
  mtk_autofree char *df_path = mtk_xasprintf("%s/Dockerfile", dir);
  mtk_autofree char *res_path = mtk_xasprintf("%s/result", dir);
  mtk_autofree char *lines_path = mtk_xasprintf("%s/expected-lines", dir);
  size_t len, want_len = 0;
  mtk_autofree char *text = slurp(df_path, &len);
  if (!text) {
    printf("FAIL %s: cannot read Dockerfile: %s\n", dir, strerror(errno));
    return false;
  }
  bool has_result = exists(res_path), has_lines = exists(lines_path);
  mtk_autofree char *want = has_result  ? slurp(res_path, &want_len)
                            : has_lines ? slurp(lines_path, &want_len)
                                        : NULL;
  if ((has_result || has_lines) && !want) {
    printf("FAIL %s: cannot read the expectation: %s\n", dir, strerror(errno));
    return false;
  }
  struct mtk_err *err = NULL;
  mtk_autoptr(mtk_df_result) r = mtk_dockerfile_parse("Dockerfile", text, len, &err);
  mtk_autofree char *msg = err ? mtk_err_format(err) : NULL;
  mtk_err_free(&err);
  if (!want) {
    if (r)
      printf("FAIL %s: parsed, but the case expects an error\n", dir);
    return !r;
  }
  if (!r) {
    printf("FAIL %s: %s\n", dir, msg);
    return false;
  }
  if (has_lines)
    return check_lines(dir, r, want);
  size_t got_len;
  mtk_autofree char *got = mtk_dockerfile_dump_n(r->ast, &got_len);
  if (got_len + 1 == want_len && memcmp(got, want, got_len) == 0 && want[got_len] == '\n')
    return true;
  printf("FAIL %s: dump differs\n--- expected\n%.*s--- got\n%s\n", dir, (int) want_len, want, got);
  return false;
}

static int by_name(const void *a, const void *b)
{
  return strcmp(*(char *const *) a, *(char *const *) b);
}

static void run_dir(const char *dir, struct tally *t)
{
  mtk_autofree char *df = mtk_xasprintf("%s/Dockerfile", dir);
  if (exists(df)) {
    if (run_case(dir))
      t->passed++;
    else
      t->failed++;
    return;
  }
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "dockerfile-parser: %s: %s\n", dir, strerror(errno));
    t->broken = true;
    return;
  }
  char **names = NULL;
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.')
      continue;
    mtk_autofree char *sub = mtk_xasprintf("%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
      names = mtk_xrealloc(names, (n + 1) * sizeof(*names));
      names[n++] = mtk_steal_ptr(&sub);
    }
  }
  closedir(d);
  qsort(names, n, sizeof(*names), by_name);
  for (size_t i = 0; i < n; i++) {
    run_dir(names[i], t);
    free(names[i]);
  }
  free(names);
}

int mtk_conf_dockerfile_parser(int argc, char **argv)
{
  struct tally t = {0, 0, false};
  if (argc < 2) {
    fprintf(stderr, "usage: mtk-conformance dockerfile-parser DIR...\n");
    return 2;
  }
  for (int i = 1; i < argc; i++)
    run_dir(argv[i], &t);
  printf("%zu passed, %zu failed\n", t.passed, t.failed);
  if (t.broken || t.passed + t.failed == 0)
    return 2;
  return t.failed ? 1 : 0;
}
