/*
 * tar — a WebDataset sink: shards PREFIX-NNNNNN.tar in the output folder, each sample a
 * run of members KEY.cls (class index), KEY.jpg (the image) and KEY.json (source path,
 * original size, class name).
 *
 *   [shards]
 *   type = tar
 *   prefix = shard
 *   max_records = 1000
 *   max_bytes = 1G
 *
 * Shards are cut in the plan, so each can be built alone: max_records is exact, and
 * max_bytes is held against an estimate of each record's size (its output pixels at the
 * encoder's typical ratio, plus tar headers), so real shards land near, not exactly at,
 * the byte limit.
 */
#include "internal.h"

#define OFF(f) offsetof(sp_tar_sink_opts, f)
static const sp_option tar_options[] = {
    {"prefix", "shard file name prefix; empty uses the section name", OFF(prefix),
     SP_OPT_STRING, "", 0, 0, NULL, 0},
    {"max_records", "most records per shard", OFF(max_records), SP_OPT_INT, "1000", 1,
     1e9, NULL, 0},
    {"max_bytes", "target most bytes per shard (estimated at plan time)", OFF(max_bytes),
     SP_OPT_SIZE, "1G", 4096, 1099511627776.0, NULL, 0},
    SP_OPT_END,
};

const sp_stage_desc sp_stage_tar = {
    .name = "tar",
    .help = "write WebDataset tar shards (PREFIX-NNNNNN.tar)",
    .kind = SP_STAGE_SINK,
    .opts_size = sizeof(sp_tar_sink_opts),
    .options = tar_options,
};
