/*
 * Phase 2, plan: catalogs + config + seed → the ordered list of every output record and
 * the shard it lands in. Metadata only: no pixel is touched, so planning a million
 * records takes seconds, and the plan is a pure function of its inputs.
 *
 * Each sink gets its own plan: the path from its source to it through the graph gives
 * the record stages to run here (in path order) and the pixel chain the build runs.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int sp_recvec_push(sp_recvec *rv, const sp_record *r)
{
    if (rv->n == rv->cap) {
        size_t cap = rv->cap ? rv->cap * 2 : 1024;
        sp_record *v = realloc(rv->v, cap * sizeof(*v));
        if (!v) return SP_E_NOMEM;
        rv->v = v;
        rv->cap = cap;
    }
    rv->v[rv->n++] = *r;
    return SP_OK;
}

void sp_recvec_free(sp_recvec *rv)
{
    free(rv->v);
    memset(rv, 0, sizeof(*rv));
}

const sp_sample *sp_run_sample(const sp_job *run, const sp_record *r)
{
    return &run->catalogs[r->source].samples[r->sample];
}

/* Stage indexes from the source to `sink`, in processing order. */
static int path_to(const sp_pipeline *p, int sink, int **out, size_t *n)
{
    size_t len = 0;
    for (int cur = sink; cur >= 0; cur = p->stages[cur].input) len++;
    int *path = malloc(sizeof(int) * len);
    if (!path) return SP_E_NOMEM;
    size_t k = len;
    for (int cur = sink; cur >= 0; cur = p->stages[cur].input) path[--k] = cur;
    *out = path;
    *n = len;
    return SP_OK;
}

const sp_sink_common *sp_sink_opts(const sp_stage *st)
{
    return st->opts; /* every sink's options struct starts with sp_sink_common */
}

const char *sp_sink_prefix(const sp_stage *st)
{
    const sp_sink_common *c = sp_sink_opts(st);
    return c->prefix && c->prefix[0] ? c->prefix : st->name;
}

/* The chain's output size for an input size. */
static void chain_size(const sp_job *run, const sp_sink_plan *sp, uint32_t *w, uint32_t *h)
{
    for (size_t i = 0; i < sp->nchain; i++) {
        const sp_stage *st = &run->pipe->stages[sp->chain[i]];
        if (st->desc->out_size) st->desc->out_size(st->opts, w, h);
    }
}

/* What the chain produces: the codec settings of its last encode stage, and its output
 * size when that does not depend on the input (two very different inputs agree). */
static void chain_output(const sp_job *run, sp_sink_plan *sp)
{
    sp_encode_defaults(&sp->encode);
    for (size_t i = 0; i < sp->nchain; i++) {
        const sp_stage *st = &run->pipe->stages[sp->chain[i]];
        if (st->desc == &sp_stage_encode) sp->encode = *(const sp_encode_opts *)st->opts;
    }
    uint32_t w1 = 37, h1 = 91, w2 = 1000, h2 = 500;
    chain_size(run, sp, &w1, &h1);
    chain_size(run, sp, &w2, &h2);
    sp->out_w = w1 == w2 && h1 == h2 ? w1 : 0;
    sp->out_h = w1 == w2 && h1 == h2 ? h1 : 0;
}

/* A rough stored size of one record, for cutting shards by bytes before they exist:
 * the output pixels at a typical ratio for the codec, plus framing (three tar headers and
 * padding, or a TFRecord's header and features) and the small metadata members. */
static uint64_t estimate_bytes(const sp_job *run, const sp_sink_plan *sp, const sp_sample *s)
{
    uint32_t w = s->info.width, h = s->info.height;
    chain_size(run, sp, &w, &h);
    uint64_t px = (uint64_t)w * h * 3;
    const sp_stage_desc *d = run->pipe->stages[sp->stage].desc;
    if (d->sink->needs_pixels && !d->sink->needs_encoded) return px + 8; /* npy */
    const sp_format *fmt = sp_encode_format(&sp->encode);
    uint64_t img = fmt == &sp_format_raw ? px : fmt == &sp_format_png ? px / 2 : px / 8;
    return img + 3 * 512 + 512 + 1024;
}

