/*
 * shuffle — a global, deterministic shuffle of the records.
 *
 *   [shuffle]
 *   seed = -1        ; -1: use [run] seed
 *
 * Each record gets a sort key drawn from its own counter-based stream (seed, stage,
 * record, copy); records are sorted by it. Unlike Fisher–Yates over a list, a record's
 * position relative to the others does not change when unrelated files are added or
 * removed, and the order never depends on how the list was built.
 */
#include "sampling.h"

#include <stdlib.h>
#include <string.h>

typedef struct shuffle_opts {
    int64_t seed;
} shuffle_opts;

static const sp_option shuffle_options[] = {
    {"seed", "shuffle seed; -1 uses the [run] seed", offsetof(shuffle_opts, seed), SP_OPT_INT,
     "-1", -1, 9007199254740991.0, NULL, 0},
    SP_OPT_END,
};

static int cmp_order(const void *a, const void *b)
{
    const sp_record *x = a, *y = b;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    /* Equal keys are astronomically rare; break ties by identity so the sort is total. */
    if (x->source != y->source) return x->source < y->source ? -1 : 1;
    if (x->sample != y->sample) return x->sample < y->sample ? -1 : 1;
    return x->copy < y->copy ? -1 : x->copy > y->copy;
}

static int shuffle_plan(const sp_stage_env *env, const void *opts, sp_recvec *recs,
                        sp_error *err)
{
    const shuffle_opts *o = opts;
    uint64_t seed = o->seed >= 0 ? (uint64_t)o->seed : env->seed;
    size_t n = recs->n;
    if (n < 2) return SP_OK;
    sp_keyed *k = malloc(sizeof(sp_keyed) * n);
    sp_record *out = malloc(sizeof(sp_record) * n);
    if (!k || !out) {
        free(k), free(out);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        sp_record *r = &recs->v[i];
        sp_rng rng = sp_rng_for(seed, env->stage->name, sp_run_sample(env->run, r)->path, r->copy);
        r->order = sp_rng_u64(&rng);
        k[i] = (sp_keyed){r->order, i};
    }
    /* A radix sort by the key (a qsort of whole records cost seconds at a million), then
     * any run of equal keys by identity, so the order stays a function of the records. */
    if (sp_sort_keyed(k, n) != SP_OK) {
        free(k), free(out);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) out[i] = recs->v[k[i].val];
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && out[b].order == out[a].order) b++;
        if (b - a > 1) qsort(out + a, b - a, sizeof(*out), cmp_order);
        a = b;
    }
    free(k);
    free(recs->v);
    recs->v = out;
    recs->cap = n;
    return SP_OK;
}

const sp_stage_desc sp_stage_shuffle = {
    .name = "shuffle",
    .help = "shuffle all records in a deterministic global order",
    .kind = SP_STAGE_RECORD,
    .opts_size = sizeof(shuffle_opts),
    .options = shuffle_options,
    .plan = shuffle_plan,
};
