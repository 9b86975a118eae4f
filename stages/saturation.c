/*
 * saturation — blend with the image's own grayscale by a random factor (Pillow's
 * ImageEnhance.Color, torchvision's adjust_saturation on PIL images).
 *
 *   [saturation]
 *   factor_min = 0.6
 *   factor_max = 1.4   ; min = max: the same factor for every record
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * v' = trunc(L + factor * (v - L)), clipped, where L is the pixel's luma as convert("L")
 * computes it. Factor 0 is the grayscale image in three channels (torchvision's
 * RandomGrayscale with p: factor_min = factor_max = 0 and the stage's p). Gray images are
 * left as they are; alpha is kept.
 */
#include "photometric.h"

typedef sp_saturation_opts saturation_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(saturation_opts, f)
static const sp_option saturation_options[] = {
    {"factor_min", "smallest factor drawn (1 = unchanged)", OFF(factor_min), SP_OPT_DOUBLE,
     "0.6", 0, 100, NULL, 0},
    {"factor_max", "largest factor drawn", OFF(factor_max), SP_OPT_DOUBLE, "1.4", 0, 100, NULL,
     0},
    SP_OPT_END,
};

static int saturation_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)err; /* cannot fail: the range was checked when the options were read */
    const saturation_opts *o = opts;
    double f = sp_px_draw_range(pc, "factor", o->factor_min, o->factor_max);
    sp_color_saturation(img, f);
    return SP_OK;
}

const sp_stage_desc sp_stage_saturation = {
    .name = "saturation",
    .help = "blend with the grayscale image by a random factor (Pillow ImageEnhance.Color)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(saturation_opts),
    .options = saturation_options,
    .process = saturation_process,
};
