/*
 * hue — rotate the hue by a random shift (torchvision's adjust_hue on PIL images).
 *
 *   [hue]
 *   shift_min = -0.1
 *   shift_max = 0.1    ; fractions of the colour circle; min = max: the same for all
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * RGB -> HSV with Pillow's conversion, H += trunc(shift * 255) modulo 256, back to RGB:
 * the shift is quantised to 1/256 of the circle, as in torchvision. A shift that rounds to
 * 0 leaves the image untouched (Pillow's HSV round trip alone would change it slightly).
 * Gray images have no hue and are left as they are; alpha is kept.
 */
#include "photometric.h"

typedef sp_hue_opts hue_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(hue_opts, f)
static const sp_option hue_options[] = {
    {"shift_min", "smallest hue shift drawn, in turns of the colour circle", OFF(shift_min),
     SP_OPT_DOUBLE, "-0.1", -0.5, 0.5, NULL, 0},
    {"shift_max", "largest hue shift drawn", OFF(shift_max), SP_OPT_DOUBLE, "0.1", -0.5, 0.5,
     NULL, 0},
    SP_OPT_END,
};

static int hue_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)err; /* cannot fail: the range was checked when the options were read */
    const hue_opts *o = opts;
    double shift = sp_px_draw_range(pc, "shift", o->shift_min, o->shift_max);
    sp_color_hue(img, shift);
    return SP_OK;
}

const sp_stage_desc sp_stage_hue = {
    .name = "hue",
    .help = "rotate the hue by a random shift (torchvision adjust_hue)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(hue_opts),
    .options = hue_options,
    .process = hue_process,
};
