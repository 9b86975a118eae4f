/*
 * balance — even out class counts by oversampling with copies and/or undersampling.
 *
 *   [balance]
 *   input = split.train  ; usually the train branch only: val and test keep their mix
 *   mode = over          ; over | under | both (hybrid: over below the target, under above)
 *   strategy = target    ; target | auto | minority | majority | not_minority |
 *                        ; not_majority | all | classes | ratio | power | repeat_factor
 *   target = max         ; strategy = target: max | min | mean | median ...
 *   count = 0            ; ... or an explicit count per class
 *   max_copies = 0       ; most records made from one source (0: no cap)
 *
 * The strategies with imbalanced-learn's names have its `sampling_strategy` semantics
 * (same targets, ties to the first class in label order, the same refusals): `auto`,
 * `minority`, `majority`, `not_minority`, `not_majority`, `all`, and `classes = a:100,
 * b:50` for its dict. `ratio` generalises its binary float to many classes: oversampling
 * raises every class to at least ⌊ratio × majority⌋, undersampling cuts every class to at
 * most ⌊minority / ratio⌋ (for two classes, exactly imbalanced-learn's float). `power`
 * keeps the total and gives class c a share ∝ n_c^q (q = 1 as is, ½ square root, 0
 * uniform). `repeat_factor` is LVIS's: a sample of a class in a fraction f of the data is
 * used r = max(1, √(t/f)) times, ⌊r⌋ plus one more with probability r − ⌊r⌋.
 *
 * Oversampling spreads copies evenly over a class's sources: with n sources and a target
 * T, every source is used ⌊T/n⌋ or ⌈T/n⌉ times, and which ones get the extra use is drawn
 * from (seed, stage, sample path) — never "random with replacement" that leaves some
 * unused. Copy 0 is the sample as it is; copies 1, 2, ... are what the branch's random
 * pixel stages turn into distinct variants (they act on copies only, unless told
 * `apply = all`). Undersampling keeps a deterministic subset in the same draw order,
 * dropping near-duplicates first: a sample whose nonzero cluster id it shares with a
 * sample drawn before it goes before any sample that is the first of its cluster. Labels
 * only: no pixel is read.
 */
#include "sampling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct balance_opts {
    int mode;
    int strategy;
    int target;
    int64_t count;
    char *classes;
    double ratio;
    double power;
    double threshold;
    int64_t max_copies;
    int64_t seed;
} balance_opts;

#define OFF(f) offsetof(balance_opts, f)
static const sp_option balance_options[] = {
    {"mode", "which way classes move", OFF(mode), SP_OPT_ENUM, "over", 1, 0,
     sp_sampling_mode_choices, 0},
    {"strategy", "how the target counts are chosen", OFF(strategy), SP_OPT_ENUM, "target", 1, 0,
     sp_sampling_strategy_choices, 0},
    {"target", "strategy = target: the count classes move to", OFF(target), SP_OPT_ENUM, "max",
     1, 0, sp_sampling_target_choices, 0},
    {"count", "strategy = target: an explicit count per class; 0 uses `target`", OFF(count),
     SP_OPT_INT, "0", 0, 1e9, NULL, 0},
    {"classes", "strategy = classes: NAME:COUNT pairs, comma-separated (imbalanced-learn's "
     "dict); unlisted classes stay as they are", OFF(classes), SP_OPT_STRING, "", 0, 0, NULL, 0},
    {"ratio", "strategy = ratio: over, each class at least floor(ratio x majority); under, "
     "each class at most floor(minority / ratio)", OFF(ratio), SP_OPT_DOUBLE, "1", 1e-6, 1, NULL,
     0},
    {"power", "strategy = power: q in p_c proportional to n_c^q (1 as is, 0.5 square root, 0 "
     "uniform)", OFF(power), SP_OPT_DOUBLE, "0.5", 0, 1, NULL, 0},
    {"threshold", "strategy = repeat_factor: LVIS's t; classes in a fraction f < t of the "
     "samples repeat sqrt(t / f) times", OFF(threshold), SP_OPT_DOUBLE, "0.001", 0, 1, NULL, 0},
    {"max_copies", "most records made from one source, the original included; 0 = no cap",
     OFF(max_copies), SP_OPT_INT, "0", 0, 1e6, NULL, 0},
    {"seed", "seed of the choices; -1 uses the [run] seed", OFF(seed), SP_OPT_INT, "-1", -1,
     9007199254740991.0, NULL, 0},
    SP_OPT_END,
};

