/*
 * Unit tests for the geometry stages (stages/pad.c, hflip.c, vflip.c, rot90.c, rotate.c,
 * random_crop.c, random_resized_crop.c, affine.c, perspective.c, resize.c's modes) and
 * their helpers (src/geometry.c).
 *
 * Why: these stages move every pixel of every augmented record, and a mistake in one
 * (a flipped axis, an off-by-one centre, a box outside the image, a draw that ignores p)
 * silently damages a dataset instead of crashing. The tests hold properties that any
 * correct implementation has, on real pixel data: flips and quarter turns are exact and
 * invert; the any-angle rotation at 90 degrees agrees with the exact quarter turn; zero
 * distortion is the identity; random boxes stay inside torchvision's bounds over many
 * draws; fit letterboxes where Pillow's ImageOps.pad does; p = 0 never acts and p = 1
 * always does. Pixel-level agreement with Pillow is checked separately
 * (tests/compat/check_geometry_pillow.py).
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

#include "geometry.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* A w × h image with distinct, position-dependent values in every channel, so a pixel
 * moved to the wrong place is seen. */
static sp_image pattern(uint32_t w, uint32_t h, uint32_t ch)
{
    sp_image img = {0};
    assert_int_equal(sp_image_alloc(&img, w, h, ch), SP_OK);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < ch; c++)
                img.data[(size_t)y * img.stride + (size_t)x * ch + c] =
                    (uint8_t)(x * 7 + y * 13 + c * 101 + (x * y) % 31);
    return img;
}

/* A smooth image: bilinear sampling of it is close to the underlying function. */
static sp_image smooth(uint32_t w, uint32_t h, uint32_t ch)
{
    sp_image img = {0};
    assert_int_equal(sp_image_alloc(&img, w, h, ch), SP_OK);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < ch; c++)
                img.data[(size_t)y * img.stride + (size_t)x * ch + c] = (uint8_t)(
                    128 + 90 * sin(x / 9.0 + c) * cos(y / 13.0));
    return img;
}

static sp_image clone(const sp_image *src)
{
    sp_image out = {0};
    sp_error err;
    assert_int_equal(sp_image_copy_box(src, 0, 0, src->width, src->height, &out, &err), SP_OK);
    return out;
}

static void assert_same(const sp_image *a, const sp_image *b)
{
    assert_int_equal(a->width, b->width);
    assert_int_equal(a->height, b->height);
    assert_int_equal(a->channels, b->channels);
    for (uint32_t y = 0; y < a->height; y++)
        assert_memory_equal(a->data + (size_t)y * a->stride, b->data + (size_t)y * b->stride,
                            (size_t)a->width * a->channels);
}

static const sp_stage_desc *desc(const char *name)
{
    const sp_stage_desc *d = sp_stage_desc_by_name(name);
    assert_non_null(d);
    return d;
}

/* The stage's options: defaults, then "key=value" strings through its own table. */
static void *make_opts(const sp_stage_desc *d, const char *const *kv)
{
    void *opts = calloc(1, d->opts_size ? d->opts_size : 1);
    sp_error err;
    sp_error_clear(&err);
    assert_non_null(opts);
    assert_int_equal(sp_options_defaults(d->options, opts, &err), SP_OK);
    for (size_t i = 0; kv && kv[i]; i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", kv[i]);
        char *eq = strchr(buf, '=');
        assert_non_null(eq);
        *eq = '\0';
        const sp_option *o = sp_option_find(d->options, buf);
        if (!o) fail_msg("%s has no option %s", d->name, buf);
        if (sp_option_parse(o, opts, eq + 1, &err) != SP_OK) fail_msg("%s", err.msg);
    }
    return opts;
}

/* Runs a stage on img as a build would once it decided the stage applies; the drawn
 * parameters land in notes (if non-NULL). */
static void run(const char *name, sp_image *img, const char *const *kv, const char *key,
                uint32_t copy, sp_buf *notes)
{
    const sp_stage_desc *d = desc(name);
    void *opts = make_opts(d, kv);
    sp_pixel_ctx pc;
    sp_pixel_ctx_init(&pc, 42, name, key ? key : "a/b.png", copy, notes);
    sp_error err;
    sp_error_clear(&err);
    if (d->process(opts, img, &pc, &err) != SP_OK) fail_msg("%s: %s", name, err.msg);
    sp_options_free(d->options, opts);
    free(opts);
}

