/*
 * Unit tests for content hashes and the counter-based RNG (src/rng.c).
 *
 * Why: every random choice of a build (shuffle order, augmentation) comes from
 * sp_rng_for(seed, stage, record key, copy). Reproducibility at any thread count rests on
 * three properties tested here: the same key always gives the same stream, every field of
 * the key matters, and a stream does not depend on other streams or on the order they are
 * made. A golden value pins the algorithm itself, since changing it would silently change
 * every dataset users have built. sp_hash_bytes must be plain XXH3-128, because manifests
 * record it and other tools recompute it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>


#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "internal.h"
#include "test_util.h"

#define N 1000

static void draws(sp_rng r, uint64_t out[N])
{
    for (int i = 0; i < N; i++) out[i] = sp_rng_u64(&r);
}

/* Positions at which two streams agree (for unrelated 64-bit streams: 0). */
static int same_positions(const uint64_t a[N], const uint64_t b[N])
{
    int n = 0;
    for (int i = 0; i < N; i++) n += a[i] == b[i];
    return n;
}

/* Pinned: the first draw of one stream. If this changes, every shuffle order (and any
 * other random choice) of every dataset built so far changes with it, and rebuilding an
 * old pipeline no longer reproduces its shards. Change it only together with a deliberate,
 * documented break of reproducibility. (Recorded from the implementation on x86-64.) */
#define GOLDEN_FIRST_DRAW UINT64_C(0x556fc57d354bb2ee)
#define GOLDEN_SECOND_DRAW UINT64_C(0x05262bccdb96d089)

static void test_golden(void **state)
{
    (void)state;
    sp_rng r = sp_rng_for(42, "shuffle", "a/b.jpg", 0);
    uint64_t first = sp_rng_u64(&r);
    if (first != GOLDEN_FIRST_DRAW)
        fail_msg("first draw is 0x%016" PRIx64 ", pinned 0x%016" PRIx64
                 ": the RNG changed, which changes every dataset built",
                 first, GOLDEN_FIRST_DRAW);
    assert_true(sp_rng_u64(&r) == GOLDEN_SECOND_DRAW);
    /* sp_rng_uniform is the top 53 bits of the same draw. */
    sp_rng u = sp_rng_for(42, "shuffle", "a/b.jpg", 0);
    assert_true(sp_rng_uniform(&u) == (double)(GOLDEN_FIRST_DRAW >> 11) * 0x1.0p-53);
}

/* ---- an independent statement of the construction ------------------------------------
 * Key: XXH3-128 (seeded) of len(stage) | stage | len(key) | key | copy, lengths as 64-bit
 * and copy as 32-bit integers in host byte order; draw i: mix(k0 ^ mix(k1 + i * phi)). */
static uint64_t ref_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint64_t ref_draw(uint64_t seed, const char *stage, const char *key, uint32_t copy,
                         uint64_t i)
{
    uint8_t buf[512];
    size_t n = 0;
    uint64_t ls = strlen(stage), lk = strlen(key);
    memcpy(buf + n, &ls, 8), n += 8;
    memcpy(buf + n, stage, ls), n += ls;
    memcpy(buf + n, &lk, 8), n += 8;
    memcpy(buf + n, key, lk), n += lk;
    memcpy(buf + n, &copy, 4), n += 4;
    XXH128_hash_t h = XXH3_128bits_withSeed(buf, n, seed);
    return ref_mix(h.high64 ^ ref_mix(h.low64 + i * UINT64_C(0x9e3779b97f4a7c15)));
}

static void test_matches_reference(void **state)
{
    (void)state;
    static const struct {
        uint64_t seed;
        const char *stage, *key;
        uint32_t copy;
    } cases[] = {
        {42, "shuffle", "a/b.jpg", 0},
        {0, "", "", 0},
        {UINT64_MAX, "aug", "cat/ä.png", 7},
        {9007199254740991ULL, "shuffle", "dog/x/y/z.jpeg", UINT32_MAX},
    };
    for (size_t c = 0; c < SP_ARRAY_LEN(cases); c++) {
        sp_rng r = sp_rng_for(cases[c].seed, cases[c].stage, cases[c].key, cases[c].copy);
        for (uint64_t i = 0; i < 64; i++)
            assert_true(sp_rng_u64(&r) ==
                        ref_draw(cases[c].seed, cases[c].stage, cases[c].key, cases[c].copy, i));
    }
}

/* ---- determinism and independence --------------------------------------------------- */

