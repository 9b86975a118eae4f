/*
 * PNM: the Netpbm family, read by hand because it is small — P1/P4 bitmaps, P2/P5 gray
 * maps and P3/P6 pixel maps, in their ASCII (P1-P3) and binary (P4-P6) forms. Samples
 * deeper than 8 bits (maxval 256..65535, two bytes big-endian) and shallower maxvals are
 * scaled to 0..255 with rounding; gray is replicated to RGB, as every decoder does.
 *
 * The IDX and CIFAR sources hand their records to the scan as in-memory P5/P6 files, so
 * their samples go through the same probe/header/decode path as files on disk.
 *
 * Untrusted input: header numbers are parsed with an overflow cap, the dimensions are
 * checked against the limits before anything is allocated, the raster size is computed
 * overflow-checked and compared with the bytes present (in the header, so a truncated
 * binary file is rejected at scan, not at build), and a sample above maxval is corruption.
 * Bytes after the first image (a multi-image stream) are ignored.
 */
#include "internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct pnm_header {
    int kind;          /* 1..6, the digit after 'P' */
    uint32_t width, height;
    uint32_t maxval;   /* 1 for bitmaps */
    uint32_t channels; /* 1 (bitmap, gray) or 3 (RGB) */
    size_t raster;     /* where the pixels start */
} pnm_header;

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Whitespace and '#' comments (to the end of the line) between tokens. */
static size_t skip_blank(const uint8_t *d, size_t len, size_t pos)
{
    while (pos < len) {
        if (is_space(d[pos])) {
            pos++;
        } else if (d[pos] == '#') {
            while (pos < len && d[pos] != '\n' && d[pos] != '\r') pos++;
        } else {
            break;
        }
    }
    return pos;
}

static int pnm_probe(const uint8_t *d, size_t n)
{
    if (n < 3 || d[0] != 'P' || d[1] < '1' || d[1] > '6' || !is_space(d[2])) return 0;
    /* "P5" and a blank is a weak signature: a text file can start so. What follows must
     * look like a width (or a comment before it) for the claim to be made. */
    size_t pos = skip_blank(d, n, 3);
    return pos == n || is_digit(d[pos]) ? 80 : 0;
}

/* A decimal header field. Values above UINT32_MAX are a limit, not garbage: the number is
 * well formed, only too large for anything we accept. */
static int read_field(const uint8_t *d, size_t len, size_t *pos, const char *what,
                      uint32_t *out, sp_error *err)
{
    size_t p = skip_blank(d, len, *pos);
    if (p == len) return sp_fail(err, SP_E_CORRUPT, "truncated PNM header (no %s)", what);
    if (!is_digit(d[p]))
        return sp_fail(err, SP_E_CORRUPT, "bad PNM header: %s is not a number (byte 0x%02x "
                       "at offset %zu)", what, d[p], p);
    uint64_t v = 0;
    bool big = false;
    for (; p < len && is_digit(d[p]); p++) {
        v = v * 10 + (uint64_t)(d[p] - '0');
        if (v > UINT32_MAX) {
            big = true;
            v = UINT32_MAX; /* keep scanning the digits without overflowing */
        }
    }
    if (p < len && !is_space(d[p]) && d[p] != '#')
        return sp_fail(err, SP_E_CORRUPT, "bad PNM header: %s is followed by byte 0x%02x",
                       what, d[p]);
    if (big) return sp_fail(err, SP_E_LIMIT, "PNM %s is larger than %u", what, UINT32_MAX);
    *out = (uint32_t)v;
    *pos = p;
    return SP_OK;
}

static int check_dims(uint32_t w, uint32_t h, const sp_limits *lim, sp_error *err)
{
    if (w == 0 || h == 0) return sp_fail(err, SP_E_CORRUPT, "image has zero size (%ux%u)", w, h);
    if (lim->max_dimension && (w > lim->max_dimension || h > lim->max_dimension))
        return sp_fail(err, SP_E_MAX_DIMENSION, "%ux%u exceeds the dimension limit of %u", w, h,
                       lim->max_dimension);
    if (lim->max_pixels && (uint64_t)w * h > lim->max_pixels)
        return sp_fail(err, SP_E_MAX_PIXELS, "%ux%u = %llu pixels exceeds the limit of %llu", w, h,
                       (unsigned long long)w * h, (unsigned long long)lim->max_pixels);
    return SP_OK;
}

/* Bytes of a binary raster (P4-P6), or 0 if it does not fit in 64 bits. */
static uint64_t raster_bytes(const pnm_header *h)
{
    uint64_t row = h->kind == 4 ? ((uint64_t)h->width + 7) / 8
                                : (uint64_t)h->width * h->channels * (h->maxval > 255 ? 2 : 1);
    return row > UINT64_MAX / h->height ? 0 : row * h->height;
}

