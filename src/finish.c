/*
 * Phase 4, finish: manifest.json, written last and atomically, so its presence means the
 * build it describes is complete. It holds no timestamps, no absolute paths of ours, and
 * no output folder: two builds of the same inputs, config and seed give the same bytes.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void json_options(sp_buf *b, const sp_option *table, const void *opts, const char *skip)
{
    bool first = true;
    for (const sp_option *o = table; o->name; o++) {
        if (skip && strcmp(o->name, skip) == 0) continue;
        sp_buf_puts(b, first ? "" : ", ");
        first = false;
        sp_json_str(b, o->name);
        sp_buf_puts(b, ": ");
        sp_buf v = {0};
        sp_option_format(o, opts, &v);
        sp_json_str(b, v.data ? v.data : "");
        b->oom |= v.oom;
        sp_buf_free(&v);
    }
}

/* A class's values, as `key@class`: those that differ from the stage's own. */
static void json_variant(sp_buf *b, const sp_option *table, const void *base, const void *var,
                         const char *cls)
{
    for (const sp_option *o = table; o->name; o++) {
        sp_buf x = {0}, y = {0};
        sp_option_format(o, base, &x);
        sp_option_format(o, var, &y);
        if (strcmp(x.data ? x.data : "", y.data ? y.data : "") != 0) {
            sp_buf_puts(b, ", ");
            sp_buf k = {0};
            sp_buf_printf(&k, "%s@%s", o->name, cls);
            sp_json_str(b, k.data ? k.data : "");
            sp_buf_puts(b, ": ");
            sp_json_str(b, y.data ? y.data : "");
            b->oom |= k.oom;
            sp_buf_free(&k);
        }
        b->oom |= x.oom || y.oom;
        sp_buf_free(&x);
        sp_buf_free(&y);
    }
}

/* The effective config: every section with every option, defaults filled in. */
static void json_config(sp_buf *b, const sp_pipeline *p)
{
    sp_buf_puts(b, "  \"config\": {\n    \"run\": {");
    json_options(b, sp_run_options, &p->run, "output"); /* where to write is not what */
    sp_buf_puts(b, "}");
    for (size_t i = 0; i < p->nstages; i++) {
        const sp_stage *st = &p->stages[i];
        sp_buf_puts(b, ",\n    ");
        sp_json_str(b, st->name);
        sp_buf_puts(b, ": {\"type\": ");
        sp_json_str(b, st->desc->name);
        if (st->ninputs) {
            sp_buf in = {0};
            for (size_t k = 0; k < st->ninputs; k++) {
                const sp_stage *up = &p->stages[st->inputs[k].stage];
                sp_buf_printf(&in, "%s%s", k ? ", " : "", up->name);
                if (up->desc->ports) sp_buf_printf(&in, ".%s", up->desc->ports[st->inputs[k].port]);
            }
            sp_buf_puts(b, ", \"input\": ");
            sp_json_str(b, in.data ? in.data : "");
            b->oom |= in.oom;
            sp_buf_free(&in);
        }
        if (st->desc->flags & SP_PIXEL_RANDOM) {
            sp_buf_puts(b, ", ");
            json_options(b, sp_random_options, st, NULL);
        }
        for (size_t v = 0; v < st->nvariants; v++) {
            json_variant(b, st->desc->options, st->opts, st->variants[v].opts,
                         st->variants[v].name);
            if (st->desc->flags & SP_PIXEL_RANDOM)
                json_variant(b, sp_random_options, st, &st->variants[v], st->variants[v].name);
        }
        if (st->desc->options[0].name) sp_buf_puts(b, ", ");
        json_options(b, st->desc->options, st->opts, NULL);
        sp_buf_puts(b, "}");
    }
    sp_buf_puts(b, "\n  },\n");
}

static void json_counts(sp_buf *b, const char *name, const sp_job *run, const uint64_t *counts)
{
    sp_buf_printf(b, "  \"%s\": {", name);
    for (size_t c = 0; c < run->nclasses; c++) {
        sp_buf_puts(b, c ? ", " : "");
        sp_json_str(b, run->classes[c]);
        sp_buf_printf(b, ": %llu", (unsigned long long)counts[c]);
    }
    sp_buf_puts(b, "},\n");
}

static int cmp_skip(const void *a, const void *b)
{
    const sp_skip *x = a, *y = b;
    if (x->source != y->source) return x->source < y->source ? -1 : 1;
    if (x->sample != y->sample) return x->sample < y->sample ? -1 : 1;
    return strcmp(x->phase, y->phase);
}

