/*
 * tar — a WebDataset sink: shards PREFIX-NNNNNN.tar in the output folder, each sample a
 * run of members KEY.<image ext> plus the chosen fields (KEY.cls class index, KEY.json
 * metadata, KEY.txt class name), in name order. Beside each shard a DALI index
 * (PREFIX-NNNNNN.idx, v1.2); for the whole sink a wids shard index (PREFIX.wids.json).
 *
 *   [shards]
 *   type = tar
 *   prefix = shard
 *   max_records = 1000
 *   max_bytes = 1G
 *   fields = cls,json
 *
 * Shards are cut in the plan, so each can be built alone: max_records is exact, and
 * max_bytes is held against an estimate of each record's stored size (its output pixels
 * at the encoder's typical ratio, plus tar headers and padding), so real shards land near,
 * not exactly at, the byte limit.
 */
#include "internal.h"

static const sp_enum_choice tar_fields[] = {
    {SP_FIELD_CLS, "cls", "KEY.cls: the class index, ASCII decimal"},
    {SP_FIELD_JSON, "json", "KEY.json: source path, original size, class, copy"},
    {SP_FIELD_TXT, "txt", "KEY.txt: the class name"},
    {0, NULL, NULL},
};

static const sp_option tar_options[] = {
    SP_SINK_COMMON_OPTIONS(sp_tar_sink_opts),
    {"fields", "members written beside the image", offsetof(sp_tar_sink_opts, fields),
     SP_OPT_FLAGS, "cls,json", 1, 0, tar_fields, 0},
    {"index", "write a DALI index (.idx) beside each shard", offsetof(sp_tar_sink_opts, index),
     SP_OPT_BOOL, "true", 1, 0, NULL, 0},
    SP_OPT_END,
};

const sp_stage_desc sp_stage_tar = {
    .name = "tar",
    .help = "write WebDataset tar shards (PREFIX-NNNNNN.tar) with DALI and wids indexes",
    .kind = SP_STAGE_SINK,
    .opts_size = sizeof(sp_tar_sink_opts),
    .options = tar_options,
    .sink = &sp_sink_tar,
};
