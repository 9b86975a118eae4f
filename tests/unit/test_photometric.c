/*
 * Unit tests for the photometric pixel stages (stages/color_jitter.c ... erase.c).
 *
 * Why: these stages change training pixels, and a silent bug (a channel skipped, alpha
 * overwritten, a draw that depends on something other than (seed, key, copy)) shows up
 * only as a worse model. The Pillow comparison (tests/compat/check_color_pillow.py) holds
 * the math; these hold the properties every build relies on, on random images (seed
 * printed): inverses and identities, gray stays gray, histograms spread, sigma 0 changes
 * nothing, the same (seed, key, copy) gives the same bytes and another copy does not,
 * alpha is never touched, tiny images are safe, and a reversed range is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "test_util.h"

/* A random image with smooth structure (so histograms are uneven, as in photos). */
static void make_image(sp_image *img, uint32_t w, uint32_t h, uint32_t ch, unsigned *seed)
{
    assert_int_equal(sp_image_alloc(img, w, h, ch), SP_OK);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < ch; c++) {
                unsigned base = (x * (c + 1) + y * 2) % 200 + 20;
                unsigned jitter = (unsigned)rand_r(seed) % 32;
                img->data[(size_t)y * img->stride + (size_t)x * ch + c] =
                    (uint8_t)(c == 3 ? (x * 7 + y) & 255 : base + jitter - 16);
            }
}

/* Runs stage `type` with "key=value" options on img as a build would (p = 1, apply =
 * all), drawing from (seed, key, copy), after the checks every reader of options makes
 * (reversed NAME_min/NAME_max pairs). The notes land in *notes if given. */
static int run_stage(const char *type, const char *const *opts, sp_image *img, uint64_t seed,
                     const char *key, uint32_t copy, sp_buf *notes, sp_error *err)
{
    const sp_stage_desc *d = sp_stage_desc_by_name(type);
    assert_non_null(d);
    assert_int_equal(d->kind, SP_STAGE_PIXEL);
    void *o = calloc(1, d->opts_size ? d->opts_size : 1);
    assert_non_null(o);
    assert_int_equal(sp_options_defaults(d->options, o, err), SP_OK);
    for (size_t i = 0; opts && opts[i]; i++) {
        const char *eq = strchr(opts[i], '=');
        assert_non_null(eq);
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - opts[i]), opts[i]);
        const sp_option *row = sp_option_find(d->options, name);
        assert_non_null(row);
        assert_int_equal(sp_option_parse(row, o, eq + 1, err), SP_OK);
    }
    sp_pixel_ctx pc;
    sp_pixel_ctx_init(&pc, seed, type, key, copy, notes);
    int rc = sp_options_check_ranges(d->options, o, err);
    if (rc == SP_OK && sp_pixel_applies(d, 1.0, SP_APPLY_ALL, &pc)) rc = d->process(o, img, &pc, err);
    sp_options_free(d->options, o);
    free(o);
    return rc;
}

static void apply_ok(const char *type, const char *const *opts, sp_image *img)
{
    sp_error err;
    sp_error_clear(&err);
    int rc = run_stage(type, opts, img, 7, "a/b.jpg", 1, NULL, &err);
    if (rc != SP_OK) fail_msg("%s: %s", type, err.msg);
}

static void test_invert_twice_is_identity(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    for (uint32_t ch = 1; ch <= 4; ch++) {
        if (ch == 2) continue;
        sp_image img = {0}, orig = {0};
        make_image(&img, 37, 23, ch, &seed);
        copy_image(&img, &orig);
        apply_ok("invert", NULL, &img);
        assert_false(same_pixels(&img, &orig));
        assert_int_equal(img.data[0], 255 - orig.data[0]);
        if (ch == 4) assert_int_equal(img.data[3], orig.data[3]); /* alpha kept */
        apply_ok("invert", NULL, &img);
        assert_true(same_pixels(&img, &orig));
        sp_image_release(&img);
        sp_image_release(&orig);
    }
}

