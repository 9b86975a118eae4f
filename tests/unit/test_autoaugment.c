/*
 * Unit tests for the augmentation policies randaugment and trivialaugment
 * (stages/randaugment.c, stages/trivialaugment.c, src/autoaugment.c).
 *
 * Why: a policy hides its choices inside one stage, so a bug (an op never drawn, a sign
 * never flipped, notes that do not say what was done, a draw that depends on something
 * other than (seed, key, copy)) would silently change what a model is trained on. These
 * hold: the magnitude tables are torchvision's; magnitude 0 of every geometric and
 * enhancement op is the identity; each op with a magnitude changes real pixels; the same
 * (seed, key, copy) repeats and other copies differ; exactly num_ops ops are noted and the
 * notes replay to the same pixels; trivialaugment changes images across copies. Images
 * are random (seed printed, SP_TEST_SEED repeats it); draws use fixed seeds.
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

#include "autoaugment.h"
#include "geometry.h"
#include "test_util.h"

/* Smooth structure plus noise, so every op (equalize, autocontrast included) has work. */
static void make_image(sp_image *img, uint32_t w, uint32_t h, uint32_t ch, unsigned *seed)
{
    assert_int_equal(sp_image_alloc(img, w, h, ch), SP_OK);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < ch; c++) {
                unsigned base = (x * (c + 2) + y * 3) % 160 + 40;
                unsigned jitter = (unsigned)rand_r(seed) % 24;
                img->data[(size_t)y * img->stride + (size_t)x * ch + c] =
                    (uint8_t)(base + jitter - 12);
            }
}

/* Runs a policy stage with "key=value" options as a build would (p = 1, apply = all). */
static int run_policy(const char *type, const char *const *opts, sp_image *img, uint64_t seed,
                      const char *key, uint32_t copy, sp_buf *notes, sp_error *err)
{
    const sp_stage_desc *d = sp_stage_desc_by_name(type);
    assert_non_null(d);
    assert_true(d->flags & SP_PIXEL_RANDOM);
    void *o = calloc(1, d->opts_size);
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
    int rc = d->validate ? d->validate(o, err) : SP_OK;
    sp_pixel_ctx pc;
    sp_pixel_ctx_init(&pc, seed, type, key, copy, notes);
    if (rc == SP_OK && sp_pixel_applies(d, 1.0, SP_APPLY_ALL, &pc))
        rc = d->process(o, img, &pc, err);
    sp_options_free(d->options, o);
    free(o);
    return rc;
}

static void policy_ok(const char *type, const char *const *opts, sp_image *img, uint32_t copy,
                      sp_buf *notes)
{
    sp_error err;
    sp_error_clear(&err);
    if (run_policy(type, opts, img, 99, "cls/img_001.jpg", copy, notes, &err) != SP_OK)
        fail_msg("%s: %s", type, err.msg);
}

static sp_aa_op op_by_name(const char *name)
{
    for (int i = 0; i < SP_AA_NOPS; i++)
        if (!strcmp(sp_aa_op_name((sp_aa_op)i), name)) return (sp_aa_op)i;
    fail_msg("unknown op %s", name);
    return SP_AA_NOPS;
}

/* The string value of "name": "value" in notes, into out. */
static bool note_str(const sp_buf *notes, const char *name, char *out, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": \"", name);
    const char *p = notes->len ? strstr(notes->data, pat) : NULL;
    if (!p) return false;
    p += strlen(pat);
    const char *q = strchr(p, '"');
    assert_non_null(q);
    snprintf(out, n, "%.*s", (int)(q - p), p);
    return true;
}

static double note_num(const sp_buf *notes, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": ", name);
    const char *p = notes->len ? strstr(notes->data, pat) : NULL;
    if (!p) fail_msg("no %s in notes: %.*s", name, (int)notes->len, notes->data);
    return strtod(p + strlen(pat), NULL);
}

