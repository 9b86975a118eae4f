/*
 * The stage graph end to end, through the public library API only where a user would go:
 * a pipeline loaded from a string, a custom random pixel stage registered on the context,
 * one scan feeding two branches (a split's train and val ports) with two sinks, and the
 * shards read back with the reader.
 *
 * Why: the graph's promises are about records, not code paths: the val branch holds
 * exactly the split's val samples, plain (no augmented copy, no augmentation); the train
 * branch is balanced, every source used ⌊k⌋ or ⌈k⌉ times; copies >= 1 carry the
 * augmentation and copy 0 does not. The dataset is made here, so every count is known.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "shardpack/reader.h"

static char g_dir[256];

/* ---- a dataset made for the test: class a 9 images, b 4, c 2 ------------------------- */

static const struct {
    const char *name;
    int n;
} g_classes[] = {{"a", 9}, {"b", 4}, {"c", 2}};

static void write_png(const char *path, uint8_t seed)
{
    sp_image img = {0};
    assert_int_equal(sp_image_alloc(&img, 20, 12, 3), SP_OK);
    for (uint32_t y = 0; y < img.height; y++)
        for (uint32_t x = 0; x < img.width * 3; x++)
            img.data[y * img.stride + x] = (uint8_t)(seed * 31 + x * 7 + y * 3);
    sp_encode_opts o;
    sp_encode_defaults(&o);
    uint8_t *data;
    size_t len;
    sp_error err;
    assert_int_equal(sp_format_png.encode(&img, &o, &data, &len, &err), SP_OK);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    free(data);
    sp_image_release(&img);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/sp-graph-XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    char path[512];
    snprintf(path, sizeof(path), "%s/data", g_dir);
    mkdir(path, 0755);
    for (size_t c = 0; c < 3; c++) {
        snprintf(path, sizeof(path), "%s/data/%s", g_dir, g_classes[c].name);
        mkdir(path, 0755);
        for (int i = 0; i < g_classes[c].n; i++) {
            snprintf(path, sizeof(path), "%s/data/%s/%02d.png", g_dir, g_classes[c].name, i);
            write_png(path, (uint8_t)(c * 16 + i));
        }
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- a custom random stage: paints a 4x4 magenta block in the top-left corner ------- */

typedef struct mark_opts {
    int64_t size;
} mark_opts;

static const sp_option mark_options[] = {
    {"size", "side of the block", offsetof(mark_opts, size), SP_OPT_INT, "4", 1, 16, NULL, 0},
    SP_OPT_END,
};

static int mark(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)err;
    const mark_opts *o = opts;
    sp_px_note(pc, "size", (double)o->size);
    for (uint32_t y = 0; y < (uint32_t)o->size && y < img->height; y++)
        for (uint32_t x = 0; x < (uint32_t)o->size && x < img->width; x++) {
            uint8_t *p = img->data + y * img->stride + x * img->channels;
            p[0] = 255, p[1] = 0, p[2] = 255;
        }
    return SP_OK;
}

static const sp_pixel_stage mark_stage = {
    "mark", "paint a magenta block", sizeof(mark_opts), mark_options, SP_PIXEL_RANDOM, mark,
    NULL,
};

static bool is_marked(const sp_image *img, uint32_t size)
{
    for (uint32_t y = 0; y < size; y++)
        for (uint32_t x = 0; x < size; x++) {
            const uint8_t *p = img->data + y * img->stride + x * img->channels;
            if (p[0] != 255 || p[1] != 0 || p[2] != 255) return false;
        }
    return true;
}

/* ---- the run ------------------------------------------------------------------------- */

static const char g_config[] = "[run]\n"
                               "seed = 5\n"
                               "[source]\n"
                               "path = %s/data\n"
                               "[split]\n"
                               "val = 0.25\n"
                               "[balance]\n"
                               "input = split.train\n"
                               "[mark]\n"
                               "size@c = 8\n" /* per-class values */
                               "p@b = 0\n"
                               "[enc]\n"
                               "type = encode\n"
                               "format = png\n"
                               "[train]\n"
                               "type = tar\n"
                               "max_records = 8\n"
                               "[val_enc]\n"
                               "type = encode\n"
                               "input = split.val\n"
                               "format = png\n"
                               "[val]\n"
                               "type = tar\n";

typedef struct tally {
    int records, marked;
    int per_class[3];
    int uses[3][16]; /* per class, per source index */
} tally;

static int json_int(const char *json, size_t len, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\": ", key);
    char *copy = sp_strndup(json, len);
    const char *p = strstr(copy, pat);
    int v = p ? atoi(p + strlen(pat)) : -1;
    free(copy);
    return v;
}

