/*
 * encode — the codec a record is stored with. The last encode on a record's path wins;
 * without one, records are stored as JPEG at quality 90.
 *
 *   [encode]
 *   format = jpeg
 *   quality = 90
 */
#include "internal.h"

enum { ENC_JPEG, ENC_PNG };

static const sp_enum_choice encode_formats[] = {
    {ENC_JPEG, "jpeg", "lossy, small; stored as .jpg"},
    {ENC_PNG, "png", "lossless; stored as .png"},
    {0, NULL, NULL},
};

#define OFF(f) offsetof(sp_encode_opts, f)
static const sp_option encode_options[] = {
    {"format", "output codec", OFF(format), SP_OPT_ENUM, "jpeg", 1, 0, encode_formats, 0},
    {"quality", "JPEG quality (1 = smallest, 100 = best)", OFF(quality), SP_OPT_INT, "90", 1,
     100, NULL, 0},
    SP_OPT_END,
};

const sp_format *sp_encode_format(const sp_encode_opts *o)
{
    return o->format == ENC_PNG ? &sp_format_png : &sp_format_jpeg;
}

/* Encoding happens in the build, after the chain: the stage itself leaves pixels alone. */
static int encode_process(const void *opts, sp_image *img, sp_rng *rng, sp_error *err)
{
    (void)opts;
    (void)img;
    (void)rng;
    (void)err;
    return SP_OK;
}

const sp_stage_desc sp_stage_encode = {
    .name = "encode",
    .help = "choose the codec and quality records are stored with",
    .kind = SP_STAGE_PIXEL,
    .opts_size = sizeof(sp_encode_opts),
    .options = encode_options,
    .process = encode_process,
};