static double note(const sp_buf *notes, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": ", name);
    assert_non_null(notes->data);
    const char *p = strstr(notes->data, pat);
    if (!p) fail_msg("no %s in %.*s", name, (int)notes->len, notes->data);
    return strtod(p + strlen(pat), NULL);
}

/* ---- exact moves -------------------------------------------------------------------- */

static void test_hflip_twice_is_identity(void **state)
{
    (void)state;
    const uint32_t chans[] = {1, 3, 4};
    for (size_t i = 0; i < 3; i++) {
        sp_image img = pattern(37, 11, chans[i]), orig = clone(&img);
        run("hflip", &img, NULL, NULL, 0, NULL);
        /* once: the first column is the last one of the original */
        assert_memory_equal(img.data, orig.data + 36 * chans[i], chans[i]);
        assert_memory_not_equal(img.data, orig.data, (size_t)37 * chans[i]);
        run("hflip", &img, NULL, NULL, 0, NULL);
        assert_same(&img, &orig);
        sp_image_release(&img);
        sp_image_release(&orig);
    }
}

static void test_vflip_twice_is_identity(void **state)
{
    (void)state;
    sp_image img = pattern(20, 9, 3), orig = clone(&img);
    run("vflip", &img, NULL, NULL, 0, NULL);
    assert_memory_equal(img.data, orig.data + 8 * orig.stride, 60);
    run("vflip", &img, NULL, NULL, 0, NULL);
    assert_same(&img, &orig);
    sp_image_release(&img);
    sp_image_release(&orig);
}

static void test_rot90_four_times_is_identity(void **state)
{
    (void)state;
    const uint32_t chans[] = {1, 3, 4};
    for (size_t i = 0; i < 3; i++) {
        /* Larger than one 64-pixel tile, and not square. */
        sp_image img = pattern(131, 70, chans[i]), orig = clone(&img);
        const char *const k90[] = {"k=90", NULL};
        run("rot90", &img, k90, NULL, 0, NULL);
        assert_int_equal(img.width, 70);
        assert_int_equal(img.height, 131);
        /* Counter-clockwise: the top-right corner comes to the top-left. */
        assert_memory_equal(img.data, orig.data + 130 * chans[i], chans[i]);
        for (int k = 0; k < 3; k++) run("rot90", &img, k90, NULL, 0, NULL);
        assert_same(&img, &orig);
        /* 90 then 270, and 180 twice, also come back. */
        const char *const k270[] = {"k=270", NULL}, *const k180[] = {"k=180", NULL};
        run("rot90", &img, k90, NULL, 0, NULL);
        run("rot90", &img, k270, NULL, 0, NULL);
        assert_same(&img, &orig);
        run("rot90", &img, k180, NULL, 0, NULL);
        assert_memory_equal(img.data, orig.data + 69 * orig.stride + 130 * chans[i], chans[i]);
        run("rot90", &img, k180, NULL, 0, NULL);
        assert_same(&img, &orig);
        sp_image_release(&img);
        sp_image_release(&orig);
    }
}

static void test_rot90_random_draws_every_turn(void **state)
{
    (void)state;
    int seen[4] = {0};
    for (int i = 0; i < 300; i++) {
        char key[32];
        snprintf(key, sizeof(key), "img%d.png", i);
        sp_image img = pattern(5, 3, 1);
        sp_buf notes = {0};
        run("rot90", &img, NULL, key, 1, &notes);
        int k = (int)note(&notes, "angle") / 90;
        assert_true(k >= 1 && k <= 3);
        assert_int_equal(img.width, k == 2 ? 5 : 3);
        seen[k]++;
        sp_buf_free(&notes);
        sp_image_release(&img);
    }
    for (int k = 1; k <= 3; k++) assert_true(seen[k] > 60); /* ~100 each */
}

static void test_padded_stride(void **state)
{
    (void)state;
    /* A window of a bigger image has a stride wider than its rows: every helper must
     * honour it. */
    sp_image big = pattern(50, 40, 3);
    sp_image win = sp_image_window(&big, 5, 7, 21, 13), out = {0}, ref = {0};
    sp_error err;
    assert_int_equal(sp_image_copy_box(&win, 0, 0, 21, 13, &ref, &err), SP_OK);
    assert_int_equal(sp_quarter_turn(&win, 1, &out, &err), SP_OK);
    sp_image back = {0};
    assert_int_equal(sp_quarter_turn(&out, 3, &back, &err), SP_OK);
    assert_same(&back, &ref);
    assert_int_equal(sp_pad_image(&win, 2, 3, 4, 5, SP_BORDER_REFLECT, 0, &out, &err), SP_OK);
    assert_int_equal(out.width, 27);
    assert_int_equal(out.height, 21);
    sp_image inner = sp_image_window(&out, 2, 3, 21, 13);
    assert_same(&inner, &ref);
    /* reflect: the column left of the edge is the image's second column */
    assert_memory_equal(out.data + 3 * out.stride + 1 * 3, ref.data + 1 * 3, 3);
    sp_image_release(&big);
    sp_image_release(&out);
    sp_image_release(&ref);
    sp_image_release(&back);
}