static int parse_header(const uint8_t *d, size_t len, const sp_limits *lim, pnm_header *h,
                        sp_error *err)
{
    memset(h, 0, sizeof(*h));
    if (len < 3 || d[0] != 'P' || d[1] < '1' || d[1] > '6' || !is_space(d[2]))
        return sp_fail(err, SP_E_FORMAT, "not a PNM file (no P1-P6 magic)");
    h->kind = d[1] - '0';
    h->channels = h->kind == 3 || h->kind == 6 ? 3 : 1;
    h->maxval = 1;
    size_t pos = 2;
    int rc = read_field(d, len, &pos, "width", &h->width, err);
    if (rc == SP_OK) rc = read_field(d, len, &pos, "height", &h->height, err);
    bool bitmap = h->kind == 1 || h->kind == 4;
    if (rc == SP_OK && !bitmap) rc = read_field(d, len, &pos, "maxval", &h->maxval, err);
    if (rc != SP_OK) return rc;
    if (h->maxval == 0 || h->maxval > 65535)
        return sp_fail(err, SP_E_CORRUPT, "PNM maxval %u is outside 1..65535", h->maxval);
    rc = check_dims(h->width, h->height, lim, err);
    if (rc != SP_OK) return rc;
    if (pos == len)
        return sp_fail(err, SP_E_CORRUPT, "truncated PNM: no pixel data after the header");
    /* ASCII samples skip blanks and comments themselves. A binary raster starts after
     * exactly one whitespace byte: its first byte may itself be a whitespace value, so no
     * more may be skipped. */
    h->raster = h->kind >= 4 ? pos + 1 : pos;
    if (h->kind >= 4) {
        if (!is_space(d[pos]))
            return sp_fail(err, SP_E_CORRUPT, "bad PNM header: byte 0x%02x instead of the "
                           "whitespace before the pixels", d[pos]);
        uint64_t need = raster_bytes(h);
        if (need == 0)
            return sp_fail(err, SP_E_LIMIT, "PNM raster of %ux%u does not fit in memory",
                           h->width, h->height);
        if (need > len - h->raster)
            return sp_fail(err, SP_E_CORRUPT, "truncated PNM: %ux%u needs %llu bytes of pixels, "
                           "%zu present", h->width, h->height, (unsigned long long)need,
                           len - h->raster);
    }
    return SP_OK;
}

static int pnm_info(const uint8_t *data, size_t len, const sp_limits *lim,
                      sp_image_info *info, sp_error *err)
{
    pnm_header h;
    int rc = parse_header(data, len, lim, &h, err);
    if (rc != SP_OK) return rc;
    info->width = h.width;
    info->height = h.height;
    info->channels = h.channels;
    /* A maxval other than 255 is scaled to 0..255 (bitmaps' 0/1 are not a depth). */
    bool scaled = h.kind != 1 && h.kind != 4 && h.maxval != 255;
    info->alterations = scaled ? SP_ALTER_DEPTH : 0;
    info->orientation = 0;
    info->maxval = scaled ? (uint16_t)h.maxval : 0;
    return SP_OK;
}

/* Reads samples in the order they are stored, wherever they come from. */
typedef struct sample_reader {
    const pnm_header *h;
    const uint8_t *d;
    size_t len, pos;
    uint8_t bits;  /* P4: the byte being unpacked */
    int nbits;     /* P4: bits left in it */
    uint64_t index; /* samples read so far, for messages */
} sample_reader;

/* One ASCII sample. P1 digits need no separator ("0110" is four pixels). */
static int next_ascii(sample_reader *r, uint32_t *v, sp_error *err)
{
    r->pos = skip_blank(r->d, r->len, r->pos);
    if (r->pos == r->len)
        return sp_fail(err, SP_E_CORRUPT, "truncated PNM: %llu of %llu samples present",
                       (unsigned long long)r->index,
                       (unsigned long long)r->h->width * r->h->height * r->h->channels);
    if (!is_digit(r->d[r->pos]))
        return sp_fail(err, SP_E_CORRUPT, "bad PNM sample: byte 0x%02x at offset %zu",
                       r->d[r->pos], r->pos);
    if (r->h->kind == 1) {
        *v = (uint32_t)(r->d[r->pos++] - '0');
        return SP_OK;
    }
    uint32_t x = 0;
    for (; r->pos < r->len && is_digit(r->d[r->pos]); r->pos++) {
        x = x * 10 + (uint32_t)(r->d[r->pos] - '0');
        if (x > 65535) break; /* above any maxval: reported below */
    }
    *v = x;
    return SP_OK;
}

