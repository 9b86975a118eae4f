/*
 * random_resized_crop — torchvision's RandomResizedCrop: a box of random area and aspect
 * ratio, resized to width × height.
 *
 *   [random_resized_crop]
 *   width = 224
 *   height = 224
 *   scale_min = 0.08
 *   filter = bilinear
 *
 * The box, as torchvision draws it: up to 10 tries of area = W·H·U(scale_min, scale_max)
 * and aspect ratio r = exp(U(ln ratio_min, ln ratio_max)); w = round(sqrt(area·r)),
 * h = round(sqrt(area / r)) (half to even, like Python's round); the first that fits is
 * placed uniformly (top, then left). If none fits, the centre crop of the whole image
 * clamped to the ratio range. The box is then resized with the chosen filter, antialiased
 * when shrinking (Pillow's resize, which torchvision calls on PIL images). Drawn box noted
 * as x, y, w, h, with the try that found it (0 = the fallback).
 */
#include "geometry.h"

#include <math.h>

typedef sp_random_resized_crop_opts rrc_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(rrc_opts, f)
static const sp_option rrc_options[] = {
    {"width", "output width in pixels", OFF(width), SP_OPT_INT, "224", 1, 65535, NULL, 0},
    {"height", "output height in pixels", OFF(height), SP_OPT_INT, "224", 1, 65535, NULL, 0},
    {"scale_min", "smallest box area, as a fraction of the image's", OFF(scale_min),
     SP_OPT_DOUBLE, "0.08", 0, 1, NULL, 0},
    {"scale_max", "largest box area, as a fraction of the image's", OFF(scale_max),
     SP_OPT_DOUBLE, "1", 0, 1, NULL, 0},
    {"ratio_min", "smallest box aspect ratio (width / height)", OFF(ratio_min), SP_OPT_DOUBLE,
     "0.75", 0.001, 1000, NULL, 0},
    {"ratio_max", "largest box aspect ratio (width / height)", OFF(ratio_max), SP_OPT_DOUBLE,
     "1.3333333333333333", 0.001, 1000, NULL, 0},
    {"filter", "resampling filter", OFF(filter), SP_OPT_ENUM, "bilinear", 1, 0,
     sp_filter_choices, 0},
    SP_OPT_END,
};

static void rrc_out_size(const void *opts, uint32_t *w, uint32_t *h)
{
    const rrc_opts *o = opts;
    *w = (uint32_t)o->width;
    *h = (uint32_t)o->height;
}

/* The box, exactly as torchvision's RandomResizedCrop.get_params. */
static int draw_box(const rrc_opts *o, uint32_t W, uint32_t H, sp_pixel_ctx *pc,
                    uint32_t box[4])
{
    const double area = (double)W * H;
    const double lr0 = log(o->ratio_min), lr1 = log(o->ratio_max);
    for (int attempt = 1; attempt <= 10; attempt++) {
        double target = area * sp_px_range(pc, o->scale_min, o->scale_max);
        double ar = exp(sp_px_range(pc, lr0, lr1));
        double w = nearbyint(sqrt(target * ar)), h = nearbyint(sqrt(target / ar));
        if (w > 0 && w <= W && h > 0 && h <= H) {
            box[3] = (uint32_t)h;
            box[2] = (uint32_t)w;
            box[1] = (uint32_t)sp_px_int(pc, 0, H - box[3] + 1);
            box[0] = (uint32_t)sp_px_int(pc, 0, W - box[2] + 1);
            return attempt;
        }
    }
    /* Fallback: the whole image, cut down to the nearest allowed aspect ratio. */
    double in_ratio = (double)W / H, rmin = o->ratio_min, rmax = o->ratio_max, w = W, h = H;
    if (in_ratio < rmin) h = nearbyint(w / rmin);
    else if (in_ratio > rmax) w = nearbyint(h * rmax);
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    box[2] = (uint32_t)w;
    box[3] = (uint32_t)h;
    box[0] = (W - box[2]) / 2;
    box[1] = (H - box[3]) / 2;
    return 0;
}

/* The box of a W x H image, drawn and noted. */
static void draw_noted(const rrc_opts *o, uint32_t W, uint32_t H, sp_pixel_ctx *pc,
                       uint32_t box[4])
{
    int attempt = draw_box(o, W, H, pc, box);
    sp_px_note(pc, "x", box[0]);
    sp_px_note(pc, "y", box[1]);
    sp_px_note(pc, "w", box[2]);
    sp_px_note(pc, "h", box[3]);
    sp_px_note(pc, "try", attempt);
}

/* Crop-aware decoding: the box is always inside the image, and is resized to width x
 * height, so the decoder may scale it down first (shrink_on_load). */
static bool rrc_region(const void *opts, uint32_t src_w, uint32_t src_h, sp_pixel_ctx *pc,
                       uint32_t box[4], uint32_t need[2])
{
    const rrc_opts *o = opts;
    draw_noted(o, src_w, src_h, pc, box);
    need[0] = (uint32_t)o->width;
    need[1] = (uint32_t)o->height;
    return true;
}

/* The box's resize, from img: the part of the src_w x src_h image placed as `at` says (the
 * whole image at full size for process). */
static int resize_box(const void *opts, uint32_t src_w, uint32_t src_h, const sp_region *at,
                      sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const rrc_opts *o = opts;
    uint32_t box[4];
    draw_noted(o, src_w, src_h, pc, box);
    sp_image out = {0};
    int rc;
    if (at->scale == 8) {
        if (box[0] < at->x || box[1] < at->y || box[0] - at->x + (uint64_t)box[2] > img->width ||
            box[1] - at->y + (uint64_t)box[3] > img->height)
            return sp_fail(err, SP_E_USAGE, "the decoded part does not hold the crop");
        /* The resampler reads the box in place: no copy of the crop is made. */
        const sp_image win =
            sp_image_window(img, box[0] - at->x, box[1] - at->y, box[2], box[3]);
        rc = sp_resample_scratch(&win, (uint32_t)o->width, (uint32_t)o->height,
                                 (sp_filter)o->filter, &out, pc->scratch, err);
    } else {
        /* Decoded at scale/8: the box falls between the decoder's pixels; the resampler
         * takes it as a sub-pixel box. */
        const double s = at->scale / 8.0;
        double b[4] = {box[0] * s - at->x, box[1] * s - at->y, (box[0] + box[2]) * s - at->x,
                       (box[1] + box[3]) * s - at->y};
        if (b[2] > img->width) b[2] = img->width;
        if (b[3] > img->height) b[3] = img->height;
        rc = sp_resample_box(img, b, (uint32_t)o->width, (uint32_t)o->height,
                             (sp_filter)o->filter, &out, pc->scratch, err);
    }
    if (rc == SP_OK) sp_image_move(img, &out);
    return rc;
}

static int rrc_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const sp_region whole = {0, 0, 8};
    return resize_box(opts, img->width, img->height, &whole, img, pc, err);
}

const sp_stage_desc sp_stage_random_resized_crop = {
    .name = "random_resized_crop",
    .help = "cut a box of random area and aspect ratio and resize it to width x height, as "
            "torchvision's RandomResizedCrop (random: p, apply)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(rrc_opts),
    .options = rrc_options,
    .process = rrc_process,
    .out_size = rrc_out_size,
    .region = rrc_region,
    .process_region = resize_box,
};
