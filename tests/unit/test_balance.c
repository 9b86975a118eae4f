/*
 * Splits, balancing and shard layout on synthetic catalogs: the plan phase alone, driven
 * through the internal API with samples made in memory (no file is read), so datasets of
 * any shape and with planted near-duplicate clusters and input splits are cheap.
 *
 * Why: these are the promises a training job relies on without looking: a near-duplicate
 * pair never straddles train and val; a split the input gives is kept; every class has
 * its minimum in val and test; val and test are not resampled; each source is used ⌊k⌋
 * or ⌈k⌉ times; undersampling drops near-duplicates first; stratified shards each hold
 * the class mix; and the plan is the same on every run and at every thread count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampling.h"

typedef void (*tweak_fn)(sp_sample *s, size_t i, size_t cls);

/* A job whose one source holds counts[c] samples of class c ("c000", "c001", ...), each
 * 64x64 PNG by its header; tweak sets clusters and hints. Planned with `ini`. */
static sp_job *plan_job(sp_ctx *ctx, const char *ini, const uint32_t *counts, size_t nclasses,
                        tweak_fn tweak, int expect)
{
    sp_pipeline *pipe = NULL;
    assert_int_equal(sp_pipeline_load_string(ctx, ini, "test.ini", NULL, 0, &pipe), SP_OK);
    sp_job *run = calloc(1, sizeof(*run));
    run->ctx = ctx;
    run->pipe = pipe;
    run->outdir = "/nonexistent";
    run->catalogs = calloc(1, sizeof(sp_catalog));
    run->catalog_of_stage = malloc(sizeof(int) * pipe->nstages);
    for (size_t i = 0; i < pipe->nstages; i++)
        run->catalog_of_stage[i] = pipe->stages[i].desc->kind == SP_STAGE_SOURCE ? 0 : -1;
    run->ncatalogs = 1;
    sp_catalog *cat = &run->catalogs[0];
    cat->source = sp_strdup("source");
    cat->root = sp_strdup("/nonexistent");
    cat->classes = calloc(nclasses, sizeof(char *));
    cat->to_global = calloc(nclasses, sizeof(int32_t));
    run->classes = calloc(nclasses, sizeof(char *));
    size_t total = 0;
    for (size_t c = 0; c < nclasses; c++) total += counts[c];
    cat->samples = calloc(total, sizeof(sp_sample));
    for (size_t c = 0; c < nclasses; c++) {
        char name[32];
        snprintf(name, sizeof(name), "c%03u", (unsigned)c);
        cat->classes[c] = sp_strdup(name);
        run->classes[c] = sp_strdup(name);
        cat->to_global[c] = (int32_t)c;
        for (uint32_t k = 0; k < counts[c]; k++) {
            sp_sample *s = &cat->samples[cat->nsamples];
            char path[64];
            snprintf(path, sizeof(path), "%s/%06u.png", name, k);
            s->path = sp_strdup(path);
            s->label = (int32_t)c;
            s->format = &sp_format_png;
            s->info = (sp_image_info){.width = 64, .height = 64, .channels = 3};
            if (tweak) tweak(s, cat->nsamples, c);
            cat->nsamples++;
        }
    }
    cat->nclasses = run->nclasses = nclasses;
    assert_int_equal(sp_plan_run(run), expect);
    return run;
}

static void free_job(sp_job *run)
{
    sp_pipeline *pipe = run->pipe;
    sp_job_free(run);
    free(run);
    sp_pipeline_free(&pipe);
}

static const sp_sink_plan *sink(const sp_job *run, const char *name)
{
    for (size_t s = 0; s < run->nsinks; s++)
        if (!strcmp(run->pipe->stages[run->sinks[s].stage].name, name)) return &run->sinks[s];
    fail_msg("no sink %s", name);
    return NULL;
}

static int32_t label(const sp_job *run, const sp_record *r)
{
    return run->catalogs[r->source].to_global[sp_run_sample(run, r)->label];
}

static const char g_split_ini[] = "[run]\nseed = 3\n"
                                  "[source]\npath = /nonexistent\n"
                                  "[split]\nval = 0.2\ntest = 0.1\n"
                                  "[train]\ntype = tar\ninput = split.train\n"
                                  "[val]\ntype = tar\ninput = split.val\n"
                                  "[test]\ntype = tar\ninput = split.test\n";

