/*
 * EXIF orientation: the one EXIF fact that changes pixels. Cameras store a photo as the
 * sensor read it and record in tag 0x0112 of IFD0 how to turn it upright; viewers (and
 * Pillow's ImageOps.exif_transpose) apply it, so a dataset labelled by looking at the
 * photos expects it applied.
 *
 * The APP1 payload is untrusted: the walk reads IFD0 only (no sub-IFDs, no recursion),
 * checks every offset and count against the payload's length before reading, and any
 * damage means "no orientation" (1), never an error: the pixels are still good.
 */
#include "internal.h"

#include <string.h>

static unsigned get16(const uint8_t *p, bool le)
{
    return le ? (unsigned)p[0] | (unsigned)p[1] << 8 : (unsigned)p[0] << 8 | (unsigned)p[1];
}

static uint32_t get32(const uint8_t *p, bool le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
                    (uint32_t)p[3];
}

int sp_exif_orientation(const uint8_t *app1, size_t len)
{
    /* "Exif\0\0", then a TIFF header: byte order, 42, offset of IFD0 (from the header). */
    if (len < 6 + 8 || memcmp(app1, "Exif\0\0", 6) != 0) return 1;
    const uint8_t *t = app1 + 6;
    size_t n = len - 6;
    bool le;
    if (t[0] == 'I' && t[1] == 'I') le = true;
    else if (t[0] == 'M' && t[1] == 'M') le = false;
    else return 1;
    if (get16(t + 2, le) != 42) return 1;
    uint32_t ifd = get32(t + 4, le);
    if (ifd < 8 || ifd > n || n - ifd < 2) return 1;
    unsigned count = get16(t + ifd, le);
    /* Entries are 12 bytes each; a count that runs past the end is cut to what fits. */
    size_t fit = (n - ifd - 2) / 12;
    if (count > fit) count = (unsigned)fit;
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *e = t + ifd + 2 + (size_t)i * 12;
        if (get16(e, le) != 0x0112) continue;
        /* SHORT (type 3), count 1: the value sits in the first two bytes of the field. */
        if (get16(e + 2, le) != 3 || get32(e + 4, le) != 1) return 1;
        unsigned v = get16(e + 8, le);
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

int sp_image_orient(sp_image *img, int orientation, sp_error *err)
{
    if (orientation < 2 || orientation > 8) return SP_OK;
    uint32_t W = img->width, H = img->height, C = img->channels;
    bool swap = orientation >= 5;
    sp_image out = {0};
    int rc = sp_image_alloc(&out, swap ? H : W, swap ? W : H, C);
    if (rc != SP_OK)
        return sp_fail(err, rc, "cannot allocate %ux%u image to apply the EXIF orientation",
                       out.width, out.height);
    /* Output (x, y) takes input (sx, sy): the transposes of Pillow's exif_transpose. */
    for (uint32_t y = 0; y < out.height; y++) {
        uint8_t *dst = out.data + (size_t)y * out.stride;
        for (uint32_t x = 0; x < out.width; x++) {
            uint32_t sx, sy;
            switch (orientation) {
            case 2: sx = W - 1 - x, sy = y; break;          /* mirror */
            case 3: sx = W - 1 - x, sy = H - 1 - y; break;  /* 180 */
            case 4: sx = x, sy = H - 1 - y; break;          /* flip */
            case 5: sx = y, sy = x; break;                  /* transpose */
            case 6: sx = y, sy = H - 1 - x; break;          /* 90 clockwise */
            case 7: sx = W - 1 - y, sy = H - 1 - x; break;  /* transverse */
            default: sx = W - 1 - y, sy = x; break;         /* 8: 90 counter-clockwise */
            }
            memcpy(dst + (size_t)x * C, img->data + (size_t)sy * img->stride + (size_t)sx * C, C);
        }
    }
    sp_image_move(img, &out);
    return SP_OK;
}
