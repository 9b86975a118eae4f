/*
 * Unit tests for the image codecs (formats/jpeg.c, formats/png.c, formats/registry.c).
 *
 * Why: every input image is probed, header-checked against the limits for untrusted
 * input, and decoded to 8-bit RGB; every output is encoded. Silent failure modes matter
 * most here: libjpeg fills a truncated file with grey and only *warns* (shardpack must
 * reject it), a decompression bomb must be refused from the header before any pixels are
 * allocated, and a transparent PNG must come out on white, not on whatever the
 * transparent pixels happened to hold. Images are made in memory by the codecs
 * themselves, so no fixture files are needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include <jpeglib.h>

static const sp_limits no_limits = {
    .max_pixels = 0, .max_file_bytes = 0, .max_dimension = 0, .max_scans = 0};
static const sp_limits run_limits = {
    .max_pixels = 178956970, .max_file_bytes = 256u << 20, .max_dimension = 65500, .max_scans = 256};

/* A smooth RGB (or gray) gradient: the kind of content JPEG keeps well. */
static void gradient(sp_image *img, uint32_t w, uint32_t h, uint32_t ch)
{
    memset(img, 0, sizeof(*img));
    assert_int_equal(sp_image_alloc(img, w, h, ch), SP_OK);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = img->data + y * img->stride + x * ch;
            p[0] = (uint8_t)(x * 255 / (w - 1));
            if (ch >= 3) {
                p[1] = (uint8_t)(y * 255 / (h - 1));
                p[2] = (uint8_t)((x + y) * 255 / (w + h - 2));
            }
            if (ch == 4) p[3] = 255;
        }
}

static void encode(const sp_format *f, const sp_image *img, int q, uint8_t **out, size_t *len)
{
    sp_error err;
    sp_error_clear(&err);
    sp_encode_opts o;
    sp_encode_defaults(&o);
    o.quality = q;
    int rc = f->encode(img, &o, out, len, &err);
    if (rc != SP_OK) fail_msg("%s encode: %s", f->name, err.msg);
    assert_non_null(*out);
    assert_true(*len > 0);
}

static void decode(const sp_format *f, const uint8_t *data, size_t len, sp_image *out)
{
    sp_error err;
    sp_error_clear(&err);
    memset(out, 0, sizeof(*out));
    int rc = f->decode(data, len, &run_limits, out, &err);
    if (rc != SP_OK) fail_msg("%s decode: %s", f->name, err.msg);
    assert_int_equal(out->channels, 3);
    assert_true(out->stride >= (size_t)out->width * 3);
}

/* PSNR of b against a, over the RGB channels (a may have 1 channel: gray is replicated). */
static double psnr(const sp_image *a, const sp_image *b)
{
    double se = 0;
    for (uint32_t y = 0; y < a->height; y++)
        for (uint32_t x = 0; x < a->width; x++)
            for (uint32_t c = 0; c < 3; c++) {
                int va = a->data[y * a->stride + x * a->channels + (a->channels == 1 ? 0 : c)];
                int vb = b->data[y * b->stride + x * 3 + c];
                se += (double)(va - vb) * (va - vb);
            }
    double mse = se / ((double)a->width * a->height * 3);
    return mse == 0 ? INFINITY : 10.0 * log10(255.0 * 255.0 / mse);
}

/* ---- JPEG ------------------------------------------------------------------------------ */

static void test_jpeg_round_trip(void **state)
{
    (void)state;
    sp_image img, back;
    gradient(&img, 96, 64, 3);
    uint8_t *data;
    size_t len;
    encode(&sp_format_jpeg, &img, 95, &data, &len);
    assert_int_equal(sp_format_jpeg.probe(data, len), 100);
    assert_ptr_equal(sp_format_probe(data, len), &sp_format_jpeg);

    sp_image_info info = {0};
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_format_jpeg.header(data, len, &run_limits, &info, &err), SP_OK);
    assert_int_equal(info.width, 96);
    assert_int_equal(info.height, 64);
    assert_int_equal(info.channels, 3);
    assert_int_equal(info.alterations, 0); /* plain RGB: nothing for the report */

    decode(&sp_format_jpeg, data, len, &back);
    assert_int_equal(back.width, 96);
    assert_int_equal(back.height, 64);
    double p = psnr(&img, &back);
    print_message("JPEG q95 gradient: %zu bytes, PSNR %.1f dB\n", len, p);
    if (!(p > 35.0)) fail_msg("PSNR %.2f dB <= 35", p);

    /* Lower quality: smaller and worse, but still the same picture. */
    uint8_t *small;
    size_t small_len;
    encode(&sp_format_jpeg, &img, 20, &small, &small_len);
    assert_true(small_len < len);
    sp_image low;
    decode(&sp_format_jpeg, small, small_len, &low);
    double pl = psnr(&img, &low);
    assert_true(pl < p);
    assert_true(pl > 20.0);
    sp_image_release(&low);
    free(small);

    free(data);
    sp_image_release(&back);
    sp_image_release(&img);
}

