/*
 * Groups of pixel stages: one_of, some_of and sequence. A group names member sections in
 * `stages`; the members are ordinary pixel stages with their own options, p and per-class
 * values, but they are not in the flow: they run only as the group's parts.
 *
 *   [aug]
 *   type = one_of
 *   stages = flip, jitter, rot
 *   weights = 2, 1, 1        ; relative; default all equal
 *
 *   [flip]
 *   type = hflip
 *   ...
 *
 * one_of picks one member by weight; some_of picks n distinct members by weight and runs
 * them in the order they are listed; sequence runs every member in order (each still
 * subject to its own p). The three share one file because they are one mechanism with
 * three selection rules: a choice drawn from the group's stream, then members run with
 * theirs. The record's .json notes which members ran and what each drew.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_MAX 64

typedef struct group_opts {
    char *stages;
    char *weights;
    int64_t n;
    /* Set by link(), not options: */
    const sp_stage *members[GROUP_MAX];
    double w[GROUP_MAX];
    size_t nmembers;
} group_opts;

#define OFF(f) offsetof(group_opts, f)
static const sp_option one_of_options[] = {
    {"stages", "member sections, comma-separated", OFF(stages), SP_OPT_STRING, NULL, 0, 0, NULL,
     SP_OPT_REQUIRED},
    {"weights", "relative weights of the members, comma-separated; empty: all equal",
     OFF(weights), SP_OPT_STRING, "", 0, 0, NULL, 0},
    SP_OPT_END,
};
static const sp_option some_of_options[] = {
    {"stages", "member sections, comma-separated", OFF(stages), SP_OPT_STRING, NULL, 0, 0, NULL,
     SP_OPT_REQUIRED},
    {"weights", "relative weights of the members, comma-separated; empty: all equal",
     OFF(weights), SP_OPT_STRING, "", 0, 0, NULL, 0},
    {"n", "how many distinct members act on each record", OFF(n), SP_OPT_INT, "2", 1, 64, NULL,
     0},
    SP_OPT_END,
};
static const sp_option sequence_options[] = {
    {"stages", "member sections, comma-separated, in the order they run", OFF(stages),
     SP_OPT_STRING, NULL, 0, 0, NULL, SP_OPT_REQUIRED},
    SP_OPT_END,
};

static int group_link(void *opts, const sp_stage *const *members, size_t n, sp_error *err)
{
    group_opts *o = opts;
    o->nmembers = n;
    for (size_t i = 0; i < n; i++) {
        o->members[i] = members[i];
        o->w[i] = 1.0;
    }
    if (o->n > (int64_t)n)
        return sp_fail(err, SP_E_CONFIG, "n = %lld, but the group has %zu members",
                       (long long)o->n, n);
    if (!o->weights || !o->weights[0]) return SP_OK;
    const char *s = o->weights;
    size_t k = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v) || v < 0)
            return sp_fail(err, SP_E_CONFIG, "weights = %s: '%s' is not a weight >= 0",
                           o->weights, s);
        if (k < n) o->w[k] = v;
        k++;
        s = end;
        while (*s == ' ' || *s == '\t') s++;
        if (*s == ',') s++;
        while (*s == ' ' || *s == '\t') s++;
    }
    if (k != n)
        return sp_fail(err, SP_E_CONFIG, "weights = %s has %zu values for %zu members",
                       o->weights, k, n);
    /* Relative to the largest, so no sum overflows (1e308 twice is infinity, and a draw
     * against an infinite total always fell through to the last member). */
    double top = 0;
    for (size_t i = 0; i < n; i++) top = o->w[i] > top ? o->w[i] : top;
    if (!(top > 0)) return sp_fail(err, SP_E_CONFIG, "weights = %s add up to 0", o->weights);
    size_t positive = 0;
    for (size_t i = 0; i < n; i++) {
        o->w[i] /= top;
        positive += o->w[i] > 0;
    }
    /* some_of runs n distinct members: members of weight 0 are never drawn. */
    if (o->n > (int64_t)positive)
        return sp_fail(err, SP_E_CONFIG, "n = %lld, but %zu of its members have a weight above "
                                         "0 (weights = %s)",
                       (long long)o->n, positive, o->weights);
    return SP_OK;
}

/* Draws one index among the members not yet taken, by weight. */
static size_t draw(const group_opts *o, const bool *taken, sp_pixel_ctx *pc)
{
    double sum = 0;
    for (size_t i = 0; i < o->nmembers; i++) sum += taken[i] ? 0 : o->w[i];
    double u = sp_px_uniform(pc) * sum;
    size_t last = 0;
    for (size_t i = 0; i < o->nmembers; i++) {
        if (taken[i] || o->w[i] <= 0) continue;
        last = i;
        if (u < o->w[i]) return i;
        u -= o->w[i];
    }
    return last; /* rounding at the top end */
}

static int run_chosen(const group_opts *o, const bool *chosen, sp_image *img, sp_pixel_ctx *pc,
                      sp_error *err)
{
    int rc = SP_OK;
    for (size_t i = 0; rc == SP_OK && i < o->nmembers; i++)
        if (chosen[i]) rc = sp_pixel_run_member(pc, o->members[i], img, err);
    return rc;
}

static int one_of_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const group_opts *o = opts;
    bool chosen[GROUP_MAX] = {false};
    chosen[draw(o, chosen, pc)] = true;
    return run_chosen(o, chosen, img, pc, err);
}

static int some_of_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const group_opts *o = opts;
    bool chosen[GROUP_MAX] = {false};
    size_t positive = 0;
    for (size_t i = 0; i < o->nmembers; i++) positive += o->w[i] > 0;
    for (int64_t k = 0; k < o->n && (size_t)k < positive; k++) chosen[draw(o, chosen, pc)] = true;
    return run_chosen(o, chosen, img, pc, err);
}

static int sequence_process(const void *opts, sp_image *img, sp_pixel_ctx *pc, sp_error *err)
{
    const group_opts *o = opts;
    bool all[GROUP_MAX];
    for (size_t i = 0; i < GROUP_MAX; i++) all[i] = true;
    return run_chosen(o, all, img, pc, err);
}

/* Which members act on a record is drawn, so a group keeps the size only if every
 * member does; otherwise the size depends on the draws (0, 0). */
static void group_out_size(const void *opts, uint32_t *w, uint32_t *h)
{
    const group_opts *o = opts;
    for (size_t i = 0; i < o->nmembers; i++) {
        const sp_stage *m = o->members[i];
        if (!m->desc->out_size) continue;
        uint32_t mw = *w, mh = *h;
        m->desc->out_size(m->opts, &mw, &mh);
        if (mw != *w || mh != *h) {
            *w = *h = 0;
            return;
        }
    }
}

const sp_stage_desc sp_stage_one_of = {
    .name = "one_of",
    .help = "run one of its member stages, picked by weight",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(group_opts),
    .options = one_of_options,
    .process = one_of_process,
    .out_size = group_out_size,
    .link = group_link,
};

const sp_stage_desc sp_stage_some_of = {
    .name = "some_of",
    .help = "run n distinct member stages, picked by weight, in the order listed",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(group_opts),
    .options = some_of_options,
    .process = some_of_process,
    .out_size = group_out_size,
    .link = group_link,
};

const sp_stage_desc sp_stage_sequence = {
    .name = "sequence",
    .help = "run every member stage in order (each with its own p)",
    .kind = SP_STAGE_PIXEL,
    .flags = SP_PIXEL_RANDOM,
    .opts_size = sizeof(group_opts),
    .options = sequence_options,
    .process = sequence_process,
    .out_size = group_out_size,
    .link = group_link,
};
