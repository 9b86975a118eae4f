/*
 * equalize — equalise each channel's histogram (Pillow's ImageOps.equalize, torchvision's
 * equalize on PIL images).
 *
 *   [equalize]
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * Per channel, Pillow's integer rule: step = (samples - count of the last occupied level)
 * // 255; level i maps to (step // 2 + samples below i) // step, clipped to 255. A channel
 * with one occupied level (or a step of 0) is left as it is. Gray images have one channel;
 * alpha is kept (Pillow refuses RGBA).
 */
#include "photometric.h"

static const sp_option equalize_options[] = {SP_OPT_END};

static void channel_lut(const uint64_t h[256], uint8_t lut[256])
{
    uint64_t total = 0, last = 0;
    int levels = 0;
    for (int i = 0; i < 256; i++)
        if (h[i]) {
            total += h[i];
            last = h[i];
            levels++;
        }
    uint64_t step = levels > 1 ? (total - last) / 255 : 0;
    if (step == 0) {
        for (int i = 0; i < 256; i++) lut[i] = (uint8_t)i;
        return;
    }
    uint64_t n = step / 2;
    for (int i = 0; i < 256; i++) {
        uint64_t m = n / step;
        lut[i] = m > 255 ? 255 : (uint8_t)m;
        n += h[i];
    }
}

static int equalize_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)opts;
    (void)pc;
    (void)err;
    uint64_t hist[3][256];
    uint8_t lut[3][256];
    sp_color_histograms(img, hist);
    for (int c = 0; c < (img->channels == 1 ? 1 : 3); c++) channel_lut(hist[c], lut[c]);
    sp_color_lut3(img, (const uint8_t(*)[256])lut);
    return SP_OK;
}

const sp_stage_desc sp_stage_equalize = {
    .name = "equalize",
    .help = "equalise each channel's histogram (Pillow ImageOps.equalize)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = 0,
    .options = equalize_options,
    .process = equalize_process,
};
