/*
 * The balance report: for each sink, the split its records belong to, and per class the
 * samples that split had before balancing, the records written after, copies per source
 * (min, mean, max over the split's samples, 0 for a sample not used) and samples dropped
 * (undersampled or filtered on the way). The same numbers go to manifest.json under
 * `splits` and to the summary on stderr, with a bar per class.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct class_row {
    uint64_t before, after, dropped, used; /* used: distinct samples written */
    uint64_t cmin, cmax;
} class_row;

typedef struct sink_report {
    int split; /* SP_SPLIT_*, or -1 when the sink mixes splits */
    class_row *rows;
    uint64_t before, after, dropped, substituted, cmin, cmax;
} sink_report;

/* Per class: samples of `split` that the split stage `from` assigned. Without one, every
 * sample the scan accepted. */
static void before_counts(const sp_job *run, int from, int split, class_row *rows)
{
    if (run->split_before && from >= 0 && run->split_before[from] && split > 0) {
        for (size_t c = 0; c < run->nclasses; c++)
            rows[c].before = run->split_before[from][c * 4 + (size_t)split];
        return;
    }
    for (size_t k = 0; k < run->ncatalogs; k++) {
        const sp_catalog *cat = &run->catalogs[k];
        for (size_t i = 0; i < cat->nsamples; i++)
            if (cat->samples[i].status == SP_OK && cat->samples[i].label >= 0)
                rows[cat->to_global[cat->samples[i].label]].before++;
    }
}

/* The split a sink is wired to: the port of the nearest split stage up its first inputs,
 * and that stage in *from. Records carry their split too, but an empty sink has none to
 * ask. 0 (and -1) when none. */
static int wired_split(const sp_job *run, int stage, int *from)
{
    const sp_pipeline *p = run->pipe;
    *from = -1;
    for (size_t hops = 0; stage >= 0 && hops < p->nstages; hops++) {
        const sp_stage *st = &p->stages[stage];
        if (!st->ninputs) return 0;
        const sp_port_ref *in = &st->inputs[0];
        if (p->stages[in->stage].desc->ports) {
            *from = in->stage;
            return SP_SPLIT_TRAIN + in->port;
        }
        stage = in->stage;
    }
    return 0;
}

static int make_report(const sp_job *run, size_t s, sink_report *rep)
{
    const sp_sink_plan *sp = &run->sinks[s];
    memset(rep, 0, sizeof(*rep));
    size_t nc = run->nclasses;
    rep->rows = calloc(nc ? nc : 1, sizeof(class_row));
    uint32_t **uses = calloc(run->ncatalogs ? run->ncatalogs : 1, sizeof(uint32_t *));
    if (!rep->rows || !uses) {
        free(uses);
        return SP_E_NOMEM;
    }
    for (size_t k = 0; k < run->ncatalogs; k++)
        if (!(uses[k] = calloc(run->catalogs[k].nsamples + 1, sizeof(uint32_t)))) {
            for (size_t j = 0; j < k; j++) free(uses[j]);
            free(uses);
            return SP_E_NOMEM;
        }
    int from, wired = wired_split(run, sp->stage, &from);
    rep->split = sp->recs.n ? sp->recs.v[0].split : wired;
    for (size_t i = 0; i < sp->recs.n; i++) {
        const sp_record *r = &sp->recs.v[i];
        if (r->split != rep->split) rep->split = -1;
        uses[r->source][r->sample]++;
    }
    /* After: what the build wrote (a planned record is written from a substitute when its
     * sample fails), or what the plan holds when nothing was built. */
    for (size_t c = 0; c < nc; c++) rep->rows[c].cmin = UINT64_MAX;
    for (size_t k = 0; k < run->ncatalogs; k++) {
        const sp_catalog *cat = &run->catalogs[k];
        for (size_t i = 0; i < cat->nsamples; i++) {
            if (!uses[k][i]) continue;
            class_row *row = &rep->rows[cat->to_global[cat->samples[i].label]];
            row->used++;
            if (!sp->counts_out) row->after += uses[k][i];
            if (uses[k][i] < row->cmin) row->cmin = uses[k][i];
            if (uses[k][i] > row->cmax) row->cmax = uses[k][i];
        }
    }
    for (size_t k = 0; k < run->ncatalogs; k++) free(uses[k]);
    free(uses);
    for (size_t c = 0; c < nc && sp->counts_out; c++) rep->rows[c].after = sp->counts_out[c];
    rep->cmin = UINT64_MAX;
    before_counts(run, rep->split == wired ? from : -1, rep->split, rep->rows);
    for (size_t c = 0; c < nc; c++) {
        class_row *row = &rep->rows[c];
        if (row->before < row->used) row->before = row->used; /* several split stages */
        row->dropped = row->before - row->used;
        if (row->dropped) row->cmin = 0; /* a sample not used is used 0 times */
        if (row->cmin == UINT64_MAX) row->cmin = 0;
        rep->before += row->before;
        rep->after += row->after;
        rep->dropped += row->dropped;
        if (row->before && row->cmin < rep->cmin) rep->cmin = row->cmin;
        if (row->cmax > rep->cmax) rep->cmax = row->cmax;
    }
    if (rep->cmin == UINT64_MAX) rep->cmin = 0;
    for (size_t i = 0; i < run->nsubsts; i++) rep->substituted += run->substs[i].sink == s;
    return SP_OK;
}

static const char *split_name(int split)
{
    return split > 0 ? sp_split_names[split] : split < 0 ? "mixed" : "all";
}

static double mean(uint64_t after, uint64_t before)
{
    return before ? (double)after / (double)before : 0.0;
}

