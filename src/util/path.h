/* Lexical path helpers with the semantics of Go's path/filepath on Unix
 * ('/' separators, no volume names): compose files name paths the way
 * compose-go resolves them.  Nothing here touches the file system.  Every
 * result is a new string owned by the caller. */
#ifndef MTK_UTIL_PATH_H
#define MTK_UTIL_PATH_H

/* filepath.Clean: the shortest equivalent path ("a//b/./c/.." -> "a/b",
 * "/../a" -> "/a", "a/../.." -> ".."; "" -> "."). */
char *mtk_path_clean(const char *p);

/* filepath.Join(a, b): the non-empty elements joined with '/' and cleaned
 * ("/w" + "../x" -> "/x"); "" when both are empty (NULL counts as "").  An
 * absolute b is joined too (Join("a", "/b") is "a/b"). */
char *mtk_path_join(const char *a, const char *b);

/* filepath.Dir: everything before the last '/', cleaned ("/a/b" -> "/a",
 * "/a/b/" -> "/a/b", "a" -> ".", "/" -> "/"). */
char *mtk_path_dir(const char *p);

/* p made absolute against the directory base as compose-go's loader does it
 * (`if filepath.IsAbs(p) { return p }; return filepath.Join(base, p)`): an
 * absolute p is returned as written, not cleaned. */
char *mtk_path_abs(const char *base, const char *p);

#endif
