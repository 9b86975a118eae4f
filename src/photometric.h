/*
 * Colour arithmetic shared by the photometric stages (stages/color_jitter.c, brightness.c,
 * contrast.c, saturation.c, hue.c, grayscale.c, ...). Not installed.
 *
 * The math is Pillow's, to the rounding, because that is what torchvision runs on PIL
 * images and what trained models have seen: ImageEnhance blends in single precision and
 * truncates, convert("L") is a 16-bit fixed-point luma, the HSV conversion is Pillow's own.
 *
 * Channels: gray images (1 channel) are worked on as they are; RGB and RGBA are worked on
 * in their three colour channels and alpha is never touched.
 */
#ifndef SP_PHOTOMETRIC_H
#define SP_PHOTOMETRIC_H

#include "internal.h"

/* ITU-R 601-2 luma as Pillow's convert("L") computes it: L = R*299/1000 + G*587/1000 +
 * B*114/1000, in 16-bit fixed point with rounding (19595 + 38470 + 7471 = 65536). */
static inline uint8_t sp_luma(unsigned r, unsigned g, unsigned b)
{
    return (uint8_t)((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

/* Pillow's Image.blend(a, b, f) for one value: a + f * (b - a) in float, truncated, and
 * clipped to 0..255 when f is outside [0, 1]. Every ImageEnhance class is this blend of
 * a "degenerate" image a with the image b. */
static inline uint8_t sp_blend_u8(unsigned a, unsigned b, float f)
{
    float t = (float)(int)a + f * (float)((int)b - (int)a);
    if (t <= 0.0f) return 0;
    if (t >= 255.0f) return 255;
    return (uint8_t)t;
}

/* Maps every colour channel through one table (alpha kept). */
void sp_color_lut(sp_image *img, const uint8_t lut[256]);
/* Maps colour channel c through lut[c] (gray images use lut[0]). */
void sp_color_lut3(sp_image *img, const uint8_t lut[3][256]);
/* Per colour channel histograms (gray images fill h[0]). */
void sp_color_histograms(const sp_image *img, uint64_t h[3][256]);

/* ImageEnhance.Brightness: blend with black. */
void sp_color_brightness(sp_image *img, double factor);
/* ImageEnhance.Contrast: blend with the rounded mean of the luma image. */
void sp_color_contrast(sp_image *img, double factor);
/* ImageEnhance.Color: blend with the luma image. No-op on gray images. */
void sp_color_saturation(sp_image *img, double factor);
/* torchvision's adjust_hue on PIL images: RGB -> HSV (Pillow), H += trunc(shift * 255)
 * modulo 256, back to RGB. `shift` is in [-0.5, 0.5]. No-op on gray images and when the
 * shift rounds to 0 (Pillow's HSV round trip is lossy; a zero shift should not be). Returns
 * the shift applied, in 1/256ths of the circle. */
int sp_color_hue(sp_image *img, double shift);

/* Draws a value uniformly in [lo, hi] from the stage's stream and notes it as `name`.
 * One draw even when lo == hi, so the draws after it keep their place if a range is
 * widened later. lo <= hi: every NAME_min/NAME_max pair is checked when options are read
 * (sp_option_reversed). */
double sp_px_draw_range(sp_pixel_ctx *pc, const char *name, double lo, double hi);

#endif
