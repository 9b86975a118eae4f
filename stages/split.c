/*
 * split — stratified train/val/test split, by fractions, deterministic by seed.
 *
 *   [split]
 *   val = 0.1
 *   test = 0.1            ; train gets the rest
 *
 *   [train_aug]
 *   input = split.train   ; the outputs are ports: split.train, split.val, split.test
 *
 * Within each class, the class's samples are ordered by a key drawn from (seed, stage,
 * sample path) and cut: the first round(n × val) go to val, the next round(n × test) to
 * test, the rest to train. A sample is assigned once, so every copy of it lands in the
 * same split, and adding a file to one class never moves a sample of another.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct split_opts {
    double val, test;
    int64_t seed;
} split_opts;

#define OFF(f) offsetof(split_opts, f)
static const sp_option split_options[] = {
    {"val", "fraction of each class that goes to val", OFF(val), SP_OPT_DOUBLE, "0.1", 0, 1,
     NULL, 0},
    {"test", "fraction of each class that goes to test", OFF(test), SP_OPT_DOUBLE, "0", 0, 1,
     NULL, 0},
    {"seed", "split seed; -1 uses the [run] seed", OFF(seed), SP_OPT_INT, "-1", -1,
     9007199254740991.0, NULL, 0},
    SP_OPT_END,
};

static const char *const split_ports[] = {"train", "val", "test", NULL};

/* A sample with the key that orders it within its class. */
typedef struct unit {
    int32_t label;
    uint64_t order;
    uint32_t source, sample;
    uint8_t split;
} unit;

static int cmp_class_order(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->label != y->label) return x->label < y->label ? -1 : 1;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    if (x->source != y->source) return x->source < y->source ? -1 : 1;
    return x->sample < y->sample ? -1 : x->sample > y->sample;
}

static int cmp_identity(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->source != y->source) return x->source < y->source ? -1 : 1;
    return x->sample < y->sample ? -1 : x->sample > y->sample;
}

static int32_t label_of(const sp_job *run, const sp_record *r)
{
    return run->catalogs[r->source].to_global[sp_run_sample(run, r)->label];
}

static int split_validate(const void *opts, sp_error *err)
{
    const split_opts *o = opts;
    if (o->val + o->test > 1.0 + 1e-9)
        return sp_fail(err, SP_E_CONFIG, "val (%g) + test (%g) is more than 1: train gets the "
                                         "rest, so the two may add up to 1 at most",
                       o->val, o->test);
    return SP_OK;
}

static int split_route(const sp_stage_env *env, const void *opts, const sp_recvec *in,
                       sp_recvec *outs, sp_error *err)
{
    const split_opts *o = opts;
    uint64_t seed = o->seed >= 0 ? (uint64_t)o->seed : env->seed;
    unit *u = malloc(sizeof(unit) * (in->n ? in->n : 1));
    if (!u) return sp_fail(err, SP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < in->n; i++) {
        const sp_record *r = &in->v[i];
        sp_rng rng = sp_rng_for(seed, env->stage->name, sp_run_sample(env->run, r)->path, 0);
        u[i] = (unit){label_of(env->run, r), sp_rng_u64(&rng), r->source, r->sample, 0};
    }
    qsort(u, in->n, sizeof(unit), cmp_class_order);
    /* Copies of a sample sit next to each other now; keep one of each. */
    size_t n = 0;
    for (size_t i = 0; i < in->n; i++)
        if (n == 0 || cmp_identity(&u[n - 1], &u[i]) != 0) u[n++] = u[i];
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && u[b].label == u[a].label) b++;
        size_t count = b - a;
        size_t nval = (size_t)llround((double)count * o->val);
        size_t ntest = (size_t)llround((double)count * o->test);
        if (nval > count) nval = count;
        if (ntest > count - nval) ntest = count - nval;
        for (size_t i = a; i < b; i++)
            u[i].split = i - a < nval ? SP_SPLIT_VAL
                         : i - a < nval + ntest ? SP_SPLIT_TEST
                                                : SP_SPLIT_TRAIN;
        a = b;
    }
    qsort(u, n, sizeof(unit), cmp_identity);
    int rc = SP_OK;
    for (size_t i = 0; rc == SP_OK && i < in->n; i++) {
        sp_record r = in->v[i];
        unit key = {.source = r.source, .sample = r.sample};
        const unit *hit = bsearch(&key, u, n, sizeof(unit), cmp_identity);
        r.split = hit->split;
        if (sp_recvec_push(&outs[hit->split - SP_SPLIT_TRAIN], &r) != SP_OK)
            rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    free(u);
    return rc;
}

const sp_stage_desc sp_stage_split = {
    .name = "split",
    .help = "a stratified train/val/test split by fractions, deterministic by seed",
    .kind = SP_STAGE_RECORD,
    .opts_size = sizeof(split_opts),
    .options = split_options,
    .validate = split_validate,
    .ports = split_ports,
    .route = split_route,
};
