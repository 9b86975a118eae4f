/*
 * Unit tests for decoding facts and cleaning: the EXIF orientation reader
 * (formats/exif.c), the orientation transforms, the background option, the perceptual
 * hash (src/phash.c) and duplicate grouping (sp_dup_groups in stages/clean.c).
 *
 * Why: the EXIF block is untrusted bytes inside an otherwise good JPEG, so the reader must
 * never read past it whatever its offsets and counts say; and banded near-duplicate search
 * is only right if it finds exactly the pairs an all-pairs comparison finds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* "Exif\0\0" + TIFF with IFD0 holding `before` dummy entries, then the orientation. */
static size_t exif_block(uint8_t *out, bool le, unsigned orientation, unsigned before)
{
    size_t n = 0;
#define U16(v)                                                                                \
    do {                                                                                      \
        unsigned x_ = (v);                                                                    \
        out[n++] = (uint8_t)(le ? x_ : x_ >> 8);                                              \
        out[n++] = (uint8_t)(le ? x_ >> 8 : x_);                                              \
    } while (0)
#define U32(v)                                                                                \
    do {                                                                                      \
        uint32_t y_ = (v);                                                                    \
        if (le) { U16(y_ & 0xffff); U16(y_ >> 16); }                                          \
        else { U16(y_ >> 16); U16(y_ & 0xffff); }                                             \
    } while (0)
    memcpy(out, "Exif\0\0", 6);
    n = 6;
    out[n++] = le ? 'I' : 'M';
    out[n++] = le ? 'I' : 'M';
    U16(42);
    U32(8);
    U16(before + 1);
    for (unsigned i = 0; i < before; i++) {
        U16(0x010f); /* Make, ASCII, pointing nowhere in particular */
        U16(2);
        U32(4);
        U32(0x41424300);
    }
    U16(0x0112);
    U16(3);
    U32(1);
    U16(orientation);
    U16(0);
    U32(0);
    return n;
#undef U16
#undef U32
}

static void test_exif_both_byte_orders(void **state)
{
    (void)state;
    uint8_t b[256];
    for (int le = 0; le < 2; le++)
        for (unsigned o = 1; o <= 8; o++) {
            size_t n = exif_block(b, le, o, o % 3);
            assert_int_equal(sp_exif_orientation(b, n), (int)o);
        }
    size_t n = exif_block(b, true, 9, 0); /* out of range */
    assert_int_equal(sp_exif_orientation(b, n), 1);
    n = exif_block(b, true, 6, 0);
    b[6 + 8 + 2 + 2] = 4; /* type LONG instead of SHORT */
    assert_int_equal(sp_exif_orientation(b, n), 1);
}

/* Every prefix of a valid block, and random damage: never a read past the end (the
 * buffer is copied into an exact-size allocation so ASan or valgrind would see one). */
static void test_exif_truncated_and_damaged(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t n = exif_block(b, false, 6, 2);
    for (size_t len = 0; len <= n; len++) {
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, b, len);
        int o = sp_exif_orientation(p, len);
        assert_true(o == 1 || (o == 6 && len >= n - 6));
        free(p);
    }
    uint64_t seed = 12345;
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t c[256];
        memcpy(c, b, n);
        for (int k = 0; k < 4; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = 6 + (seed >> 33) % (n - 6);
            c[at] = (uint8_t)(seed >> 20);
        }
        uint8_t *p = malloc(n);
        memcpy(p, c, n);
        int o = sp_exif_orientation(p, n);
        assert_true(o >= 1 && o <= 8);
        free(p);
    }
}

/* A 3 x 2 gray image numbered 0..5 row by row, turned by each orientation, against the
 * transposes Pillow's exif_transpose applies. */
