/*
 * Unit tests for sp_resample (src/resample.c).
 *
 * Why: resize is the stage every image goes through, and its promise is Pillow's
 * behaviour (antialiased convolution, support widened by the scale when shrinking), which
 * is what users' trained models expect. The library computes it in 22-bit fixed point
 * with cached coefficients; this test holds it against a straightforward double-precision
 * implementation written from the description, on random images (seed printed), for
 * every filter, shrinking and enlarging, one and three channels: any difference over one
 * level of rounding is a bug. Plus properties any resampler must have: identity copies,
 * nearest duplicates, constants stay constant, and a fine checkerboard averages to grey.
 * Images with alpha are resampled premultiplied, as Pillow does (src/alpha.h): the
 * conversions are checked against their arithmetic for every level, transparent colour
 * must not reach visible pixels (resize, box and warp), and opaque alpha must give exactly
 * the RGB pixels with alpha 255.
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

#include "alpha.h"
#include "geometry.h"
#include "internal.h"
#include "test_util.h"

static const double pi = 3.14159265358979323846;

/* ---- the reference ------------------------------------------------------------------ */

static double r_box(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }
static double r_triangle(double x) { return fabs(x) < 1.0 ? 1.0 - fabs(x) : 0.0; }

/* Keys' cubic convolution with a = -0.5. */
static double r_cubic(double x)
{
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0) return (a + 2.0) * x * x * x - (a + 3.0) * x * x + 1.0;
    if (x < 2.0) return a * x * x * x - 5.0 * a * x * x + 8.0 * a * x - 4.0 * a;
    return 0.0;
}

static double r_sinc(double x) { return x == 0.0 ? 1.0 : sin(pi * x) / (pi * x); }
static double r_lanczos3(double x) { return fabs(x) < 3.0 ? r_sinc(x) * r_sinc(x / 3.0) : 0.0; }

typedef struct ref_filter {
    sp_filter id;
    const char *name;
    double (*fn)(double);
    double support;
} ref_filter;

static const ref_filter filters[] = {
    {SP_FILTER_BILINEAR, "bilinear", r_triangle, 1.0},
    {SP_FILTER_BICUBIC, "bicubic", r_cubic, 2.0},
    {SP_FILTER_LANCZOS3, "lanczos3", r_lanczos3, 3.0},
    {SP_FILTER_AREA, "area", r_box, 0.5},
};

static uint8_t to_u8(double v)
{
    v = floor(v + 0.5);
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

/* One pass along x (horizontal) or y: src is w × h × ch with row stride sstride; the
 * result is tight, with the resampled axis of length n, in exact (double) values. */
static double *ref_pass(const uint8_t *src, size_t sstride, uint32_t w, uint32_t h,
                        uint32_t ch, uint32_t n, bool horizontal, const ref_filter *f)
{
    uint32_t in = horizontal ? w : h;
    uint32_t ow = horizontal ? n : w, oh = horizontal ? h : n;
    double *out = malloc(sizeof(double) * ow * oh * ch);
    double *wt = malloc(sizeof(double) * (in + 1));
    assert_non_null(out);
    assert_non_null(wt);
    double scale = (double)in / n;
    double fscale = scale > 1.0 ? scale : 1.0;
    double support = f->support * fscale;
    for (uint32_t i = 0; i < n; i++) {
        double center = (i + 0.5) * scale;
        int lo = (int)(center - support + 0.5), hi = (int)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > (int)in) hi = (int)in;
        double total = 0;
        for (int x = lo; x < hi; x++) total += wt[x - lo] = f->fn((x - center + 0.5) / fscale);
        for (int x = lo; x < hi; x++) wt[x - lo] = total != 0.0 ? wt[x - lo] / total : 0.0;
        uint32_t others = horizontal ? h : w;
        for (uint32_t o = 0; o < others; o++)
            for (uint32_t c = 0; c < ch; c++) {
                double s = 0;
                for (int x = lo; x < hi; x++) {
                    size_t at = horizontal ? (size_t)o * sstride + (size_t)x * ch + c
                                           : (size_t)x * sstride + (size_t)o * ch + c;
                    s += wt[x - lo] * src[at];
                }
                size_t to = horizontal ? ((size_t)o * ow + i) * ch + c : ((size_t)i * ow + o) * ch + c;
                out[to] = s;
            }
    }
    free(wt);
    return out;
}

static uint8_t *round_all(double *v, size_t n)
{
    uint8_t *out = malloc(n ? n : 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) out[i] = to_u8(v[i]);
    free(v);
    return out;
}

/* The whole reference: horizontal pass, then vertical, each only when that axis changes
 * size, rounded to 8 bits after each pass. */
/* Both passes, each rounded to 8 bits, in the library's order: rows first when both axes
 * change and the height shrinks, else columns first (see sp_resample). */
static uint8_t *ref_resample(const sp_image *src, uint32_t W, uint32_t H, const ref_filter *f)
{
    const uint32_t ch = src->channels;
    if (W != src->width && H != src->height && H < src->height) {
        uint8_t *mid = round_all(ref_pass(src->data, src->stride, src->width, src->height, ch,
                                          H, false, f),
                                 (size_t)src->width * H * ch);
        uint8_t *out = round_all(ref_pass(mid, (size_t)src->width * ch, src->width, H, ch, W,
                                          true, f),
                                 (size_t)W * H * ch);
        free(mid);
        return out;
    }
    uint8_t *cur = NULL;
    size_t stride = src->stride;
    const uint8_t *in = src->data;
    uint32_t w = src->width;
    if (W != src->width) {
        cur = round_all(ref_pass(in, stride, w, src->height, ch, W, true, f),
                        (size_t)W * src->height * ch);
        in = cur;
        w = W;
        stride = (size_t)W * ch;
    }
    if (H != src->height) {
        uint8_t *next = round_all(ref_pass(in, stride, w, src->height, ch, H, false, f),
                                  (size_t)W * H * ch);
        free(cur);
        return next;
    }
    if (cur) return cur;
    uint8_t *copy = malloc((size_t)W * H * ch);
    assert_non_null(copy);
    for (uint32_t y = 0; y < H; y++) memcpy(copy + (size_t)y * W * ch, in + y * stride, (size_t)W * ch);
    return copy;
}

