/*
 * Colour arithmetic shared by the photometric stages (src/photometric.h). Per-value maps
 * go through 256-entry tables; only the ops that mix channels (saturation, hue) compute
 * per pixel.
 */
#include "photometric.h"

#include <math.h>
#include <string.h>

void sp_color_lut(sp_image *img, const uint8_t lut[256])
{
    const uint32_t ch = img->channels;
    for (uint32_t y = 0; y < img->height; y++) {
        uint8_t *p = img->data + (size_t)y * img->stride;
        if (ch != 4) {
            size_t n = (size_t)img->width * ch;
            for (size_t i = 0; i < n; i++) p[i] = lut[p[i]];
        } else {
            for (uint32_t x = 0; x < img->width; x++, p += 4) {
                p[0] = lut[p[0]];
                p[1] = lut[p[1]];
                p[2] = lut[p[2]];
            }
        }
    }
}

void sp_color_lut3(sp_image *img, const uint8_t lut[3][256])
{
    const uint32_t ch = img->channels;
    if (ch == 1) {
        sp_color_lut(img, lut[0]);
        return;
    }
    for (uint32_t y = 0; y < img->height; y++) {
        uint8_t *p = img->data + (size_t)y * img->stride;
        for (uint32_t x = 0; x < img->width; x++, p += ch) {
            p[0] = lut[0][p[0]];
            p[1] = lut[1][p[1]];
            p[2] = lut[2][p[2]];
        }
    }
}

void sp_color_histograms(const sp_image *img, uint64_t h[3][256])
{
    memset(h, 0, sizeof(uint64_t) * 3 * 256);
    const uint32_t ch = img->channels;
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *p = img->data + (size_t)y * img->stride;
        if (ch == 1) {
            for (uint32_t x = 0; x < img->width; x++) h[0][p[x]]++;
            continue;
        }
        for (uint32_t x = 0; x < img->width; x++, p += ch) {
            h[0][p[0]]++;
            h[1][p[1]]++;
            h[2][p[2]]++;
        }
    }
}

void sp_color_brightness(sp_image *img, double factor)
{
    uint8_t lut[256];
    for (unsigned v = 0; v < 256; v++) lut[v] = sp_blend_u8(0, v, (float)factor);
    sp_color_lut(img, lut);
}

/* Pillow takes the mean from the luma histogram (ImageStat) and rounds it half up. */
static unsigned luma_mean(const sp_image *img)
{
    uint64_t hist[256] = {0};
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *p = img->data + (size_t)y * img->stride;
        if (img->channels == 1)
            for (uint32_t x = 0; x < img->width; x++) hist[p[x]]++;
        else
            for (uint32_t x = 0; x < img->width; x++, p += img->channels)
                hist[sp_luma(p[0], p[1], p[2])]++;
    }
    double sum = 0;
    for (unsigned v = 0; v < 256; v++) sum += (double)v * (double)hist[v];
    double mean = sum / ((double)img->width * (double)img->height);
    return (unsigned)(mean + 0.5);
}

void sp_color_contrast(sp_image *img, double factor)
{
    unsigned mean = luma_mean(img);
    uint8_t lut[256];
    for (unsigned v = 0; v < 256; v++) lut[v] = sp_blend_u8(mean, v, (float)factor);
    sp_color_lut(img, lut);
}

void sp_color_saturation(sp_image *img, double factor)
{
    if (img->channels < 3) return;
    const float f = (float)factor;
    const uint32_t ch = img->channels;
    for (uint32_t y = 0; y < img->height; y++) {
        uint8_t *p = img->data + (size_t)y * img->stride;
        for (uint32_t x = 0; x < img->width; x++, p += ch) {
            unsigned l = sp_luma(p[0], p[1], p[2]);
            p[0] = sp_blend_u8(l, p[0], f);
            p[1] = sp_blend_u8(l, p[1], f);
            p[2] = sp_blend_u8(l, p[2], f);
        }
    }
}

static uint8_t clip8i(int v)
{
    return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
}

