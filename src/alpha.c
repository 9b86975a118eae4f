/*
 * Premultiplied alpha (src/alpha.h): whole-image conversions for the separable resampler.
 * The warp premultiplies its four taps per output pixel instead (src/geometry.c), which
 * gives the same values without a copy of the image.
 */
#include "alpha.h"

#include <string.h>

bool sp_image_opaque(const sp_image *img)
{
    const uint32_t ch = img->channels, ai = sp_alpha_index(ch);
    if (!ai) return true;
    /* Eight bytes at a time (a whole number of pixels, since ch is 2 or 4): the AND of a
     * row's words has 0xff at the alpha bytes only if every alpha is 255. One branch per
     * row; at memory speed, next to nothing beside a resample. */
    const size_t row = (size_t)img->width * ch, words = row / 8;
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *p = img->data + (size_t)y * img->stride;
        uint64_t all = ~(uint64_t)0;
        for (size_t i = 0; i < words; i++) {
            uint64_t w;
            memcpy(&w, p + 8 * i, 8);
            all &= w;
        }
        uint8_t bytes[8];
        memcpy(bytes, &all, 8);
        uint8_t alpha = 0xff;
        for (uint32_t b = ai; b < 8; b += ch) alpha &= bytes[b];
        for (size_t b = 8 * words + ai; b < row; b += ch) alpha &= p[b];
        if (alpha != 0xff) return false;
    }
    return true;
}

sp_image sp_image_premultiply(const sp_image *src, uint8_t *buf)
{
    const uint32_t ch = src->channels, ai = sp_alpha_index(ch);
    const size_t stride = (size_t)src->width * ch;
    for (uint32_t y = 0; y < src->height; y++) {
        const uint8_t *in = src->data + (size_t)y * src->stride;
        uint8_t *o = buf + (size_t)y * stride;
        for (uint32_t x = 0; x < src->width; x++, in += ch, o += ch) {
            const uint32_t a = in[ai];
            for (uint32_t c = 0; c < ai; c++) o[c] = sp_premul8(in[c], a);
            o[ai] = (uint8_t)a;
        }
    }
    return (sp_image){.width = src->width, .height = src->height, .channels = ch,
                      .stride = stride, .data = buf};
}

void sp_image_unpremultiply(sp_image *img)
{
    const uint32_t ch = img->channels, ai = sp_alpha_index(ch);
    if (!ai) return;
    for (uint32_t y = 0; y < img->height; y++) {
        uint8_t *p = img->data + (size_t)y * img->stride;
        for (uint32_t x = 0; x < img->width; x++, p += ch) {
            const uint32_t a = p[ai];
            if (a == 0 || a == 255) continue;
            for (uint32_t c = 0; c < ai; c++) p[c] = sp_unpremul8(p[c], a);
        }
    }
}
