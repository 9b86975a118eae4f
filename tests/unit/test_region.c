/*
 * Unit tests for crop-aware JPEG decoding (formats/jpeg.c sp_jpeg_decode_region,
 * src/region.c sp_decode_region, the crop stages' region callbacks).
 *
 * Why: the cropped decode replaces the full decode for every record whose chain opens
 * with a crop, so any difference would silently change training pixels. These hold:
 * random boxes decoded with jpeg_crop_scanline/jpeg_skip_scanlines are byte-identical to
 * the same box of a full decode, for 4:2:0, 4:2:2, 4:4:4, gray, progressive and CMYK-free
 * baseline files and a real photograph; damage below the box still fails the decode; the
 * pipeline hook replays each crop stage's draws and gives exactly what the stage gives on
 * the full image (pixels and notes), and stays out of the way where it cannot help.
 * Images and boxes are random (seed printed; SP_TEST_SEED repeats it).
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

/* Smooth colour gradients with noise: chroma varies, so upsampling edges would show. */
static void make_image(sp_image *img, uint32_t w, uint32_t h, uint32_t ch, unsigned *seed)
{
    assert_int_equal(sp_image_alloc(img, w, h, ch), SP_OK);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            for (uint32_t c = 0; c < ch; c++)
                img->data[(size_t)y * img->stride + (size_t)x * ch + c] =
                    (uint8_t)(((x * (c + 1) * 3 + y * (3 - c) * 2) / 5 + rand_r(seed) % 40) & 255);
}

static void encode_jpeg(const sp_image *img, int sub, bool progressive, uint8_t **out, size_t *len)
{
    sp_encode_opts o;
    sp_encode_defaults(&o);
    o.quality = 88;
    o.subsampling = sub;
    o.progressive = progressive;
    sp_error err;
    sp_error_clear(&err);
    if (sp_format_jpeg.encode(img, &o, out, len, &err) != SP_OK) fail_msg("encode: %s", err.msg);
}

static bool read_file(const char *path, uint8_t **data, size_t *len)
{
    sp_error err;
    sp_error_clear(&err);
    return sp_read_file(path, 64u << 20, data, len, &err) == SP_OK;
}

static const sp_limits limits = {
    .max_pixels = 1u << 28, .max_file_bytes = 1u << 28, .max_dimension = 65500, .max_scans = 1000};

static void same_box(const sp_image *a, const sp_image *b, const uint32_t box[4], const char *what)
{
    assert_int_equal(a->width, box[2]);
    assert_int_equal(a->height, box[3]);
    assert_int_equal(b->width, box[2]);
    assert_int_equal(b->height, box[3]);
    for (uint32_t y = 0; y < box[3]; y++)
        if (memcmp(a->data + (size_t)y * a->stride, b->data + (size_t)y * b->stride,
                   (size_t)box[2] * 3))
            fail_msg("%s: box %u,%u %ux%u differs at row %u", what, box[0], box[1], box[2], box[3],
                     y);
}

/* Random boxes (and the edge cases: corners, a single pixel, whole rows and columns) of
 * one file: the cropped decode equals the cut-out full decode. */
