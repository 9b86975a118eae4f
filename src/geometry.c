/*
 * Geometry helpers for the pixel stages (src/geometry.h). Everything here copies or
 * samples whole rows at a time with the channel count fixed at each call site, so the
 * compiler can unroll the per-pixel work; nothing allocates per pixel.
 */
#include "alpha.h"
#include "geometry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const sp_enum_choice sp_border_choices[] = {
    {SP_BORDER_CONSTANT, "constant", "the fill level"},
    {SP_BORDER_EDGE, "edge", "the edge pixel repeated"},
    {SP_BORDER_REFLECT, "reflect", "mirrored about the edge pixel (d c b | a b c d)"},
    {SP_BORDER_SYMMETRIC, "symmetric", "mirrored about the edge (c b a | a b c d)"},
    {0, NULL, NULL},
};

/* A warp samples between pixels, where reflect and symmetric differ by half a pixel at
 * most: only the rules users ask of a rotation are offered. */
const sp_enum_choice sp_warp_border_choices[] = {
    {SP_BORDER_CONSTANT, "constant", "the fill level (as Pillow's fillcolor)"},
    {SP_BORDER_EDGE, "edge", "the edge pixel repeated"},
    {SP_BORDER_REFLECT, "reflect", "the image mirrored about its edge pixels"},
    {0, NULL, NULL},
};

int64_t sp_border_index(int64_t i, int64_t n, sp_border mode)
{
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case SP_BORDER_REFLECT: {
        if (n == 1) return 0;
        /* Mirroring repeats with period 2(n - 1): far-away indices fold back the same way
         * numpy's repeated reflection does. */
        int64_t period = 2 * (n - 1), k = i % period;
        if (k < 0) k += period;
        return k < n ? k : period - k;
    }
    case SP_BORDER_SYMMETRIC: {
        int64_t period = 2 * n, k = i % period;
        if (k < 0) k += period;
        return k < n ? k : period - 1 - k;
    }
    case SP_BORDER_CONSTANT:
    case SP_BORDER_EDGE: break;
    }
    return i < 0 ? 0 : n - 1;
}

int sp_pad_image(const sp_image *src, uint32_t l, uint32_t t, uint32_t r, uint32_t b,
                 sp_border mode, uint8_t fill, sp_image *dst, sp_error *err)
{
    uint64_t ow = (uint64_t)src->width + l + r, oh = (uint64_t)src->height + t + b;
    if (ow > UINT32_MAX || oh > UINT32_MAX)
        return sp_fail(err, SP_E_LIMIT, "padding makes a %llux%llu image",
                       (unsigned long long)ow, (unsigned long long)oh);
    sp_image out = {0};
    int rc = sp_image_alloc(&out, (uint32_t)ow, (uint32_t)oh, src->channels);
    if (rc != SP_OK)
        return sp_fail(err, rc, "cannot allocate %llux%llu image", (unsigned long long)ow,
                       (unsigned long long)oh);
    /* Source columns of the left and right bands, computed once for every row. */
    uint32_t *xmap = NULL;
    if (mode != SP_BORDER_CONSTANT && (l || r)) {
        xmap = malloc(sizeof(uint32_t) * ((size_t)l + r));
        if (!xmap) {
            sp_image_release(&out);
            return sp_fail(err, SP_E_NOMEM, "out of memory");
        }
        for (uint32_t i = 0; i < l; i++)
            xmap[i] = (uint32_t)sp_border_index((int64_t)i - l, src->width, mode);
        for (uint32_t i = 0; i < r; i++)
            xmap[l + i] = (uint32_t)sp_border_index((int64_t)src->width + i, src->width, mode);
    }
    const size_t ch = src->channels, inner = (size_t)src->width * ch;
    for (uint32_t y = 0; y < out.height; y++) {
        uint8_t *o = out.data + (size_t)y * out.stride;
        int64_t sy = (int64_t)y - t;
        if (mode == SP_BORDER_CONSTANT && (sy < 0 || sy >= src->height)) {
            memset(o, fill, (size_t)out.width * ch);
            continue;
        }
        const uint8_t *in =
            src->data + (size_t)sp_border_index(sy, src->height, mode) * src->stride;
        if (mode == SP_BORDER_CONSTANT) {
            memset(o, fill, (size_t)l * ch);
            memset(o + (size_t)l * ch + inner, fill, (size_t)r * ch);
        } else {
            for (uint32_t i = 0; i < l; i++) memcpy(o + i * ch, in + (size_t)xmap[i] * ch, ch);
            for (uint32_t i = 0; i < r; i++)
                memcpy(o + (size_t)l * ch + inner + i * ch, in + (size_t)xmap[l + i] * ch, ch);
        }
        memcpy(o + (size_t)l * ch, in, inner);
    }
    free(xmap);
    sp_image_move(dst, &out);
    return SP_OK;
}

