/*
 * resize — scale so the shorter side is `size` pixels, keeping the aspect ratio
 * (torchvision's Resize(int): the longer side is truncated, not rounded).
 *
 *   [resize]
 *   size = 256
 *   filter = bilinear
 *
 * Antialiased when shrinking, as Pillow does (see src/resample.c).
 */
#include "internal.h"

typedef sp_resize_opts resize_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(resize_opts, f)
static const sp_option resize_options[] = {
    {"size", "length of the shorter side after resizing, in pixels", OFF(size), SP_OPT_INT,
     "256", 1, 65535, NULL, 0},
    {"filter", "resampling filter", OFF(filter), SP_OPT_ENUM, "bilinear", 1, 0,
     sp_filter_choices, 0},
    SP_OPT_END,
};

/* 64-bit arithmetic, saturated: a 65500 x 1 strip asks for a 16,768,000-pixel side, which
 * the build then refuses against the limits instead of trying to allocate it. */
static void resize_out_size(const void *opts, uint32_t *w, uint32_t *h)
{
    const resize_opts *o = opts;
    uint64_t s = (uint64_t)o->size, W = *w, H = *h;
    uint64_t nw = W <= H ? s : s * W / H, nh = W <= H ? s * H / W : s;
    *w = nw == 0 ? 1 : nw > UINT32_MAX ? UINT32_MAX : (uint32_t)nw;
    *h = nh == 0 ? 1 : nh > UINT32_MAX ? UINT32_MAX : (uint32_t)nh;
}

static int resize_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)pc;
    const resize_opts *o = opts;
    uint32_t w = img->width, h = img->height;
    resize_out_size(opts, &w, &h);
    if (w == img->width && h == img->height) return SP_OK;
    sp_image out = {0};
    int rc = sp_resample(img, w, h, (sp_filter)o->filter, &out, err);
    if (rc == SP_OK) sp_image_move(img, &out);
    return rc;
}

const sp_stage_desc sp_stage_resize = {
    .name = "resize",
    .help = "scale the shorter side to a size, keeping the aspect ratio",
    .kind = SP_STAGE_PIXEL,
    .opts_size = sizeof(resize_opts),
    .options = resize_options,
    .process = resize_process,
    .out_size = resize_out_size,
};
