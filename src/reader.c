/*
 * The shard reader: one iterator over the three shard formats, on a memory-mapped file.
 * The format modules (formats/tar.c, npy.c, tfrecord.c) parse one structure at a time;
 * this file groups them into records and does the random access through index files.
 */
#include "internal.h"
#include "shardpack/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct sp_reader {
    sp_ctx *ctx;
    char *path;
    sp_shard_format format;
    sp_mapped m;
    uint64_t pos;   /* next byte to read */
    uint64_t index; /* number of the next record */
    char key[64];
    /* npy */
    sp_mapped labels;
    uint64_t n, item_bytes, data_offset, labels_offset;
    uint32_t h, w, c;
    /* index file (tar, TFRecord): record number → byte offset */
    uint64_t *offsets;
    uint64_t noffsets;
    bool have_index;
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* By content first; a shard with no records has little content (a tar of zero blocks, an
 * empty TFRecord), so then by the name shardpack gives each format. */
static sp_shard_format detect(const sp_mapped *m, const char *path)
{
    bool zeros = m->size >= 1024;
    for (uint64_t i = 0; zeros && i < 1024; i++) zeros = m->base[i] == 0;
    if (zeros && ends_with(path, ".tar")) return SP_SHARD_TAR;
    if (m->size == 0 && strstr(path, "-of-") && !strchr(strrchr(path, '/') ? strrchr(path, '/') : path, '.'))
        return SP_SHARD_TFRECORD;
    if (m->size >= 512 && memcmp(m->base + 257, "ustar", 5) == 0) return SP_SHARD_TAR;
    if (m->size >= 6 && memcmp(m->base, "\x93NUMPY", 6) == 0) return SP_SHARD_NPY;
    /* A TFRecord starts with a length whose masked CRC follows it. */
    if (m->size >= 16) {
        uint32_t crc = 0;
        for (int i = 3; i >= 0; i--) crc = crc << 8 | m->base[8 + i];
        if (crc == sp_crc32c_masked(m->base, 8)) return SP_SHARD_TFRECORD;
    }
    return 0;
}

/* "dir/x.images.npy" → "dir/x.labels.npy"; "dir/x.tar" → "dir/x.idx"; else path + ".idx" */
static char *sibling(const char *path, sp_shard_format f)
{
    size_t n = strlen(path);
    char *s = malloc(n + 16);
    if (!s) return NULL;
    const char *ext = f == SP_SHARD_NPY ? ".images.npy" : f == SP_SHARD_TAR ? ".tar" : "";
    size_t le = strlen(ext);
    size_t stem = le && n > le && strcmp(path + n - le, ext) == 0 ? n - le : n;
    snprintf(s, n + 16, "%.*s%s", (int)stem, path,
             f == SP_SHARD_NPY ? ".labels.npy" : ".idx");
    return s;
}

/* Reads an index file into record offsets: tar .idx (v1.2/v1.1: first member's data
 * offset - 512 is the record start) or DALI TFRecord .idx ("offset size"). */
static int load_index(sp_reader *r, const char *idx_path)
{
    uint8_t *text;
    size_t len;
    sp_error e;
    sp_error_clear(&e);
    if (sp_read_file(idx_path, (uint64_t)1 << 32, &text, &len, &e) != SP_OK) return SP_OK;
    char *s = sp_strndup((const char *)text, len), *save = NULL;
    free(text);
    if (!s) return sp_fail(&r->ctx->err, SP_E_NOMEM, "out of memory");
    uint64_t cap = 0;
    unsigned long long count = 0;
    bool first = true, ok = true;
    for (char *line = strtok_r(s, "\n", &save); line && ok; line = strtok_r(NULL, "\n", &save)) {
        if (first && r->format == SP_SHARD_TAR) {
            first = false;
            ok = sscanf(line, "v1.%*d %llu", &count) == 1;
            continue;
        }
        unsigned long long off;
        ok = r->format == SP_SHARD_TAR ? sscanf(line, "%*s %llu", &off) == 1
                                       : sscanf(line, "%llu", &off) == 1;
        /* Untrusted like the shard: an offset must land inside it. */
        if (!ok || (r->format == SP_SHARD_TAR && (off < 512 || off > r->m.size)) ||
            off > r->m.size) {
            ok = false;
            break;
        }
        if (r->format == SP_SHARD_TAR) off -= 512;
        if (r->noffsets == cap) {
            cap = cap ? cap * 2 : 1024;
            uint64_t *p = realloc(r->offsets, cap * sizeof(*p));
            if (!p) {
                ok = false;
                break;
            }
            r->offsets = p;
        }
        r->offsets[r->noffsets++] = off;
    }
    free(s);
    /* Trusted only if it could be right: record 0 at byte 0, offsets increasing, and for
     * tar the count on its first line. Seeks still check what they land on. */
    for (uint64_t i = 1; ok && i < r->noffsets; i++) ok = r->offsets[i] > r->offsets[i - 1];
    ok = ok && r->noffsets > 0 && r->offsets[0] == 0 &&
         (r->format != SP_SHARD_TAR || count == r->noffsets);
    r->have_index = ok;
    return SP_OK;
}

