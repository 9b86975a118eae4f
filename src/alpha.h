/*
 * Premultiplied alpha for the resampling paths (src/resample.c, src/geometry.c), with
 * Pillow's integer conversions so RGBA results match Image.resize / Image.transform, which
 * convert RGBA to RGBa (and LA to La) around every filter but nearest: a pixel that is
 * fully transparent then weighs nothing, so the colour hidden under it cannot bleed into
 * the visible edge. Not installed.
 */
#ifndef SP_ALPHA_H
#define SP_ALPHA_H

#include "internal.h"

/* The alpha channel's index (gray + alpha: 1, RGBA: 3), or 0 when there is none. */
static inline uint32_t sp_alpha_index(uint32_t channels)
{
    return channels == 2 || channels == 4 ? channels - 1 : 0;
}

/* c × a / 255 rounded, as Pillow's MULDIV255 (Convert.c, RGBA -> RGBa): exact for a = 255. */
static inline uint8_t sp_premul8(uint32_t c, uint32_t a)
{
    uint32_t t = c * a + 128;
    return (uint8_t)((t + (t >> 8)) >> 8);
}

/* Back to straight alpha as Pillow's RGBa -> RGBA: alpha 0 and 255 keep the value, else
 * 255 c / a truncated and clipped (a filter's overshoot can leave c above a). */
static inline uint8_t sp_unpremul8(uint32_t c, uint32_t a)
{
    if (a == 0 || a == 255) return (uint8_t)c;
    uint32_t v = 255u * c / a;
    return v > 255 ? 255 : (uint8_t)v;
}

/* True when img has no alpha channel or every alpha is 255: premultiplying would change
 * nothing, so callers skip it and opaque RGBA costs one scan. */
bool sp_image_opaque(const sp_image *img);

/* src premultiplied into buf (at least width × height × channels bytes, rows packed),
 * returned as a view of buf. src must have an alpha channel. */
sp_image sp_image_premultiply(const sp_image *src, uint8_t *buf);

/* img (premultiplied) back to straight alpha, in place. */
void sp_image_unpremultiply(sp_image *img);

#endif
