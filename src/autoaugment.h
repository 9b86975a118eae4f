/*
 * The op list of torchvision's automatic augmentation policies (RandAugment and
 * TrivialAugmentWide), shared by stages/randaugment.c and stages/trivialaugment.c. Not
 * installed.
 *
 * Each op is one of shardpack's own stages run with fixed parameters (Brightness is the
 * brightness stage with factor_min = factor_max = 1 + magnitude, Rotate is the rotate
 * stage with min = max = the angle, ...), or, for the shears and shifts, the affine
 * stage's matrix and warp. A policy's op therefore gives exactly the pixels of the stage
 * of the same name: there is one implementation of each operation, not two.
 */
#ifndef SP_AUTOAUGMENT_H
#define SP_AUTOAUGMENT_H

#include "internal.h"

typedef enum sp_aa_op {
    SP_AA_IDENTITY,
    SP_AA_SHEAR_X,
    SP_AA_SHEAR_Y,
    SP_AA_TRANSLATE_X,
    SP_AA_TRANSLATE_Y,
    SP_AA_ROTATE,
    SP_AA_BRIGHTNESS,
    SP_AA_COLOR,
    SP_AA_CONTRAST,
    SP_AA_SHARPNESS,
    SP_AA_POSTERIZE,
    SP_AA_SOLARIZE,
    SP_AA_AUTOCONTRAST,
    SP_AA_EQUALIZE,
    SP_AA_NOPS
} sp_aa_op;

/* torchvision's two augmentation spaces: RandAugment's (_augmentation_space of
 * RandAugment) and TrivialAugmentWide's wider one. */
typedef enum sp_aa_space { SP_AA_SPACE_RANDAUGMENT, SP_AA_SPACE_WIDE } sp_aa_space;

/* torchvision's op name ("ShearX", "Color", ...). */
const char *sp_aa_op_name(sp_aa_op op);
/* Whether the op has a magnitude (Identity, AutoContrast and Equalize do not). */
bool sp_aa_has_magnitude(sp_aa_op op);
/* Whether torchvision flips the magnitude's sign at random for it. */
bool sp_aa_signed(sp_aa_op op);
/* The op's magnitude at bin `bin` of `bins` (>= 2) for a w x h image: torchvision's
 * linspace/arange tables, unsigned. 0 for ops without one. */
double sp_aa_magnitude(sp_aa_space space, sp_aa_op op, int64_t bin, int64_t bins, uint32_t w,
                       uint32_t h);
/* Applies op with a signed magnitude, as torchvision's _apply_op on PIL images. `fill` is
 * the level of the pixels the geometric ops uncover. pc is the policy's stream: an op's
 * own stage draws (if any) come from a copy of it and are not noted, so the policy's
 * draws and notes are its own. */
int sp_aa_apply(sp_aa_op op, double magnitude, uint8_t fill, sp_image *img, sp_pixel_ctx *pc,
                sp_error *err);

#endif