static void test_border_index(void **state)
{
    (void)state;
    /* n = 4: a b c d */
    const int64_t reflect[] = {3, 2, 1, 0, 1, 2, 3, 2, 1, 0}; /* i = -3 .. 6 */
    const int64_t symmetric[] = {2, 1, 0, 0, 1, 2, 3, 3, 2, 1};
    const int64_t edge[] = {0, 0, 0, 0, 1, 2, 3, 3, 3, 3};
    for (int i = -3; i <= 6; i++) {
        assert_int_equal(sp_border_index(i, 4, SP_BORDER_REFLECT), reflect[i + 3]);
        assert_int_equal(sp_border_index(i, 4, SP_BORDER_SYMMETRIC), symmetric[i + 3]);
        assert_int_equal(sp_border_index(i, 4, SP_BORDER_EDGE), edge[i + 3]);
    }
    /* far away and one-pixel axes stay inside */
    for (int64_t i = -1000; i < 1000; i += 7) {
        int64_t r = sp_border_index(i, 5, SP_BORDER_REFLECT);
        assert_true(r >= 0 && r < 5);
        assert_int_equal(sp_border_index(i, 1, SP_BORDER_REFLECT), 0);
        assert_int_equal(sp_border_index(i, 1, SP_BORDER_SYMMETRIC), 0);
    }
}

/* ---- warps -------------------------------------------------------------------------- */

static void test_rotate_90_matches_rot90(void **state)
{
    (void)state;
    /* Just off 90 degrees, so the stage takes the bilinear path, not the exact shortcut;
     * on a square image the result must be the quarter turn within a level or two, away
     * from the edges where the fill comes in. */
    sp_image img = smooth(64, 64, 3), turned = clone(&img);
    const char *const a[] = {"min=90.0001", "max=90.0001", NULL};
    run("rotate", &img, a, NULL, 0, NULL);
    const char *const k[] = {"k=90", NULL};
    run("rot90", &turned, k, NULL, 0, NULL);
    int worst = 0;
    for (uint32_t y = 2; y < 62; y++)
        for (uint32_t x = 2 * 3; x < 62 * 3; x++) {
            int d = abs(img.data[y * img.stride + x] - turned.data[y * turned.stride + x]);
            if (d > worst) worst = d;
        }
    assert_true(worst <= 2);
    /* And it did resample: exactly 90 takes the exact path and is identical. */
    sp_image img2 = smooth(64, 64, 3);
    const char *const b[] = {"min=90", "max=90", NULL};
    run("rotate", &img2, b, NULL, 0, NULL);
    assert_same(&img2, &turned);
    sp_image_release(&img);
    sp_image_release(&img2);
    sp_image_release(&turned);
}

static void test_rotate_expand_size(void **state)
{
    (void)state;
    sp_image img = smooth(100, 50, 1);
    const char *const a[] = {"min=45", "max=45", "expand=true", "fill=200", NULL};
    run("rotate", &img, a, NULL, 0, NULL);
    /* Pillow's bounding box, ceil(max) - floor(min) of the turned corners: 108 × 108 (as
     * Image.new("L", (100, 50)).rotate(45, expand=True).size). */
    assert_int_equal(img.width, 108);
    assert_int_equal(img.height, 108);
    assert_int_equal(img.data[0], 200); /* a corner outside the turned image */
    sp_image_release(&img);
}

