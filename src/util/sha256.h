/* Streaming SHA-256 (OpenSSL EVP) and the "sha256:<hex>" digest strings of
 * the OCI image spec: blobs are named, verified and compared by these.
 * Only sha256 is accepted anywhere a digest reaches a path or a URL
 * (ispec descriptor.md; CVE-2024-3727). */
#ifndef MTK_UTIL_SHA256_H
#define MTK_UTIL_SHA256_H

#include <stdbool.h>
#include <stddef.h>

/* "sha256:" + 64 hex + NUL. */
#define MTK_DIGEST_SIZE 72
/* 64 hex + NUL. */
#define MTK_SHA256_HEX_SIZE 65
#define MTK_SHA256_RAW_SIZE 32

struct mtk_sha256 {
  void *ctx; /* owned: EVP_MD_CTX; NULL once finalised or freed */
};

/* Starts a hash.  OpenSSL failures (out of memory) abort, like mtk_xmalloc. */
void mtk_sha256_init(struct mtk_sha256 *h);
void mtk_sha256_update(struct mtk_sha256 *h, const void *buf, size_t n);
/* Finishes the hash: "sha256:<64 lowercase hex>".  Releases the context. */
void mtk_sha256_final(struct mtk_sha256 *h, char out[MTK_DIGEST_SIZE]);
/* Finishes the hash: the 32 raw bytes.  Releases the context. */
void mtk_sha256_final_raw(struct mtk_sha256 *h, unsigned char out[MTK_SHA256_RAW_SIZE]);
/* Copies the running state of src into dst (dst must not be initialised). */
void mtk_sha256_copy(struct mtk_sha256 *dst, const struct mtk_sha256 *src);
/* Releases an unfinished hash; accepts a finished or zeroed one. */
void mtk_sha256_free(struct mtk_sha256 *h);

#define mtk_autosha256 __attribute__((cleanup(mtk_sha256_free))) struct mtk_sha256

/* One shot: the 64 lowercase hex characters of sha256(buf). */
void mtk_sha256_hex(const void *buf, size_t len, char out[MTK_SHA256_HEX_SIZE]);
/* One shot: "sha256:<hex>" of buf. */
void mtk_sha256_digest(const void *buf, size_t len, char out[MTK_DIGEST_SIZE]);

/* True when s is exactly "sha256:" followed by 64 lowercase hex digits.
 * Any other algorithm, case, length or character is refused. */
bool mtk_digest_valid(const char *s);
/* The hex part of a valid digest (s + 7); NULL when s is not valid. */
const char *mtk_digest_hex(const char *s);

#endif