/* ---- helpers ------------------------------------------------------------------------ */

static void random_image(sp_image *img, uint32_t w, uint32_t h, uint32_t ch)
{
    memset(img, 0, sizeof(*img));
    assert_int_equal(sp_image_alloc(img, w, h, ch), SP_OK);
    for (size_t i = 0; i < (size_t)w * h * ch; i++) img->data[i] = (uint8_t)(rand() >> 7);
}

/* Largest |a - b| between an sp_image and a tight buffer of the same shape. */
static int max_diff(const sp_image *a, const uint8_t *b, uint32_t *at_x, uint32_t *at_y)
{
    int worst = 0;
    const uint32_t rowlen = a->width * a->channels;
    for (uint32_t y = 0; y < a->height; y++)
        for (uint32_t i = 0; i < rowlen; i++) {
            int d = abs((int)a->data[(size_t)y * a->stride + i] - (int)b[(size_t)y * rowlen + i]);
            if (d > worst) {
                worst = d;
                *at_x = i / a->channels;
                *at_y = y;
            }
        }
    return worst;
}

static void resample_ok(const sp_image *src, uint32_t w, uint32_t h, sp_filter f, sp_image *out)
{
    sp_error err;
    sp_error_clear(&err);
    memset(out, 0, sizeof(*out));
    int rc = sp_resample(src, w, h, f, out, &err);
    if (rc != SP_OK) fail_msg("sp_resample to %ux%u: %s", w, h, err.msg);
    assert_int_equal(out->width, w);
    assert_int_equal(out->height, h);
    assert_int_equal(out->channels, src->channels);
    assert_true(out->stride >= (size_t)w * out->channels);
    assert_non_null(out->data);
    assert_ptr_not_equal(out->data, src->data);
}

/* ---- against the reference ---------------------------------------------------------- */

static const uint32_t shapes[][4] = {
    /* in w, in h, out w, out h */
    {37, 29, 13, 11},  /* shrink both */
    {37, 29, 80, 64},  /* enlarge both */
    {37, 29, 50, 10},  /* enlarge x, shrink y */
    {37, 29, 37, 15},  /* y only */
    {37, 29, 12, 29},  /* x only */
    {64, 48, 7, 5},    /* shrink by ~9: wide kernels */
    {5, 4, 33, 31},    /* enlarge by ~7 */
    {100, 3, 30, 2},
    {1, 7, 3, 2},      /* from a single column */
    {40, 30, 1, 1},    /* to a single pixel */
    {256, 256, 224, 224},
};

/* Largest |a - clamp(v)| between an sp_image and exact values of the same shape. */
static double max_err(const sp_image *a, const double *v)
{
    double worst = 0;
    const uint32_t rowlen = a->width * a->channels;
    for (uint32_t y = 0; y < a->height; y++)
        for (uint32_t i = 0; i < rowlen; i++) {
            double e = v[(size_t)y * rowlen + i];
            e = e < 0 ? 0 : e > 255 ? 255 : e;
            double d = fabs(a->data[(size_t)y * a->stride + i] - e);
            if (d > worst) worst = d;
        }
    return worst;
}

/* Each pass must be the exact value correctly rounded, give or take the fixed-point error
 * of the weights (< 0.01 of a level here): |lib - exact| <= 0.5 + 0.01, so never more than
 * 1 off the rounded reference. Each pass is checked on the library's own input to it (the
 * horizontal-only result is the library's intermediate), because the weights here are
 * often simple fractions, so exact .5 ties are common and one tie broken the other way in
 * the intermediate can move an end-to-end result by 2; end to end, the bound is 2. */
