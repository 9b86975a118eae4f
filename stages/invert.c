/*
 * invert — the negative: v' = 255 - v in every colour channel (Pillow's ImageOps.invert,
 * torchvision's RandomInvert).
 *
 *   [invert]
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * Alpha is kept.
 */
#include "photometric.h"

static const sp_option invert_options[] = {SP_OPT_END};

static int invert_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)opts;
    (void)pc;
    (void)err;
    uint8_t lut[256];
    for (unsigned v = 0; v < 256; v++) lut[v] = (uint8_t)(255 - v);
    sp_color_lut(img, lut);
    return SP_OK;
}

const sp_stage_desc sp_stage_invert = {
    .name = "invert",
    .help = "invert every colour channel (Pillow ImageOps.invert)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = 0,
    .options = invert_options,
    .process = invert_process,
};