/* Every 7th sample shares a cluster with the sample before it; every 50th one's cluster
 * also holds a sample of the next class (near-duplicates across labels happen). */
static void plant_clusters(sp_sample *s, size_t i, size_t cls)
{
    (void)cls;
    if (i % 7 == 6 || i % 7 == 5) s->cluster = (uint32_t)(1 + i / 7);
    if (i % 50 == 0 && i > 0) s->cluster = (uint32_t)(1 + (i - 1) / 7);
}

/* The split of every sample, from the three sinks. */
static uint8_t *splits_of(const sp_job *run)
{
    uint8_t *split = calloc(run->catalogs[0].nsamples, 1);
    const char *names[] = {"train", "val", "test"};
    for (int k = 0; k < 3; k++) {
        const sp_sink_plan *sp = sink(run, names[k]);
        for (size_t i = 0; i < sp->recs.n; i++) {
            const sp_record *r = &sp->recs.v[i];
            assert_int_equal(r->split, k + 1);
            assert_int_equal(split[r->sample], 0); /* in one split only */
            split[r->sample] = (uint8_t)(k + 1);
        }
    }
    return split;
}

static void test_clusters_stay_together(void **state)
{
    sp_ctx *ctx = *state;
    const uint32_t counts[] = {300, 120, 41, 9, 2};
    sp_job *run = plan_job(ctx, g_split_ini, counts, 5, plant_clusters, SP_OK);
    uint8_t *split = splits_of(run);
    const sp_catalog *cat = &run->catalogs[0];
    size_t clusters = 0, straddle = 0;
    for (size_t i = 0; i < cat->nsamples; i++) {
        assert_int_not_equal(split[i], 0); /* every sample is somewhere */
        for (size_t j = i + 1; j < cat->nsamples; j++)
            if (cat->samples[i].cluster && cat->samples[i].cluster == cat->samples[j].cluster) {
                clusters++;
                straddle += split[i] != split[j];
            }
    }
    assert_true(clusters > 60);
    assert_int_equal(straddle, 0);
    /* Shares per class close to the fractions (clusters may overshoot by one pair), and
     * the minimums: at least one in val and one in test, train keeps the last. */
    uint64_t per[5][4] = {{0}};
    for (size_t i = 0; i < cat->nsamples; i++) per[cat->samples[i].label][split[i]]++;
    for (size_t c = 0; c < 3; c++) {
        assert_true(llabs((long long)per[c][SP_SPLIT_VAL] - llround(counts[c] * 0.2)) <= 2);
        assert_true(llabs((long long)per[c][SP_SPLIT_TEST] - llround(counts[c] * 0.1)) <= 2);
    }
    assert_true(per[3][SP_SPLIT_VAL] >= 1 && per[3][SP_SPLIT_TEST] >= 1);
    /* Two samples: one to val (its minimum), test's minimum would take train's last. */
    assert_int_equal(per[4][SP_SPLIT_VAL], 1);
    assert_int_equal(per[4][SP_SPLIT_TEST], 0);
    assert_int_equal(per[4][SP_SPLIT_TRAIN], 1);
    free(split);
    free_job(run);
}

/* The input's own split: every 5th sample says val, every 11th test, every 13th train. */
static void plant_hints(sp_sample *s, size_t i, size_t cls)
{
    (void)cls;
    s->split_hint = i % 5 == 0 ? SP_SPLIT_VAL : i % 11 == 0 ? SP_SPLIT_TEST
                    : i % 13 == 0 ? SP_SPLIT_TRAIN : SP_SPLIT_NONE;
}

static void test_input_split_is_kept(void **state)
{
    sp_ctx *ctx = *state;
    const uint32_t counts[] = {200, 100};
    sp_job *run = plan_job(ctx, g_split_ini, counts, 2, plant_hints, SP_OK);
    uint8_t *split = splits_of(run);
    const sp_catalog *cat = &run->catalogs[0];
    uint64_t val = 0;
    for (size_t i = 0; i < cat->nsamples; i++) {
        if (cat->samples[i].split_hint) assert_int_equal(split[i], cat->samples[i].split_hint);
        val += split[i] == SP_SPLIT_VAL;
    }
    /* Every 5th sample is val by the input: 60 of 300, which is val's whole share (20%),
     * so the split adds none. */
    assert_int_equal(val, 60);
    free(split);
    free_job(run);
}