static bool json_has(const char *json, size_t len, const char *needle)
{
    char *copy = sp_strndup(json, len);
    bool hit = strstr(copy, needle) != NULL;
    free(copy);
    return hit;
}

/* Reads every shard of one sink and counts what it holds. */
static void read_sink(sp_ctx *ctx, const char *out, const char *prefix, tally *t)
{
    memset(t, 0, sizeof(*t));
    for (int s = 0;; s++) {
        char path[600];
        snprintf(path, sizeof(path), "%s/%s-%06d.tar", out, prefix, s);
        if (access(path, F_OK) != 0) break;
        sp_reader *r;
        assert_int_equal(sp_reader_open(ctx, path, &r), SP_OK);
        sp_record_view v;
        while (sp_reader_next(r, &v) == 1) {
            t->records++;
            assert_true(v.label >= 0 && v.label < 3);
            t->per_class[v.label]++;
            int copy = json_int(v.meta, v.meta_len, "copy");
            char *src = sp_strndup(v.meta, v.meta_len);
            const char *q = strstr(src, "\"source\": \"");
            assert_non_null(q);
            int idx = atoi(q + strlen("\"source\": \"") + 2); /* "a/07.png" */
            free(src);
            t->uses[v.label][idx]++;
            sp_image img = {0};
            sp_error err;
            const sp_limits lim = {.max_pixels = 1u << 20, .max_file_bytes = 1u << 20, .max_dimension = 4096, .max_scans = 16};
            assert_int_equal(sp_format_png.decode(v.image, v.image_len, &lim, &img, &err),
                             SP_OK);
            /* Class c has its own block size; class b its own p = 0. */
            bool marked = is_marked(&img, v.label == 2 ? 8 : 4);
            bool want = copy >= 1 && v.label != 1;
            t->marked += marked;
            /* Copy 0 is the plain sample; copies are what augmentation acts on. */
            assert_int_equal(marked, want);
            assert_int_equal(json_has(v.meta, v.meta_len, "\"type\": \"mark\""), want);
            if (want)
                assert_true(json_has(v.meta, v.meta_len, v.label == 2 ? "\"size\": 8" : "\"size\": 4"));
            sp_image_release(&img);
        }
        sp_reader_free(&r);
    }
}

static int g_progress_calls;

static int count_progress(void *user, sp_phase phase, uint64_t done, uint64_t total)
{
    (void)user, (void)phase, (void)done, (void)total;
    g_progress_calls++;
    return 0;
}

