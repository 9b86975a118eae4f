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

typedef struct feature_row {
    const char *key;
    bool is_int;
    int64_t i;
    const void *data;
    size_t len;
} feature_row;

static void example(sp_buf *out, const sp_out_record *r, int64_t label_offset)
{
    const char *fmt = r->codec->name;
    /* In key order: the serialised bytes are then a function of the record alone. */
    const feature_row f[] = {
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

static const char *const shard_suffixes[] = {"", ".idx", ".xxh", NULL};

const sp_sink_ops sp_sink_tfrecord = {
    .suffixes = shard_suffixes,
    .needs_encoded = true,
    .needs_pixels = true, /* for the height, width and channels features */
    .shard_name = tfr_shard_name,
    .open = tfr_open,
    .add = tfr_add,
    .finish = tfr_finish,
    .free = tfr_free,
};

/* ---- reading ------------------------------------------------------------------------------ */

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

int sp_tfrecord_read(const uint8_t *base, uint64_t size, uint64_t *pos, const uint8_t **data,
                     uint64_t *len, sp_error *err)
{
    uint64_t at = *pos;
    if (at == size) return 0;
    if (at > size || size - at < 16)
        return sp_fail(err, SP_E_CORRUPT, "byte %llu: truncated record header",
                       (unsigned long long)at);
    const uint8_t *h = base + at;
    if ((uint32_t)get_le(h + 8, 4) != sp_crc32c_masked(h, 8))
        return sp_fail(err, SP_E_CORRUPT, "byte %llu: record length CRC mismatch",
                       (unsigned long long)at);
    uint64_t n = get_le(h, 8);
    if (n > size - at - 16)
        return sp_fail(err, SP_E_CORRUPT, "byte %llu: record of %llu bytes runs past the end",
                       (unsigned long long)at, (unsigned long long)n);
    if ((uint32_t)get_le(h + 12 + n, 4) != sp_crc32c_masked(h + 12, n))
        return sp_fail(err, SP_E_CORRUPT, "byte %llu: record data CRC mismatch",
                       (unsigned long long)at);
    *data = h + 12;
    *len = n;
    *pos = at + 16 + n;
    return 1;
}

/* ---- protobuf reading: fields by number, skipping what we do not know -------------------- */

typedef struct pb {
    const uint8_t *p, *end;
} pb;

static int pb_read_varint(pb *b, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (b->p >= b->end) return -1;
        uint8_t c = *b->p++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return 0;
    }
    return -1;
}

/* Next field: number, wire type, and for length-delimited ones the payload. */
static int pb_next(pb *b, unsigned *field, unsigned *wt, pb *sub, uint64_t *ival)
{
    uint64_t tag;
    if (pb_read_varint(b, &tag) != 0) return -1;
    *field = (unsigned)(tag >> 3);
    *wt = (unsigned)(tag & 7);
    switch (*wt) {
    case 0: return pb_read_varint(b, ival);
    case 1:
        if (b->end - b->p < 8) return -1;
        b->p += 8;
        return 0;
    case 5:
        if (b->end - b->p < 4) return -1;
        b->p += 4;
        return 0;
    case 2: {
        uint64_t n;
        if (pb_read_varint(b, &n) != 0 || n > (uint64_t)(b->end - b->p)) return -1;
        sub->p = b->p;
        sub->end = b->p + n;
        b->p += n;
        return 0;
    }
    }
    return -1;
}

/* A Feature: the first bytes value, or the first int64. */
static int pb_feature(pb f, const uint8_t **bytes, uint64_t *blen, int64_t *ival, bool *is_int)
{
    unsigned field, wt;
    pb list, item;
    uint64_t v;
    while (f.p < f.end) {
        if (pb_next(&f, &field, &wt, &list, &v) != 0) return -1;
        if (wt != 2 || (field != 1 && field != 3)) continue;
        while (list.p < list.end) {
            if (pb_next(&list, &field, &wt, &item, &v) != 0) return -1;
            if (field != 1) continue;
            if (wt == 2 && *is_int) { /* packed int64s */
                if (pb_read_varint(&item, &v) != 0) return -1;
                *ival = (int64_t)v;
                return 0;
            }
            if (wt == 0) {
                *is_int = true;
                *ival = (int64_t)v;
                return 0;
            }
            if (wt == 2) {
                *bytes = item.p;
                *blen = (uint64_t)(item.end - item.p);
                return 0;
            }
        }
        (void)field;
    }
    return 0;
}

int sp_example_parse(const uint8_t *data, uint64_t len, sp_example *ex, sp_error *err)
{
    memset(ex, 0, sizeof(*ex));
    pb b = {data, data + len}, features = {NULL, NULL}, entry, sub;
    unsigned field, wt;
    uint64_t v;
    while (b.p < b.end) {
        if (pb_next(&b, &field, &wt, &sub, &v) != 0) goto bad;
        if (field == 1 && wt == 2) features = sub;
    }
    if (!features.p) return sp_fail(err, SP_E_CORRUPT, "Example has no features");
    while (features.p < features.end) {
        if (pb_next(&features, &field, &wt, &entry, &v) != 0) goto bad;
        if (field != 1 || wt != 2) continue;
        const uint8_t *key = NULL;
        uint64_t klen = 0;
        pb feat = {NULL, NULL};
        while (entry.p < entry.end) {
            if (pb_next(&entry, &field, &wt, &sub, &v) != 0) goto bad;
            if (field == 1 && wt == 2) {
                key = sub.p;
                klen = (uint64_t)(sub.end - sub.p);
            } else if (field == 2 && wt == 2) {
                feat = sub;
            }
        }
        if (!key || !feat.p) continue;
        char k[64];
        snprintf(k, sizeof(k), "%.*s", (int)(klen < 63 ? klen : 63), (const char *)key);
        /* Which list a feature holds is in its own field number: 1 bytes, 3 int64. */
        bool is_int = false;
        pb peek = feat;
        if (pb_next(&peek, &field, &wt, &sub, &v) == 0 && field == 3) is_int = true;
        const uint8_t *bytes = NULL;
        uint64_t blen = 0;
        int64_t ival = 0;
        if (pb_feature(feat, &bytes, &blen, &ival, &is_int) != 0) goto bad;
        if (!strcmp(k, "image/encoded")) ex->encoded = bytes, ex->encoded_len = blen;
        else if (!strcmp(k, "image/format")) ex->format = bytes, ex->format_len = blen;
        else if (!strcmp(k, "image/class/text")) ex->text = bytes, ex->text_len = blen;
        else if (!strcmp(k, "image/filename")) ex->filename = bytes, ex->filename_len = blen;
        else if (!strcmp(k, "image/key")) ex->key = bytes, ex->key_len = blen;
        else if (!strcmp(k, "image/class/label")) ex->label = ival, ex->has_label = true;
        else if (!strcmp(k, "image/width")) ex->width = ival;
        else if (!strcmp(k, "image/height")) ex->height = ival;
        else if (!strcmp(k, "image/channels")) ex->channels = ival;
    }
    if (!ex->encoded) return sp_fail(err, SP_E_CORRUPT, "Example has no image/encoded");
    return SP_OK;
bad:
    return sp_fail(err, SP_E_CORRUPT, "malformed protobuf at byte %lld of the Example",
                   (long long)(b.p - data));
}