/* A train/ val/ layout: every 4th sample is val by the input, the rest train. */
static void plant_train_val(sp_sample *s, size_t i, size_t cls)
{
    (void)cls;
    s->split_hint = i % 4 == 0 ? SP_SPLIT_VAL : SP_SPLIT_TRAIN;
}

/* A lone train/ folder. */
static void plant_train_only(sp_sample *s, size_t i, size_t cls)
{
    (void)i, (void)cls;
    s->split_hint = SP_SPLIT_TRAIN;
}

/* A split asked for that the input has none of is drawn from the input's train samples
 * (test from a train/ val/ layout, val and test from a lone train/ folder), and no train
 * sample of the input joins a split the input does give. */
static void test_missing_split_drawn_from_train(void **state)
{
    sp_ctx *ctx = *state;
    const uint32_t counts[] = {200, 40, 3};
    tweak_fn layouts[] = {plant_train_val, plant_train_only};
    for (int l = 0; l < 2; l++) {
        sp_job *run = plan_job(ctx, g_split_ini, counts, 3, layouts[l], SP_OK);
        uint8_t *split = splits_of(run);
        const sp_catalog *cat = &run->catalogs[0];
        uint64_t per[3][4] = {{0}};
        for (size_t i = 0; i < cat->nsamples; i++) {
            const sp_sample *s = &cat->samples[i];
            per[s->label][split[i]]++;
            if (s->split_hint == SP_SPLIT_VAL) assert_int_equal(split[i], SP_SPLIT_VAL);
            if (l == 0 && s->split_hint == SP_SPLIT_TRAIN)
                assert_int_not_equal(split[i], SP_SPLIT_VAL);
        }
        for (size_t c = 0; c < 2; c++) {
            /* val: the input's every 4th (about 25%), or 20% drawn; test: 10% drawn. */
            uint64_t want_val = l == 0 ? (counts[c] + 3) / 4 : (uint64_t)llround(counts[c] * 0.2);
            assert_int_equal(per[c][SP_SPLIT_VAL], want_val);
            assert_int_equal(per[c][SP_SPLIT_TEST], (uint64_t)llround(counts[c] * 0.1));
        }
        /* Three samples: the minimum of one in test still leaves train one. */
        assert_int_equal(per[2][SP_SPLIT_TEST], 1);
        assert_true(per[2][SP_SPLIT_TRAIN] >= 1);
        free(split);
        free_job(run);
    }
}

/* Class 0 (4 samples): the input puts three in val. Class 1 (3 samples): one cluster of
 * near-duplicates. Class 2 (40): plain. */
static void plant_lumps(sp_sample *s, size_t i, size_t cls)
{
    if (cls == 0 && i < 3) s->split_hint = SP_SPLIT_VAL;
    if (cls == 1) s->cluster = 1;
}

/* Shares count samples, but hints and clusters come in lumps: neither may leave a class
 * with nothing in train while train has a share. */
static void test_train_keeps_a_sample_despite_lumps(void **state)
{
    sp_ctx *ctx = *state;
    const uint32_t counts[] = {4, 3, 40};
    sp_job *run = plan_job(ctx, g_split_ini, counts, 3, plant_lumps, SP_OK);
    uint8_t *split = splits_of(run);
    const sp_catalog *cat = &run->catalogs[0];
    uint64_t per[3][4] = {{0}};
    for (size_t i = 0; i < cat->nsamples; i++) per[cat->samples[i].label][split[i]]++;
    assert_int_equal(per[0][SP_SPLIT_VAL], 3);   /* the input's val kept */
    assert_int_equal(per[0][SP_SPLIT_TRAIN], 1); /* not taken by test */
    assert_int_equal(per[1][SP_SPLIT_TRAIN], 3); /* the cluster stays whole, in train */
    assert_int_equal(per[2][SP_SPLIT_VAL], 8);
    assert_int_equal(per[2][SP_SPLIT_TEST], 4);
    free(split);
    free_job(run);
}

