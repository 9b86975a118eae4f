/*
 * balance — even out class counts by oversampling with copies and/or undersampling.
 *
 *   [balance]
 *   mode = over          ; over | under | both
 *   target = max         ; max | min | mean | median: the count every class moves to
 *   count = 0            ; an explicit target instead (0: use `target`)
 *   max_copies = 0       ; most records made from one source (0: no cap)
 *
 * Oversampling makes copies, spread evenly over a class's sources: with n sources and a
 * target T, every source is used ⌊T/n⌋ or ⌈T/n⌉ times, and which ones get the extra use
 * is drawn from (seed, stage, sample path). Copy 0 is the sample as it is; copies 1, 2,
 * ... are what the branch's random pixel stages turn into distinct variants (they act on
 * copies only, unless told `apply = all`). Undersampling keeps a deterministic subset,
 * ordered by the same draw. Labels only: no pixel is read.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

enum { MODE_OVER, MODE_UNDER, MODE_BOTH };
enum { TARGET_MAX, TARGET_MIN, TARGET_MEAN, TARGET_MEDIAN };

typedef struct balance_opts {
    int mode;
    int target;
    int64_t count;
    int64_t max_copies;
    int64_t seed;
} balance_opts;

static const sp_enum_choice mode_choices[] = {
    {MODE_OVER, "over", "raise classes below the target with copies"},
    {MODE_UNDER, "under", "cut classes above the target to a subset"},
    {MODE_BOTH, "both", "both: every class ends at the target"},
    {0, NULL, NULL},
};

static const sp_enum_choice target_choices[] = {
    {TARGET_MAX, "max", "the largest class's count"},
    {TARGET_MIN, "min", "the smallest class's count"},
    {TARGET_MEAN, "mean", "the mean count (rounded down)"},
    {TARGET_MEDIAN, "median", "the median count (the lower middle for an even number)"},
    {0, NULL, NULL},
};

#define OFF(f) offsetof(balance_opts, f)
static const sp_option balance_options[] = {
    {"mode", "which way classes move", OFF(mode), SP_OPT_ENUM, "over", 1, 0, mode_choices, 0},
    {"target", "the count classes move to", OFF(target), SP_OPT_ENUM, "max", 1, 0,
     target_choices, 0},
    {"count", "an explicit target count per class; 0 uses `target`", OFF(count), SP_OPT_INT,
     "0", 0, 1e9, NULL, 0},
    {"max_copies", "most records made from one source, the original included; 0 = no cap",
     OFF(max_copies), SP_OPT_INT, "0", 0, 1e6, NULL, 0},
    {"seed", "seed of the choices; -1 uses the [run] seed", OFF(seed), SP_OPT_INT, "-1", -1,
     9007199254740991.0, NULL, 0},
    SP_OPT_END,
};

typedef struct unit {
    int32_t label;
    uint64_t order;
    size_t index; /* into the input */
    uint32_t uses;
} unit;

static int cmp_class_order(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->label != y->label) return x->label < y->label ? -1 : 1;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_index(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The count classes move to, from the counts of the classes present. */
static uint64_t target_count(const balance_opts *o, uint64_t *counts, size_t n)
{
    if (o->count > 0) return (uint64_t)o->count;
    qsort(counts, n, sizeof(*counts), cmp_u64);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += counts[i];
    switch (o->target) {
    case TARGET_MIN: return counts[0];
    case TARGET_MEAN: return sum / n;
    case TARGET_MEDIAN: return counts[(n - 1) / 2];
    default: return counts[n - 1];
    }
}

static int balance_plan(const sp_stage_env *env, const void *opts, sp_recvec *recs,
                        sp_error *err)
{
    const balance_opts *o = opts;
    const sp_job *run = env->run;
    if (recs->n == 0) return SP_OK;
    uint64_t seed = o->seed >= 0 ? (uint64_t)o->seed : env->seed;
    unit *u = malloc(sizeof(unit) * recs->n);
    uint64_t *counts = malloc(sizeof(uint64_t) * recs->n);
    if (!u || !counts) {
        free(u), free(counts);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < recs->n; i++) {
        const sp_record *r = &recs->v[i];
        if (r->copy != 0) {
            free(u), free(counts);
            return sp_fail(err, SP_E_CONFIG, "the input holds copies already: one balance "
                                             "stage per path");
        }
        const sp_sample *s = sp_run_sample(run, r);
        sp_rng rng = sp_rng_for(seed, env->stage->name, s->path, 0);
        u[i] = (unit){run->catalogs[r->source].to_global[s->label], sp_rng_u64(&rng), i, 0};
    }
    qsort(u, recs->n, sizeof(unit), cmp_class_order);
    size_t nclasses = 0;
    for (size_t a = 0; a < recs->n;) {
        size_t b = a;
        while (b < recs->n && u[b].label == u[a].label) b++;
        counts[nclasses++] = b - a;
        a = b;
    }
    uint64_t target = target_count(o, counts, nclasses);
    uint64_t cap = o->max_copies > 0 ? (uint64_t)o->max_copies : UINT64_MAX;
    size_t total = 0;
    for (size_t a = 0; a < recs->n;) {
        size_t b = a;
        while (b < recs->n && u[b].label == u[a].label) b++;
        uint64_t n = b - a, want = n;
        if (n < target && o->mode != MODE_UNDER) want = target;
        if (n > target && o->mode != MODE_OVER) want = target;
        if (want > n && cap != UINT64_MAX && want > n * cap) {
            sp_log(run->ctx, SP_LOG_WARN,
                   "[%s] class '%s' reaches %llu of its target %llu: %llu sources at "
                   "max_copies = %llu",
                   env->stage->name, run->classes[u[a].label],
                   (unsigned long long)(n * cap), (unsigned long long)want,
                   (unsigned long long)n, (unsigned long long)cap);
            want = n * cap;
        }
        /* Each source ⌊want/n⌋ times, the first want mod n in draw order once more; when
         * cutting, the first `want` in draw order once. */
        uint64_t base = want / n, extra = want % n;
        for (size_t i = a; i < b; i++) u[i].uses = (uint32_t)(base + (i - a < extra));
        total += want;
        a = b;
    }
    qsort(u, recs->n, sizeof(unit), cmp_index);
    sp_recvec out = {0};
    int rc = SP_OK;
    for (size_t i = 0; rc == SP_OK && i < recs->n; i++)
        for (uint32_t k = 0; rc == SP_OK && k < u[i].uses; k++) {
            sp_record r = recs->v[i];
            r.copy = k;
            if (sp_recvec_push(&out, &r) != SP_OK) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
        }
    free(u);
    free(counts);
    if (rc != SP_OK) {
        sp_recvec_free(&out);
        return rc;
    }
    sp_log(run->ctx, SP_LOG_DEBUG, "[%s] %zu records in, %zu out, target %llu per class",
           env->stage->name, recs->n, total, (unsigned long long)target);
    sp_recvec_free(recs);
    *recs = out;
    return SP_OK;
}

const sp_stage_desc sp_stage_balance = {
    .name = "balance",
    .help = "even out class counts: copies of minority samples (augmented downstream) and/or "
            "a subset of majority ones",
    .kind = SP_STAGE_RECORD,
    .flags = SP_RECORD_COPIES,
    .opts_size = sizeof(balance_opts),
    .options = balance_options,
    .plan = balance_plan,
};