static void test_two_branches(void **state)
{
    (void)state;
    sp_ctx *ctx;
    assert_int_equal(sp_ctx_new(&ctx), SP_OK);
    sp_ctx_set_verbosity(ctx, SP_LOG_ERROR);
    sp_ctx_set_progress(ctx, count_progress, NULL);
    assert_int_equal(sp_ctx_register_stage(ctx, &mark_stage), SP_OK);
    assert_int_equal(sp_ctx_register_stage(ctx, &mark_stage), SP_E_USAGE); /* taken */

    char text[2048], out[512];
    snprintf(text, sizeof(text), g_config, g_dir);
    snprintf(out, sizeof(out), "%s/out", g_dir);
    sp_pipeline *pipe;
    assert_int_equal(sp_pipeline_load_string(ctx, text, "graph.ini", NULL, 0, &pipe), SP_OK);
    assert_int_equal(sp_pipeline_set_output(pipe, out), SP_OK);
    sp_summary sum;
    int rc = sp_run(ctx, pipe, &sum);
    if (rc != SP_OK) fail_msg("run failed: %s", sp_errmsg(ctx));
    assert_true(g_progress_calls > 0);
    /* One scan for both branches: 15 files found once. */
    assert_int_equal(sum.samples_found, 15);

    /* val = 0.25 per class, rounded half away from zero: a 9 → 2, b 4 → 1, c 2 → 1. */
    tally val;
    read_sink(ctx, out, "val", &val);
    assert_int_equal(val.per_class[0], 2);
    assert_int_equal(val.per_class[1], 1);
    assert_int_equal(val.per_class[2], 1);
    assert_int_equal(val.marked, 0);

    /* train: a keeps its 7, b (3 sources) and c (1 source) are raised to 7. */
    tally train;
    read_sink(ctx, out, "train", &train);
    for (int c = 0; c < 3; c++) assert_int_equal(train.per_class[c], 7);
    assert_int_equal(train.records, 21);
    /* Every record but copy 0 of a source, and none of b's (p@b = 0): c's 6 copies. */
    assert_int_equal(train.marked, 7 - 1);
    /* b's three train sources: 7 = 3 + 2 + 2, never 4 + 2 + 1; c's one source: 7 uses. */
    int bmin = 99, bmax = 0, bused = 0;
    for (int i = 0; i < 16; i++)
        if (train.uses[1][i]) {
            bused++;
            bmin = train.uses[1][i] < bmin ? train.uses[1][i] : bmin;
            bmax = train.uses[1][i] > bmax ? train.uses[1][i] : bmax;
        }
    assert_int_equal(bused, 3);
    assert_int_equal(bmin, 2);
    assert_int_equal(bmax, 3);
    /* No sample is in both splits. */
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 16; i++) assert_false(train.uses[c][i] && val.uses[c][i]);

    sp_pipeline_free(&pipe);
    sp_ctx_free(&ctx);
}

