/*
 * JPEG through libjpeg-turbo's libjpeg API.
 *
 * Error handling: libjpeg reports fatal errors by calling error_exit, which must not
 * return; we longjmp back to the caller with the library's message. libjpeg reports
 * recoverable damage (a truncated file, a bad Huffman code) as *warnings* and carries on,
 * filling the rest with grey. For training data that is silent corruption, so every
 * warning is promoted to an error here.
 *
 * Untrusted input: dimensions are checked against the limits before any buffer is sized,
 * and a progress monitor stops progressive files with more scans than the limit allows
 * (a JPEG of thousands of tiny scans is a known CPU bomb).
 */
#include "internal.h"

#include <jpeglib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int code;
    char msg[JMSG_LENGTH_MAX + 64];
} jerr;

typedef struct jprogress {
    struct jpeg_progress_mgr pub;
    j_decompress_ptr cinfo;
    uint32_t max_scans;
} jprogress;

static void on_error_exit(j_common_ptr cinfo)
{
    jerr *e = (jerr *)cinfo->err;
    char buf[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, buf);
    if (!e->code) {
        e->code = SP_E_CORRUPT;
        snprintf(e->msg, sizeof(e->msg), "%s", buf);
    }
    longjmp(e->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
    /* level -1 is a warning (damaged data); higher levels are trace messages. */
    if (level < 0) {
        jerr *e = (jerr *)cinfo->err;
        char buf[JMSG_LENGTH_MAX];
        cinfo->err->format_message(cinfo, buf);
        e->code = SP_E_CORRUPT;
        snprintf(e->msg, sizeof(e->msg), "%s", buf);
        longjmp(e->jump, 1);
    }
}

static void on_progress(j_common_ptr cinfo)
{
    jprogress *p = (jprogress *)cinfo->progress;
    if (p->cinfo->progressive_mode && p->max_scans &&
        (uint32_t)p->cinfo->input_scan_number > p->max_scans) {
        jerr *e = (jerr *)cinfo->err;
        e->code = SP_E_MAX_SCANS;
        snprintf(e->msg, sizeof(e->msg), "progressive JPEG has more than %u scans",
                 p->max_scans);
        longjmp(e->jump, 1);
    }
}

static int jpeg_probe(const uint8_t *d, size_t n)
{
    return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF ? 100 : 0;
}

static int check_dims(uint32_t w, uint32_t h, const sp_limits *lim, sp_error *err)
{
    if (w == 0 || h == 0) return sp_fail(err, SP_E_CORRUPT, "image has zero size");
    if (lim->max_dimension && (w > lim->max_dimension || h > lim->max_dimension))
        return sp_fail(err, SP_E_MAX_DIMENSION, "%ux%u exceeds the dimension limit of %u", w, h,
                       lim->max_dimension);
    if (lim->max_pixels && (uint64_t)w * h > lim->max_pixels)
        return sp_fail(err, SP_E_MAX_PIXELS, "%ux%u = %llu pixels exceeds the limit of %llu", w, h,
                       (unsigned long long)w * h, (unsigned long long)lim->max_pixels);
    return SP_OK;
}

/* Both entry points share one setup so the error and limit handling cannot diverge. */
typedef struct jdec {
    struct jpeg_decompress_struct cinfo;
    jerr err;
    jprogress prog;
} jdec;

static void jdec_init(jdec *d, const uint8_t *data, size_t len, const sp_limits *lim)
{
    d->cinfo.err = jpeg_std_error(&d->err.pub);
    d->err.pub.error_exit = on_error_exit;
    d->err.pub.emit_message = on_message;
    d->err.code = 0;
    jpeg_create_decompress(&d->cinfo);
    d->prog.pub.progress_monitor = on_progress;
    d->prog.cinfo = &d->cinfo;
    d->prog.max_scans = lim->max_scans;
    d->cinfo.progress = &d->prog.pub;
    jpeg_mem_src(&d->cinfo, data, (unsigned long)len);
    /* APP1 is kept for its EXIF orientation (formats/exif.c). */
    jpeg_save_markers(&d->cinfo, JPEG_APP0 + 1, 0xffff);
}

/* The EXIF orientation (1..8; 1 = as stored) from the APP1 markers read with the header. */
static int orientation_of(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0)
            return sp_exif_orientation(m->data, m->data_length);
    return 1;
}

