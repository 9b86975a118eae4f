/*
 * embed: libshardpack inside another program. It registers a pixel stage of its own
 * (channel_swap), loads a pipeline from a string that uses it between built-in stages,
 * runs it with a progress callback, and reads the shards back with the reader API. Build
 * it with the Makefile (pkg-config) or CMakeLists.txt (find_package) beside it.
 *
 *   embed OUTDIR [DATASET]        DATASET: class folders, default examples/data
 */
#include <shardpack/reader.h>
#include <shardpack/shardpack.h>
#include <shardpack/stage.h>
#include <stdio.h>
#include <string.h>

/* channel_swap: one option, `order`, the source channel of each output channel. Its table
 * is all the library needs to parse, check and document [channel_swap] sections. */
typedef struct swap_opts { int order; } swap_opts; /* SP_OPT_ENUM fields are int */
static const sp_enum_choice swap_orders[] = {{0, "rgb", "unchanged"}, {1, "rbg", NULL},
    {2, "grb", NULL}, {3, "gbr", NULL}, {4, "brg", NULL}, {5, "bgr", NULL}, {0, NULL, NULL}};
static const sp_option swap_options[] = {{"order", "channel order of the output",
    offsetof(swap_opts, order), SP_OPT_ENUM, "bgr", 1, 0, swap_orders, 0}, SP_OPT_END};

/* Pixels arrive decoded to 8-bit RGB. Called on worker threads: no shared state. */
static int swap_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    (void)err; /* this stage cannot fail */
    static const char rgb[] = "rgb";
    const char *order = swap_orders[((const swap_opts *)opts)->order].name; /* e.g. "bgr" */
    sp_px_note_str(pc, "order", order); /* lands in the record's .json */
    int from[3]; /* output channel c comes from input channel from[c] */
    for (int c = 0; c < 3; c++) from[c] = (int)(strchr(rgb, order[c]) - rgb);
    for (uint32_t y = 0; y < img->height && img->channels >= 3; y++) {
        uint8_t *px = img->data + y * img->stride;
        for (uint32_t x = 0; x < img->width; x++, px += img->channels) {
            uint8_t in[3] = {px[0], px[1], px[2]};
            for (int c = 0; c < 3; c++) px[c] = in[from[c]];
        }
    }
    return SP_OK;
}

/* Static storage: the context borrows the descriptor and its tables. */
static const sp_pixel_stage swap_stage = {"channel_swap", "reorder the colour channels",
                                          sizeof(swap_opts), swap_options, 0, swap_process, NULL};

/* The custom stage sits among built-in ones; PNG is lossless, so the swap survives. */
static const char pipeline[] = "[source]\npath = examples/data\n"
                               "[channel_swap]\norder = bgr\n"
                               "[encode]\nformat = png\n"
                               "[shards]\ntype = tar\nprefix = swapped\nmax_records = 40\n";

/* On sp_run's thread, with the pointer given to sp_ctx_set_progress; non-zero cancels. */
static int on_progress(void *user, sp_phase phase, uint64_t done, uint64_t total)
{
    static const char *const names[] = {"scan", "plan", "build", "finish"};
    if (done == total) fprintf(stderr, "%s: %s done\n", (const char *)user, names[phase]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: embed OUTDIR [DATASET]\n");
        return 2;
    }
    char set_path[4096]; /* overrides are "SECTION.KEY=VALUE", as with the CLI's --set */
    snprintf(set_path, sizeof(set_path), "source.path=%s", argc > 2 ? argv[2] : "examples/data");
    const char *overrides[] = {set_path};
    sp_ctx *ctx = NULL; /* what sp_*_new and _load return is ours: freed by sp_*_free */
    sp_pipeline *pipe = NULL;
    sp_summary sum = {0};
    uint64_t records = 0;
    if (sp_ctx_new(&ctx) != SP_OK) return 1;
    sp_ctx_set_progress(ctx, on_progress, "embed");
    int rc = sp_ctx_register_stage(ctx, &swap_stage);
    if (rc == SP_OK) rc = sp_pipeline_load_string(ctx, pipeline, "embed", overrides, 1, &pipe);
    if (rc == SP_OK) rc = sp_pipeline_set_output(pipe, argv[1]);
    if (rc == SP_OK) rc = sp_run(ctx, pipe, &sum); /* scan, plan, build, finish */
    /* Read back every shard there is: PREFIX-000000.tar, PREFIX-000001.tar, ... */
    for (unsigned i = 0; rc == SP_OK; i++) {
        char path[4096 + 32];
        snprintf(path, sizeof(path), "%s/swapped-%06u.tar", argv[1], i);
        FILE *f = fopen(path, "rb");
        if (!f) break;
        fclose(f);
        sp_reader *r;
        sp_record_view rec;
        if ((rc = sp_reader_open(ctx, path, &r)) != SP_OK) break;
        while ((rc = sp_reader_next(r, &rec)) == 1) records++; /* rec borrows from r */
        sp_reader_free(&r);
    }
    if (rc != SP_OK) fprintf(stderr, "embed: %s\n", sp_errmsg(ctx));
    else printf("this run wrote %llu records; read back %llu\n",
                (unsigned long long)sum.records_written, (unsigned long long)records);
    sp_pipeline_free(&pipe); /* before the context: pipelines borrow its stages */
    sp_ctx_free(&ctx);
    return rc == SP_OK ? 0 : 1;
}
