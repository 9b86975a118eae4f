/*
 * PNG through libpng. Every PNG flavour is normalised to 8-bit RGB: palette expanded (with
 * tRNS as alpha), 16-bit scaled to 8, gray replicated, interlacing undone, and alpha
 * composited on [run] background (sp_limits.background): white by default — what a
 * browser shows, and the one that keeps transparent icons readable — any colour, or
 * `none` to drop the alpha as Pillow's `.convert("RGB")` does.
 *
 * APNG: libpng reads the default image (IHDR + IDAT) and passes over acTL, fcTL and
 * fdAT as unknown ancillary chunks, so an animated PNG gives its first (default) frame.
 *
 * Untrusted input: png_set_user_limits bounds the dimensions before libpng allocates, the
 * chunk cache and chunk size are bounded, and a CRC or truncation error is corruption.
 */
#include "internal.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct pstate {
    const uint8_t *data;
    size_t len, pos;
    int code;
    char msg[256];
} pstate;

static void on_read(png_structp png, png_bytep out, size_t n)
{
    pstate *s = png_get_io_ptr(png);
    if (n > s->len - s->pos) {
        s->code = SP_E_CORRUPT;
        snprintf(s->msg, sizeof(s->msg), "truncated PNG (needed %zu more bytes at offset %zu)",
                 n, s->pos);
        png_error(png, "truncated");
    }
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

static void on_error(png_structp png, png_const_charp msg)
{
    pstate *s = png_get_error_ptr(png);
    if (!s->code) {
        s->code = SP_E_CORRUPT;
        snprintf(s->msg, sizeof(s->msg), "%s", msg);
    }
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    /* libpng warnings are about ancillary chunks (bad iCCP, tEXt); the pixels are fine. */
    (void)png;
    (void)msg;
}

static int png_probe(const uint8_t *d, size_t n)
{
    return n >= 8 && png_sig_cmp((png_const_bytep)d, 0, 8) == 0 ? 100 : 0;
}

/* libpng only warns when its user limits are hit (and then fails with "Invalid IHDR
 * data"), so they stay at the PNG maximum and our own check reports a limit as a limit.
 * Nothing big is allocated before check_pixels runs: png_read_info reads chunks only. */
static void set_limits(png_structp png)
{
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_set_chunk_cache_max(png, 1000);
    png_set_chunk_malloc_max(png, 64u << 20);
}

static int check_pixels(uint32_t w, uint32_t h, const sp_limits *lim, sp_error *err)
{
    if (lim->max_dimension && (w > lim->max_dimension || h > lim->max_dimension))
        return sp_fail(err, SP_E_MAX_DIMENSION, "%ux%u exceeds the dimension limit of %u", w, h,
                       lim->max_dimension);
    if (lim->max_pixels && (uint64_t)w * h > lim->max_pixels)
        return sp_fail(err, SP_E_MAX_PIXELS, "%ux%u = %llu pixels exceeds the limit of %llu", w, h,
                       (unsigned long long)w * h, (unsigned long long)lim->max_pixels);
    return SP_OK;
}

static int png_header(const uint8_t *data, size_t len, const sp_limits *lim,
                      sp_image_info *info, sp_error *err)
{
    pstate s = {.data = data, .len = len};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
    png_infop pi = png ? png_create_info_struct(png) : NULL;
    if (!pi) {
        png_destroy_read_struct(&png, NULL, NULL);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pi, NULL);
        return sp_fail(err, s.code ? s.code : SP_E_CORRUPT, "%s", s.msg);
    }
    set_limits(png);
    png_set_read_fn(png, &s, on_read);
    png_read_info(png, pi);
    info->width = png_get_image_width(png, pi);
    info->height = png_get_image_height(png, pi);
    info->channels = png_get_channels(png, pi);
    if (png_get_color_type(png, pi) == PNG_COLOR_TYPE_PALETTE)
        info->channels = png_get_valid(png, pi, PNG_INFO_tRNS) ? 4 : 3;
    /* What png_decode changes, for the report's `altered` rows: alpha (a channel, or tRNS
     * for any colour type) is composited or dropped; 16-bit samples are scaled to 8. */
    bool alpha = (png_get_color_type(png, pi) & PNG_COLOR_MASK_ALPHA) ||
                 png_get_valid(png, pi, PNG_INFO_tRNS);
    bool deep = png_get_bit_depth(png, pi) == 16;
    info->alterations = (alpha ? SP_ALTER_ALPHA : 0) | (deep ? SP_ALTER_DEPTH : 0);
    info->orientation = 0;
    info->maxval = deep ? 65535 : 0;
    png_destroy_read_struct(&png, &pi, NULL);
    return check_pixels(info->width, info->height, lim, err);
}

/* Composites RGBA on the background in place (or drops the alpha), leaving RGB rows. */
static void flatten_rgba(uint8_t *row, uint32_t w, uint32_t background)
{
    unsigned bg[3] = {255, 255, 255};
    bool drop = background & SP_BG_DROP;
    if (background & SP_BG_SET)
        for (int c = 0; c < 3; c++) bg[c] = (background >> (16 - 8 * c)) & 0xff;
    for (uint32_t x = 0; x < w; x++) {
        const uint8_t *p = row + 4 * x;
        unsigned a = drop ? 255 : p[3];
        for (int c = 0; c < 3; c++)
            row[3 * x + c] = (uint8_t)((p[c] * a + bg[c] * (255 - a) + 127) / 255);
    }
}

