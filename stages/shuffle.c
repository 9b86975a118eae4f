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
#include "internal.h"

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
    (void)err;
    const shuffle_opts *o = opts;
    uint64_t seed = o->seed >= 0 ? (uint64_t)o->seed : env->seed;
    for (size_t i = 0; i < recs->n; i++) {
        sp_record *r = &recs->v[i];
        sp_rng rng = sp_rng_for(seed, env->stage->name, sp_run_sample(env->run, r)->path, r->copy);
        r->order = sp_rng_u64(&rng);
    }
    if (recs->n > 1) qsort(recs->v, recs->n, sizeof(*recs->v), cmp_order);
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