static void check_file(const uint8_t *data, size_t len, const char *what, unsigned *seed,
                       int nboxes)
{
    sp_image_info info;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_format_jpeg.header(data, len, &limits, &info, &err), SP_OK);
    const uint32_t W = info.width, H = info.height;
    for (int t = 0; t < nboxes; t++) {
        uint32_t box[4];
        switch (t) {
        case 0:
            box[0] = 0, box[1] = 0, box[2] = 1, box[3] = 1;
            break;
        case 1:
            box[0] = W - 1, box[1] = H - 1, box[2] = 1, box[3] = 1;
            break;
        case 2:
            box[0] = 0, box[1] = H / 3, box[2] = W, box[3] = 5;
            break;
        case 3:
            box[0] = W / 3, box[1] = 0, box[2] = 7, box[3] = H;
            break;
        default:
            box[2] = 1 + (uint32_t)rand_r(seed) % W;
            box[3] = 1 + (uint32_t)rand_r(seed) % H;
            box[0] = (uint32_t)rand_r(seed) % (W - box[2] + 1);
            box[1] = (uint32_t)rand_r(seed) % (H - box[3] + 1);
        }
        sp_image a = {0}, b = {0};
        sp_region wa, wb;
        if (sp_jpeg_decode_region(data, len, &limits, box, 8, true, &a, &wa, &err) != SP_OK)
            fail_msg("%s: cropped decode: %s", what, err.msg);
        if (sp_jpeg_decode_region(data, len, &limits, box, 8, false, &b, &wb, &err) != SP_OK)
            fail_msg("%s: full decode: %s", what, err.msg);
        same_box(&a, &b, box, what);
        assert_true(wa.x == box[0] && wa.y == box[1] && wa.scale == 8);
        assert_true(wb.x == box[0] && wb.y == box[1] && wb.scale == 8);
        sp_image_release(&a);
        sp_image_release(&b);
        /* At a DCT scale: the decoder's pixels covering the box, equal to the same pixels
         * of a whole decode at that scale. */
        for (unsigned n = 1; n < 8 && W >= 64 && H >= 64 && t < 8; n *= 2) {
            sp_image s = {0}, whole = {0};
            sp_region ws;
            if (sp_jpeg_decode_region(data, len, &limits, box, n, true, &s, &ws, &err) != SP_OK)
                fail_msg("%s: cropped decode at %u/8: %s", what, n, err.msg);
            assert_int_equal(ws.scale, n);
            const uint32_t sw = (W * n + 7) / 8, sh = (H * n + 7) / 8;
            assert_int_equal(sp_format_jpeg.decode_scaled(data, len, &limits, sw, sh, &whole, &err),
                             SP_OK);
            assert_int_equal(whole.width, sw);
            /* The part covers the box: its first pixel holds the box's first, its end the
             * box's end. */
            assert_true(ws.x * 8 <= box[0] * n && (ws.x + s.width) * 8 >= (box[0] + box[2]) * n);
            assert_true(ws.y * 8 <= box[1] * n && (ws.y + s.height) * 8 >= (box[1] + box[3]) * n);
            const uint32_t part[4] = {ws.x, ws.y, s.width, s.height};
            sp_image cut = {0};
            assert_int_equal(sp_image_alloc(&cut, s.width, s.height, 3), SP_OK);
            for (uint32_t y = 0; y < s.height; y++)
                memcpy(cut.data + y * cut.stride,
                       whole.data + (size_t)(ws.y + y) * whole.stride + (size_t)ws.x * 3,
                       (size_t)s.width * 3);
            same_box(&s, &cut, part, what);
            sp_image_release(&s);
            sp_image_release(&whole);
            sp_image_release(&cut);
        }
    }
}

static void test_cropped_decode_is_exact(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    const uint32_t sizes[][2] = {{333, 251}, {640, 480}, {97, 1000}, {17, 9}};
    for (size_t i = 0; i < SP_ARRAY_LEN(sizes); i++)
        for (uint32_t ch = 1; ch <= 3; ch += 2)
            for (int sub = SP_SUB_444; sub <= SP_SUB_420; sub++)
                for (int prog = 0; prog < 2; prog++) {
                    if (ch == 1 && sub != SP_SUB_444) continue;
                    sp_image img = {0};
                    make_image(&img, sizes[i][0], sizes[i][1], ch, &seed);
                    uint8_t *data = NULL;
                    size_t len = 0;
                    encode_jpeg(&img, sub, prog, &data, &len);
                    char what[96];
                    snprintf(what, sizeof(what), "%ux%u ch %u sub %d%s", sizes[i][0], sizes[i][1],
                             ch, sub, prog ? " progressive" : "");
                    check_file(data, len, what, &seed, 30);
                    free(data);
                    sp_image_release(&img);
                }
}

static void test_cropped_decode_photograph(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    const char *paths[] = {"/usr/share/matplotlib/sample_data/grace_hopper.jpg",
                           "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg"};
    for (size_t i = 0; i < SP_ARRAY_LEN(paths); i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        if (!read_file(paths[i], &data, &len)) continue;
        check_file(data, len, paths[i], &seed, 200);
        free(data);
        return;
    }
    skip(); /* python-matplotlib-data is in scripts/deps.sh's test list */
}

/* A file cut short below the box fails the cropped decode as it fails the full one. */
static void test_damage_below_box_fails(void **state)
{
    (void)state;
    unsigned seed = test_seed(__func__);
    sp_image img = {0};
    make_image(&img, 400, 300, 3, &seed);
    uint8_t *data = NULL;
    size_t len = 0;
    encode_jpeg(&img, SP_SUB_420, false, &data, &len);
    const size_t cut = len * 7 / 10;
    const uint32_t box[4] = {10, 5, 100, 40};
    sp_image a = {0}, b = {0};
    sp_region w;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_jpeg_decode_region(data, cut, &limits, box, 8, false, &b, &w, &err),
                     SP_E_CORRUPT);
    sp_error_clear(&err);
    assert_int_equal(sp_jpeg_decode_region(data, cut, &limits, box, 8, true, &a, &w, &err),
                     SP_E_CORRUPT);
    sp_error_clear(&err);
    assert_int_equal(sp_jpeg_decode_region(data, cut, &limits, box, 2, true, &a, &w, &err),
                     SP_E_CORRUPT);
    assert_null(a.data);
    free(data);
    sp_image_release(&img);
}

