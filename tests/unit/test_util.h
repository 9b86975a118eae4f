/*
 * Helpers the unit tests share. Include after <cmocka.h> (print_message, assert_*) and
 * the shardpack headers. Inline, so a test that uses few of them has no unused ones.
 */
#ifndef SP_TEST_UTIL_H
#define SP_TEST_UTIL_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The seed of a randomized test: SP_TEST_SEED if set, else the time; printed, so a failure
 * can be repeated. */
static inline unsigned test_seed(const char *test)
{
    const char *env = getenv("SP_TEST_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    print_message("%s: seed %u (set SP_TEST_SEED to repeat)\n", test, seed);
    return seed;
}

/* A new image with src's pixels (dst is allocated). */
static inline void copy_image(const sp_image *src, sp_image *dst)
{
    assert_int_equal(sp_image_alloc(dst, src->width, src->height, src->channels), SP_OK);
    for (uint32_t y = 0; y < src->height; y++)
        memcpy(dst->data + (size_t)y * dst->stride, src->data + (size_t)y * src->stride,
               (size_t)src->width * src->channels);
}

/* Same size, channels and pixels (strides may differ). */
static inline bool same_pixels(const sp_image *a, const sp_image *b)
{
    if (a->width != b->width || a->height != b->height || a->channels != b->channels)
        return false;
    for (uint32_t y = 0; y < a->height; y++)
        if (memcmp(a->data + (size_t)y * a->stride, b->data + (size_t)y * b->stride,
                   (size_t)a->width * a->channels))
            return false;
    return true;
}

#endif
