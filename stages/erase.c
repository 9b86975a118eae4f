/*
 * erase — fill a random box (torchvision's RandomErasing).
 *
 *   [erase]
 *   scale_min = 0.02
 *   scale_max = 0.33   ; box area as a fraction of the image
 *   ratio_min = 0.3
 *   ratio_max = 3.3    ; box height / width, drawn log-uniformly
 *   fill = constant    ; or random: uniform random levels per value
 *   value = 0          ; the constant fill level
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * torchvision's draws: up to 10 tries of area = H * W * U(scale), aspect = exp(U(log
 * ratio)), h = round(sqrt(area * aspect)), w = round(sqrt(area / aspect)) (half to even,
 * like Python), accepted if h < H and w < W; then the top-left corner is uniform over the
 * positions that fit. When no try fits the image is left as it is (noted as erased = 0).
 * torchvision's value="random" fills with normal noise in normalised units; on 8-bit pixels
 * the analogue is uniform random levels. Colour channels are filled, alpha is kept.
 */
#include "photometric.h"

#include <math.h>
#include <string.h>

typedef sp_erase_opts erase_opts; /* shardpack/ops.h */

static const sp_enum_choice fill_choices[] = {
    {SP_ERASE_CONSTANT, "constant", "every value of the box set to `value`"},
    {SP_ERASE_RANDOM, "random", "uniform random levels, drawn per value"},
    {0, NULL, NULL},
};

#define OFF(f) offsetof(erase_opts, f)
static const sp_option erase_options[] = {
    {"scale_min", "smallest box area, as a fraction of the image", OFF(scale_min),
     SP_OPT_DOUBLE, "0.02", 0, 1, NULL, 0},
    {"scale_max", "largest box area, as a fraction of the image", OFF(scale_max),
     SP_OPT_DOUBLE, "0.33", 0, 1, NULL, 0},
    {"ratio_min", "smallest box aspect ratio (height / width)", OFF(ratio_min), SP_OPT_DOUBLE,
     "0.3", 0.001, 1000, NULL, 0},
    {"ratio_max", "largest box aspect ratio (height / width)", OFF(ratio_max), SP_OPT_DOUBLE,
     "3.3", 0.001, 1000, NULL, 0},
    {"fill", "what the box is filled with", OFF(fill), SP_OPT_ENUM, "constant", 1, 0,
     fill_choices, 0},
    {"value", "the level of a constant fill", OFF(value), SP_OPT_INT, "0", 0, 255, NULL, 0},
    SP_OPT_END,
};

#define TRIES 10

static void fill_box(sp_image *img, uint32_t bx, uint32_t by, uint32_t bw, uint32_t bh,
                     const erase_opts *o, sp_pixel_ctx *pc)
{
    const uint32_t ch = img->channels, colour = ch == 1 ? 1 : 3;
    uint64_t bits = 0;
    unsigned left = 0; /* random bytes left in `bits` */
    for (uint32_t y = by; y < by + bh; y++) {
        uint8_t *p = img->data + (size_t)y * img->stride + (size_t)bx * ch;
        if (o->fill == SP_ERASE_CONSTANT && ch != 4) {
            memset(p, (int)o->value, (size_t)bw * ch);
            continue;
        }
        for (uint32_t x = 0; x < bw; x++, p += ch)
            for (uint32_t c = 0; c < colour; c++) {
                if (o->fill == SP_ERASE_CONSTANT) {
                    p[c] = (uint8_t)o->value;
                    continue;
                }
                if (!left) bits = sp_px_u64(pc), left = 8;
                p[c] = (uint8_t)bits;
                bits >>= 8;
                left--;
            }
    }
}

static int erase_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)err; /* ranges are checked when the options are read; erasing cannot fail */
    const erase_opts *o = opts;
    const double H = img->height, W = img->width, area = H * W;
    const double lr0 = log(o->ratio_min), lr1 = log(o->ratio_max);
    for (int t = 1; t <= TRIES; t++) {
        double a = area * sp_px_range(pc, o->scale_min, o->scale_max);
        double ar = exp(sp_px_range(pc, lr0, lr1));
        double h = nearbyint(sqrt(a * ar)), w = nearbyint(sqrt(a / ar));
        if (!(h < H && w < W)) continue;
        uint32_t bh = (uint32_t)h, bw = (uint32_t)w;
        uint32_t by = (uint32_t)(sp_px_u64(pc) % (uint64_t)(img->height - bh + 1));
        uint32_t bx = (uint32_t)(sp_px_u64(pc) % (uint64_t)(img->width - bw + 1));
        sp_px_note(pc, "erased", 1);
        sp_px_note(pc, "x", bx);
        sp_px_note(pc, "y", by);
        sp_px_note(pc, "width", bw);
        sp_px_note(pc, "height", bh);
        sp_px_note(pc, "tries", t);
        fill_box(img, bx, by, bw, bh, o, pc);
        return SP_OK;
    }
    sp_px_note(pc, "erased", 0);
    sp_px_note(pc, "tries", TRIES);
    return SP_OK;
}

const sp_stage_desc sp_stage_erase = {
    .name = "erase",
    .help = "fill a random box with a constant or random levels (torchvision RandomErasing)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(erase_opts),
    .options = erase_options,
    .process = erase_process,
};
