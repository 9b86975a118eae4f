/*
 * brightness — scale every colour channel by a random factor (Pillow's
 * ImageEnhance.Brightness, torchvision's adjust_brightness on PIL images).
 *
 *   [brightness]
 *   factor_min = 0.6
 *   factor_max = 1.4   ; min = max: the same factor for every record
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * The image is blended with black: v' = trunc(v * factor), clipped to 0..255, in single
 * precision like Pillow's Image.blend. Gray images are scaled as they are; alpha is kept.
 */
#include "photometric.h"

typedef sp_brightness_opts brightness_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(brightness_opts, f)
static const sp_option brightness_options[] = {
    {"factor_min", "smallest factor drawn (1 = unchanged)", OFF(factor_min), SP_OPT_DOUBLE,
     "0.6", 0, 100, NULL, 0},
    {"factor_max", "largest factor drawn", OFF(factor_max), SP_OPT_DOUBLE, "1.4", 0, 100, NULL,
     0},
    SP_OPT_END,
};

static int brightness_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)err; /* cannot fail: the range was checked when the options were read */
    const brightness_opts *o = opts;
    double f = sp_px_draw_range(pc, "factor", o->factor_min, o->factor_max);
    sp_color_brightness(img, f);
    return SP_OK;
}

const sp_stage_desc sp_stage_brightness = {
    .name = "brightness",
    .help = "multiply colour channels by a random factor (Pillow ImageEnhance.Brightness)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(brightness_opts),
    .options = brightness_options,
    .process = brightness_process,
};
