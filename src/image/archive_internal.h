/* Shared by archive*.c (save, load, import): the annotation names of image
 * layouts, and the manifest and compression helpers of load and import. */
#ifndef MTK_IMAGE_ARCHIVE_INTERNAL_H
#define MTK_IMAGE_ARCHIVE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

/* containerd's image name annotation (c8dimages.AnnotationImageName). */
#define MTK_ANN_CONTAINERD_NAME "io.containerd.image.name"

/* The OCI layer media type for the first bytes of a layer blob: gzip
 * (1f 8b), zstd (28 b5 2f fd) or plain tar. */
const char *mtk_archive_layer_type(const unsigned char *head, size_t n);

struct mtk_archive_layer {
  const char *digest; /* borrowed */
  int64_t size;
  const char *media_type; /* borrowed */
};

/* Stores an OCI image manifest for config + layers (compact JSON, fixed key
 * order: the same input gives the same digest) and returns its digest and
 * size. */
int mtk_archive_put_manifest(struct mtk_store *s, const char *config_digest, int64_t config_size,
                             const struct mtk_archive_layer *layers, size_t n,
                             char digest[MTK_DIGEST_SIZE], int64_t *size, struct mtk_err **err);

#endif