/* The same run from the manifest it wrote gives the same bytes. */
static void test_from_manifest(void **state)
{
    (void)state;
    sp_ctx *ctx;
    assert_int_equal(sp_ctx_new(&ctx), SP_OK);
    sp_ctx_set_verbosity(ctx, SP_LOG_ERROR);
    assert_int_equal(sp_ctx_register_stage(ctx, &mark_stage), SP_OK);
    char manifest[600], out2[600], cmd[1400];
    snprintf(manifest, sizeof(manifest), "%s/out/manifest.json", g_dir);
    snprintf(out2, sizeof(out2), "%s/out2", g_dir);
    sp_pipeline *pipe;
    assert_int_equal(sp_pipeline_load_manifest(ctx, manifest, NULL, 0, &pipe), SP_OK);
    assert_int_equal(sp_pipeline_set_output(pipe, out2), SP_OK);
    assert_int_equal(sp_run(ctx, pipe, NULL), SP_OK);
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && for f in out/*.tar out/*.idx out/manifest.json; do cmp -s \"$f\" "
             "\"out2/${f#out/}\" || exit 1; done",
             g_dir);
    assert_int_equal(system(cmd), 0);
    sp_pipeline_free(&pipe);
    sp_ctx_free(&ctx);
}

static int cancel_in_build(void *user, sp_phase phase, uint64_t done, uint64_t total)
{
    (void)user, (void)total;
    return phase == SP_PHASE_BUILD && done > 0;
}

/* A progress callback that returns non-zero stops the run: SP_E_CANCELLED, and no
 * manifest claims a finished output. */
static void test_cancel(void **state)
{
    (void)state;
    sp_ctx *ctx;
    assert_int_equal(sp_ctx_new(&ctx), SP_OK);
    sp_ctx_set_verbosity(ctx, SP_LOG_ERROR);
    sp_ctx_set_threads(ctx, 1);
    sp_ctx_set_progress(ctx, cancel_in_build, NULL);
    assert_int_equal(sp_ctx_register_stage(ctx, &mark_stage), SP_OK);
    char text[2048], out[512], manifest[600];
    snprintf(text, sizeof(text), g_config, g_dir);
    snprintf(out, sizeof(out), "%s/cancelled", g_dir);
    snprintf(manifest, sizeof(manifest), "%s/manifest.json", out);
    sp_pipeline *pipe;
    assert_int_equal(sp_pipeline_load_string(ctx, text, "graph.ini", NULL, 0, &pipe), SP_OK);
    assert_int_equal(sp_pipeline_set_output(pipe, out), SP_OK);
    assert_int_equal(sp_run(ctx, pipe, NULL), SP_E_CANCELLED);
    assert_int_equal(sp_last_error(ctx)->code, SP_E_CANCELLED);
    assert_int_not_equal(access(manifest, F_OK), 0);
    sp_pipeline_free(&pipe);
    sp_ctx_free(&ctx);
}

/* Runs a one-source pipeline whose pixel part is `pixel`, and counts records whose
 * top-left size x size block is marked. */
static void run_marked(const char *pixel, const char *name, uint32_t size, int *records,
                       int *marked, bool *notes_ok, const char *note)
{
    sp_ctx *ctx;
    assert_int_equal(sp_ctx_new(&ctx), SP_OK);
    sp_ctx_set_verbosity(ctx, SP_LOG_ERROR);
    assert_int_equal(sp_ctx_register_stage(ctx, &mark_stage), SP_OK);
    char text[4096], out[512];
    snprintf(text, sizeof(text),
             "[source]\npath = %s/data\n%s\n[enc]\ntype = encode\nformat = png\n"
             "[shards]\ntype = tar\nprefix = %s\n",
             g_dir, pixel, name);
    snprintf(out, sizeof(out), "%s/%s", g_dir, name);
    sp_pipeline *pipe;
    if (sp_pipeline_load_string(ctx, text, name, NULL, 0, &pipe) != SP_OK)
        fail_msg("load failed: %s", sp_errmsg(ctx));
    assert_int_equal(sp_pipeline_set_output(pipe, out), SP_OK);
    assert_int_equal(sp_run(ctx, pipe, NULL), SP_OK);
    *records = *marked = 0;
    *notes_ok = true;
    char path[700];
    snprintf(path, sizeof(path), "%s/%s-000000.tar", out, name);
    sp_reader *r;
    assert_int_equal(sp_reader_open(ctx, path, &r), SP_OK);
    sp_record_view v;
    const sp_limits lim = {.max_pixels = 1u << 20, .max_file_bytes = 1u << 20, .max_dimension = 4096, .max_scans = 16};
    while (sp_reader_next(r, &v) == 1) {
        sp_image img = {0};
        sp_error err;
        assert_int_equal(sp_format_png.decode(v.image, v.image_len, &lim, &img, &err), SP_OK);
        (*records)++;
        *marked += is_marked(&img, size);
        *notes_ok &= json_has(v.meta, v.meta_len, note);
        sp_image_release(&img);
    }
    sp_reader_free(&r);
    sp_pipeline_free(&pipe);
    sp_ctx_free(&ctx);
}

/* Groups: one_of by weight (a 0 weight is never picked), some_of runs its picks in the
 * order listed (the 8x8 member after the 4x4 one leaves an 8x8 block), members are not
 * in the flow, and the record's .json names what ran. */
static void test_groups(void **state)
{
    (void)state;
    int n, marked;
    bool notes;
    run_marked("[aug]\ntype = one_of\napply = all\nstages = m4, m8\nweights = 1, 0\n"
               "[m4]\ntype = mark\n[m8]\ntype = mark\nsize = 8\n",
               "oneof", 4, &n, &marked, &notes, "\"m4\": {\"size\": 4}");
    assert_int_equal(n, 15);
    assert_int_equal(marked, 15);
    assert_true(notes);
    run_marked("[aug]\ntype = one_of\napply = all\nstages = m4, m8\nweights = 1, 0\n"
               "[m4]\ntype = mark\n[m8]\ntype = mark\nsize = 8\n",
               "oneof8", 8, &n, &marked, &notes, "\"m8\"");
    assert_int_equal(marked, 0);
    assert_false(notes);
    run_marked("[aug]\ntype = some_of\napply = all\nn = 2\nstages = m8, m4\n"
               "[m8]\ntype = mark\nsize = 8\n[m4]\ntype = mark\n",
               "someof", 8, &n, &marked, &notes, "\"m4\"");
    assert_int_equal(marked, 15);
    assert_true(notes);
    run_marked("[aug]\ntype = sequence\napply = all\nstages = m4, m8\n"
               "[m4]\ntype = mark\n[m8]\ntype = mark\nsize = 8\np = 0\n",
               "seq", 4, &n, &marked, &notes, "\"m4\"");
    assert_int_equal(marked, 15);
    run_marked("[aug]\ntype = sequence\napply = all\nstages = m4, m8\n"
               "[m4]\ntype = mark\n[m8]\ntype = mark\nsize = 8\np = 0\n",
               "seq8", 8, &n, &marked, &notes, "\"m4\"");
    assert_int_equal(marked, 0); /* m8 has p = 0 */
    /* The member a one_of picks is named even when its own p keeps it from acting. */
    run_marked("[aug]\ntype = one_of\napply = all\nstages = m4, m8\nweights = 1, 0\n"
               "[m4]\ntype = mark\np = 0\n[m8]\ntype = mark\nsize = 8\n",
               "oneof-p0", 4, &n, &marked, &notes, "\"m4\": {\"acted\": 0}");
    assert_int_equal(marked, 0);
    assert_true(notes);
    /* Weights too large to add up (1e308 twice) still draw by their proportions: the
     * member of weight 1 is (all but) never picked. */
    run_marked("[aug]\ntype = one_of\napply = all\nstages = m4, m4b, m8\n"
               "weights = 1e308, 1e308, 1\n[m4]\ntype = mark\n[m4b]\ntype = mark\n"
               "[m8]\ntype = mark\nsize = 8\n",
               "huge", 8, &n, &marked, &notes, "\"m8\"");
    assert_int_equal(n, 15);
    assert_int_equal(marked, 0);
    assert_false(notes);
}

/* ---- a custom input format: "TINY" + width + height bytes + gray pixels ------------ */

static int tiny_probe(const uint8_t *d, size_t n)
{
    return n >= 4 && memcmp(d, "TINY", 4) == 0 ? 100 : 0;
}

static int tiny_header(const uint8_t *d, size_t n, const sp_limits *lim, sp_image_info *info,
                       sp_error *err)
{
    (void)lim;
    if (n < 6 || (size_t)d[4] * d[5] + 6 != n || !d[4] || !d[5])
        return sp_fail(err, SP_E_CORRUPT, "bad TINY file");
    *info = (sp_image_info){.width = d[4], .height = d[5], .channels = 1};
    return SP_OK;
}

static int tiny_decode(const uint8_t *d, size_t n, const sp_limits *lim, sp_image *out,
                       sp_error *err)
{
    sp_image_info info = {0};
    int rc = tiny_header(d, n, lim, &info, err);
    if (rc == SP_OK && (rc = sp_image_alloc(out, info.width, info.height, 3)) != SP_OK)
        return sp_fail(err, rc, "out of memory");
    for (uint32_t y = 0; rc == SP_OK && y < info.height; y++)
        for (uint32_t x = 0; x < info.width; x++)
            memset(out->data + y * out->stride + x * 3, d[6 + y * info.width + x], 3);
    return rc;
}

static const sp_format tiny_format = {"tiny", "tiny", "a test format", tiny_probe,
                                      tiny_header, tiny_decode, NULL, NULL};

/* An embedder's format: probed by content beside the built-ins, decoded in the build. */
static void test_custom_format(void **state)
{
    (void)state;
    char dir[600], path[700];
    snprintf(dir, sizeof(dir), "%s/tinydata/k", g_dir);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", dir);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%d.bin", dir, i);
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        uint8_t data[6 + 12] = {'T', 'I', 'N', 'Y', 4, 3};
        for (int k = 0; k < 12; k++) data[6 + k] = (uint8_t)(i * 50 + k);
        fwrite(data, 1, sizeof(data), f);
        fclose(f);
    }
    sp_ctx *ctx;
    assert_int_equal(sp_ctx_new(&ctx), SP_OK);
    sp_ctx_set_verbosity(ctx, SP_LOG_ERROR);
    assert_int_equal(sp_ctx_register_format(ctx, &tiny_format), SP_OK);
    assert_int_equal(sp_ctx_register_format(ctx, &tiny_format), SP_E_USAGE); /* taken */
    char text[1024], out[600];
    snprintf(text, sizeof(text),
             "[source]\npath = %s/tinydata\n[encode]\nformat = png\n[shards]\ntype = tar\n",
             g_dir);
    snprintf(out, sizeof(out), "%s/tinyout", g_dir);
    sp_pipeline *pipe;
    assert_int_equal(sp_pipeline_load_string(ctx, text, "tiny.ini", NULL, 0, &pipe), SP_OK);
    assert_int_equal(sp_pipeline_set_output(pipe, out), SP_OK);
    sp_summary sum;
    assert_int_equal(sp_run(ctx, pipe, &sum), SP_OK);
    assert_int_equal(sum.records_written, 3);
    snprintf(path, sizeof(path), "%s/shards-000000.tar", out);
    sp_reader *r;
    assert_int_equal(sp_reader_open(ctx, path, &r), SP_OK);
    sp_record_view v;
    const sp_limits lim = {.max_pixels = 1u << 20, .max_file_bytes = 1u << 20, .max_dimension = 4096, .max_scans = 16};
    int n = 0;
    while (sp_reader_next(r, &v) == 1) {
        sp_image img = {0};
        sp_error err;
        assert_int_equal(sp_format_png.decode(v.image, v.image_len, &lim, &img, &err), SP_OK);
        assert_int_equal(img.width, 4);
        assert_int_equal(img.height, 3);
        assert_true(json_has(v.meta, v.meta_len, "\"format\": \"tiny\""));
        /* pixel (1, 2) of file i is i * 50 + 9 in every channel */
        const uint8_t *px = img.data + 2 * img.stride + 1 * 3;
        assert_int_equal(px[0], px[2]);
        assert_int_equal(px[0] % 50, 9);
        sp_image_release(&img);
        n++;
    }
    assert_int_equal(n, 3);
    sp_reader_free(&r);
    sp_pipeline_free(&pipe);
    sp_ctx_free(&ctx);
}

