/*
 * Premultiplied alpha (src/alpha.h): whole-image conversions for the separable resampler.
 * The warp premultiplies its four taps per output pixel instead (src/geometry.c), which
 * gives the same values without a copy of the image.
 */
#include "alpha.h"


bool sp_image_opaque(const sp_image *img)
{
    const uint32_t ch = img->channels, ai = sp_alpha_index(ch);
    if (!ai) return true;
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *p = img->data + (size_t)y * img->stride + ai;
        /* AND of the alphas: one branch per row instead of one per pixel. */
        uint8_t all = 0xff;
        for (uint32_t x = 0; x < img->width; x++) all &= p[(size_t)x * ch];
        if (all != 0xff) return false;
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