static void test_jpeg_gray(void **state)
{
    (void)state;
    sp_image img, back;
    gradient(&img, 40, 30, 1);
    uint8_t *data;
    size_t len;
    encode(&sp_format_jpeg, &img, 95, &data, &len);
    sp_image_info info = {0};
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_format_jpeg.header(data, len, &run_limits, &info, &err), SP_OK);
    assert_int_equal(info.channels, 1);
    decode(&sp_format_jpeg, data, len, &back); /* gray decodes to RGB with R = G = B */
    for (uint32_t y = 0; y < 30; y++)
        for (uint32_t x = 0; x < 40; x++) {
            const uint8_t *p = back.data + y * back.stride + x * 3;
            assert_true(p[0] == p[1] && p[1] == p[2]);
        }
    assert_true(psnr(&img, &back) > 35.0);
    free(data);
    sp_image_release(&back);
    sp_image_release(&img);

    /* JPEG has no alpha: a 4-channel image is refused. */
    gradient(&img, 8, 8, 4);
    sp_encode_opts o;
    sp_encode_defaults(&o);
    assert_int_equal(sp_format_jpeg.encode(&img, &o, &data, &len, &err), SP_E_USAGE);
    assert_null(data);
    sp_image_release(&img);
}

/* libjpeg only warns about a truncated file and pads it with grey: that must be an error. */
static void test_jpeg_truncated(void **state)
{
    (void)state;
    sp_image img;
    gradient(&img, 96, 64, 3);
    uint8_t *data;
    size_t len;
    encode(&sp_format_jpeg, &img, 95, &data, &len);
    size_t cut = len * 6 / 10;
    uint8_t *part = malloc(cut);
    assert_non_null(part);
    memcpy(part, data, cut);

    sp_image out = {0};
    sp_error err;
    sp_error_clear(&err);
    int rc = sp_format_jpeg.decode(part, cut, &run_limits, &out, &err);
    assert_int_equal(rc, SP_E_CORRUPT);
    assert_int_equal(err.code, SP_E_CORRUPT);
    assert_true(err.msg[0] != '\0');
    print_message("truncated JPEG: %s\n", err.msg);
    assert_null(out.data);

    /* Cut inside the headers: corrupt too, from header() as well. */
    sp_image_info info;
    assert_int_equal(sp_format_jpeg.header(data, 20, &run_limits, &info, &err), SP_E_CORRUPT);
    assert_int_equal(sp_format_jpeg.decode(data, 20, &run_limits, &out, &err), SP_E_CORRUPT);
    assert_null(out.data);

    free(part);
    free(data);
    sp_image_release(&img);
}

/* A progressive JPEG written with libjpeg directly (the codec itself writes baseline). */
static void progressive_jpeg(const sp_image *img, uint8_t **out, size_t *len, int *scans)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *mem = NULL;
    unsigned long memlen = 0;
    jpeg_mem_dest(&c, &mem, &memlen);
    c.image_width = img->width;
    c.image_height = img->height;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_simple_progression(&c);
    *scans = c.num_scans;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = img->data + (size_t)c.next_scanline * img->stride;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *out = mem;
    *len = memlen;
}