static int next_sample(sample_reader *r, uint32_t *v, sp_error *err)
{
    int rc = SP_OK;
    switch (r->h->kind) {
    case 1: case 2: case 3:
        rc = next_ascii(r, v, err);
        break;
    case 4:
        if (r->nbits == 0) {
            r->bits = r->d[r->pos++];
            r->nbits = 8;
        }
        *v = (uint32_t)(r->bits >> 7) & 1u;
        r->bits = (uint8_t)(r->bits << 1);
        r->nbits--;
        break;
    default: /* 5, 6: bounds were checked against the raster size in the header */
        if (r->h->maxval > 255) {
            *v = (uint32_t)r->d[r->pos] << 8 | r->d[r->pos + 1];
            r->pos += 2;
        } else {
            *v = r->d[r->pos++];
        }
    }
    if (rc == SP_OK && *v > r->h->maxval)
        rc = sp_fail(err, SP_E_CORRUPT, "PNM sample %llu has value %u, above maxval %u",
                     (unsigned long long)r->index, *v, r->h->maxval);
    r->index++;
    return rc;
}

/* A sample in 0..maxval to 0..255, rounded; bitmaps store 1 for black. */
static uint8_t to_8bit(const pnm_header *h, uint32_t v)
{
    if (h->kind == 1 || h->kind == 4) return v ? 0 : 255;
    if (h->maxval == 255) return (uint8_t)v;
    return (uint8_t)(((uint64_t)v * 255 + h->maxval / 2) / h->maxval);
}

/* The common case (every IDX and CIFAR record): 8-bit P5/P6, where every byte value is a
 * valid sample and the header has checked the raster is all there. */
static void copy_8bit(const pnm_header *h, const uint8_t *src, sp_image *img)
{
    size_t row = (size_t)h->width * h->channels;
    for (uint32_t y = 0; y < h->height; y++, src += row) {
        uint8_t *dst = img->data + (size_t)y * img->stride;
        if (h->channels == 3) {
            memcpy(dst, src, row);
        } else {
            for (uint32_t x = 0; x < h->width; x++)
                dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = src[x];
        }
    }
}

static int pnm_decode(const uint8_t *data, size_t len, const sp_limits *lim, sp_image *out,
                      sp_error *err)
{
    pnm_header h;
    int rc = parse_header(data, len, lim, &h, err);
    if (rc != SP_OK) return rc;
    sp_image img = {0};
    rc = sp_image_alloc(&img, h.width, h.height, 3);
    if (rc != SP_OK)
        return sp_fail(err, rc, "cannot allocate a %ux%u image", h.width, h.height);
    if (h.maxval == 255 && h.kind >= 5) {
        copy_8bit(&h, data + h.raster, &img);
        sp_image_move(out, &img);
        return SP_OK;
    }
    sample_reader r = {.h = &h, .d = data, .len = len, .pos = h.raster};
    for (uint32_t y = 0; rc == SP_OK && y < h.height; y++) {
        uint8_t *row = img.data + (size_t)y * img.stride;
        r.nbits = 0; /* P4 rows start on a byte boundary */
        for (uint32_t x = 0; rc == SP_OK && x < h.width; x++) {
            uint8_t *px = row + (size_t)x * 3;
            for (uint32_t c = 0; rc == SP_OK && c < h.channels; c++) {
                uint32_t v = 0;
                rc = next_sample(&r, &v, err);
                px[c] = to_8bit(&h, v);
            }
            if (h.channels == 1) px[1] = px[2] = px[0];
        }
    }
    if (rc != SP_OK) {
        sp_image_release(&img);
        return rc;
    }
    sp_image_move(out, &img);
    return SP_OK;
}

/* P5 for gray, P6 for RGB, maxval 255. Alpha has no place in PNM: refused, not dropped. */
static int pnm_encode(const sp_image *img, const sp_encode_opts *o, uint8_t **out, size_t *len,
                      sp_error *err)
{
    (void)o;
    *out = NULL;
    *len = 0;
    if (img->channels != 1 && img->channels != 3)
        return sp_fail(err, SP_E_USAGE, "PNM holds gray or RGB images, not %u channels",
                       img->channels);
    char head[40];
    int hn = snprintf(head, sizeof(head), "P%c\n%u %u\n255\n", img->channels == 1 ? '5' : '6',
                      img->width, img->height);
    size_t row = (size_t)img->width * img->channels;
    if (img->height && row > (SIZE_MAX - (size_t)hn) / img->height)
        return sp_fail(err, SP_E_LIMIT, "%ux%u is too large to encode", img->width, img->height);
    size_t n = (size_t)hn + row * img->height;
    uint8_t *p = malloc(n);
    if (!p) return sp_fail(err, SP_E_NOMEM, "out of memory");
    memcpy(p, head, (size_t)hn);
    for (uint32_t y = 0; y < img->height; y++)
        memcpy(p + hn + row * y, img->data + img->stride * y, row);
    *out = p;
    *len = n;
    return SP_OK;
}

const sp_format sp_format_pnm = {
    .name = "pnm",
    .extension = "ppm",
    .help = "Netpbm PBM/PGM/PPM (P1-P6, 16-bit scaled to 8); written as P5 or P6",
    .probe = pnm_probe,
    .header = pnm_info,
    .decode = pnm_decode,
    .encode = pnm_encode,
};
