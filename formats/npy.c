/*
 * npy — decoded, fixed-shape tensors that numpy maps without a copy: per shard
 * PREFIX-NNNNNN.images.npy, uint8 (N, H, W, C), and PREFIX-NNNNNN.labels.npy, int64 (N,).
 *
 * Format 1.0: magic, version, u16 header length, an ASCII dict padded with spaces and a
 * final newline so the data starts on a 64-byte boundary (numpy's own alignment, which
 * mmap_mode='r' relies on for aligned views). N is known only when the shard is done
 * (a record can fail at build time), so the images header is written with room to spare
 * and rewritten in place at the end: it is always exactly NPY_HEADER bytes.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPY_HEADER 128 /* bytes before the data: magic + length + padded dict */

/* Writes a complete npy header of exactly `total` bytes (a multiple of 64). */
static int npy_header(char *out, size_t total, const char *descr, const uint64_t *shape,
                      int ndim)
{
    char dict[256];
    int n = snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     descr);
    for (int i = 0; i < ndim; i++)
        n += snprintf(dict + n, sizeof(dict) - (size_t)n, "%llu%s", (unsigned long long)shape[i],
                      ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
    n += snprintf(dict + n, sizeof(dict) - (size_t)n, "), }");
    size_t hlen = total - 10;
    if ((size_t)n + 1 > hlen) return -1;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)(hlen & 0xff);
    out[9] = (char)(hlen >> 8);
    memcpy(out + 10, dict, (size_t)n);
    memset(out + 10 + n, ' ', hlen - (size_t)n - 1);
    out[total - 1] = '\n';
    return 0;
}

/* Names are at most ~130 bytes (prefix ≤ 100, see plan.c), so a sidecar's name fits. */
struct sp_shard_writer {
    FILE *f;
    char *path;
    char name[200];
    uint32_t w, h, c;
    uint64_t n;
    sp_buf labels;
};

static void npy_shard_name(const char *prefix, uint32_t index, uint32_t count, char *buf,
                           size_t size)
{
    (void)count;
    snprintf(buf, size, "%s-%06u.images.npy", prefix, index);
}

static int npy_check(const void *opts, uint32_t w, uint32_t h, sp_error *err)
{
    (void)opts;
    if (w == 0 || h == 0)
        return sp_fail(err, SP_E_CONFIG,
                       "npy stores fixed-shape tensors, but this chain's output size depends "
                       "on the input or on random draws (a random stage that resizes acts only "
                       "on some records unless p = 1 and apply = all): end it with a crop");
    return SP_OK;
}

static void npy_free(sp_shard_writer **w)
{
    if (!w || !*w) return;
    if ((*w)->f) fclose((*w)->f);
    free((*w)->path);
    sp_buf_free(&(*w)->labels);
    free(*w);
    *w = NULL;
}

static int io_error(sp_shard_writer *w, sp_error *err, const char *what)
{
    sp_error_set_path(err, w->path);
    return sp_fail(err, SP_E_IO, "%s: %s", what, strerror(errno));
}

static int npy_open(const void *opts, const char *tmp_path, const char *name,
                    sp_shard_writer **out, sp_error *err)
{
    (void)opts;
    sp_shard_writer *w = calloc(1, sizeof(*w));
    if (!w || !(w->path = sp_strdup(tmp_path))) {
        free(w);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    snprintf(w->name, sizeof(w->name), "%s", name);
    unlink(tmp_path); /* a leftover from a killed run */
    w->f = fopen(tmp_path, "wbx");
    char zeros[NPY_HEADER] = {0};
    if (!w->f || fwrite(zeros, 1, NPY_HEADER, w->f) != NPY_HEADER) {
        int rc = io_error(w, err, "cannot create");
        npy_free(&w);
        return rc;
    }
    *out = w;
    return SP_OK;
}

static int npy_add(sp_shard_writer *w, const sp_out_record *r, sp_error *err)
{
    const sp_image *img = r->image;
    if (w->n == 0) {
        w->w = img->width;
        w->h = img->height;
        w->c = img->channels;
    }
    if (img->width != w->w || img->height != w->h || img->channels != w->c)
        return sp_fail(err, SP_E_INTERNAL, "record %s is %ux%ux%u, the shard holds %ux%ux%u",
                       r->key, img->height, img->width, img->channels, w->h, w->w, w->c);
    size_t row = (size_t)img->width * img->channels;
    for (uint32_t y = 0; y < img->height; y++)
        if (fwrite(img->data + (size_t)y * img->stride, 1, row, w->f) != row)
            return io_error(w, err, "write failed");
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)((uint64_t)(int64_t)r->label >> (8 * i));
    sp_buf_append(&w->labels, le, 8);
    w->n++;
    return w->labels.oom ? sp_fail(err, SP_E_NOMEM, "out of memory") : SP_OK;
}