void sp_splits_json(const sp_job *run, sp_buf *b)
{
    sp_buf_puts(b, "  \"splits\": [");
    for (size_t s = 0; s < run->nsinks; s++) {
        sink_report rep;
        if (make_report(run, s, &rep) != SP_OK) {
            free(rep.rows);
            b->oom = true;
            return;
        }
        sp_buf_puts(b, s ? ",\n    {\"split\": " : "\n    {\"split\": ");
        sp_json_str(b, split_name(rep.split));
        sp_buf_puts(b, ", \"sink\": ");
        sp_json_str(b, run->pipe->stages[run->sinks[s].stage].name);
        sp_buf_printf(b, ", \"before\": %llu, \"after\": %llu, \"dropped\": %llu, "
                         "\"substituted\": %llu, \"copies\": {\"min\": %llu, \"mean\": %.4f, "
                         "\"max\": %llu}, \"classes\": {",
                      (unsigned long long)rep.before, (unsigned long long)rep.after,
                      (unsigned long long)rep.dropped, (unsigned long long)rep.substituted,
                      (unsigned long long)rep.cmin, mean(rep.after, rep.before),
                      (unsigned long long)rep.cmax);
        bool first = true;
        for (size_t c = 0; c < run->nclasses; c++) {
            const class_row *row = &rep.rows[c];
            if (!row->before && !row->after) continue;
            sp_buf_puts(b, first ? "\n      " : ",\n      ");
            first = false;
            sp_json_str(b, run->classes[c]);
            sp_buf_printf(b, ": {\"before\": %llu, \"after\": %llu, \"dropped\": %llu, "
                             "\"copies\": {\"min\": %llu, \"mean\": %.4f, \"max\": %llu}}",
                          (unsigned long long)row->before, (unsigned long long)row->after,
                          (unsigned long long)row->dropped, (unsigned long long)row->cmin,
                          mean(row->after, row->before), (unsigned long long)row->cmax);
        }
        sp_buf_puts(b, first ? "}}" : "\n    }}");
        free(rep.rows);
    }
    sp_buf_puts(b, run->nsinks ? "\n  ],\n" : "],\n");
    sp_buf_puts(b, "  \"substituted\": [");
    for (size_t i = 0; i < run->nsubsts; i++) {
        const sp_subst *x = &run->substs[i];
        sp_buf_puts(b, i ? ",\n    {\"sink\": " : "\n    {\"sink\": ");
        sp_json_str(b, run->pipe->stages[run->sinks[x->sink].stage].name);
        sp_buf_puts(b, ", \"path\": ");
        sp_json_str(b, run->catalogs[x->source].samples[x->sample].path);
        sp_buf_printf(b, ", \"copy\": %u, \"by\": ", x->copy);
        sp_json_str(b, run->catalogs[x->by_source].samples[x->by_sample].path);
        sp_buf_printf(b, ", \"by_copy\": %u}", x->by_copy);
    }
    sp_buf_puts(b, run->nsubsts ? "\n  ],\n" : "],\n");
}

/* A bar of `width` columns scaled to `scale`: '#' for the samples kept as they are, '+'
 * for the copies added, '-' for the samples dropped. */
static void bar(char *out, size_t width, uint64_t scale, uint64_t before, uint64_t after,
                uint64_t dropped)
{
    uint64_t kept = before - dropped < after ? before - dropped : after;
    uint64_t added = after > kept ? after - kept : 0;
    size_t k = scale ? (size_t)((double)kept * (double)width / (double)scale + 0.5) : 0;
    size_t a = scale ? (size_t)((double)(kept + added) * (double)width / (double)scale + 0.5) : 0;
    size_t d = scale ? (size_t)((double)(kept + added + dropped) * (double)width / (double)scale + 0.5) : 0;
    size_t i = 0;
    for (; i < k && i < width; i++) out[i] = '#';
    for (; i < a && i < width; i++) out[i] = '+';
    for (; i < d && i < width; i++) out[i] = '-';
    out[i] = 0;
}

void sp_splits_log(const sp_job *run)
{
    sp_ctx *ctx = run->ctx;
    for (size_t s = 0; s < run->nsinks; s++) {
        sink_report rep;
        if (make_report(run, s, &rep) != SP_OK) {
            free(rep.rows);
            return;
        }
        sp_log(ctx, SP_LOG_INFO,
               "  split %s -> [%s]: %llu samples -> %llu records; copies per source %llu/%.2f/%llu "
               "(min/mean/max); dropped %llu; substituted %llu",
               split_name(rep.split), run->pipe->stages[run->sinks[s].stage].name,
               (unsigned long long)rep.before, (unsigned long long)rep.after,
               (unsigned long long)rep.cmin, mean(rep.after, rep.before),
               (unsigned long long)rep.cmax, (unsigned long long)rep.dropped,
               (unsigned long long)rep.substituted);
        uint64_t scale = 0;
        for (size_t c = 0; c < run->nclasses; c++) {
            const class_row *row = &rep.rows[c];
            uint64_t len = row->after > row->before ? row->after : row->before;
            if (len > scale) scale = len;
        }
        for (size_t c = 0; c < run->nclasses; c++) {
            const class_row *row = &rep.rows[c];
            if (!row->before && !row->after) continue;
            char b[48];
            bar(b, 40, scale, row->before, row->after, row->dropped);
            sp_log(ctx, SP_LOG_INFO, "    %-16s %7llu -> %-7llu %s", run->classes[c],
                   (unsigned long long)row->before, (unsigned long long)row->after, b);
        }
        free(rep.rows);
    }
    if (run->nsinks)
        sp_log(ctx, SP_LOG_INFO, "    (# kept as is, + copies added, - dropped)");
}