static void test_magnitude_tables(void **state)
{
    (void)state;
    const sp_aa_space RA = SP_AA_SPACE_RANDAUGMENT, W = SP_AA_SPACE_WIDE;
    /* RandAugment's defaults: magnitude 9 of 31 bins. */
    assert_true(fabs(sp_aa_magnitude(RA, SP_AA_ROTATE, 9, 31, 224, 224) - 9.0) < 1e-12);
    assert_true(fabs(sp_aa_magnitude(RA, SP_AA_SHEAR_X, 9, 31, 224, 224) - 0.09) < 1e-12);
    assert_true(fabs(sp_aa_magnitude(RA, SP_AA_BRIGHTNESS, 9, 31, 224, 224) - 0.27) < 1e-12);
    assert_true(fabs(sp_aa_magnitude(RA, SP_AA_TRANSLATE_X, 30, 31, 331, 100) - 150.0) < 1e-9);
    assert_true(fabs(sp_aa_magnitude(RA, SP_AA_TRANSLATE_Y, 30, 31, 100, 662) - 300.0) < 1e-9);
    assert_true(fabs(sp_aa_magnitude(RA, SP_AA_SOLARIZE, 9, 31, 1, 1) - 178.5) < 1e-9);
    assert_int_equal((int)sp_aa_magnitude(RA, SP_AA_POSTERIZE, 9, 31, 1, 1), 7);
    assert_int_equal((int)sp_aa_magnitude(RA, SP_AA_POSTERIZE, 0, 31, 1, 1), 8);
    assert_int_equal((int)sp_aa_magnitude(RA, SP_AA_POSTERIZE, 30, 31, 1, 1), 4);
    /* The wide space. */
    assert_true(fabs(sp_aa_magnitude(W, SP_AA_ROTATE, 30, 31, 1, 1) - 135.0) < 1e-9);
    assert_true(fabs(sp_aa_magnitude(W, SP_AA_TRANSLATE_X, 30, 31, 1000, 1) - 32.0) < 1e-9);
    assert_true(fabs(sp_aa_magnitude(W, SP_AA_SHARPNESS, 30, 31, 1, 1) - 0.99) < 1e-12);
    assert_int_equal((int)sp_aa_magnitude(W, SP_AA_POSTERIZE, 30, 31, 1, 1), 2);
    assert_int_equal((int)sp_aa_magnitude(W, SP_AA_POSTERIZE, 15, 31, 1, 1), 5);
    /* Which ops are signed and have magnitudes. */
    assert_true(sp_aa_signed(SP_AA_SHEAR_Y) && sp_aa_signed(SP_AA_SHARPNESS));
    assert_false(sp_aa_signed(SP_AA_POSTERIZE) || sp_aa_signed(SP_AA_SOLARIZE));
    assert_false(sp_aa_has_magnitude(SP_AA_EQUALIZE) || sp_aa_has_magnitude(SP_AA_IDENTITY));
}

static void test_magnitude_zero_is_identity(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    const sp_aa_op ops[] = {SP_AA_IDENTITY,    SP_AA_SHEAR_X,  SP_AA_SHEAR_Y,    SP_AA_TRANSLATE_X,
                            SP_AA_TRANSLATE_Y, SP_AA_ROTATE,   SP_AA_BRIGHTNESS, SP_AA_COLOR,
                            SP_AA_CONTRAST,    SP_AA_SHARPNESS};
    for (size_t i = 0; i < SP_ARRAY_LEN(ops); i++) {
        for (int sp = 0; sp < 2; sp++)
            assert_true(sp_aa_magnitude((sp_aa_space)sp, ops[i], 0, 31, 64, 48) == 0.0);
        sp_image img = {0}, orig = {0};
        make_image(&img, 45, 31, 3, &seed);
        copy_image(&img, &orig);
        sp_pixel_ctx pc;
        sp_pixel_ctx_init(&pc, 1, "randaugment", "k", 1, NULL);
        sp_error err;
        sp_error_clear(&err);
        assert_int_equal(sp_aa_apply(ops[i], 0.0, 0, &img, &pc, &err), SP_OK);
        if (!same_pixels(&img, &orig))
            fail_msg("%s at magnitude 0 changed the image", sp_aa_op_name(ops[i]));
        sp_image_release(&img);
        sp_image_release(&orig);
    }
}

