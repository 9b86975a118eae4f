/*
 * plan_bench: how long planning takes, and how much memory, on a synthetic catalog of N
 * samples over C classes (default 1,000,000 over 1,000), with the default pipeline's
 * shape: split (train/val) -> balance the train branch -> shuffle -> pixel chain ->
 * stratified shards, and a plain val branch. No file is read: the catalog is made in
 * memory, as a registered source would hand it over, and only the plan phase runs (the
 * scan's cost is reading files; see bench/run.sh for that).
 *
 *   build/plan_bench [SAMPLES] [CLASSES] [MODE]      (MODE: over | under | both)
 *
 * Class sizes follow a Zipf-like curve (class c has ~ 1/(c+1)^0.7 of the samples), every
 * 97th sample is in a near-duplicate cluster with its neighbour, and every 10th carries
 * the input's own split. Prints the records per sink, seconds and peak memory.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU time too: on a shared machine the wall clock also counts other people's work. */
static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char *g_ini = "[run]\nseed = 1\n"
                           "[source]\npath = /nonexistent\n"
                           "[split]\nval = 0.05\n"
                           "[balance]\ninput = split.train\nmode = %s\ntarget = median\n"
                           "max_copies = 8\n"
                           "[shuffle]\n"
                           "[resize]\nsize = 256\n[crop]\nwidth = 224\nheight = 224\n"
                           "[hflip]\np = 0.5\n"
                           "[train]\ntype = tar\nlayout = stratified\n"
                           "[val_shuffle]\ntype = shuffle\ninput = split.val\n"
                           "[val_crop]\ntype = crop\nwidth = 224\nheight = 224\n"
                           "[val]\ntype = tar\nlayout = stratified\n";

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    size_t nc = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000;
    const char *mode = argc > 3 ? argv[3] : "both";
    if (n == 0 || nc == 0 || nc > n) {
        fprintf(stderr, "usage: plan_bench [SAMPLES] [CLASSES] [over|under|both]\n");
        return 2;
    }
    sp_ctx *ctx;
    if (sp_ctx_new(&ctx) != SP_OK) return 1;
    sp_ctx_set_verbosity(ctx, SP_LOG_WARN);
    char ini[2048];
    snprintf(ini, sizeof(ini), g_ini, mode);
    sp_pipeline *pipe = NULL;
    if (sp_pipeline_load_string(ctx, ini, "plan_bench.ini", NULL, 0, &pipe) != SP_OK) return 1;

    double t0 = now();
    sp_job run = {.ctx = ctx, .pipe = pipe, .outdir = "/nonexistent", .dry_run = true};
    run.catalogs = calloc(1, sizeof(sp_catalog));
    run.catalog_of_stage = malloc(sizeof(int) * pipe->nstages);
    for (size_t i = 0; i < pipe->nstages; i++)
        run.catalog_of_stage[i] = pipe->stages[i].desc->kind == SP_STAGE_SOURCE ? 0 : -1;
    run.ncatalogs = 1;
    sp_catalog *cat = &run.catalogs[0];
    cat->source = sp_strdup("source");
    cat->root = sp_strdup("/nonexistent");
    cat->classes = calloc(nc, sizeof(char *));
    cat->to_global = calloc(nc, sizeof(int32_t));
    run.classes = calloc(nc, sizeof(char *));
    cat->samples = calloc(n, sizeof(sp_sample));
    double *w = malloc(sizeof(double) * nc), wsum = 0;
    for (size_t c = 0; c < nc; c++) wsum += w[c] = pow((double)(c + 1), -0.7);
    size_t made = 0;
    for (size_t c = 0; c < nc; c++) {
        char name[32];
        snprintf(name, sizeof(name), "n%07u", (unsigned)c);
        cat->classes[c] = sp_strdup(name);
        run.classes[c] = sp_strdup(name);
        cat->to_global[c] = (int32_t)c;
        size_t k = c + 1 == nc ? n - made : (size_t)((double)n * w[c] / wsum);
        if (k == 0) k = 1;
        if (made + k > n) k = n - made;
        for (size_t i = 0; i < k; i++, made++) {
            sp_sample *s = &cat->samples[made];
            char path[96];
            snprintf(path, sizeof(path), "%s/%s_%08u.JPEG", name, name, (unsigned)i);
            s->path = sp_strdup(path);
            s->label = (int32_t)c;
            s->format = &sp_format_jpeg;
            s->info = (sp_image_info){.width = 500, .height = 375, .channels = 3};
            if (made % 97 == 1 || made % 97 == 2) s->cluster = (uint32_t)(1 + made / 97);
            if (made % 10 == 3) s->split_hint = SP_SPLIT_TRAIN;
        }
    }
    cat->nsamples = made;
    cat->nclasses = run.nclasses = nc;
    double t1 = now(), c1 = cpu();
    int rc = sp_plan_run(&run);
    double t2 = now(), c2 = cpu();
    if (rc != SP_OK) {
        fprintf(stderr, "plan_bench: %s\n", sp_errmsg(ctx));
        return 1;
    }
    sp_buf report = {0};
    sp_splits_json(&run, &report);
    double t3 = now();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("samples %zu, classes %zu, mode %s\n", made, nc, mode);
    for (size_t s = 0; s < run.nsinks; s++)
        printf("  [%s] %zu records in %zu shards\n", pipe->stages[run.sinks[s].stage].name,
               run.sinks[s].recs.n, run.sinks[s].nshards);
    printf("catalog made in %.2f s; plan %.2f s (%.2f s CPU); report %.2f s; peak RSS %.0f MiB\n",
           t1 - t0, t2 - t1, c2 - c1, t3 - t2, (double)ru.ru_maxrss / 1024.0);
    sp_buf_free(&report);
    free(w);
    sp_job_free(&run);
    sp_pipeline_free(&pipe);
    sp_ctx_free(&ctx);
    return 0;
}
