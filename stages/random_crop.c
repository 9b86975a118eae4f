/*
 * random_crop — cut a width × height box at a uniformly drawn position (torchvision's
 * RandomCrop). `padding` is added on every side first; with `pad_if_needed`, a side still
 * shorter than the crop is padded on both ends by the shortfall, exactly as torchvision
 * does; without it, an image smaller than the crop is rejected (torchvision raises).
 *
 *   [random_crop]
 *   width = 32
 *   height = 32
 *   padding = 4
 *   padding_mode = reflect
 *
 * Draws: the top offset, then the left one (torchvision's order), each uniform over every
 * position; noted as x, y (in the padded image). Exact: pixels are copied, and only the
 * crop's own pixels are looked up, so the padded image is never made.
 */
#include "geometry.h"

#include <math.h>
#include <stdlib.h>

typedef sp_random_crop_opts random_crop_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(random_crop_opts, f)
static const sp_option random_crop_options[] = {
    {"width", "crop width in pixels", OFF(width), SP_OPT_INT, "224", 1, 65535, NULL, 0},
    {"height", "crop height in pixels", OFF(height), SP_OPT_INT, "224", 1, 65535, NULL, 0},
    {"padding", "pixels added on every side before cropping", OFF(padding), SP_OPT_INT, "0", 0,
     65535, NULL, 0},
    {"pad_if_needed", "pad a side shorter than the crop (on both ends, by the shortfall) "
                      "instead of rejecting the image",
     OFF(pad_if_needed), SP_OPT_BOOL, "false", 0, 0, NULL, 0},
    {"padding_mode", "how padded pixels are made", OFF(padding_mode), SP_OPT_ENUM, "constant",
     1, 0, sp_border_choices, 0},
    SP_FILL_OPTION(random_crop_opts),
    SP_OPT_END,
};

static void random_crop_out_size(const void *opts, uint32_t *w, uint32_t *h)
{
    const random_crop_opts *o = opts;
    *w = (uint32_t)o->width;
    *h = (uint32_t)o->height;
}

/* Where `count` pixels from index `start` of one padded axis come from in the image:
 * torchvision pads twice (`padding`, then pad_if_needed around the padded image), and a
 * reflection of a padded image is not a reflection of the image, so both steps are
 * followed back in turn. -1 stands for the fill. Only the crop's pixels are looked up:
 * a huge padding never makes a huge image. */
static void axis_map(int64_t start, uint32_t count, int64_t n, int64_t pad1, int64_t pad2,
                     sp_border mode, int64_t *map)
{
    const int64_t n1 = n + 2 * pad1;
    for (uint32_t i = 0; i < count; i++) {
        int64_t k = start + i - pad2;
        if (k < 0 || k >= n1) {
            if (mode == SP_BORDER_CONSTANT) {
                map[i] = -1;
                continue;
            }
            k = sp_border_index(k, n1, mode);
        }
        k -= pad1;
        if (k < 0 || k >= n) k = mode == SP_BORDER_CONSTANT ? -1 : sp_border_index(k, n, mode);
        map[i] = k;
    }
}

/* The position in the (padded) W x H image, drawn and noted. */
static void draw_xy(int64_t W, int64_t H, uint32_t tw, uint32_t th, sp_pixel_ctx *pc,
                    uint32_t *x, uint32_t *y)
{
    *x = *y = 0;
    if (W != tw || H != th) {
        *y = (uint32_t)sp_px_int(pc, 0, (uint32_t)(H - th + 1));
        *x = (uint32_t)sp_px_int(pc, 0, (uint32_t)(W - tw + 1));
    }
    sp_px_note(pc, "x", *x);
    sp_px_note(pc, "y", *y);
}

/* Crop-aware decoding: without padding the box lies in the image. With padding, or an
 * image smaller than the crop, process needs the whole image (or fails on it). */
static bool random_crop_region(const void *opts, uint32_t src_w, uint32_t src_h,
                               sp_pixel_ctx *pc, uint32_t box[4], uint32_t need[2])
{
    const random_crop_opts *o = opts;
    need[0] = need[1] = 0; /* the box's own pixels */
    const uint32_t tw = (uint32_t)o->width, th = (uint32_t)o->height;
    if (o->padding || src_w < tw || src_h < th) return false;
    draw_xy(src_w, src_h, tw, th, pc, &box[0], &box[1]);
    box[2] = tw;
    box[3] = th;
    return true;
}

static int random_crop_process_region(const void *opts, uint32_t src_w, uint32_t src_h,
                                      const sp_region *at, sp_image *img, sp_pixel_ctx *pc,
                                      sp_error *err)
{
    uint32_t box[4], need[2];
    if (!random_crop_region(opts, src_w, src_h, pc, box, need))
        return sp_fail(err, SP_E_USAGE, "the crop reads outside the image");
    return sp_region_cut(box, at, img, err);
}

static int random_crop_process(const void *opts, sp_image *img, sp_pixel_ctx *pc,
                               sp_error *err)
{
    const random_crop_opts *o = opts;
    const uint32_t tw = (uint32_t)o->width, th = (uint32_t)o->height;
    const int64_t pad = o->padding;
    int64_t W = (int64_t)img->width + 2 * pad, H = (int64_t)img->height + 2 * pad;
    int64_t extra_x = 0, extra_y = 0; /* pad_if_needed, on both ends */
    if (o->pad_if_needed && W < tw) extra_x = tw - W;
    if (o->pad_if_needed && H < th) extra_y = th - H;
    W += 2 * extra_x;
    H += 2 * extra_y;
    if (W < tw || H < th)
        return sp_fail(err, SP_E_LIMIT, "a %lldx%lld image is smaller than the %ux%u crop "
                                        "(set pad_if_needed to pad it)",
                       (long long)W, (long long)H, tw, th);
    uint32_t x, y;
    draw_xy(W, H, tw, th, pc, &x, &y);
    int64_t *map = malloc(sizeof(int64_t) * ((size_t)tw + th));
    if (!map) return sp_fail(err, SP_E_NOMEM, "out of memory");
    const sp_border mode = (sp_border)o->padding_mode;
    axis_map(x, tw, img->width, pad, extra_x, mode, map);
    axis_map(y, th, img->height, pad, extra_y, mode, map + tw);
    sp_image out = {0};
    int rc = sp_image_remap(img, map, tw, map + tw, th, (uint8_t)o->fill, &out, err);
    free(map);
    if (rc == SP_OK) sp_image_move(img, &out);
    return rc;
}

const sp_stage_desc sp_stage_random_crop = {
    .name = "random_crop",
    .help = "cut a width x height box at a random position, optionally after padding "
            "(random: p, apply)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(random_crop_opts),
    .options = random_crop_options,
    .process = random_crop_process,
    .out_size = random_crop_out_size,
    .region = random_crop_region,
    .process_region = random_crop_process_region,
};
