/*
 * Content hashes and the counter-based RNG.
 *
 * Why counter-based: a shared generator makes every draw depend on how many draws came
 * before it, i.e. on thread scheduling and on which other records exist. Here a stream is
 * keyed by (seed, stage instance, record key, copy) through XXH3-128, and draw i is a
 * bijective mix of (key, i). Any record's randomness can be recomputed alone, on any
 * machine, in any order — which is what makes builds reproducible at any thread count.
 */
#include "internal.h"

#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

sp_hash128 sp_hash_bytes(const void *data, size_t len)
{
    XXH128_hash_t h = XXH3_128bits(data, len);
    return (sp_hash128){h.high64, h.low64};
}

void sp_hash_hex(sp_hash128 h, char out[33])
{
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.hi, (unsigned long long)h.lo);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int sp_hash_parse(const char *hex, sp_hash128 *out)
{
    uint64_t v[2] = {0, 0};
    for (int i = 0; i < 32; i++) {
        int d = hexval(hex[i]);
        if (d < 0) return SP_E_CORRUPT;
        v[i / 16] = (v[i / 16] << 4) | (uint64_t)d;
    }
    if (hex[32] != '\0') return SP_E_CORRUPT;
    out->hi = v[0];
    out->lo = v[1];
    return SP_OK;
}

/* Integers are hashed as little-endian bytes so streams are the same on every host. */
static void put_le(XXH3_state_t *st, uint64_t v, size_t n)
{
    uint8_t b[8];
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
    XXH3_128bits_update(st, b, n);
}

sp_rng sp_rng_for(uint64_t seed, const char *stage, const char *record_key, uint32_t copy)
{
    /* Fields are length-prefixed so ("ab","c") and ("a","bc") give different streams. */
    XXH3_state_t st;
    XXH3_INITSTATE(&st); /* required on the stack before a seeded reset (xxhash.h) */
    XXH3_128bits_reset_withSeed(&st, seed);
    uint64_t ls = strlen(stage), lk = strlen(record_key);
    put_le(&st, ls, 8);
    XXH3_128bits_update(&st, stage, ls);
    put_le(&st, lk, 8);
    XXH3_128bits_update(&st, record_key, lk);
    put_le(&st, copy, 4);
    XXH128_hash_t h = XXH3_128bits_digest(&st);
    return (sp_rng){h.high64, h.low64, 0};
}

/* SplitMix64's finalizer: a bijection on 64 bits with full avalanche. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t sp_rng_u64(sp_rng *r)
{
    uint64_t i = r->counter++;
    return mix64(r->k0 ^ mix64(r->k1 + i * 0x9e3779b97f4a7c15ULL));
}

double sp_rng_uniform(sp_rng *r)
{
    return (double)(sp_rng_u64(r) >> 11) * 0x1.0p-53;
}