static void test_against_reference(void **state)
{
    (void)state;
    unsigned seed = test_seed("test_against_reference");
    srand(seed);
    double worst_pass = 0;
    int worst_total = 0;
    for (size_t s = 0; s < SP_ARRAY_LEN(shapes); s++)
        for (uint32_t ch = 1; ch <= 3; ch += 2)
            for (size_t f = 0; f < SP_ARRAY_LEN(filters); f++) {
                const uint32_t w = shapes[s][0], h = shapes[s][1], W = shapes[s][2],
                               H = shapes[s][3];
                const ref_filter *rf = &filters[f];
                sp_image src, mid = {0}, out;
                random_image(&src, w, h, ch);
                /* The library shrinks rows first when both axes change and the height
                 * shrinks (see sp_resample); each pass is checked in the library's order,
                 * on the library's own intermediate. */
                const bool v_first = W != w && H != h && H < h;
                if (v_first) {
                    resample_ok(&src, w, H, rf->id, &mid);
                    double *exact = ref_pass(src.data, src.stride, w, h, ch, H, false, rf);
                    double e = max_err(&mid, exact);
                    free(exact);
                    if (e > 0.51)
                        fail_msg("%s %ux%u -> %ux%u, %u channel(s): vertical pass off by %.3f (seed %u)",
                                 rf->name, w, h, w, H, ch, e, seed);
                    if (e > worst_pass) worst_pass = e;
                    resample_ok(&src, W, H, rf->id, &out);
                    exact = ref_pass(mid.data, mid.stride, w, H, ch, W, true, rf);
                    e = max_err(&out, exact);
                    free(exact);
                    if (e > 0.51)
                        fail_msg("%s %ux%u -> %ux%u, %u channel(s): horizontal pass off by %.3f (seed %u)",
                                 rf->name, w, h, W, H, ch, e, seed);
                    if (e > worst_pass) worst_pass = e;
                }
                const sp_image *vin = &src; /* the vertical pass's input */
                if (!v_first && W != w) {
                    resample_ok(&src, W, h, rf->id, &mid);
                    double *exact = ref_pass(src.data, src.stride, w, h, ch, W, true, rf);
                    double e = max_err(&mid, exact);
                    free(exact);
                    if (e > 0.51)
                        fail_msg("%s %ux%u -> %ux%u, %u channel(s): horizontal pass off by %.3f (seed %u)",
                                 rf->name, w, h, W, h, ch, e, seed);
                    if (e > worst_pass) worst_pass = e;
                    vin = &mid;
                }
                if (!v_first) resample_ok(&src, W, H, rf->id, &out);
                if (!v_first && H != h) {
                    double *exact = ref_pass(vin->data, vin->stride, W, h, ch, H, false, rf);
                    double e = max_err(&out, exact);
                    free(exact);
                    if (e > 0.51)
                        fail_msg("%s %ux%u -> %ux%u, %u channel(s): vertical pass off by %.3f (seed %u)",
                                 rf->name, w, h, W, H, ch, e, seed);
                    if (e > worst_pass) worst_pass = e;
                }
                uint8_t *ref = ref_resample(&src, W, H, rf);
                uint32_t x = 0, y = 0;
                int d = max_diff(&out, ref, &x, &y);
                if (d > 2 || (d > 1 && (W == w || H == h)))
                    fail_msg("%s %ux%u -> %ux%u, %u channel(s): off by %d at (%u, %u) (seed %u)",
                             rf->name, w, h, W, H, ch, d, x, y, seed);
                if (d > worst_total) worst_total = d;
                free(ref);
                sp_image_release(&out);
                sp_image_release(&mid);
                sp_image_release(&src);
            }
    print_message("largest error of one pass: %.4f; end to end: %d\n", worst_pass, worst_total);
}

/* Rows with padding (PNG decodes to a 4-byte stride with 3 channels) give the same pixels
 * as tight rows. */
static void test_padded_stride(void **state)
{
    (void)state;
    unsigned seed = test_seed("test_padded_stride");
    srand(seed);
    const uint32_t w = 23, h = 17, ch = 3;
    sp_image tight;
    random_image(&tight, w, h, ch);
    sp_image padded = {0};
    assert_int_equal(sp_image_alloc(&padded, w + 3, h, ch), SP_OK); /* room for padding */
    padded.width = w;
    memset(padded.data, 0xAB, padded.stride * h);
    for (uint32_t y = 0; y < h; y++)
        memcpy(padded.data + y * padded.stride, tight.data + y * tight.stride, (size_t)w * ch);
    static const uint32_t outs[][2] = {{23, 17}, {10, 17}, {23, 8}, {50, 40}, {9, 9}};
    for (size_t i = 0; i < SP_ARRAY_LEN(outs); i++)
        for (int f = SP_FILTER_NEAREST; f <= SP_FILTER_AREA; f++) {
            sp_image a, b;
            resample_ok(&tight, outs[i][0], outs[i][1], (sp_filter)f, &a);
            resample_ok(&padded, outs[i][0], outs[i][1], (sp_filter)f, &b);
            for (uint32_t y = 0; y < a.height; y++)
                assert_memory_equal(a.data + y * a.stride, b.data + y * b.stride,
                                    (size_t)a.width * ch);
            sp_image_release(&a);
            sp_image_release(&b);
        }
    sp_image_release(&tight);
    sp_image_release(&padded);
}

/* ---- properties --------------------------------------------------------------------- */

static void test_identity_is_copy(void **state)
{
    (void)state;
    srand(1);
    for (uint32_t ch = 1; ch <= 4; ch++)
        for (int f = SP_FILTER_NEAREST; f <= SP_FILTER_AREA; f++) {
            sp_image src, out;
            random_image(&src, 19, 11, ch);
            resample_ok(&src, 19, 11, (sp_filter)f, &out);
            for (uint32_t y = 0; y < 11; y++)
                assert_memory_equal(out.data + y * out.stride, src.data + y * src.stride,
                                    (size_t)19 * ch);
            sp_image_release(&out);
            sp_image_release(&src);
        }
}

static void test_nearest_duplicates(void **state)
{
    (void)state;
    srand(2);
    for (uint32_t ch = 1; ch <= 3; ch += 2) {
        sp_image src, out;
        random_image(&src, 13, 7, ch);
        resample_ok(&src, 26, 14, SP_FILTER_NEAREST, &out);
        for (uint32_t y = 0; y < 14; y++)
            for (uint32_t x = 0; x < 26; x++)
                assert_memory_equal(out.data + y * out.stride + x * ch,
                                    src.data + (y / 2) * src.stride + (x / 2) * ch, ch);
        sp_image_release(&out);
        sp_image_release(&src);

        /* Shrinking by a whole factor k samples the centre of each k × k block (pixel
         * centres, as Pillow does: input (k x + k / 2, k y + k / 2)), never a blend. */
        for (uint32_t k = 2; k <= 3; k++) {
            random_image(&src, 4 * k, 3 * k, ch);
            resample_ok(&src, 4, 3, SP_FILTER_NEAREST, &out);
            for (uint32_t y = 0; y < 3; y++)
                for (uint32_t x = 0; x < 4; x++)
                    assert_memory_equal(out.data + y * out.stride + x * ch,
                                        src.data + (k * y + k / 2) * src.stride + (k * x + k / 2) * ch, ch);
            sp_image_release(&out);
            sp_image_release(&src);
        }
    }
}