static int npy_finish(sp_shard_writer *w, sp_sidecar *sc, size_t *nsc, sp_error *err)
{
    *nsc = 0;
    char hdr[NPY_HEADER];
    uint64_t shape[4] = {w->n, w->h, w->w, w->c};
    if (npy_header(hdr, NPY_HEADER, "|u1", shape, 4) != 0)
        return sp_fail(err, SP_E_INTERNAL, "npy header does not fit");
    if (fseek(w->f, 0, SEEK_SET) != 0 || fwrite(hdr, 1, NPY_HEADER, w->f) != NPY_HEADER ||
        fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
        return io_error(w, err, "cannot complete");
    FILE *f = w->f;
    w->f = NULL;
    if (fclose(f) != 0) return io_error(w, err, "close failed");
    /* The labels beside it: small, so built in memory and written as a sidecar. */
    const char *ext = strstr(w->name, ".images.npy");
    snprintf(sc[0].name, sizeof(sc[0].name), "%.*s.labels.npy",
             ext ? (int)(ext - w->name) : (int)strlen(w->name), w->name);
    char lh[NPY_HEADER];
    uint64_t n = w->n;
    if (npy_header(lh, sizeof(lh), "<i8", &n, 1) != 0)
        return sp_fail(err, SP_E_INTERNAL, "npy header does not fit");
    sp_buf_append(&sc[0].data, lh, sizeof(lh));
    sp_buf_append(&sc[0].data, w->labels.data ? w->labels.data : "", w->labels.len);
    *nsc = 1;
    return sc[0].data.oom ? sp_fail(err, SP_E_NOMEM, "out of memory") : SP_OK;
}

static const char *const shard_suffixes[] = {".images.npy", ".labels.npy", ".images.npy.xxh", NULL};

const sp_sink_ops sp_sink_npy = {
    .suffixes = shard_suffixes,
    .needs_pixels = true,
    .shard_name = npy_shard_name,
    .check = npy_check,
    .open = npy_open,
    .add = npy_add,
    .finish = npy_finish,
    .free = npy_free,
};

/* ---- reading ------------------------------------------------------------------------------ */

/* The dict is numpy's repr of a Python literal; we accept exactly the shape numpy writes
 * (and we write): 'descr', 'fortran_order': False, 'shape': (a, b, ...). */
int sp_npy_parse(const uint8_t *base, uint64_t size, char descr[8], uint64_t shape[4],
                 int *ndim, uint64_t *data_offset, sp_error *err)
{
    if (size < 10 || memcmp(base, "\x93NUMPY", 6) != 0)
        return sp_fail(err, SP_E_CORRUPT, "byte 0: not an npy file");
    if (base[6] != 1)
        return sp_fail(err, SP_E_CORRUPT, "byte 6: npy version %u.%u not supported", base[6],
                       base[7]);
    uint64_t hlen = base[8] | (uint64_t)base[9] << 8;
    if (10 + hlen > size) return sp_fail(err, SP_E_CORRUPT, "byte 8: header runs past the end");
    char dict[512];
    if (hlen >= sizeof(dict)) return sp_fail(err, SP_E_CORRUPT, "byte 8: header too long");
    memcpy(dict, base + 10, hlen);
    dict[hlen] = '\0';
    if (hlen == 0 || dict[hlen - 1] != '\n')
        return sp_fail(err, SP_E_CORRUPT, "byte %llu: header does not end in a newline",
                       (unsigned long long)(9 + hlen));
    const char *d = strstr(dict, "'descr': '");
    const char *fo = strstr(dict, "'fortran_order': False");
    const char *sh = strstr(dict, "'shape': (");
    if (!d || !fo || !sh) return sp_fail(err, SP_E_CORRUPT, "byte 10: malformed header dict");
    d += 10;
    size_t dl = strcspn(d, "'");
    if (dl == 0 || dl > 7) return sp_fail(err, SP_E_CORRUPT, "byte 10: malformed descr");
    memcpy(descr, d, dl);
    descr[dl] = '\0';
    const char *p = sh + 10;
    *ndim = 0;
    while (*p && *p != ')') {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (*p < '0' || *p > '9' || *ndim == 4)
            return sp_fail(err, SP_E_CORRUPT, "byte 10: malformed shape");
        char *end;
        shape[(*ndim)++] = strtoull(p, &end, 10);
        p = end;
    }
    *data_offset = 10 + hlen;
    return SP_OK;
}
