/*
 * The run: the public verbs (sp_run_scan, sp_run_plan, sp_run) over the four phases, the
 * [run] section's option table, and the list of skipped samples.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const sp_enum_choice on_error_choices[] = {
    {SP_ON_ERROR_SKIP, "skip", "record a bad sample in the manifest and go on"},
    {SP_ON_ERROR_FAIL, "fail", "stop the run at the first bad sample"},
    {0, NULL, NULL},
};

#define OFF(f) offsetof(sp_run_opts, f)
const sp_option sp_run_options[] = {
    {"seed", "seed of every random choice (shuffle, augmentation)", OFF(seed), SP_OPT_INT, "0",
     0, 9007199254740991.0, NULL, 0},
    {"output", "output folder (the CLI's -o overrides it)", OFF(output), SP_OPT_STRING, "out",
     0, 0, NULL, SP_OPT_REQUIRED},
    {"on_error", "what a bad sample does to the run", OFF(on_error), SP_OPT_ENUM, "skip", 1, 0,
     on_error_choices, 0},
    /* Pillow refuses images over 2 × 89,478,485 pixels as decompression bombs. */
    {"max_pixels", "largest image accepted, in pixels (width x height)", OFF(max_pixels),
     SP_OPT_INT, "178956970", 1, 1e12, NULL, 0},
    {"max_file_bytes", "largest input file accepted", OFF(max_file_bytes), SP_OPT_SIZE, "256M",
     1024, 1099511627776.0, NULL, 0},
    {"max_dimension", "largest width or height accepted, in pixels", OFF(max_dimension),
     SP_OPT_INT, "65500", 1, 1000000, NULL, 0},
    {"max_scans", "most scans accepted in a progressive JPEG", OFF(max_scans), SP_OPT_INT,
     "256", 1, 100000, NULL, 0},
    {"shrink_on_load", "when a chain starts by shrinking, let the decoder scale down first "
     "(JPEG DCT scaling, keeping at least twice the target size)", OFF(shrink_on_load),
     SP_OPT_BOOL, "true", 0, 0, NULL, 0},
    {"background", "what transparent pixels (PNG alpha, tRNS) are composited on: white, "
     "black, R,G,B (0-255 each), none to drop the alpha as Pillow's convert(\"RGB\") does, "
     "or keep to composite nothing and make every image RGBA (for PNG, raw or npy output)",
     OFF(background), SP_OPT_STRING, "white", 0, 0, NULL, 0},
    /* Containers are as untrusted as images: an archive can hold a billion empty members,
     * nest itself, or expand a thousandfold (a zip bomb); a manifest can be one endless
     * line. Each limit rejects what crosses it, with a message naming the member or line. */
    {"max_members", "most entries in one archive source, nested archives' included",
     OFF(max_members), SP_OPT_INT, "10000000", 1, 1e12, NULL, 0},
    {"max_nesting", "most archives inside archives (1: a tar of per-class tars)",
     OFF(max_nesting), SP_OPT_INT, "2", 0, 16, NULL, 0},
    {"max_line_bytes", "longest row of a CSV/TSV manifest", OFF(max_line_bytes), SP_OPT_SIZE,
     "64K", 64, 1073741824.0, NULL, 0},
    /* Images are compressed already: an archive of them unpacks to about its own size. */
    {"max_ratio", "most bytes an archive may unpack to per byte of the archive file (beyond "
     "its first 16 MiB): stops zip bombs while they stream", OFF(max_ratio), SP_OPT_INT, "200",
     1, 1e9, NULL, 0},
    {"max_unpacked_bytes", "most bytes of compressed archive members one source keeps in "
     "memory (stored members are read in place)", OFF(max_unpacked_bytes), SP_OPT_SIZE, "4G",
     1024, 1099511627776.0, NULL, 0},
    {"crop_on_load", "when a chain starts by cropping, let the JPEG decoder decode only the "
     "box (same pixels as a full decode)", OFF(crop_on_load), SP_OPT_BOOL, "true", 0, 0, NULL,
     0},
    SP_OPT_END,
};

int sp_run_add_skip(sp_job *run, uint32_t source, uint32_t sample, const char *phase, int code,
                    const char *detail)
{
    /* Noted as a record stage's drop is; then, unlike a drop, it can stop the run. */
    int rc = sp_report_drop(run, phase, source, sample, code, detail);
    if (rc != SP_OK || run->pipe->run.on_error != SP_ON_ERROR_FAIL) return rc;
    const sp_catalog *cat = &run->catalogs[source];
    const char *path = cat->samples[sample].path;
    sp_error e;
    sp_error_clear(&e);
    char *full = sp_path_join(cat->root, path);
    sp_error_set_path(&e, full ? full : path);
    free(full);
    sp_fail(&e, code, "%s: %s (on_error = fail)", sp_strerror(code), detail);
    return sp_ctx_error(run->ctx, &e);
}

