/*
 * gamma — a power curve with gain (torchvision's adjust_gamma on PIL images).
 *
 *   [gamma]
 *   gamma_min = 0.8
 *   gamma_max = 1.25   ; < 1 brightens the shadows, > 1 darkens them
 *   gain_min = 1
 *   gain_max = 1
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * v' = trunc(255.999 * gain * (v / 255) ^ gamma), clipped to 0..255: torchvision's table,
 * through a 256-entry lookup. Gray images are mapped as they are; alpha is kept.
 */
#include "photometric.h"

#include <math.h>

typedef sp_gamma_opts gamma_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(gamma_opts, f)
static const sp_option gamma_options[] = {
    {"gamma_min", "smallest exponent drawn (1 = unchanged)", OFF(gamma_min), SP_OPT_DOUBLE,
     "0.8", 0, 100, NULL, 0},
    {"gamma_max", "largest exponent drawn", OFF(gamma_max), SP_OPT_DOUBLE, "1.25", 0, 100, NULL,
     0},
    {"gain_min", "smallest gain drawn (1 = unchanged)", OFF(gain_min), SP_OPT_DOUBLE, "1", 0,
     100, NULL, 0},
    {"gain_max", "largest gain drawn", OFF(gain_max), SP_OPT_DOUBLE, "1", 0, 100, NULL, 0},
    SP_OPT_END,
};

static int gamma_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)err; /* a table lookup cannot fail; the ranges were checked when read */
    const gamma_opts *o = opts;
    double gamma, gain;
    gamma = sp_px_draw_range(pc, "gamma", o->gamma_min, o->gamma_max);
    gain = sp_px_draw_range(pc, "gain", o->gain_min, o->gain_max);
    uint8_t lut[256];
    for (unsigned v = 0; v < 256; v++) {
        double m = (255.0 + 1.0 - 1e-3) * gain * pow(v / 255.0, gamma);
        lut[v] = m >= 255.0 ? 255 : (uint8_t)m; /* m >= 0: int() and floor agree */
    }
    sp_color_lut(img, lut);
    return SP_OK;
}

const sp_stage_desc sp_stage_gamma = {
    .name = "gamma",
    .help = "apply gain * v ^ gamma with random gamma and gain (torchvision adjust_gamma)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(gamma_opts),
    .options = gamma_options,
    .process = gamma_process,
};
