/*
 * sp_image: an 8-bit interleaved image, the unit every pixel stage works on.
 */
#ifndef SHARDPACK_IMAGE_H
#define SHARDPACK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_image {
    uint32_t width;
    uint32_t height;
    uint32_t channels; /* 1 (gray), 3 (RGB) or 4 (RGBA) */
    size_t stride;     /* bytes per row, >= width * channels */
    uint8_t *data;     /* owned by the image; freed by sp_image_release */
} sp_image;

/* Allocates data for a width×height×channels image (uninitialised). Fails with
 * SP_E_LIMIT when the size overflows and SP_E_NOMEM when allocation fails. `img` is
 * caller storage; a previous buffer is released first. */
int sp_image_alloc(sp_image *img, uint32_t width, uint32_t height, uint32_t channels);
/* Frees the pixels and zeroes the struct. */
void sp_image_release(sp_image *img);
/* Moves src into dst (dst's old pixels freed); src is left empty. */
void sp_image_move(sp_image *dst, sp_image *src);

#ifdef __cplusplus
}
#endif
#endif
