/*
 * Separable resampling, the same way Pillow does it so results can be compared with what
 * users know: for each output pixel, a filter centred on the matching input position with
 * its support widened by the scale factor when shrinking (antialiasing: every input pixel
 * contributes, none is skipped); coefficients normalised, then held in 22-bit fixed point;
 * horizontal pass, then vertical, each skipped when that axis keeps its size.
 *
 * Coefficients are computed once per (input size, output size) axis, not per pixel, into
 * the worker thread's scratch (sp_scratch), as is the image between the two passes: a
 * build resamples a million images without a malloc for either.
 *
 * An image with alpha (RGBA, gray + alpha) is resampled premultiplied, as Pillow does for
 * every filter but nearest (RGBA -> RGBa, resize, back; src/alpha.h): otherwise the colour
 * under fully transparent pixels bleeds into the visible edge. The premultiplied source
 * is one more scratch buffer; an image whose alpha is all 255 skips it (one scan), so it
 * gets exactly the pixels of its RGB version with alpha 255.
 */
#include "alpha.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS (32 - 8 - 2)

const sp_enum_choice sp_filter_choices[] = {
    {SP_FILTER_NEAREST, "nearest", "nearest neighbour (no antialiasing)"},
    {SP_FILTER_BILINEAR, "bilinear", "triangle filter, support 1"},
    {SP_FILTER_BICUBIC, "bicubic", "cubic convolution, a = -0.5, support 2"},
    {SP_FILTER_LANCZOS3, "lanczos3", "windowed sinc, support 3"},
    {SP_FILTER_AREA, "area", "box filter: the mean of the covered input pixels"},
    {0, NULL, NULL},
};

