/*
 * vflip — mirror the image top to bottom (torchvision's RandomVerticalFlip). A random
 * stage: `p` is the chance it flips; by default only a balance stage's extra copies are
 * flipped (`apply = copies`).
 *
 *   [vflip]
 *   p = 0.5
 *
 * Exact: rows are swapped in place, nothing is resampled.
 */
#include "internal.h"

static const sp_option vflip_options[] = {SP_OPT_END};

static int vflip_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)opts;
    (void)err;
    const size_t n = (size_t)img->width * img->channels;
    for (uint32_t y = 0; y < img->height / 2; y++) {
        uint8_t *a = img->data + (size_t)y * img->stride;
        uint8_t *b = img->data + (size_t)(img->height - 1 - y) * img->stride;
        /* A byte-wise swap of two rows: no row buffer, and it vectorises. */
        for (size_t i = 0; i < n; i++) {
            uint8_t t = a[i];
            a[i] = b[i];
            b[i] = t;
        }
    }
    sp_px_note(pc, "flipped", 1);
    return SP_OK;
}

const sp_stage_desc sp_stage_vflip = {
    .name = "vflip",
    .help = "mirror the image top to bottom (random: p, apply)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = 0,
    .options = vflip_options,
    .process = vflip_process,
};
