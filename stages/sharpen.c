/*
 * sharpen — blend with a smoothed copy by a random factor (Pillow's
 * ImageEnhance.Sharpness, torchvision's adjust_sharpness on PIL images).
 *
 *   [sharpen]
 *   factor_min = 0.5
 *   factor_max = 2.0   ; min = max: the same factor for every record
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * The degenerate image is Pillow's 3x3 SMOOTH filter (weights 1 1 1 / 1 5 1 / 1 1 1, over
 * 13, rounded); the border rows and columns keep their values, so they do not change.
 * Factor 0 is the smoothed image, 1 the original, 2 sharpened. Alpha is kept.
 */
#include "photometric.h"

#include <string.h>

/* Pillow's ImagingFilter3x3 with the SMOOTH kernel, then Image.blend(smooth, image, f), in
 * one pass. The kernel is divided by its scale first and summed in float, row below, row,
 * row above, as Pillow does, so the result matches it to the rounding. */
static void sharpen_row(const uint8_t *above, const uint8_t *row, const uint8_t *below,
                        uint8_t *out, uint32_t w, uint32_t ch, float f)
{
    const float k = 1.0f / 13.0f, c = 5.0f / 13.0f;
    const size_t n = (size_t)w * ch;
    memcpy(out, row, n);
    /* Every value between the first and last pixel, all channels alike, so the loop runs
     * over contiguous bytes; alpha is put back by the caller. */
    for (size_t m = ch; m + ch < n; m++) {
        const size_t l = m - ch, r = m + ch;
        float ss = 0.0f;
        ss += (float)below[l] * k + (float)below[m] * k + (float)below[r] * k;
        ss += (float)row[l] * k + (float)row[m] * c + (float)row[r] * k;
        ss += (float)above[l] * k + (float)above[m] * k + (float)above[r] * k;
        unsigned smooth = ss <= 0.0f ? 0 : ss >= 255.0f ? 255 : (unsigned)(ss + 0.5);
        out[m] = sp_blend_u8(smooth, row[m], f);
    }
    if (ch == 4)
        for (uint32_t x = 0; x < w; x++) out[4 * x + 3] = row[4 * x + 3];
}

static int sharpen_image(sp_image *img, double factor, sp_error *err)
{
    /* Pillow leaves images too small for the kernel as they are. */
    if (img->width < 3 || img->height < 3) return SP_OK;
    sp_image out = {0};
    int rc = sp_image_alloc(&out, img->width, img->height, img->channels);
    if (rc != SP_OK)
        return sp_fail(err, rc, "cannot allocate %ux%u image", img->width, img->height);
    const uint32_t ch = img->channels, w = img->width;
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *row = img->data + (size_t)y * img->stride;
        uint8_t *dst = out.data + (size_t)y * out.stride;
        if (y == 0 || y + 1 == img->height)
            memcpy(dst, row, (size_t)w * ch);
        else
            sharpen_row(row - img->stride, row, row + img->stride, dst, w, ch, (float)factor);
    }
    sp_image_move(img, &out);
    return SP_OK;
}

typedef sp_sharpen_opts sharpen_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(sharpen_opts, f)
static const sp_option sharpen_options[] = {
    {"factor_min", "smallest factor drawn (1 = unchanged)", OFF(factor_min), SP_OPT_DOUBLE,
     "0.5", 0, 100, NULL, 0},
    {"factor_max", "largest factor drawn", OFF(factor_max), SP_OPT_DOUBLE, "2.0", 0, 100, NULL,
     0},
    SP_OPT_END,
};

static int sharpen_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const sharpen_opts *o = opts;
    double f;
    f = sp_px_draw_range(pc, "factor", o->factor_min, o->factor_max);
    return sharpen_image(img, f, err);
}

const sp_stage_desc sp_stage_sharpen = {
    .name = "sharpen",
    .help = "blend with a 3x3 smoothed copy by a random factor (Pillow ImageEnhance.Sharpness)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(sharpen_opts),
    .options = sharpen_options,
    .process = sharpen_process,
};