/* A progressive JPEG with more scans than max_scans is refused (a CPU bomb otherwise). */
static void test_jpeg_progressive_scans(void **state)
{
    (void)state;
    sp_image img, out = {0};
    gradient(&img, 64, 48, 3);
    uint8_t *data;
    size_t len;
    int scans;
    progressive_jpeg(&img, &data, &len, &scans);
    assert_true(scans > 2);
    sp_limits lim = run_limits;
    sp_error err;

    lim.max_scans = (uint32_t)scans; /* at the limit: fine */
    sp_error_clear(&err);
    if (sp_format_jpeg.decode(data, len, &lim, &out, &err) != SP_OK) fail_msg("%s", err.msg);
    assert_true(psnr(&img, &out) > 35.0);
    sp_image_release(&out);

    lim.max_scans = (uint32_t)scans - 1;
    sp_error_clear(&err);
    assert_int_equal(sp_format_jpeg.decode(data, len, &lim, &out, &err), SP_E_MAX_SCANS);
    assert_non_null(strstr(err.msg, "scans"));
    assert_null(out.data);

    free(data);
    sp_image_release(&img);
}

/* CMYK JPEG of the RGB image img: with an Adobe marker the inks are stored inverted
 * (Photoshop's convention, 255 = no ink), without one plainly (0 = no ink). */
static void cmyk_jpeg(const sp_image *img, bool adobe, uint8_t **out, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *mem = NULL;
    unsigned long memlen = 0;
    jpeg_mem_dest(&c, &mem, &memlen);
    c.image_width = img->width;
    c.image_height = img->height;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    c.write_Adobe_marker = adobe ? TRUE : FALSE;
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = malloc((size_t)img->width * 4);
    assert_non_null(row);
    while (c.next_scanline < c.image_height) {
        const uint8_t *in = img->data + (size_t)c.next_scanline * img->stride;
        for (uint32_t x = 0; x < img->width; x++)
            for (int k = 0; k < 4; k++) {
                uint8_t ink = k < 3 ? (uint8_t)(255 - in[3 * x + k]) : 0; /* no black */
                row[4 * x + k] = adobe ? (uint8_t)(255 - ink) : ink;
            }
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    free(row);
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *out = mem;
    *len = memlen;
}

static void test_jpeg_cmyk(void **state)
{
    (void)state;
    sp_image img;
    gradient(&img, 48, 32, 3);
    for (int adobe = 0; adobe <= 1; adobe++) {
        uint8_t *data;
        size_t len;
        cmyk_jpeg(&img, adobe, &data, &len);
        sp_image_info info;
        sp_error err;
        sp_error_clear(&err);
        assert_int_equal(sp_format_jpeg.header(data, len, &run_limits, &info, &err), SP_OK);
        assert_int_equal(info.channels, 4);
        assert_int_equal(info.alterations, SP_ALTER_CMYK);
        sp_image back;
        decode(&sp_format_jpeg, data, len, &back);
        double p = psnr(&img, &back);
        if (!(p > 35.0)) fail_msg("CMYK (Adobe marker: %d) decodes at PSNR %.1f dB", adobe, p);
        sp_image_release(&back);
        free(data);
    }
    sp_image_release(&img);
}

/* ---- probing ------------------------------------------------------------------------ */

static void test_probe(void **state)
{
    (void)state;
    uint8_t garbage[256];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(garbage); i++) {
        x = x * 1103515245u + 12345u;
        garbage[i] = (uint8_t)(x >> 24);
    }
    garbage[0] = 'G'; /* neither 0xFF nor 0x89 */
    assert_int_equal(sp_format_jpeg.probe(garbage, sizeof(garbage)), 0);
    assert_int_equal(sp_format_png.probe(garbage, sizeof(garbage)), 0);
    assert_null(sp_format_probe(garbage, sizeof(garbage)));
    assert_null(sp_format_probe(garbage, 0));

    /* Garbage handed to a decoder anyway is refused, not crashed on. */
    sp_image out = {0};
    sp_image_info info;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_format_jpeg.header(garbage, sizeof(garbage), &run_limits, &info, &err),
                     SP_E_CORRUPT);
    assert_int_equal(sp_format_jpeg.decode(garbage, sizeof(garbage), &run_limits, &out, &err),
                     SP_E_CORRUPT);
    assert_int_equal(sp_format_png.decode(garbage, sizeof(garbage), &run_limits, &out, &err),
                     SP_E_CORRUPT);
    assert_null(out.data);

    /* Content decides, and only the first bytes are needed. */
    sp_image img;
    gradient(&img, 16, 16, 3);
    uint8_t *png, *jpg;
    size_t png_len, jpg_len;
    encode(&sp_format_png, &img, 0, &png, &png_len);
    encode(&sp_format_jpeg, &img, 90, &jpg, &jpg_len);
    assert_int_equal(sp_format_png.probe(png, png_len), 100);
    assert_int_equal(sp_format_jpeg.probe(png, png_len), 0);
    assert_int_equal(sp_format_png.probe(jpg, jpg_len), 0);
    assert_ptr_equal(sp_format_probe(png, png_len), &sp_format_png);
    assert_ptr_equal(sp_format_probe(png, 8), &sp_format_png);
    assert_null(sp_format_probe(png, 7));
    assert_ptr_equal(sp_format_probe(jpg, jpg_len), &sp_format_jpeg);

    assert_ptr_equal(sp_format_by_name("png"), &sp_format_png);
    assert_ptr_equal(sp_format_by_name("jpeg"), &sp_format_jpeg);
    assert_null(sp_format_by_name("jpg"));
    size_t n;
    const sp_format *const *all = sp_formats(&n);
    assert_int_equal(n, 4); /* jpeg, png, pnm, raw */
    assert_ptr_equal(all[0], &sp_format_jpeg);
    /* raw is write-only: it never claims bytes, not even its own output. */
    assert_ptr_equal(all[n - 1], &sp_format_raw);
    assert_int_equal(sp_format_raw.probe(png, png_len), 0);
    assert_null(sp_format_raw.decode);

    free(png);
    free(jpg);
    sp_image_release(&img);
}