static int png_decode(const uint8_t *data, size_t len, const sp_limits *lim, sp_image *out,
                      sp_error *err)
{
    pstate s = {.data = data, .len = len};
    sp_image img = {0};
    uint8_t **volatile rows = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
    png_infop pi = png ? png_create_info_struct(png) : NULL;
    if (!pi) {
        png_destroy_read_struct(&png, NULL, NULL);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pi, NULL);
        free(rows);
        sp_image_release(&img);
        return sp_fail(err, s.code ? s.code : SP_E_CORRUPT, "%s", s.msg);
    }
    set_limits(png);
    png_set_read_fn(png, &s, on_read);
    png_read_info(png, pi);
    uint32_t w = png_get_image_width(png, pi), h = png_get_image_height(png, pi);
    int rc = check_pixels(w, h, lim, err);
    if (rc != SP_OK) {
        png_destroy_read_struct(&png, &pi, NULL);
        return rc;
    }
    /* Normalise every colour type to RGBA 8-bit; one path for all of them. */
    png_set_expand(png); /* palette → RGB, gray < 8 bits → 8, tRNS → alpha */
#ifdef PNG_READ_SCALE_16_TO_8_SUPPORTED
    png_set_scale_16(png); /* v * 255 / 65535, rounded: strip_16 would just drop the low byte */
#else
    png_set_strip_16(png);
#endif
    png_set_gray_to_rgb(png);
    png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, pi);
    if (png_get_channels(png, pi) != 4 || png_get_bit_depth(png, pi) != 8) {
        png_destroy_read_struct(&png, &pi, NULL);
        return sp_fail(err, SP_E_CORRUPT, "unsupported PNG layout after normalisation");
    }
    /* Rows are decoded as RGBA into a 4-channel buffer, then flattened to RGB in place
     * (kept as they are with background = keep; opaque images got an 0xff filler). */
    rc = sp_image_alloc(&img, w, h, 4);
    if (rc == SP_OK && !(rows = malloc(sizeof(uint8_t *) * h))) rc = SP_E_NOMEM;
    if (rc != SP_OK) {
        png_destroy_read_struct(&png, &pi, NULL);
        sp_image_release(&img);
        return sp_fail(err, rc, "cannot allocate %ux%u image", w, h);
    }
    for (uint32_t y = 0; y < h; y++) rows[y] = img.data + (size_t)y * img.stride;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &pi, NULL);
    free(rows);
    if (!(lim->background & SP_BG_KEEP)) {
        for (uint32_t y = 0; y < h; y++)
            flatten_rgba(img.data + (size_t)y * img.stride, w, lim->background);
        img.channels = 3; /* rows keep their 4-byte stride; stride is per image, not w*c */
    }
    sp_image_move(out, &img);
    return SP_OK;
}

typedef struct pwrite {
    sp_buf out;
    char msg[256];
} pwrite;

static void on_write(png_structp png, png_bytep data, size_t n)
{
    pwrite *w = png_get_io_ptr(png);
    sp_buf_append(&w->out, data, n);
    if (w->out.oom) png_error(png, "out of memory");
}

static void on_flush(png_structp png)
{
    (void)png;
}

static void on_write_error(png_structp png, png_const_charp msg)
{
    pwrite *w = png_get_error_ptr(png);
    snprintf(w->msg, sizeof(w->msg), "%s", msg);
    png_longjmp(png, 1);
}

/* Through libpng's full write API (not png_image) so the zlib level and row filters are
 * the user's to choose. No time or text chunks: the bytes depend on the pixels only. */
static int png_encode(const sp_image *img, const sp_encode_opts *o, uint8_t **out, size_t *len,
                      sp_error *err)
{
    static const int types[] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    static const int filters[] = {PNG_ALL_FILTERS, PNG_FILTER_NONE, PNG_FILTER_SUB,
                                  PNG_FILTER_UP, PNG_FILTER_AVG, PNG_FILTER_PAETH};
    *out = NULL;
    *len = 0;
    if (img->channels < 1 || img->channels > 4)
        return sp_fail(err, SP_E_USAGE, "PNG encoding needs 1 to 4 channels, not %u",
                       img->channels);
    /* libpng's default user limit; wider rows are refused as a limit, not a crash. */
    if (img->width > 1000000 || img->height > 1000000)
        return sp_fail(err, SP_E_LIMIT, "%ux%u is too large for PNG (at most 1000000 a side)",
                       img->width, img->height);
    pwrite w = {{0}, {0}};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w, on_write_error, on_warning);
    png_infop pi = png ? png_create_info_struct(png) : NULL;
    if (!pi) {
        png_destroy_write_struct(&png, NULL);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &pi);
        sp_buf_free(&w.out);
        return sp_fail(err, SP_E_INTERNAL, "PNG encoder: %s", w.msg);
    }
    png_set_write_fn(png, &w, on_write, on_flush);
    png_set_compression_level(png, (int)o->png_level);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, filters[o->png_filter]);
    png_set_IHDR(png, pi, img->width, img->height, 8, types[img->channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, pi);
    for (uint32_t y = 0; y < img->height; y++)
        png_write_row(png, img->data + (size_t)y * img->stride);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &pi);
    *out = (uint8_t *)w.out.data;
    *len = w.out.len;
    return SP_OK;
}

const sp_format sp_format_png = {
    .name = "png",
    .extension = "png",
    .help = "PNG (all colour types, 16-bit, palette with tRNS, interlaced) through libpng",
    .probe = png_probe,
    .header = png_header,
    .decode = png_decode,
    .encode = png_encode,
};
