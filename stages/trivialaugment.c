/*
 * trivialaugment — torchvision's TrivialAugmentWide(num_magnitude_bins): one op drawn
 * uniformly from its list of 14, at a magnitude bin drawn uniformly, with a random sign
 * for the signed ones. No parameter to tune is the point of it.
 *
 *   [trivialaugment]
 *   num_magnitude_bins = 31
 *   fill = 0                 ; level of the corners the geometric ops uncover
 *   apply = copies           ; default: only the copies a balance stage makes
 *
 * The "wide" ranges: ShearX/Y up to 0.99 (about the top-left corner), TranslateX/Y up to
 * 32 pixels, Rotate up to 135 degrees, Brightness, Color, Contrast, Sharpness with factor
 * 1 ± up to 0.99, Posterize 8 down to 2 bits, Solarize 255 down to 0; and Identity,
 * AutoContrast, Equalize. The ops are randaugment's (src/autoaugment.c): shardpack's own
 * stages with fixed values; geometric ops sample bilinearly (torchvision: nearest).
 *
 * Draws: the op, then (for ops with a magnitude) the bin, then (signed ops) the sign, in
 * torchvision's order. Noted as op, bin and magnitude (the signed value applied).
 */
#include "autoaugment.h"
#include "geometry.h"

typedef sp_trivialaugment_opts trivialaugment_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(trivialaugment_opts, f)
static const sp_option trivialaugment_options[] = {
    {"num_magnitude_bins", "how many magnitude bins the op ranges are cut into",
     OFF(num_magnitude_bins), SP_OPT_INT, "31", 2, 1001, NULL, 0},
    SP_FILL_OPTION(trivialaugment_opts),
    SP_OPT_END,
};

static int trivialaugment_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const trivialaugment_opts *o = opts;
    const sp_aa_op op = (sp_aa_op)sp_px_int(pc, 0, SP_AA_NOPS);
    int64_t bin = 0;
    double mag = 0.0;
    if (sp_aa_has_magnitude(op)) {
        bin = sp_px_int(pc, 0, o->num_magnitude_bins);
        mag = sp_aa_magnitude(SP_AA_SPACE_WIDE, op, bin, o->num_magnitude_bins, img->width,
                              img->height);
        if (sp_aa_signed(op) && sp_px_int(pc, 0, 2)) mag = -mag;
    }
    sp_px_note_str(pc, "op", sp_aa_op_name(op));
    sp_px_note(pc, "bin", (double)bin);
    sp_px_note(pc, "magnitude", mag);
    return sp_aa_apply(op, mag, (uint8_t)o->fill, img, pc, err);
}

const sp_stage_desc sp_stage_trivialaugment = {
    .name = "trivialaugment",
    .help = "one random op of torchvision's TrivialAugmentWide at a random magnitude "
            "(random: p, apply)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(trivialaugment_opts),
    .options = trivialaugment_options,
    .process = trivialaugment_process,
};