static void test_posterize_8_is_identity(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    sp_image img = {0}, orig = {0};
    make_image(&img, 41, 19, 3, &seed);
    copy_image(&img, &orig);
    const char *const eight[] = {"bits=8", NULL};
    apply_ok("posterize", eight, &img);
    assert_true(same_pixels(&img, &orig));
    const char *const two[] = {"bits=2", NULL};
    apply_ok("posterize", two, &img);
    for (size_t i = 0; i < (size_t)img.height * img.stride; i++) {
        assert_int_equal(img.data[i] & 0x3f, 0);
        assert_int_equal(img.data[i], orig.data[i] & 0xc0);
    }
    sp_image_release(&img);
    sp_image_release(&orig);
}

static void test_grayscale_is_gray(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    sp_image img = {0};
    make_image(&img, 31, 17, 3, &seed);
    img.data[0] = 255, img.data[1] = 0, img.data[2] = 0; /* pure red: luma 76 */
    const char *const three[] = {"channels=3", NULL};
    apply_ok("grayscale", three, &img);
    assert_int_equal(img.channels, 3);
    for (uint32_t y = 0; y < img.height; y++)
        for (uint32_t x = 0; x < img.width; x++) {
            const uint8_t *p = img.data + (size_t)y * img.stride + (size_t)x * 3;
            assert_int_equal(p[0], p[1]);
            assert_int_equal(p[1], p[2]);
        }
    assert_int_equal(img.data[0], 76); /* 255 * 19595 / 65536, rounded */
    sp_image rgba = {0};
    make_image(&rgba, 9, 5, 4, &seed);
    uint8_t alpha = rgba.data[4 * 3 + 3];
    apply_ok("grayscale", three, &rgba);
    assert_int_equal(rgba.channels, 4);
    assert_int_equal(rgba.data[4 * 3 + 3], alpha);
    const char *const one[] = {"channels=1", NULL};
    apply_ok("grayscale", one, &img);
    assert_int_equal(img.channels, 1);
    assert_int_equal(img.data[0], 76);
    sp_image_release(&img);
    sp_image_release(&rgba);
}

/* Levels occupied and spread (standard deviation of the values). */
static void histogram_stats(const sp_image *img, unsigned *levels, double *spread)
{
    uint64_t h[256] = {0};
    double sum = 0, sq = 0, n = 0;
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = 0; x < img->width; x++) {
            uint8_t v = img->data[(size_t)y * img->stride + x];
            h[v]++;
            sum += v, sq += (double)v * v, n++;
        }
    *levels = 0;
    for (int i = 0; i < 256; i++) *levels += h[i] != 0;
    *spread = sqrt(sq / n - (sum / n) * (sum / n));
}

static void test_equalize_spreads_histogram(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    sp_image img = {0};
    assert_int_equal(sp_image_alloc(&img, 64, 64, 1), SP_OK);
    /* A low-contrast image: 40 levels bunched in 100..139. */
    for (size_t i = 0; i < 64 * 64; i++) img.data[i] = (uint8_t)(100 + rand_r(&seed) % 40);
    unsigned levels_before, levels_after;
    double spread_before, spread_after;
    histogram_stats(&img, &levels_before, &spread_before);
    apply_ok("equalize", NULL, &img);
    histogram_stats(&img, &levels_after, &spread_after);
    uint8_t lo = 255, hi = 0;
    for (size_t i = 0; i < 64 * 64; i++) {
        if (img.data[i] < lo) lo = img.data[i];
        if (img.data[i] > hi) hi = img.data[i];
    }
    print_message("equalize: spread %.1f -> %.1f, range %u..%u\n", spread_before, spread_after,
                  lo, hi);
    /* A monotone map: levels may merge (a sparse first level maps to 0 with the next) but
     * never multiply. */
    assert_true(levels_after <= levels_before && levels_after >= levels_before - 2);
    assert_true(lo <= 10 && hi >= 240);
    assert_true(spread_after > 5 * spread_before);
    sp_image_release(&img);
}

