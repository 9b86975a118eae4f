/*
 * Unit tests for the PNM codec (formats/pnm.c).
 *
 * Why: the IDX and CIFAR sources turn every record into an in-memory P5/P6 file, so this
 * codec decodes every MNIST and CIFAR sample; and PNM files on disk are untrusted like any
 * other. The header is text with comments, so the parser is where bugs hide: a number too
 * big for 32 bits, a raster size that overflows 64 bits, a missing separator byte, a
 * truncated raster, a sample above maxval. Each must be a clear sample-level error, never
 * a crash or an allocation the limits did not allow. Files are written by hand here, so
 * every byte is visible in the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const sp_limits no_limits = {.max_pixels = 0};
static const sp_limits run_limits = {
    .max_pixels = 178956970, .max_file_bytes = 256u << 20, .max_dimension = 65500, .max_scans = 256};

static const sp_format *pnm(void)
{
    const sp_format *f = sp_format_by_name("pnm");
    assert_non_null(f);
    return f;
}

/* A header followed by n raw bytes. */
static uint8_t *file_of(const char *header, const uint8_t *raster, size_t n, size_t *len)
{
    size_t h = strlen(header);
    uint8_t *p = malloc(h + n + 1);
    assert_non_null(p);
    memcpy(p, header, h);
    if (n) memcpy(p + h, raster, n);
    *len = h + n;
    return p;
}

static void decode_ok(const uint8_t *d, size_t len, sp_image *out)
{
    sp_error err;
    sp_error_clear(&err);
    memset(out, 0, sizeof(*out));
    int rc = pnm()->decode(d, len, &run_limits, out, &err);
    if (rc != SP_OK) fail_msg("decode: %s", err.msg);
    assert_int_equal(out->channels, 3);
}

/* Header and decode both fail with `code` (decode alone for errors only it can see). */
static void expect_fail(const char *what, const uint8_t *d, size_t len, const sp_limits *lim,
                        int code, bool header_sees_it)
{
    sp_error err;
    sp_image_info info;
    sp_image img = {0};
    if (header_sees_it) {
        sp_error_clear(&err);
        int rc = pnm()->header(d, len, lim, &info, &err);
        if (rc != code) fail_msg("%s: header gave %s (%s), wanted %s", what, sp_strerror(rc),
                                 err.msg, sp_strerror(code));
        assert_true(err.msg[0] != '\0');
    }
    sp_error_clear(&err);
    int rc = pnm()->decode(d, len, lim, &img, &err);
    if (rc != code) fail_msg("%s: decode gave %s (%s), wanted %s", what, sp_strerror(rc),
                             err.msg, sp_strerror(code));
    assert_null(img.data);
}

static void expect_text_fail(const char *text, const sp_limits *lim, int code, bool header)
{
    expect_fail(text, (const uint8_t *)text, strlen(text), lim, code, header);
}

static void test_round_trip_rgb_and_gray(void **state)
{
    (void)state;
    for (uint32_t ch = 1; ch <= 3; ch += 2) {
        sp_image img = {0};
        assert_int_equal(sp_image_alloc(&img, 7, 5, ch), SP_OK);
        for (size_t i = 0; i < (size_t)7 * 5 * ch; i++) img.data[i] = (uint8_t)(i * 37 + 11);
        sp_encode_opts o;
        sp_encode_defaults(&o);
        uint8_t *enc = NULL;
        size_t len = 0;
        sp_error err;
        sp_error_clear(&err);
        assert_int_equal(pnm()->encode(&img, &o, &enc, &len, &err), SP_OK);
        assert_memory_equal(enc, ch == 1 ? "P5\n7 5\n255\n" : "P6\n7 5\n255\n", 11);
        assert_ptr_equal(sp_format_probe(enc, len), pnm());
        sp_image_info info;
        assert_int_equal(pnm()->header(enc, len, &run_limits, &info, &err), SP_OK);
        assert_int_equal(info.width, 7);
        assert_int_equal(info.height, 5);
        assert_int_equal(info.channels, ch);
        sp_image out;
        decode_ok(enc, len, &out);
        for (uint32_t y = 0; y < 5; y++)
            for (uint32_t x = 0; x < 7; x++)
                for (uint32_t c = 0; c < 3; c++)
                    assert_int_equal(out.data[y * out.stride + x * 3 + c],
                                     img.data[y * img.stride + x * ch + (ch == 1 ? 0 : c)]);
        free(enc);
        sp_image_release(&out);
        sp_image_release(&img);
    }
}