static void test_constant_stays_constant(void **state)
{
    (void)state;
    static const uint8_t levels[] = {0, 1, 77, 128, 254, 255};
    static const uint32_t outs[][2] = {{7, 5}, {60, 45}, {30, 9}, {1, 1}, {97, 3}, {29, 31}};
    for (size_t l = 0; l < SP_ARRAY_LEN(levels); l++)
        for (uint32_t ch = 1; ch <= 3; ch += 2) {
            sp_image src = {0};
            assert_int_equal(sp_image_alloc(&src, 29, 31, ch), SP_OK);
            memset(src.data, levels[l], src.stride * src.height);
            for (size_t o = 0; o < SP_ARRAY_LEN(outs); o++)
                for (int f = SP_FILTER_NEAREST; f <= SP_FILTER_AREA; f++) {
                    sp_image out;
                    resample_ok(&src, outs[o][0], outs[o][1], (sp_filter)f, &out);
                    for (uint32_t y = 0; y < out.height; y++)
                        for (uint32_t i = 0; i < out.width * ch; i++)
                            if (out.data[y * out.stride + i] != levels[l])
                                fail_msg("filter %d, level %u -> %ux%u: got %u at row %u", f,
                                         levels[l], outs[o][0], outs[o][1],
                                         out.data[y * out.stride + i], y);
                    sp_image_release(&out);
                }
            sp_image_release(&src);
        }
}

/* A one-pixel checkerboard of 0 and 255 is pure Nyquist: shrunk with antialiasing it must
 * come out mid-grey, not as an aliased pattern. Away from the border every value is
 * within 127 ± 2. At the border, the kernel is cut off and renormalised (Pillow does the
 * same), so the image edge is off by a few levels more; it is checked within 127 ± 4. */
static void check_grey(const sp_image *out, uint32_t factor, sp_filter f)
{
    int lo = 255, hi = 0, blo = 255, bhi = 0;
    for (uint32_t y = 0; y < out->height; y++)
        for (uint32_t x = 0; x < out->width; x++) {
            int v = out->data[y * out->stride + x];
            bool border = x == 0 || y == 0 || x + 1 == out->width || y + 1 == out->height;
            int tol = border ? 4 : 2;
            if (v < 127 - tol || v > 127 + tol)
                fail_msg("filter %d, shrink by %u: %d at (%u, %u)", f, factor, v, x, y);
            if (!border && v < lo) lo = v;
            if (!border && v > hi) hi = v;
            if (border && v < blo) blo = v;
            if (border && v > bhi) bhi = v;
        }
    print_message("filter %d, shrink by %u: interior %d..%d, border %d..%d\n", f, factor, lo, hi,
                  blo, bhi);
}

static void test_checkerboard_antialiased(void **state)
{
    (void)state;
    for (uint32_t factor = 2; factor <= 3; factor++) {
        const uint32_t n = 24 * factor;
        sp_image src = {0};
        assert_int_equal(sp_image_alloc(&src, n, n, 1), SP_OK);
        for (uint32_t y = 0; y < n; y++)
            for (uint32_t x = 0; x < n; x++) src.data[y * src.stride + x] = ((x + y) & 1) ? 255 : 0;
        sp_image out;
        resample_ok(&src, n / factor, n / factor, SP_FILTER_BILINEAR, &out);
        check_grey(&out, factor, SP_FILTER_BILINEAR);
        sp_image_release(&out);
        /* area is the plain mean of each block: grey for even blocks only (a 3 × 3 block
         * holds 5 of one colour and 4 of the other). */
        if (factor == 2) {
            resample_ok(&src, n / 2, n / 2, SP_FILTER_AREA, &out);
            check_grey(&out, 2, SP_FILTER_AREA);
            sp_image_release(&out);
        }
        /* Nearest does not antialias: by 3 it samples one colour of the pattern. */
        if (factor == 3) {
            resample_ok(&src, n / 3, n / 3, SP_FILTER_NEAREST, &out);
            for (uint32_t i = 0; i < out.width; i++) assert_true(out.data[i] == 0 || out.data[i] == 255);
            sp_image_release(&out);
        }
        sp_image_release(&src);
    }
}

static void test_empty_target_refused(void **state)
{
    (void)state;
    sp_image src = {0}, out = {0};
    assert_int_equal(sp_image_alloc(&src, 4, 4, 3), SP_OK);
    memset(src.data, 9, src.stride * 4);
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_resample(&src, 0, 4, SP_FILTER_BILINEAR, &out, &err), SP_E_USAGE);
    assert_int_equal(sp_resample(&src, 4, 0, SP_FILTER_NEAREST, &out, &err), SP_E_USAGE);
    assert_null(out.data);
    sp_image_release(&src);
}

/* One scratch reused across a run of images of changing sizes, filters and channels (as
 * a build thread uses it) gives exactly the pixels of a resample with no scratch; the
 * scratch grows to the largest need and a smaller image then reuses its buffers. */
