/*
 * TFRecord — tf.train.Example records in TFRecord framing, the format TensorFlow input
 * pipelines and DALI read. Shards are named PREFIX-SSSSS-of-TTTTT (TensorFlow's own
 * convention), each with a DALI TFRecord index (PREFIX-SSSSS-of-TTTTT.idx: one
 * "offset size" line per record).
 *
 * Framing, per record, little-endian: u64 length | u32 masked CRC-32C of those 8 bytes |
 * data | u32 masked CRC-32C of data. The Example is serialised here by hand — it is a
 * handful of length-delimited fields — with its features in key order so the bytes are
 * reproducible (protobuf map order is otherwise unspecified).
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- protobuf wire format: just what Example needs -------------------------------------- */

static void pb_varint(sp_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    sp_buf_append(b, tmp, n);
}

/* A length-delimited field (wire type 2). */
static void pb_bytes(sp_buf *b, unsigned field, const void *data, size_t len)
{
    pb_varint(b, (uint64_t)field << 3 | 2);
    pb_varint(b, len);
    sp_buf_append(b, data, len);
}

/* Feature{bytes_list = 1: BytesList{value = 1}} */
static void feature_bytes(sp_buf *out, const void *data, size_t len)
{
    sp_buf list = {0}, feat = {0};
    pb_bytes(&list, 1, data, len);
    pb_bytes(&feat, 1, list.data, list.len);
    sp_buf_append(out, feat.data, feat.len);
    out->oom |= list.oom || feat.oom;
    sp_buf_free(&list);
    sp_buf_free(&feat);
}

/* Feature{int64_list = 3: Int64List{value = 1, packed}} */
static void feature_int64(sp_buf *out, int64_t v)
{
    sp_buf packed = {0}, list = {0};
    pb_varint(&packed, (uint64_t)v); /* negative int64s take ten bytes, as protobuf says */
    pb_bytes(&list, 1, packed.data, packed.len);
    pb_bytes(out, 3, list.data, list.len);
    out->oom |= packed.oom || list.oom;
    sp_buf_free(&packed);
    sp_buf_free(&list);
}

/* One map entry of Features.feature: {1: key, 2: Feature}. */
static void map_entry(sp_buf *features, const char *key, const sp_buf *feature)
{
    sp_buf entry = {0};
    pb_bytes(&entry, 1, key, strlen(key));
    pb_bytes(&entry, 2, feature->data, feature->len);
    pb_bytes(features, 1, entry.data, entry.len);
    features->oom |= entry.oom;
    sp_buf_free(&entry);
}

typedef struct feat {
    const char *key;
    bool is_int;
    int64_t i;
    const void *data;
    size_t len;
} feat;

static void example(sp_buf *out, const sp_out_record *r, int64_t label_offset)
{
    const char *fmt = r->codec->name;
    /* In key order: the serialised bytes are then a function of the record alone. */
    const feat f[] = {
        {"image/channels", true, r->image ? r->image->channels : 3, NULL, 0},
        {"image/class/label", true, (int64_t)r->label + label_offset, NULL, 0},
        {"image/class/text", false, 0, r->class_name, strlen(r->class_name)},
        {"image/encoded", false, 0, r->encoded, r->encoded_len},
        {"image/filename", false, 0, r->source, strlen(r->source)},
        {"image/format", false, 0, fmt, strlen(fmt)},
        {"image/height", true, r->image ? r->image->height : 0, NULL, 0},
        {"image/key", false, 0, r->key, strlen(r->key)},
        {"image/width", true, r->image ? r->image->width : 0, NULL, 0},
    };
    sp_buf features = {0};
    for (size_t i = 0; i < SP_ARRAY_LEN(f); i++) {
        sp_buf fb = {0};
        if (f[i].is_int)
            feature_int64(&fb, f[i].i);
        else
            feature_bytes(&fb, f[i].data, f[i].len);
        map_entry(&features, f[i].key, &fb);
        features.oom |= fb.oom;
        sp_buf_free(&fb);
    }
    pb_bytes(out, 1, features.data, features.len); /* Example.features = 1 */
    out->oom |= features.oom;
    sp_buf_free(&features);
}

