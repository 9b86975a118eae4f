/*
 * contrast — blend with the image's mean gray level by a random factor (Pillow's
 * ImageEnhance.Contrast, torchvision's adjust_contrast on PIL images).
 *
 *   [contrast]
 *   factor_min = 0.6
 *   factor_max = 1.4   ; min = max: the same factor for every record
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * v' = trunc(m + factor * (v - m)), clipped, where m is the mean of the luma image
 * (convert("L")) rounded half up. Factor 0 gives a flat gray image. Gray images work on
 * their one channel; alpha is kept.
 */
#include "photometric.h"

typedef sp_contrast_opts contrast_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(contrast_opts, f)
static const sp_option contrast_options[] = {
    {"factor_min", "smallest factor drawn (1 = unchanged)", OFF(factor_min), SP_OPT_DOUBLE,
     "0.6", 0, 100, NULL, 0},
    {"factor_max", "largest factor drawn", OFF(factor_max), SP_OPT_DOUBLE, "1.4", 0, 100, NULL,
     0},
    SP_OPT_END,
};

static int contrast_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)err; /* cannot fail: the range was checked when the options were read */
    const contrast_opts *o = opts;
    double f = sp_px_draw_range(pc, "factor", o->factor_min, o->factor_max);
    sp_color_contrast(img, f);
    return SP_OK;
}

const sp_stage_desc sp_stage_contrast = {
    .name = "contrast",
    .help = "blend with the mean gray level by a random factor (Pillow ImageEnhance.Contrast)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(contrast_opts),
    .options = contrast_options,
    .process = contrast_process,
};
