/*
 * The ops of torchvision's RandAugment and TrivialAugmentWide (src/autoaugment.h), each
 * run through shardpack's own stage of the same meaning, with fixed parameters.
 *
 * Magnitudes follow torchvision's tables (torchvision/transforms/autoaugment.py), computed
 * in double precision where torch uses float32 linspace: a translate of 30.4999 pixels in
 * one may be 30.5 in the other only at exact bin boundaries, which whole-pixel shifts
 * (int()) almost never meet.
 */
#include "autoaugment.h"
#include "geometry.h"

#include <math.h>

extern const sp_stage_desc sp_stage_rotate;
extern const sp_stage_desc sp_stage_brightness;
extern const sp_stage_desc sp_stage_saturation;
extern const sp_stage_desc sp_stage_contrast;
extern const sp_stage_desc sp_stage_sharpen;
extern const sp_stage_desc sp_stage_posterize;
extern const sp_stage_desc sp_stage_solarize;
extern const sp_stage_desc sp_stage_autocontrast;
extern const sp_stage_desc sp_stage_equalize;

static const char *const op_names[SP_AA_NOPS] = {
    "Identity", "ShearX",   "ShearY",    "TranslateX", "TranslateY", "Rotate",       "Brightness",
    "Color",    "Contrast", "Sharpness", "Posterize",  "Solarize",   "AutoContrast", "Equalize",
};

const char *sp_aa_op_name(sp_aa_op op)
{
    return op < SP_AA_NOPS ? op_names[op] : "?";
}

bool sp_aa_has_magnitude(sp_aa_op op)
{
    return op != SP_AA_IDENTITY && op != SP_AA_AUTOCONTRAST && op != SP_AA_EQUALIZE;
}

bool sp_aa_signed(sp_aa_op op)
{
    return op >= SP_AA_SHEAR_X && op <= SP_AA_SHARPNESS;
}

double sp_aa_magnitude(sp_aa_space space, sp_aa_op op, int64_t bin, int64_t bins, uint32_t w,
                       uint32_t h)
{
    const bool wide = space == SP_AA_SPACE_WIDE;
    const double t = (double)bin / (double)(bins - 1); /* linspace(0, 1, bins)[bin] */
    switch (op) {
    case SP_AA_SHEAR_X:
    case SP_AA_SHEAR_Y:
        return (wide ? 0.99 : 0.3) * t;
    case SP_AA_TRANSLATE_X:
        return (wide ? 32.0 : 150.0 / 331.0 * w) * t;
    case SP_AA_TRANSLATE_Y:
        return (wide ? 32.0 : 150.0 / 331.0 * h) * t;
    case SP_AA_ROTATE:
        return (wide ? 135.0 : 30.0) * t;
    case SP_AA_BRIGHTNESS:
    case SP_AA_COLOR:
    case SP_AA_CONTRAST:
    case SP_AA_SHARPNESS:
        return (wide ? 0.99 : 0.9) * t;
    case SP_AA_POSTERIZE:
        /* 8 - (arange(bins) / ((bins - 1) / k)).round(): torch rounds half to even, as
         * nearbyint does in the default rounding mode. */
        return 8.0 - nearbyint((double)bin / ((double)(bins - 1) / (wide ? 6.0 : 4.0)));
    case SP_AA_SOLARIZE:
        return 255.0 * (1.0 - t); /* linspace(255, 0, bins) */
    default:
        return 0.0;
    }
}

/* Runs a stage with fixed options on img. Its draws (a range stage draws once even when
 * min = max) come from a copy of the policy's stream, and it notes nothing. */
static int run_fixed(const sp_stage_desc *d, const void *opts, sp_image *img,
                     const sp_pixel_ctx *pc, sp_error *err)
{
    sp_pixel_ctx sub = *pc;
    sub.notes = NULL;
    return d->process(opts, img, &sub, err);
}

/* F.affine(img, angle=0, translate, scale=1, shear) about (cx, cy), as torchvision's
 * ShearX/Y (centre (0, 0)) and TranslateX/Y (the image centre) call it. */
static int affine_op(double cx, double cy, double tx, double ty, double shx, double shy,
                     uint8_t fill, sp_image *img, sp_error *err)
{
    double m[8];
    sp_affine_inverse(cx, cy, 0.0, tx, ty, 1.0, shx, shy, m);
    sp_image out = {0};
    int rc = sp_warp(img, img->width, img->height, m, SP_BORDER_CONSTANT, fill, &out, err);
    if (rc == SP_OK) sp_image_move(img, &out);
    return rc;
}

int sp_aa_apply(sp_aa_op op, double mag, uint8_t fill, sp_image *img, sp_pixel_ctx *pc,
                sp_error *err)
{
    const double deg = atan(mag) * 180.0 / M_PI; /* math.degrees(math.atan(magnitude)) */
    const double factor = 1.0 + mag;
    switch (op) {
    case SP_AA_IDENTITY:
        return SP_OK;
    case SP_AA_SHEAR_X:
        return affine_op(0, 0, 0, 0, deg, 0, fill, img, err);
    case SP_AA_SHEAR_Y:
        return affine_op(0, 0, 0, 0, 0, deg, fill, img, err);
    case SP_AA_TRANSLATE_X:
        /* translate=[int(magnitude), 0]: truncated toward zero. */
        return affine_op(img->width * 0.5, img->height * 0.5, trunc(mag), 0, 0, 0, fill, img, err);
    case SP_AA_TRANSLATE_Y:
        return affine_op(img->width * 0.5, img->height * 0.5, 0, trunc(mag), 0, 0, fill, img, err);
    case SP_AA_ROTATE: {
        const sp_rotate_opts o = {mag, mag, false, SP_BORDER_CONSTANT, fill};
        return run_fixed(&sp_stage_rotate, &o, img, pc, err);
    }
    case SP_AA_BRIGHTNESS: {
        const sp_brightness_opts o = {factor, factor};
        return run_fixed(&sp_stage_brightness, &o, img, pc, err);
    }
    case SP_AA_COLOR: {
        const sp_saturation_opts o = {factor, factor};
        return run_fixed(&sp_stage_saturation, &o, img, pc, err);
    }
    case SP_AA_CONTRAST: {
        const sp_contrast_opts o = {factor, factor};
        return run_fixed(&sp_stage_contrast, &o, img, pc, err);
    }
    case SP_AA_SHARPNESS: {
        const sp_sharpen_opts o = {factor, factor};
        return run_fixed(&sp_stage_sharpen, &o, img, pc, err);
    }
    case SP_AA_POSTERIZE: {
        const sp_posterize_opts o = {(int64_t)mag};
        return run_fixed(&sp_stage_posterize, &o, img, pc, err);
    }
    case SP_AA_SOLARIZE: {
        /* Pillow inverts values >= a float threshold: for whole values, >= its ceiling. */
        const sp_solarize_opts o = {(int64_t)ceil(mag)};
        return run_fixed(&sp_stage_solarize, &o, img, pc, err);
    }
    case SP_AA_AUTOCONTRAST: {
        const sp_autocontrast_opts o = {0.0};
        return run_fixed(&sp_stage_autocontrast, &o, img, pc, err);
    }
    case SP_AA_EQUALIZE:
        return run_fixed(&sp_stage_equalize, NULL, img, pc, err);
    case SP_AA_NOPS:
        break;
    }
    return sp_fail(err, SP_E_USAGE, "unknown augmentation op %d", (int)op);
}
