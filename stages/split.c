/*
 * split — stratified train/val/test split, by fractions or counts, deterministic by seed.
 *
 *   [split]
 *   val = 0.1             ; a fraction of each class ...
 *   test = 0.1            ; ... train gets the rest
 *   val_count = 0         ; or a count per class instead (0: use the fraction)
 *   val_min = 1           ; at least this many of each class in val (when val is asked)
 *
 *   [train_aug]
 *   input = split.train   ; the outputs are ports: split.train, split.val, split.test
 *
 * Within each class, the class's samples are ordered by a key drawn from (seed, stage,
 * sample path) and cut: the first ones go to val, the next to test, the rest to train. A
 * sample is assigned once, so every copy of it lands in the same split, and adding a file
 * to one class never moves a sample of another.
 *
 * Two things come before the draw. A split the input gives (a train/ val/ folder layout,
 * a manifest's split column: the sample's split_hint) is kept, and counts towards its
 * split's share. A split asked for that the input has none of (test from a train/ val/
 * layout, val from a lone train/ folder) is drawn from the input's train samples: they
 * may go there and only there, since an input that gives val has already chosen it. Near-duplicates (samples with the same nonzero cluster id, found by the
 * clean stage) move as one unit, so no near-copy of a val image trains the model; a
 * cluster counts for as many samples as it has, under the class of its first member (in
 * source, path order), and follows a hint any member has (test before val before train
 * when members disagree). The minimums (val_min, test_min), counts larger than a class,
 * hints covering most of a class and clusters as big as it never leave train without a
 * sample of the class while train has a share and a sample is left to draw.
 */
#include "sampling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct split_opts {
    double val, test;
    int64_t val_count, test_count;
    int64_t val_min, test_min;
    int64_t seed;
} split_opts;

#define OFF(f) offsetof(split_opts, f)
static const sp_option split_options[] = {
    {"val", "fraction of each class that goes to val", OFF(val), SP_OPT_DOUBLE, "0.1", 0, 1,
     NULL, 0},
    {"test", "fraction of each class that goes to test", OFF(test), SP_OPT_DOUBLE, "0", 0, 1,
     NULL, 0},
    {"val_count", "samples of each class that go to val, instead of the fraction; 0 uses `val`",
     OFF(val_count), SP_OPT_INT, "0", 0, 1e12, NULL, 0},
    {"test_count", "samples of each class that go to test, instead of the fraction; 0 uses "
     "`test`", OFF(test_count), SP_OPT_INT, "0", 0, 1e12, NULL, 0},
    {"val_min", "at least this many samples of each class in val, when val is asked for (a "
     "class's last sample stays in train)", OFF(val_min), SP_OPT_INT, "1", 0, 1e12, NULL, 0},
    {"test_min", "at least this many samples of each class in test, when test is asked for",
     OFF(test_min), SP_OPT_INT, "1", 0, 1e12, NULL, 0},
    {"seed", "split seed; -1 uses the [run] seed", OFF(seed), SP_OPT_INT, "-1", -1,
     9007199254740991.0, NULL, 0},
    SP_OPT_END,
};

static const char *const split_ports[] = {"train", "val", "test", NULL};

/* A distinct sample. */
typedef struct unit {
    uint32_t source, sample;
    uint32_t cluster;
    uint32_t group; /* index into the groups */
    int32_t label;
    uint8_t hint;
} unit;

/* What is assigned: a sample, or a cluster of near-duplicates. */
typedef struct group {
    int32_t label;
    uint8_t hint, split;
    uint32_t size;
    uint64_t order;
} group;

static int cmp_identity(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->source != y->source) return x->source < y->source ? -1 : 1;
    return x->sample < y->sample ? -1 : x->sample > y->sample;
}

/* Clusters together (the first member first); samples without one each alone. */
static int cmp_cluster(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->cluster != y->cluster) return x->cluster < y->cluster ? -1 : 1;
    return cmp_identity(a, b);
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

/* Hints by strength: a cluster with members in several splits goes where leaking would
 * hurt most if it did not. */
static int hint_rank(uint8_t h)
{
    return h == SP_SPLIT_TEST ? 3 : h == SP_SPLIT_VAL ? 2 : h == SP_SPLIT_TRAIN ? 1 : 0;
}

/* How many of a class's n samples go to one split, from the fraction or count and the
 * minimum, leaving `taken` to the splits before it and, when train has a share at all
 * (keep_train), train its last sample. */
static uint64_t share(uint64_t n, uint64_t taken, double frac, int64_t count, int64_t min,
                      bool keep_train)
{
    bool asked = frac > 0 || count > 0;
    uint64_t k = count > 0 ? (uint64_t)count : (uint64_t)llround((double)n * frac);
    if (k > n - taken) k = n - taken;
    /* Rounding a small class's fractions one by one (1 of 2 to val at 0.3, 1 to test), or
     * a count larger than the class, would empty train of it: the class would vanish
     * from training without a word. Train keeps its last sample. */
    if ((count > 0 || keep_train) && k == n - taken && k > 0) k--;
    if (asked && k < (uint64_t)min && n > taken + k + 1) {
        uint64_t room = n - taken - k - 1;
        uint64_t more = (uint64_t)min - k;
        k += more < room ? more : room;
    }
    return k;
}