static void test_every_op_changes_pixels(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    for (int op = 0; op < SP_AA_NOPS; op++) {
        if (op == SP_AA_IDENTITY) continue;
        sp_image img = {0}, orig = {0};
        make_image(&img, 50, 40, 3, &seed);
        copy_image(&img, &orig);
        double mag = sp_aa_magnitude(SP_AA_SPACE_WIDE, (sp_aa_op)op, 20, 31, 50, 40);
        sp_pixel_ctx pc;
        sp_pixel_ctx_init(&pc, 1, "trivialaugment", "k", 1, NULL);
        sp_error err;
        sp_error_clear(&err);
        assert_int_equal(sp_aa_apply((sp_aa_op)op, mag, 0, &img, &pc, &err), SP_OK);
        assert_int_equal(img.width, 50);
        assert_int_equal(img.height, 40);
        if (same_pixels(&img, &orig))
            fail_msg("%s (magnitude %g) left the image as it was", sp_aa_op_name((sp_aa_op)op),
                     mag);
        sp_image_release(&img);
        sp_image_release(&orig);
    }
}

/* A shift by whole pixels moves pixels exactly: TranslateX by +5 puts column x at x + 5
 * and fills the first five columns. */
static void test_translate_moves_pixels(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    sp_image img = {0}, orig = {0};
    make_image(&img, 40, 20, 3, &seed);
    copy_image(&img, &orig);
    sp_pixel_ctx pc;
    sp_pixel_ctx_init(&pc, 1, "randaugment", "k", 1, NULL);
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_aa_apply(SP_AA_TRANSLATE_X, 5.7, 200, &img, &pc, &err), SP_OK);
    for (uint32_t y = 0; y < 20; y++)
        for (uint32_t x = 0; x < 40; x++)
            for (uint32_t c = 0; c < 3; c++) {
                uint8_t got = img.data[y * img.stride + x * 3 + c];
                uint8_t want = x < 5 ? 200 : orig.data[y * orig.stride + (x - 5) * 3 + c];
                assert_int_equal(got, want);
            }
    sp_image_release(&img);
    sp_image_release(&orig);
}

/* The shears are torchvision's: about the top-left corner, x_in = x + m y (ShearX) and
 * y_in = m x + y (ShearY), the matrix torchvision hands to Pillow's transform. Within one
 * level (tan(atan(m)) is m only to the last bit). */
static void test_shear_matrix(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    for (int axis = 0; axis < 2; axis++)
        for (int sign = -1; sign <= 1; sign += 2) {
            const double m = 0.27 * sign;
            sp_image img = {0}, want = {0};
            make_image(&img, 41, 33, 3, &seed);
            const double mat[8] = {1, axis == 0 ? m : 0, 0, axis == 1 ? m : 0, 1, 0, 0, 0};
            sp_error err;
            sp_error_clear(&err);
            assert_int_equal(sp_warp(&img, 41, 33, mat, SP_BORDER_CONSTANT, 7, &want, &err), SP_OK);
            sp_pixel_ctx pc;
            sp_pixel_ctx_init(&pc, 1, "randaugment", "k", 1, NULL);
            assert_int_equal(
                sp_aa_apply(axis ? SP_AA_SHEAR_Y : SP_AA_SHEAR_X, m, 7, &img, &pc, &err), SP_OK);
            for (uint32_t y = 0; y < 33; y++)
                for (uint32_t i = 0; i < 41 * 3; i++) {
                    int d = (int)img.data[y * img.stride + i] - want.data[y * want.stride + i];
                    if (d < -1 || d > 1)
                        fail_msg("shear %s %g: (%u, %u) is %d off", axis ? "y" : "x", m, i / 3, y,
                                 d);
                }
            sp_image_release(&img);
            sp_image_release(&want);
        }
}

