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
extern const sp_stage_desc sp_stage_pad;
extern const sp_stage_desc sp_stage_random_crop;
extern const sp_stage_desc sp_stage_random_resized_crop;
extern const sp_stage_desc sp_stage_hflip;
extern const sp_stage_desc sp_stage_vflip;
extern const sp_stage_desc sp_stage_rot90;
extern const sp_stage_desc sp_stage_rotate;
extern const sp_stage_desc sp_stage_affine;
extern const sp_stage_desc sp_stage_perspective;
extern const sp_stage_desc sp_stage_encode;
extern const sp_stage_desc sp_stage_tar;
extern const sp_stage_desc sp_stage_npy;
extern const sp_stage_desc sp_stage_tfrecord;

static const sp_stage_desc *const stages[] = {
    &sp_stage_source, /* sources */
    &sp_stage_shuffle, /* record stages */
    &sp_stage_resize, &sp_stage_crop, &sp_stage_pad, /* pixel stages: geometry */
    &sp_stage_random_crop, &sp_stage_random_resized_crop, &sp_stage_hflip, &sp_stage_vflip,
    &sp_stage_rot90, &sp_stage_rotate, &sp_stage_affine, &sp_stage_perspective,
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