static void test_identity_warps(void **state)
{
    (void)state;
    /* Zero distortion and an all-zero affine range map every pixel centre onto itself. */
    sp_image img = pattern(33, 21, 3), orig = clone(&img);
    const char *const p0[] = {"distortion_scale=0", NULL};
    run("perspective", &img, p0, NULL, 0, NULL);
    assert_same(&img, &orig);
    const char *const a0[] = {"degrees=0", "translate_x=0", "translate_y=0", "scale_min=1",
                              "scale_max=1", "shear_x=0", "shear_y=0", NULL};
    run("affine", &img, a0, NULL, 0, NULL);
    assert_same(&img, &orig);
    /* A pure shift by whole pixels is exact too: translate 0.5 of 33 = up to 16 px. */
    const char *const t[] = {"degrees=0", "translate_x=0.5", "translate_y=0", "scale_min=1",
                             "scale_max=1", NULL};
    sp_buf notes = {0};
    run("affine", &img, t, "shift.png", 0, &notes);
    int tx = (int)note(&notes, "tx");
    for (uint32_t y = 0; y < 21; y++)
        for (int x = 0; x < 33; x++) {
            int sx = x - tx;
            const uint8_t *o = img.data + y * img.stride + x * 3;
            if (sx >= 0 && sx < 33) assert_memory_equal(o, orig.data + y * orig.stride + sx * 3, 3);
            else assert_true(o[0] == 0 && o[1] == 0 && o[2] == 0);
        }
    sp_buf_free(&notes);
    sp_image_release(&img);
    sp_image_release(&orig);
}

static void test_perspective_corners_in_range(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        char key[32];
        snprintf(key, sizeof(key), "p%d.png", i);
        sp_image img = smooth(80, 60, 1);
        sp_buf notes = {0};
        const char *const d[] = {"distortion_scale=0.5", NULL};
        run("perspective", &img, d, key, 1, &notes);
        /* torchvision: a corner moves in by at most int(0.5 * (side // 2)) = 20, 15 */
        assert_true(note(&notes, "tl_x") >= 0 && note(&notes, "tl_x") <= 20);
        assert_true(note(&notes, "tr_x") >= 59 && note(&notes, "tr_x") <= 79);
        assert_true(note(&notes, "br_y") >= 44 && note(&notes, "br_y") <= 59);
        assert_true(note(&notes, "bl_y") >= 44 && note(&notes, "bl_y") <= 59);
        assert_int_equal(img.width, 80);
        sp_buf_free(&notes);
        sp_image_release(&img);
    }
}

/* ---- random boxes ------------------------------------------------------------------- */

static void test_random_resized_crop_bounds(void **state)
{
    (void)state;
    const uint32_t W = 640, H = 480;
    int fallbacks = 0;
    double sum_area = 0;
    const int n = 2000;
    sp_image base = smooth(W, H, 1);
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof(key), "img%05d.jpg", i);
        sp_image img = clone(&base);
        sp_buf notes = {0};
        const char *const o[] = {"width=32", "height=24", NULL};
        run("random_resized_crop", &img, o, key, 1, &notes);
        assert_int_equal(img.width, 32);
        assert_int_equal(img.height, 24);
        double x = note(&notes, "x"), y = note(&notes, "y"), w = note(&notes, "w"),
               h = note(&notes, "h");
        assert_true(x >= 0 && y >= 0 && w >= 1 && h >= 1 && x + w <= W && y + h <= H);
        if (note(&notes, "try") == 0) {
            fallbacks++;
        } else {
            /* w and h are rounded: the drawn area and ratio hold up to half a pixel. */
            assert_true((w + 0.5) * (h + 0.5) >= 0.08 * W * H);
            assert_true((w - 0.5) * (h - 0.5) <= 1.0 * W * H);
            assert_true((w + 0.5) / (h - 0.5) >= 0.75);
            assert_true((w - 0.5) / (h + 0.5) <= 4.0 / 3.0);
            sum_area += w * h / (W * H);
        }
        sp_buf_free(&notes);
        sp_image_release(&img);
    }
    sp_image_release(&base);
    /* On a 4:3 image nearly every draw fits; the mean area is near (0.08 + 1) / 2 less
     * the large boxes that do not fit. */
    assert_true(fallbacks < n / 50);
    double mean = sum_area / (n - fallbacks);
    assert_true(mean > 0.40 && mean < 0.56);
}

static void test_random_resized_crop_fallback(void **state)
{
    (void)state;
    /* A 100 × 10 strip: no box of ratio 3/4..4/3 and area >= 90% fits, so the centre crop
     * clamped to the largest ratio: h = 10, w = round(10 · 4/3) = 13, x = (100 - 13) / 2. */
    sp_image img = pattern(100, 10, 3), orig = clone(&img);
    sp_buf notes = {0};
    const char *const o[] = {"width=13", "height=10", "scale_min=0.9", NULL};
    run("random_resized_crop", &img, o, NULL, 1, &notes);
    assert_int_equal((int)note(&notes, "try"), 0);
    assert_int_equal((int)note(&notes, "x"), 43);
    assert_int_equal((int)note(&notes, "y"), 0);
    assert_int_equal((int)note(&notes, "w"), 13);
    assert_int_equal((int)note(&notes, "h"), 10);
    /* same size: the box itself, exactly */
    sp_image box = sp_image_window(&orig, 43, 0, 13, 10);
    assert_same(&img, &box);
    sp_buf_free(&notes);
    sp_image_release(&img);
    sp_image_release(&orig);
}

