/*
 * pad — add pixels around the image: a constant fill, the edge repeated, or the image
 * mirrored (torchvision's Pad: constant, edge, reflect, symmetric).
 *
 *   [pad]
 *   all = 16            ; every side
 *   right = 0           ; ... except this one
 *   mode = reflect
 *
 * Reflection wider than the image folds back again, as numpy.pad does.
 */
#include "geometry.h"

typedef sp_pad_opts pad_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(pad_opts, f)
static const sp_option pad_options[] = {
    {"all", "pixels added on every side not set on its own", OFF(all), SP_OPT_INT, "0", 0,
     65535, NULL, 0},
    {"left", "pixels added on the left; -1 = all", OFF(left), SP_OPT_INT, "-1", -1, 65535, NULL,
     0},
    {"top", "pixels added at the top; -1 = all", OFF(top), SP_OPT_INT, "-1", -1, 65535, NULL, 0},
    {"right", "pixels added on the right; -1 = all", OFF(right), SP_OPT_INT, "-1", -1, 65535,
     NULL, 0},
    {"bottom", "pixels added at the bottom; -1 = all", OFF(bottom), SP_OPT_INT, "-1", -1, 65535,
     NULL, 0},
    {"mode", "how the new pixels are made", OFF(mode), SP_OPT_ENUM, "constant", 1, 0,
     sp_border_choices, 0},
    SP_FILL_OPTION(pad_opts),
    SP_OPT_END,
};

static void sides(const pad_opts *o, uint32_t s[4])
{
    const int64_t v[4] = {o->left, o->top, o->right, o->bottom};
    for (int i = 0; i < 4; i++) s[i] = (uint32_t)(v[i] < 0 ? o->all : v[i]);
}

static uint32_t saturate(uint64_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void pad_out_size(const void *opts, uint32_t *w, uint32_t *h)
{
    uint32_t s[4];
    sides(opts, s);
    *w = saturate((uint64_t)*w + s[0] + s[2]);
    *h = saturate((uint64_t)*h + s[1] + s[3]);
}

static int pad_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)pc;
    const pad_opts *o = opts;
    uint32_t s[4];
    sides(o, s);
    if (!s[0] && !s[1] && !s[2] && !s[3]) return SP_OK;
    sp_image out = {0};
    int rc = sp_pad_image(img, s[0], s[1], s[2], s[3], (sp_border)o->mode, (uint8_t)o->fill,
                          &out, err);
    if (rc == SP_OK) sp_image_move(img, &out);
    return rc;
}

const sp_stage_desc sp_stage_pad = {
    .name = "pad",
    .help = "add pixels around the image: a fill level, the edge repeated, or a mirror image",
    .kind = SP_STAGE_PIXEL,
    .opts_size = sizeof(pad_opts),
    .options = pad_options,
    .process = pad_process,
    .out_size = pad_out_size,
};
