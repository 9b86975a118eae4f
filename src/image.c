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

int sp_image_add_alpha(sp_image *img)
{
    if (img->channels != 3) return SP_OK;
    sp_image out = {0};
    int rc = sp_image_alloc(&out, img->width, img->height, 4);
    if (rc != SP_OK) return rc;
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *s = img->data + (size_t)y * img->stride;
        uint8_t *d = out.data + (size_t)y * out.stride;
        for (uint32_t x = 0; x < img->width; x++, s += 3, d += 4) {
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
            d[3] = 255;
        }
    }
    sp_image_move(img, &out);
    return SP_OK;
}

void sp_image_move(sp_image *dst, sp_image *src)
{
    if (dst == src) return;
    sp_image_release(dst);
    *dst = *src;
    memset(src, 0, sizeof(*src));
}
