/*
 * solarize — invert every value at or above a threshold (Pillow's ImageOps.solarize,
 * torchvision's RandomSolarize).
 *
 *   [solarize]
 *   threshold = 128
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * v' = v < threshold ? v : 255 - v; threshold 256 is the identity, 0 inverts everything.
 * Alpha is kept.
 */
#include "photometric.h"

typedef sp_solarize_opts solarize_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(solarize_opts, f)
static const sp_option solarize_options[] = {
    {"threshold", "values at or above it are inverted", OFF(threshold), SP_OPT_INT, "128", 0,
     256, NULL, 0},
    SP_OPT_END,
};

static int solarize_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)pc;
    (void)err;
    const solarize_opts *o = opts;
    uint8_t lut[256];
    for (unsigned v = 0; v < 256; v++) lut[v] = (uint8_t)((int64_t)v < o->threshold ? v : 255 - v);
    sp_color_lut(img, lut);
    return SP_OK;
}

const sp_stage_desc sp_stage_solarize = {
    .name = "solarize",
    .help = "invert the values at or above a threshold (Pillow ImageOps.solarize)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(solarize_opts),
    .options = solarize_options,
    .process = solarize_process,
};