void sp_job_free(sp_job *run)
{
    sp_resume_free(run);
    for (size_t i = 0; i < run->ncatalogs; i++) sp_catalog_free(&run->catalogs[i]);
    free(run->catalogs);
    free(run->catalog_of_stage);
    for (size_t s = 0; s < run->nsinks; s++) {
        sp_sink_plan *sp = &run->sinks[s];
        for (size_t i = 0; i < sp->nshards; i++) {
            free(sp->shards[i].path);
            for (size_t k = 0; k < sp->shards[i].nsidecars; k++) free(sp->shards[i].sidecars[k]);
        }
        free(sp->sink_file);
        free(sp->counts_out);
        free(sp->shards);
        sp_recvec_free(&sp->recs);
    }
    free(run->sinks);
    for (size_t i = 0; i < run->nchains; i++) free(run->chains[i].stages);
    free(run->chains);
    for (size_t i = 0; i < run->nskips; i++) free(run->skips[i].detail);
    free(run->skips);
    for (size_t i = 0; i < run->nclasses; i++) free(run->classes[i]);
    free(run->classes);
    free(run->counts_in);
    free(run->counts_out);
    free(run->cluster_members);
    for (size_t i = 0; run->split_before && i < run->pipe->nstages; i++)
        free(run->split_before[i]);
    free(run->split_before);
    free(run->substs);
}

static int count_inputs(sp_job *run)
{
    run->counts_in = calloc(run->nclasses ? run->nclasses : 1, sizeof(uint64_t));
    run->counts_out = calloc(run->nclasses ? run->nclasses : 1, sizeof(uint64_t));
    if (!run->counts_in || !run->counts_out)
        return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    for (size_t c = 0; c < run->ncatalogs; c++) {
        const sp_catalog *cat = &run->catalogs[c];
        for (size_t i = 0; i < cat->nsamples; i++)
            if (cat->samples[i].label >= 0) run->counts_in[cat->to_global[cat->samples[i].label]]++;
    }
    return SP_OK;
}

/* plan.tsv: one line per record, the plan a build will carry out. */
static int write_plan(sp_job *run)
{
    sp_buf b = {0};
    sp_buf_puts(&b, "sink\tshard\tkey\tsource\tpath\tlabel\tcopy\n");
    for (size_t s = 0; s < run->nsinks; s++) {
        const sp_sink_plan *sp = &run->sinks[s];
        for (size_t i = 0; i < sp->recs.n; i++) {
            const sp_record *r = &sp->recs.v[i];
            const sp_catalog *cat = &run->catalogs[r->source];
            const sp_sample *smp = &cat->samples[r->sample];
            sp_buf_printf(&b, "%s\t%s\t%s\t%s\t", run->pipe->stages[sp->stage].name,
                          sp->shards[r->shard].path, r->key, cat->source);
            sp_tsv_field(&b, smp->path);
            sp_buf_printf(&b, "\t%d\t%u\n", cat->to_global[smp->label], r->copy);
        }
    }
    sp_error err;
    sp_error_clear(&err);
    char *path = sp_path_join(run->outdir, "plan.tsv");
    int rc = b.oom || !path ? sp_fail(&err, SP_E_NOMEM, "out of memory")
                            : sp_write_file_if_changed(path, b.data, b.len, &err);
    free(path);
    sp_buf_free(&b);
    return rc == SP_OK ? rc : sp_ctx_error(run->ctx, &err);
}

typedef enum { UNTIL_SCAN, UNTIL_PLAN, UNTIL_FINISH, UNTIL_DRY } until;

/* What a run does besides its phases: the shards a build writes (NULL: all), and for
 * plan the make dependency file and shard list. */
typedef struct extras {
    const sp_build_opts *select;
    const char *depfile;
    FILE *list;
    bool finish_only; /* build nothing: every shard must be current (finish) */
} extras;

static int run_phases_x(sp_ctx *ctx, sp_pipeline *pipe, until last, const extras *x,
                        sp_summary *summary);

static int run_phases(sp_ctx *ctx, sp_pipeline *pipe, until last, sp_summary *summary)
{
    return run_phases_x(ctx, pipe, last, NULL, summary);
}