static void test_noise_sigma_zero_is_identity(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    sp_image img = {0}, orig = {0};
    make_image(&img, 50, 30, 3, &seed);
    copy_image(&img, &orig);
    const char *const zero[] = {"sigma_min=0", "sigma_max=0", NULL};
    apply_ok("noise", zero, &img);
    assert_true(same_pixels(&img, &orig));
    const char *const some[] = {"sigma_min=5", "sigma_max=5", NULL};
    apply_ok("noise", some, &img);
    assert_false(same_pixels(&img, &orig));
    sp_image_release(&img);
    sp_image_release(&orig);
}

/* Every random stage: the same (seed, key, copy) gives the same bytes and notes; another
 * copy, key or seed gives other bytes. */
static void test_draws_follow_seed_key_copy(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    static const char *const jitter[] = {"hue=0.2", NULL};
    static const char *const erase_random[] = {"fill=random", NULL};
    static const char *const jpeg_range[] = {"quality_min=10", "quality_max=95", NULL};
    static const char *const blur_range[] = {"sigma_min=0.5", "sigma_max=3", NULL};
    static const char *const hue_range[] = {"shift_min=-0.5", "shift_max=0.5", NULL};
    static const char *const gamma_range[] = {"gamma_min=0.5", "gamma_max=2", NULL};
    static const struct {
        const char *type;
        const char *const *opts;
    } cases[] = {
        {"color_jitter", jitter}, {"brightness", NULL}, {"contrast", NULL},
        {"saturation", NULL},     {"hue", hue_range},   {"gamma", gamma_range},
        {"noise", NULL},          {"blur", blur_range},       {"sharpen", NULL},
        {"jpeg", jpeg_range},     {"erase", NULL},      {"erase", erase_random},
    };
    sp_image orig = {0};
    make_image(&orig, 64, 48, 3, &seed);
    for (size_t i = 0; i < SP_ARRAY_LEN(cases); i++) {
        sp_image a = {0}, b = {0}, other = {0};
        sp_buf na = {0}, nb = {0};
        sp_error err;
        copy_image(&orig, &a);
        copy_image(&orig, &b);
        assert_int_equal(run_stage(cases[i].type, cases[i].opts, &a, 11, "x/1.jpg", 2, &na, &err),
                         SP_OK);
        assert_int_equal(run_stage(cases[i].type, cases[i].opts, &b, 11, "x/1.jpg", 2, &nb, &err),
                         SP_OK);
        if (!same_pixels(&a, &b) || na.len != nb.len || memcmp(na.data, nb.data, na.len))
            fail_msg("%s: same (seed, key, copy) gave different results", cases[i].type);
        /* Another copy, key or seed: different parameters, so (with these ranges) different
         * pixels. Several tries guard against one unlucky equal draw. */
        static const struct {
            uint64_t seed;
            const char *key;
            uint32_t copy;
        } others[] = {{11, "x/1.jpg", 3}, {11, "x/2.jpg", 2}, {12, "x/1.jpg", 2}};
        for (size_t k = 0; k < SP_ARRAY_LEN(others); k++) {
            copy_image(&orig, &other);
            assert_int_equal(run_stage(cases[i].type, cases[i].opts, &other, others[k].seed,
                                       others[k].key, others[k].copy, NULL, &err),
                             SP_OK);
            if (same_pixels(&a, &other))
                fail_msg("%s: seed %llu key %s copy %u gave the same pixels as copy 2",
                         cases[i].type, (unsigned long long)others[k].seed, others[k].key,
                         others[k].copy);
            sp_image_release(&other);
        }
        print_message("%s: %.*s\n", cases[i].type, (int)na.len, na.data ? na.data : "");
        sp_buf_free(&na);
        sp_buf_free(&nb);
        sp_image_release(&a);
        sp_image_release(&b);
    }
    sp_image_release(&orig);
}

