/*
 * crop — a centre crop of width × height (torchvision's CenterCrop: the offset is
 * round-half-even of the margin / 2; an image smaller than the crop is padded with black).
 *
 *   [crop]
 *   width = 224
 *   height = 224
 */
#include "geometry.h"

#include <math.h>
#include <string.h>

typedef sp_crop_opts crop_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(crop_opts, f)
static const sp_option crop_options[] = {
    {"width", "output width in pixels", OFF(width), SP_OPT_INT, "224", 1, 65535, NULL, 0},
    {"height", "output height in pixels", OFF(height), SP_OPT_INT, "224", 1, 65535, NULL, 0},
    SP_OPT_END,
};

static void crop_out_size(const void *opts, uint32_t *w, uint32_t *h)
{
    const crop_opts *o = opts;
    *w = (uint32_t)o->width;
    *h = (uint32_t)o->height;
}

/* Where output pixel 0 falls in the input along one axis (negative when padding). */
static int64_t origin(uint32_t in, uint32_t out)
{
    if (in < out) return -(int64_t)((out - in) / 2);
    return (int64_t)nearbyint((in - out) / 2.0); /* ties to even, like Python's round() */
}

static int crop_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)pc;
    const crop_opts *o = opts;
    uint32_t tw = (uint32_t)o->width, th = (uint32_t)o->height;
    if (tw == img->width && th == img->height) return SP_OK;
    sp_image out = {0};
    int rc = sp_image_alloc(&out, tw, th, img->channels);
    if (rc != SP_OK) return sp_fail(err, rc, "cannot allocate %ux%u image", tw, th);
    int64_t ox = origin(img->width, tw), oy = origin(img->height, th);
    const size_t ch = img->channels;
    for (uint32_t y = 0; y < th; y++) {
        uint8_t *dst = out.data + (size_t)y * out.stride;
        int64_t sy = oy + y;
        memset(dst, 0, (size_t)tw * ch);
        if (sy < 0 || sy >= img->height) continue;
        int64_t x0 = ox < 0 ? -ox : 0;                    /* first output column with input */
        int64_t x1 = (int64_t)img->width - ox;            /* one past the last */
        if (x1 > tw) x1 = tw;
        if (x1 <= x0) continue;
        memcpy(dst + (size_t)x0 * ch, img->data + (size_t)sy * img->stride + (size_t)(x0 + ox) * ch,
               (size_t)(x1 - x0) * ch);
    }
    sp_image_move(img, &out);
    return SP_OK;
}

/* Crop-aware decoding: the centre box, when the image holds it (no black padding). */
static bool crop_region(const void *opts, uint32_t src_w, uint32_t src_h, sp_pixel_ctx *pc,
                        uint32_t box[4], uint32_t need[2])
{
    (void)pc;
    need[0] = need[1] = 0; /* the box's own pixels */
    const crop_opts *o = opts;
    const uint32_t tw = (uint32_t)o->width, th = (uint32_t)o->height;
    if (src_w < tw || src_h < th) return false;
    box[0] = (uint32_t)origin(src_w, tw);
    box[1] = (uint32_t)origin(src_h, th);
    box[2] = tw;
    box[3] = th;
    return true;
}

/* img is the part of the src_w x src_h image placed at `at` (full size), holding the
 * centre box. */
static int crop_process_region(const void *opts, uint32_t src_w, uint32_t src_h,
                               const sp_region *at, sp_image *img, sp_pixel_ctx *pc,
                               sp_error *err)
{
    uint32_t box[4], need[2];
    if (!crop_region(opts, src_w, src_h, pc, box, need))
        return sp_fail(err, SP_E_USAGE, "the crop reads outside the image");
    return sp_region_cut(box, at, img, err);
}

const sp_stage_desc sp_stage_crop = {
    .name = "crop",
    .help = "cut the centre width x height out of the image (pad with black if smaller)",
    .kind = SP_STAGE_PIXEL,
    .opts_size = sizeof(crop_opts),
    .options = crop_options,
    .process = crop_process,
    .out_size = crop_out_size,
    .region = crop_region,
    .process_region = crop_process_region,
};