static void test_random_crop_positions(void **state)
{
    (void)state;
    /* 12 × 10 image, 10 × 10 crop: x is 0, 1 or 2, y always 0; each x is drawn. */
    int seen[3] = {0};
    for (int i = 0; i < 300; i++) {
        char key[32];
        snprintf(key, sizeof(key), "c%d.png", i);
        sp_image img = pattern(12, 10, 1), orig = clone(&img);
        sp_buf notes = {0};
        const char *const o[] = {"width=10", "height=10", NULL};
        run("random_crop", &img, o, key, 1, &notes);
        int x = (int)note(&notes, "x"), y = (int)note(&notes, "y");
        assert_true(x >= 0 && x <= 2);
        assert_int_equal(y, 0);
        seen[x]++;
        sp_image box = sp_image_window(&orig, (uint32_t)x, 0, 10, 10);
        assert_same(&img, &box);
        sp_buf_free(&notes);
        sp_image_release(&img);
        sp_image_release(&orig);
    }
    for (int x = 0; x < 3; x++) assert_true(seen[x] > 60);
    /* Smaller than the crop without pad_if_needed: the sample is rejected. */
    const sp_stage_desc *d = desc("random_crop");
    const char *const big[] = {"width=20", "height=10", NULL};
    void *opts = make_opts(d, big);
    sp_image img = pattern(12, 10, 1);
    sp_pixel_ctx pc;
    sp_pixel_ctx_init(&pc, 1, "random_crop", "x", 1, NULL);
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(d->process(opts, &img, &pc, &err), SP_E_LIMIT);
    free(opts);
    sp_image_release(&img);
}

/* ---- resize modes ------------------------------------------------------------------- */

static void test_fit_letterbox(void **state)
{
    (void)state;
    /* 300 × 100 into 200 × 200: content 200 × round(100/300·200) = 200 × 67, placed at
     * round((200 - 67) / 2) = round(66.5) = 66 (half to even), as ImageOps.pad. */
    sp_image img = {0};
    assert_int_equal(sp_image_alloc(&img, 300, 100, 3), SP_OK);
    memset(img.data, 100, img.stride * img.height);
    const char *const o[] = {"mode=fit", "width=200", "height=200", "fill=7", NULL};
    run("resize", &img, o, NULL, 0, NULL);
    assert_int_equal(img.width, 200);
    assert_int_equal(img.height, 200);
    for (uint32_t y = 0; y < 200; y++) {
        bool content = y >= 66 && y < 66 + 67;
        for (uint32_t x = 0; x < 200 * 3; x++)
            if (img.data[y * img.stride + x] != (content ? 100 : 7))
                fail_msg("row %u byte %u is %u", y, x, img.data[y * img.stride + x]);
    }
    sp_image_release(&img);
    /* Tall into wide: bars left and right. 50 × 100 into 100 × 40: 20 × 40 at x = 40. */
    assert_int_equal(sp_image_alloc(&img, 50, 100, 1), SP_OK);
    memset(img.data, 100, img.stride * img.height);
    const char *const o2[] = {"mode=fit", "width=100", "height=40", NULL};
    run("resize", &img, o2, NULL, 0, NULL);
    assert_int_equal(img.width, 100);
    assert_int_equal(img.height, 40);
    for (uint32_t x = 0; x < 100; x++)
        assert_int_equal(img.data[20 * img.stride + x], x >= 40 && x < 60 ? 100 : 0);
    sp_image_release(&img);
}