static int split_route(const sp_stage_env *env, const void *opts, const sp_recvec *in,
                       sp_recvec *outs, sp_error *err)
{
    const split_opts *o = opts;
    sp_job *run = env->run;
    uint64_t seed = o->seed >= 0 ? (uint64_t)o->seed : env->seed;
    size_t nin = in->n ? in->n : 1;
    size_t nc = run->nclasses ? run->nclasses : 1;
    unit *u = malloc(sizeof(unit) * nin);
    group *g = malloc(sizeof(group) * nin);
    uint32_t **unit_of = calloc(run->ncatalogs ? run->ncatalogs : 1, sizeof(uint32_t *));
    uint64_t *got = calloc(nc * 4, sizeof(uint64_t)); /* [class][split] samples given */
    uint64_t *total = calloc(nc, sizeof(uint64_t));
    size_t self = (size_t)(env->stage - run->pipe->stages);
    if (!run->split_before) run->split_before = calloc(run->pipe->nstages, sizeof(uint64_t *));
    if (run->split_before && !run->split_before[self])
        run->split_before[self] = calloc(nc * 4, sizeof(uint64_t));
    uint64_t *before = run->split_before ? run->split_before[self] : NULL;
    bool ok = u && g && unit_of && got && total && before;
    for (size_t k = 0; ok && k < run->ncatalogs; k++)
        ok = (unit_of[k] = calloc(run->catalogs[k].nsamples + 1, sizeof(uint32_t))) != NULL;
    uint32_t *gidx = NULL;
    int32_t *glabel = NULL;
    sp_keyed *keys = NULL;
    int rc = ok ? SP_OK : SP_E_NOMEM;
    /* One unit per distinct sample (copies of a sample are one), in input order. */
    size_t n = 0;
    for (size_t i = 0; rc == SP_OK && i < in->n; i++) {
        const sp_record *r = &in->v[i];
        if (unit_of[r->source][r->sample]) continue;
        const sp_sample *s = sp_run_sample(run, r);
        u[n] = (unit){r->source, r->sample, s->cluster, 0,
                      run->catalogs[r->source].to_global[s->label], s->split_hint};
        unit_of[r->source][r->sample] = (uint32_t)++n;
    }
    /* Units into groups: a sample alone, or a cluster under its first member's class (the
     * clustered units sorted by cluster, then source and path order). */
    size_t ng = 0, conflicts = 0, nclu = 0;
    for (size_t i = 0; i < n; i++)
        if (u[i].cluster) nclu++;
    unit *clu = rc == SP_OK ? malloc(sizeof(unit) * (nclu ? nclu : 1)) : NULL;
    if (rc == SP_OK && !clu) rc = SP_E_NOMEM;
    for (size_t i = 0, m = 0; rc == SP_OK && i < n; i++) {
        if (u[i].cluster) {
            clu[m++] = u[i];
            continue;
        }
        const sp_sample *s = &run->catalogs[u[i].source].samples[u[i].sample];
        sp_rng rng = sp_rng_for(seed, env->stage->name, s->path, 0);
        g[ng] = (group){u[i].label, u[i].hint, 0, 1, sp_rng_u64(&rng)};
        u[i].group = (uint32_t)ng++;
    }
    if (rc == SP_OK && nclu > 1) qsort(clu, nclu, sizeof(unit), cmp_cluster);
    for (size_t i = 0; rc == SP_OK && i < nclu; i++) {
        if (i == 0 || clu[i].cluster != clu[i - 1].cluster) {
            const sp_sample *s = &run->catalogs[clu[i].source].samples[clu[i].sample];
            sp_rng rng = sp_rng_for(seed, env->stage->name, s->path, 0);
            g[ng++] = (group){clu[i].label, clu[i].hint, 0, 0, sp_rng_u64(&rng)};
        }
        group *cur = &g[ng - 1];
        if (clu[i].hint && cur->hint && clu[i].hint != cur->hint) conflicts++;
        if (hint_rank(clu[i].hint) > hint_rank(cur->hint)) cur->hint = clu[i].hint;
        cur->size++;
        u[unit_of[clu[i].source][clu[i].sample] - 1].group = (uint32_t)(ng - 1);
    }
    free(clu);
    if (conflicts)
        sp_log(run->ctx, SP_LOG_WARN, "[%s] %zu near-duplicates have another split given by "
                                      "the input than their cluster: the cluster stays together",
               env->stage->name, conflicts);
    /* Which splits the input gives at all, and so which asked-for splits the input's train
     * samples may be drawn into. */
    bool given[4] = {false, false, false, false};
    for (size_t k = 0; rc == SP_OK && k < ng; k++) given[g[k].hint] = true;
    const bool draw_val = (o->val > 0 || o->val_count > 0) && !given[SP_SPLIT_VAL];
    const bool draw_test = (o->test > 0 || o->test_count > 0) && !given[SP_SPLIT_TEST];
    const bool free_train = given[SP_SPLIT_TRAIN] && (draw_val || draw_test);
    if (free_train)
        sp_log(run->ctx, SP_LOG_INFO, "[%s] the input gives no %s split: drawn from the "
                                      "input's train samples",
               env->stage->name, draw_val && draw_test ? "val or test" : draw_val ? "val" : "test");
    /* A split the input gives counts towards that split's share. */
    for (size_t k = 0; rc == SP_OK && k < ng; k++) {
        total[g[k].label] += g[k].size;
        if (g[k].hint && !(g[k].hint == SP_SPLIT_TRAIN && free_train)) {
            g[k].split = g[k].hint;
            got[(size_t)g[k].label * 4 + g[k].hint] += g[k].size;
        }
    }
    /* Groups class by class, each in draw order: a radix sort by the draw, then a stable
     * counting sort by class. */
    if (rc == SP_OK) {
        gidx = malloc(sizeof(uint32_t) * (ng ? ng : 1));
        glabel = malloc(sizeof(int32_t) * (ng ? ng : 1));
        keys = malloc(sizeof(sp_keyed) * (ng ? ng : 1));
        if (!gidx || !glabel || !keys) rc = SP_E_NOMEM;
    }
    for (size_t k = 0; rc == SP_OK && k < ng; k++) {
        keys[k] = (sp_keyed){g[k].order, k};
        glabel[k] = g[k].label;
    }
    if (rc == SP_OK) rc = sp_sort_keyed(keys, ng);
    for (size_t k = 0; rc == SP_OK && k < ng; k++) gidx[k] = (uint32_t)keys[k].val;
    if (rc == SP_OK) rc = sp_sort_by_label(gidx, ng, glabel, nc);
    /* Train has a share unless the fractions give it none (val + test = 1). */
    bool keep_train = o->val_count > 0 || o->test_count > 0 || o->val + o->test < 1.0 - 1e-9;
    for (size_t a = 0; rc == SP_OK && a < ng;) {
        size_t b = a;
        int32_t c = glabel[gidx[a]];
        while (b < ng && glabel[gidx[b]] == c) b++;
        uint64_t nval = share(total[c], 0, o->val, o->val_count, o->val_min, keep_train);
        uint64_t ntest = share(total[c], nval, o->test, o->test_count, o->test_min, keep_train);
        uint64_t *have = &got[(size_t)c * 4];
        /* The shares count samples, but hints and clusters come in lumps: a class the
         * input mostly puts in val, or a cluster as big as the class, could still leave
         * train none. The last group drawn goes to train when train has nothing yet. */
        size_t left = 0;
        for (size_t k = a; k < b; k++) {
            const group *x = &g[gidx[k]];
            left += !x->hint || (x->hint == SP_SPLIT_TRAIN && free_train);
        }
        for (size_t k = a; k < b; k++) {
            group *x = &g[gidx[k]];
            const bool trained = x->hint == SP_SPLIT_TRAIN;
            if (x->hint && !(trained && free_train)) continue;
            const bool to_val = !trained || draw_val, to_test = !trained || draw_test;
            const bool last = --left == 0 && keep_train && have[SP_SPLIT_TRAIN] == 0;
            x->split = last                                     ? SP_SPLIT_TRAIN
                       : to_val && have[SP_SPLIT_VAL] < nval     ? SP_SPLIT_VAL
                       : to_test && have[SP_SPLIT_TEST] < ntest ? SP_SPLIT_TEST
                                                                : SP_SPLIT_TRAIN;
            have[x->split] += x->size;
        }
        a = b;
    }
    for (size_t i = 0; rc == SP_OK && i < n; i++)
        before[(size_t)u[i].label * 4 + g[u[i].group].split]++;
    for (size_t i = 0; rc == SP_OK && i < in->n; i++) {
        sp_record r = in->v[i];
        r.split = g[u[unit_of[r.source][r.sample] - 1].group].split;
        if (sp_recvec_push(&outs[r.split - SP_SPLIT_TRAIN], &r) != SP_OK) rc = SP_E_NOMEM;
    }
    for (size_t k = 0; unit_of && k < run->ncatalogs; k++) free(unit_of[k]);
    free(unit_of), free(u), free(g), free(got), free(total), free(gidx), free(glabel), free(keys);
    return rc == SP_OK ? rc : sp_fail(err, SP_E_NOMEM, "out of memory");
}

const sp_stage_desc sp_stage_split = {
    .name = "split",
    .help = "a stratified train/val/test split by fractions or counts, deterministic by seed; "
            "keeps the input's own split and near-duplicate clusters together",
    .kind = SP_STAGE_RECORD,
    .opts_size = sizeof(split_opts),
    .options = split_options,
    .validate = split_validate,
    .ports = split_ports,
    .route = split_route,
};