static void test_same_key_same_stream(void **state)
{
    (void)state;
    uint64_t a[N], b[N];
    draws(sp_rng_for(42, "shuffle", "a/b.jpg", 0), a);
    draws(sp_rng_for(42, "shuffle", "a/b.jpg", 0), b);
    assert_memory_equal(a, b, sizeof(a));
    /* Not a constant or short-period stream. */
    int distinct = 0;
    for (int i = 1; i < N; i++) distinct += a[i] != a[i - 1];
    assert_int_equal(distinct, N - 1);
}

static void test_every_field_matters(void **state)
{
    (void)state;
    uint64_t base[N], other[N];
    draws(sp_rng_for(42, "shuffle", "a/b.jpg", 0), base);
    const struct {
        uint64_t seed;
        const char *stage, *key;
        uint32_t copy;
        const char *what;
    } changed[] = {
        {43, "shuffle", "a/b.jpg", 0, "seed"},
        {42ULL | (1ULL << 63), "shuffle", "a/b.jpg", 0, "seed's top bit"},
        {42, "shufflf", "a/b.jpg", 0, "stage"},
        {42, "shuffle2", "a/b.jpg", 0, "stage length"},
        {42, "shuffle", "a/b.jpG", 0, "key"},
        {42, "shuffle", "a/b.jpg/", 0, "key length"},
        {42, "shuffle", "", 0, "empty key"},
        {42, "shuffle", "a/b.jpg", 1, "copy"},
        {42, "shuffle", "a/b.jpg", 0x80000000u, "copy's top bit"},
        /* The same bytes split differently between stage and key. */
        {42, "shufflea", "/b.jpg", 0, "stage/key boundary"},
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(changed); i++) {
        draws(sp_rng_for(changed[i].seed, changed[i].stage, changed[i].key, changed[i].copy),
              other);
        int same = same_positions(base, other);
        if (same) fail_msg("changing the %s left %d of %d draws equal", changed[i].what, same, N);
    }
    /* Length prefixes: ("ab", "c") and ("a", "bc") are different streams. */
    draws(sp_rng_for(1, "ab", "c", 0), base);
    draws(sp_rng_for(1, "a", "bc", 0), other);
    assert_int_equal(same_positions(base, other), 0);
}

/* A stream's draws do not depend on other streams or on when it was created. */
static void test_order_independent(void **state)
{
    (void)state;
    unsigned seed = test_seed("test_order_independent");
    srand(seed);
    uint64_t a[N], b[N];
    draws(sp_rng_for(7, "shuffle", "cat/1.jpg", 0), a);
    draws(sp_rng_for(7, "shuffle", "dog/2.jpg", 0), b);

    /* Create in the other order and interleave the draws irregularly. */
    sp_rng rb = sp_rng_for(7, "shuffle", "dog/2.jpg", 0);
    uint64_t junk = 0;
    for (int k = 0; k < 10; k++) { /* unrelated streams made and used in between */
        sp_rng x = sp_rng_for((uint64_t)rand(), "shuffle", "cat/1.jpg", 0);
        junk ^= sp_rng_u64(&x);
    }
    sp_rng ra = sp_rng_for(7, "shuffle", "cat/1.jpg", 0);
    int ia = 0, ib = 0;
    while (ia < N || ib < N) {
        int burst = rand() % 5;
        for (int k = 0; k < burst && ia < N; k++, ia++)
            if (sp_rng_u64(&ra) != a[ia]) fail_msg("stream a differs at draw %d (seed %u)", ia, seed);
        burst = rand() % 5;
        for (int k = 0; k < burst && ib < N; k++, ib++)
            if (sp_rng_u64(&rb) != b[ib]) fail_msg("stream b differs at draw %d (seed %u)", ib, seed);
    }
    (void)junk;

    /* Counter-based: draw i can be had directly, without the draws before it. */
    for (int k = 0; k < 100; k++) {
        int i = rand() % N;
        sp_rng r = sp_rng_for(7, "shuffle", "cat/1.jpg", 0);
        r.counter = (uint64_t)i;
        assert_true(sp_rng_u64(&r) == a[i]);
    }
}

/* ---- uniform doubles ---------------------------------------------------------------- */