static void test_split_by_counts(void **state)
{
    sp_ctx *ctx = *state;
    const char ini[] = "[run]\n[source]\npath = /nonexistent\n"
                       "[split]\nval_count = 5\ntest_count = 2\n"
                       "[train]\ntype = tar\ninput = split.train\n"
                       "[val]\ntype = tar\ninput = split.val\n"
                       "[test]\ntype = tar\ninput = split.test\n";
    const uint32_t counts[] = {50, 20, 6, 3};
    sp_job *run = plan_job(ctx, ini, counts, 4, NULL, SP_OK);
    uint8_t *split = splits_of(run);
    const sp_catalog *cat = &run->catalogs[0];
    uint64_t per[4][4] = {{0}};
    for (size_t i = 0; i < cat->nsamples; i++) per[cat->samples[i].label][split[i]]++;
    const uint64_t want[4][3] = {{43, 5, 2}, {13, 5, 2}, {1, 5, 0}, {1, 2, 0}};
    for (size_t c = 0; c < 4; c++)
        for (int k = 0; k < 3; k++) assert_int_equal(per[c][SP_SPLIT_TRAIN + k], want[c][k]);
    free(split);
    free_job(run);
}

/* Fractions rounded class by class never take a small class's last sample out of train
 * while train has a share (1 of 2 to val at 0.3 and 1 to test would leave it none); with
 * val + test = 1 train has no share and nothing is kept back. */
static void test_split_fractions_keep_train(void **state)
{
    sp_ctx *ctx = *state;
    const char ini[] = "[run]\n[source]\npath = /nonexistent\n"
                       "[split]\nval = 0.3\ntest = 0.3\n"
                       "[train]\ntype = tar\ninput = split.train\n"
                       "[val]\ntype = tar\ninput = split.val\n"
                       "[test]\ntype = tar\ninput = split.test\n";
    const uint32_t counts[] = {10, 2, 1};
    sp_job *run = plan_job(ctx, ini, counts, 3, NULL, SP_OK);
    uint8_t *split = splits_of(run);
    const sp_catalog *cat = &run->catalogs[0];
    uint64_t per[3][4] = {{0}};
    for (size_t i = 0; i < cat->nsamples; i++) per[cat->samples[i].label][split[i]]++;
    for (size_t c = 0; c < 3; c++) assert_true(per[c][SP_SPLIT_TRAIN] >= 1);
    assert_int_equal(per[0][SP_SPLIT_VAL], 3);
    assert_int_equal(per[0][SP_SPLIT_TEST], 3);
    free(split);
    free_job(run);

    const char all_out[] = "[run]\n[source]\npath = /nonexistent\n"
                           "[split]\nval = 0.5\ntest = 0.5\n"
                           "[train]\ntype = tar\ninput = split.train\n"
                           "[val]\ntype = tar\ninput = split.val\n"
                           "[test]\ntype = tar\ninput = split.test\n";
    const uint32_t four[] = {4};
    run = plan_job(ctx, all_out, four, 1, NULL, SP_OK);
    split = splits_of(run);
    uint64_t train = 0;
    for (size_t i = 0; i < run->catalogs[0].nsamples; i++) train += split[i] == SP_SPLIT_TRAIN;
    assert_int_equal(train, 0);
    free(split);
    free_job(run);
}

static void count_uses(const sp_job *run, const sp_sink_plan *sp, uint32_t *uses)
{
    memset(uses, 0, sizeof(uint32_t) * run->catalogs[0].nsamples);
    for (size_t i = 0; i < sp->recs.n; i++) uses[sp->recs.v[i].sample]++;
}

