/*
 * rot90 — turn the image by quarter turns, counter-clockwise (as Pillow's
 * Transpose.ROTATE_90 and numpy.rot90). A random stage: `k = random` draws one of 90, 180
 * and 270 degrees for each record it acts on; a fixed k turns by that much.
 *
 *   [rot90]
 *   k = random
 *   p = 0.75
 *
 * Exact: pixels are moved, never resampled. The output size depends on the turn when the
 * image is not square, so the stage declares none.
 */
#include "geometry.h"

#include <math.h>

typedef sp_rot90_opts rot90_opts; /* shardpack/ops.h */

static const sp_enum_choice k_choices[] = {
    {SP_ROT90_RANDOM, "random", "90, 180 or 270 degrees, equally likely"},
    {1, "90", "a quarter turn counter-clockwise"},
    {2, "180", "a half turn"},
    {3, "270", "a quarter turn clockwise"},
    {0, NULL, NULL},
};

#define OFF(f) offsetof(rot90_opts, f)
static const sp_option rot90_options[] = {
    {"k", "the turn, in degrees counter-clockwise", OFF(k), SP_OPT_ENUM, "random", 1, 0,
     k_choices, 0},
    SP_OPT_END,
};

static int rot90_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const rot90_opts *o = opts;
    int k = o->k;
    if (k == SP_ROT90_RANDOM) {
        k = 1 + (int)floor(sp_px_uniform(pc) * 3.0);
        if (k > 3) k = 3; /* cannot happen with u < 1; kept against rounding */
    }
    sp_px_note(pc, "angle", 90.0 * k);
    sp_image out = {0};
    int rc = sp_quarter_turn(img, k, &out, err);
    if (rc == SP_OK) sp_image_move(img, &out);
    return rc;
}

/* A quarter turn swaps the sides; a random k may or may not, so the size then depends on
 * the draw (0, 0), unless the image is square. */
static void rot90_out_size(const void *opts, uint32_t *w, uint32_t *h)
{
    const rot90_opts *o = opts;
    if (*w == *h || o->k == 2) return;
    if (o->k == SP_ROT90_RANDOM) {
        *w = *h = 0;
        return;
    }
    uint32_t t = *w;
    *w = *h;
    *h = t;
}

const sp_stage_desc sp_stage_rot90 = {
    .name = "rot90",
    .help = "turn the image by 90, 180 or 270 degrees counter-clockwise, fixed or drawn "
            "(random: p, apply)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(rot90_opts),
    .options = rot90_options,
    .process = rot90_process,
    .out_size = rot90_out_size,
};