static void test_scratch_reuse_same_pixels(void **state)
{
    (void)state;
    unsigned seed = test_seed("test_scratch_reuse_same_pixels");
    sp_scratch sc = {0};
    const uint32_t sizes[][4] = {{64, 48, 20, 15}, {300, 200, 97, 61}, {31, 17, 80, 50},
                                 {300, 200, 300, 90}, {40, 90, 13, 90}, {8, 8, 3, 2},
                                 {300, 200, 150, 201}};
    void *big_tmp = NULL;
    size_t big_cap = 0;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        for (int f = SP_FILTER_NEAREST; f <= SP_FILTER_AREA; f++)
            for (uint32_t ch = 1; ch <= 4; ch++) {
                if (ch == 2) continue;
                sp_image src = {0}, a = {0}, b = {0};
                assert_int_equal(sp_image_alloc(&src, sizes[i][0], sizes[i][1], ch), SP_OK);
                for (size_t k = 0; k < src.stride * src.height; k++)
                    src.data[k] = (uint8_t)rand_r(&seed);
                sp_error err;
                sp_error_clear(&err);
                assert_int_equal(sp_resample(&src, sizes[i][2], sizes[i][3], (sp_filter)f, &a,
                                             &err), SP_OK);
                assert_int_equal(sp_resample_scratch(&src, sizes[i][2], sizes[i][3],
                                                     (sp_filter)f, &b, &sc, &err), SP_OK);
                assert_int_equal(a.width, b.width);
                assert_int_equal(a.height, b.height);
                for (uint32_t y = 0; y < a.height; y++)
                    assert_memory_equal(a.data + y * a.stride, b.data + y * b.stride,
                                        (size_t)a.width * ch);
                /* The output is the caller's, never the scratch's. */
                for (int k = 0; k < SP_SCRATCH_SLOTS; k++) assert_true(b.data != sc.buf[k]);
                if (i == 1 && f == SP_FILTER_LANCZOS3 && ch == 4) {
                    big_tmp = sc.buf[SP_SCRATCH_TMP];
                    big_cap = sc.cap[SP_SCRATCH_TMP];
                }
                sp_image_release(&src);
                sp_image_release(&a);
                sp_image_release(&b);
            }
    /* After the 300x200 RGBA image, the smaller ones did not reallocate the buffer
     * between the passes (the last one, as large again, may grow it). */
    assert_non_null(big_tmp);
    assert_true(sc.cap[SP_SCRATCH_TMP] >= big_cap);
    sp_scratch_free(&sc);
    for (int k = 0; k < SP_SCRATCH_SLOTS; k++) assert_null(sc.buf[k]);
}

/* A box of whole pixels is the window's resample, and the whole image as a box is the
 * image's, byte for byte, for every filter. */
static void test_box_matches_window(void **state)
{
    (void)state;
    unsigned seed = test_seed("test_box_matches_window");
    sp_image src = {0};
    /* RGB, and RGBA with random alpha: premultiplied, only the box's pixels are. */
    for (uint32_t ch = 3; ch <= 4; ch++) {
        assert_int_equal(sp_image_alloc(&src, 211, 157, ch), SP_OK);
        for (size_t k = 0; k < src.stride * src.height; k++) src.data[k] = (uint8_t)rand_r(&seed);
        for (int f = SP_FILTER_NEAREST; f <= SP_FILTER_AREA; f++)
            for (int t = 0; t < 6; t++) {
                uint32_t bw = 1 + (uint32_t)rand_r(&seed) % 211;
                uint32_t bh = 1 + (uint32_t)rand_r(&seed) % 157;
                uint32_t bx = (uint32_t)rand_r(&seed) % (211 - bw + 1);
                uint32_t by = (uint32_t)rand_r(&seed) % (157 - bh + 1);
                if (t == 0) bx = by = 0, bw = 211, bh = 157;
                uint32_t w = 1 + (uint32_t)rand_r(&seed) % 120, h = 1 + (uint32_t)rand_r(&seed) % 90;
                sp_image win = src, a = {0}, b = {0};
                win.data = src.data + (size_t)by * src.stride + (size_t)bx * ch;
                win.width = bw;
                win.height = bh;
                const double box[4] = {bx, by, bx + bw, by + bh};
                sp_error err;
                sp_error_clear(&err);
                assert_int_equal(sp_resample(&win, w, h, (sp_filter)f, &a, &err), SP_OK);
                assert_int_equal(sp_resample_box(&src, box, w, h, (sp_filter)f, &b, NULL, &err),
                                 SP_OK);
                for (uint32_t y = 0; y < h; y++)
                    if (memcmp(a.data + y * a.stride, b.data + y * b.stride, (size_t)w * ch))
                        fail_msg("%u channels, filter %d box %u,%u %ux%u -> %ux%u: row %u "
                                 "differs", ch, f, bx, by, bw, bh, w, h, y);
                sp_image_release(&a);
                sp_image_release(&b);
            }
    }
    const double bad[4] = {-1, 0, 10, 10};
    sp_image out = {0};
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_resample_box(&src, bad, 4, 4, SP_FILTER_BILINEAR, &out, NULL, &err),
                     SP_E_USAGE);
    sp_image_release(&src);
}