static void test_balance_spread_and_val_untouched(void **state)
{
    sp_ctx *ctx = *state;
    const char ini[] = "[run]\nseed = 9\n[source]\npath = /nonexistent\n"
                       "[split]\nval = 0.2\n"
                       "[balance]\ninput = split.train\nmode = both\ntarget = mean\n"
                       "[shuffle]\n[train]\ntype = tar\nmax_records = 50\nlayout = stratified\n"
                       "[val]\ntype = tar\ninput = split.val\n";
    const uint32_t counts[] = {500, 130, 37, 11, 3};
    sp_job *run = plan_job(ctx, ini, counts, 5, NULL, SP_OK);
    const sp_catalog *cat = &run->catalogs[0];
    uint32_t *uses = malloc(sizeof(uint32_t) * cat->nsamples);
    /* val: every val sample exactly once, copy 0. */
    const sp_sink_plan *val = sink(run, "val");
    count_uses(run, val, uses);
    for (size_t i = 0; i < val->recs.n; i++) assert_int_equal(val->recs.v[i].copy, 0);
    for (size_t i = 0; i < cat->nsamples; i++) assert_true(uses[i] <= 1);
    uint8_t in_val[681] = {0};
    for (size_t i = 0; i < val->recs.n; i++) in_val[val->recs.v[i].sample] = 1;
    /* train: every class at the mean of the train counts, each source ⌊k⌋ or ⌈k⌉ times. */
    const sp_sink_plan *tr = sink(run, "train");
    count_uses(run, tr, uses);
    uint64_t per[5] = {0}, srcs[5] = {0}, sum = 0;
    for (size_t i = 0; i < cat->nsamples; i++)
        if (!in_val[i]) srcs[cat->samples[i].label]++, sum++;
    uint64_t target = sum / 5;
    for (size_t i = 0; i < tr->recs.n; i++) per[label(run, &tr->recs.v[i])]++;
    for (size_t c = 0; c < 5; c++) assert_int_equal(per[c], target);
    for (size_t i = 0; i < cat->nsamples; i++) {
        if (in_val[i]) {
            assert_int_equal(uses[i], 0);
            continue;
        }
        uint64_t n = srcs[cat->samples[i].label];
        if (target >= n) {
            assert_true(uses[i] == target / n || uses[i] == (target + n - 1) / n);
        } else {
            assert_true(uses[i] <= 1);
        }
    }
    /* Copies of one source are numbered 0, 1, 2, ...: copy 0 is the plain sample. */
    for (size_t i = 0; i < tr->recs.n; i++) assert_true(tr->recs.v[i].copy < uses[tr->recs.v[i].sample]);
    /* Stratified: equal shard sizes (+-1) and each class's share in every shard (+-1). */
    assert_true(tr->nshards >= 2);
    for (size_t s = 0; s < tr->nshards; s++) {
        const sp_shard *sh = &tr->shards[s];
        assert_true(sh->count == tr->recs.n / tr->nshards ||
                    sh->count == tr->recs.n / tr->nshards + 1);
        uint64_t mix[5] = {0};
        for (size_t i = sh->first; i < sh->first + sh->count; i++) {
            assert_int_equal(tr->recs.v[i].shard, s);
            mix[label(run, &tr->recs.v[i])]++;
        }
        for (size_t c = 0; c < 5; c++)
            assert_true(mix[c] == target / tr->nshards ||
                        mix[c] == (target + tr->nshards - 1) / tr->nshards);
    }
    free(uses);
    free_job(run);
}

/* Class 0: samples 0..19, of which 2k and 2k+1 share cluster k+1 for k < 5 (5 pairs). */
static void plant_pairs(sp_sample *s, size_t i, size_t cls)
{
    if (cls == 0 && i < 10) s->cluster = (uint32_t)(1 + i / 2);
}

static void test_undersampling_drops_duplicates_first(void **state)
{
    sp_ctx *ctx = *state;
    const char ini[] = "[run]\nseed = 1\n[source]\npath = /nonexistent\n"
                       "[balance]\nmode = under\nstrategy = classes\nclasses = c000:15\n"
                       "[out]\ntype = tar\n";
    const uint32_t counts[] = {20, 4};
    sp_job *run = plan_job(ctx, ini, counts, 2, plant_pairs, SP_OK);
    const sp_sink_plan *out = sink(run, "out");
    uint32_t uses[24];
    count_uses(run, out, uses);
    /* 15 of 20 kept: the 5 dropped are one of each pair, never a sample without one. */
    uint32_t kept = 0;
    for (size_t i = 0; i < 20; i++) kept += uses[i];
    assert_int_equal(kept, 15);
    for (size_t k = 0; k < 5; k++) assert_int_equal(uses[2 * k] + uses[2 * k + 1], 1);
    for (size_t i = 10; i < 24; i++) assert_int_equal(uses[i], 1);
    free_job(run);
}