static void test_encode_refuses_alpha(void **state)
{
    (void)state;
    sp_image img = {0};
    assert_int_equal(sp_image_alloc(&img, 2, 2, 4), SP_OK);
    memset(img.data, 0, 16);
    sp_encode_opts o;
    sp_encode_defaults(&o);
    uint8_t *enc = NULL;
    size_t len = 0;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(pnm()->encode(&img, &o, &enc, &len, &err), SP_E_USAGE);
    assert_null(enc);
    sp_image_release(&img);
}

/* 16-bit samples are big-endian and scaled by 255/maxval with rounding. */
static void test_16bit(void **state)
{
    (void)state;
    const uint16_t v[6] = {0, 1, 128, 32767, 65534, 65535};
    uint8_t raster[12];
    for (int i = 0; i < 6; i++) {
        raster[2 * i] = (uint8_t)(v[i] >> 8);
        raster[2 * i + 1] = (uint8_t)v[i];
    }
    size_t len;
    uint8_t *f = file_of("P5\n6 1\n65535\n", raster, sizeof(raster), &len);
    sp_image out;
    decode_ok(f, len, &out);
    for (int i = 0; i < 6; i++) {
        int want = (int)(((uint64_t)v[i] * 255 + 32767) / 65535);
        assert_int_equal(out.data[3 * i], want);
        assert_int_equal(out.data[3 * i + 2], want);
    }
    assert_int_equal(out.data[0], 0);
    assert_int_equal(out.data[15], 255);
    free(f);
    sp_image_release(&out);

    /* P6 at maxval 1023 (10-bit): 1023 is white, 512 is about half. */
    const uint8_t rgb[6] = {0x03, 0xff, 0x02, 0x00, 0x00, 0x00};
    f = file_of("P6 1 1 1023\n", rgb, sizeof(rgb), &len);
    decode_ok(f, len, &out);
    assert_int_equal(out.data[0], 255);
    assert_int_equal(out.data[1], (512 * 255 + 511) / 1023);
    assert_int_equal(out.data[2], 0);
    free(f);
    sp_image_release(&out);
}

static void test_small_maxval_scaled(void **state)
{
    (void)state;
    const uint8_t raster[3] = {0, 7, 15};
    size_t len;
    uint8_t *f = file_of("P5\n3 1\n15\n", raster, sizeof(raster), &len);
    sp_image out;
    decode_ok(f, len, &out);
    assert_int_equal(out.data[0], 0);
    assert_int_equal(out.data[3], (7 * 255 + 7) / 15);
    assert_int_equal(out.data[6], 255);
    free(f);
    sp_image_release(&out);
}

