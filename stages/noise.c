/*
 * noise — additive Gaussian noise with a random standard deviation.
 *
 *   [noise]
 *   sigma_min = 0
 *   sigma_max = 10     ; in levels of 0..255
 *   per_channel = true ; false: one draw per pixel, added to every colour channel
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * v' = round(v + sigma * z), clipped, with z ~ N(0, 1) drawn per value from the stage's
 * stream: each 64-bit draw gives two normals by Box-Muller (32 bits for the radius, 32 for
 * the angle; the tails end near 6.7 sigma, past anything 8-bit pixels can show). So the
 * noise of a record is as reproducible as any other draw. Sigma 0 leaves the image as it
 * is. Gray images get one channel of noise; alpha is kept.
 */
#include "photometric.h"

#include <math.h>

typedef sp_noise_opts noise_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(noise_opts, f)
static const sp_option noise_options[] = {
    {"sigma_min", "smallest standard deviation drawn, in levels of 0..255", OFF(sigma_min),
     SP_OPT_DOUBLE, "0", 0, 255, NULL, 0},
    {"sigma_max", "largest standard deviation drawn", OFF(sigma_max), SP_OPT_DOUBLE, "10", 0,
     255, NULL, 0},
    {"per_channel", "independent noise per colour channel (false: the same for all three)",
     OFF(per_channel), SP_OPT_BOOL, "true", 1, 0, NULL, 0},
    SP_OPT_END,
};

/* Two standard normals from one 64-bit draw (Box-Muller). u1 is in (0, 1], never 0. */
static void normal_pair(uint64_t r, float *z0, float *z1)
{
    const float two_pi = 6.28318530717958647692f;
    float u1 = ((float)(uint32_t)(r >> 32) + 0.5f) * 0x1.0p-32f;
    float u2 = (float)(uint32_t)r * 0x1.0p-32f;
    if (u1 > 1.0f) u1 = 1.0f;
    float rad = sqrtf(-2.0f * logf(u1));
    *z0 = rad * cosf(two_pi * u2);
    *z1 = rad * sinf(two_pi * u2);
}

/* Hands out normals in order, made a block at a time so the per-value loop has no
 * branches or calls besides the refill. */
#define BLOCK 512
typedef struct normals {
    sp_pixel_ctx *pc;
    size_t next;
    float z[BLOCK];
} normals;

static void refill(normals *n)
{
    for (size_t i = 0; i < BLOCK; i += 2) normal_pair(sp_px_u64(n->pc), &n->z[i], &n->z[i + 1]);
    n->next = 0;
}

static inline float next_normal(normals *n)
{
    if (n->next == BLOCK) refill(n);
    return n->z[n->next++];
}

static inline uint8_t add_noise(uint8_t v, float d)
{
    float t = (float)v + d + 0.5f;
    return t <= 0.0f ? 0 : t >= 255.0f ? 255 : (uint8_t)t;
}

/* Adds s * z to m consecutive values, z taken in order from the stream. */
static void noise_run(uint8_t *p, size_t m, float s, normals *n)
{
    while (m) {
        if (n->next == BLOCK) refill(n);
        size_t k = BLOCK - n->next < m ? BLOCK - n->next : m;
        const float *z = n->z + n->next;
        for (size_t i = 0; i < k; i++) p[i] = add_noise(p[i], s * z[i]);
        n->next += k;
        p += k;
        m -= k;
    }
}

static int noise_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)err; /* adding noise in place cannot fail; the range was checked when read */
    const noise_opts *o = opts;
    double sigma;
    sigma = sp_px_draw_range(pc, "sigma", o->sigma_min, o->sigma_max);
    if (sigma <= 0) return SP_OK;
    const float s = (float)sigma;
    const uint32_t ch = img->channels, colour = ch == 1 ? 1 : 3;
    normals n = {.pc = pc, .next = BLOCK};
    for (uint32_t y = 0; y < img->height; y++) {
        uint8_t *p = img->data + (size_t)y * img->stride;
        if (ch != 4 && (o->per_channel || ch == 1)) { /* one flat run of values */
            noise_run(p, (size_t)img->width * ch, s, &n);
            continue;
        }
        for (uint32_t x = 0; x < img->width; x++, p += ch) {
            if (!o->per_channel) {
                float d = s * next_normal(&n);
                for (uint32_t c = 0; c < colour; c++) p[c] = add_noise(p[c], d);
            } else {
                for (uint32_t c = 0; c < colour; c++) p[c] = add_noise(p[c], s * next_normal(&n));
            }
        }
    }
    return SP_OK;
}

const sp_stage_desc sp_stage_noise = {
    .name = "noise",
    .help = "add Gaussian noise with a random standard deviation",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(noise_opts),
    .options = noise_options,
    .process = noise_process,
};
