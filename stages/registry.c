/*
 * The stage registry: every stage type, in the order `shardpack stages` lists them.
 * Adding a stage is one file in stages/ and one line here.
 */
#include "internal.h"

#include <string.h>

extern const sp_stage_desc sp_stage_source;
extern const sp_stage_desc sp_stage_idx;
extern const sp_stage_desc sp_stage_cifar;
extern const sp_stage_desc sp_stage_shuffle;
extern const sp_stage_desc sp_stage_split;
extern const sp_stage_desc sp_stage_clean;
extern const sp_stage_desc sp_stage_balance;
extern const sp_stage_desc sp_stage_resize;
extern const sp_stage_desc sp_stage_crop;
extern const sp_stage_desc sp_stage_pad;
extern const sp_stage_desc sp_stage_random_crop;
extern const sp_stage_desc sp_stage_random_resized_crop;
extern const sp_stage_desc sp_stage_hflip;
extern const sp_stage_desc sp_stage_vflip;
extern const sp_stage_desc sp_stage_rot90;
extern const sp_stage_desc sp_stage_rotate;
extern const sp_stage_desc sp_stage_affine;
extern const sp_stage_desc sp_stage_perspective;
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
extern const sp_stage_desc sp_stage_one_of;
extern const sp_stage_desc sp_stage_some_of;
extern const sp_stage_desc sp_stage_sequence;
extern const sp_stage_desc sp_stage_randaugment;
extern const sp_stage_desc sp_stage_trivialaugment;
extern const sp_stage_desc sp_stage_tar;
extern const sp_stage_desc sp_stage_npy;
extern const sp_stage_desc sp_stage_tfrecord;

static const sp_stage_desc *const stages[] = {
    /* sources */
    &sp_stage_source,
    &sp_stage_idx,
    &sp_stage_cifar,
    /* record stages */
    &sp_stage_clean,
    &sp_stage_split,
    &sp_stage_balance,
    &sp_stage_shuffle,
    /* pixel stages: geometry */
    &sp_stage_resize,
    &sp_stage_crop,
    &sp_stage_pad,
    &sp_stage_random_crop,
    &sp_stage_random_resized_crop,
    &sp_stage_hflip,
    &sp_stage_vflip,
    &sp_stage_rot90,
    &sp_stage_rotate,
    &sp_stage_affine,
    &sp_stage_perspective,
    /* pixel stages: photometric */
    &sp_stage_color_jitter,
    &sp_stage_brightness,
    &sp_stage_contrast,
    &sp_stage_saturation,
    &sp_stage_hue,
    &sp_stage_gamma,
    &sp_stage_grayscale,
    &sp_stage_autocontrast,
    &sp_stage_equalize,
    &sp_stage_posterize,
    &sp_stage_solarize,
    &sp_stage_invert,
    &sp_stage_noise,
    &sp_stage_blur,
    &sp_stage_sharpen,
    &sp_stage_jpeg,
    &sp_stage_erase,
    /* pixel stages: groups */
    &sp_stage_one_of,
    &sp_stage_some_of,
    &sp_stage_sequence,
    /* pixel stages: augmentation policies */
    &sp_stage_randaugment,
    &sp_stage_trivialaugment,
    /* pixel stages: output */
    &sp_stage_encode,
    /* sinks */
    &sp_stage_tar,
    &sp_stage_npy,
    &sp_stage_tfrecord,
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
