/*
 * randaugment — torchvision's RandAugment(num_ops, magnitude, num_magnitude_bins): num_ops
 * ops drawn uniformly (with repetition) from its list of 14, each at the one fixed
 * magnitude bin, with a random sign for the signed ones.
 *
 *   [randaugment]
 *   num_ops = 2
 *   magnitude = 9            ; bin of num_magnitude_bins (0 .. bins - 1)
 *   num_magnitude_bins = 31
 *   fill = 0                 ; level of the corners the geometric ops uncover
 *   apply = copies           ; default: only the copies a balance stage makes
 *
 * The ops: Identity, ShearX/Y (up to 0.3, about the top-left corner, as torchvision),
 * TranslateX/Y (up to 150/331 of the side, whole pixels), Rotate (up to 30 degrees),
 * Brightness, Color, Contrast, Sharpness (factor 1 ± up to 0.9), Posterize (8 down to 4
 * bits), Solarize (threshold 255 down to 0), AutoContrast, Equalize. Each is the shardpack
 * stage of that meaning with fixed values (src/autoaugment.c), so its pixels are that
 * stage's. One difference from torchvision's default: geometric ops sample bilinearly
 * (shardpack's warp) where torchvision's default interpolation is nearest.
 *
 * Draws, per op: its index, then for signed ops the sign (torchvision's order). Noted as
 * op1, magnitude1, op2, magnitude2, ... (the signed magnitude applied).
 */
#include "autoaugment.h"
#include "geometry.h"

#include <stdio.h>

typedef sp_randaugment_opts randaugment_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(randaugment_opts, f)
static const sp_option randaugment_options[] = {
    {"num_ops", "how many ops act on each record (drawn with repetition)", OFF(num_ops), SP_OPT_INT,
     "2", 0, 64, NULL, 0},
    {"magnitude", "the magnitude bin every op uses (0 .. num_magnitude_bins - 1)", OFF(magnitude),
     SP_OPT_INT, "9", 0, 1000, NULL, 0},
    {"num_magnitude_bins", "how many magnitude bins the op ranges are cut into",
     OFF(num_magnitude_bins), SP_OPT_INT, "31", 2, 1001, NULL, 0},
    SP_FILL_OPTION(randaugment_opts),
    SP_OPT_END,
};

static int randaugment_validate(const void *opts, sp_error *err)
{
    const randaugment_opts *o = opts;
    if (o->magnitude >= o->num_magnitude_bins)
        return sp_fail(err, SP_E_CONFIG, "magnitude = %lld must be below num_magnitude_bins = %lld",
                       (long long)o->magnitude, (long long)o->num_magnitude_bins);
    return SP_OK;
}

static int randaugment_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const randaugment_opts *o = opts;
    int rc = randaugment_validate(o, err); /* sp_op_new_struct callers skip validate */
    for (int64_t i = 0; rc == SP_OK && i < o->num_ops; i++) {
        const sp_aa_op op = (sp_aa_op)sp_px_int(pc, 0, SP_AA_NOPS);
        double mag = sp_aa_magnitude(SP_AA_SPACE_RANDAUGMENT, op, o->magnitude,
                                     o->num_magnitude_bins, img->width, img->height);
        if (sp_aa_signed(op) && sp_px_int(pc, 0, 2)) mag = -mag;
        char name[32];
        snprintf(name, sizeof(name), "op%lld", (long long)i + 1);
        sp_px_note_str(pc, name, sp_aa_op_name(op));
        snprintf(name, sizeof(name), "magnitude%lld", (long long)i + 1);
        sp_px_note(pc, name, mag);
        rc = sp_aa_apply(op, mag, (uint8_t)o->fill, img, pc, err);
    }
    return rc;
}

const sp_stage_desc sp_stage_randaugment = {
    .name = "randaugment",
    .help = "num_ops random ops of torchvision's RandAugment at one magnitude (random: p, "
            "apply)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(randaugment_opts),
    .options = randaugment_options,
    .process = randaugment_process,
    .validate = randaugment_validate,
};