/* ---- the sink ------------------------------------------------------------------------------ */

/* Names are at most ~130 bytes (prefix ≤ 100, see plan.c), so a sidecar's name fits. */
struct sp_shard_writer {
    FILE *f;
    char *path;
    char name[200];
    int64_t label_offset;
    uint64_t offset;
    sp_buf idx;
};

static void tfr_shard_name(const char *prefix, uint32_t index, uint32_t count, char *buf,
                           size_t size)
{
    snprintf(buf, size, "%s-%05u-of-%05u", prefix, index, count);
}

static void tfr_free(sp_shard_writer **w)
{
    if (!w || !*w) return;
    if ((*w)->f) fclose((*w)->f);
    free((*w)->path);
    sp_buf_free(&(*w)->idx);
    free(*w);
    *w = NULL;
}

static int tfr_io_error(sp_shard_writer *w, sp_error *err, const char *what)
{
    sp_error_set_path(err, w->path);
    return sp_fail(err, SP_E_IO, "%s: %s", what, strerror(errno));
}

static int tfr_open(const void *opts, const char *tmp_path, const char *name,
                    sp_shard_writer **out, sp_error *err)
{
    const sp_tfrecord_sink_opts *o = opts;
    sp_shard_writer *w = calloc(1, sizeof(*w));
    if (!w || !(w->path = sp_strdup(tmp_path))) {
        free(w);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    snprintf(w->name, sizeof(w->name), "%s", name);
    w->label_offset = o->label_offset;
    unlink(tmp_path); /* a leftover from a killed run */
    if (!(w->f = fopen(tmp_path, "wbx"))) {
        int rc = tfr_io_error(w, err, "cannot create");
        tfr_free(&w);
        return rc;
    }
    *out = w;
    return SP_OK;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static int tfr_add(sp_shard_writer *w, const sp_out_record *r, sp_error *err)
{
    sp_buf data = {0};
    example(&data, r, w->label_offset);
    if (data.oom) {
        sp_buf_free(&data);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    uint8_t head[12], tail[4];
    put_le(head, data.len, 8);
    put_le(head + 8, sp_crc32c_masked(head, 8), 4);
    put_le(tail, sp_crc32c_masked(data.data, data.len), 4);
    int rc = SP_OK;
    if (fwrite(head, 1, 12, w->f) != 12 || fwrite(data.data, 1, data.len, w->f) != data.len ||
        fwrite(tail, 1, 4, w->f) != 4)
        rc = tfr_io_error(w, err, "write failed");
    uint64_t size = 16 + (uint64_t)data.len;
    sp_buf_printf(&w->idx, "%llu %llu\n", (unsigned long long)w->offset,
                  (unsigned long long)size);
    w->offset += size;
    sp_buf_free(&data);
    if (rc == SP_OK && w->idx.oom) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    return rc;
}

static int tfr_finish(sp_shard_writer *w, sp_sidecar *sc, size_t *nsc, sp_error *err)
{
    *nsc = 0;
    if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0) return tfr_io_error(w, err, "cannot flush");
    FILE *f = w->f;
    w->f = NULL;
    if (fclose(f) != 0) return tfr_io_error(w, err, "close failed");
    snprintf(sc[0].name, sizeof(sc[0].name), "%s.idx", w->name);
    sp_buf_append(&sc[0].data, w->idx.data ? w->idx.data : "", w->idx.len);
    *nsc = 1;
    return sc[0].data.oom ? sp_fail(err, SP_E_NOMEM, "out of memory") : SP_OK;
}

const sp_sink_ops sp_sink_tfrecord = {
    .needs_encoded = true,
    .needs_pixels = true, /* for the height, width and channels features */
    .shard_name = tfr_shard_name,
    .open = tfr_open,
    .add = tfr_add,
    .finish = tfr_finish,
    .free = tfr_free,
};