/* A balance stage reports the samples it cuts, but the graph may write them anyway through
 * another branch (the same source into an unbalanced sink): only those no sink writes
 * were dropped. */
static int forget_written_cuts(sp_job *run)
{
    bool any = false;
    for (size_t i = 0; i < run->nskips && !any; i++)
        any = run->skips[i].code == SP_E_UNDERSAMPLED;
    if (!any) return SP_OK;
    bool **written = calloc(run->ncatalogs ? run->ncatalogs : 1, sizeof(bool *));
    bool ok = written != NULL;
    for (size_t c = 0; ok && c < run->ncatalogs; c++)
        ok = (written[c] = calloc(run->catalogs[c].nsamples + 1, sizeof(bool))) != NULL;
    for (size_t s = 0; ok && s < run->nsinks; s++)
        for (size_t i = 0; i < run->sinks[s].recs.n; i++) {
            const sp_record *r = &run->sinks[s].recs.v[i];
            written[r->source][r->sample] = true;
        }
    size_t u = 0;
    for (size_t i = 0; ok && i < run->nskips; i++) {
        const sp_skip *k = &run->skips[i];
        if (k->code == SP_E_UNDERSAMPLED && written[k->source][k->sample]) {
            free(k->detail);
            continue;
        }
        run->skips[u++] = *k;
    }
    if (ok) run->nskips = u;
    for (size_t c = 0; written && c < run->ncatalogs; c++) free(written[c]);
    free(written);
    return ok ? SP_OK : sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
}

/* The same sample can fail in several sinks; report it once per phase. */
static void sort_skips(sp_job *run)
{
    if (run->nskips > 1) qsort(run->skips, run->nskips, sizeof(*run->skips), cmp_skip);
    size_t u = 0;
    for (size_t i = 0; i < run->nskips; i++) {
        if (u && cmp_skip(&run->skips[u - 1], &run->skips[i]) == 0) {
            free(run->skips[i].detail);
            continue;
        }
        run->skips[u++] = run->skips[i];
    }
    run->nskips = u;
}

static void json_skips(sp_buf *b, const sp_job *run)
{
    sp_buf_puts(b, "  \"skipped\": [");
    for (size_t i = 0; i < run->nskips; i++) {
        const sp_skip *k = &run->skips[i];
        const sp_catalog *cat = &run->catalogs[k->source];
        sp_buf_puts(b, i ? ",\n    {\"source\": " : "\n    {\"source\": ");
        sp_json_str(b, cat->source);
        sp_buf_puts(b, ", \"path\": ");
        sp_json_str(b, cat->samples[k->sample].path);
        if (cat->members) { /* the path is a member of this archive */
            sp_buf_puts(b, ", \"archive\": ");
            sp_json_str(b, cat->root);
        }
        sp_buf_printf(b, ", \"phase\": \"%s\", \"reason\": \"%s\", \"detail\": ", k->phase,
                      sp_strerror(k->code));
        sp_json_str(b, k->detail ? k->detail : "");
        sp_buf_puts(b, "}");
    }
    sp_buf_puts(b, run->nskips ? "\n  ]\n" : "]\n");
}

static void json_shards(sp_buf *b, const sp_job *run)
{
    sp_buf_puts(b, "  \"shards\": [");
    bool first = true;
    for (size_t s = 0; s < run->nsinks; s++) {
        const sp_sink_plan *sp = &run->sinks[s];
        for (size_t i = 0; i < sp->nshards; i++) {
            const sp_shard *sh = &sp->shards[i];
            char hex[33];
            sp_hash_hex(sh->hash, hex);
            sp_buf_puts(b, first ? "\n    {\"path\": " : ",\n    {\"path\": ");
            first = false;
            sp_json_str(b, sh->path);
            sp_buf_puts(b, ", \"sink\": ");
            sp_json_str(b, run->pipe->stages[sp->stage].name);
            sp_buf_printf(b, ", \"type\": \"%s\", \"records\": %llu, \"bytes\": %llu, \"xxh3\": \"%s\"",
                          run->pipe->stages[sp->stage].desc->name,
                          (unsigned long long)sh->records_written,
                          (unsigned long long)sh->bytes, hex);
            sp_buf_puts(b, ", \"sidecars\": [");
            for (size_t k = 0; k < sh->nsidecars; k++) {
                char shex[33];
                sp_hash_hex(sh->sidecar_hash[k], shex);
                sp_buf_puts(b, k ? ", {\"path\": " : "{\"path\": ");
                sp_json_str(b, sh->sidecars[k]);
                sp_buf_printf(b, ", \"bytes\": %llu, \"xxh3\": \"%s\"}",
                              (unsigned long long)sh->sidecar_bytes[k], shex);
            }
            sp_buf_puts(b, "]}");
        }
    }
    sp_buf_puts(b, first ? "],\n" : "\n  ],\n");
    sp_buf_puts(b, "  \"indexes\": [");
    first = true;
    for (size_t s = 0; s < run->nsinks; s++) {
        if (!run->sinks[s].sink_file) continue;
        sp_buf_puts(b, first ? "" : ", ");
        sp_json_str(b, run->sinks[s].sink_file);
        first = false;
    }
    sp_buf_puts(b, "],\n");
}

