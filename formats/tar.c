/*
 * tar output: plain USTAR, the one dialect every reader agrees on (GNU tar, bsdtar, Python
 * tarfile, WebDataset, DALI — DALI's reader long choked on PAX headers). Members are
 * reproducible: fixed mtime, uid/gid 0, mode 0444, no user or group names.
 *
 * The writer streams: a member goes to disk as soon as it is added, so a shard never sits
 * whole in memory.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes v as a zero-padded octal number of width-1 digits plus a NUL. */
static int put_octal(uint8_t *field, size_t width, uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%0*llo", (int)width - 1, (unsigned long long)v);
    if (n < 0 || (size_t)n != width - 1) return -1;
    memcpy(field, tmp, width);
    return 0;
}

int sp_tar_header(const char *name, uint64_t size, uint8_t h[512], sp_error *err)
{
    memset(h, 0, 512);
    size_t len = strlen(name);
    if (len == 0) return sp_fail(err, SP_E_USAGE, "empty tar member name");
    if (len <= 100) {
        memcpy(h, name, len);
    } else {
        /* USTAR splits long names at a '/' into prefix (155) and name (100). */
        const char *cut = NULL;
        for (const char *p = name; *p; p++)
            if (*p == '/' && (size_t)(p - name) <= 155 && strlen(p + 1) <= 100 && p[1])
                cut = p;
        if (!cut)
            return sp_fail(err, SP_E_USAGE, "tar member name does not fit USTAR: %s", name);
        memcpy(h + 345, name, (size_t)(cut - name));
        memcpy(h, cut + 1, strlen(cut + 1));
    }
    /* 8 GiB - 1 is the most an 11-digit octal size holds. */
    if (size > 077777777777ULL)
        return sp_fail(err, SP_E_LIMIT, "tar member %s is too large for USTAR", name);
    put_octal(h + 100, 8, SP_TAR_MODE);
    put_octal(h + 108, 8, 0);
    put_octal(h + 116, 8, 0);
    put_octal(h + 124, 12, size);
    put_octal(h + 136, 12, SP_TAR_MTIME);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6); /* magic "ustar\0" */
    memcpy(h + 263, "00", 2);    /* version */
    put_octal(h + 329, 8, 0);    /* devmajor */
    put_octal(h + 337, 8, 0);    /* devminor */
    memset(h + 148, ' ', 8);     /* the checksum is computed with its own field as spaces */
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    return SP_OK;
}

struct sp_tar_writer {
    FILE *f;
    char *path;
    uint64_t bytes;
};

