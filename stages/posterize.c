/*
 * posterize — keep the top `bits` bits of each colour channel (Pillow's
 * ImageOps.posterize, torchvision's RandomPosterize).
 *
 *   [posterize]
 *   bits = 4
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * v' = v & ~(2^(8 - bits) - 1); bits = 8 is the identity. Alpha is kept.
 */
#include "photometric.h"

typedef sp_posterize_opts posterize_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(posterize_opts, f)
static const sp_option posterize_options[] = {
    {"bits", "bits kept per channel", OFF(bits), SP_OPT_INT, "4", 1, 8, NULL, 0},
    SP_OPT_END,
};

static int posterize_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)pc;
    (void)err;
    const posterize_opts *o = opts;
    const unsigned mask = ~((1u << (8 - o->bits)) - 1u);
    uint8_t lut[256];
    for (unsigned v = 0; v < 256; v++) lut[v] = (uint8_t)(v & mask);
    sp_color_lut(img, lut);
    return SP_OK;
}

const sp_stage_desc sp_stage_posterize = {
    .name = "posterize",
    .help = "keep the top bits of each channel (Pillow ImageOps.posterize)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(posterize_opts),
    .options = posterize_options,
    .process = posterize_process,
};