/* The slot allocator: grows only when asked for more, keeps the buffer otherwise. */
static void test_scratch_grows_only(void **state)
{
    (void)state;
    sp_scratch sc = {0};
    void *p = sp_scratch_get(&sc, SP_SCRATCH_ACC, 1000);
    assert_non_null(p);
    assert_true(sc.cap[SP_SCRATCH_ACC] >= 1000);
    assert_ptr_equal(sp_scratch_get(&sc, SP_SCRATCH_ACC, 10), p);
    assert_ptr_equal(sp_scratch_get(&sc, SP_SCRATCH_ACC, sc.cap[SP_SCRATCH_ACC]), p);
    assert_non_null(sp_scratch_get(&sc, SP_SCRATCH_ACC, sc.cap[SP_SCRATCH_ACC] + 1));
    assert_null(sp_scratch_get(&sc, SP_SCRATCH_SLOTS, 10));
    sp_scratch_free(&sc);
}

/* ---- alpha (src/alpha.h): premultiplied around every filter but nearest, as Pillow ---- */

/* The conversions are Pillow's RGBA -> RGBa -> RGBA: c × a / 255 rounded to nearest, and
 * back 255 c / a truncated (0 and 255 kept), checked for every pair of levels against the
 * arithmetic in double; a round trip loses no more than the rounding of c × a / 255 can,
 * and nothing at alpha 255. */
static void test_premultiply_round_trip(void **state)
{
    (void)state;
    for (uint32_t a = 0; a < 256; a++)
        for (uint32_t c = 0; c < 256; c++) {
            const uint32_t p = sp_premul8(c, a);
            if (p != (uint32_t)floor(c * a / 255.0 + 0.5))
                fail_msg("premultiply %u at alpha %u gave %u", c, a, p);
            const double back = a == 0 || a == 255 ? c : fmin(255.0, floor(255.0 * c / a));
            if (sp_unpremul8(c, a) != (uint32_t)back)
                fail_msg("unpremultiply %u at alpha %u gave %u", c, a, sp_unpremul8(c, a));
            const uint32_t rt = sp_unpremul8(p, a);
            if (a == 255 && rt != c) fail_msg("alpha 255 changed %u to %u", c, rt);
            if (a > 0 && fabs((double)rt - c) > 0.5 * 255.0 / a + 1.0)
                fail_msg("round trip of %u at alpha %u gave %u", c, a, rt);
        }
    /* Whole images: an image premultiplied and back is the pixel-wise round trip. */
    unsigned seed = test_seed("test_premultiply_round_trip");
    sp_image img = {0};
    assert_int_equal(sp_image_alloc(&img, 37, 23, 4), SP_OK);
    for (size_t k = 0; k < img.stride * img.height; k++) img.data[k] = (uint8_t)rand_r(&seed);
    uint8_t *buf = malloc((size_t)37 * 23 * 4);
    assert_non_null(buf);
    sp_image pm = sp_image_premultiply(&img, buf);
    assert_false(sp_image_opaque(&img));
    for (size_t k = 0; k < (size_t)37 * 23; k++) {
        const uint8_t *o = img.data + 4 * k, *q = pm.data + 4 * k;
        assert_int_equal(q[3], o[3]);
        for (int c = 0; c < 3; c++) assert_int_equal(q[c], sp_premul8(o[c], o[3]));
    }
    sp_image_unpremultiply(&pm);
    for (size_t k = 0; k < (size_t)37 * 23; k++)
        for (int c = 0; c < 3; c++)
            assert_int_equal(pm.data[4 * k + c],
                             sp_unpremul8(sp_premul8(img.data[4 * k + c], img.data[4 * k + 3]),
                                          img.data[4 * k + 3]));
    free(buf);
    sp_image_release(&img);
}

/* The opaque scan reads eight bytes at a time: any single alpha below 255, wherever it
 * falls in a word or in a row's tail, is seen; colour bytes of any value are not alpha. */
static void test_opaque_scan(void **state)
{
    (void)state;
    for (uint32_t ch = 2; ch <= 4; ch += 2)
        for (uint32_t w = 1; w <= 9; w++) {
            sp_image img = {0};
            assert_int_equal(sp_image_alloc(&img, w, 3, ch), SP_OK);
            for (uint32_t y = 0; y < 3; y++)
                for (uint32_t x = 0; x < w; x++)
                    for (uint32_t c = 0; c < ch; c++)
                        img.data[(size_t)y * img.stride + (size_t)x * ch + c] =
                            c == ch - 1 ? 255 : (uint8_t)(x * 37 + c);
            assert_true(sp_image_opaque(&img));
            for (uint32_t y = 0; y < 3; y++)
                for (uint32_t x = 0; x < w; x++) {
                    uint8_t *a = img.data + (size_t)y * img.stride + (size_t)x * ch + ch - 1;
                    *a = 254;
                    if (sp_image_opaque(&img))
                        fail_msg("%u channels, width %u: alpha 254 at %u,%u not seen", ch, w,
                                 x, y);
                    *a = 255;
                }
            sp_image_release(&img);
        }
    sp_image rgb = {0};
    assert_int_equal(sp_image_alloc(&rgb, 5, 2, 3), SP_OK);
    memset(rgb.data, 0, rgb.stride * rgb.height);
    assert_true(sp_image_opaque(&rgb)); /* no alpha channel */
    sp_image_release(&rgb);
}

/* The reviewer's case, for every filter and the warp: opaque red beside transparent pixels
 * hiding green. Premultiplied, the green weighs nothing and red's colour equals its alpha
 * in every pixel, so every visible output pixel is exactly (255, 0, 0, a) and every other
 * one (0, 0, 0, 0); resampled straight, green would tint the edge (the old [223, 32, 0]). */