static bool valid_prefix(const char *s)
{
    if (!*s || strlen(s) > 100) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

static int add_shard(sp_sink_plan *sp, size_t first)
{
    sp_shard *v = realloc(sp->shards, (sp->nshards + 1) * sizeof(*v));
    if (!v) return SP_E_NOMEM;
    sp->shards = v;
    sp_shard *sh = &v[sp->nshards];
    memset(sh, 0, sizeof(*sh));
    sh->sink = (uint32_t)sp->stage;
    sh->index = (uint32_t)sp->nshards;
    sh->first = first;
    sp->nshards++;
    return SP_OK;
}

/* Cuts the sink's record list into shards by max_records and (estimated) max_bytes, and
 * names every record. Keys are the record's position in the sink: digits only, so they
 * hold no dot and fit USTAR, and sorting them gives plan order. */
static int assign_shards(sp_job *run, sp_sink_plan *sp)
{
    const sp_stage *st = &run->pipe->stages[sp->stage];
    const sp_sink_common *o = sp_sink_opts(st);
    const char *prefix = sp_sink_prefix(st);
    if (!valid_prefix(prefix))
        return sp_fail(&run->ctx->err, SP_E_CONFIG,
                       "[%s] prefix '%s' must be 1 to 100 letters, digits, '_' or '-'", st->name,
                       prefix);
    uint64_t bytes = 0;
    for (size_t i = 0; i < sp->recs.n; i++) {
        sp_record *r = &sp->recs.v[i];
        uint64_t est = estimate_bytes(run, sp, sp_run_sample(run, r));
        sp_shard *cur = sp->nshards ? &sp->shards[sp->nshards - 1] : NULL;
        bool full = cur && (i - cur->first >= (uint64_t)o->max_records ||
                            (i > cur->first && bytes + est > o->max_bytes));
        if (!cur || full) {
            if (add_shard(sp, i) != SP_OK)
                return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
            bytes = 0;
        }
        bytes += est;
        sp->shards[sp->nshards - 1].count++;
        r->shard = (uint32_t)(sp->nshards - 1);
        snprintf(r->key, sizeof(r->key), "%09zu", i);
    }
    /* Names last: some formats put the shard count in every name (-00003-of-00016). */
    for (size_t i = 0; i < sp->nshards; i++) {
        char name[256];
        st->desc->sink->shard_name(prefix, (uint32_t)i, (uint32_t)sp->nshards, name, sizeof(name));
        if (!(sp->shards[i].path = sp_strdup(name)))
            return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    }
    return SP_OK;
}

static int plan_sink(sp_job *run, int sink, sp_sink_plan *sp)
{
    sp_ctx *ctx = run->ctx;
    const sp_pipeline *p = run->pipe;
    int *path;
    size_t n;
    if (path_to(p, sink, &path, &n) != SP_OK) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    sp->stage = sink;
    sp->source = path[0];
    sp->catalog = (uint32_t)run->catalog_of_stage[path[0]];
    sp->chain = malloc(sizeof(int) * n);
    int rc = sp->chain ? SP_OK : sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");

    /* Every sample the scan accepted enters as copy 0, in path order. */
    const sp_catalog *cat = &run->catalogs[sp->catalog];
    for (size_t i = 0; rc == SP_OK && i < cat->nsamples; i++) {
        if (cat->samples[i].status != SP_OK) continue;
        sp_record r = {.source = sp->catalog, .sample = (uint32_t)i};
        if (sp_recvec_push(&sp->recs, &r) != SP_OK) rc = sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    }
    for (size_t k = 1; rc == SP_OK && k + 1 < n; k++) {
        const sp_stage *st = &p->stages[path[k]];
        if (st->desc->kind == SP_STAGE_PIXEL) {
            sp->chain[sp->nchain++] = path[k];
        } else if (st->desc->kind == SP_STAGE_RECORD) {
            sp_stage_env env = {run, st, (uint64_t)p->run.seed};
            sp_error err;
            sp_error_clear(&err);
            rc = st->desc->plan(&env, st->opts, &sp->recs, &err);
            if (rc != SP_OK) {
                snprintf(err.member, sizeof(err.member), "[%s]", st->name);
                sp_ctx_error(ctx, &err);
            }
        }
    }
    free(path);
    if (rc == SP_OK) {
        chain_output(run, sp);
        const sp_stage *st = &p->stages[sink];
        sp_error err;
        sp_error_clear(&err);
        if (st->desc->sink->check && st->desc->sink->check(st->opts, sp->out_w, sp->out_h, &err) != SP_OK) {
            sp_error_set_path(&err, p->name);
            err.line = st->line;
            snprintf(err.member, sizeof(err.member), "[%s]", st->name);
            rc = sp_ctx_error(ctx, &err);
        }
    }
    if (rc == SP_OK) rc = assign_shards(run, sp);
    if (rc == SP_OK) run->summary.records_planned += sp->recs.n;
    return rc;
}

int sp_plan_run(sp_job *run)
{
    const sp_pipeline *p = run->pipe;
    run->sinks = calloc(p->nstages ? p->nstages : 1, sizeof(sp_sink_plan));
    if (!run->sinks) return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    int rc = SP_OK;
    for (size_t i = 0; rc == SP_OK && i < p->nstages; i++)
        if (p->stages[i].desc->kind == SP_STAGE_SINK)
            rc = plan_sink(run, (int)i, &run->sinks[run->nsinks++]);
    /* Two sinks must not write the same file names. */
    for (size_t a = 0; rc == SP_OK && a < run->nsinks; a++)
        for (size_t b = a + 1; rc == SP_OK && b < run->nsinks; b++)
            if (run->sinks[a].nshards && run->sinks[b].nshards &&
                strcmp(run->sinks[a].shards[0].path, run->sinks[b].shards[0].path) == 0)
                rc = sp_fail(&run->ctx->err, SP_E_CONFIG,
                             "sinks [%s] and [%s] would write the same shards (%s): give one a "
                             "different prefix",
                             p->stages[run->sinks[a].stage].name,
                             p->stages[run->sinks[b].stage].name, run->sinks[a].shards[0].path);
    return rc;
}
