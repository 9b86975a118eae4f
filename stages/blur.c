/*
 * blur — Gaussian blur with a random standard deviation (torchvision's GaussianBlur draws
 * sigma the same way; the default range is its default).
 *
 *   [blur]
 *   sigma_min = 0.1
 *   sigma_max = 2.0    ; in pixels
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * A true Gaussian, separable: a vertical then a horizontal pass of 2r + 1 taps with
 * r = ceil(3 sigma), weights normalised to 1, accumulated in float and rounded once.
 * Pixels beyond the border repeat the edge pixel, as Pillow's GaussianBlur does (Pillow
 * approximates the Gaussian with three box blurs; torchvision reflects at the border and
 * takes the kernel size as an option). Sigma 0 leaves the image as it is. Alpha is kept.
 */
#include "photometric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef sp_blur_opts blur_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(blur_opts, f)
static const sp_option blur_options[] = {
    {"sigma_min", "smallest standard deviation drawn, in pixels", OFF(sigma_min),
     SP_OPT_DOUBLE, "0.1", 0, 50, NULL, 0},
    {"sigma_max", "largest standard deviation drawn", OFF(sigma_max), SP_OPT_DOUBLE, "2", 0, 50,
     NULL, 0},
    SP_OPT_END,
};

#define MAX_RADIUS 150 /* 3 x the largest sigma */

/* The inner loops, with restrict so the compiler may vectorise them (they read and write
 * parts of one buffer that never overlap). */
static void taps_u8(float *restrict dst, const uint8_t *restrict a, const uint8_t *restrict b,
                    float k, size_t n)
{
    for (size_t j = 0; j < n; j++) dst[j] += k * ((float)a[j] + (float)b[j]);
}

static void taps_f(float *restrict dst, const float *restrict a, const float *restrict b,
                   float k, size_t n)
{
    for (size_t j = 0; j < n; j++) dst[j] += k * (a[j] + b[j]);
}

static int blur_image(sp_image *img, double sigma, sp_error *err)
{
    const int r = (int)ceil(3.0 * sigma);
    float k[MAX_RADIUS + 1];
    double sum = 0;
    for (int i = 0; i <= r; i++) sum += (i ? 2.0 : 1.0) * exp(-(double)i * i / (2.0 * sigma * sigma));
    for (int i = 0; i <= r; i++) k[i] = (float)(exp(-(double)i * i / (2.0 * sigma * sigma)) / sum);

    const uint32_t w = img->width, h = img->height, ch = img->channels;
    const size_t rowlen = (size_t)w * ch;
    sp_image out = {0};
    int rc = sp_image_alloc(&out, w, h, ch);
    /* One padded row for the vertical pass's result, one for the horizontal sums. */
    float *buf = rc == SP_OK ? malloc(((size_t)w * 2 + 2 * (size_t)r) * ch * sizeof(float)) : NULL;
    if (!buf) {
        sp_image_release(&out);
        return sp_fail(err, rc != SP_OK ? rc : SP_E_NOMEM, "cannot allocate %ux%u image", w, h);
    }
    float *mid = buf + (size_t)r * ch; /* the vertical pass's row, padded r pixels each side */
    float *acc = buf + ((size_t)w + 2 * (size_t)r) * ch;
    for (uint32_t y = 0; y < h; y++) {
        /* Vertical: rows above and below the edge repeat the edge row. */
        const uint8_t *s = img->data + (size_t)y * img->stride;
        for (size_t j = 0; j < rowlen; j++) mid[j] = k[0] * s[j];
        for (int i = 1; i <= r; i++) {
            int64_t ya = (int64_t)y - i, yb = (int64_t)y + i;
            const uint8_t *a = img->data + (size_t)(ya < 0 ? 0 : ya) * img->stride;
            const uint8_t *b = img->data + (size_t)(yb >= h ? h - 1 : yb) * img->stride;
            taps_u8(mid, a, b, k[i], rowlen);
        }
        /* Horizontal: pad with the edge pixels, then every tap is in bounds. */
        for (int i = 1; i <= r; i++)
            for (uint32_t c = 0; c < ch; c++) {
                mid[-(int64_t)i * ch + c] = mid[c];
                mid[rowlen - ch + (size_t)i * ch + c] = mid[rowlen - ch + c];
            }
        /* Tap by tap over the whole row, so the inner loops run over contiguous values. */
        for (size_t j = 0; j < rowlen; j++) acc[j] = k[0] * mid[j];
        for (int i = 1; i <= r; i++) {
            const ptrdiff_t off = (ptrdiff_t)i * (ptrdiff_t)ch;
            taps_f(acc, mid - off, mid + off, k[i], rowlen);
        }
        uint8_t *d = out.data + (size_t)y * out.stride;
        for (size_t j = 0; j < rowlen; j++) {
            float v = acc[j] + 0.5f;
            d[j] = v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
        }
        if (ch == 4) /* alpha as it was */
            for (uint32_t x = 0; x < w; x++) d[4 * x + 3] = s[4 * x + 3];
    }
    free(buf);
    sp_image_move(img, &out);
    return SP_OK;
}

static int blur_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const blur_opts *o = opts;
    double sigma;
    sigma = sp_px_draw_range(pc, "sigma", o->sigma_min, o->sigma_max);
    if (sigma <= 0) return SP_OK;
    return blur_image(img, sigma, err);
}

const sp_stage_desc sp_stage_blur = {
    .name = "blur",
    .help = "Gaussian blur with a random sigma (separable, edges repeated)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(blur_opts),
    .options = blur_options,
    .process = blur_process,
};