static void test_resize_out_size_every_mode(void **state)
{
    (void)state;
    /* out_size must tell exactly what process makes, for every mode and shape. */
    const char *const *cases[] = {
        (const char *const[]){"size=50", NULL},
        (const char *const[]){"size=50", "mode=longer", NULL},
        (const char *const[]){"mode=exact", "width=31", "height=17", NULL},
        (const char *const[]){"mode=exact", "size=40", NULL},
        (const char *const[]){"mode=fit", "width=64", "height=48", NULL},
    };
    const uint32_t shapes[][2] = {{120, 80}, {80, 120}, {77, 77}, {300, 7}};
    const sp_stage_desc *d = desc("resize");
    for (size_t c = 0; c < SP_ARRAY_LEN(cases); c++)
        for (size_t s = 0; s < SP_ARRAY_LEN(shapes); s++) {
            void *opts = make_opts(d, cases[c]);
            uint32_t w = shapes[s][0], h = shapes[s][1];
            d->out_size(opts, &w, &h);
            sp_image img = smooth(shapes[s][0], shapes[s][1], 3);
            run("resize", &img, cases[c], NULL, 0, NULL);
            assert_int_equal(img.width, w);
            assert_int_equal(img.height, h);
            sp_image_release(&img);
            free(opts);
        }
    /* the longer side: 120 × 80 -> 50 × 33 (truncated) */
    void *opts = make_opts(d, cases[1]);
    uint32_t w = 120, h = 80;
    d->out_size(opts, &w, &h);
    assert_int_equal(w, 50);
    assert_int_equal(h, 33);
    free(opts);
}

/* ---- the framework's p and apply ------------------------------------------------------ */

static void test_probability(void **state)
{
    (void)state;
    const sp_stage_desc *flip = desc("hflip"), *pad = desc("pad");
    assert_true(flip->flags & SP_PIXEL_RANDOM);
    assert_false(pad->flags & SP_PIXEL_RANDOM);
    assert_false(desc("resize")->flags & SP_PIXEL_RANDOM);
    int hits[3] = {0};
    const double ps[3] = {0.0, 1.0, 0.3};
    for (int i = 0; i < 1000; i++) {
        char key[32];
        snprintf(key, sizeof(key), "k%d.png", i);
        for (int j = 0; j < 3; j++) {
            sp_pixel_ctx pc;
            sp_pixel_ctx_init(&pc, 9, "hflip", key, 1, NULL);
            hits[j] += sp_pixel_applies(flip, ps[j], SP_APPLY_COPIES, &pc);
        }
        /* copy 0 stays plain under apply = copies, even at p = 1 */
        sp_pixel_ctx pc;
        sp_pixel_ctx_init(&pc, 9, "hflip", key, 0, NULL);
        assert_false(sp_pixel_applies(flip, 1.0, SP_APPLY_COPIES, &pc));
        sp_pixel_ctx_init(&pc, 9, "hflip", key, 0, NULL);
        assert_true(sp_pixel_applies(flip, 1.0, SP_APPLY_ALL, &pc));
        /* a deterministic stage always acts */
        sp_pixel_ctx_init(&pc, 9, "pad", key, 0, NULL);
        assert_true(sp_pixel_applies(pad, 0.0, SP_APPLY_COPIES, &pc));
    }
    assert_int_equal(hits[0], 0);
    assert_int_equal(hits[1], 1000);
    assert_true(hits[2] > 240 && hits[2] < 360);
}

static void test_draws_are_deterministic(void **state)
{
    (void)state;
    /* Same (seed, stage, key, copy): same pixels; another copy: other draws. */
    sp_image a = smooth(90, 70, 3), b = smooth(90, 70, 3), c = smooth(90, 70, 3);
    const char *const o[] = {"degrees=30", "shear_x=10", NULL};
    run("affine", &a, o, "same.png", 2, NULL);
    run("affine", &b, o, "same.png", 2, NULL);
    run("affine", &c, o, "same.png", 3, NULL);
    assert_same(&a, &b);
    assert_memory_not_equal(a.data, c.data, a.stride * a.height);
    sp_image_release(&a);
    sp_image_release(&b);
    sp_image_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hflip_twice_is_identity),
        cmocka_unit_test(test_vflip_twice_is_identity),
        cmocka_unit_test(test_rot90_four_times_is_identity),
        cmocka_unit_test(test_rot90_random_draws_every_turn),
        cmocka_unit_test(test_padded_stride),
        cmocka_unit_test(test_border_index),
        cmocka_unit_test(test_rotate_90_matches_rot90),
        cmocka_unit_test(test_rotate_expand_size),
        cmocka_unit_test(test_identity_warps),
        cmocka_unit_test(test_perspective_corners_in_range),
        cmocka_unit_test(test_random_resized_crop_bounds),
        cmocka_unit_test(test_random_resized_crop_fallback),
        cmocka_unit_test(test_random_crop_positions),
        cmocka_unit_test(test_fit_letterbox),
        cmocka_unit_test(test_resize_out_size_every_mode),
        cmocka_unit_test(test_probability),
        cmocka_unit_test(test_draws_are_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
