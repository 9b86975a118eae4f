/*
 * color_jitter — torchvision's ColorJitter on PIL images: brightness, contrast, saturation
 * and hue adjusted by random amounts, in an order drawn per record.
 *
 *   [color_jitter]
 *   brightness = 0.4   ; factor in [max(0, 1 - 0.4), 1 + 0.4]
 *   contrast = 0.4
 *   saturation = 0.4
 *   hue = 0.1          ; shift in [-0.1, 0.1] of the colour circle
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * An amount of 0 leaves that adjustment out (as torchvision does). The draws follow
 * torchvision's get_params: the order first, then the factors in the fixed order
 * brightness, contrast, saturation, hue. Each adjustment is the one of the stages of the
 * same name (src/photometric.c): Pillow's ImageEnhance, to the rounding. Gray images get
 * brightness and contrast; saturation and hue leave them as they are. Alpha is kept.
 */
#include "photometric.h"

#include <string.h>

typedef sp_color_jitter_opts color_jitter_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(color_jitter_opts, f)
static const sp_option color_jitter_options[] = {
    {"brightness", "brightness factor in [max(0, 1 - x), 1 + x]; 0 = leave it", OFF(brightness),
     SP_OPT_DOUBLE, "0.4", 0, 100, NULL, 0},
    {"contrast", "contrast factor in [max(0, 1 - x), 1 + x]; 0 = leave it", OFF(contrast),
     SP_OPT_DOUBLE, "0.4", 0, 100, NULL, 0},
    {"saturation", "saturation factor in [max(0, 1 - x), 1 + x]; 0 = leave it",
     OFF(saturation), SP_OPT_DOUBLE, "0.4", 0, 100, NULL, 0},
    {"hue", "hue shift in [-x, x] of the colour circle; 0 = leave it", OFF(hue), SP_OPT_DOUBLE,
     "0", 0, 0.5, NULL, 0},
    SP_OPT_END,
};

enum { ADJ_BRIGHTNESS, ADJ_CONTRAST, ADJ_SATURATION, ADJ_HUE, NADJ };
static const char *const adj_names[NADJ] = {"brightness", "contrast", "saturation", "hue"};

static int color_jitter_process(const void *opts, sp_image *img, sp_pixel_ctx *pc,
                                sp_error *err)
{
    (void)err; /* every adjustment is total */
    const color_jitter_opts *o = opts;
    const double amount[NADJ] = {o->brightness, o->contrast, o->saturation, o->hue};
    /* torchvision's randperm(4), as a Fisher-Yates shuffle on the stage's stream. */
    int order[NADJ] = {0, 1, 2, 3};
    for (int i = NADJ - 1; i > 0; i--) {
        int j = (int)(sp_px_u64(pc) % (uint64_t)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    char list[64] = "";
    for (int i = 0; i < NADJ; i++) {
        if (amount[order[i]] <= 0) continue;
        if (list[0]) strcat(list, ",");
        strcat(list, adj_names[order[i]]);
    }
    sp_px_note_str(pc, "order", list);
    double value[NADJ] = {1, 1, 1, 0};
    for (int k = 0; k < NADJ; k++) {
        if (amount[k] <= 0) continue;
        double lo = k == ADJ_HUE ? -amount[k] : (amount[k] < 1 ? 1 - amount[k] : 0);
        double hi = k == ADJ_HUE ? amount[k] : 1 + amount[k];
        value[k] = sp_px_draw_range(pc, adj_names[k], lo, hi);
    }
    for (int i = 0; i < NADJ; i++) {
        int k = order[i];
        if (amount[k] <= 0) continue;
        switch (k) {
        case ADJ_BRIGHTNESS: sp_color_brightness(img, value[k]); break;
        case ADJ_CONTRAST: sp_color_contrast(img, value[k]); break;
        case ADJ_SATURATION: sp_color_saturation(img, value[k]); break;
        default: sp_color_hue(img, value[k]); break;
        }
    }
    return SP_OK;
}

const sp_stage_desc sp_stage_color_jitter = {
    .name = "color_jitter",
    .help = "random brightness, contrast, saturation and hue in a random order "
            "(torchvision ColorJitter)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(color_jitter_opts),
    .options = color_jitter_options,
    .process = color_jitter_process,
};