int sp_tar_open(const char *path, sp_tar_writer **out, sp_error *err)
{
    *out = NULL;
    sp_tar_writer *w = calloc(1, sizeof(*w));
    if (!w) return sp_fail(err, SP_E_NOMEM, "out of memory");
    w->path = sp_strdup(path);
    if (!w->path) {
        sp_tar_free(&w);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    w->f = fopen(path, "wbx");
    if (!w->f && errno == EEXIST) {
        /* A leftover temporary file from a killed run: it is ours to replace. */
        unlink(path);
        w->f = fopen(path, "wbx");
    }
    if (!w->f) {
        sp_error_set_path(err, path);
        int rc = sp_fail(err, SP_E_IO, "cannot create: %s", strerror(errno));
        sp_tar_free(&w);
        return rc;
    }
    *out = w;
    return SP_OK;
}

static int put(sp_tar_writer *w, const void *data, size_t len, sp_error *err)
{
    if (len && fwrite(data, 1, len, w->f) != len) {
        sp_error_set_path(err, w->path);
        return sp_fail(err, SP_E_IO, "write failed: %s", strerror(errno));
    }
    w->bytes += len;
    return SP_OK;
}

int sp_tar_add(sp_tar_writer *w, const char *name, const void *data, size_t len, sp_error *err)
{
    uint8_t h[512];
    static const uint8_t zeros[512];
    int rc = sp_tar_header(name, len, h, err);
    if (rc == SP_OK) rc = put(w, h, 512, err);
    if (rc == SP_OK) rc = put(w, data, len, err);
    if (rc == SP_OK && len % 512) rc = put(w, zeros, 512 - len % 512, err);
    return rc;
}

uint64_t sp_tar_offset(const sp_tar_writer *w)
{
    return w->bytes;
}

int sp_tar_finish(sp_tar_writer *w, uint64_t *bytes, sp_error *err)
{
    static const uint8_t zeros[1024];
    int rc = put(w, zeros, sizeof(zeros), err);
    if (rc == SP_OK && (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)) {
        sp_error_set_path(err, w->path);
        rc = sp_fail(err, SP_E_IO, "cannot flush to disk: %s", strerror(errno));
    }
    FILE *f = w->f;
    w->f = NULL;
    if (fclose(f) != 0 && rc == SP_OK) {
        sp_error_set_path(err, w->path);
        rc = sp_fail(err, SP_E_IO, "close failed: %s", strerror(errno));
    }
    *bytes = w->bytes;
    return rc;
}

void sp_tar_abort(sp_tar_writer **w)
{
    if (!w || !*w) return;
    if ((*w)->f) {
        fclose((*w)->f);
        (*w)->f = NULL;
    }
    unlink((*w)->path);
    sp_tar_free(w);
}

void sp_tar_free(sp_tar_writer **w)
{
    if (!w || !*w) return;
    if ((*w)->f) fclose((*w)->f);
    free((*w)->path);
    free(*w);
    *w = NULL;
}

/* ---- the WebDataset sink ---------------------------------------------------------------- */

/* Names are at most ~130 bytes (prefix ≤ 100, see plan.c), so a sidecar's name fits. */
struct sp_shard_writer {
    sp_tar_writer *tar;
    const sp_tar_sink_opts *o;
    char name[200];
    sp_buf idx; /* DALI index lines, one per sample */
    uint64_t samples;
};

static void tar_shard_name(const char *prefix, uint32_t index, uint32_t count, char *buf,
                           size_t size)
{
    (void)count;
    snprintf(buf, size, "%s-%06u.tar", prefix, index);
}

/* "a/b-000001.tar" -> "a/b-000001" + ext */
static void swap_ext(const char *name, const char *ext, char *buf, size_t size)
{
    const char *dot = strrchr(name, '.');
    int n = dot ? (int)(dot - name) : (int)strlen(name);
    snprintf(buf, size, "%.*s%s", n, name, ext);
}

static int tar_sink_open(const void *opts, const char *tmp_path, const char *name,
                         sp_shard_writer **out, sp_error *err)
{
    sp_shard_writer *w = calloc(1, sizeof(*w));
    if (!w) return sp_fail(err, SP_E_NOMEM, "out of memory");
    w->o = opts;
    snprintf(w->name, sizeof(w->name), "%s", name);
    int rc = sp_tar_open(tmp_path, &w->tar, err);
    if (rc != SP_OK) {
        free(w);
        return rc;
    }
    *out = w;
    return SP_OK;
}

typedef struct member {
    const char *ext;
    const void *data;
    size_t len;
} member;

static int cmp_member(const void *a, const void *b)
{
    return strcmp(((const member *)a)->ext, ((const member *)b)->ext);
}

static int tar_sink_add(sp_shard_writer *w, const sp_out_record *r, sp_error *err)
{
    char cls[24];
    int ncls = snprintf(cls, sizeof(cls), "%d", r->label);
    member m[4];
    size_t n = 0;
    m[n++] = (member){r->codec->extension, r->encoded, r->encoded_len};
    if (w->o->fields & SP_FIELD_CLS) m[n++] = (member){"cls", cls, (size_t)ncls};
    if (w->o->fields & SP_FIELD_JSON) m[n++] = (member){"json", r->json, r->json_len};
    if (w->o->fields & SP_FIELD_TXT) m[n++] = (member){"txt", r->class_name, strlen(r->class_name)};
    /* Fields in name order, as WebDataset writers sort them. */
    qsort(m, n, sizeof(*m), cmp_member);
    int rc = SP_OK;
    for (size_t i = 0; i < n && rc == SP_OK; i++) {
        char name[128];
        snprintf(name, sizeof(name), "%s.%s", r->key, m[i].ext);
        uint64_t data_at = sp_tar_offset(w->tar) + 512;
        rc = sp_tar_add(w->tar, name, m[i].data, m[i].len, err);
        sp_buf_printf(&w->idx, "%s%s %llu %zu %s", i ? " " : "", m[i].ext,
                      (unsigned long long)data_at, m[i].len, name);
    }
    sp_buf_puts(&w->idx, "\n");
    w->samples++;
    if (rc == SP_OK && w->idx.oom) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    return rc;
}

static int tar_sink_finish(sp_shard_writer *w, sp_sidecar *sc, size_t *nsc, sp_error *err)
{
    uint64_t bytes;
    int rc = sp_tar_finish(w->tar, &bytes, err);
    *nsc = 0;
    if (rc != SP_OK || !w->o->index) return rc;
    /* DALI's index (v1.2): a header with the sample count, then a line per sample. */
    swap_ext(w->name, ".idx", sc[0].name, sizeof(sc[0].name));
    sp_buf_printf(&sc[0].data, "v1.2 %llu\n", (unsigned long long)w->samples);
    sp_buf_append(&sc[0].data, w->idx.data ? w->idx.data : "", w->idx.len);
    *nsc = 1;
    return sc[0].data.oom ? sp_fail(err, SP_E_NOMEM, "out of memory") : SP_OK;
}

static void tar_sink_free(sp_shard_writer **w)
{
    if (!w || !*w) return;
    sp_tar_free(&(*w)->tar);
    sp_buf_free(&(*w)->idx);
    free(*w);
    *w = NULL;
}

/* wids' shard index for the whole sink: urls relative to the JSON's own folder. */
static int tar_sink_finish_sink(const void *opts, const char *prefix, const sp_shard *shards,
                                size_t n, sp_sidecar *out, sp_error *err)
{
    (void)opts;
    snprintf(out->name, sizeof(out->name), "%s.wids.json", prefix);
    sp_buf *b = &out->data;
    sp_buf_puts(b, "{\"__kind__\": \"wids-shard-index-v1\", \"wids_version\": 1, \"name\": ");
    sp_json_str(b, prefix);
    sp_buf_puts(b, ", \"shardlist\": [");
    /* Shard names are zero-padded in index order, so index order is url order. */
    for (size_t i = 0; i < n; i++) {
        sp_buf_puts(b, i ? ",\n  {\"url\": " : "\n  {\"url\": ");
        sp_json_str(b, shards[i].path);
        sp_buf_printf(b, ", \"nsamples\": %llu, \"filesize\": %llu}",
                      (unsigned long long)shards[i].records_written,
                      (unsigned long long)shards[i].bytes);
    }
    sp_buf_puts(b, n ? "\n]}\n" : "]}\n");
    return b->oom ? sp_fail(err, SP_E_NOMEM, "out of memory") : SP_OK;
}

static const char *const shard_suffixes[] = {".tar", ".idx", ".tar.xxh", NULL};

const sp_sink_ops sp_sink_tar = {
    .suffixes = shard_suffixes,
    .needs_encoded = true,
    .shard_name = tar_shard_name,
    .open = tar_sink_open,
    .add = tar_sink_add,
    .finish = tar_sink_finish,
    .free = tar_sink_free,
    .finish_sink = tar_sink_finish_sink,
};

/* ---- reading ------------------------------------------------------------------------------ */

static int parse_octal(const uint8_t *f, size_t width, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;
    while (i < width && f[i] == ' ') i++;
    size_t digits = 0;
    for (; i < width && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (v >> 61) return -1;
        v = v * 8 + (uint64_t)(f[i] - '0');
    }
    for (; i < width; i++)
        if (f[i] != ' ' && f[i] != '\0') return -1;
    if (digits == 0) return -1;
    *out = v;
    return 0;
}

int sp_tar_read_member(const uint8_t *base, uint64_t size, uint64_t *pos, sp_tar_member *m,
                       sp_error *err)
{
    uint64_t at = *pos;
    if (at > size || size - at < 512)
        return sp_fail(err, SP_E_CORRUPT, "byte %llu: truncated (no end-of-archive blocks)",
                       (unsigned long long)at);
    const uint8_t *h = base + at;
    bool zero = true;
    for (int i = 0; i < 512 && zero; i++) zero = h[i] == 0;
    if (zero) return 0; /* end of archive */
    uint64_t stored, sum = 0;
    for (int i = 0; i < 512; i++) sum += (i >= 148 && i < 156) ? ' ' : h[i];
    if (parse_octal(h + 148, 8, &stored) != 0 || stored != sum)
        return sp_fail(err, SP_E_CORRUPT, "byte %llu: tar header checksum mismatch",
                       (unsigned long long)at);
    if (memcmp(h + 257, "ustar", 5) != 0)
        return sp_fail(err, SP_E_CORRUPT, "byte %llu: not a USTAR header", (unsigned long long)at);
    uint64_t len;
    if (parse_octal(h + 124, 12, &len) != 0)
        return sp_fail(err, SP_E_CORRUPT, "byte %llu: bad member size", (unsigned long long)at);
    if (len > size - at - 512)
        return sp_fail(err, SP_E_CORRUPT, "byte %llu: member of %llu bytes runs past the end",
                       (unsigned long long)at, (unsigned long long)len);
    size_t np = strnlen((const char *)h + 345, 155), nn = strnlen((const char *)h, 100);
    if (np)
        snprintf(m->name, sizeof(m->name), "%.*s/%.*s", (int)np, (const char *)h + 345, (int)nn,
                 (const char *)h);
    else
        snprintf(m->name, sizeof(m->name), "%.*s", (int)nn, (const char *)h);
    m->type = h[156] ? (char)h[156] : '0';
    m->header_offset = at;
    m->data_offset = at + 512;
    m->size = len;
    *pos = at + 512 + (len + 511) / 512 * 512;
    return 1;
}