static int run_phases_x(sp_ctx *ctx, sp_pipeline *pipe, until last, const extras *x,
                        sp_summary *summary)
{
    sp_error_clear(&ctx->err);
    sp_job run = {.ctx = ctx, .pipe = pipe, .outdir = sp_pipeline_output(pipe)};
    run.dry_run = last == UNTIL_DRY;
    if (run.dry_run) last = UNTIL_PLAN;
    bool part = x && x->select && (x->select->nparts || x->select->nshards);
    run.select = x ? x->select : NULL;
    int rc = sp_scan(&run);
    if (rc == SP_OK) rc = count_inputs(&run);
    if (rc == SP_OK && last == UNTIL_SCAN) {
        sp_log(ctx, SP_LOG_INFO, "scan: %llu samples in %zu classes, %zu rejected, %llu from cache",
               (unsigned long long)run.summary.samples_found, run.nclasses, run.nskips,
               (unsigned long long)run.summary.samples_cached);
        for (size_t c = 0; c < run.nclasses; c++)
            sp_log(ctx, SP_LOG_INFO, "  %-20s %8llu", run.classes[c],
                   (unsigned long long)run.counts_in[c]);
    }
    if (rc == SP_OK && last >= UNTIL_PLAN) rc = sp_plan_run(&run);
    /* The parts of a build share the output folder: plan.tsv is the plan's, not theirs. */
    if (rc == SP_OK && last >= UNTIL_PLAN && !part && !run.dry_run) rc = write_plan(&run);
    if (rc == SP_OK && x && x->depfile) rc = sp_depfile_write(&run, x->depfile);
    if (rc == SP_OK && x && x->list) rc = sp_list_shards(&run, x->list);
    if (rc == SP_OK && last == UNTIL_PLAN) {
        size_t shards = 0;
        for (size_t s = 0; s < run.nsinks; s++) shards += run.sinks[s].nshards;
        if (run.dry_run)
            sp_log(ctx, SP_LOG_INFO, "plan (dry run, nothing written): %llu records in %zu shards",
                   (unsigned long long)run.summary.records_planned, shards);
        else
            sp_log(ctx, SP_LOG_INFO, "plan: %llu records in %zu shards (%s/plan.tsv)",
                   (unsigned long long)run.summary.records_planned, shards, run.outdir);
        sp_splits_log(&run);
    }
    if (rc == SP_OK && last == UNTIL_FINISH && x && x->finish_only) rc = sp_parts_check(&run);
    if (rc == SP_OK && last == UNTIL_FINISH) rc = sp_build(&run);
    if (rc == SP_OK && last == UNTIL_FINISH) rc = part ? sp_part_write(&run) : sp_finish(&run);
    if (rc == SP_OK && last == UNTIL_FINISH && !part) rc = sp_parts_clear(&run);
    run.summary.samples_skipped = run.nskips;
    if (summary) *summary = run.summary;
    sp_job_free(&run);
    return rc;
}

int sp_job_plan(sp_ctx *ctx, sp_pipeline *pipe, sp_job *run)
{
    sp_error_clear(&ctx->err);
    memset(run, 0, sizeof(*run));
    run->ctx = ctx;
    run->pipe = pipe;
    run->outdir = sp_pipeline_output(pipe);
    int rc = sp_scan(run);
    if (rc == SP_OK) rc = count_inputs(run);
    if (rc == SP_OK) rc = sp_plan_run(run);
    return rc;
}

int sp_run_scan(sp_ctx *ctx, sp_pipeline *pipe, sp_summary *summary)
{
    return run_phases(ctx, pipe, UNTIL_SCAN, summary);
}

int sp_run_plan(sp_ctx *ctx, sp_pipeline *pipe, sp_summary *summary)
{
    return run_phases(ctx, pipe, UNTIL_PLAN, summary);
}

int sp_run(sp_ctx *ctx, sp_pipeline *pipe, sp_summary *summary)
{
    return run_phases(ctx, pipe, UNTIL_FINISH, summary);
}

int sp_run_plan_dry(sp_ctx *ctx, sp_pipeline *pipe, sp_summary *summary)
{
    return run_phases(ctx, pipe, UNTIL_DRY, summary);
}

int sp_run_build(sp_ctx *ctx, sp_pipeline *pipe, const sp_build_opts *opts, sp_summary *summary)
{
    if (opts && opts->nparts && opts->part >= opts->nparts)
        return sp_fail(&ctx->err, SP_E_USAGE, "part %u of %u: parts count from 0 to %u",
                       opts->part, opts->nparts, opts->nparts - 1);
    extras x = {.select = opts};
    return run_phases_x(ctx, pipe, UNTIL_FINISH, &x, summary);
}

int sp_run_plan_files(sp_ctx *ctx, sp_pipeline *pipe, const char *depfile, void *list,
                      sp_summary *summary)
{
    extras x = {.depfile = depfile, .list = list};
    return run_phases_x(ctx, pipe, UNTIL_PLAN, &x, summary);
}

int sp_run_finish_job(sp_ctx *ctx, sp_pipeline *pipe, sp_summary *summary)
{
    extras x = {.finish_only = true};
    return run_phases_x(ctx, pipe, UNTIL_FINISH, &x, summary);
}