static double f_box(double x)
{
    return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

static double f_triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double f_bicubic(double x)
{
    const double a = -0.5;
    x = fabs(x);
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
    return 0.0;
}

static double sinc(double x)
{
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double f_lanczos3(double x)
{
    return x > -3.0 && x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0;
}

typedef struct filter_def {
    double (*fn)(double);
    double support;
} filter_def;

static filter_def filter_of(sp_filter f)
{
    switch (f) {
    case SP_FILTER_BILINEAR: return (filter_def){f_triangle, 1.0};
    case SP_FILTER_BICUBIC: return (filter_def){f_bicubic, 2.0};
    case SP_FILTER_LANCZOS3: return (filter_def){f_lanczos3, 3.0};
    case SP_FILTER_AREA:
    case SP_FILTER_NEAREST: break;
    }
    return (filter_def){f_box, 0.5};
}

/* Per output pixel: the first input pixel and the fixed-point weights of a window. The
 * tables live in the thread's scratch: computed once per pass, reused memory. */
typedef struct coeffs {
    int ksize;
    int *bounds; /* out_size × (xmin, count) */
    int32_t *k;  /* out_size × ksize */
} coeffs;

/* The window of input [b0, b1) (a sub-pixel box; 0, in for the whole axis) resampled to
 * `out` pixels, as Pillow's precompute_coeffs with its `box`, except that taps stop at the
 * pixels the box touches (Pillow reads on past it): the box stands for a crop, and a crop
 * has no neighbours, so a box of whole pixels gives exactly the crop's resize. */
static int coeffs_make(uint32_t in, double b0, double b1, uint32_t out, filter_def f,
                       sp_scratch *sc, coeffs *c)
{
    double scale = (b1 - b0) / out;
    /* Worked in coordinates from the first pixel the box touches, so that a box of whole
     * pixels computes exactly what the crop's own resize computes (same doubles). */
    const int lo = (int)floor(b0);
    const int n = ((int)ceil(b1) < (int)in ? (int)ceil(b1) : (int)in) - lo;
    const double off = b0 - lo;
    double fscale = scale < 1.0 ? 1.0 : scale;
    double support = f.support * fscale;
    c->ksize = (int)ceil(support) * 2 + 1;
    c->bounds = sp_scratch_get(sc, SP_SCRATCH_COEF_BOUNDS, sizeof(int) * 2 * (size_t)out);
    c->k = sp_scratch_get(sc, SP_SCRATCH_COEF_K, sizeof(int32_t) * (size_t)c->ksize * out);
    double *pre = sp_scratch_get(sc, SP_SCRATCH_COEF_PRE, sizeof(double) * (size_t)c->ksize);
    if (!c->bounds || !c->k || !pre) return SP_E_NOMEM;
    for (uint32_t xx = 0; xx < out; xx++) {
        double center = off + (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > n) xmax = n;
        xmax -= xmin;
        if (xmax > c->ksize) xmax = c->ksize;
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
            double w = f.fn((x + xmin - center + 0.5) / fscale);
            pre[x] = w;
            ww += w;
        }
        int32_t *k = c->k + (size_t)xx * c->ksize;
        for (int x = 0; x < c->ksize; x++) {
            double w = x < xmax && ww != 0.0 ? pre[x] / ww : 0.0;
            k[x] = (int32_t)(w < 0 ? w * (1 << PRECISION_BITS) - 0.5
                                   : w * (1 << PRECISION_BITS) + 0.5);
        }
        c->bounds[2 * xx] = xmin + lo;
        c->bounds[2 * xx + 1] = xmax;
    }
    return SP_OK;
}

static inline uint8_t clip8(int32_t v)
{
    v >>= PRECISION_BITS;
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

/* `ch` is a compile-time constant at each call site below, so the channel loop unrolls. */
static inline void pass_h_rows(const sp_image *src, sp_image *dst, const coeffs *c,
                               const uint32_t ch)
{
    for (uint32_t y = 0; y < dst->height; y++) {
        const uint8_t *in = src->data + (size_t)y * src->stride;
        uint8_t *out = dst->data + (size_t)y * dst->stride;
        for (uint32_t x = 0; x < dst->width; x++) {
            int xmin = c->bounds[2 * x], n = c->bounds[2 * x + 1];
            const int32_t *k = c->k + (size_t)x * c->ksize;
            const uint8_t *p = in + (size_t)xmin * ch;
            int32_t ss[4] = {1 << (PRECISION_BITS - 1), 1 << (PRECISION_BITS - 1),
                             1 << (PRECISION_BITS - 1), 1 << (PRECISION_BITS - 1)};
            for (int i = 0; i < n; i++, p += ch)
                for (uint32_t b = 0; b < ch; b++) ss[b] += p[b] * k[i];
            for (uint32_t b = 0; b < ch; b++) out[x * ch + b] = clip8(ss[b]);
        }
    }
}

static void pass_h(const sp_image *src, sp_image *dst, const coeffs *c)
{
    switch (src->channels) {
    case 1: pass_h_rows(src, dst, c, 1); break;
    case 3: pass_h_rows(src, dst, c, 3); break;
    case 4: pass_h_rows(src, dst, c, 4); break;
    default: pass_h_rows(src, dst, c, 2); break;
    }
}

/* Row-wise: each tap adds a whole input row into an accumulator row, so the inner loop
 * walks memory in order and vectorises; `acc` holds width × channels int32s. */
static void pass_v(const sp_image *src, sp_image *dst, const coeffs *c, int32_t *acc)
{
    const size_t rowlen = (size_t)dst->width * dst->channels;
    for (uint32_t y = 0; y < dst->height; y++) {
        int ymin = c->bounds[2 * y], n = c->bounds[2 * y + 1];
        const int32_t *k = c->k + (size_t)y * c->ksize;
        for (size_t x = 0; x < rowlen; x++) acc[x] = 1 << (PRECISION_BITS - 1);
        for (int i = 0; i < n; i++) {
            const uint8_t *in = src->data + (size_t)(ymin + i) * src->stride;
            const int32_t w = k[i];
            for (size_t x = 0; x < rowlen; x++) acc[x] += in[x] * w;
        }
        uint8_t *out = dst->data + (size_t)y * dst->stride;
        for (size_t x = 0; x < rowlen; x++) out[x] = clip8(acc[x]);
    }
}

/* Nearest neighbour of a sub-pixel box: the input pixel under each output centre. */
static int64_t nearest_index(double b0, double b1, uint32_t out, uint32_t i, uint32_t in)
{
    int64_t k = (int64_t)floor(b0 + (i + 0.5) * (b1 - b0) / out);
    return k < 0 ? 0 : k >= (int64_t)in ? (int64_t)in - 1 : k;
}

static int nearest_box(const sp_image *src, const double box[4], uint32_t w, uint32_t h,
                       sp_image *dst, sp_scratch *sc)
{
    const uint32_t ch = src->channels;
    size_t *col = sp_scratch_get(sc, SP_SCRATCH_COLS, sizeof(size_t) * w);
    if (!col) return SP_E_NOMEM;
    sp_image out = {0};
    int rc = sp_image_alloc(&out, w, h, ch);
    if (rc != SP_OK) return rc;
    for (uint32_t x = 0; x < w; x++)
        col[x] = (size_t)nearest_index(box[0], box[2], w, x, src->width) * ch;
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *in =
            src->data + (size_t)nearest_index(box[1], box[3], h, y, src->height) * src->stride;
        uint8_t *o = out.data + (size_t)y * out.stride;
        for (uint32_t x = 0; x < w; x++) memcpy(o + (size_t)x * ch, in + col[x], ch);
    }
    sp_image_move(dst, &out);
    return SP_OK;
}

static int nearest(const sp_image *src, uint32_t w, uint32_t h, sp_image *dst, sp_scratch *sc)
{
    const uint32_t ch = src->channels;
    /* The source column of every output column, once, not a division per pixel. */
    size_t *col = sp_scratch_get(sc, SP_SCRATCH_COLS, sizeof(size_t) * w);
    if (!col) return SP_E_NOMEM;
    sp_image out = {0};
    int rc = sp_image_alloc(&out, w, h, src->channels);
    if (rc != SP_OK) return rc;
    for (uint32_t x = 0; x < w; x++)
        col[x] = (size_t)(((uint64_t)x * 2 + 1) * src->width / (2 * (uint64_t)w)) * ch;
    for (uint32_t y = 0; y < h; y++) {
        uint32_t sy = (uint32_t)(((uint64_t)y * 2 + 1) * src->height / (2 * (uint64_t)h));
        const uint8_t *in = src->data + (size_t)sy * src->stride;
        uint8_t *o = out.data + (size_t)y * out.stride;
        if (ch == 3)
            for (uint32_t x = 0; x < w; x++, o += 3) {
                o[0] = in[col[x]];
                o[1] = in[col[x] + 1];
                o[2] = in[col[x] + 2];
            }
        else
            for (uint32_t x = 0; x < w; x++) memcpy(o + (size_t)x * ch, in + col[x], ch);
    }
    sp_image_move(dst, &out);
    return SP_OK;
}

/* The image between the two passes, in the scratch: a view, never released. */
static int scratch_image(sp_scratch *sc, uint32_t w, uint32_t h, uint32_t ch, sp_image *img)
{
    uint64_t stride = (uint64_t)w * ch;
    if (stride > SIZE_MAX / h || stride * h > ((uint64_t)1 << 40)) return SP_E_LIMIT;
    uint8_t *p = sp_scratch_get(sc, SP_SCRATCH_TMP, (size_t)(stride * h));
    if (!p) return SP_E_NOMEM;
    *img = (sp_image){.width = w, .height = h, .channels = ch, .stride = (size_t)stride,
                      .data = p};
    return SP_OK;
}

/* One pass from src into out (already sized): columns or rows resampled. */
static int horizontal(const sp_image *src, double b0, double b1, filter_def f, sp_scratch *sc,
                      sp_image *out)
{
    coeffs c;
    int rc = coeffs_make(src->width, b0, b1, out->width, f, sc, &c);
    if (rc == SP_OK) pass_h(src, out, &c);
    return rc;
}

static int vertical(const sp_image *src, double b0, double b1, filter_def f, sp_scratch *sc,
                    sp_image *out)
{
    int32_t *acc = sp_scratch_get(sc, SP_SCRATCH_ACC,
                                  sizeof(int32_t) * src->width * src->channels);
    if (!acc) return SP_E_NOMEM;
    coeffs c;
    int rc = coeffs_make(src->height, b0, b1, out->height, f, sc, &c);
    if (rc == SP_OK) pass_v(src, out, &c, acc);
    return rc;
}

/* box: the sub-pixel box of src to resample (x0, y0, x1, y1), or NULL for all of it. */
static int resample(const sp_image *src, const double *box, uint32_t dst_w, uint32_t dst_h,
                    sp_filter filter, sp_image *dst, sp_scratch *sc)
{
    const double all[4] = {0, 0, src->width, src->height};
    if (filter == SP_FILTER_NEAREST)
        return box ? nearest_box(src, box, dst_w, dst_h, dst, sc)
                   : nearest(src, dst_w, dst_h, dst, sc);
    if (!box) box = all;
    filter_def f = filter_of(filter);
    sp_image tmp = {0}, out = {0};
    bool do_h = dst_w != src->width || box[0] != 0 || box[2] != src->width;
    bool do_v = dst_h != src->height || box[1] != 0 || box[3] != src->height;
    /* When both axes change and the height shrinks, the vertical pass goes first: it adds
     * whole rows (contiguous, vectorised) and leaves the horizontal pass, whose taps walk
     * one pixel at a time, only dst_h rows instead of src->height. */
    /* The passes read only the pixels the box touches (coeffs_make): a view of them, and
     * the box in its coordinates. Shifting by whole pixels is exact in doubles, so the
     * coefficients are the same; only the view is checked for alpha and premultiplied, so
     * a small crop of a large RGBA image costs the crop. */
    const uint32_t ch = src->channels;
    const uint32_t x0 = (uint32_t)floor(box[0]), y0 = (uint32_t)floor(box[1]);
    const uint32_t x1 = box[2] < src->width ? (uint32_t)ceil(box[2]) : src->width;
    const uint32_t y1 = box[3] < src->height ? (uint32_t)ceil(box[3]) : src->height;
    sp_image view = {.width = x1 - x0, .height = y1 - y0, .channels = ch, .stride = src->stride,
                     .data = src->data + (size_t)y0 * src->stride + (size_t)x0 * ch};
    /* Same size on both axes is a copy (as Pillow, which returns before converting). */
    const bool premul = (do_h || do_v) && x1 > x0 && y1 > y0 && !sp_image_opaque(&view);
    /* Premultiplied, the passes go in Pillow's order, columns first: the image between
     * them is rounded to 8 bits, and where alpha is small, taking the colour back to
     * straight alpha (× 255 / a) turns a level of rounding into many. */
    bool v_first = do_h && do_v && dst_h < box[3] - box[1] && !premul;
    sp_image pm;
    double shifted[4];
    if (premul) {
        uint64_t bytes = (uint64_t)view.width * ch * view.height;
        if (bytes > ((uint64_t)1 << 40) || bytes > SIZE_MAX) return SP_E_LIMIT;
        uint8_t *buf = sp_scratch_get(sc, SP_SCRATCH_PREMUL, (size_t)bytes);
        if (!buf) return SP_E_NOMEM;
        pm = sp_image_premultiply(&view, buf);
        src = &pm;
        shifted[0] = box[0] - x0, shifted[1] = box[1] - y0;
        shifted[2] = box[2] - x0, shifted[3] = box[3] - y0;
        box = shifted;
    }
    int rc = sp_image_alloc(&out, dst_w, dst_h, src->channels);
    if (rc != SP_OK) return rc;
    if (!do_h && !do_v) {
        /* Same size on both axes: a copy, so the caller always owns a fresh image. */
        for (uint32_t y = 0; y < dst_h; y++)
            memcpy(out.data + (size_t)y * out.stride, src->data + (size_t)y * src->stride,
                   (size_t)dst_w * src->channels);
    } else if (v_first) {
        rc = scratch_image(sc, src->width, dst_h, src->channels, &tmp);
        if (rc == SP_OK) rc = vertical(src, box[1], box[3], f, sc, &tmp);
        if (rc == SP_OK) rc = horizontal(&tmp, box[0], box[2], f, sc, &out);
    } else if (do_h && do_v) {
        rc = scratch_image(sc, dst_w, src->height, src->channels, &tmp);
        if (rc == SP_OK) rc = horizontal(src, box[0], box[2], f, sc, &tmp);
        if (rc == SP_OK) rc = vertical(&tmp, box[1], box[3], f, sc, &out);
    } else {
        rc = do_h ? horizontal(src, box[0], box[2], f, sc, &out)
                  : vertical(src, box[1], box[3], f, sc, &out);
    }
    if (rc != SP_OK) {
        sp_image_release(&out);
        return rc;
    }
    if (premul) sp_image_unpremultiply(&out);
    sp_image_move(dst, &out);
    return SP_OK;
}

/* The public entry points: an empty target refused, a scratch of its own when the caller
 * gives none, failures described. box is checked by the caller (NULL: the whole image). */
static int resample_api(const sp_image *src, const double *box, uint32_t dst_w, uint32_t dst_h,
                        sp_filter filter, sp_image *dst, sp_scratch *scratch, sp_error *err)
{
    if (dst_w == 0 || dst_h == 0) return sp_fail(err, SP_E_USAGE, "resize to an empty image");
    sp_scratch own = {0};
    int rc = resample(src, box, dst_w, dst_h, filter, dst, scratch ? scratch : &own);
    sp_scratch_free(&own);
    if (rc != SP_OK)
        return sp_fail(err, rc, "cannot resample %ux%u to %ux%u", src->width, src->height,
                       dst_w, dst_h);
    return SP_OK;
}

int sp_resample_scratch(const sp_image *src, uint32_t dst_w, uint32_t dst_h, sp_filter filter,
                        sp_image *dst, sp_scratch *scratch, sp_error *err)
{
    return resample_api(src, NULL, dst_w, dst_h, filter, dst, scratch, err);
}

int sp_resample(const sp_image *src, uint32_t dst_w, uint32_t dst_h, sp_filter filter,
                sp_image *dst, sp_error *err)
{
    return sp_resample_scratch(src, dst_w, dst_h, filter, dst, NULL, err);
}

int sp_resample_box(const sp_image *src, const double box[4], uint32_t dst_w, uint32_t dst_h,
                    sp_filter filter, sp_image *dst, sp_scratch *scratch, sp_error *err)
{
    if (!(box[0] >= 0 && box[1] >= 0 && box[2] > box[0] && box[3] > box[1] &&
          box[2] <= src->width && box[3] <= src->height))
        return sp_fail(err, SP_E_USAGE, "box %g,%g-%g,%g outside the %ux%u image", box[0],
                       box[1], box[2], box[3], src->width, src->height);
    return resample_api(src, box, dst_w, dst_h, filter, dst, scratch, err);
}