static int jpeg_header(const uint8_t *data, size_t len, const sp_limits *lim,
                       sp_image_info *info, sp_error *err)
{
    jdec d;
    if (setjmp(d.err.jump)) {
        jpeg_destroy_decompress(&d.cinfo);
        return sp_fail(err, d.err.code, "%s", d.err.msg);
    }
    jdec_init(&d, data, len, lim);
    jpeg_read_header(&d.cinfo, TRUE);
    /* The size as the decoder gives it: after the EXIF orientation (5..8 swap the sides). */
    int orientation = orientation_of(&d.cinfo);
    bool swap = orientation >= 5;
    info->width = swap ? d.cinfo.image_height : d.cinfo.image_width;
    info->height = swap ? d.cinfo.image_width : d.cinfo.image_height;
    info->channels = (uint32_t)d.cinfo.num_components;
    /* What the decode below changes, for the report's `altered` rows. */
    info->orientation = (uint16_t)orientation;
    info->maxval = 0;
    info->alterations = (orientation > 1 ? SP_ALTER_ORIENTED : 0) |
                        (d.cinfo.jpeg_color_space == JCS_CMYK ? SP_ALTER_CMYK : 0) |
                        (d.cinfo.jpeg_color_space == JCS_YCCK ? SP_ALTER_YCCK : 0);
    jpeg_destroy_decompress(&d.cinfo);
    return check_dims(info->width, info->height, lim, err);
}