/* A one-stage pipeline around `type` with options, as the loader would make it. */
typedef struct fake {
    sp_pipeline p;
    sp_stage st;
    void *opts;
} fake;

static void fake_init(fake *f, const char *type, const char *const *opts, int apply)
{
    memset(f, 0, sizeof(*f));
    const sp_stage_desc *d = sp_stage_desc_by_name(type);
    assert_non_null(d);
    f->opts = calloc(1, d->opts_size);
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_options_defaults(d->options, f->opts, &err), SP_OK);
    for (size_t i = 0; opts && opts[i]; i++) {
        const char *eq = strchr(opts[i], '=');
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - opts[i]), opts[i]);
        assert_int_equal(sp_option_parse(sp_option_find(d->options, name), f->opts, eq + 1, &err),
                         SP_OK);
    }
    f->st.name = (char *)type;
    f->st.desc = d;
    f->st.opts = f->opts;
    f->st.p = 1.0;
    f->st.apply = apply;
    f->st.member_of = -1;
    f->p.run.seed = 77;
    f->p.run.crop_on_load = true;
    f->p.run.shrink_on_load = false;
    f->p.limits = limits;
}

/* The hook against the stage on the full decode: the same pixels and the same notes, for
 * copies 0..9 of one sample; with apply = copies, copy 0 is not cropped and the hook
 * decodes nothing. */
static void check_stage(const char *type, const char *const *opts, int apply, bool expect_region)
{
    /* Full size only here: shrink_on_load would let random_resized_crop scale (below). */
    unsigned seed = 4242;
    sp_image src = {0};
    make_image(&src, 500, 375, 3, &seed);
    uint8_t *data = NULL;
    size_t len = 0;
    encode_jpeg(&src, SP_SUB_420, false, &data, &len);
    fake f;
    fake_init(&f, type, opts, apply);
    sp_sample s = {.path = "cls/x.jpg", .format = &sp_format_jpeg, .info = {500, 375, 3}};
    int regions = 0;
    for (uint32_t copy = 0; copy < 10; copy++) {
        sp_error err;
        sp_error_clear(&err);
        /* The path a build takes without the hook: a full decode, then the stage. */
        sp_image full = {0};
        sp_buf nf = {0}, nr = {0};
        assert_int_equal(sp_format_jpeg.decode(data, len, &limits, &full, &err), SP_OK);
        sp_pixel_ctx pc;
        sp_pixel_ctx_init(&pc, 77, type, s.path, copy, &nf);
        bool acts = sp_pixel_applies(f.st.desc, 1.0, apply, &pc);
        if (acts) assert_int_equal(f.st.desc->process(f.opts, &full, &pc, &err), SP_OK);
        /* With it. */
        sp_image part = {0};
        sp_region at = {0, 0, 0};
        bool done = true;
        assert_int_equal(
            sp_decode_region(&f.p, &f.st, &s, NULL, copy, data, len, &part, &at, &done, &err),
            SP_OK);
        if (!done) {
            assert_null(part.data);
            if (expect_region) assert_false(acts); /* only skipped records go the full way */
        } else {
            regions++;
            assert_true(acts);
            assert_true(part.width < 500 || part.height < 375);
            sp_pixel_ctx_init(&pc, 77, type, s.path, copy, &nr);
            assert_true(sp_pixel_applies(f.st.desc, 1.0, apply, &pc));
            assert_int_equal(at.scale, 8);
            assert_int_equal(f.st.desc->process_region(f.opts, 500, 375, &at, &part, &pc, &err),
                             SP_OK);
            const uint32_t box[4] = {0, 0, full.width, full.height};
            same_box(&part, &full, box, type);
            assert_int_equal(nf.len, nr.len);
            assert_memory_equal(nf.data, nr.data, nf.len);
        }
        sp_buf_free(&nf);
        sp_buf_free(&nr);
        sp_image_release(&full);
        sp_image_release(&part);
    }
    if (expect_region)
        assert_true(regions >= (apply == SP_APPLY_ALL ? 10 : 9));
    else
        assert_int_equal(regions, 0);
    free(data);
    sp_image_release(&src);
    sp_options_free(f.st.desc->options, f.opts);
    free(f.opts);
}