static void test_same_copy_repeats_other_copies_differ(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    const char *types[] = {"randaugment", "trivialaugment"};
    for (size_t t = 0; t < 2; t++) {
        sp_image orig = {0};
        make_image(&orig, 48, 36, 3, &seed);
        sp_image a = {0}, b = {0};
        sp_buf na = {0}, nb = {0};
        copy_image(&orig, &a);
        copy_image(&orig, &b);
        policy_ok(types[t], NULL, &a, 3, &na);
        policy_ok(types[t], NULL, &b, 3, &nb);
        assert_true(same_pixels(&a, &b));
        assert_int_equal(na.len, nb.len);
        assert_memory_equal(na.data, nb.data, na.len);
        /* Other copies draw other ops: the notes of copies 1..8 are not all the same. */
        size_t distinct = 0;
        char first[512] = "";
        for (uint32_t copy = 1; copy <= 8; copy++) {
            sp_image c = {0};
            sp_buf nc = {0};
            copy_image(&orig, &c);
            policy_ok(types[t], NULL, &c, copy, &nc);
            if (copy == 1)
                snprintf(first, sizeof(first), "%.*s", (int)nc.len, nc.data);
            else if (strncmp(first, nc.data, nc.len) || strlen(first) != nc.len)
                distinct++;
            sp_buf_free(&nc);
            sp_image_release(&c);
        }
        if (distinct < 4)
            fail_msg("%s: only %zu of 7 copies drew differently from copy 1", types[t], distinct);
        sp_buf_free(&na);
        sp_buf_free(&nb);
        sp_image_release(&a);
        sp_image_release(&b);
        sp_image_release(&orig);
    }
}

/* num_ops ops are noted, no more; replaying the noted ops on the original gives the same
 * pixels, so the notes say exactly what was done. */
static void test_randaugment_notes_replay(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    const char *nops[] = {"0", "1", "2", "3", "5"};
    for (size_t k = 0; k < SP_ARRAY_LEN(nops); k++) {
        const int n = atoi(nops[k]);
        for (uint32_t copy = 1; copy <= 6; copy++) {
            char o1[32];
            snprintf(o1, sizeof(o1), "num_ops=%s", nops[k]);
            const char *opts[] = {o1, "magnitude=14", NULL};
            sp_image img = {0}, orig = {0};
            make_image(&img, 40, 30, 3, &seed);
            copy_image(&img, &orig);
            sp_buf notes = {0};
            policy_ok("randaugment", opts, &img, copy, &notes);
            sp_pixel_ctx pc;
            sp_pixel_ctx_init(&pc, 5, "replay", "k", copy, NULL);
            for (int i = 1; i <= n; i++) {
                char name[32], opname[32];
                snprintf(name, sizeof(name), "op%d", i);
                if (!note_str(&notes, name, opname, sizeof(opname)))
                    fail_msg("num_ops = %d but no %s in %.*s", n, name, (int)notes.len, notes.data);
                snprintf(name, sizeof(name), "magnitude%d", i);
                double mag = note_num(&notes, name);
                sp_aa_op op = op_by_name(opname);
                /* The magnitude is bin 14 of the op's range, with either sign. */
                double want = sp_aa_magnitude(SP_AA_SPACE_RANDAUGMENT, op, 14, 31, 40, 30);
                assert_true(fabs(fabs(mag) - want) < 1e-6 * (1 + want));
                sp_error err;
                sp_error_clear(&err);
                assert_int_equal(sp_aa_apply(op, mag, 0, &orig, &pc, &err), SP_OK);
            }
            char name[32], opname[32];
            snprintf(name, sizeof(name), "op%d", n + 1);
            assert_false(note_str(&notes, name, opname, sizeof(opname)));
            if (!same_pixels(&img, &orig))
                fail_msg("copy %u: the noted ops do not give the stage's pixels: %.*s", copy,
                         (int)notes.len, notes.data);
            sp_buf_free(&notes);
            sp_image_release(&img);
            sp_image_release(&orig);
        }
    }
}

