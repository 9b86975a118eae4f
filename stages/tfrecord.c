/*
 * tfrecord — tf.train.Example records (image/encoded, image/format, image/height,
 * image/width, image/channels, image/class/label, image/class/text, image/filename,
 * image/key) in TFRecord shards PREFIX-SSSSS-of-TTTTT, each with a DALI index (.idx).
 *
 *   [tf]
 *   type = tfrecord
 *   prefix = train
 *   label_offset = 1     ; ImageNet TFRecords count classes from 1, leaving 0 unused
 */
#include "internal.h"

static const sp_option tfrecord_options[] = {
    SP_SINK_COMMON_OPTIONS(sp_tfrecord_sink_opts),
    {"label_offset", "added to every class index in image/class/label",
     offsetof(sp_tfrecord_sink_opts, label_offset), SP_OPT_INT, "0", -1000000, 1000000, NULL,
     0},
    SP_OPT_END,
};

const sp_stage_desc sp_stage_tfrecord = {
    .name = "tfrecord",
    .help = "write tf.train.Example TFRecord shards with DALI indexes",
    .kind = SP_STAGE_SINK,
    .opts_size = sizeof(sp_tfrecord_sink_opts),
    .options = tfrecord_options,
    .sink = &sp_sink_tfrecord,
};
