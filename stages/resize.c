/*
 * resize — scale the image. The default keeps torchvision's Resize(int): the shorter side
 * becomes `size` and the longer side is truncated, not rounded.
 *
 *   [resize]
 *   size = 256
 *   filter = bilinear
 *
 *   [letterbox]
 *   type = resize
 *   mode = fit          ; inside 320 x 240, centred on grey bars
 *   width = 320
 *   height = 240
 *   fill = 114
 *
 * Modes: `shorter` (shorter side = size), `longer` (longer side = size, the other
 * truncated, as torchvision's Resize(None, max_size)), `exact` (width × height, aspect
 * ratio not kept), `fit` (Pillow's ImageOps.pad: the largest size that fits inside width ×
 * height with the aspect ratio kept, the other side rounded; then centred, offset rounded,
 * on a `fill` background). Antialiased when shrinking, as Pillow does (src/resample.c).
 */
#include "geometry.h"

#include <math.h>

typedef sp_resize_opts resize_opts; /* shardpack/ops.h */

static const sp_enum_choice mode_choices[] = {
    {SP_RESIZE_SHORTER, "shorter", "the shorter side becomes size (torchvision Resize(size))"},
    {SP_RESIZE_LONGER, "longer", "the longer side becomes size"},
    {SP_RESIZE_EXACT, "exact", "exactly width x height, aspect ratio not kept"},
    {SP_RESIZE_FIT, "fit", "fit inside width x height keeping the aspect ratio, centred on "
                           "fill (letterbox)"},
    {0, NULL, NULL},
};

#define OFF(f) offsetof(resize_opts, f)
static const sp_option resize_options[] = {
    {"size", "length of the shorter (mode = shorter) or longer (mode = longer) side, in pixels",
     OFF(size), SP_OPT_INT, "256", 1, 65535, NULL, 0},
    {"filter", "resampling filter", OFF(filter), SP_OPT_ENUM, "bilinear", 1, 0,
     sp_filter_choices, 0},
    {"mode", "which size to reach", OFF(mode), SP_OPT_ENUM, "shorter", 1, 0, mode_choices, 0},
    {"width", "output width for exact and fit; 0 = size", OFF(width), SP_OPT_INT, "0", 0, 65535,
     NULL, 0},
    {"height", "output height for exact and fit; 0 = size", OFF(height), SP_OPT_INT, "0", 0,
     65535, NULL, 0},
    SP_FILL_OPTION(resize_opts),
    SP_OPT_END,
};

static uint32_t clamp_side(uint64_t v)
{
    return v == 0 ? 1 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void target(const resize_opts *o, uint32_t *tw, uint32_t *th)
{
    *tw = (uint32_t)(o->width ? o->width : o->size);
    *th = (uint32_t)(o->height ? o->height : o->size);
}

/* The size the image is scaled to, before any letterbox bars (fit). 64-bit arithmetic,
 * saturated: a 65500 x 1 strip asks for a 16,768,000-pixel side, which the build then
 * refuses against the limits instead of trying to allocate it. */
static void scaled_size(const resize_opts *o, uint32_t *w, uint32_t *h)
{
    uint64_t s = (uint64_t)o->size, W = *w, H = *h, nw, nh;
    uint32_t tw, th;
    switch (o->mode) {
    case SP_RESIZE_LONGER:
        nw = W >= H ? s : s * W / H;
        nh = W >= H ? s * H / W : s;
        break;
    case SP_RESIZE_EXACT:
        target(o, &tw, &th);
        nw = tw;
        nh = th;
        break;
    case SP_RESIZE_FIT: {
        /* ImageOps.contain, in the same floating-point steps so sizes agree with Pillow. */
        target(o, &tw, &th);
        double ir = (double)W / (double)H, dr = (double)tw / (double)th;
        nw = tw;
        nh = th;
        if (ir > dr) nh = (uint64_t)nearbyint((double)H / (double)W * tw);
        else if (ir < dr) nw = (uint64_t)nearbyint((double)W / (double)H * th);
        if (nw > tw) nw = tw;
        if (nh > th) nh = th;
        break;
    }
    default: /* SP_RESIZE_SHORTER */
        nw = W <= H ? s : s * W / H;
        nh = W <= H ? s * H / W : s;
        break;
    }
    *w = clamp_side(nw);
    *h = clamp_side(nh);
}

static void resize_out_size(const void *opts, uint32_t *w, uint32_t *h)
{
    const resize_opts *o = opts;
    if (o->mode == SP_RESIZE_FIT) target(o, w, h);
    else scaled_size(o, w, h);
}

/* The resize of a src_w x src_h image, computed from img: the image itself, or a smaller
 * version of it the decoder made (shrink-on-load). Sizes follow from src_w x src_h only,
 * so both paths give the same shape. */
static int resize_from(const resize_opts *o, uint32_t src_w, uint32_t src_h, sp_image *img,
                       sp_scratch *scratch, sp_error *err)
{
    uint32_t w = src_w, h = src_h;
    scaled_size(o, &w, &h);
    int rc = SP_OK;
    if (w != img->width || h != img->height) {
        sp_image out = {0};
        rc = sp_resample_scratch(img, w, h, (sp_filter)o->filter, &out, scratch, err);
        if (rc != SP_OK) return rc;
        sp_image_move(img, &out);
    }
    if (o->mode != SP_RESIZE_FIT) return SP_OK;
    uint32_t tw, th;
    target(o, &tw, &th);
    if (w == tw && h == th) return SP_OK;
    /* Centred as ImageOps.pad does: the offset is the margin / 2 rounded half to even. */
    uint32_t x = (uint32_t)nearbyint((tw - w) * 0.5), y = (uint32_t)nearbyint((th - h) * 0.5);
    sp_image out = {0};
    rc = sp_pad_image(img, x, y, tw - w - x, th - h - y, SP_BORDER_CONSTANT, (uint8_t)o->fill,
                      &out, err);
    if (rc == SP_OK) sp_image_move(img, &out);
    return rc;
}

static int resize_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    return resize_from(opts, img->width, img->height, img, pc->scratch, err);
}

static int resize_process_scaled(const void *opts, uint32_t src_w, uint32_t src_h,
                                 sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    return resize_from(opts, src_w, src_h, img, pc->scratch, err);
}

const sp_stage_desc sp_stage_resize = {
    .name = "resize",
    .help = "scale the image: shorter or longer side to a size, exact size, or fit inside a "
            "box with letterbox bars",
    .kind = SP_STAGE_PIXEL,
    .opts_size = sizeof(resize_opts),
    .options = resize_options,
    .process = resize_process,
    .process_scaled = resize_process_scaled,
    .out_size = resize_out_size,
};