static void log_summary(sp_job *run)
{
    sp_ctx *ctx = run->ctx;
    const sp_summary *s = &run->summary;
    sp_log(ctx, SP_LOG_INFO, "shardpack: %llu records in %llu shards (%.1f MiB) -> %s",
           (unsigned long long)s->records_written, (unsigned long long)s->shards_written,
           (double)s->bytes_written / (1024.0 * 1024.0), run->outdir);
    sp_log(ctx, SP_LOG_INFO, "  samples found %llu, skipped %llu, catalog cache hits %llu",
           (unsigned long long)s->samples_found, (unsigned long long)s->samples_skipped,
           (unsigned long long)s->samples_cached);
    for (size_t c = 0; c < run->nclasses; c++)
        sp_log(ctx, SP_LOG_INFO, "  %-20s %8llu in %8llu out", run->classes[c],
               (unsigned long long)run->counts_in[c], (unsigned long long)run->counts_out[c]);
    sp_splits_log(run);
    /* A dedupe can drop thousands: the first 50 here, all of them in report.tsv. */
    for (size_t i = 0; i < run->nskips; i++) {
        const sp_skip *k = &run->skips[i];
        if (i == 50)
            sp_log(ctx, SP_LOG_INFO, "  ... %zu more skipped (all in report.tsv; -v lists them)",
                   run->nskips - 50);
        sp_buf path = {0}, detail = {0};
        sp_printable(&path, run->catalogs[k->source].samples[k->sample].path);
        sp_printable(&detail, k->detail);
        sp_log(ctx, i < 50 ? SP_LOG_INFO : SP_LOG_DEBUG, "  skipped %s/%s: %s (%s)",
               run->catalogs[k->source].source, path.data ? path.data : "",
               sp_strerror(k->code), detail.data ? detail.data : "");
        sp_buf_free(&path);
        sp_buf_free(&detail);
    }
    sp_report_log(run);
    sp_altered_log(run);
}

int sp_finish(sp_job *run)
{
    int cut = forget_written_cuts(run);
    if (cut != SP_OK) return cut;
    sort_skips(run);
    run->summary.samples_skipped = run->nskips;
    sp_buf b = {0};
    sp_buf_printf(&b, "{\n  \"shardpack\": \"%s\",\n  \"version\": 1,\n  \"seed\": %lld,\n",
                  SP_VERSION_STRING, (long long)run->pipe->run.seed);
    json_config(&b, run->pipe);
    sp_buf_puts(&b, "  \"classes\": [");
    for (size_t c = 0; c < run->nclasses; c++) {
        sp_buf_puts(&b, c ? ", " : "");
        sp_json_str(&b, run->classes[c]);
    }
    sp_buf_printf(&b, "],\n  \"records\": %llu,\n",
                  (unsigned long long)run->summary.records_written);
    json_counts(&b, "counts_in", run, run->counts_in);
    json_counts(&b, "counts_out", run, run->counts_out);
    sp_splits_json(run, &b);
    json_shards(&b, run);
    sp_report_json(&b, run);
    b.oom |= sp_altered_json(&b, run) != SP_OK; /* samples the decoder changed */
    json_skips(&b, run);
    sp_buf_puts(&b, "}\n");
    sp_error err;
    sp_error_clear(&err);
    int rc = b.oom ? sp_fail(&err, SP_E_NOMEM, "out of memory") : SP_OK;
    char *path = sp_path_join(run->outdir, "manifest.json");
    if (rc == SP_OK && !path) rc = sp_fail(&err, SP_E_NOMEM, "out of memory");
    if (rc == SP_OK) rc = sp_report_write(run, &err); /* before the manifest that ends a build */
    if (rc == SP_OK) rc = sp_write_file_if_changed(path, b.data, b.len, &err);
    free(path);
    sp_buf_free(&b);
    if (rc != SP_OK) return sp_ctx_error(run->ctx, &err);
    log_summary(run);
    return SP_OK;
}

void sp_manifest_config(sp_buf *b, const sp_pipeline *p)
{
    json_config(b, p);
}
