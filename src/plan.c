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

const sp_sink_common *sp_sink_opts(const sp_stage *st)
{
    return st->opts; /* every sink's options struct starts with sp_sink_common */
}

const char *sp_sink_prefix(const sp_stage *st)
{
    const sp_sink_common *c = sp_sink_opts(st);
    return c->prefix && c->prefix[0] ? c->prefix : st->name;
}

const char *const sp_split_names[] = {"", "train", "val", "test"};

/* ---- pixel chains ------------------------------------------------------------------- */

/* The size after a chain, for an input size. *varies is set when it depends on the draws:
 * a stage says so (0, 0), or a random stage that changes the size may not act on every
 * record (p < 1, or it acts on copies only). The sizes then stay a best guess. */
static void chain_size(const sp_job *run, const sp_chain *ch, uint32_t *w, uint32_t *h,
                       bool *varies)
{
    for (size_t i = 0; i < ch->n; i++) {
        const sp_stage *st = &run->pipe->stages[ch->stages[i]];
        if (!st->desc->out_size) continue;
        uint32_t nw = *w, nh = *h;
        st->desc->out_size(st->opts, &nw, &nh);
        if (nw == 0 || nh == 0) {
            *varies = true;
            continue;
        }
        bool always = !(st->desc->flags & SP_PIXEL_RANDOM) ||
                      (st->p >= 1.0 && st->apply == SP_APPLY_ALL && st->nvariants == 0);
        if (!always && (nw != *w || nh != *h)) *varies = true;
        *w = nw;
        *h = nh;
    }
}

/* What a chain produces: the codec settings of its last encode stage, and its output size
 * when that does not depend on the input (two very different inputs agree). */
static void chain_output(const sp_job *run, sp_chain *ch)
{
    sp_encode_defaults(&ch->encode);
    for (size_t i = 0; i < ch->n; i++) {
        const sp_stage *st = &run->pipe->stages[ch->stages[i]];
        if (st->desc == &sp_stage_encode) ch->encode = *(const sp_encode_opts *)st->opts;
    }
    uint32_t w1 = 37, h1 = 91, w2 = 1000, h2 = 500;
    bool varies = false;
    chain_size(run, ch, &w1, &h1, &varies);
    chain_size(run, ch, &w2, &h2, &varies);
    bool fixed = !varies && w1 == w2 && h1 == h2;
    ch->out_w = fixed ? w1 : 0;
    ch->out_h = fixed ? h1 : 0;
    /* Per-class values may change sizes too: the size is fixed only if no class's does. */
    for (size_t i = 0; i < ch->n; i++) {
        const sp_stage *st = &run->pipe->stages[ch->stages[i]];
        for (size_t v = 0; st->desc->out_size && v < st->nvariants; v++) {
            uint32_t a = 37, b = 91, c = 37, d = 91;
            st->desc->out_size(st->opts, &a, &b);
            st->desc->out_size(st->variants[v].opts, &c, &d);
            if (a != c || b != d) ch->out_w = ch->out_h = 0;
        }
    }
}

/* The chain `parent` followed by `stage` (-1, -1: the empty chain), made once. */
static int chain_intern(sp_job *run, int parent, int stage, uint32_t *out)
{
    for (size_t i = 0; i < run->nchains; i++)
        if (run->chains[i].parent == parent && run->chains[i].stage == stage) {
            *out = (uint32_t)i;
            return SP_OK;
        }
    sp_chain *v = realloc(run->chains, (run->nchains + 1) * sizeof(*v));
    if (!v) return SP_E_NOMEM;
    run->chains = v;
    sp_chain *ch = &v[run->nchains];
    memset(ch, 0, sizeof(*ch));
    ch->parent = parent;
    ch->stage = stage;
    size_t n = parent >= 0 ? v[parent].n + 1 : 0;
    ch->stages = malloc(sizeof(int) * (n ? n : 1));
    if (!ch->stages) return SP_E_NOMEM;
    if (parent >= 0) {
        memcpy(ch->stages, v[parent].stages, sizeof(int) * v[parent].n);
        ch->stages[n - 1] = stage;
    }
    ch->n = n;
    chain_output(run, ch);
    *out = (uint32_t)run->nchains++;
    return SP_OK;
}

