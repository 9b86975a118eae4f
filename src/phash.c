/*
 * The perceptual hash the clean stage finds near-duplicates with (the "pHash" of Zauner's
 * thesis, as imagehash.phash computes it): the image in grayscale, box-averaged to
 * 32 x 32, its 2-D DCT-II, and of the 8 x 8 lowest frequencies one bit each: above their
 * median or not. A re-encode, a resize or a small brightness change moves few bits; two
 * unrelated photos differ in about half of them.
 *
 * The hash is a pure function of the file's bytes: it is computed from the decoder's
 * scaled-down output (JPEG DCT scaling to at least 64 x 64) when the format has one, else
 * from the full decode, whatever else the scan does, so a cached hash always equals a
 * fresh one.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N 32 /* side of the grayscale thumbnail */
#define K 8  /* side of the block of low frequencies kept */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

uint64_t sp_phash(const sp_image *img)
{
    double g[N][N];
    uint32_t W = img->width, H = img->height, C = img->channels;
    /* Box average of BT.601 luma into N x N cells; a cell narrower than a pixel takes the
     * pixel under it, so tiny images work too. */
    for (uint32_t j = 0; j < N; j++) {
        uint32_t y0 = (uint32_t)((uint64_t)j * H / N);
        uint32_t y1 = (uint32_t)((uint64_t)(j + 1) * H / N);
        if (y1 <= y0) y1 = y0 + 1;
        for (uint32_t i = 0; i < N; i++) {
            uint32_t x0 = (uint32_t)((uint64_t)i * W / N);
            uint32_t x1 = (uint32_t)((uint64_t)(i + 1) * W / N);
            if (x1 <= x0) x1 = x0 + 1;
            double sum = 0;
            for (uint32_t y = y0; y < y1; y++) {
                const uint8_t *row = img->data + (size_t)y * img->stride;
                for (uint32_t x = x0; x < x1; x++) {
                    const uint8_t *p = row + (size_t)x * C;
                    sum += C >= 3 ? 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2] : p[0];
                }
            }
            g[j][i] = sum / ((double)(y1 - y0) * (x1 - x0));
        }
    }
    /* Separable DCT-II, only the K lowest frequencies of each axis. */
    double cosv[K][N];
    for (int u = 0; u < K; u++)
        for (int x = 0; x < N; x++) cosv[u][x] = cos(M_PI * (2 * x + 1) * u / (2.0 * N));
    double rows[N][K];
    for (int y = 0; y < N; y++)
        for (int u = 0; u < K; u++) {
            double s = 0;
            for (int x = 0; x < N; x++) s += g[y][x] * cosv[u][x];
            rows[y][u] = s;
        }
    double coef[K * K], sorted[K * K];
    for (int v = 0; v < K; v++)
        for (int u = 0; u < K; u++) {
            double s = 0;
            for (int y = 0; y < N; y++) s += rows[y][u] * cosv[v][y];
            coef[v * K + u] = s;
        }
    memcpy(sorted, coef, sizeof(coef));
    qsort(sorted, K * K, sizeof(double), cmp_double);
    double median = (sorted[K * K / 2 - 1] + sorted[K * K / 2]) / 2;
    uint64_t h = 0;
    for (int i = 0; i < K * K; i++) h = h << 1 | (coef[i] > median ? 1u : 0u);
    return h;
}

int sp_phash_bytes(const sp_format *f, const uint8_t *data, size_t len, const sp_limits *lim,
                   uint64_t *out, sp_error *err)
{
    sp_image img = {0};
    int rc = f->decode_scaled ? f->decode_scaled(data, len, lim, 2 * N, 2 * N, &img, err)
                              : f->decode(data, len, lim, &img, err);
    if (rc != SP_OK) return rc;
    *out = sp_phash(&img);
    sp_image_release(&img);
    return SP_OK;
}