static void test_hook_matches_stages(void **state)
{
    (void)state;
    const char *crop[] = {"width=201", "height=99", NULL};
    check_stage("crop", crop, SP_APPLY_ALL, true);
    const char *rc[] = {"width=123", "height=77", NULL};
    check_stage("random_crop", rc, SP_APPLY_ALL, true);
    check_stage("random_crop", rc, SP_APPLY_COPIES, true);
    const char *rrc[] = {"width=64", "height=48", "scale_min=0.05", NULL};
    check_stage("random_resized_crop", rrc, SP_APPLY_ALL, true);
    check_stage("random_resized_crop", rrc, SP_APPLY_COPIES, true);
    /* Where the crop pads or is larger than the image, the hook keeps out. */
    const char *padded[] = {"width=123", "height=77", "padding=4", NULL};
    check_stage("random_crop", padded, SP_APPLY_ALL, false);
    const char *big[] = {"width=600", "height=99", NULL};
    check_stage("crop", big, SP_APPLY_ALL, false);
    /* Stages without a box (resize) never go this way. */
    const char *rs[] = {"size=100", NULL};
    check_stage("resize", rs, SP_APPLY_ALL, false);
}

/* With shrink_on_load, random_resized_crop's box is decoded at a DCT scale when it is
 * large against the target: same notes, the target size, and pixels close to the full
 * path (the resize of a box decoded at 1/2..1/8 is not the full-size one). */
static void test_rrc_scaled_box(void **state)
{
    (void)state;
    unsigned seed = 99;
    sp_image src = {0};
    make_image(&src, 1200, 900, 3, &seed);
    /* Smooth it (a photograph's spectrum): noise at full resolution is what DCT scaling
     * must drop, and would dominate the comparison. */
    for (uint32_t y = 0; y < 900; y++)
        for (uint32_t x = 0; x < 1200; x++)
            for (uint32_t c = 0; c < 3; c++)
                src.data[y * src.stride + x * 3 + c] =
                    (uint8_t)(128 + 100 * sin(x / (17.0 + c * 5)) * cos(y / 23.0));
    uint8_t *data = NULL;
    size_t len = 0;
    encode_jpeg(&src, SP_SUB_420, false, &data, &len);
    const char *opts[] = {"width=48", "height=40", "scale_min=0.3", NULL};
    fake f;
    fake_init(&f, "random_resized_crop", opts, SP_APPLY_ALL);
    f.p.run.shrink_on_load = true;
    sp_sample s = {.path = "cls/big.jpg", .format = &sp_format_jpeg, .info = {1200, 900, 3}};
    int scaled = 0;
    for (uint32_t copy = 0; copy < 12; copy++) {
        sp_error err;
        sp_error_clear(&err);
        sp_image full = {0}, part = {0};
        sp_buf nf = {0}, nr = {0};
        assert_int_equal(sp_format_jpeg.decode(data, len, &limits, &full, &err), SP_OK);
        sp_pixel_ctx pc;
        sp_pixel_ctx_init(&pc, 77, f.st.name, s.path, copy, &nf);
        assert_true(sp_pixel_applies(f.st.desc, 1.0, SP_APPLY_ALL, &pc));
        assert_int_equal(f.st.desc->process(f.opts, &full, &pc, &err), SP_OK);
        sp_region at;
        bool done = false;
        assert_int_equal(
            sp_decode_region(&f.p, &f.st, &s, NULL, copy, data, len, &part, &at, &done, &err),
            SP_OK);
        assert_true(done);
        scaled += at.scale < 8;
        sp_pixel_ctx_init(&pc, 77, f.st.name, s.path, copy, &nr);
        assert_true(sp_pixel_applies(f.st.desc, 1.0, SP_APPLY_ALL, &pc));
        assert_int_equal(f.st.desc->process_region(f.opts, 1200, 900, &at, &part, &pc, &err),
                         SP_OK);
        assert_int_equal(part.width, 48);
        assert_int_equal(part.height, 40);
        assert_int_equal(nf.len, nr.len);
        assert_memory_equal(nf.data, nr.data, nf.len);
        double se = 0;
        for (uint32_t y = 0; y < 40; y++)
            for (uint32_t i = 0; i < 48 * 3; i++) {
                double d = (double)part.data[y * part.stride + i] - full.data[y * full.stride + i];
                se += d * d;
            }
        double psnr = se == 0 ? 99 : 10 * log10(255.0 * 255.0 / (se / (48 * 40 * 3)));
        if (psnr < 35)
            fail_msg("copy %u at %u/8: PSNR %.1f dB against the full decode", copy, at.scale, psnr);
        sp_buf_free(&nf);
        sp_buf_free(&nr);
        sp_image_release(&full);
        sp_image_release(&part);
    }
    assert_true(scaled >= 10); /* boxes of 30%..100% of 1200x900 for a 48x40 target */
    free(data);
    sp_image_release(&src);
    sp_options_free(f.st.desc->options, f.opts);
    free(f.opts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cropped_decode_is_exact),
        cmocka_unit_test(test_cropped_decode_photograph),
        cmocka_unit_test(test_damage_below_box_fails),
        cmocka_unit_test(test_hook_matches_stages),
        cmocka_unit_test(test_rrc_scaled_box),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