static void test_repeat_factor(void **state)
{
    sp_ctx *ctx = *state;
    /* f = 10/1000 for c001: r = sqrt(0.1 / 0.01) = 3.162...; c002 f = 1/1000: r = 10. */
    const char ini[] = "[run]\nseed = 4\n[source]\npath = /nonexistent\n"
                       "[balance]\nstrategy = repeat_factor\nthreshold = 0.1\n"
                       "[out]\ntype = tar\n";
    const uint32_t counts[] = {989, 10, 1};
    sp_job *run = plan_job(ctx, ini, counts, 3, NULL, SP_OK);
    uint32_t *uses = malloc(sizeof(uint32_t) * 1000);
    count_uses(run, sink(run, "out"), uses);
    double r1 = sqrt(0.1 / 0.01);
    uint32_t four = 0;
    for (size_t i = 0; i < 989; i++) assert_int_equal(uses[i], 1); /* f > t: r = 1 */
    for (size_t i = 989; i < 999; i++) {
        assert_true(uses[i] == (uint32_t)floor(r1) || uses[i] == (uint32_t)ceil(r1));
        four += uses[i] == 4;
    }
    assert_true(four >= 1 && four <= 5); /* ~16% of 10 draws round up */
    assert_int_equal(uses[999], 10);
    free(uses);
    free_job(run);
}

static void test_max_copies_caps(void **state)
{
    sp_ctx *ctx = *state;
    const char ini[] = "[run]\n[source]\npath = /nonexistent\n"
                       "[balance]\nmax_copies = 3\n[out]\ntype = tar\n";
    const uint32_t counts[] = {40, 5};
    sp_job *run = plan_job(ctx, ini, counts, 2, NULL, SP_OK);
    uint32_t uses[45];
    count_uses(run, sink(run, "out"), uses);
    for (size_t i = 40; i < 45; i++) assert_int_equal(uses[i], 3); /* 15 of the wanted 40 */
    free_job(run);
}

static void test_errors(void **state)
{
    sp_ctx *ctx = *state;
    const char ini[] = "[run]\n[source]\npath = /nonexistent\n"
                       "[balance]\nmode = over\nstrategy = classes\nclasses = c001:2\n"
                       "[out]\ntype = tar\n";
    const uint32_t counts[] = {40, 5};
    sp_job *run = plan_job(ctx, ini, counts, 2, NULL, SP_E_CONFIG);
    assert_non_null(strstr(sp_errmsg(ctx), "oversampling cannot remove samples"));
    assert_non_null(strstr(sp_errmsg(ctx), "[balance]"));
    free_job(run);
    sp_pipeline *pipe = NULL;
    assert_int_equal(sp_pipeline_load_string(ctx, "[source]\npath = x\n[balance]\nmode = over\n"
                                                  "strategy = majority\n[out]\ntype = tar\n",
                                             "bad.ini", NULL, 0, &pipe),
                     SP_E_CONFIG);
    assert_null(pipe);
}

static void test_targets(void **state)
{
    (void)state;
    const uint64_t counts[] = {48, 24, 12, 6};
    const char *names[] = {"a", "b", "c", "d"};
    uint64_t out[4];
    sp_error err;
    sp_sampling s = {.mode = SP_SAMPLE_BOTH, .strategy = SP_STRATEGY_TARGET,
                     .target = SP_TARGET_MEDIAN};
    assert_int_equal(sp_sampling_targets(&s, counts, names, 4, out, &err), SP_OK);
    for (int i = 0; i < 4; i++) assert_int_equal(out[i], 12); /* the lower middle */
    s.target = SP_TARGET_MEAN;
    s.mode = SP_SAMPLE_OVER;
    assert_int_equal(sp_sampling_targets(&s, counts, names, 4, out, &err), SP_OK);
    assert_int_equal(out[0], 48), assert_int_equal(out[1], 24), assert_int_equal(out[3], 22);
    /* power: the same total, shares ∝ sqrt(n). */
    s = (sp_sampling){.mode = SP_SAMPLE_BOTH, .strategy = SP_STRATEGY_POWER, .power = 0.5};
    assert_int_equal(sp_sampling_targets(&s, counts, names, 4, out, &err), SP_OK);
    uint64_t sum = 0;
    for (int i = 0; i < 4; i++) sum += out[i];
    assert_int_equal(sum, 90);
    double w = sqrt(48) + sqrt(24) + sqrt(12) + sqrt(6);
    for (int i = 0; i < 4; i++) assert_true(fabs((double)out[i] - 90 * sqrt((double)counts[i]) / w) < 1);
    s.power = 0; /* uniform over classes */
    assert_int_equal(sp_sampling_targets(&s, counts, names, 4, out, &err), SP_OK);
    for (int i = 0; i < 4; i++) assert_true(out[i] == 22 || out[i] == 23);
    /* LVIS: classes above the threshold repeat once. */
    assert_true(sp_repeat_factor(0.001, 0.5) == 1.0);
    assert_true(fabs(sp_repeat_factor(0.001, 0.00025) - 2.0) < 1e-12);
}

