/*
 * autocontrast — stretch each channel so its darkest value becomes 0 and its brightest
 * 255 (Pillow's ImageOps.autocontrast, torchvision's autocontrast on PIL images).
 *
 *   [autocontrast]
 *   cutoff = 0         ; percent of samples ignored at each end of each histogram
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * Per channel, from its histogram: lo and hi are the first and last occupied levels (after
 * removing `cutoff` percent of the samples from each end, as Pillow does), and
 * v' = int(v * 255 / (hi - lo) - lo * 255 / (hi - lo)), clipped. A channel with one level
 * is left as it is. Gray images have one channel; alpha is kept (Pillow refuses RGBA).
 */
#include "photometric.h"

#include <math.h>

typedef sp_autocontrast_opts autocontrast_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(autocontrast_opts, f)
static const sp_option autocontrast_options[] = {
    {"cutoff", "percent of the darkest and of the lightest samples ignored per channel",
     OFF(cutoff), SP_OPT_DOUBLE, "0", 0, 49, NULL, 0},
    SP_OPT_END,
};

/* Removes `cut` samples from one end of h, walking from `start` by `dir`. */
static void cut_end(double h[256], double cut, int start, int dir)
{
    for (int i = start; i >= 0 && i < 256 && cut > 0; i += dir) {
        if (cut > h[i]) {
            cut -= h[i];
            h[i] = 0;
        } else {
            h[i] -= cut;
            cut = 0;
        }
    }
}

static void channel_lut(const uint64_t hist[256], double cutoff, uint8_t lut[256])
{
    double h[256], n = 0;
    for (int i = 0; i < 256; i++) n += h[i] = (double)hist[i];
    if (cutoff > 0) {
        cut_end(h, floor(n * cutoff / 100.0), 0, 1);
        cut_end(h, floor(n * cutoff / 100.0), 255, -1);
    }
    int lo = 0, hi = 255;
    while (lo < 255 && h[lo] == 0) lo++;
    while (hi > 0 && h[hi] == 0) hi--;
    for (int v = 0; v < 256; v++) lut[v] = (uint8_t)v;
    if (hi <= lo) return;
    double scale = 255.0 / (hi - lo), offset = -lo * scale;
    for (int v = 0; v < 256; v++) {
        int m = (int)(v * scale + offset); /* Python's int(): toward zero */
        lut[v] = m < 0 ? 0 : m > 255 ? 255 : (uint8_t)m;
    }
}

static int autocontrast_process(const void *opts, sp_image *img, sp_pixel_ctx *pc,
                                sp_error *err)
{
    (void)pc;
    (void)err;
    const autocontrast_opts *o = opts;
    uint64_t hist[3][256];
    uint8_t lut[3][256];
    sp_color_histograms(img, hist);
    for (int c = 0; c < (img->channels == 1 ? 1 : 3); c++)
        channel_lut(hist[c], o->cutoff, lut[c]);
    sp_color_lut3(img, (const uint8_t(*)[256])lut);
    return SP_OK;
}

const sp_stage_desc sp_stage_autocontrast = {
    .name = "autocontrast",
    .help = "stretch each channel to the full 0..255 range (Pillow ImageOps.autocontrast)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(autocontrast_opts),
    .options = autocontrast_options,
    .process = autocontrast_process,
};