static sp_sampling sampling_of(const balance_opts *o)
{
    return (sp_sampling){.mode = o->mode,
                         .strategy = o->strategy,
                         .target = o->target,
                         .count = (uint64_t)o->count,
                         .ratio = o->ratio,
                         .power = o->power,
                         .classes = o->classes};
}

/* What can be told before there is data. */
static int balance_validate(const void *opts, sp_error *err)
{
    const balance_opts *o = opts;
    if (o->strategy >= SP_STRATEGY_AUTO && o->strategy <= SP_STRATEGY_CLASSES &&
        o->mode == SP_SAMPLE_BOTH)
        return sp_fail(err, SP_E_CONFIG, "strategy = %s goes one way, as in imbalanced-learn: "
                                         "mode = over or under, not both",
                       sp_sampling_strategy_choices[o->strategy].name);
    if (o->strategy == SP_STRATEGY_MINORITY && o->mode == SP_SAMPLE_UNDER)
        return sp_fail(err, SP_E_CONFIG, "strategy = minority cannot be used with mode = under");
    if (o->strategy == SP_STRATEGY_MAJORITY && o->mode == SP_SAMPLE_OVER)
        return sp_fail(err, SP_E_CONFIG, "strategy = majority cannot be used with mode = over");
    if (o->strategy == SP_STRATEGY_CLASSES && !(o->classes && o->classes[0]))
        return sp_fail(err, SP_E_CONFIG, "strategy = classes needs `classes = NAME:COUNT, ...`");
    if (o->strategy == SP_STRATEGY_RATIO && o->mode == SP_SAMPLE_BOTH)
        return sp_fail(err, SP_E_CONFIG, "strategy = ratio goes one way: mode = over or under");
    if (o->strategy == SP_STRATEGY_REPEAT && o->mode != SP_SAMPLE_OVER)
        return sp_fail(err, SP_E_CONFIG, "strategy = repeat_factor only repeats: mode = over");
    return SP_OK;
}

typedef struct unit {
    int32_t label;
    uint32_t cluster;
    uint64_t order;
    uint64_t draw; /* repeat_factor's rounding draw */
    size_t index;  /* into the input */
    uint32_t uses;
    uint32_t dup; /* shares a cluster with a sample drawn before it */
} unit;

static int cmp_class_order(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->label != y->label) return x->label < y->label ? -1 : 1;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int cmp_cluster_order(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->cluster != y->cluster) return x->cluster < y->cluster ? -1 : 1;
    return cmp_class_order(a, b);
}

static int cmp_dup_order(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->dup != y->dup) return x->dup < y->dup ? -1 : 1;
    return cmp_class_order(a, b);
}

/* Undersampling order within a class: near-duplicates (not the first of their cluster in
 * draw order) last, so they are the first to go. */
static void order_for_cut(unit *u, size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n && !any; i++) any = u[i].cluster != 0;
    if (!any) return;
    qsort(u, n, sizeof(unit), cmp_cluster_order);
    for (size_t i = 0; i < n; i++)
        u[i].dup = u[i].cluster != 0 && i > 0 && u[i - 1].cluster == u[i].cluster;
    qsort(u, n, sizeof(unit), cmp_dup_order);
}