static int open_npy(sp_reader *r, sp_error *err)
{
    char descr[8];
    uint64_t shape[4];
    int ndim;
    int rc = sp_npy_parse(r->m.base, r->m.size, descr, shape, &ndim, &r->data_offset, err);
    if (rc != SP_OK) return rc;
    if (strcmp(descr, "|u1") != 0 || ndim != 4 || (shape[0] && (shape[3] == 0 || shape[3] > 4)))
        return sp_fail(err, SP_E_CORRUPT, "byte 10: expected a uint8 (N, H, W, C) array");
    r->n = shape[0];
    r->h = (uint32_t)shape[1];
    r->w = (uint32_t)shape[2];
    r->c = (uint32_t)shape[3];
    r->item_bytes = shape[1] * shape[2] * shape[3];
    if ((shape[0] && (shape[1] == 0 || shape[2] == 0)) || shape[1] > 65535 || shape[2] > 65535 ||
        (r->item_bytes && r->n > (r->m.size - r->data_offset) / r->item_bytes) ||
        r->data_offset + r->n * r->item_bytes != r->m.size)
        return sp_fail(err, SP_E_CORRUPT, "byte %llu: data size does not match the shape",
                       (unsigned long long)r->data_offset);
    char *lp = sibling(r->path, SP_SHARD_NPY);
    if (!lp) return sp_fail(err, SP_E_NOMEM, "out of memory");
    rc = sp_map_file(lp, &r->labels, err);
    if (rc == SP_OK) {
        sp_error_set_path(err, lp);
        rc = sp_npy_parse(r->labels.base, r->labels.size, descr, shape, &ndim,
                          &r->labels_offset, err);
        if (rc == SP_OK && (strcmp(descr, "<i8") != 0 || ndim != 1 || shape[0] != r->n ||
                            r->labels_offset > r->labels.size ||
                            (r->labels.size - r->labels_offset) / 8 != r->n ||
                            (r->labels.size - r->labels_offset) % 8 != 0))
            rc = sp_fail(err, SP_E_CORRUPT, "labels do not match the images (%llu records)",
                         (unsigned long long)r->n);
        if (rc == SP_OK) err->path[0] = '\0';
    }
    free(lp);
    return rc;
}

int sp_reader_open(sp_ctx *ctx, const char *path, sp_reader **out)
{
    *out = NULL;
    sp_error err;
    sp_error_clear(&err);
    sp_reader *r = calloc(1, sizeof(*r));
    if (!r || !(r->path = sp_strdup(path))) {
        free(r);
        return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    }
    r->ctx = ctx;
    int rc = sp_map_file(path, &r->m, &err);
    if (rc == SP_OK && !(r->format = detect(&r->m, path)))
        rc = sp_fail(&err, SP_E_FORMAT, "not a tar, npy or TFRecord shard");
    if (rc == SP_OK && r->format == SP_SHARD_NPY) rc = open_npy(r, &err);
    if (rc == SP_OK && r->format != SP_SHARD_NPY) {
        char *ip = sibling(path, r->format);
        rc = ip ? load_index(r, ip) : sp_fail(&err, SP_E_NOMEM, "out of memory");
        free(ip);
    }
    if (rc != SP_OK) {
        if (!err.path[0]) sp_error_set_path(&err, path);
        sp_reader_free(&r);
        return sp_ctx_error(ctx, &err);
    }
    *out = r;
    return SP_OK;
}

