/*
 * raw — an image stored as its pixels: height × width × channels bytes, row-major, no
 * header (the record's metadata carries the shape). For pipelines that feed tensors
 * straight to a model and would rather spend disk than decode time. Written only: raw
 * bytes cannot be recognised by content, so it never answers a probe.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int raw_probe(const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    return 0;
}

static int raw_encode(const sp_image *img, const sp_encode_opts *o, uint8_t **out, size_t *len,
                      sp_error *err)
{
    (void)o;
    size_t row = (size_t)img->width * img->channels;
    uint8_t *p = malloc(row * img->height);
    if (!p) return sp_fail(err, SP_E_NOMEM, "out of memory");
    for (uint32_t y = 0; y < img->height; y++)
        memcpy(p + row * y, img->data + img->stride * y, row);
    *out = p;
    *len = row * img->height;
    return SP_OK;
}

const sp_format sp_format_raw = {
    .name = "raw",
    .extension = "raw",
    .help = "uncompressed pixels, height x width x channels bytes (write only)",
    .probe = raw_probe,
    .encode = raw_encode,
};
