/* Streaming SHA-256 over OpenSSL's EVP interface and the validation of
 * "sha256:<hex>" digest strings.  EVP failures can only be allocation
 * failures here (SHA-256 is always available), so they abort like
 * mtk_xmalloc does. */
#include "config.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "util/sha256.h"

static const char hexdigits[] = "0123456789abcdef";

static void check(int ok)
{
  if (!ok)
    abort();
}

void mtk_sha256_init(struct mtk_sha256 *h)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  check(ctx != NULL);
  check(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL));
  h->ctx = ctx;
}

void mtk_sha256_update(struct mtk_sha256 *h, const void *buf, size_t n)
{
  if (n > 0)
    check(EVP_DigestUpdate(h->ctx, buf, n));
}

void mtk_sha256_final_raw(struct mtk_sha256 *h, unsigned char out[MTK_SHA256_RAW_SIZE])
{
  unsigned int len = 0;
  check(EVP_DigestFinal_ex(h->ctx, out, &len) && len == MTK_SHA256_RAW_SIZE);
  mtk_sha256_free(h);
}

static void to_hex(const unsigned char *raw, char *out)
{
  for (int i = 0; i < MTK_SHA256_RAW_SIZE; i++) {
    out[2 * i] = hexdigits[raw[i] >> 4];
    out[2 * i + 1] = hexdigits[raw[i] & 15];
  }
  out[2 * MTK_SHA256_RAW_SIZE] = '\0';
}

void mtk_sha256_final(struct mtk_sha256 *h, char out[MTK_DIGEST_SIZE])
{
  unsigned char raw[MTK_SHA256_RAW_SIZE];
  mtk_sha256_final_raw(h, raw);
  memcpy(out, "sha256:", 7);
  to_hex(raw, out + 7);
}

void mtk_sha256_copy(struct mtk_sha256 *dst, const struct mtk_sha256 *src)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  check(ctx != NULL);
  check(EVP_MD_CTX_copy_ex(ctx, src->ctx));
  dst->ctx = ctx;
}

void mtk_sha256_free(struct mtk_sha256 *h)
{
  if (h && h->ctx) {
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
  }
}

void mtk_sha256_hex(const void *buf, size_t len, char out[MTK_SHA256_HEX_SIZE])
{
  unsigned char raw[MTK_SHA256_RAW_SIZE];
  unsigned int n = 0;
  check(EVP_Digest(buf, len, raw, &n, EVP_sha256(), NULL) && n == MTK_SHA256_RAW_SIZE);
  to_hex(raw, out);
}

void mtk_sha256_digest(const void *buf, size_t len, char out[MTK_DIGEST_SIZE])
{
  memcpy(out, "sha256:", 7);
  mtk_sha256_hex(buf, len, out + 7);
}

bool mtk_digest_valid(const char *s)
{
  if (s == NULL || strncmp(s, "sha256:", 7) != 0)
    return false;
  s += 7;
  for (int i = 0; i < 64; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  }
  return s[64] == '\0';
}

const char *mtk_digest_hex(const char *s)
{
  return mtk_digest_valid(s) ? s + 7 : NULL;
}
