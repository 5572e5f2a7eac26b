/* Unit tests for the streaming SHA-256 helper and digest validation:
 * FIPS 180-2 vectors, streaming in odd pieces equals one shot, copies of a
 * running state, and the digest grammar (CVE-2024-3727 inputs). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "util/cleanup.h"
#include "util/sha256.h"

static int test_vectors(void)
{
  static const struct {
    const char *in, *hex;
  } v[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {"{}", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
  };
  for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
    char hex[MTK_SHA256_HEX_SIZE], dg[MTK_DIGEST_SIZE];
    mtk_sha256_hex(v[i].in, strlen(v[i].in), hex);
    MTK_ASSERT_STREQ(hex, v[i].hex);
    mtk_sha256_digest(v[i].in, strlen(v[i].in), dg);
    MTK_ASSERT(strncmp(dg, "sha256:", 7) == 0);
    MTK_ASSERT_STREQ(dg + 7, v[i].hex);
    MTK_ASSERT(mtk_digest_valid(dg));
  }
  return 0;
}

static int test_million_a_streamed(void)
{
  /* FIPS 180-2: one million 'a', fed in uneven pieces. */
  char buf[997];
  memset(buf, 'a', sizeof(buf));
  mtk_autosha256 h;
  mtk_sha256_init(&h);
  size_t left = 1000000;
  while (left) {
    size_t n = left < sizeof(buf) ? left : sizeof(buf);
    mtk_sha256_update(&h, buf, n);
    left -= n;
  }
  char dg[MTK_DIGEST_SIZE];
  mtk_sha256_final(&h, dg);
  MTK_ASSERT(h.ctx == NULL);
  MTK_ASSERT_STREQ(dg, "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  return 0;
}

static int test_copy_and_raw(void)
{
  struct mtk_sha256 a, b;
  mtk_sha256_init(&a);
  mtk_sha256_update(&a, "ab", 2);
  mtk_sha256_copy(&b, &a);
  mtk_sha256_update(&a, "c", 1);
  mtk_sha256_update(&b, "x", 1);
  unsigned char raw[MTK_SHA256_RAW_SIZE];
  mtk_sha256_final_raw(&a, raw);
  MTK_ASSERT_EQ(raw[0], 0xba);
  MTK_ASSERT_EQ(raw[31], 0xad);
  char dg[MTK_DIGEST_SIZE], want[MTK_DIGEST_SIZE];
  mtk_sha256_final(&b, dg);
  mtk_sha256_digest("abx", 3, want);
  MTK_ASSERT_STREQ(dg, want);
  mtk_sha256_free(&a); /* already released: must be harmless */
  return 0;
}

static int test_digest_grammar(void)
{
  static const char good[] =
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  MTK_ASSERT(mtk_digest_valid(good));
  MTK_ASSERT_STREQ(mtk_digest_hex(good), good + 7);
  static const char *const bad[] = {
      NULL,
      "",
      "sha256:",
      "sha256:../../etc/passwd",
      "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85/",
      "sha256:%2e%2e",
      "md5:d41d8cd98f00b204e9800998ecf8427e",
      "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      " sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (mtk_digest_valid(bad[i])) {
      printf("#   accepted bad digest %s\n", bad[i] ? bad[i] : "(null)");
      return 1;
    }
    MTK_ASSERT(mtk_digest_hex(bad[i]) == NULL);
  }
  return 0;
}

int main(void)
{
  static const struct mtk_test tests[] = {
      {"fips vectors and one-shot digests", test_vectors},
      {"one million 'a' streamed in pieces", test_million_a_streamed},
      {"copy of a running hash, raw output", test_copy_and_raw},
      {"digest grammar refuses everything but sha256:<64 lowercase hex>", test_digest_grammar},
      {NULL, NULL},
  };
  return mtk_test_main(tests);
}