static int balance_plan(const sp_stage_env *env, const void *opts, sp_recvec *recs,
                        sp_error *err)
{
    const balance_opts *o = opts;
    sp_job *run = env->run;
    size_t n = recs->n;
    if (n == 0) return SP_OK;
    uint64_t seed = o->seed >= 0 ? (uint64_t)o->seed : env->seed;
    size_t nl = run->nclasses ? run->nclasses : 1;
    unit *u = malloc(sizeof(unit) * n);
    int32_t *labels = malloc(sizeof(int32_t) * n);
    uint32_t *idx = malloc(sizeof(uint32_t) * n);
    sp_keyed *k = malloc(sizeof(sp_keyed) * n);
    uint64_t *counts = malloc(sizeof(uint64_t) * nl);
    uint64_t *targets = malloc(sizeof(uint64_t) * nl);
    const char **names = malloc(sizeof(char *) * nl);
    size_t *first = malloc(sizeof(size_t) * (nl + 1));
    int rc = u && labels && idx && k && counts && targets && names && first
                 ? SP_OK
                 : sp_fail(err, SP_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == SP_OK && i < n; i++) {
        const sp_record *r = &recs->v[i];
        if (r->copy != 0) {
            rc = sp_fail(err, SP_E_CONFIG, "the input holds copies already: one balance stage "
                                           "per path");
            break;
        }
        const sp_sample *s = sp_run_sample(run, r);
        sp_rng rng = sp_rng_for(seed, env->stage->name, s->path, 0);
        uint64_t order = sp_rng_u64(&rng);
        labels[i] = run->catalogs[r->source].to_global[s->label];
        u[i] = (unit){labels[i], s->cluster, order, sp_rng_u64(&rng), i, 0, 0};
        k[i] = (sp_keyed){order, i};
    }
    /* Class by class, each in draw order (ties in input order): a radix sort by the draw,
     * then a stable counting sort by class. */
    if (rc == SP_OK && sp_sort_keyed(k, n) != SP_OK) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == SP_OK && i < n; i++) idx[i] = (uint32_t)k[i].val;
    if (rc == SP_OK && sp_sort_by_label(idx, n, labels, nl) != SP_OK)
        rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    free(k);
    size_t nclasses = 0;
    if (rc == SP_OK) {
        for (size_t a = 0; a < n;) {
            size_t b = a;
            while (b < n && labels[idx[b]] == labels[idx[a]]) b++;
            first[nclasses] = a;
            names[nclasses] = run->classes[labels[idx[a]]];
            counts[nclasses++] = b - a;
            a = b;
        }
        first[nclasses] = n;
        sp_sampling smp = sampling_of(o);
        rc = sp_sampling_targets(&smp, counts, names, nclasses, targets, err);
        /* A target that can never move a class in this mode is a config slip, not a
         * choice: under to the largest class, over to the smallest. */
        if (rc == SP_OK && o->strategy == SP_STRATEGY_TARGET && !o->count &&
            ((o->mode == SP_SAMPLE_UNDER && o->target == SP_TARGET_MAX) ||
             (o->mode == SP_SAMPLE_OVER && o->target == SP_TARGET_MIN)))
            sp_log(run->ctx, SP_LOG_WARN,
                   "[%s] mode = %s with target = %s changes no class (did you mean target = %s?)",
                   env->stage->name, o->mode == SP_SAMPLE_UNDER ? "under" : "over",
                   o->target == SP_TARGET_MAX ? "max" : "min",
                   o->target == SP_TARGET_MAX ? "min" : "max");
    }
    uint64_t cap = o->max_copies > 0 ? (uint64_t)o->max_copies : UINT64_MAX;
    size_t total = 0;
    for (size_t c = 0; rc == SP_OK && c < nclasses; c++) {
        const uint32_t *ci = idx + first[c];
        uint64_t cn = counts[c], want = targets[c];
        if (o->strategy == SP_STRATEGY_REPEAT) {
            double r = sp_repeat_factor(o->threshold, (double)cn / (double)n);
            double whole = floor(r);
            want = 0;
            size_t capped = 0;
            for (size_t i = 0; i < cn; i++) {
                unit *x = &u[ci[i]];
                /* 53 bits of the sample's second draw: below r - ⌊r⌋ adds a use. */
                double p = (double)(x->draw >> 11) * 0x1.0p-53;
                uint64_t uses = (uint64_t)whole + (p < r - whole);
                if (uses > cap) uses = cap, capped++;
                x->uses = (uint32_t)uses;
                want += uses;
            }
            if (capped)
                sp_log(run->ctx, SP_LOG_WARN,
                       "[%s] class '%s': repeat factor %.2f, %zu of its %llu sources held at "
                       "max_copies = %llu",
                       env->stage->name, names[c], r, capped, (unsigned long long)cn,
                       (unsigned long long)cap);
            total += want;
            continue;
        }
        if (want > cn && cap != UINT64_MAX && want > cn * cap) {
            sp_log(run->ctx, SP_LOG_WARN,
                   "[%s] class '%s' reaches %llu of its target %llu: %llu sources at "
                   "max_copies = %llu",
                   env->stage->name, names[c], (unsigned long long)(cn * cap),
                   (unsigned long long)want, (unsigned long long)cn, (unsigned long long)cap);
            want = cn * cap;
        }
        /* Each source ⌊want/n⌋ times, the first want mod n in draw order once more; when
         * cutting, the first `want` in that order once (near-duplicates last). */
        uint64_t base = want / cn, extra = want % cn;
        /* Uses are 32-bit and the output one array: refuse what would wrap either. */
        if (base >= UINT32_MAX || want > SIZE_MAX / sizeof(sp_record) - total) {
            rc = sp_fail(err, SP_E_CONFIG, "class '%s' asks for %llu records: too many",
                         names[c], (unsigned long long)want);
            break;
        }
        if (want < cn) {
            unit *cu = malloc(sizeof(unit) * cn);
            if (!cu) {
                rc = sp_fail(err, SP_E_NOMEM, "out of memory");
                break;
            }
            for (size_t i = 0; i < cn; i++) cu[i] = u[ci[i]];
            order_for_cut(cu, cn);
            for (size_t i = 0; i < cn; i++) u[cu[i].index].uses = (uint32_t)(base + (i < extra));
            free(cu);
            /* Each sample cut is reported (finish keeps only those no sink writes). */
            char detail[300];
            snprintf(detail, sizeof(detail), "[%s] cut class '%s' from %llu to %llu samples",
                     env->stage->name, names[c], (unsigned long long)cn, (unsigned long long)want);
            for (size_t i = 0; rc == SP_OK && i < cn; i++) {
                const sp_record *r = &recs->v[u[ci[i]].index];
                if (u[ci[i]].uses == 0)
                    rc = sp_report_drop(run, "balance", r->source, r->sample, SP_E_UNDERSAMPLED,
                                        detail);
            }
        } else {
            for (size_t i = 0; i < cn; i++) u[ci[i]].uses = (uint32_t)(base + (i < extra));
        }
        total += want;
    }
    sp_recvec out = {0};
    if (rc == SP_OK) {
        out.cap = total ? total : 1;
        if (!(out.v = malloc(sizeof(sp_record) * out.cap)))
            rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; rc == SP_OK && i < n; i++)
        for (uint32_t c = 0; c < u[i].uses; c++) {
            sp_record r = recs->v[i];
            r.copy = c;
            out.v[out.n++] = r;
        }
    free(u), free(labels), free(idx), free(counts), free(targets), free(names), free(first);
    if (rc != SP_OK) {
        sp_recvec_free(&out);
        return rc;
    }
    sp_log(run->ctx, SP_LOG_DEBUG, "[%s] %zu records in, %zu out", env->stage->name, n, total);
    sp_recvec_free(recs);
    *recs = out;
    return SP_OK;
}

const sp_stage_desc sp_stage_balance = {
    .name = "balance",
    .help = "even out class counts: copies of minority samples (augmented downstream) and/or "
            "a subset of majority ones; imbalanced-learn's strategies, LVIS repeat factors",
    .kind = SP_STAGE_RECORD,
    .flags = SP_RECORD_COPIES,
    .opts_size = sizeof(balance_opts),
    .options = balance_options,
    .plan = balance_plan,
    .validate = balance_validate,
};
