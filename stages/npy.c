/*
 * npy — decoded tensors numpy maps without copying: per shard PREFIX-NNNNNN.images.npy
 * (uint8, N x H x W x C) and PREFIX-NNNNNN.labels.npy (int64, N). The chain must give a
 * fixed size (end it with a crop).
 *
 *   [tensors]
 *   type = npy
 *   prefix = train
 *   max_records = 10000
 *
 *   images = numpy.load("out/train-000000.images.npy", mmap_mode="r")
 */
#include "internal.h"

static const sp_option npy_options[] = {
    SP_SINK_COMMON_OPTIONS(sp_npy_sink_opts),
    SP_OPT_END,
};

const sp_stage_desc sp_stage_npy = {
    .name = "npy",
    .help = "write fixed-shape uint8 tensors and int64 labels as .npy files per shard",
    .kind = SP_STAGE_SINK,
    .opts_size = sizeof(sp_npy_sink_opts),
    .options = npy_options,
    .sink = &sp_sink_npy,
};