int sp_image_remap(const sp_image *src, const int64_t *xmap, uint32_t w, const int64_t *ymap,
                   uint32_t h, uint8_t fill, sp_image *dst, sp_error *err)
{
    sp_image out = {0};
    int rc = sp_image_alloc(&out, w, h, src->channels);
    if (rc != SP_OK) return sp_fail(err, rc, "cannot allocate %ux%u image", w, h);
    const size_t ch = src->channels;
    for (uint32_t j = 0; j < h; j++) {
        uint8_t *o = out.data + (size_t)j * out.stride;
        if (ymap[j] < 0) {
            memset(o, fill, (size_t)w * ch);
            continue;
        }
        const uint8_t *in = src->data + (size_t)ymap[j] * src->stride;
        for (uint32_t i = 0; i < w;) {
            if (xmap[i] < 0) {
                memset(o + (size_t)i * ch, fill, ch);
                i++;
                continue;
            }
            uint32_t e = i + 1;
            while (e < w && xmap[e] == xmap[e - 1] + 1) e++;
            memcpy(o + (size_t)i * ch, in + (size_t)xmap[i] * ch, (size_t)(e - i) * ch);
            i = e;
        }
    }
    sp_image_move(dst, &out);
    return SP_OK;
}

sp_image sp_image_window(const sp_image *img, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    sp_image v = *img;
    v.width = w;
    v.height = h;
    v.data = img->data + (size_t)y * img->stride + (size_t)x * img->channels;
    return v;
}

int sp_image_copy_box(const sp_image *src, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                      sp_image *dst, sp_error *err)
{
    sp_image out = {0};
    int rc = sp_image_alloc(&out, w, h, src->channels);
    if (rc != SP_OK) return sp_fail(err, rc, "cannot allocate %ux%u image", w, h);
    const sp_image win = sp_image_window(src, x, y, w, h);
    for (uint32_t r = 0; r < h; r++)
        memcpy(out.data + (size_t)r * out.stride, win.data + (size_t)r * win.stride,
               (size_t)w * src->channels);
    sp_image_move(dst, &out);
    return SP_OK;
}

/* Quarter turns read one image along columns; working in 64 × 64 tiles keeps both the
 * rows read and the rows written in cache. */
#define TILE 64

static inline void turn(const sp_image *src, sp_image *dst, int k, const uint32_t ch)
{
    const uint32_t W = src->width, H = src->height;
    if (k == 2) { /* a half turn reads rows in order: each output row is a row reversed */
        for (uint32_t y = 0; y < H; y++) {
            const uint8_t *in = src->data + (size_t)(H - 1 - y) * src->stride;
            uint8_t *o = dst->data + (size_t)y * dst->stride;
            for (uint32_t x = 0; x < W; x++)
                for (uint32_t c = 0; c < ch; c++)
                    o[(size_t)x * ch + c] = in[(size_t)(W - 1 - x) * ch + c];
        }
        return;
    }
    for (uint32_t ty = 0; ty < dst->height; ty += TILE) {
        uint32_t ey = ty + TILE < dst->height ? ty + TILE : dst->height;
        for (uint32_t tx = 0; tx < dst->width; tx += TILE) {
            uint32_t ex = tx + TILE < dst->width ? tx + TILE : dst->width;
            for (uint32_t y = ty; y < ey; y++) {
                uint8_t *o = dst->data + (size_t)y * dst->stride;
                for (uint32_t x = tx; x < ex; x++) {
                    uint32_t sx, sy; /* where output (x, y) comes from */
                    if (k == 1) {
                        sx = W - 1 - y;
                        sy = x;
                    } else { /* k == 3; half turns returned above */
                        sx = y;
                        sy = H - 1 - x;
                    }
                    const uint8_t *p = src->data + (size_t)sy * src->stride + (size_t)sx * ch;
                    for (uint32_t c = 0; c < ch; c++) o[(size_t)x * ch + c] = p[c];
                }
            }
        }
    }
}