static void test_orient_all_eight(void **state)
{
    (void)state;
    static const uint8_t want[9][6] = {
        {0},
        {0, 1, 2, 3, 4, 5}, /* 1: as stored */
        {2, 1, 0, 5, 4, 3}, /* 2: mirrored */
        {5, 4, 3, 2, 1, 0}, /* 3: 180 */
        {3, 4, 5, 0, 1, 2}, /* 4: flipped */
        {0, 3, 1, 4, 2, 5}, /* 5: transposed (2 x 3) */
        {3, 0, 4, 1, 5, 2}, /* 6: 90 clockwise */
        {5, 2, 4, 1, 3, 0}, /* 7: transverse */
        {2, 5, 1, 4, 0, 3}, /* 8: 90 counter-clockwise */
    };
    for (int o = 1; o <= 8; o++) {
        sp_image img = {0};
        assert_int_equal(sp_image_alloc(&img, 3, 2, 1), SP_OK);
        for (int i = 0; i < 6; i++) img.data[(size_t)(i / 3) * img.stride + i % 3] = (uint8_t)i;
        assert_int_equal(sp_image_orient(&img, o, NULL), SP_OK);
        assert_int_equal(img.width, o >= 5 ? 2 : 3);
        assert_int_equal(img.height, o >= 5 ? 3 : 2);
        for (uint32_t y = 0; y < img.height; y++)
            for (uint32_t x = 0; x < img.width; x++)
                assert_int_equal(img.data[y * img.stride + x], want[o][y * img.width + x]);
        sp_image_release(&img);
    }
}

static void test_background_parse(void **state)
{
    (void)state;
    uint32_t bg;
    sp_error err;
    assert_int_equal(sp_background_parse("white", &bg, &err), SP_OK);
    assert_int_equal(bg, 0);
    assert_int_equal(sp_background_parse("black", &bg, &err), SP_OK);
    assert_int_equal(bg, SP_BG_SET);
    assert_int_equal(sp_background_parse("none", &bg, &err), SP_OK);
    assert_int_equal(bg, SP_BG_DROP);
    assert_int_equal(sp_background_parse("0, 128,255", &bg, &err), SP_OK);
    assert_int_equal(bg, SP_BG_SET | 0x0080ff);
    const char *bad[] = {"256,0,0", "1,2", "1,2,3,4", "red", "-1,0,0", "1,,2"};
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++)
        assert_int_equal(sp_background_parse(bad[i], &bg, &err), SP_E_CONFIG);
}

/* Smooth, photo-like content between 40 and 215, so a brightness shift never clips. */
static void picture(sp_image *img, uint32_t w, uint32_t h, int shift, int variant)
{
    memset(img, 0, sizeof(*img));
    assert_int_equal(sp_image_alloc(img, w, h, 3), SP_OK);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            double u = (double)x / w, v = (double)y / h;
            double g = variant ? 128 + 50 * sin(9 * v + 2 * u) + 30 * cos(7 * u * v * 3)
                               : 128 + 50 * sin(6 * u) + 30 * cos(5 * v + 3 * u);
            uint8_t *p = img->data + y * img->stride + x * 3;
            for (int c = 0; c < 3; c++) p[c] = (uint8_t)(g + shift + c * 5);
        }
}

static void test_phash_near_and_far(void **state)
{
    (void)state;
    sp_image a, b, c, d;
    picture(&a, 200, 150, 0, 0);
    picture(&b, 200, 150, 12, 0);  /* brighter */
    picture(&c, 150, 113, 0, 0);   /* smaller */
    picture(&d, 200, 150, 0, 1);   /* another picture */
    uint64_t ha = sp_phash(&a), hb = sp_phash(&b), hc = sp_phash(&c), hd = sp_phash(&d);
    assert_true(ha == sp_phash(&a));
    print_message("distances: brighter %d, smaller %d, other %d\n", sp_popcount64(ha ^ hb),
                  sp_popcount64(ha ^ hc), sp_popcount64(ha ^ hd));
    assert_true(sp_popcount64(ha ^ hb) <= 4);
    assert_true(sp_popcount64(ha ^ hc) <= 4);
    assert_true(sp_popcount64(ha ^ hd) > 12);
    /* About half the bits are set: the median splits the 64 coefficients. */
    assert_true(sp_popcount64(ha) >= 24 && sp_popcount64(ha) <= 40);
    sp_image_release(&a), sp_image_release(&b), sp_image_release(&c), sp_image_release(&d);
}

