#include "internal.h"

#include <stdlib.h>
#include <string.h>

int sp_image_alloc(sp_image *img, uint32_t width, uint32_t height, uint32_t channels)
{
    sp_image_release(img);
    if (width == 0 || height == 0 || channels == 0 || channels > 4) return SP_E_USAGE;
    /* Overflow-checked before anything is allocated: dimensions come from untrusted files. */
    uint64_t stride = (uint64_t)width * channels;
    if (stride > SIZE_MAX / height || stride * height > ((uint64_t)1 << 40)) return SP_E_LIMIT;
    uint8_t *p = malloc((size_t)(stride * height));
    if (!p) return SP_E_NOMEM;
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->stride = (size_t)stride;
    img->data = p;
    return SP_OK;
}

void sp_image_release(sp_image *img)
{
    free(img->data);
    memset(img, 0, sizeof(*img));
}

void sp_image_move(sp_image *dst, sp_image *src)
{
    if (dst == src) return;
    sp_image_release(dst);
    *dst = *src;
    memset(src, 0, sizeof(*src));
}
