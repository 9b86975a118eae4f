/*
 * rotate — turn the image by an angle drawn uniformly from [min, max] degrees,
 * counter-clockwise for positive angles, about the image centre: Pillow's Image.rotate
 * (torchvision's RandomRotation on PIL images), sampled bilinearly.
 *
 *   [rotate]
 *   min = -15
 *   max = 15
 *   border = reflect
 *
 * As in Pillow: the centre is (W/2, H/2); the matrix entries are rounded to 15 decimals
 * (so 90 degrees is exact); 0 and 180 degrees, and 90 or 270 when the image is square or
 * `expand` is on, are exact pixel moves; `expand` makes the output the bounding box of the
 * turned image (ceil of its extent), keeping the centre. With border = constant a point
 * outside the image takes `fill`; edge and reflect make up the outside instead. Pillow
 * truncates the interpolated value, shardpack rounds it: the two differ by at most one
 * level. The drawn angle is noted; the output size depends on it with `expand`, so the
 * stage declares none.
 */
#include "geometry.h"

#include <math.h>

typedef sp_rotate_opts rotate_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(rotate_opts, f)
static const sp_option rotate_options[] = {
    {"min", "smallest angle, degrees counter-clockwise", OFF(min), SP_OPT_DOUBLE, "-15", -360,
     360, NULL, 0},
    {"max", "largest angle, degrees counter-clockwise", OFF(max), SP_OPT_DOUBLE, "15", -360, 360,
     NULL, 0},
    {"expand", "grow the output to hold the whole turned image", OFF(expand), SP_OPT_BOOL,
     "false", 0, 0, NULL, 0},
    {"border", "what the corners uncovered by the turn show", OFF(border), SP_OPT_ENUM,
     "constant", 1, 0, sp_warp_border_choices, 0},
    SP_FILL_OPTION(rotate_opts),
    SP_OPT_END,
};

/* Python's round(v, 15), closely enough: it only has to turn cos(90°) into 0. */
static double round15(double v)
{
    return nearbyint(v * 1e15) / 1e15;
}

static void apply(const double m[6], double x, double y, double *ox, double *oy)
{
    *ox = m[0] * x + m[1] * y + m[2];
    *oy = m[3] * x + m[4] * y + m[5];
}

static int rotate_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const rotate_opts *o = opts;
    double angle = o->min == o->max ? o->min : sp_px_range(pc, o->min, o->max);
    sp_px_note(pc, "angle", angle);
    angle = fmod(angle, 360.0);
    if (angle < 0) angle += 360.0;
    const uint32_t W = img->width, H = img->height;
    int k = -1; /* the exact quarter turns Pillow takes a shortcut for */
    if (angle == 0.0) return SP_OK;
    if (angle == 180.0) k = 2;
    if ((angle == 90.0 || angle == 270.0) && (o->expand || W == H)) k = angle == 90.0 ? 1 : 3;
    sp_image out = {0};
    int rc;
    if (k > 0) {
        rc = sp_quarter_turn(img, k, &out, err);
    } else {
        /* The inverse map, output -> input, built the way Image.rotate builds it. */
        const double a = -angle * M_PI / 180.0, cx = W / 2.0, cy = H / 2.0;
        double m[8] = {round15(cos(a)), round15(sin(a)), 0, round15(-sin(a)), round15(cos(a)),
                       0, 0, 0};
        apply(m, -cx, -cy, &m[2], &m[5]);
        m[2] += cx;
        m[5] += cy;
        uint64_t ow = W, oh = H;
        if (o->expand) {
            double xs[4], ys[4];
            const double cxs[4] = {0, W, W, 0}, cys[4] = {0, 0, H, H};
            for (int i = 0; i < 4; i++) apply(m, cxs[i], cys[i], &xs[i], &ys[i]);
            double x0 = xs[0], x1 = xs[0], y0 = ys[0], y1 = ys[0];
            for (int i = 1; i < 4; i++) {
                x0 = fmin(x0, xs[i]);
                x1 = fmax(x1, xs[i]);
                y0 = fmin(y0, ys[i]);
                y1 = fmax(y1, ys[i]);
            }
            ow = (uint64_t)(ceil(x1) - floor(x0));
            oh = (uint64_t)(ceil(y1) - floor(y0));
            if (ow > UINT32_MAX || oh > UINT32_MAX || ow == 0 || oh == 0)
                return sp_fail(err, SP_E_LIMIT, "rotation makes a %llux%llu image",
                               (unsigned long long)ow, (unsigned long long)oh);
            apply(m, -((double)ow - W) / 2.0, -((double)oh - H) / 2.0, &m[2], &m[5]);
        }
        rc = sp_warp(img, (uint32_t)ow, (uint32_t)oh, m, (sp_border)o->border, (uint8_t)o->fill,
                     &out, err);
    }
    if (rc == SP_OK) sp_image_move(img, &out);
    return rc;
}

/* Without expand the size is kept; with it, it depends on the drawn angle (0, 0). */
static void rotate_out_size(const void *opts, uint32_t *w, uint32_t *h)
{
    const rotate_opts *o = opts;
    if (o->expand) *w = *h = 0;
}

const sp_stage_desc sp_stage_rotate = {
    .name = "rotate",
    .help = "turn the image by a random angle about its centre, bilinear, as Pillow's "
            "Image.rotate (random: p, apply)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(rotate_opts),
    .options = rotate_options,
    .process = rotate_process,
    .out_size = rotate_out_size,
};
