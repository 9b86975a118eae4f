/*
 * Linear-time sorts for planning: a stable LSD radix sort of (key, value) pairs and a
 * stable counting sort by label. qsort over a million 56-byte records, several times per
 * plan, cost seconds; these cost milliseconds.
 */
#include "sampling.h"

#include <stdlib.h>
#include <string.h>

#define DIGIT 11
#define BUCKETS (1u << DIGIT)

int sp_sort_keyed(sp_keyed *v, size_t n)
{
    if (n < 2) return SP_OK;
    sp_keyed *tmp = malloc(sizeof(sp_keyed) * n);
    size_t *count = malloc(sizeof(size_t) * BUCKETS);
    if (!tmp || !count) {
        free(tmp), free(count);
        return SP_E_NOMEM;
    }
    sp_keyed *src = v, *dst = tmp;
    for (unsigned shift = 0; shift < 64; shift += DIGIT) {
        memset(count, 0, sizeof(size_t) * BUCKETS);
        for (size_t i = 0; i < n; i++) count[(src[i].key >> shift) & (BUCKETS - 1)]++;
        /* A digit every key shares moves nothing: skip the pass. */
        if (count[(src[0].key >> shift) & (BUCKETS - 1)] == n) continue;
        size_t sum = 0;
        for (size_t b = 0; b < BUCKETS; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) dst[count[(src[i].key >> shift) & (BUCKETS - 1)]++] = src[i];
        sp_keyed *t = src;
        src = dst;
        dst = t;
    }
    if (src != v) memcpy(v, src, sizeof(sp_keyed) * n);
    free(tmp);
    free(count);
    return SP_OK;
}

int sp_sort_by_label(uint32_t *idx, size_t n, const int32_t *labels, size_t nlabels)
{
    size_t *start = calloc(nlabels + 1, sizeof(size_t));
    uint32_t *out = malloc(sizeof(uint32_t) * (n ? n : 1));
    if (!start || !out) {
        free(start), free(out);
        return SP_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) start[labels[idx[i]] + 1]++;
    for (size_t c = 0; c < nlabels; c++) start[c + 1] += start[c];
    for (size_t i = 0; i < n; i++) out[start[labels[idx[i]]]++] = idx[i];
    memcpy(idx, out, sizeof(uint32_t) * n);
    free(start);
    free(out);
    return SP_OK;
}
