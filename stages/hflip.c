/*
 * hflip — mirror the image left to right (torchvision's RandomHorizontalFlip). A random
 * stage: `p` is the chance it flips; by default only a balance stage's extra copies are
 * flipped (`apply = copies`).
 *
 *   [hflip]
 *   p = 0.5
 *
 * Exact: pixels are swapped in place, nothing is resampled.
 */
#include "internal.h"

static const sp_option hflip_options[] = {SP_OPT_END};

/* `ch` is a constant at each call site, so the swap loop unrolls per pixel. */
static inline void flip_rows(sp_image *img, const uint32_t ch)
{
    for (uint32_t y = 0; y < img->height; y++) {
        uint8_t *a = img->data + (size_t)y * img->stride;
        uint8_t *b = a + (size_t)(img->width - 1) * ch;
        for (; a < b; a += ch, b -= ch)
            for (uint32_t c = 0; c < ch; c++) {
                uint8_t t = a[c];
                a[c] = b[c];
                b[c] = t;
            }
    }
}

static int hflip_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)opts;
    (void)err;
    switch (img->channels) {
    case 1: flip_rows(img, 1); break;
    case 3: flip_rows(img, 3); break;
    case 4: flip_rows(img, 4); break;
    default: flip_rows(img, img->channels); break;
    }
    sp_px_note(pc, "flipped", 1);
    return SP_OK;
}

const sp_stage_desc sp_stage_hflip = {
    .name = "hflip",
    .help = "mirror the image left to right (random: p, apply)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = 0,
    .options = hflip_options,
    .process = hflip_process,
};