/* Signs are drawn: over many copies, a signed op shows up both ways. */
static void test_signs_drawn(void **state)
{
    (void)state;
    bool pos = false, neg = false;
    for (uint32_t copy = 1; copy <= 200 && !(pos && neg); copy++) {
        sp_image img = {0};
        assert_int_equal(sp_image_alloc(&img, 16, 16, 3), SP_OK);
        memset(img.data, 100, img.stride * 16);
        sp_buf notes = {0};
        policy_ok("trivialaugment", NULL, &img, copy, &notes);
        char op[32];
        assert_true(note_str(&notes, "op", op, sizeof(op)));
        if (sp_aa_signed(op_by_name(op))) {
            double m = note_num(&notes, "magnitude");
            pos |= m > 0;
            neg |= m < 0;
        }
        sp_buf_free(&notes);
        sp_image_release(&img);
    }
    assert_true(pos && neg);
}

/* trivialaugment acts on real pixels: across copies, most records change, and the op
 * and bin noted are in range; every op is drawn somewhere. */
static void test_trivialaugment_changes_images(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    sp_image orig = {0};
    make_image(&orig, 40, 32, 3, &seed);
    int changed = 0, seen[SP_AA_NOPS] = {0};
    const int N = 300;
    for (uint32_t copy = 1; copy <= (uint32_t)N; copy++) {
        sp_image img = {0};
        sp_buf notes = {0};
        copy_image(&orig, &img);
        policy_ok("trivialaugment", NULL, &img, copy, &notes);
        char op[32];
        assert_true(note_str(&notes, "op", op, sizeof(op)));
        seen[op_by_name(op)]++;
        double bin = note_num(&notes, "bin");
        assert_true(bin >= 0 && bin <= 30);
        changed += !same_pixels(&img, &orig);
        sp_buf_free(&notes);
        sp_image_release(&img);
    }
    for (int i = 0; i < SP_AA_NOPS; i++)
        if (!seen[i]) fail_msg("%s never drawn in %d copies", sp_aa_op_name((sp_aa_op)i), N);
    /* Identity and the bin-0 magnitudes (1 in 31) leave images alone: well under a fifth. */
    assert_true(changed > N * 4 / 5);
    sp_image_release(&orig);
}

static void test_copy0_plain_by_default(void **state)
{
    (void)state;
    /* The config adds p and apply to random stages; apply defaults to copies, so a
     * build leaves copy 0 alone. */
    const sp_stage_desc *d = sp_stage_desc_by_name("randaugment");
    sp_pixel_ctx pc;
    sp_pixel_ctx_init(&pc, 1, "randaugment", "k", 0, NULL);
    assert_false(sp_pixel_applies(d, 1.0, SP_APPLY_COPIES, &pc));
    sp_pixel_ctx_init(&pc, 1, "randaugment", "k", 1, NULL);
    assert_true(sp_pixel_applies(d, 1.0, SP_APPLY_COPIES, &pc));
    const sp_option *apply = sp_option_find(sp_random_options, "apply");
    assert_non_null(apply);
    assert_string_equal(apply->def, "copies");
}

static void test_magnitude_beyond_bins_refused(void **state)
{
    (void)state;
    sp_image img = {0};
    assert_int_equal(sp_image_alloc(&img, 8, 8, 3), SP_OK);
    memset(img.data, 0, img.stride * 8);
    sp_error err;
    sp_error_clear(&err);
    const char *opts[] = {"magnitude=10", "num_magnitude_bins=10", NULL};
    assert_int_equal(run_policy("randaugment", opts, &img, 1, "k", 1, NULL, &err), SP_E_CONFIG);
    assert_non_null(strstr(err.msg, "num_magnitude_bins"));
    sp_image_release(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_magnitude_tables),
        cmocka_unit_test(test_magnitude_zero_is_identity),
        cmocka_unit_test(test_every_op_changes_pixels),
        cmocka_unit_test(test_translate_moves_pixels),
        cmocka_unit_test(test_shear_matrix),
        cmocka_unit_test(test_same_copy_repeats_other_copies_differ),
        cmocka_unit_test(test_randaugment_notes_replay),
        cmocka_unit_test(test_signs_drawn),
        cmocka_unit_test(test_trivialaugment_changes_images),
        cmocka_unit_test(test_copy0_plain_by_default),
        cmocka_unit_test(test_magnitude_beyond_bins_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