/* A fixed factor gives the same pixels for every record, whatever its key or copy. */
static void test_fixed_ranges_are_deterministic(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    const char *const fixed[] = {"factor_min=1.3", "factor_max=1.3", NULL};
    sp_image orig = {0};
    make_image(&orig, 20, 20, 3, &seed);
    sp_image first = {0};
    copy_image(&orig, &first);
    sp_error err;
    assert_int_equal(run_stage("contrast", fixed, &first, 1, "k0", 1, NULL, &err), SP_OK);
    for (uint32_t c = 2; c < 6; c++) {
        sp_image img = {0};
        copy_image(&orig, &img);
        char key[16];
        snprintf(key, sizeof(key), "k%u", c);
        assert_int_equal(run_stage("contrast", fixed, &img, c, key, c, NULL, &err), SP_OK);
        assert_true(same_pixels(&img, &first));
        sp_image_release(&img);
    }
    /* color_jitter with every amount 0 is the identity. */
    const char *const none[] = {"brightness=0", "contrast=0", "saturation=0", "hue=0", NULL};
    sp_image img = {0};
    copy_image(&orig, &img);
    apply_ok("color_jitter", none, &img);
    assert_true(same_pixels(&img, &orig));
    sp_image_release(&img);
    sp_image_release(&first);
    sp_image_release(&orig);
}

/* Alpha is never changed, by any colour stage. */
static void test_alpha_kept(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    static const char *const all[] = {
        "color_jitter", "brightness", "contrast", "saturation", "hue",     "gamma",
        "autocontrast", "equalize",   "posterize", "solarize",  "invert",  "noise",
        "blur",         "sharpen",    "jpeg",      "erase",     "grayscale",
    };
    /* Ranges that surely change something (a tiny blur or hue shift might not). */
    const char *const big[] = {"scale_min=0.5", "scale_max=0.6", NULL};
    const char *const blur[] = {"sigma_min=1.5", "sigma_max=2", NULL};
    const char *const hue[] = {"shift_min=0.2", "shift_max=0.3", NULL};
    for (size_t i = 0; i < SP_ARRAY_LEN(all); i++) {
        sp_image img = {0}, orig = {0};
        make_image(&img, 33, 27, 4, &seed);
        copy_image(&img, &orig);
        const char *const *opts = !strcmp(all[i], "erase") ? big
                                  : !strcmp(all[i], "blur") ? blur
                                  : !strcmp(all[i], "hue")  ? hue
                                                            : NULL;
        apply_ok(all[i], opts, &img);
        assert_int_equal(img.channels, 4);
        bool colour_changed = false;
        for (size_t p = 0; p < (size_t)33 * 27; p++) {
            if (img.data[4 * p + 3] != orig.data[4 * p + 3])
                fail_msg("%s changed alpha at pixel %zu", all[i], p);
            colour_changed |= memcmp(img.data + 4 * p, orig.data + 4 * p, 3) != 0;
        }
        if (!colour_changed) fail_msg("%s changed no colour", all[i]);
        sp_image_release(&img);
        sp_image_release(&orig);
    }
}

/* 1x1, 2x2 and 1-row images through every stage: no crash, size kept. */
static void test_tiny_images(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    static const char *const all[] = {
        "color_jitter", "brightness", "contrast", "saturation", "hue",    "gamma",
        "autocontrast", "equalize",   "posterize", "solarize",  "invert", "noise",
        "blur",         "sharpen",    "jpeg",      "erase",     "grayscale",
    };
    const char *const wide_blur[] = {"sigma_min=20", "sigma_max=20", NULL};
    const uint32_t sizes[][2] = {{1, 1}, {2, 2}, {5, 1}, {1, 7}};
    for (size_t s = 0; s < SP_ARRAY_LEN(sizes); s++)
        for (size_t i = 0; i < SP_ARRAY_LEN(all); i++)
            for (uint32_t ch = 1; ch <= 4; ch += 2) {
                sp_image img = {0};
                make_image(&img, sizes[s][0], sizes[s][1], ch, &seed);
                apply_ok(all[i], strcmp(all[i], "blur") ? NULL : wide_blur, &img);
                assert_int_equal(img.width, sizes[s][0]);
                assert_int_equal(img.height, sizes[s][1]);
                sp_image_release(&img);
            }
}