/* A pixel stage called directly: key=value options and a typed struct, both checked by
 * the stage's table. */
static void test_op_api(void **state)
{
    (void)state;
    sp_ctx *ctx;
    assert_int_equal(sp_ctx_new(&ctx), SP_OK);
    sp_ctx_set_verbosity(ctx, SP_LOG_ERROR);
    sp_image img = {0};
    assert_int_equal(sp_image_alloc(&img, 64, 32, 3), SP_OK);
    memset(img.data, 128, img.stride * img.height);

    sp_op *op;
    const char *const good[] = {"size=16", "filter=area"};
    assert_int_equal(sp_op_new(ctx, "resize", good, 2, &op), SP_OK);
    assert_int_equal(sp_op_apply(op, &img, 1, "k", 0), SP_OK);
    assert_int_equal(img.width, 32);
    assert_int_equal(img.height, 16);
    assert_int_equal(img.data[5], 128);
    sp_op_free(&op);
    assert_null(op);

    const char *const bad[] = {"size=0"};
    assert_int_equal(sp_op_new(ctx, "resize", bad, 1, &op), SP_E_CONFIG);
    assert_non_null(strstr(sp_errmsg(ctx), "size"));
    const char *const unknown[] = {"sise=3"};
    assert_int_equal(sp_op_new(ctx, "resize", unknown, 1, &op), SP_E_CONFIG);
    assert_int_equal(sp_op_new(ctx, "shuffle", NULL, 0, &op), SP_E_USAGE); /* not pixel */
    assert_int_equal(sp_op_new(ctx, "nope", NULL, 0, &op), SP_E_USAGE);
    assert_int_equal(sp_op_new(ctx, "one_of", NULL, 0, &op), SP_E_USAGE); /* a group */
    /* A reversed range is refused here as in a config, not at the first apply. */
    const char *const reversed[] = {"factor_min=2", "factor_max=1"};
    assert_int_equal(sp_op_new(ctx, "brightness", reversed, 2, &op), SP_E_CONFIG);
    assert_non_null(strstr(sp_errmsg(ctx), "factor_min = 2 is more than factor_max = 1"));

    sp_crop_opts c;
    assert_int_equal(sp_op_defaults("crop", &c, sizeof(c)), SP_OK);
    assert_int_equal(c.width, 224);
    c.width = 8;
    c.height = 4;
    assert_int_equal(sp_op_new_struct(ctx, "crop", &c, sizeof(c), &op), SP_OK);
    assert_int_equal(sp_op_apply(op, &img, 1, "k", 0), SP_OK);
    assert_int_equal(img.width, 8);
    assert_int_equal(img.height, 4);
    sp_op_free(&op);
    c.width = 0; /* out of range, as `width = 0` in a config would be */
    assert_int_equal(sp_op_new_struct(ctx, "crop", &c, sizeof(c), &op), SP_E_CONFIG);
    assert_int_equal(sp_op_new_struct(ctx, "crop", &c, sizeof(c) - 1, &op), SP_E_USAGE);
    sp_resize_opts r;
    assert_int_equal(sp_op_defaults("resize", &r, sizeof(r)), SP_OK);
    r.filter = 77; /* not a filter */
    assert_int_equal(sp_op_new_struct(ctx, "resize", &r, sizeof(r), &op), SP_E_CONFIG);

    /* A registered random stage: p = 0 never acts, p = 1 always; params are noted. */
    assert_int_equal(sp_ctx_register_stage(ctx, &mark_stage), SP_OK);
    const char *const sz[] = {"size=2"};
    assert_int_equal(sp_op_new(ctx, "mark", sz, 1, &op), SP_OK);
    assert_int_equal(sp_op_set_probability(op, 0.0), SP_OK);
    img.data[0] = 7;
    assert_int_equal(sp_op_apply(op, &img, 1, "k", 0), SP_OK);
    assert_int_equal(img.data[0], 7);
    assert_string_equal(sp_op_params(op), "{}");
    assert_int_equal(sp_op_set_probability(op, 1.0), SP_OK);
    assert_int_equal(sp_op_apply(op, &img, 1, "k", 0), SP_OK);
    assert_int_equal(img.data[0], 255);
    assert_string_equal(sp_op_params(op), "{\"size\": 2}");
    assert_false(is_marked(&img, 3)); /* only the 2x2 block */
    assert_int_equal(sp_op_set_probability(op, 1.5), SP_E_USAGE);
    sp_op_free(&op);

    sp_image_release(&img);
    sp_ctx_free(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_branches),
        cmocka_unit_test(test_from_manifest),
        cmocka_unit_test(test_op_api),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_custom_format),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
