/*
 * apply_op — runs one pixel stage on a PNG and writes the result as a PNG, for the
 * compatibility checks that hold stages against Pillow (tests/compat/). Built with the
 * tests only.
 *
 *   apply_op STAGE IN.png OUT.png [option=value ...]
 *
 * Options are parsed by the stage's own table; `p` and `apply` (random stages) default to
 * 1 and all so the stage always acts; `seed=`, `key=` and `copy=` choose the stream;
 * `background=` is [run] background for the decode (`keep`: RGBA in, RGBA out). The
 * parameters the stage drew are printed as a JSON object on stdout.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const sp_error *err)
{
    fprintf(stderr, "apply_op: %s: %s\n", what, err->msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: apply_op STAGE IN.png OUT.png [option=value ...]\n");
        return 2;
    }
    const sp_stage_desc *d = sp_stage_desc_by_name(argv[1]);
    if (!d || d->kind != SP_STAGE_PIXEL || !d->process) {
        fprintf(stderr, "apply_op: %s is not a pixel stage\n", argv[1]);
        return 2;
    }
    sp_error err;
    sp_error_clear(&err);
    void *opts = calloc(1, d->opts_size ? d->opts_size : 1);
    sp_stage st = {0};
    if (!opts || sp_options_defaults(d->options, opts, &err) != SP_OK) return fail("defaults", &err);
    st.p = 1.0;
    st.apply = SP_APPLY_ALL;
    uint64_t seed = 0;
    const char *key = "sample.png";
    uint32_t copy = 0;
    uint32_t background = 0;
    for (int i = 4; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "apply_op: expected option=value, got %s\n", argv[i]);
            return 2;
        }
        *eq = '\0';
        const char *name = argv[i], *value = eq + 1;
        if (!strcmp(name, "seed")) {
            seed = strtoull(value, NULL, 10);
            continue;
        }
        if (!strcmp(name, "background")) { /* [run] background for the PNG decode */
            if (sp_background_parse(value, &background, &err) != SP_OK) return fail("background", &err);
            continue;
        }
        if (!strcmp(name, "key")) {
            key = value;
            continue;
        }
        if (!strcmp(name, "copy")) {
            copy = (uint32_t)strtoul(value, NULL, 10);
            continue;
        }
        const sp_option *o = sp_option_find(d->options, name);
        void *dst = opts;
        if (!o && (d->flags & SP_PIXEL_RANDOM) && (o = sp_option_find(sp_random_options, name)))
            dst = &st;
        if (!o) {
            fprintf(stderr, "apply_op: %s has no option %s\n", d->name, name);
            return 2;
        }
        if (sp_option_parse(o, dst, value, &err) != SP_OK) return fail("option", &err);
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if (sp_read_file(argv[2], 1u << 30, &data, &len, &err) != SP_OK) return fail(argv[2], &err);
    const sp_limits lim = {.max_pixels = 1u << 28, .max_file_bytes = 1u << 30, .max_dimension = 1u << 16, .max_scans = 1000, .background = background};
    sp_image img = {0};
    if (sp_format_png.decode(data, len, &lim, &img, &err) != SP_OK) return fail(argv[2], &err);
    free(data);
    sp_buf notes = {0};
    sp_pixel_ctx pc;
    sp_pixel_ctx_init(&pc, seed, d->name, key, copy, &notes);
    int applied = sp_pixel_applies(d, st.p, st.apply, &pc);
    if (applied && d->process(opts, &img, &pc, &err) != SP_OK) return fail(d->name, &err);
    printf("{\"applied\": %s%s%.*s}\n", applied ? "true" : "false", notes.len ? ", " : "",
           (int)notes.len, notes.data ? notes.data : "");
    sp_encode_opts eo;
    sp_encode_defaults(&eo);
    eo.format = SP_ENC_PNG;
    eo.png_level = 1;
    uint8_t *png = NULL;
    size_t png_len = 0;
    if (sp_format_png.encode(&img, &eo, &png, &png_len, &err) != SP_OK) return fail("encode", &err);
    if (sp_write_file_atomic(argv[3], png, png_len, &err) != SP_OK) return fail(argv[3], &err);
    free(png);
    sp_buf_free(&notes);
    sp_image_release(&img);
    sp_options_free(d->options, opts);
    free(opts);
    return 0;
}
