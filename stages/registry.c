/*
 * The stage registry: every stage type, in the order `shardpack stages` lists them.
 * Adding a stage is one file in stages/ and one line here.
 */
#include "internal.h"

#include <string.h>

extern const sp_stage_desc sp_stage_source;
extern const sp_stage_desc sp_stage_shuffle;
extern const sp_stage_desc sp_stage_resize;
extern const sp_stage_desc sp_stage_crop;
extern const sp_stage_desc sp_stage_color_jitter;
extern const sp_stage_desc sp_stage_brightness;
extern const sp_stage_desc sp_stage_contrast;
extern const sp_stage_desc sp_stage_saturation;
extern const sp_stage_desc sp_stage_hue;
extern const sp_stage_desc sp_stage_gamma;
extern const sp_stage_desc sp_stage_grayscale;
extern const sp_stage_desc sp_stage_autocontrast;
extern const sp_stage_desc sp_stage_equalize;
extern const sp_stage_desc sp_stage_posterize;
extern const sp_stage_desc sp_stage_solarize;
extern const sp_stage_desc sp_stage_invert;
extern const sp_stage_desc sp_stage_noise;
extern const sp_stage_desc sp_stage_blur;
extern const sp_stage_desc sp_stage_sharpen;
extern const sp_stage_desc sp_stage_jpeg;
extern const sp_stage_desc sp_stage_erase;
extern const sp_stage_desc sp_stage_encode;
extern const sp_stage_desc sp_stage_tar;
extern const sp_stage_desc sp_stage_npy;
extern const sp_stage_desc sp_stage_tfrecord;

static const sp_stage_desc *const stages[] = {
    &sp_stage_source, /* sources */
    &sp_stage_shuffle, /* record stages */
    &sp_stage_resize, &sp_stage_crop, /* pixel stages: geometry */
    /* pixel stages: photometric */
    &sp_stage_color_jitter, &sp_stage_brightness, &sp_stage_contrast, &sp_stage_saturation,
    &sp_stage_hue, &sp_stage_gamma, &sp_stage_grayscale, &sp_stage_autocontrast,
    &sp_stage_equalize, &sp_stage_posterize, &sp_stage_solarize, &sp_stage_invert,
    &sp_stage_noise, &sp_stage_blur, &sp_stage_sharpen, &sp_stage_jpeg, &sp_stage_erase,
    &sp_stage_encode, /* pixel stages: output */
    &sp_stage_tar, &sp_stage_npy, &sp_stage_tfrecord, /* sinks */
};

const sp_stage_desc *const *sp_stage_descs(size_t *count)
{
    *count = SP_ARRAY_LEN(stages);
    return stages;
}

const sp_stage_desc *sp_stage_desc_by_name(const char *name)
{
    for (size_t i = 0; i < SP_ARRAY_LEN(stages); i++)
        if (strcmp(stages[i]->name, name) == 0) return stages[i];
    return NULL;
}

const sp_stage_desc *sp_ctx_stage_by_name(const sp_ctx *ctx, const char *name)
{
    const sp_stage_desc *d = sp_stage_desc_by_name(name);
    for (size_t i = 0; !d && ctx && i < ctx->nstages; i++)
        if (strcmp(ctx->stages[i]->name, name) == 0) d = ctx->stages[i];
    return d;
}