int sp_quarter_turn(const sp_image *src, int k, sp_image *dst, sp_error *err)
{
    k = ((k % 4) + 4) % 4;
    uint32_t w = k % 2 ? src->height : src->width, h = k % 2 ? src->width : src->height;
    sp_image out = {0};
    int rc = sp_image_alloc(&out, w, h, src->channels);
    if (rc != SP_OK) return sp_fail(err, rc, "cannot allocate %ux%u image", w, h);
    if (k == 0) {
        for (uint32_t y = 0; y < h; y++)
            memcpy(out.data + (size_t)y * out.stride, src->data + (size_t)y * src->stride,
                   (size_t)w * src->channels);
    } else {
        switch (src->channels) {
        case 1: turn(src, &out, k, 1); break;
        case 3: turn(src, &out, k, 3); break;
        case 4: turn(src, &out, k, 4); break;
        default: turn(src, &out, k, src->channels); break;
        }
    }
    sp_image_move(dst, &out);
    return SP_OK;
}

/* Bilinear weights in 11 bits: 255 × 2^11 × 2^11 still fits in 32 bits unsigned. */
#define WBITS 11
#define WONE (1u << WBITS)

static inline int64_t clamp_index(int64_t i, int64_t n)
{
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/* `premul` (an image with alpha, not all opaque): the four taps are premultiplied and the
 * result taken back to straight alpha, as Pillow's transform does through RGBa (src/alpha.h),
 * so colour under transparent pixels does not bleed into visible ones. The taps are
 * converted as they are read, which gives the values of a premultiplied copy without one.
 * The blend is truncated there, as Pillow's is, not rounded: where alpha is small, going
 * back to straight alpha (x 255 / a) turns the half level rounding adds into many levels
 * (a transparent image's opaque pixels may so differ by one level from the opaque image's;
 * the opaque path keeps its rounding and its pixels). */
static inline void warp_rows(const sp_image *src, sp_image *dst, const double m[8],
                             sp_border border, uint8_t fill, const uint32_t ch,
                             const bool premul)
{
    const int64_t W = src->width, H = src->height;
    const bool persp = m[6] != 0.0 || m[7] != 0.0;
    /* Anything this far out is outside however the border rule folds it back; keeping
     * positions bounded also keeps the conversions to integers defined. */
    const double far = 1e9;
    for (uint32_t y = 0; y < dst->height; y++) {
        uint8_t *o = dst->data + (size_t)y * dst->stride;
        const double Y = y + 0.5;
        for (uint32_t x = 0; x < dst->width; x++, o += ch) {
            const double X = x + 0.5;
            double xin = m[0] * X + m[1] * Y + m[2], yin = m[3] * X + m[4] * Y + m[5];
            if (persp) {
                double d = m[6] * X + m[7] * Y + 1.0;
                xin /= d;
                yin /= d;
            }
            if (!(xin > -far && xin < far && yin > -far && yin < far) ||
                (border == SP_BORDER_CONSTANT && (xin < 0 || xin >= W || yin < 0 || yin >= H))) {
                for (uint32_t c = 0; c < ch; c++) o[c] = fill;
                continue;
            }
            /* The four pixel centres around the position. */
            const double xs = xin - 0.5, ys = yin - 0.5, fx = floor(xs), fy = floor(ys);
            const uint32_t wx = (uint32_t)((xs - fx) * WONE + 0.5);
            const uint32_t wy = (uint32_t)((ys - fy) * WONE + 0.5);
            int64_t x0 = (int64_t)fx, y0 = (int64_t)fy, x1 = x0 + 1, y1 = y0 + 1;
            if (border == SP_BORDER_CONSTANT || border == SP_BORDER_EDGE) {
                x0 = clamp_index(x0, W);
                x1 = clamp_index(x1, W);
                y0 = clamp_index(y0, H);
                y1 = clamp_index(y1, H);
            } else {
                x0 = sp_border_index(x0, W, border);
                x1 = sp_border_index(x1, W, border);
                y0 = sp_border_index(y0, H, border);
                y1 = sp_border_index(y1, H, border);
            }
            const uint8_t *r0 = src->data + (size_t)y0 * src->stride;
            const uint8_t *r1 = src->data + (size_t)y1 * src->stride;
            const uint8_t *p00 = r0 + (size_t)x0 * ch, *p01 = r0 + (size_t)x1 * ch;
            const uint8_t *p10 = r1 + (size_t)x0 * ch, *p11 = r1 + (size_t)x1 * ch;
            if (premul) {
                const uint32_t ai = ch - 1, a00 = p00[ai], a01 = p01[ai], a10 = p10[ai],
                               a11 = p11[ai];
                uint32_t top = a00 * (WONE - wx) + a01 * wx;
                uint32_t bot = a10 * (WONE - wx) + a11 * wx;
                const uint32_t a = (top * (WONE - wy) + bot * wy) >> (2 * WBITS);
                o[ai] = (uint8_t)a;
                for (uint32_t c = 0; c < ai; c++) {
                    top = sp_premul8(p00[c], a00) * (WONE - wx) + sp_premul8(p01[c], a01) * wx;
                    bot = sp_premul8(p10[c], a10) * (WONE - wx) + sp_premul8(p11[c], a11) * wx;
                    o[c] = sp_unpremul8((top * (WONE - wy) + bot * wy) >> (2 * WBITS), a);
                }
                continue;
            }
            for (uint32_t c = 0; c < ch; c++) {
                uint32_t top = p00[c] * (WONE - wx) + p01[c] * wx;
                uint32_t bot = p10[c] * (WONE - wx) + p11[c] * wx;
                o[c] = (uint8_t)((top * (WONE - wy) + bot * wy + (1u << (2 * WBITS - 1))) >>
                                 (2 * WBITS));
            }
        }
    }
}

int sp_warp(const sp_image *src, uint32_t w, uint32_t h, const double m[8], sp_border border,
            uint8_t fill, sp_image *dst, sp_error *err)
{
    sp_image out = {0};
    int rc = sp_image_alloc(&out, w, h, src->channels);
    if (rc != SP_OK) return sp_fail(err, rc, "cannot allocate %ux%u image", w, h);
    /* Opaque alpha (every image of a background = keep run that had none) skips the
     * conversions: the same pixels as before, at the RGB path's cost plus one scan. */
    const bool premul = !sp_image_opaque(src);
    switch (src->channels) {
    case 1: warp_rows(src, &out, m, border, fill, 1, false); break;
    case 3: warp_rows(src, &out, m, border, fill, 3, false); break;
    case 4:
        if (premul) warp_rows(src, &out, m, border, fill, 4, true);
        else warp_rows(src, &out, m, border, fill, 4, false);
        break;
    default: warp_rows(src, &out, m, border, fill, src->channels, premul); break;
    }
    sp_image_move(dst, &out);
    return SP_OK;
}

void sp_affine_inverse(double cx, double cy, double angle, double tx, double ty, double scale,
                       double shear_x, double shear_y, double m[8])
{
    const double rot = angle * M_PI / 180.0, sx = shear_x * M_PI / 180.0,
                 sy = shear_y * M_PI / 180.0;
    const double a = cos(rot - sy) / cos(sy);
    const double b = -cos(rot - sy) * tan(sx) / cos(sy) - sin(rot);
    const double c = sin(rot - sy) / cos(sy);
    const double d = -sin(rot - sy) * tan(sx) / cos(sy) + cos(rot);
    m[0] = d / scale;
    m[1] = -b / scale;
    m[3] = -c / scale;
    m[4] = a / scale;
    m[2] = m[0] * (-cx - tx) + m[1] * (-cy - ty) + cx;
    m[5] = m[3] * (-cx - tx) + m[4] * (-cy - ty) + cy;
    m[6] = m[7] = 0.0;
}

int sp_region_cut(const uint32_t box[4], const sp_region *at, sp_image *img, sp_error *err)
{
    if (at->scale != 8 || box[0] < at->x || box[1] < at->y ||
        box[0] - at->x + (uint64_t)box[2] > img->width ||
        box[1] - at->y + (uint64_t)box[3] > img->height)
        return sp_fail(err, SP_E_USAGE, "the decoded part does not hold the crop");
    if (box[0] == at->x && box[1] == at->y && box[2] == img->width && box[3] == img->height)
        return SP_OK;
    sp_image out = {0};
    int rc = sp_image_copy_box(img, box[0] - at->x, box[1] - at->y, box[2], box[3], &out, err);
    if (rc == SP_OK) sp_image_move(img, &out);
    return rc;
}

int sp_solve(double *a, double *b, int n)
{
    for (int col = 0; col < n; col++) {
        int piv = col;
        for (int r = col + 1; r < n; r++)
            if (fabs(a[r * n + col]) > fabs(a[piv * n + col])) piv = r;
        if (fabs(a[piv * n + col]) < 1e-12) return 0;
        if (piv != col) {
            for (int c = 0; c < n; c++) {
                double t = a[col * n + c];
                a[col * n + c] = a[piv * n + c];
                a[piv * n + c] = t;
            }
            double t = b[col];
            b[col] = b[piv];
            b[piv] = t;
        }
        for (int r = col + 1; r < n; r++) {
            double f = a[r * n + col] / a[col * n + col];
            for (int c = col; c < n; c++) a[r * n + c] -= f * a[col * n + c];
            b[r] -= f * b[col];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        double s = b[r];
        for (int c = r + 1; c < n; c++) s -= a[r * n + c] * b[c];
        b[r] = s / a[r * n + r];
    }
    return 1;
}
