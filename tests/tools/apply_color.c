/*
 * apply_color — runs one pixel stage on a PNG or JPEG and writes the result as PNG, for the
 * compatibility checks against Pillow (tests/compat/check_color_pillow.py). Built with the
 * tests only.
 *
 *   apply_color STAGE IN OUT [key=value ...] [--seed N] [--key K] [--copy C]
 *               [--channels 1|3|4] [--bench N]
 *
 * The stage runs exactly as in a build (its stream keyed by seed, stage name, key and
 * copy), with p = 1 and apply = all. --channels turns the decoded RGB into gray (the red
 * channel: give it a gray image) or RGBA (alpha = (x + 2y) mod 256, a pattern the checker
 * knows). The parameters the stage drew are printed as JSON on stdout. --bench N runs the
 * stage N more times on copies of the input and prints the mean time per run on stderr.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int die(const char *what, const sp_error *err)
{
    fprintf(stderr, "apply_color: %s: %s\n", what, err && err->msg[0] ? err->msg : "failed");
    return 1;
}

static int to_channels(sp_image *img, uint32_t n, sp_error *err)
{
    if (n == 3) return SP_OK;
    sp_image out = {0};
    int rc = sp_image_alloc(&out, img->width, img->height, n);
    if (rc != SP_OK) return sp_fail(err, rc, "cannot allocate");
    for (uint32_t y = 0; y < img->height; y++) {
        const uint8_t *s = img->data + (size_t)y * img->stride;
        uint8_t *d = out.data + (size_t)y * out.stride;
        for (uint32_t x = 0; x < img->width; x++, s += 3, d += n) {
            memcpy(d, s, n == 1 ? 1 : 3);
            if (n == 4) d[3] = (uint8_t)(x + 2 * y);
        }
    }
    sp_image_move(img, &out);
    return SP_OK;
}

static int copy_image(const sp_image *src, sp_image *dst)
{
    int rc = sp_image_alloc(dst, src->width, src->height, src->channels);
    for (uint32_t y = 0; rc == SP_OK && y < src->height; y++)
        memcpy(dst->data + (size_t)y * dst->stride, src->data + (size_t)y * src->stride,
               (size_t)src->width * src->channels);
    return rc;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: apply_color STAGE IN OUT [key=value ...] [--seed N] [--key K] "
                        "[--copy C] [--channels 1|3|4] [--bench N]\n");
        return 2;
    }
    sp_error err;
    sp_error_clear(&err);
    const sp_stage_desc *d = sp_stage_desc_by_name(argv[1]);
    if (!d || d->kind != SP_STAGE_PIXEL) return die("not a pixel stage", NULL);
    void *opts = calloc(1, d->opts_size ? d->opts_size : 1);
    if (!opts || sp_options_defaults(d->options, opts, &err) != SP_OK) return die("defaults", &err);
    uint64_t seed = 0;
    const char *key = "sample.png";
    uint32_t copy = 1, channels = 3;
    long bench = 0;
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 < argc && !strcmp(a, "--seed")) seed = strtoull(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(a, "--key")) key = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "--copy")) copy = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(a, "--channels")) channels = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (i + 1 < argc && !strcmp(a, "--bench")) bench = strtol(argv[++i], NULL, 10);
        else {
            const char *eq = strchr(a, '=');
            if (!eq) return die(a, NULL);
            char name[64];
            snprintf(name, sizeof(name), "%.*s", (int)(eq - a), a);
            const sp_option *o = sp_option_find(d->options, name);
            if (!o) return die(name, NULL);
            if (sp_option_parse(o, opts, eq + 1, &err) != SP_OK) return die(name, &err);
        }
    }
    if (channels != 1 && channels != 3 && channels != 4) return die("--channels", NULL);
    uint8_t *data = NULL;
    size_t len = 0;
    if (sp_read_file(argv[2], 1u << 30, &data, &len, &err) != SP_OK) return die(argv[2], &err);
    const sp_format *f = sp_format_probe(data, len);
    if (!f) return die(argv[2], NULL);
    const sp_limits lim = {.max_pixels = 0};
    sp_image img = {0};
    if (f->decode(data, len, &lim, &img, &err) != SP_OK) return die(argv[2], &err);
    free(data);
    if (to_channels(&img, channels, &err) != SP_OK) return die("channels", &err);

    sp_image input = {0};
    if (bench > 0 && copy_image(&img, &input) != SP_OK) return die("copy", NULL);
    sp_buf notes = {0};
    sp_pixel_ctx pc;
    sp_pixel_ctx_init(&pc, seed, d->name, key, copy, &notes);
    if (sp_pixel_applies(d, 1.0, SP_APPLY_ALL, &pc) &&
        d->process(opts, &img, &pc, &err) != SP_OK)
        return die(d->name, &err);
    printf("{%.*s}\n", (int)notes.len, notes.data ? notes.data : "");
    sp_buf_free(&notes);

    if (bench > 0) {
        double t = 0;
        for (long i = 0; i < bench; i++) {
            sp_image work = {0};
            if (copy_image(&input, &work) != SP_OK) return die("copy", NULL);
            sp_pixel_ctx_init(&pc, seed, d->name, key, copy, NULL);
            double t0 = now();
            if (sp_pixel_applies(d, 1.0, SP_APPLY_ALL, &pc) &&
                d->process(opts, &work, &pc, &err) != SP_OK)
                return die(d->name, &err);
            t += now() - t0;
            sp_image_release(&work);
        }
        fprintf(stderr, "%s: %ux%ux%u: %.3f ms per run\n", d->name, input.width, input.height,
                input.channels, 1e3 * t / (double)bench);
        sp_image_release(&input);
    }

    sp_encode_opts eo;
    sp_encode_defaults(&eo);
    eo.format = SP_ENC_PNG;
    eo.png_level = 1;
    uint8_t *png = NULL;
    size_t pnglen = 0;
    if (sp_format_png.encode(&img, &eo, &png, &pnglen, &err) != SP_OK) return die("encode", &err);
    if (sp_write_file_atomic(argv[3], png, pnglen, &err) != SP_OK) return die(argv[3], &err);
    free(png);
    sp_image_release(&img);
    sp_options_free(d->options, opts);
    free(opts);
    return 0;
}
