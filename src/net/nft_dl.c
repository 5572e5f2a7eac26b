/* libnftables, loaded on first use (see util/dl.h): this file defines the
 * nft_* functions of <nftables/libnftables.h>, each forwarding to
 * libnftables.so.1 opened by dlopen the first time any of them runs, so that
 * only the network code paths map libnftables (and its libjansson, libgmp,
 * libxtables...) and a supervisor never does.
 *
 * When libnftables cannot be loaded, nft_ctx_new returns NULL and the other
 * functions return -1, NULL, false or 0 without touching their context; the
 * caller names the reason with mtk_dl_error(MTK_DL_NFTABLES)
 * ("libnftables.so.1 is not installed: apt-get install libnftables1"). */
#include "config.h"

#include <nftables/libnftables.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "util/dl.h"

#define CTX struct nft_ctx *c

/* F(name, ret, (params), (args), failure value), V(name, (params), (args)). */
#define NFT_FUNCS(F, V, M)                                                                         \
  F(nft_ctx_new, struct nft_ctx *, (uint32_t flags), (flags), NULL)                                \
  V(nft_ctx_free, (CTX), (c))                                                                      \
  F(nft_ctx_get_dry_run, bool, (CTX), (c), false)                                                  \
  V(nft_ctx_set_dry_run, (CTX, bool dry), (c, dry))                                                \
  F(nft_ctx_output_get_flags, unsigned int, (CTX), (c), 0)                                         \
  V(nft_ctx_output_set_flags, (CTX, unsigned int flags), (c, flags))                               \
  F(nft_ctx_output_get_debug, unsigned int, (CTX), (c), 0)                                         \
  V(nft_ctx_output_set_debug, (CTX, unsigned int mask), (c, mask))                                 \
  F(nft_ctx_set_output, FILE *, (CTX, FILE * f), (c, f), NULL)                                     \
  F(nft_ctx_buffer_output, int, (CTX), (c), -1)                                                    \
  F(nft_ctx_unbuffer_output, int, (CTX), (c), -1)                                                  \
  F(nft_ctx_get_output_buffer, const char *, (CTX), (c), NULL)                                     \
  F(nft_ctx_set_error, FILE *, (CTX, FILE * f), (c, f), NULL)                                      \
  F(nft_ctx_buffer_error, int, (CTX), (c), -1)                                                     \
  F(nft_ctx_unbuffer_error, int, (CTX), (c), -1)                                                   \
  F(nft_ctx_get_error_buffer, const char *, (CTX), (c), NULL)                                      \
  F(nft_ctx_add_include_path, int, (CTX, const char *path), (c, path), -1)                         \
  V(nft_ctx_clear_include_paths, (CTX), (c))                                                       \
  F(nft_ctx_add_var, int, (CTX, const char *var), (c, var), -1)                                    \
  V(nft_ctx_clear_vars, (CTX), (c))                                                                \
  F(nft_run_cmd_from_buffer, int, (CTX, const char *buf), (c, buf), -1)                            \
  F(nft_run_cmd_from_filename, int, (CTX, const char *path), (c, path), -1)

MTK_DL_SHIMS(NFT_FUNCS, MTK_DL_NFTABLES, "libnftables1")
