/*
 * encode — the codec a record is stored with. The last encode on a record's path wins;
 * without one, records are stored as baseline JPEG, quality 90, 4:2:0.
 *
 *   [encode]
 *   format = jpeg        ; jpeg, png or raw
 *   quality = 90
 *   subsampling = 420
 */
#include "internal.h"

static const sp_enum_choice encode_formats[] = {
    {SP_ENC_JPEG, "jpeg", "lossy, small; stored as .jpg"},
    {SP_ENC_PNG, "png", "lossless; stored as .png"},
    {SP_ENC_RAW, "raw", "uncompressed pixels (H x W x C bytes); stored as .raw"},
    {0, NULL, NULL},
};

const sp_enum_choice sp_subsampling_choices[] = {
    {SP_SUB_444, "444", "full-resolution chroma"},
    {SP_SUB_422, "422", "chroma halved horizontally"},
    {SP_SUB_420, "420", "chroma halved both ways (the usual for photos)"},
    {0, NULL, NULL},
};

static const sp_enum_choice png_filters[] = {
    {SP_PNG_FILTER_ALL, "adaptive", "libpng picks a filter per row"},
    {SP_PNG_FILTER_NONE, "none", "no filter (fastest)"},
    {SP_PNG_FILTER_SUB, "sub", "difference with the left pixel"},
    {SP_PNG_FILTER_UP, "up", "difference with the pixel above"},
    {SP_PNG_FILTER_AVG, "average", "difference with the mean of left and above"},
    {SP_PNG_FILTER_PAETH, "paeth", "Paeth predictor"},
    {0, NULL, NULL},
};

#define OFF(f) offsetof(sp_encode_opts, f)
static const sp_option encode_options[] = {
    {"format", "output codec", OFF(format), SP_OPT_ENUM, "jpeg", 1, 0, encode_formats, 0},
    {"quality", "JPEG quality (1 = smallest, 100 = best)", OFF(quality), SP_OPT_INT, "90", 1,
     100, NULL, 0},
    {"subsampling", "JPEG chroma subsampling", OFF(subsampling), SP_OPT_ENUM, "420", 1, 0,
     sp_subsampling_choices, 0},
    {"optimize", "JPEG: optimised Huffman tables (smaller, slower) instead of the standard ones",
     OFF(optimize), SP_OPT_BOOL, "false", 1, 0, NULL, 0},
    {"progressive", "JPEG: progressive instead of baseline (some decoders, e.g. GPU ones, "
     "want baseline)", OFF(progressive), SP_OPT_BOOL, "false", 1, 0, NULL, 0},
    {"png_level", "PNG zlib compression level (0 = store, 9 = smallest)", OFF(png_level),
     SP_OPT_INT, "6", 0, 9, NULL, 0},
    {"png_filter", "PNG row filter", OFF(png_filter), SP_OPT_ENUM, "adaptive", 1, 0,
     png_filters, 0},
    SP_OPT_END,
};

void sp_encode_defaults(sp_encode_opts *o)
{
    sp_options_defaults(encode_options, o, NULL);
}

const sp_format *sp_encode_format(const sp_encode_opts *o)
{
    return o->format == SP_ENC_PNG ? &sp_format_png
           : o->format == SP_ENC_RAW ? &sp_format_raw
                                     : &sp_format_jpeg;
}

/* Encoding happens in the build, after the chain: the stage itself leaves pixels alone. */
static int encode_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)opts;
    (void)img;
    (void)pc;
    (void)err;
    return SP_OK;
}

const sp_stage_desc sp_stage_encode = {
    .name = "encode",
    .help = "choose the codec and settings records are stored with",
    .kind = SP_STAGE_PIXEL,
    .opts_size = sizeof(sp_encode_opts),
    .options = encode_options,
    .process = encode_process,
};