/* Adobe writes CMYK JPEGs inverted (0 = full ink); converting is a multiply per channel. */
static void cmyk_to_rgb(const uint8_t *in, uint8_t *out, uint32_t w, bool inverted)
{
    for (uint32_t x = 0; x < w; x++) {
        unsigned c = in[4 * x], m = in[4 * x + 1], y = in[4 * x + 2], k = in[4 * x + 3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        out[3 * x] = (uint8_t)((c * k + 127) / 255);
        out[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
        out[3 * x + 2] = (uint8_t)((y * k + 127) / 255);
    }
}

/* The smallest DCT scale n/8 (n = 1, 2, 4: the IDCT sizes libjpeg-turbo has fast paths
 * for) that keeps the image at least min_w x min_h; 8 (full size) when none does. */
static unsigned dct_scale(uint32_t w, uint32_t h, uint32_t min_w, uint32_t min_h)
{
    for (unsigned n = 1; n < 8; n *= 2) {
        uint64_t sw = ((uint64_t)w * n + 7) / 8, sh = ((uint64_t)h * n + 7) / 8;
        if (sw >= min_w && sh >= min_h) return n;
    }
    return 8;
}

/* After the caller's setjmp (libjpeg's errors jump there): the decoder set up, the header
 * read, and the dimensions held against the limits before anything is allocated. On a
 * limit the decoder is destroyed and the code returned. */
static int jdec_start(jdec *d, const uint8_t *data, size_t len, const sp_limits *lim,
                      sp_error *err)
{
    jdec_init(d, data, len, lim);
    jpeg_read_header(&d->cinfo, TRUE);
    int rc = check_dims(d->cinfo.image_width, d->cinfo.image_height, lim, err);
    if (rc != SP_OK) jpeg_destroy_decompress(&d->cinfo);
    return rc;
}

/* Decodes at scale n/8 of the full size when min_w/min_h allow (0, 0: full size). */
static int decode_at(const uint8_t *data, size_t len, const sp_limits *lim, uint32_t min_w,
                     uint32_t min_h, sp_image *out, sp_error *err)
{
    jdec d;
    uint8_t *volatile row4 = NULL;
    sp_image img = {0};
    if (setjmp(d.err.jump)) {
        jpeg_destroy_decompress(&d.cinfo);
        free(row4);
        sp_image_release(&img);
        return sp_fail(err, d.err.code, "%s", d.err.msg);
    }
    int rc = jdec_start(&d, data, len, lim, err);
    if (rc != SP_OK) return rc;
    bool cmyk = d.cinfo.jpeg_color_space == JCS_CMYK || d.cinfo.jpeg_color_space == JCS_YCCK;
    d.cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    int orientation = orientation_of(&d.cinfo);
    if (min_w || min_h) {
        /* The minimum is for the upright image: 5..8 store it with its sides swapped. */
        bool swap = orientation >= 5;
        d.cinfo.scale_num = dct_scale(d.cinfo.image_width, d.cinfo.image_height,
                                      swap ? min_h : min_w, swap ? min_w : min_h);
        d.cinfo.scale_denom = 8;
    }
    jpeg_start_decompress(&d.cinfo);
    rc = sp_image_alloc(&img, d.cinfo.output_width, d.cinfo.output_height, 3);
    if (rc == SP_OK && cmyk && !(row4 = malloc((size_t)d.cinfo.output_width * 4)))
        rc = SP_E_NOMEM;
    if (rc != SP_OK) {
        jpeg_destroy_decompress(&d.cinfo);
        free(row4);
        sp_image_release(&img);
        return sp_fail(err, rc, "cannot allocate %ux%u image", d.cinfo.output_width,
                       d.cinfo.output_height);
    }
    while (d.cinfo.output_scanline < d.cinfo.output_height) {
        uint8_t *dst = img.data + (size_t)d.cinfo.output_scanline * img.stride;
        JSAMPROW row = cmyk ? row4 : dst;
        jpeg_read_scanlines(&d.cinfo, &row, 1);
        if (cmyk) cmyk_to_rgb(row4, dst, img.width, d.cinfo.saw_Adobe_marker);
    }
    jpeg_finish_decompress(&d.cinfo);
    jpeg_destroy_decompress(&d.cinfo);
    free(row4);
    rc = sp_image_orient(&img, orientation, err);
    if (rc != SP_OK) {
        sp_image_release(&img);
        return rc;
    }
    sp_image_move(out, &img);
    return SP_OK;
}

static int jpeg_decode(const uint8_t *data, size_t len, const sp_limits *lim, sp_image *out,
                       sp_error *err)
{
    return decode_at(data, len, lim, 0, 0, out, err);
}

static int jpeg_decode_scaled(const uint8_t *data, size_t len, const sp_limits *lim,
                              uint32_t min_w, uint32_t min_h, sp_image *out, sp_error *err)
{
    return decode_at(data, len, lim, min_w ? min_w : 1, min_h ? min_h : 1, out, err);
}

/* ---- crop-aware decoding ------------------------------------------------------------ */

/* Whether the stored rows are the upright image, so a box of the upright image is the
 * same box of the stored one. False for an image its EXIF orientation turns:
 * sp_jpeg_decode_region then takes the full decode (which turns it) and cuts the box out
 * in memory, so the result is the same either way. The one condition that switches the
 * crop-aware path off. */
static bool region_decodable(j_decompress_ptr cinfo)
{
    return orientation_of(cinfo) == 1;
}

/* The box of a full decode, cut out in memory: the fallback, and the definition the
 * cropped decode must match. */
static int region_by_full_decode(const uint8_t *data, size_t len, const sp_limits *lim,
                                 const uint32_t box[4], sp_image *out, sp_region *where,
                                 sp_error *err)
{
    sp_image full = {0};
    int rc = decode_at(data, len, lim, 0, 0, &full, err);
    if (rc != SP_OK) return rc;
    if ((uint64_t)box[0] + box[2] > full.width || (uint64_t)box[1] + box[3] > full.height) {
        sp_image_release(&full);
        return sp_fail(err, SP_E_USAGE, "box %u,%u %ux%u outside the %ux%u image", box[0],
                       box[1], box[2], box[3], full.width, full.height);
    }
    sp_image cut = {0};
    rc = sp_image_alloc(&cut, box[2], box[3], 3);
    for (uint32_t y = 0; rc == SP_OK && y < box[3]; y++)
        memcpy(cut.data + (size_t)y * cut.stride,
               full.data + (size_t)(box[1] + y) * full.stride + (size_t)box[0] * 3,
               (size_t)box[2] * 3);
    sp_image_release(&full);
    if (rc != SP_OK) return sp_fail(err, rc, "cannot allocate %ux%u image", box[2], box[3]);
    sp_image_move(out, &cut);
    *where = (sp_region){box[0], box[1], 8};
    return SP_OK;
}

/* Decodes only the rows and columns a box needs: jpeg_crop_scanline narrows each row to
 * whole iMCUs around the box, jpeg_skip_scanlines passes the rows above it without the
 * IDCT, upsampling or colour conversion.
 *
 * Exactness: the IDCT of a block does not depend on its neighbours, but chroma upsampling
 * ("fancy", the default) blends each chroma sample with the next one, and at the edge of a
 * cropped or skipped-to region libjpeg-turbo has no neighbour and repeats the edge. So the
 * decode reaches one iMCU further on every side (where the image goes on), and those
 * pixels are dropped: the box is then byte-identical to the same box of a full decode
 * (held by ctest crop_on_load_identical on photographs in 4:2:0, 4:2:2, 4:4:4, gray and
 * progressive files).
 *
 * Damage parity: after the box, the rows below are skipped up to the last one, which is
 * read, so the entropy decoder still walks the whole file and a truncated or corrupt file
 * fails here exactly as it does in a full decode (a bad sample must not pass only because
 * its damage lies outside the crop). */
static int decode_region(const uint8_t *data, size_t len, const sp_limits *lim,
                         const uint32_t box[4], unsigned scale, sp_image *out, sp_region *where,
                         sp_error *err)
{
    jdec d;
    uint8_t *volatile row = NULL;
    sp_image img = {0};
    if (setjmp(d.err.jump)) {
        jpeg_destroy_decompress(&d.cinfo);
        free(row);
        sp_image_release(&img);
        return sp_fail(err, d.err.code, "%s", d.err.msg);
    }
    int rc = jdec_start(&d, data, len, lim, err);
    if (rc != SP_OK) return rc;
    const uint32_t W = d.cinfo.image_width, H = d.cinfo.image_height;
    if (!region_decodable(&d.cinfo)) {
        jpeg_destroy_decompress(&d.cinfo);
        return region_by_full_decode(data, len, lim, box, out, where, err);
    }
    if (box[2] == 0 || box[3] == 0 || (uint64_t)box[0] + box[2] > W ||
        (uint64_t)box[1] + box[3] > H) {
        jpeg_destroy_decompress(&d.cinfo);
        return sp_fail(err, SP_E_USAGE, "box %u,%u %ux%u outside the %ux%u image", box[0],
                       box[1], box[2], box[3], W, H);
    }
    bool cmyk = d.cinfo.jpeg_color_space == JCS_CMYK || d.cinfo.jpeg_color_space == JCS_YCCK;
    d.cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    const unsigned n = scale == 1 || scale == 2 || scale == 4 ? scale : 8;
    d.cinfo.scale_num = n;
    d.cinfo.scale_denom = 8;
    jpeg_start_decompress(&d.cinfo);
    /* The box on the decoder's grid (scale/8 of the full size): every output pixel that
     * covers part of it. */
    const uint32_t Ws = d.cinfo.output_width, Hs = d.cinfo.output_height;
    uint32_t sb[4];
    sb[0] = (uint32_t)((uint64_t)box[0] * n / 8);
    sb[1] = (uint32_t)((uint64_t)box[1] * n / 8);
    uint64_t ex = ((uint64_t)(box[0] + box[2]) * n + 7) / 8;
    uint64_t ey = ((uint64_t)(box[1] + box[3]) * n + 7) / 8;
    sb[2] = (uint32_t)((ex < Ws ? ex : Ws) - sb[0]);
    sb[3] = (uint32_t)((ey < Hs ? ey : Hs) - sb[1]);
    /* One iMCU of margin on each side (see above). */
#if JPEG_LIB_VERSION >= 70
    const int dct_w = d.cinfo.min_DCT_h_scaled_size, dct_h = d.cinfo.min_DCT_v_scaled_size;
#else
    const int dct_w = d.cinfo.min_DCT_scaled_size, dct_h = d.cinfo.min_DCT_scaled_size;
#endif
    const uint32_t mx = (uint32_t)(d.cinfo.max_h_samp_factor * dct_w);
    const uint32_t my = (uint32_t)(d.cinfo.max_v_samp_factor * dct_h);
    const uint32_t x0 = sb[0] > mx ? sb[0] - mx : 0;
    const uint32_t x1 = Ws - (sb[0] + sb[2]) > mx ? sb[0] + sb[2] + mx : Ws;
    const uint32_t y0 = sb[1] > my ? sb[1] - my : 0;
    JDIMENSION cx = x0, cw = x1 - x0;
    jpeg_crop_scanline(&d.cinfo, &cx, &cw); /* widens to whole iMCUs */
    const size_t px = cmyk ? 4 : 3;
    rc = sp_image_alloc(&img, sb[2], sb[3], 3);
    if (rc == SP_OK && !(row = malloc((size_t)d.cinfo.output_width * px))) rc = SP_E_NOMEM;
    if (rc != SP_OK) {
        jpeg_destroy_decompress(&d.cinfo);
        free(row);
        sp_image_release(&img);
        return sp_fail(err, rc, "cannot allocate %ux%u image", sb[2], sb[3]);
    }
    if (y0) jpeg_skip_scanlines(&d.cinfo, y0);
    const size_t off = (size_t)(sb[0] - cx) * px;
    while (d.cinfo.output_scanline < sb[1] + sb[3]) {
        const uint32_t y = d.cinfo.output_scanline;
        JSAMPROW r = row;
        jpeg_read_scanlines(&d.cinfo, &r, 1);
        if (y < sb[1]) continue;
        uint8_t *dst = img.data + (size_t)(y - sb[1]) * img.stride;
        if (cmyk) cmyk_to_rgb(row + off, dst, sb[2], d.cinfo.saw_Adobe_marker);
        else memcpy(dst, row + off, (size_t)sb[2] * 3);
    }
    if (d.cinfo.output_scanline + 1 < Hs)
        jpeg_skip_scanlines(&d.cinfo, Hs - 1 - d.cinfo.output_scanline);
    while (d.cinfo.output_scanline < Hs) {
        JSAMPROW r = row;
        jpeg_read_scanlines(&d.cinfo, &r, 1);
    }
    jpeg_finish_decompress(&d.cinfo);
    jpeg_destroy_decompress(&d.cinfo);
    free(row);
    sp_image_move(out, &img);
    *where = (sp_region){sb[0], sb[1], n};
    return SP_OK;
}

int sp_jpeg_decode_region(const uint8_t *data, size_t len, const sp_limits *lim,
                          const uint32_t box[4], unsigned scale, bool cropped, sp_image *out,
                          sp_region *where, sp_error *err)
{
    return cropped ? decode_region(data, len, lim, box, scale, out, where, err)
                   : region_by_full_decode(data, len, lim, box, out, where, err);
}

/* Baseline with the standard Huffman tables by default: every decoder (and DALI's GPU
 * decoder) handles it, and optimised tables save ~5% at a real encoding cost. */
/* The output buffer lives in a struct whose address libjpeg holds, so after a longjmp it
 * still names the current buffer (jpeg_mem_dest swaps in bigger ones as it grows). */
typedef struct jout {
    jerr e;
    unsigned char *buf;
    unsigned long len;
} jout;

#define JPEG_MAX_SIDE 65500 /* libjpeg's JPEG_MAX_DIMENSION */

static int jpeg_encode(const sp_image *img, const sp_encode_opts *o, uint8_t **out, size_t *len,
                       sp_error *err)
{
    struct jpeg_compress_struct cinfo;
    jout d = {.buf = NULL, .len = 0};
    *out = NULL;
    *len = 0;
    if (img->channels != 1 && img->channels != 3)
        return sp_fail(err, SP_E_USAGE, "JPEG encoding needs 1 or 3 channels, not %u",
                       img->channels);
    if (img->width > JPEG_MAX_SIDE || img->height > JPEG_MAX_SIDE)
        return sp_fail(err, SP_E_LIMIT, "%ux%u is too large for JPEG (at most %u a side)",
                       img->width, img->height, JPEG_MAX_SIDE);
    cinfo.err = jpeg_std_error(&d.e.pub);
    d.e.pub.error_exit = on_error_exit;
    d.e.code = 0;
    if (setjmp(d.e.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(d.buf);
        return sp_fail(err, SP_E_INTERNAL, "JPEG encoder: %s", d.e.msg);
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &d.buf, &d.len);
    cinfo.image_width = img->width;
    cinfo.image_height = img->height;
    cinfo.input_components = (int)img->channels;
    cinfo.in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, (int)o->quality, TRUE);
    if (img->channels == 3) {
        /* Luma keeps full resolution; chroma is sampled at 1/h × 1/v of it. */
        static const int h[] = {1, 2, 2}, v[] = {1, 1, 2};
        cinfo.comp_info[0].h_samp_factor = h[o->subsampling];
        cinfo.comp_info[0].v_samp_factor = v[o->subsampling];
        for (int c = 1; c < 3; c++) {
            cinfo.comp_info[c].h_samp_factor = 1;
            cinfo.comp_info[c].v_samp_factor = 1;
        }
    }
    cinfo.optimize_coding = o->optimize ? TRUE : FALSE;
    if (o->progressive) jpeg_simple_progression(&cinfo);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = img->data + (size_t)cinfo.next_scanline * img->stride;
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = d.buf;
    *len = d.len;
    return SP_OK;
}

const sp_format sp_format_jpeg = {
    .name = "jpeg",
    .extension = "jpg",
    .help = "JPEG (baseline and progressive; gray, RGB, CMYK/YCCK) through libjpeg-turbo",
    .probe = jpeg_probe,
    .header = jpeg_header,
    .decode = jpeg_decode,
    .decode_scaled = jpeg_decode_scaled,
    .encode = jpeg_encode,
};
