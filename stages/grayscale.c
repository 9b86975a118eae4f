/*
 * grayscale — convert to gray with Pillow's convert("L") luma (ITU-R 601-2).
 *
 *   [grayscale]
 *   channels = 3       ; 1: one gray channel; 3: gray in R = G = B
 *
 * L = R * 299/1000 + G * 587/1000 + B * 114/1000, in Pillow's 16-bit fixed point with
 * rounding, so the result equals Pillow's (and torchvision's Grayscale on PIL images).
 * With channels = 1 an alpha channel is dropped, as convert("L") does; with channels = 3
 * it is kept (RGBA in, gray RGBA out). Gray input stays gray (and is copied into three
 * channels for channels = 3).
 *
 * A conversion, not an augmentation: it acts on every record, since a sink with a fixed
 * shape needs one channel count throughout. For torchvision's RandomGrayscale use
 * [saturation] with factor_min = factor_max = 0 and p: it gives the same pixels.
 */
#include "photometric.h"

typedef sp_grayscale_opts grayscale_opts; /* shardpack/ops.h */

static const sp_enum_choice channel_choices[] = {
    {1, "1", "one gray channel (alpha dropped)"},
    {3, "3", "gray copied into R, G and B (alpha kept)"},
    {0, NULL, NULL},
};

#define OFF(f) offsetof(grayscale_opts, f)
static const sp_option grayscale_options[] = {
    {"channels", "colour channels of the output", OFF(channels), SP_OPT_ENUM, "3", 1, 0,
     channel_choices, 0},
    SP_OPT_END,
};

static int grayscale_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)pc;
    const grayscale_opts *o = opts;
    const uint32_t in_ch = img->channels;
    if (o->channels == 3 && in_ch >= 3) {
        /* In place: each pixel only reads itself. */
        for (uint32_t y = 0; y < img->height; y++) {
            uint8_t *p = img->data + (size_t)y * img->stride;
            for (uint32_t x = 0; x < img->width; x++, p += in_ch)
                p[0] = p[1] = p[2] = sp_luma(p[0], p[1], p[2]);
        }
        return SP_OK;
    }
    if (o->channels == 1 && in_ch == 1) return SP_OK;
    sp_image out = {0};
    int rc = sp_image_alloc(&out, img->width, img->height, (uint32_t)o->channels);
    if (rc != SP_OK)
        return sp_fail(err, rc, "cannot allocate %ux%u image", img->width, img->height);
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *s = img->data + (size_t)y * img->stride;
        uint8_t *d = out.data + (size_t)y * out.stride;
        if (in_ch == 1) /* gray to three channels */
            for (uint32_t x = 0; x < img->width; x++, d += 3) d[0] = d[1] = d[2] = s[x];
        else /* colour to one channel */
            for (uint32_t x = 0; x < img->width; x++, s += in_ch) d[x] = sp_luma(s[0], s[1], s[2]);
    }
    sp_image_move(img, &out);
    return SP_OK;
}

const sp_stage_desc sp_stage_grayscale = {
    .name = "grayscale",
    .help = "convert to gray (ITU-R 601-2 luma as Pillow's convert(\"L\")), in 1 or 3 channels",
    .kind = SP_STAGE_PIXEL,
    .opts_size = sizeof(grayscale_opts),
    .options = grayscale_options,
    .process = grayscale_process,
};
