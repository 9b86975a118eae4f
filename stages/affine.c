/*
 * affine — a random rotation, shift, scale and shear about the image centre, as
 * torchvision's RandomAffine on PIL images: same parameters, same matrix, bilinear
 * sampling, `fill` outside the image. The output keeps the input's size.
 *
 *   [affine]
 *   degrees = 10        ; angle in [-10, 10]
 *   translate_x = 0.1   ; shift by up to 10% of the width ...
 *   translate_y = 0.1   ; ... and of the height, rounded to whole pixels
 *   scale_min = 0.9
 *   scale_max = 1.1
 *   shear_x = 5         ; x shear angle in [-5, 5] degrees
 *
 * Draws, in torchvision's order: angle, shift x, shift y, scale, shear x, shear y; all
 * noted. One difference: torchvision's affine() turns clockwise for a positive angle,
 * rotate (Pillow) counter-clockwise; here both turn counter-clockwise. The angle range is
 * symmetric, so the distribution of images is the same.
 */
#include "geometry.h"

#include <math.h>

typedef sp_affine_opts affine_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(affine_opts, f)
static const sp_option affine_options[] = {
    {"degrees", "largest rotation, either way, in degrees (counter-clockwise positive)",
     OFF(degrees), SP_OPT_DOUBLE, "10", 0, 180, NULL, 0},
    {"translate_x", "largest horizontal shift, as a fraction of the width", OFF(translate_x),
     SP_OPT_DOUBLE, "0.1", 0, 1, NULL, 0},
    {"translate_y", "largest vertical shift, as a fraction of the height", OFF(translate_y),
     SP_OPT_DOUBLE, "0.1", 0, 1, NULL, 0},
    {"scale_min", "smallest scale factor", OFF(scale_min), SP_OPT_DOUBLE, "0.9", 0.01, 100, NULL,
     0},
    {"scale_max", "largest scale factor", OFF(scale_max), SP_OPT_DOUBLE, "1.1", 0.01, 100, NULL,
     0},
    {"shear_x", "largest shear parallel to the x axis, either way, in degrees", OFF(shear_x),
     SP_OPT_DOUBLE, "0", 0, 80, NULL, 0},
    {"shear_y", "largest shear parallel to the y axis, either way, in degrees", OFF(shear_y),
     SP_OPT_DOUBLE, "0", 0, 80, NULL, 0},
    SP_FILL_OPTION(affine_opts),
    SP_OPT_END,
};

static int affine_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const affine_opts *o = opts;
    const double angle = sp_px_range(pc, -o->degrees, o->degrees);
    const double mx = o->translate_x * img->width, my = o->translate_y * img->height;
    const double tx = nearbyint(sp_px_range(pc, -mx, mx));
    const double ty = nearbyint(sp_px_range(pc, -my, my));
    const double scale = sp_px_range(pc, o->scale_min, o->scale_max);
    const double shx = sp_px_range(pc, -o->shear_x, o->shear_x);
    const double shy = sp_px_range(pc, -o->shear_y, o->shear_y);
    sp_px_note(pc, "angle", angle);
    sp_px_note(pc, "tx", tx);
    sp_px_note(pc, "ty", ty);
    sp_px_note(pc, "scale", scale);
    sp_px_note(pc, "shear_x", shx);
    sp_px_note(pc, "shear_y", shy);
    double m[8];
    sp_affine_inverse(img->width * 0.5, img->height * 0.5, -angle, tx, ty, scale, shx, shy, m);
    sp_image out = {0};
    int rc = sp_warp(img, img->width, img->height, m, SP_BORDER_CONSTANT, (uint8_t)o->fill, &out,
                     err);
    if (rc == SP_OK) sp_image_move(img, &out);
    return rc;
}

const sp_stage_desc sp_stage_affine = {
    .name = "affine",
    .help = "random rotation, shift, scale and shear about the centre, as torchvision's "
            "RandomAffine (random: p, apply)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(affine_opts),
    .options = affine_options,
    .process = affine_process,
};