static void test_uniform(void **state)
{
    (void)state;
    unsigned seed = test_seed("test_uniform");
    srand(seed);
    char key[32];
    snprintf(key, sizeof(key), "k%d", rand());
    sp_rng r = sp_rng_for((uint64_t)rand(), "aug", key, 0);
    const int n = 100000;
    double sum = 0;
    int buckets[10] = {0};
    for (int i = 0; i < n; i++) {
        double u = sp_rng_uniform(&r);
        if (!(u >= 0.0 && u < 1.0)) fail_msg("draw %d = %.17g is outside [0, 1) (seed %u)", i, u, seed);
        sum += u;
        buckets[(int)(u * 10)]++;
    }
    /* The mean's standard deviation is 0.29 / sqrt(n) ~ 0.0009: 0.01 is > 10 sigma. */
    double mean = sum / n;
    if (mean < 0.49 || mean > 0.51) fail_msg("mean %.4f over %d draws (seed %u)", mean, n, seed);
    for (int b = 0; b < 10; b++)
        if (buckets[b] < n / 10 - 1000 || buckets[b] > n / 10 + 1000)
            fail_msg("bucket %d has %d of %d draws (seed %u)", b, buckets[b], n, seed);
}

/* ---- content hashes ----------------------------------------------------------------- */

static void assert_hash_is_xxh3(const void *data, size_t len)
{
    sp_hash128 h = sp_hash_bytes(data, len);
    XXH128_hash_t want = XXH3_128bits(data, len);
    if (h.hi != want.high64 || h.lo != want.low64)
        fail_msg("sp_hash_bytes of %zu bytes is not XXH3-128", len);
}

static void test_hash_is_xxh3_128(void **state)
{
    (void)state;
    assert_hash_is_xxh3("", 0);
    assert_hash_is_xxh3("abc", 3);
    /* Two fixed values, so a change of xxHash itself would be caught too. */
    char hex[33];
    sp_hash_hex(sp_hash_bytes("", 0), hex);
    assert_string_equal(hex, "99aa06d3014798d86001c324468d497f");
    sp_hash_hex(sp_hash_bytes("abc", 3), hex);
    assert_string_equal(hex, "06b05ab6733a618578af5f94892f3950");

    unsigned seed = test_seed("test_hash_is_xxh3_128");
    srand(seed);
    static uint8_t buf[5000];
    for (size_t i = 0; i < sizeof(buf); i++) buf[i] = (uint8_t)rand();
    /* Every length XXH3 treats specially (0-16, 17-128, 129-240, longer). */
    for (size_t len = 0; len < sizeof(buf); len += len < 260 ? 1 : 97)
        assert_hash_is_xxh3(buf, len);
    sp_hash128 a = sp_hash_bytes(buf, 100);
    buf[50] ^= 1;
    sp_hash128 b = sp_hash_bytes(buf, 100);
    assert_false(a.hi == b.hi && a.lo == b.lo);
}

static void test_hash_hex(void **state)
{
    (void)state;
    char hex[33];
    sp_hash128 h = {UINT64_C(0x0123456789abcdef), UINT64_C(0xfedcba9876543210)};
    sp_hash_hex(h, hex);
    assert_string_equal(hex, "0123456789abcdeffedcba9876543210"); /* hi first, lowercase */
    sp_hash128 back = {0, 0};
    assert_int_equal(sp_hash_parse(hex, &back), SP_OK);
    assert_true(back.hi == h.hi && back.lo == h.lo);

    sp_hash128 zero = {0, 0};
    sp_hash_hex(zero, hex);
    assert_string_equal(hex, "00000000000000000000000000000000");

    unsigned seed = test_seed("test_hash_hex");
    srand(seed);
    for (int i = 0; i < 1000; i++) {
        uint8_t bytes[16];
        for (int k = 0; k < 16; k++) bytes[k] = (uint8_t)rand();
        h = sp_hash_bytes(bytes, sizeof(bytes));
        sp_hash_hex(h, hex);
        assert_int_equal(strlen(hex), 32);
        assert_int_equal(sp_hash_parse(hex, &back), SP_OK);
        assert_true(back.hi == h.hi && back.lo == h.lo);
    }

    /* Malformed text is refused and leaves the output alone. */
    static const char *const bad[] = {
        "",
        "0123456789abcdeffedcba987654321",   /* 31 digits */
        "0123456789abcdeffedcba98765432100", /* 33 digits */
        "0123456789ABCDEFfedcba9876543210",  /* uppercase */
        "0123456789abcdefgedcba9876543210",  /* not hex */
        " 123456789abcdeffedcba9876543210",
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++) {
        sp_hash128 out = {1, 2};
        if (sp_hash_parse(bad[i], &out) != SP_E_CORRUPT) fail_msg("'%s' was accepted", bad[i]);
        assert_true(out.hi == 1 && out.lo == 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_same_key_same_stream),
        cmocka_unit_test(test_every_field_matters),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_hash_is_xxh3_128),
        cmocka_unit_test(test_hash_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