/* The radix sort against the definition: ordered by key, equal keys in input order. */
static void test_sort_keyed(void **state)
{
    (void)state;
    size_t n = 20000;
    sp_keyed *v = malloc(sizeof(sp_keyed) * n);
    sp_rng rng = sp_rng_for(7, "test", "sort", 0);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = sp_rng_u64(&rng);
        /* A third of the keys collide (few distinct values), some differ only in high or
         * only in low bits. */
        if (i % 3 == 0) k &= 0xf00000000000000full;
        v[i] = (sp_keyed){k, i};
    }
    assert_int_equal(sp_sort_keyed(v, n), SP_OK);
    for (size_t i = 1; i < n; i++) {
        assert_true(v[i - 1].key <= v[i].key);
        if (v[i - 1].key == v[i].key) assert_true(v[i - 1].val < v[i].val);
    }
    uint32_t idx[6] = {5, 4, 3, 2, 1, 0};
    const int32_t labels[6] = {2, 0, 1, 0, 2, 1};
    assert_int_equal(sp_sort_by_label(idx, 6, labels, 3), SP_OK);
    const uint32_t want[6] = {3, 1, 5, 2, 4, 0};
    assert_memory_equal(idx, want, sizeof(want));
    free(v);
}

/* The same plan on every run and at every thread count. */
static void test_deterministic(void **state)
{
    sp_ctx *ctx = *state;
    const char ini[] = "[run]\nseed = 11\n[source]\npath = /nonexistent\n"
                       "[split]\nval = 0.1\ntest = 0.1\n"
                       "[balance]\ninput = split.train\nmode = both\ntarget = median\n"
                       "[shuffle]\n[train]\ntype = tar\nmax_records = 64\nlayout = stratified\n"
                       "[val]\ntype = tar\ninput = split.val\nlayout = stratified\n";
    const uint32_t counts[] = {210, 77, 45, 8};
    sp_job *a = NULL;
    for (int t = 1; t <= 4; t++) {
        sp_ctx_set_threads(ctx, t);
        sp_job *b = plan_job(ctx, ini, counts, 4, plant_clusters, SP_OK);
        if (a) {
            assert_int_equal(a->nsinks, b->nsinks);
            for (size_t s = 0; s < a->nsinks; s++) {
                assert_int_equal(a->sinks[s].recs.n, b->sinks[s].recs.n);
                assert_memory_equal(a->sinks[s].recs.v, b->sinks[s].recs.v,
                                    sizeof(sp_record) * a->sinks[s].recs.n);
            }
            free_job(b);
        } else {
            a = b;
        }
    }
    free_job(a);
}

static int setup(void **state)
{
    sp_ctx *ctx;
    if (sp_ctx_new(&ctx) != SP_OK) return -1;
    sp_ctx_set_verbosity(ctx, SP_LOG_ERROR);
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    sp_ctx *ctx = *state;
    sp_ctx_free(&ctx);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clusters_stay_together),
        cmocka_unit_test(test_input_split_is_kept),
        cmocka_unit_test(test_missing_split_drawn_from_train),
        cmocka_unit_test(test_train_keeps_a_sample_despite_lumps),
        cmocka_unit_test(test_split_by_counts),
        cmocka_unit_test(test_split_fractions_keep_train),
        cmocka_unit_test(test_balance_spread_and_val_untouched),
        cmocka_unit_test(test_undersampling_drops_duplicates_first),
        cmocka_unit_test(test_repeat_factor),
        cmocka_unit_test(test_max_copies_caps),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_sort_keyed),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