static uint32_t find(uint32_t *p, uint32_t i)
{
    while (p[i] != i) i = p[i];
    return i;
}

/* Banded search against all pairs, on random hashes with planted near copies. */
static void test_dup_groups_match_all_pairs(void **state)
{
    (void)state;
    enum { N = 600 };
    sp_sample *s = calloc(N, sizeof(*s));
    const sp_sample **ps = calloc(N, sizeof(*ps));
    uint32_t *root = calloc(N, sizeof(uint32_t)), *brute = calloc(N, sizeof(uint32_t));
    uint64_t seed = 99;
#define NEXT() (seed = seed * 6364136223846793005ull + 1442695040888963407ull, seed ^ (seed >> 29))
    for (int i = 0; i < N; i++) {
        ps[i] = &s[i];
        s[i].has_phash = true;
        s[i].hash.hi = NEXT();
        s[i].hash.lo = NEXT();
        s[i].phash = NEXT();
        if (i > 0 && i % 5 == 0) { /* a near copy of an earlier one: 0..7 bits flipped */
            int src = (int)(NEXT() % (uint64_t)i);
            s[i].phash = s[src].phash;
            for (int k = (int)(NEXT() % 8); k > 0; k--) s[i].phash ^= 1ull << (NEXT() % 64);
        }
        if (i > 0 && i % 37 == 0) s[i].hash = s[i - 1].hash; /* exact copy */
    }
    for (int d = -1; d <= 6; d++) {
        assert_int_equal(sp_dup_groups(ps, N, d, root), SP_OK);
        for (uint32_t i = 0; i < N; i++) brute[i] = i;
        for (uint32_t i = 0; i < N; i++)
            for (uint32_t j = 0; j < i; j++) {
                bool same = s[i].hash.hi == s[j].hash.hi && s[i].hash.lo == s[j].hash.lo;
                bool near = d >= 0 && sp_popcount64(s[i].phash ^ s[j].phash) <= d;
                if (same || near) {
                    uint32_t a = find(brute, i), b = find(brute, j);
                    if (a != b) brute[a > b ? a : b] = a < b ? a : b;
                }
            }
        for (uint32_t i = 0; i < N; i++) assert_int_equal(root[i], find(brute, i));
    }
    free(s), free(ps), free(root), free(brute);
#undef NEXT
}

/* 50,000 blank images (one perceptual hash) are one group, found without comparing
 * every pair (which would take minutes): equal hashes are linked in one sorted pass. */
static void test_dup_groups_many_equal(void **state)
{
    (void)state;
    enum { N = 50000 };
    sp_sample *s = calloc(N, sizeof(*s));
    const sp_sample **ps = calloc(N, sizeof(*ps));
    uint32_t *root = calloc(N, sizeof(uint32_t));
    for (uint32_t i = 0; i < N; i++) {
        ps[i] = &s[i];
        s[i].has_phash = true;
        s[i].phash = i % 2 ? 0x8000000000000000ull : 0x8000000000000001ull;
        s[i].hash.lo = i;
    }
    assert_int_equal(sp_dup_groups(ps, N, 4, root), SP_OK);
    for (uint32_t i = 0; i < N; i++) assert_int_equal(root[i], 0);
    free(s), free(ps), free(root);
}

/* The seconds a no-hang bound allows (SP_TEST_NO_HANG_SECONDS, for slow sanitizer builds). */
static unsigned no_hang(void)
{
    const char *v = getenv("SP_TEST_NO_HANG_SECONDS");
    return v && atoi(v) > 0 ? (unsigned)atoi(v) : 20;
}

/* 30,000 images with one perceptual hash and distinct bytes, every third an exact copy of
 * the one before: one cluster, and exact[] names each copy's first with the same bytes
 * (clean tells duplicates from near ones by it, in one pass: it used to rescan the
 * cluster for every member, minutes at this size). */