static void check_no_bleed(const sp_image *out, const char *what, bool need_edge)
{
    size_t partial = 0;
    for (uint32_t y = 0; y < out->height; y++)
        for (uint32_t x = 0; x < out->width; x++) {
            const uint8_t *p = out->data + (size_t)y * out->stride + (size_t)x * 4;
            const bool ok = p[3] ? p[0] == 255 && p[1] == 0 && p[2] == 0
                                 : p[0] == 0 && p[1] == 0 && p[2] == 0;
            if (!ok)
                fail_msg("%s: pixel %u,%u is %u,%u,%u,%u", what, x, y, p[0], p[1], p[2], p[3]);
            partial += p[3] > 0 && p[3] < 255;
        }
    if (need_edge && !partial) fail_msg("%s: no partly transparent edge to check", what);
}

static void test_alpha_does_not_bleed(void **state)
{
    (void)state;
    sp_image src = {0};
    assert_int_equal(sp_image_alloc(&src, 64, 64, 4), SP_OK);
    for (uint32_t y = 0; y < 64; y++)
        for (uint32_t x = 0; x < 64; x++) {
            uint8_t *p = src.data + (size_t)y * src.stride + (size_t)x * 4;
            const uint8_t red[4] = {255, 0, 0, 255}, green[4] = {0, 255, 0, 0};
            memcpy(p, x < 30 ? red : green, 4); /* 30: no filter lines up with it */
        }
    sp_error err;
    sp_error_clear(&err);
    char what[64];
    const uint32_t sizes[][2] = {{16, 16}, {150, 70}, {23, 64}, {31, 9}};
    for (int f = SP_FILTER_BILINEAR; f <= SP_FILTER_AREA; f++)
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            sp_image out = {0};
            assert_int_equal(sp_resample(&src, sizes[i][0], sizes[i][1], (sp_filter)f, &out,
                                         &err), SP_OK);
            snprintf(what, sizeof what, "filter %d to %ux%u", f, sizes[i][0], sizes[i][1]);
            /* the box filter enlarging copies pixels: no edge is blended */
            check_no_bleed(&out, what, !(f == SP_FILTER_AREA && sizes[i][0] > 64));
            sp_image_release(&out);
        }
    /* The sub-pixel box (a crop decoded at reduced scale) and a rotation by 30 degrees. */
    const double box[4] = {20.25, 3.5, 50.75, 60};
    sp_image out = {0};
    assert_int_equal(sp_resample_box(&src, box, 17, 29, SP_FILTER_BICUBIC, &out, NULL, &err),
                     SP_OK);
    check_no_bleed(&out, "box", true);
    double m[8];
    sp_affine_inverse(32, 32, 30, 0, 0, 1, 0, 0, m);
    assert_int_equal(sp_warp(&src, 64, 64, m, SP_BORDER_CONSTANT, 0, &out, &err), SP_OK);
    check_no_bleed(&out, "rotate 30", true);
    assert_int_equal(sp_warp(&src, 64, 64, m, SP_BORDER_REFLECT, 0, &out, &err), SP_OK);
    check_no_bleed(&out, "rotate 30 reflect", true);
    sp_image_release(&out);
    sp_image_release(&src);
}

/* Premultiplied resampling is resampling the premultiplied colour and the alpha as images
 * of their own, then going back to straight alpha: checked against that on random RGBA
 * and gray + alpha, enlarging and shrinking one axis at a time (the passes then run in one
 * order whatever the channel count). */
static void test_premultiplied_matches_split(void **state)
{
    (void)state;
    unsigned seed = test_seed("test_premultiplied_matches_split");
    const uint32_t sizes[][4] = {{41, 29, 97, 61}, {41, 29, 13, 29}, {41, 29, 41, 10}};
    for (uint32_t ch = 2; ch <= 4; ch += 2)
        for (int f = SP_FILTER_BILINEAR; f <= SP_FILTER_AREA; f++)
            for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                const uint32_t w = sizes[i][0], h = sizes[i][1], ow = sizes[i][2],
                               oh = sizes[i][3], ai = ch - 1;
                sp_image src = {0}, col = {0}, al = {0};
                assert_int_equal(sp_image_alloc(&src, w, h, ch), SP_OK);
                assert_int_equal(sp_image_alloc(&col, w, h, ai), SP_OK);
                assert_int_equal(sp_image_alloc(&al, w, h, 1), SP_OK);
                for (uint32_t y = 0; y < h; y++)
                    for (uint32_t x = 0; x < w; x++) {
                        uint8_t *p = src.data + (size_t)y * src.stride + (size_t)x * ch;
                        for (uint32_t c = 0; c < ch; c++) p[c] = (uint8_t)rand_r(&seed);
                        if (rand_r(&seed) % 3 == 0) p[ai] = 0;
                        if (rand_r(&seed) % 3 == 0) p[ai] = 255;
                        for (uint32_t c = 0; c < ai; c++)
                            col.data[(size_t)y * col.stride + (size_t)x * ai + c] =
                                sp_premul8(p[c], p[ai]);
                        al.data[(size_t)y * al.stride + x] = p[ai];
                    }
                sp_error err;
                sp_error_clear(&err);
                sp_image out = {0}, oc = {0}, oa = {0};
                assert_int_equal(sp_resample(&src, ow, oh, (sp_filter)f, &out, &err), SP_OK);
                assert_int_equal(sp_resample(&col, ow, oh, (sp_filter)f, &oc, &err), SP_OK);
                assert_int_equal(sp_resample(&al, ow, oh, (sp_filter)f, &oa, &err), SP_OK);
                for (uint32_t y = 0; y < oh; y++)
                    for (uint32_t x = 0; x < ow; x++) {
                        const uint8_t *p = out.data + (size_t)y * out.stride + (size_t)x * ch;
                        const uint8_t a = oa.data[(size_t)y * oa.stride + x];
                        assert_int_equal(p[ai], a);
                        for (uint32_t c = 0; c < ai; c++) {
                            const uint8_t want = sp_unpremul8(
                                oc.data[(size_t)y * oc.stride + (size_t)x * ai + c], a);
                            if (p[c] != want)
                                fail_msg("%u channels, filter %d, %ux%u -> %ux%u: pixel %u,%u "
                                         "channel %u is %u, expected %u", ch, f, w, h, ow, oh,
                                         x, y, c, p[c], want);
                        }
                    }
                sp_image_release(&src);
                sp_image_release(&col);
                sp_image_release(&al);
                sp_image_release(&out);
                sp_image_release(&oc);
                sp_image_release(&oa);
            }
}