/* ASCII forms, comments between header fields, and bitmaps (1 = black). */
static void test_ascii_and_bitmaps(void **state)
{
    (void)state;
    const char *p3 = "P3\n# made by hand\n2 1 # width height\n255\n255 0 0\n  0 128\n# end\n 255";
    sp_image out;
    decode_ok((const uint8_t *)p3, strlen(p3), &out);
    const uint8_t want3[6] = {255, 0, 0, 0, 128, 255};
    assert_memory_equal(out.data, want3, 6);
    sp_image_release(&out);

    const char *p2 = "P2 3 1 4\n0 2 4";
    decode_ok((const uint8_t *)p2, strlen(p2), &out);
    assert_int_equal(out.data[0], 0);
    assert_int_equal(out.data[3], (2 * 255 + 2) / 4);
    assert_int_equal(out.data[6], 255);
    sp_image_release(&out);

    const char *p1 = "P1\n3 2\n010\n1 0 1";
    decode_ok((const uint8_t *)p1, strlen(p1), &out);
    const uint8_t want1[6] = {255, 0, 255, 0, 255, 0};
    for (int i = 0; i < 6; i++) {
        uint32_t x = (uint32_t)i % 3, y = (uint32_t)i / 3;
        assert_int_equal(out.data[y * out.stride + x * 3 + 1], want1[i]);
    }
    sp_image_release(&out);

    /* P4: rows padded to a byte; 10 pixels wide = 2 bytes a row. */
    const uint8_t bits[4] = {0xC0, 0x40, 0x00, 0x00};
    size_t len;
    uint8_t *f = file_of("P4\n10 2\n", bits, sizeof(bits), &len);
    decode_ok(f, len, &out);
    assert_int_equal(out.data[0], 0);      /* x=0 black */
    assert_int_equal(out.data[3], 0);      /* x=1 black */
    assert_int_equal(out.data[6], 255);    /* x=2 white */
    assert_int_equal(out.data[9 * 3], 0);  /* x=9: second byte's bit 6 */
    assert_int_equal(out.data[out.stride], 255);
    free(f);
    sp_image_release(&out);
}

/* A binary raster's first byte may be a whitespace value: exactly one separator is read. */
static void test_raster_starting_with_whitespace(void **state)
{
    (void)state;
    const uint8_t raster[2] = {'\n', ' '};
    size_t len;
    uint8_t *f = file_of("P5\n2 1\n255\n", raster, sizeof(raster), &len);
    sp_image out;
    decode_ok(f, len, &out);
    assert_int_equal(out.data[0], '\n');
    assert_int_equal(out.data[3], ' ');
    free(f);
    sp_image_release(&out);
}

static void test_probe(void **state)
{
    (void)state;
    const sp_format *f = pnm();
    assert_int_equal(f->probe((const uint8_t *)"P5\n28 28\n255\n", 13), 80);
    assert_int_equal(f->probe((const uint8_t *)"P6 # c\n", 7), 80);
    assert_int_equal(f->probe((const uint8_t *)"P5", 2), 0);
    assert_int_equal(f->probe((const uint8_t *)"P7\n28", 5), 0);
    assert_int_equal(f->probe((const uint8_t *)"P5x28", 5), 0);
    assert_int_equal(f->probe((const uint8_t *)"P5 hello", 8), 0);
    assert_int_equal(f->probe((const uint8_t *)"Pizza 1", 7), 0);
    assert_null(sp_format_probe((const uint8_t *)"P2 ok, not an image", 19));
}

static void test_malformed_headers(void **state)
{
    (void)state;
    expect_text_fail("P7\n1 1\n255\n", &run_limits, SP_E_FORMAT, true);
    expect_text_fail("P5\n", &run_limits, SP_E_CORRUPT, true);
    expect_text_fail("P5\n3", &run_limits, SP_E_CORRUPT, true);
    expect_text_fail("P5\n3 3", &run_limits, SP_E_CORRUPT, true);
    expect_text_fail("P5\nab 3\n255\n", &run_limits, SP_E_CORRUPT, true);
    expect_text_fail("P5\n28x28\n255\n", &run_limits, SP_E_CORRUPT, true);
    expect_text_fail("P5\n-1 3\n255\n", &run_limits, SP_E_CORRUPT, true);
    expect_text_fail("P5\n0 3\n255\nabc", &run_limits, SP_E_CORRUPT, true);
    expect_text_fail("P5\n1 1\n0\nx", &run_limits, SP_E_CORRUPT, true);
    expect_text_fail("P5\n1 1\n65536\nxx", &run_limits, SP_E_CORRUPT, true);
    expect_text_fail("P5\n1 1\n255", &run_limits, SP_E_CORRUPT, true);     /* no separator */
    expect_text_fail("P5\n1 1\n255#x\n\x01", &run_limits, SP_E_CORRUPT, true);
    expect_text_fail("P5 # only a comment", &run_limits, SP_E_CORRUPT, true);
}

