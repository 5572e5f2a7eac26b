/* The .env file parser, as compose-go's dotenv package: KEY=VALUE lines, `export`,
 * comments, single quotes (literal), double quotes (escapes, interpolation), unquoted
 * values with interpolation, `KEY: value`, a bare `KEY` taken from the lookup, and a
 * leading UTF-8 byte order mark. */
#ifndef MTK_COMPOSE_DOTENV_H
#define MTK_COMPOSE_DOTENV_H

#include <stddef.h>

#include "compose/interp.h"
#include "mtk/err.h"

struct mtk_strmap;

/* Parses .env text. Values may reference earlier keys of the same text and then `lookup`
   (compose-go order); a line "KEY" alone takes KEY from lookup (skipped when unset, as
   compose-go does); single quotes literal; double-quote escapes; `export`; comments; `KEY: v`;
   UTF-8 BOM. Errors (MTK_E_INVALID) name filename and line: "FILE:LINE: ...". Results are
   added to *out in file order (a key already in *out is overwritten in place).
   `lookup` may be NULL; `filename` may be NULL (then ".env" is used in messages). */
int mtk_dotenv_parse(const char *text, size_t len, const char *filename,
                     mtk_interp_lookup_cb lookup, void *ud, struct mtk_strmap *out,
                     struct mtk_err **err);

/* Reads and parses a file; a missing file is an error with code ENOENT naming the path. */
int mtk_dotenv_read_file(const char *path, mtk_interp_lookup_cb lookup, void *ud,
                         struct mtk_strmap *out, struct mtk_err **err);

#endif