/* ---- PNG -------------------------------------------------------------------------------- */

static void test_png_round_trip(void **state)
{
    (void)state;
    sp_image img, back;
    gradient(&img, 33, 21, 3);
    /* Add some high-frequency content so the check is not only about smooth data. */
    for (uint32_t i = 0; i < 33 * 21 * 3; i += 7) img.data[i] ^= (uint8_t)(i * 37);
    uint8_t *data;
    size_t len;
    encode(&sp_format_png, &img, 0, &data, &len);
    sp_image_info info = {0};
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_format_png.header(data, len, &run_limits, &info, &err), SP_OK);
    assert_int_equal(info.width, 33);
    assert_int_equal(info.height, 21);
    assert_int_equal(info.channels, 3);
    assert_int_equal(info.alterations, 0);
    decode(&sp_format_png, data, len, &back);
    assert_int_equal(back.width, 33);
    assert_int_equal(back.height, 21);
    for (uint32_t y = 0; y < 21; y++)
        assert_memory_equal(back.data + y * back.stride, img.data + y * img.stride, 33 * 3);
    free(data);
    sp_image_release(&back);
    sp_image_release(&img);

    /* Gray: exact, replicated to R = G = B. */
    gradient(&img, 17, 5, 1);
    encode(&sp_format_png, &img, 0, &data, &len);
    assert_int_equal(sp_format_png.header(data, len, &run_limits, &info, &err), SP_OK);
    assert_int_equal(info.channels, 1);
    decode(&sp_format_png, data, len, &back);
    for (uint32_t y = 0; y < 5; y++)
        for (uint32_t x = 0; x < 17; x++)
            for (int c = 0; c < 3; c++)
                assert_int_equal(back.data[y * back.stride + x * 3 + c], img.data[y * img.stride + x]);
    free(data);
    sp_image_release(&back);
    sp_image_release(&img);
}

static void test_png_truncated(void **state)
{
    (void)state;
    sp_image img, out = {0};
    gradient(&img, 64, 64, 3);
    uint8_t *data;
    size_t len;
    encode(&sp_format_png, &img, 0, &data, &len);
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_format_png.decode(data, len * 6 / 10, &run_limits, &out, &err), SP_E_CORRUPT);
    assert_null(out.data);
    /* A flipped bit in the image data fails its CRC. */
    data[len / 2] ^= 0x10;
    assert_int_equal(sp_format_png.decode(data, len, &run_limits, &out, &err), SP_E_CORRUPT);
    assert_null(out.data);
    free(data);
    sp_image_release(&img);
}