static void test_dup_groups_exact_roots(void **state)
{
    (void)state;
    enum { N = 30000 };
    sp_sample *s = calloc(N, sizeof(*s));
    const sp_sample **ps = calloc(N, sizeof(*ps));
    uint32_t *root = calloc(N, sizeof(uint32_t)), *exact = calloc(N, sizeof(uint32_t));
    for (uint32_t i = 0; i < N; i++) {
        ps[i] = &s[i];
        s[i].has_phash = true;
        s[i].phash = 0x0123456789abcdefull;
        /* Copies share a hash; the groups' hashes are in no sorted order. */
        s[i].hash.hi = (i / 3) * 0x9E3779B97F4A7C15ull;
        s[i].hash.lo = i / 3 % 7;
    }
    alarm(no_hang());
    assert_int_equal(sp_dup_groups_exact(ps, N, 4, root, exact), SP_OK);
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(root[i], 0);
        assert_int_equal(exact[i], i - i % 3);
    }
    /* Exact only: the same groups. */
    assert_int_equal(sp_dup_groups_exact(ps, N, -1, root, exact), SP_OK);
    alarm(0);
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(root[i], i - i % 3);
        assert_int_equal(exact[i], i - i % 3);
    }
    free(s), free(ps), free(root), free(exact);
}

/* Distinct perceptual hashes sharing one band's bits (all zero in the lowest band): the
 * bucket is past BUCKET_CAP, so it is compared in hash order within a window. Every tenth
 * hash is one bit from the one before; the result must match all pairs at 6,000 hashes,
 * and 300,000 must finish (all pairs of the bucket: 4.5e10 comparisons, minutes). */
static void test_dup_groups_skewed_band(void **state)
{
    (void)state;
    enum { N = 300000, SMALL = 6000 };
    sp_sample *s = calloc(N, sizeof(*s));
    const sp_sample **ps = calloc(N, sizeof(*ps));
    uint32_t *root = calloc(N, sizeof(uint32_t)), *brute = calloc(SMALL, sizeof(uint32_t));
    uint64_t seed = 7;
#define NEXT() (seed = seed * 6364136223846793005ull + 1442695040888963407ull, seed ^ (seed >> 29))
    for (uint32_t i = 0; i < N; i++) {
        ps[i] = &s[i];
        s[i].has_phash = true;
        s[i].hash.hi = i + 1;
        s[i].phash = NEXT() & ~0x1fffull; /* bits 0..12: band 0 of 5 */
        if (i % 10 == 1) s[i].phash = s[i - 1].phash ^ (1ull << (13 + NEXT() % 51));
    }
    assert_int_equal(sp_dup_groups(ps, SMALL, 4, root), SP_OK);
    for (uint32_t i = 0; i < SMALL; i++) brute[i] = i;
    for (uint32_t i = 0; i < SMALL; i++)
        for (uint32_t j = 0; j < i; j++)
            if (sp_popcount64(s[i].phash ^ s[j].phash) <= 4) {
                uint32_t a = find(brute, i), b = find(brute, j);
                if (a != b) brute[a > b ? a : b] = a < b ? a : b;
            }
    for (uint32_t i = 0; i < SMALL; i++) assert_int_equal(root[i], find(brute, i));
    alarm(no_hang());
    assert_int_equal(sp_dup_groups(ps, N, 4, root), SP_OK);
    alarm(0);
    /* Each planted pair is one group; any other member of a group is near one of it. */
    for (uint32_t i = 1; i < N; i += 10) assert_int_equal(root[i], root[i - 1]);
    for (uint32_t i = 0; i < N; i++)
        if (root[i] != i && i % 10 != 1)
            assert_true(sp_popcount64(s[i].phash ^ s[root[i]].phash) <= 8);
    free(s), free(ps), free(root), free(brute);
#undef NEXT
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exif_both_byte_orders),
        cmocka_unit_test(test_exif_truncated_and_damaged),
        cmocka_unit_test(test_orient_all_eight),
        cmocka_unit_test(test_background_parse),
        cmocka_unit_test(test_phash_near_and_far),
        cmocka_unit_test(test_dup_groups_match_all_pairs),
        cmocka_unit_test(test_dup_groups_many_equal),
        cmocka_unit_test(test_dup_groups_exact_roots),
        cmocka_unit_test(test_dup_groups_skewed_band),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