/* Pillow's rgb2hsv (Convert.c), which follows Python's colorsys in float. */
static void rgb_to_hsv(unsigned r, unsigned g, unsigned b, uint8_t *h, uint8_t *s, uint8_t *v)
{
    unsigned maxc = r > g ? (r > b ? r : b) : (g > b ? g : b);
    unsigned minc = r < g ? (r < b ? r : b) : (g < b ? g : b);
    *v = (uint8_t)maxc;
    if (minc == maxc) {
        *h = 0;
        *s = 0;
        return;
    }
    float cr = (float)(maxc - minc);
    float sf = cr / (float)maxc;
    float rc = (float)(maxc - r) / cr, gc = (float)(maxc - g) / cr, bc = (float)(maxc - b) / cr;
    float hf;
    if (r == maxc)
        hf = bc - gc;
    else if (g == maxc)
        hf = (float)(2.0 + rc - bc);
    else
        hf = (float)(4.0 + gc - rc);
    /* Pillow's fmod(h / 6 + 1, 1): the argument is in [5/6, 2), where fmod is an exact
     * subtraction of 1. */
    double wrapped = hf / 6.0 + 1.0;
    hf = (float)(wrapped >= 1.0 ? wrapped - 1.0 : wrapped);
    *h = clip8i((int)(hf * 255.0));
    *s = clip8i((int)(sf * 255.0));
}

/* Pillow's hsv2rgb. */
static void hsv_to_rgb(unsigned h, unsigned s, unsigned v, uint8_t *out)
{
    if (s == 0) {
        out[0] = out[1] = out[2] = (uint8_t)v;
        return;
    }
    /* Pillow's floor() and round() on values >= 0: truncation after + 0.5 is the same
     * (the products have few enough bits that adding 0.5 is exact) and needs no libm. */
    int i = (int)((float)h * 6.0 / 255.0);
    float f = (float)((float)h * 6.0 / 255.0 - (float)i);
    float fs = (float)((float)s / 255.0);
    uint8_t p = clip8i((int)((float)v * (1.0 - fs) + 0.5));
    uint8_t q = clip8i((int)((float)v * (1.0 - fs * f) + 0.5));
    uint8_t t = clip8i((int)((float)v * (1.0 - fs * (1.0 - f)) + 0.5));
    uint8_t V = (uint8_t)v;
    switch (i % 6) {
    case 0: out[0] = V, out[1] = t, out[2] = p; break;
    case 1: out[0] = q, out[1] = V, out[2] = p; break;
    case 2: out[0] = p, out[1] = V, out[2] = t; break;
    case 3: out[0] = p, out[1] = q, out[2] = V; break;
    case 4: out[0] = t, out[1] = p, out[2] = V; break;
    default: out[0] = V, out[1] = p, out[2] = q; break;
    }
}

int sp_color_hue(sp_image *img, double shift)
{
    /* numpy's uint8 cast of hue_factor * 255 truncates toward zero, then the uint8 add
     * wraps: a rotation in 1/256ths (torchvision's PIL path). */
    int steps = (int)(shift * 255.0);
    unsigned add = (unsigned)(steps & 255);
    if (img->channels < 3 || add == 0) return steps;
    const uint32_t ch = img->channels;
    /* Neighbouring pixels are often equal (flat areas, posterized or erased boxes): a
     * one-entry cache of the last conversion skips the float work for them. */
    uint8_t last_in[3] = {0, 0, 0}, last_out[3] = {0, 0, 0};
    bool have = false;
    for (uint32_t y = 0; y < img->height; y++) {
        uint8_t *p = img->data + (size_t)y * img->stride;
        for (uint32_t x = 0; x < img->width; x++, p += ch) {
            if (have && p[0] == last_in[0] && p[1] == last_in[1] && p[2] == last_in[2]) {
                p[0] = last_out[0], p[1] = last_out[1], p[2] = last_out[2];
                continue;
            }
            memcpy(last_in, p, 3);
            uint8_t h, s, v;
            rgb_to_hsv(p[0], p[1], p[2], &h, &s, &v);
            hsv_to_rgb((h + add) & 255u, s, v, p);
            memcpy(last_out, p, 3);
            have = true;
        }
    }
    return steps;
}

double sp_px_draw_range(sp_pixel_ctx *pc, const char *name, double lo, double hi)
{
    double v = sp_px_range(pc, lo, hi);
    if (v > hi) v = hi; /* lo + (hi - lo) * u can round up past hi */
    sp_px_note(pc, name, v);
    return v;
}
