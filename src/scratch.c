/*
 * Per-thread scratch memory (internal.h): buffers a worker thread reuses from one image to
 * the next, so the hot path (resampling's coefficient tables and intermediate image) does
 * not go to malloc for every record. Each slot grows to the largest size asked of it and
 * is never shrunk until the scratch is freed; a build owns one scratch per thread, so no
 * slot is ever shared.
 */
#include "internal.h"

#include <stdlib.h>

void *sp_scratch_get(sp_scratch *s, int slot, size_t bytes)
{
    if (slot < 0 || slot >= SP_SCRATCH_SLOTS) return NULL;
    if (bytes == 0) bytes = 1;
    if (s->cap[slot] < bytes) {
        /* Grown by half again, so a run of slowly growing sizes reallocates rarely. The
         * old contents are not kept: a slot holds nothing between calls. */
        size_t want = bytes + bytes / 2 < bytes ? bytes : bytes + bytes / 2;
        free(s->buf[slot]);
        s->buf[slot] = malloc(want);
        s->cap[slot] = s->buf[slot] ? want : 0;
        if (!s->buf[slot]) return NULL;
    }
    return s->buf[slot];
}

sp_scratch *sp_scratch_array_new(size_t n)
{
    return calloc(n ? n : 1, sizeof(sp_scratch));
}

void sp_scratch_free(sp_scratch *s)
{
    for (int i = 0; i < SP_SCRATCH_SLOTS; i++) {
        free(s->buf[i]);
        s->buf[i] = NULL;
        s->cap[i] = 0;
    }
}

void sp_scratch_array_free(sp_scratch **a, size_t n)
{
    if (!*a) return;
    for (size_t i = 0; i < n; i++)
        sp_scratch_free(&(*a)[i]);
    free(*a);
    *a = NULL;
}
