/*
 * jpeg — JPEG re-compression artefacts: encode at a random quality and decode again, with
 * libjpeg-turbo through the JPEG format's own encoder and decoder (formats/jpeg.c).
 *
 *   [jpeg]
 *   quality_min = 30
 *   quality_max = 95   ; drawn as an integer in [min, max]
 *   subsampling = 420
 *   apply = all        ; default: only the copies a balance stage makes
 *
 * Gray images are encoded as gray JPEGs and come back gray; RGBA images are encoded
 * without their alpha, which is put back unchanged (JPEG has none).
 */
#include "photometric.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef sp_jpeg_opts jpeg_opts; /* shardpack/ops.h */

#define OFF(f) offsetof(jpeg_opts, f)
static const sp_option jpeg_options[] = {
    {"quality_min", "lowest JPEG quality drawn (1 = worst)", OFF(quality_min), SP_OPT_INT, "30",
     1, 100, NULL, 0},
    {"quality_max", "highest JPEG quality drawn (100 = best)", OFF(quality_max), SP_OPT_INT,
     "95", 1, 100, NULL, 0},
    {"subsampling", "chroma subsampling of the re-encoding", OFF(subsampling), SP_OPT_ENUM,
     "420", 1, 0, sp_subsampling_choices, 0},
    SP_OPT_END,
};

/* Copies channels [0, n) of src into a tight n-channel image. */
static int take_channels(const sp_image *src, uint32_t n, sp_image *dst, sp_error *err)
{
    int rc = sp_image_alloc(dst, src->width, src->height, n);
    if (rc != SP_OK)
        return sp_fail(err, rc, "cannot allocate %ux%u image", src->width, src->height);
    for (uint32_t y = 0; y < src->height; y++) {
        const uint8_t *s = src->data + (size_t)y * src->stride;
        uint8_t *d = dst->data + (size_t)y * dst->stride;
        for (uint32_t x = 0; x < src->width; x++, s += src->channels, d += n)
            memcpy(d, s, n);
    }
    return SP_OK;
}

static int jpeg_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const jpeg_opts *o = opts;
    int64_t q = sp_px_int(pc, o->quality_min, o->quality_max + 1);
    sp_px_note(pc, "quality", (double)q);

    sp_encode_opts eo;
    sp_encode_defaults(&eo);
    eo.format = SP_ENC_JPEG;
    eo.quality = q;
    eo.subsampling = o->subsampling;
    /* The encoder takes 1 or 3 channels: RGBA goes without its alpha. */
    sp_image rgb = {0};
    const sp_image *src = img;
    int rc = SP_OK;
    if (img->channels == 4) {
        if ((rc = take_channels(img, 3, &rgb, err)) != SP_OK) return rc;
        src = &rgb;
    }
    uint8_t *bytes = NULL;
    size_t len = 0;
    rc = sp_format_jpeg.encode(src, &eo, &bytes, &len, err);
    sp_image_release(&rgb);
    if (rc != SP_OK) return rc;
    /* Our own bytes: no limits beyond what the encoder accepted. */
    const sp_limits lim = {.max_pixels = 0};
    sp_image dec = {0};
    rc = sp_format_jpeg.decode(bytes, len, &lim, &dec, err);
    free(bytes);
    if (rc != SP_OK) return rc;
    if (dec.width != img->width || dec.height != img->height) {
        sp_image_release(&dec);
        return sp_fail(err, SP_E_INTERNAL, "JPEG round trip changed the size");
    }
    /* The decoder always gives RGB: gray comes back with R = G = B, alpha from the input. */
    for (uint32_t y = 0; y < img->height; y++) {
        uint8_t *d = img->data + (size_t)y * img->stride;
        const uint8_t *s = dec.data + (size_t)y * dec.stride;
        if (img->channels == 3) {
            memcpy(d, s, (size_t)img->width * 3);
            continue;
        }
        for (uint32_t x = 0; x < img->width; x++, s += 3, d += img->channels) {
            d[0] = s[0];
            if (img->channels == 4) d[1] = s[1], d[2] = s[2];
        }
    }
    sp_image_release(&dec);
    return SP_OK;
}

const sp_stage_desc sp_stage_jpeg = {
    .name = "jpeg",
    .help = "JPEG re-compression at a random quality (encode and decode with libjpeg-turbo)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(jpeg_opts),
    .options = jpeg_options,
    .process = jpeg_process,
};