/* Opaque alpha skips the conversions: an RGB image with alpha 255 added resamples (every
 * filter, shrinking and enlarging, the box variant) and warps to exactly the RGB result
 * with alpha 255, byte for byte. */
static void check_rgb_plus_opaque(const sp_image *rgb, const sp_image *rgba, const char *what)
{
    assert_int_equal(rgba->channels, 4);
    assert_int_equal(rgb->width, rgba->width);
    assert_int_equal(rgb->height, rgba->height);
    for (uint32_t y = 0; y < rgb->height; y++)
        for (uint32_t x = 0; x < rgb->width; x++) {
            const uint8_t *p = rgb->data + (size_t)y * rgb->stride + (size_t)x * 3;
            const uint8_t *q = rgba->data + (size_t)y * rgba->stride + (size_t)x * 4;
            if (memcmp(p, q, 3) || q[3] != 255)
                fail_msg("%s: pixel %u,%u is %u,%u,%u,%u, RGB gives %u,%u,%u", what, x, y,
                         q[0], q[1], q[2], q[3], p[0], p[1], p[2]);
        }
}

static void test_opaque_alpha_is_rgb(void **state)
{
    (void)state;
    unsigned seed = test_seed("test_opaque_alpha_is_rgb");
    sp_image rgb = {0}, rgba = {0};
    assert_int_equal(sp_image_alloc(&rgb, 53, 41, 3), SP_OK);
    for (size_t k = 0; k < rgb.stride * rgb.height; k++) rgb.data[k] = (uint8_t)rand_r(&seed);
    copy_image(&rgb, &rgba);
    assert_int_equal(sp_image_add_alpha(&rgba), SP_OK);
    assert_true(sp_image_opaque(&rgba));
    sp_error err;
    sp_error_clear(&err);
    char what[64];
    const uint32_t sizes[][2] = {{20, 15}, {120, 90}, {53, 200}, {7, 41}};
    for (int f = SP_FILTER_NEAREST; f <= SP_FILTER_AREA; f++)
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            sp_image a = {0}, b = {0};
            assert_int_equal(sp_resample(&rgb, sizes[i][0], sizes[i][1], (sp_filter)f, &a,
                                         &err), SP_OK);
            assert_int_equal(sp_resample(&rgba, sizes[i][0], sizes[i][1], (sp_filter)f, &b,
                                         &err), SP_OK);
            snprintf(what, sizeof what, "filter %d to %ux%u", f, sizes[i][0], sizes[i][1]);
            check_rgb_plus_opaque(&a, &b, what);
            const double box[4] = {3.25, 1.5, 50, 40.75};
            assert_int_equal(sp_resample_box(&rgb, box, sizes[i][0], sizes[i][1],
                                             (sp_filter)f, &a, NULL, &err), SP_OK);
            assert_int_equal(sp_resample_box(&rgba, box, sizes[i][0], sizes[i][1],
                                             (sp_filter)f, &b, NULL, &err), SP_OK);
            check_rgb_plus_opaque(&a, &b, "box");
            sp_image_release(&a);
            sp_image_release(&b);
        }
    double m[8];
    sp_affine_inverse(26, 20, -33, 2, -3, 1.2, 8, 0, m);
    for (int border = SP_BORDER_CONSTANT; border <= SP_BORDER_REFLECT; border++) {
        sp_image a = {0}, b = {0};
        assert_int_equal(sp_warp(&rgb, 60, 45, m, (sp_border)border, 255, &a, &err), SP_OK);
        assert_int_equal(sp_warp(&rgba, 60, 45, m, (sp_border)border, 255, &b, &err), SP_OK);
        check_rgb_plus_opaque(&a, &b, "warp");
        sp_image_release(&a);
        sp_image_release(&b);
    }
    sp_image_release(&rgb);
    sp_image_release(&rgba);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_padded_stride),
        cmocka_unit_test(test_identity_is_copy),
        cmocka_unit_test(test_nearest_duplicates),
        cmocka_unit_test(test_constant_stays_constant),
        cmocka_unit_test(test_checkerboard_antialiased),
        cmocka_unit_test(test_empty_target_refused),
        cmocka_unit_test(test_scratch_reuse_same_pixels),
        cmocka_unit_test(test_scratch_grows_only),
        cmocka_unit_test(test_box_matches_window),
        cmocka_unit_test(test_premultiply_round_trip),
        cmocka_unit_test(test_opaque_scan),
        cmocka_unit_test(test_alpha_does_not_bleed),
        cmocka_unit_test(test_premultiplied_matches_split),
        cmocka_unit_test(test_opaque_alpha_is_rgb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