/* ---- shards ------------------------------------------------------------------------- */

/* A rough stored size of one record, for cutting shards by bytes before they exist:
 * the output pixels at a typical ratio for the codec, plus framing (three tar headers and
 * padding, or a TFRecord's header and features) and the small metadata members. */
static uint64_t estimate_bytes(const sp_job *run, const sp_sink_plan *sp, const sp_record *r)
{
    const sp_chain *ch = &run->chains[r->chain];
    uint32_t w = ch->out_w, h = ch->out_h;
    if (w == 0 || h == 0) { /* the size depends on the input: follow it through the chain */
        const sp_sample *s = sp_run_sample(run, r);
        bool varies = false;
        w = s->info.width;
        h = s->info.height;
        chain_size(run, ch, &w, &h, &varies);
    }
    uint64_t px = (uint64_t)w * h * (run->pipe->limits.background & SP_BG_KEEP ? 4 : 3);
    const sp_stage_desc *d = run->pipe->stages[sp->stage].desc;
    if (d->sink->needs_pixels && !d->sink->needs_encoded) return px + 8; /* npy */
    const sp_format *fmt = sp_encode_format(&ch->encode);
    uint64_t img = fmt == &sp_format_raw ? px : fmt == &sp_format_png ? px / 2 : px / 8;
    return img + 3 * 512 + 512 + 1024;
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

const sp_enum_choice sp_layout_choices[] = {
    {SP_LAYOUT_SHUFFLED, "shuffled", "records in the order the stages before give them (a "
                                     "shuffle stage's global order), cut into shards by "
                                     "max_records and max_bytes"},
    {SP_LAYOUT_STRATIFIED, "stratified", "as many shards as max_records and max_bytes need, "
                                         "equal record counts (+-1) and each class's share in "
                                         "every shard (+-1 record): every data-parallel rank "
                                         "sees balanced data"},
    {0, NULL, NULL},
};

/* Names every record and shard once the records are in shard order. Keys are the
 * record's position in the sink: digits only, so they hold no dot and fit USTAR, and
 * sorting them gives plan order. Names last: some formats put the shard count in every
 * name (-00003-of-00016). */
static int name_shards(sp_job *run, sp_sink_plan *sp)
{
    const sp_stage *st = &run->pipe->stages[sp->stage];
    for (size_t i = 0; i < sp->recs.n; i++) {
        char *key = sp->recs.v[i].key;
        if (i >= 1000000000) {
            snprintf(key, sizeof(sp->recs.v[i].key), "%zu", i);
            continue;
        }
        /* "%09zu" by hand: snprintf was a visible share of planning a million records. */
        size_t v = i;
        for (int d = 8; d >= 0; d--, v /= 10) key[d] = (char)('0' + v % 10);
        key[9] = 0;
    }
    for (size_t i = 0; i < sp->nshards; i++) {
        char name[256];
        st->desc->sink->shard_name(sp_sink_prefix(st), (uint32_t)i, (uint32_t)sp->nshards, name,
                                   sizeof(name));
        if (!(sp->shards[i].path = sp_strdup(name)))
            return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    }
    return SP_OK;
}

/* layout = stratified: S shards, as many as max_records and the estimated max_bytes ask.
 * The records, grouped by class in their incoming order, are dealt round-robin, one class
 * after another: shard s gets every S-th one. So each shard holds ⌊N/S⌋ or ⌈N/S⌉
 * records and ⌊n_c/S⌋ or ⌈n_c/S⌉ of class c, and keeps the incoming (shuffled) order
 * within. Two counting passes, no sort: linear in the records. */
static int stratify(sp_job *run, sp_sink_plan *sp)
{
    const sp_sink_common *o = sp_sink_opts(&run->pipe->stages[sp->stage]);
    size_t n = sp->recs.n;
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += estimate_bytes(run, sp, &sp->recs.v[i]);
    uint64_t s = (n + (uint64_t)o->max_records - 1) / (uint64_t)o->max_records;
    uint64_t by_bytes = (bytes + o->max_bytes - 1) / o->max_bytes;
    if (by_bytes > s) s = by_bytes;
    if (s > n) s = n;
    if (s == 0) s = 1;
    size_t nc = run->nclasses ? run->nclasses : 1;
    size_t *start = calloc(nc + 1, sizeof(size_t));
    size_t *shard_start = calloc((size_t)s + 1, sizeof(size_t));
    uint32_t *by_class = malloc(sizeof(uint32_t) * (n ? n : 1));
    int32_t *label = malloc(sizeof(int32_t) * (n ? n : 1));
    sp_record *out = malloc(sizeof(sp_record) * (n ? n : 1));
    int rc = start && shard_start && by_class && label && out ? SP_OK : SP_E_NOMEM;
    /* Labels looked up once: each is a cache miss in a shuffled list. */
    for (size_t i = 0; rc == SP_OK && i < n; i++) {
        const sp_record *r = &sp->recs.v[i];
        label[i] = run->catalogs[r->source].to_global[sp_run_sample(run, r)->label];
        start[label[i] + 1]++;
    }
    for (size_t c = 0; rc == SP_OK && c < nc; c++) start[c + 1] += start[c];
    for (size_t i = 0; rc == SP_OK && i < n; i++) by_class[start[label[i]]++] = (uint32_t)i;
    free(label);
    /* by_class lists positions class by class; the k-th goes to shard k mod s. */
    for (size_t t = 0; rc == SP_OK && t < s; t++)
        shard_start[t + 1] = shard_start[t] + n / s + (t < n % s);
    if (rc == SP_OK) {
        /* Each position marked with its shard, then placed by a counting pass over the
         * positions in ascending order: a shard keeps the incoming order. */
        uint32_t *shard_of = malloc(sizeof(uint32_t) * (n ? n : 1));
        if (!shard_of) rc = SP_E_NOMEM;
        for (size_t k = 0; rc == SP_OK && k < n; k++) shard_of[by_class[k]] = (uint32_t)(k % s);
        size_t *fill = rc == SP_OK ? malloc(sizeof(size_t) * (size_t)s) : NULL;
        if (rc == SP_OK && !fill) rc = SP_E_NOMEM;
        for (size_t t = 0; rc == SP_OK && t < s; t++) fill[t] = shard_start[t];
        for (size_t i = 0; rc == SP_OK && i < n; i++) {
            sp_record r = sp->recs.v[i];
            r.shard = shard_of[i];
            out[fill[shard_of[i]]++] = r;
        }
        free(fill);
        free(shard_of);
    }
    for (size_t t = 0; rc == SP_OK && t < s; t++) {
        if (add_shard(sp, shard_start[t]) != SP_OK) rc = SP_E_NOMEM;
        else sp->shards[sp->nshards - 1].count = shard_start[t + 1] - shard_start[t];
    }
    if (rc == SP_OK) {
        free(sp->recs.v);
        sp->recs.v = out;
        sp->recs.cap = n ? n : 1;
        out = NULL;
    }
    free(start), free(shard_start), free(by_class), free(out);
    return rc == SP_OK ? name_shards(run, sp) : sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
}

/* Cuts the sink's record list into shards by max_records and (estimated) max_bytes, or
 * lays them out stratified, and names every record. */
static int assign_shards(sp_job *run, sp_sink_plan *sp)
{
    const sp_stage *st = &run->pipe->stages[sp->stage];
    const sp_sink_common *o = sp_sink_opts(st);
    if (o->layout == SP_LAYOUT_STRATIFIED && sp->recs.n) return stratify(run, sp);
    uint64_t bytes = 0;
    for (size_t i = 0; i < sp->recs.n; i++) {
        sp_record *r = &sp->recs.v[i];
        uint64_t est = estimate_bytes(run, sp, r);
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
    }
    return name_shards(run, sp);
}

/* background = keep makes every image RGBA; a sink that stores JPEG (no alpha) would
 * have to composite after all, so the combination is refused before anything is built,
 * naming the sink, rather than left to fail on every record. */
static int check_alpha(sp_job *run, const sp_sink_plan *sp)
{
    const sp_stage *st = &run->pipe->stages[sp->stage];
    if (!(run->pipe->limits.background & SP_BG_KEEP) || !st->desc->sink->needs_encoded)
        return SP_OK;
    for (size_t i = 0; i < sp->recs.n; i++) {
        const sp_chain *ch = &run->chains[sp->recs.v[i].chain];
        if (sp_encode_format(&ch->encode) != &sp_format_jpeg) continue;
        sp_error err;
        sp_error_clear(&err);
        sp_fail(&err, SP_E_CONFIG,
                "[run] background = keep gives RGBA images, and this sink stores JPEG, which "
                "has no alpha: add [encode] format = png (or raw) on its path, or composite "
                "with background = white, black or R,G,B");
        sp_error_set_path(&err, run->pipe->name);
        err.line = st->line;
        snprintf(err.member, sizeof(err.member), "[%s]", st->name);
        return sp_ctx_error(run->ctx, &err);
    }
    return SP_OK;
}

/* The sink's shape check (npy needs one fixed size) over the chains its records took. */
static int check_sink(sp_job *run, sp_sink_plan *sp)
{
    const sp_stage *st = &run->pipe->stages[sp->stage];
    if (!st->desc->sink->check) return SP_OK;
    /* The shape every record will have: from its chain when the chain fixes it, else from
     * the sample's own size through the chain (all CIFAR images are 32x32 whatever the
     * chain). Records that disagree, or whose size depends on draws, have none. */
    uint32_t w = 0, h = 0;
    for (size_t i = 0; i < sp->recs.n; i++) {
        const sp_record *r = &sp->recs.v[i];
        const sp_chain *ch = &run->chains[r->chain];
        uint32_t rw = ch->out_w, rh = ch->out_h;
        if (rw == 0 || rh == 0) {
            const sp_sample *smp = sp_run_sample(run, r);
            bool varies = false;
            rw = smp->info.width;
            rh = smp->info.height;
            chain_size(run, ch, &rw, &rh, &varies);
            if (varies) rw = rh = 0;
        }
        if (i == 0 || (w == rw && h == rh)) {
            w = rw;
            h = rh;
        } else {
            w = h = 0; /* records of different shapes */
            break;
        }
        if (w == 0 || h == 0) break;
    }
    if (sp->recs.n == 0) return SP_OK;
    sp_error err;
    sp_error_clear(&err);
    if (st->desc->sink->check(st->opts, w, h, &err) == SP_OK) return SP_OK;
    sp_error_set_path(&err, run->pipe->name);
    err.line = st->line;
    snprintf(err.member, sizeof(err.member), "[%s]", st->name);
    return sp_ctx_error(run->ctx, &err);
}

/* ---- walking the graph -------------------------------------------------------------- */

/* The outputs of every stage while the plan is made: one record list per port, freed
 * once the last stage reading it is done. */
typedef struct node {
    sp_recvec *outs;
    size_t nouts;
    size_t readers_left;
} node;

static size_t node_ports(const sp_stage *st)
{
    size_t n = 0;
    if (st->desc->ports)
        while (st->desc->ports[n]) n++;
    return n ? n : 1;
}

/* Stages in an order where every stage comes after its inputs (the graph has no cycle:
 * the config checked). */
static void topo_visit(const sp_pipeline *p, size_t i, char *seen, int *order, size_t *n)
{
    seen[i] = 1;
    for (size_t k = 0; k < p->stages[i].ninputs; k++)
        if (!seen[p->stages[i].inputs[k].stage])
            topo_visit(p, (size_t)p->stages[i].inputs[k].stage, seen, order, n);
    order[(*n)++] = (int)i;
}

/* Every sample the scan accepted enters as copy 0 with an empty chain, in path order. */
static int source_records(sp_job *run, int stage, sp_recvec *out)
{
    uint32_t ci = (uint32_t)run->catalog_of_stage[stage];
    const sp_catalog *cat = &run->catalogs[ci];
    for (size_t i = 0; i < cat->nsamples; i++) {
        if (cat->samples[i].status != SP_OK) continue;
        sp_record r = {.source = ci, .sample = (uint32_t)i};
        if (sp_recvec_push(out, &r) != SP_OK) return SP_E_NOMEM;
    }
    return SP_OK;
}

/* The records on a stage's inputs, merged in input order. */
static int gather_inputs(sp_job *run, node *nodes, int stage, sp_recvec *in)
{
    const sp_stage *st = &run->pipe->stages[stage];
    for (size_t k = 0; k < st->ninputs; k++) {
        node *up = &nodes[st->inputs[k].stage];
        const sp_recvec *src = &up->outs[st->inputs[k].port];
        if (st->ninputs == 1 && up->readers_left == 1) {
            *in = *src; /* the last reader takes the list instead of copying it */
            memset(&up->outs[st->inputs[k].port], 0, sizeof(sp_recvec));
        } else {
            for (size_t i = 0; i < src->n; i++)
                if (sp_recvec_push(in, &src->v[i]) != SP_OK) return SP_E_NOMEM;
        }
    }
    for (size_t k = 0; k < st->ninputs; k++) {
        node *up = &nodes[st->inputs[k].stage];
        if (--up->readers_left == 0)
            for (size_t j = 0; j < up->nouts; j++) sp_recvec_free(&up->outs[j]);
    }
    return SP_OK;
}

/* A pixel stage acts at build time; here it only extends each record's chain. */
static int extend_chains(sp_job *run, int stage, sp_recvec *recs)
{
    /* Each parent chain's extension looked up once, not once per record: records of merged
     * branches alternate between chains, and chain_intern searches the run's chains. */
    size_t nparents = run->nchains;
    uint32_t *memo = malloc(sizeof(uint32_t) * (nparents ? nparents : 1));
    if (!memo) return SP_E_NOMEM;
    for (size_t i = 0; i < nparents; i++) memo[i] = UINT32_MAX;
    for (size_t i = 0; i < recs->n; i++) {
        sp_record *r = &recs->v[i];
        if (memo[r->chain] == UINT32_MAX &&
            chain_intern(run, (int)r->chain, stage, &memo[r->chain]) != SP_OK) {
            free(memo);
            return SP_E_NOMEM;
        }
        r->chain = memo[r->chain];
    }
    free(memo);
    return SP_OK;
}

static int plan_stage(sp_job *run, node *nodes, int i)
{
    sp_ctx *ctx = run->ctx;
    const sp_stage *st = &run->pipe->stages[i];
    node *nd = &nodes[i];
    nd->nouts = node_ports(st);
    if (!(nd->outs = calloc(nd->nouts, sizeof(sp_recvec))))
        return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    sp_recvec in = {0};
    int rc = st->desc->kind == SP_STAGE_SOURCE ? source_records(run, i, &in)
                                               : gather_inputs(run, nodes, i, &in);
    if (rc != SP_OK) {
        sp_recvec_free(&in);
        return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    }
    sp_stage_env env = {run, st, (uint64_t)run->pipe->run.seed};
    sp_error err;
    sp_error_clear(&err);
    switch (st->desc->kind) {
    case SP_STAGE_SOURCE:
        break;
    case SP_STAGE_PIXEL:
        if (extend_chains(run, i, &in) != SP_OK) rc = sp_fail(&err, SP_E_NOMEM, "out of memory");
        break;
    case SP_STAGE_RECORD:
        if (st->desc->route) {
            rc = st->desc->route(&env, st->opts, &in, nd->outs, &err);
            sp_recvec_free(&in);
        } else {
            rc = st->desc->plan(&env, st->opts, &in, &err);
        }
        break;
    case SP_STAGE_SINK: {
        sp_sink_plan *sp = &run->sinks[run->nsinks++];
        sp->stage = i;
        sp->recs = in;
        memset(&in, 0, sizeof(in));
        rc = check_alpha(run, sp);
        if (rc == SP_OK) rc = check_sink(run, sp);
        if (rc == SP_OK) rc = assign_shards(run, sp);
        if (rc == SP_OK) run->summary.records_planned += sp->recs.n;
        return rc;
    }
    }
    if (rc != SP_OK) {
        sp_recvec_free(&in);
        if (!err.member[0]) snprintf(err.member, sizeof(err.member), "[%s]", st->name);
        /* A stage's plan error is about its config: say where that is, as load errors do. */
        if (err.code == SP_E_CONFIG && !err.path[0]) {
            sp_error_set_path(&err, run->pipe->name);
            err.line = st->line;
        }
        return sp_ctx_error(ctx, &err);
    }
    if (!st->desc->route) nd->outs[0] = in;
    return SP_OK;
}

/* A per-class value for a class the data does not have is a typo or a stale config:
 * worth a warning, not an error (the same config serves datasets with other classes). */
static void check_variant_classes(const sp_job *run)
{
    for (size_t i = 0; i < run->pipe->nstages; i++) {
        const sp_stage *st = &run->pipe->stages[i];
        for (size_t v = 0; v < st->nvariants; v++) {
            bool found = false;
            for (size_t c = 0; c < run->nclasses && !found; c++)
                found = strcmp(run->classes[c], st->variants[v].name) == 0;
            if (!found)
                sp_log(run->ctx, SP_LOG_WARN, "%s:%d: [%s] has values for class '%s', which "
                                              "the data does not have",
                       run->pipe->name, st->line, st->name, st->variants[v].name);
        }
    }
}

int sp_plan_run(sp_job *run)
{
    const sp_pipeline *p = run->pipe;
    check_variant_classes(run);
    size_t n = p->nstages ? p->nstages : 1;
    run->sinks = calloc(n, sizeof(sp_sink_plan));
    node *nodes = calloc(n, sizeof(node));
    int *order = malloc(sizeof(int) * n);
    char *seen = calloc(n, 1);
    uint32_t empty;
    int rc = run->sinks && nodes && order && seen && chain_intern(run, -1, -1, &empty) == SP_OK
                 ? SP_OK
                 : sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    size_t norder = 0;
    for (size_t i = 0; rc == SP_OK && i < p->nstages; i++) {
        for (size_t k = 0; k < p->stages[i].ninputs; k++)
            nodes[p->stages[i].inputs[k].stage].readers_left++;
        if (!seen[i]) topo_visit(p, i, seen, order, &norder);
    }
    for (size_t k = 0; rc == SP_OK && k < norder; k++) rc = plan_stage(run, nodes, order[k]);
    /* Sinks in config order, whatever order the graph visited them in. */
    for (size_t a = 1; rc == SP_OK && a < run->nsinks; a++)
        for (size_t b = a; b > 0 && run->sinks[b - 1].stage > run->sinks[b].stage; b--) {
            sp_sink_plan t = run->sinks[b];
            run->sinks[b] = run->sinks[b - 1];
            run->sinks[b - 1] = t;
        }
    for (size_t i = 0; nodes && i < p->nstages; i++) {
        for (size_t j = 0; j < nodes[i].nouts; j++) sp_recvec_free(&nodes[i].outs[j]);
        free(nodes[i].outs);
    }
    free(nodes);
    free(order);
    free(seen);
    return rc;
}

/* The plan's estimate of one record's stored bytes (for `shardpack inspect`). */
uint64_t sp_plan_estimate(const sp_job *run, const sp_sink_plan *sp, const sp_record *r)
{
    return estimate_bytes(run, sp, r);
}