static void test_blur_keeps_constant_image(void **state)
{
    (void)state;
    sp_image img = {0};
    assert_int_equal(sp_image_alloc(&img, 40, 30, 3), SP_OK);
    memset(img.data, 173, (size_t)img.height * img.stride);
    const char *const opts[] = {"sigma_min=3.7", "sigma_max=3.7", NULL};
    apply_ok("blur", opts, &img);
    for (size_t i = 0; i < (size_t)img.height * img.stride; i++)
        assert_int_equal(img.data[i], 173);
    /* A single bright pixel spreads symmetrically. */
    memset(img.data, 0, (size_t)img.height * img.stride);
    img.data[15 * img.stride + 20 * 3] = 255;
    const char *const one[] = {"sigma_min=1", "sigma_max=1", NULL};
    apply_ok("blur", one, &img);
    const uint8_t *c = img.data + 15 * img.stride + 20 * 3;
    assert_true(c[0] > 0 && c[0] < 255);
    assert_int_equal(c[-3], c[3]);
    assert_int_equal(c[-(ptrdiff_t)img.stride], c[img.stride]);
    assert_int_equal(c[-3], c[img.stride]);
    assert_int_equal(c[1], 0); /* other channels untouched */
    sp_image_release(&img);
}

static void test_reversed_range_is_refused(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    static const char *const bad_b[] = {"factor_min=1.5", "factor_max=0.5", NULL};
    static const char *const bad_q[] = {"quality_min=90", "quality_max=20", NULL};
    static const char *const bad_s[] = {"scale_min=0.3", "scale_max=0.1", NULL};
    static const char *const bad_n[] = {"sigma_min=3", "sigma_max=1", NULL};
    static const struct {
        const char *type;
        const char *const *opts;
    } cases[] = {{"brightness", bad_b}, {"jpeg", bad_q}, {"erase", bad_s}, {"noise", bad_n}};
    for (size_t i = 0; i < SP_ARRAY_LEN(cases); i++) {
        sp_image img = {0};
        make_image(&img, 8, 8, 3, &seed);
        sp_error err;
        sp_error_clear(&err);
        assert_int_equal(run_stage(cases[i].type, cases[i].opts, &img, 1, "k", 1, NULL, &err),
                         SP_E_CONFIG);
        print_message("%s: %s\n", cases[i].type, err.msg);
        assert_non_null(strstr(err.msg, "is more than"));
        sp_image_release(&img);
    }
}

/* color_jitter notes every drawn parameter, each once (the notes are JSON members). */
static void test_color_jitter_notes(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    sp_image img = {0};
    make_image(&img, 16, 16, 3, &seed);
    const char *const opts[] = {"brightness=0.5", "contrast=0", "saturation=0.2", "hue=0.1",
                                NULL};
    sp_buf notes = {0};
    sp_error err;
    assert_int_equal(run_stage("color_jitter", opts, &img, 3, "k", 1, &notes, &err), SP_OK);
    sp_buf_puts(&notes, "");
    print_message("notes: %s\n", notes.data);
    assert_non_null(strstr(notes.data, "\"order\": \""));
    assert_non_null(strstr(notes.data, "\"brightness\": "));
    assert_non_null(strstr(notes.data, "\"saturation\": "));
    assert_non_null(strstr(notes.data, "\"hue\": "));
    /* contrast is off: neither in the order nor noted. */
    assert_null(strstr(notes.data, "contrast"));
    sp_buf_free(&notes);
    sp_image_release(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invert_twice_is_identity),
        cmocka_unit_test(test_posterize_8_is_identity),
        cmocka_unit_test(test_grayscale_is_gray),
        cmocka_unit_test(test_equalize_spreads_histogram),
        cmocka_unit_test(test_noise_sigma_zero_is_identity),
        cmocka_unit_test(test_draws_follow_seed_key_copy),
        cmocka_unit_test(test_fixed_ranges_are_deterministic),
        cmocka_unit_test(test_alpha_kept),
        cmocka_unit_test(test_tiny_images),
        cmocka_unit_test(test_blur_keeps_constant_image),
        cmocka_unit_test(test_reversed_range_is_refused),
        cmocka_unit_test(test_color_jitter_notes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