static void test_truncated(void **state)
{
    (void)state;
    const uint8_t raster[100] = {0};
    size_t len;
    uint8_t *f = file_of("P6\n4 3\n255\n", raster, 35, &len); /* 36 needed */
    expect_fail("P6 one byte short", f, len, &run_limits, SP_E_CORRUPT, true);
    free(f);
    f = file_of("P5\n4 3\n65535\n", raster, 23, &len); /* 24 needed */
    expect_fail("16-bit P5 one byte short", f, len, &run_limits, SP_E_CORRUPT, true);
    free(f);
    f = file_of("P4\n9 2\n", raster, 3, &len); /* 4 needed */
    expect_fail("P4 one byte short", f, len, &run_limits, SP_E_CORRUPT, true);
    free(f);
    /* ASCII rasters can only be counted while decoding. */
    expect_text_fail("P2\n2 2\n255\n1 2 3", &run_limits, SP_E_CORRUPT, false);
    expect_text_fail("P3\n1 1\n255\n1 2", &run_limits, SP_E_CORRUPT, false);
    expect_text_fail("P2\n2 1\n255\n1 x", &run_limits, SP_E_CORRUPT, false);
}

static void test_sample_above_maxval(void **state)
{
    (void)state;
    const uint8_t raster[4] = {10, 20, 101, 0};
    size_t len;
    uint8_t *f = file_of("P5\n2 2\n100\n", raster, sizeof(raster), &len);
    expect_fail("P5 sample 101 > 100", f, len, &run_limits, SP_E_CORRUPT, false);
    free(f);
    const uint8_t wide[2] = {0x04, 0x00}; /* 1024 > 1023 */
    f = file_of("P5\n1 1\n1023\n", wide, sizeof(wide), &len);
    expect_fail("16-bit sample 1024 > 1023", f, len, &run_limits, SP_E_CORRUPT, false);
    free(f);
    expect_text_fail("P2 1 1 255 256", &run_limits, SP_E_CORRUPT, false);
    expect_text_fail("P2 1 1 65535 99999999999999", &run_limits, SP_E_CORRUPT, false);
    expect_text_fail("P1 1 1 2", &run_limits, SP_E_CORRUPT, false);
}

/* Sizes: limits refuse before anything is allocated, each with its option's code; numbers
 * past 32 bits and rasters past 64 bits are SP_E_LIMIT even when no limit is configured. */
static void test_sizes_and_overflow(void **state)
{
    (void)state;
    expect_text_fail("P6\n65501 1\n255\n...", &run_limits, SP_E_MAX_DIMENSION, true);
    expect_text_fail("P6\n20000 20000\n255\n...", &run_limits, SP_E_MAX_PIXELS, true);
    expect_text_fail("P5\n4294967296 1\n255\n.", &no_limits, SP_E_LIMIT, true);
    expect_text_fail("P5\n1 99999999999999999999999\n255\n.", &no_limits, SP_E_LIMIT, true);
    /* 4294967295 x 4294967295 x 3 channels x 2 bytes: past 64 bits. */
    expect_text_fail("P6\n4294967295 4294967295\n65535\n.", &no_limits, SP_E_LIMIT, true);
    /* Fits in 64 bits, but the file is nowhere near that long: truncated, not allocated. */
    expect_text_fail("P6\n100000 100000\n255\n.", &no_limits, SP_E_CORRUPT, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_rgb_and_gray),
        cmocka_unit_test(test_encode_refuses_alpha),
        cmocka_unit_test(test_16bit),
        cmocka_unit_test(test_small_maxval_scaled),
        cmocka_unit_test(test_ascii_and_bitmaps),
        cmocka_unit_test(test_raster_starting_with_whitespace),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_malformed_headers),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_sample_above_maxval),
        cmocka_unit_test(test_sizes_and_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