/* Transparent pixels are composited on white. */
static void test_png_alpha_on_white(void **state)
{
    (void)state;
    const uint32_t w = 10, h = 6;
    sp_image img = {0}, back;
    assert_int_equal(sp_image_alloc(&img, w, h, 4), SP_OK);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = img.data + y * img.stride + x * 4;
            p[0] = (uint8_t)(20 * x);
            p[1] = (uint8_t)(40 * y);
            p[2] = 7;
            p[3] = (x + y) % 3 == 0 ? 0 : (x + y) % 3 == 1 ? 255 : 128;
        }
    uint8_t *data;
    size_t len;
    encode(&sp_format_png, &img, 0, &data, &len);
    sp_image_info info = {0};
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_format_png.header(data, len, &run_limits, &info, &err), SP_OK);
    assert_int_equal(info.channels, 4);
    assert_int_equal(info.alterations, SP_ALTER_ALPHA);
    decode(&sp_format_png, data, len, &back);
    assert_int_equal(back.width, w);
    assert_int_equal(back.height, h);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            const uint8_t *in = img.data + y * img.stride + x * 4;
            const uint8_t *out = back.data + y * back.stride + x * 3;
            for (int c = 0; c < 3; c++) {
                /* a * v + (1 - a) * 255, rounded */
                double want = (in[3] * in[c] + (255.0 - in[3]) * 255.0) / 255.0;
                if (fabs(out[c] - want) > 0.5 + 1e-9)
                    fail_msg("pixel (%u, %u) alpha %u channel %d: %u, expected %.1f", x, y, in[3], c,
                             out[c], want);
            }
            if (in[3] == 0) assert_true(out[0] == 255 && out[1] == 255 && out[2] == 255);
            if (in[3] == 255) assert_memory_equal(out, in, 3);
        }
    free(data);
    sp_image_release(&back);
    sp_image_release(&img);
}

/* ---- limits --------------------------------------------------------------------------- */

static void test_limits(void **state)
{
    (void)state;
    sp_image img;
    gradient(&img, 50, 40, 3); /* 2000 pixels */
    const sp_format *const fmts[] = {&sp_format_jpeg, &sp_format_png};
    for (size_t i = 0; i < 2; i++) {
        uint8_t *data;
        size_t len;
        encode(fmts[i], &img, 90, &data, &len);
        sp_limits lim = run_limits;
        sp_image_info info;
        sp_image out = {0};
        sp_error err;

        lim.max_pixels = 1999;
        sp_error_clear(&err);
        assert_int_equal(fmts[i]->header(data, len, &lim, &info, &err), SP_E_MAX_PIXELS);
        assert_non_null(strstr(err.msg, "50x40"));
        sp_error_clear(&err);
        assert_int_equal(fmts[i]->decode(data, len, &lim, &out, &err), SP_E_MAX_PIXELS);
        assert_int_equal(err.code, SP_E_MAX_PIXELS);
        assert_null(out.data);

        /* At the limit exactly: accepted. */
        lim.max_pixels = 2000;
        sp_error_clear(&err);
        assert_int_equal(fmts[i]->header(data, len, &lim, &info, &err), SP_OK);
        assert_int_equal(fmts[i]->decode(data, len, &lim, &out, &err), SP_OK);
        sp_image_release(&out);

        /* A side over max_dimension: refused before decoding, as a limit, by both codecs. */
        lim.max_dimension = 49;
        sp_error_clear(&err);
        int rc = fmts[i]->decode(data, len, &lim, &out, &err);
        print_message("%s over max_dimension: %s: %s\n", fmts[i]->name, sp_strerror(rc), err.msg);
        assert_int_equal(rc, SP_E_MAX_DIMENSION);
        assert_null(out.data);
        sp_error_clear(&err);
        rc = fmts[i]->header(data, len, &lim, &info, &err);
        assert_int_equal(rc, SP_E_MAX_DIMENSION);

        /* Zero limits mean unlimited. */
        sp_error_clear(&err);
        assert_int_equal(fmts[i]->decode(data, len, &no_limits, &out, &err), SP_OK);
        sp_image_release(&out);
        free(data);
    }
    sp_image_release(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jpeg_round_trip),
        cmocka_unit_test(test_jpeg_gray),
        cmocka_unit_test(test_jpeg_truncated),
        cmocka_unit_test(test_jpeg_progressive_scans),
        cmocka_unit_test(test_jpeg_cmyk),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_png_round_trip),
        cmocka_unit_test(test_png_truncated),
        cmocka_unit_test(test_png_alpha_on_white),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