sp_shard_format sp_reader_format(const sp_reader *r)
{
    return r->format;
}

static int fail_at(sp_reader *r, sp_error *err)
{
    sp_error_set_path(err, r->path);
    return sp_ctx_error(r->ctx, err);
}

static const char *codec_of_ext(const char *ext)
{
    if (!strcmp(ext, "jpg") || !strcmp(ext, "jpeg")) return "jpeg";
    if (!strcmp(ext, "png")) return "png";
    if (!strcmp(ext, "raw")) return "raw";
    return NULL;
}

/* A tar record: the run of members sharing the key of the first. */
static int next_tar(sp_reader *r, sp_record_view *rec)
{
    sp_error err;
    sp_error_clear(&err);
    uint64_t pos = r->pos;
    sp_tar_member m;
    bool started = false;
    while (true) {
        uint64_t at = pos;
        int k = sp_tar_read_member(r->m.base, r->m.size, &pos, &m, &err);
        if (k < 0) return fail_at(r, &err);
        if (k == 0) break;
        if (m.type != '0') continue;
        const char *slash = strrchr(m.name, '/');
        const char *dot = strchr(slash ? slash + 1 : m.name, '.');
        if (!dot) continue; /* no extension: not part of a sample (WebDataset's rule) */
        size_t klen = (size_t)(dot - m.name);
        if (!started) {
            memset(rec, 0, sizeof(*rec));
            rec->label = -1;
            snprintf(r->key, sizeof(r->key), "%.*s", (int)(klen < 63 ? klen : 63), m.name);
            rec->offset = at;
            started = true;
        } else if (strlen(r->key) != klen || strncmp(r->key, m.name, klen) != 0) {
            pos = at; /* the next sample starts here */
            break;
        }
        const char *ext = dot + 1;
        const uint8_t *data = r->m.base + m.data_offset;
        if (!strcmp(ext, "cls")) {
            char tmp[24];
            if (m.size == 0 || m.size >= sizeof(tmp))
                return fail_at(r, (sp_fail(&err, SP_E_CORRUPT, "byte %llu: bad .cls member",
                                           (unsigned long long)at), &err));
            memcpy(tmp, data, (size_t)m.size);
            tmp[m.size] = '\0';
            char *end;
            rec->label = strtoll(tmp, &end, 10);
            if (*end || tmp[0] == '-')
                return fail_at(r, (sp_fail(&err, SP_E_CORRUPT, "byte %llu: .cls is not a class index",
                                           (unsigned long long)m.data_offset), &err));
        } else if (!strcmp(ext, "json")) {
            rec->meta = (const char *)data;
            rec->meta_len = m.size;
        } else if (!strcmp(ext, "txt")) {
            rec->class_name = (const char *)data;
            rec->class_name_len = m.size;
        } else if (codec_of_ext(ext)) {
            rec->format = codec_of_ext(ext);
            rec->image = data;
            rec->image_len = m.size;
        }
        rec->size = pos - rec->offset;
    }
    if (!started) return 0;
    r->pos = pos;
    rec->key = r->key;
    rec->index = r->index++;
    return 1;
}

static int next_npy(sp_reader *r, sp_record_view *rec)
{
    if (r->index >= r->n) return 0;
    memset(rec, 0, sizeof(*rec));
    uint64_t i = r->index++;
    snprintf(r->key, sizeof(r->key), "%09llu", (unsigned long long)i);
    rec->key = r->key;
    rec->index = i;
    rec->format = "pixels";
    rec->offset = r->data_offset + i * r->item_bytes;
    rec->size = r->item_bytes;
    rec->image = r->m.base + rec->offset;
    rec->image_len = r->item_bytes;
    rec->width = r->w;
    rec->height = r->h;
    rec->channels = r->c;
    const uint8_t *l = r->labels.base + r->labels_offset + 8 * i;
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = v << 8 | l[k];
    rec->label = (int64_t)v;
    return 1;
}

static int next_tfrecord(sp_reader *r, sp_record_view *rec)
{
    sp_error err;
    sp_error_clear(&err);
    uint64_t at = r->pos, len;
    const uint8_t *data;
    int k = sp_tfrecord_read(r->m.base, r->m.size, &r->pos, &data, &len, &err);
    if (k <= 0) return k < 0 ? fail_at(r, &err) : 0;
    sp_example ex;
    if (sp_example_parse(data, len, &ex, &err) != SP_OK) {
        char msg[sizeof(err.msg)];
        snprintf(msg, sizeof(msg), "%s", err.msg);
        sp_fail(&err, SP_E_CORRUPT, "byte %llu: %s", (unsigned long long)at, msg);
        return fail_at(r, &err);
    }
    memset(rec, 0, sizeof(*rec));
    if (ex.key)
        snprintf(r->key, sizeof(r->key), "%.*s", (int)(ex.key_len < 63 ? ex.key_len : 63),
                 (const char *)ex.key);
    else
        snprintf(r->key, sizeof(r->key), "%09llu", (unsigned long long)r->index);
    rec->key = r->key;
    rec->index = r->index++;
    rec->label = ex.has_label ? ex.label : -1;
    rec->format = ex.format && ex.format_len == 3 && !memcmp(ex.format, "png", 3)   ? "png"
                  : ex.format && ex.format_len == 3 && !memcmp(ex.format, "raw", 3) ? "raw"
                                                                                    : "jpeg";
    rec->image = ex.encoded;
    rec->image_len = ex.encoded_len;
    rec->class_name = (const char *)ex.text;
    rec->class_name_len = ex.text_len;
    rec->width = (uint32_t)ex.width;
    rec->height = (uint32_t)ex.height;
    rec->channels = (uint32_t)ex.channels;
    rec->offset = at;
    rec->size = r->pos - at;
    return 1;
}

int sp_reader_next(sp_reader *r, sp_record_view *rec)
{
    switch (r->format) {
    case SP_SHARD_TAR: return next_tar(r, rec);
    case SP_SHARD_NPY: return next_npy(r, rec);
    case SP_SHARD_TFRECORD: return next_tfrecord(r, rec);
    }
    return SP_E_INTERNAL;
}

/* Whether a record starts at pos: a tar header with a good checksum, or a TFRecord length
 * with a good CRC. */
static bool record_starts_at(const sp_reader *r, uint64_t pos)
{
    sp_error e;
    if (r->format == SP_SHARD_TAR) {
        sp_tar_member m;
        return sp_tar_read_member(r->m.base, r->m.size, &pos, &m, &e) == 1;
    }
    if (pos > r->m.size || r->m.size - pos < 16) return false;
    uint32_t crc = 0;
    for (int i = 3; i >= 0; i--) crc = crc << 8 | r->m.base[pos + 8 + i];
    return crc == sp_crc32c_masked(r->m.base + pos, 8);
}

int sp_reader_seek(sp_reader *r, uint64_t index)
{
    if (r->format == SP_SHARD_NPY) {
        r->index = index;
        return SP_OK;
    }
    if (r->have_index && index > 0 && index < r->noffsets &&
        record_starts_at(r, r->offsets[index])) {
        r->pos = r->offsets[index];
        r->index = index;
        return SP_OK;
    }
    /* No usable index entry: read forward from the start. */
    r->pos = 0;
    r->index = 0;
    sp_record_view rec;
    while (r->index < index) {
        int k = sp_reader_next(r, &rec);
        if (k <= 0) return k < 0 ? k : sp_fail(&r->ctx->err, SP_E_USAGE, "record %llu is past the end",
                                               (unsigned long long)index);
    }
    return SP_OK;
}

int sp_reader_find(sp_reader *r, const char *key, sp_record_view *rec)
{
    int rc = sp_reader_seek(r, 0);
    if (rc != SP_OK) return rc;
    int k;
    while ((k = sp_reader_next(r, rec)) == 1)
        if (strcmp(rec->key, key) == 0) return 1;
    return k;
}

void sp_reader_free(sp_reader **r)
{
    if (!r || !*r) return;
    sp_unmap(&(*r)->m);
    sp_unmap(&(*r)->labels);
    free((*r)->offsets);
    free((*r)->path);
    free(*r);
    *r = NULL;
}
