/*
 * Class-balancing arithmetic: the count each class ends with. The strategies with
 * imbalanced-learn's names follow its `sampling_strategy` rules exactly (same targets,
 * same tie rule, same refusals), so a config moved from a Python pipeline means the same
 * thing here; tests/compat/check_imblearn.py holds that against the real library.
 */
#include "sampling.h"

#include <math.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

const sp_enum_choice sp_sampling_mode_choices[] = {
    {SP_SAMPLE_OVER, "over", "raise classes below the target with copies"},
    {SP_SAMPLE_UNDER, "under", "cut classes above the target to a subset"},
    {SP_SAMPLE_BOTH, "both", "hybrid: over below the target, under above it"},
    {0, NULL, NULL},
};

const sp_enum_choice sp_sampling_strategy_choices[] = {
    {SP_STRATEGY_TARGET, "target", "every class moves to `target` (or `count`) as `mode` allows"},
    {SP_STRATEGY_AUTO, "auto", "imbalanced-learn: over = not_majority, under = not_minority"},
    {SP_STRATEGY_MINORITY, "minority", "imbalanced-learn: the minority class to the majority's "
                                       "count (over only)"},
    {SP_STRATEGY_MAJORITY, "majority", "imbalanced-learn: the majority class to the minority's "
                                       "count (under only)"},
    {SP_STRATEGY_NOT_MINORITY, "not_minority", "imbalanced-learn: every class but the minority"},
    {SP_STRATEGY_NOT_MAJORITY, "not_majority", "imbalanced-learn: every class but the majority"},
    {SP_STRATEGY_ALL, "all", "imbalanced-learn: every class"},
    {SP_STRATEGY_CLASSES, "classes", "imbalanced-learn's dict: the counts in `classes`; "
                                     "unlisted classes stay as they are"},
    {SP_STRATEGY_RATIO, "ratio", "over: each class at least floor(ratio x majority); under: each "
                                 "class at most floor(minority / ratio)"},
    {SP_STRATEGY_POWER, "power", "the same total, class c's share proportional to n_c^power "
                                 "(1 as is, 0.5 square root, 0 uniform)"},
    {SP_STRATEGY_REPEAT, "repeat_factor", "LVIS repeat-factor sampling: each sample of a class in "
                                          "a fraction f of the data repeats max(1, sqrt(threshold "
                                          "/ f)) times, stochastically rounded (over only)"},
    {0, NULL, NULL},
};

const sp_enum_choice sp_sampling_target_choices[] = {
    {SP_TARGET_MAX, "max", "the largest class's count"},
    {SP_TARGET_MIN, "min", "the smallest class's count"},
    {SP_TARGET_MEAN, "mean", "the mean count (rounded down)"},
    {SP_TARGET_MEDIAN, "median", "the median count (the lower middle for an even number)"},
    {0, NULL, NULL},
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The first class attaining the largest (or smallest) count: imbalanced-learn counts
 * sorted labels and takes Python's max/min, which keep the first of equals. */
static size_t first_extreme(const uint64_t *counts, size_t n, bool largest)
{
    size_t k = 0;
    for (size_t i = 1; i < n; i++)
        if (largest ? counts[i] > counts[k] : counts[i] < counts[k]) k = i;
    return k;
}

static uint64_t statistic(int target, const uint64_t *counts, size_t n)
{
    uint64_t *s = malloc(sizeof(uint64_t) * n);
    if (!s) return 0;
    memcpy(s, counts, sizeof(uint64_t) * n);
    qsort(s, n, sizeof(*s), cmp_u64);
    uint64_t sum = 0, r;
    for (size_t i = 0; i < n; i++) sum += s[i];
    switch (target) {
    case SP_TARGET_MIN: r = s[0]; break;
    case SP_TARGET_MEAN: r = sum / n; break;
    case SP_TARGET_MEDIAN: r = s[(n - 1) / 2]; break;
    default: r = s[n - 1]; break;
    }
    free(s);
    return r;
}

void sp_apportion(uint64_t total, const double *weights, size_t n, uint64_t *out)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += weights[i];
    uint64_t given = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = sum > 0 ? (uint64_t)floor((double)total * weights[i] / sum) : 0;
        given += out[i];
    }
    /* The rest, one each, to the largest remainders (the first of equals). Fewer than n. */
    while (given < total && sum > 0) {
        size_t best = 0;
        double br = -1;
        for (size_t i = 0; i < n; i++) {
            double rem = (double)total * weights[i] / sum - (double)out[i];
            if (rem > br) br = rem, best = i;
        }
        out[best]++;
        given++;
    }
}

double sp_repeat_factor(double threshold, double fraction)
{
    if (fraction <= 0) return 1.0;
    double r = sqrt(threshold / fraction);
    return r > 1.0 ? r : 1.0;
}

/* `classes = name:N, name:N` into out (unlisted classes keep their count). */
static int per_class(const sp_sampling *s, const uint64_t *counts, const char *const *names,
                     size_t n, uint64_t *out, sp_error *err)
{
    const char *p = s->classes ? s->classes : "";
    bool any = false;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        const char *end = p;
        while (*end && *end != ',') end++;
        const char *colon = NULL;
        for (const char *q = p; q < end; q++)
            if (*q == ':') colon = q; /* the last one: class names may hold a colon */
        if (!colon)
            return sp_fail(err, SP_E_CONFIG, "classes: '%.*s' is not NAME:COUNT", (int)(end - p), p);
        const char *ne = colon;
        while (ne > p && ne[-1] == ' ') ne--;
        char *num_end;
        errno = 0;
        unsigned long long v = strtoull(colon + 1, &num_end, 10);
        bool range = errno == ERANGE;
        while (*num_end == ' ') num_end++;
        if (num_end != end || colon[1] == '-' || colon + 1 == end)
            return sp_fail(err, SP_E_CONFIG, "classes: '%.*s' has no count (NAME:COUNT)",
                           (int)(end - p), p);
        /* The bound `count` has: a class of more records than that is a typo, and the
         * record arithmetic downstream stays far from overflow. */
        if (range || v > 1000000000ull)
            return sp_fail(err, SP_E_CONFIG, "classes: '%.*s': a count is at most 1000000000",
                           (int)(end - p), p);
        size_t k = n;
        for (size_t i = 0; i < n && k == n; i++)
            if (strlen(names[i]) == (size_t)(ne - p) && memcmp(names[i], p, (size_t)(ne - p)) == 0)
                k = i;
        if (k == n)
            return sp_fail(err, SP_E_CONFIG, "classes: class '%.*s' is not in the data",
                           (int)(ne - p), p);
        if (s->mode == SP_SAMPLE_OVER && v < counts[k])
            return sp_fail(err, SP_E_CONFIG, "classes: '%s' has %llu samples and %llu are "
                                             "asked; oversampling cannot remove samples",
                           names[k], (unsigned long long)counts[k], v);
        if (s->mode == SP_SAMPLE_UNDER && v > counts[k])
            return sp_fail(err, SP_E_CONFIG, "classes: '%s' has %llu samples and %llu are "
                                             "asked; undersampling cannot add samples",
                           names[k], (unsigned long long)counts[k], v);
        out[k] = v;
        any = true;
        p = end;
    }
    if (!any) return sp_fail(err, SP_E_CONFIG, "strategy = classes needs `classes = NAME:COUNT, ...`");
    return SP_OK;
}

int sp_sampling_targets(const sp_sampling *s, const uint64_t *counts, const char *const *names,
                        size_t n, uint64_t *out, sp_error *err)
{
    if (n == 0) return SP_OK;
    for (size_t i = 0; i < n; i++) out[i] = counts[i];
    size_t maj = first_extreme(counts, n, true), min = first_extreme(counts, n, false);
    uint64_t nmax = counts[maj], nmin = counts[min];
    bool over = s->mode == SP_SAMPLE_OVER, under = s->mode == SP_SAMPLE_UNDER;
    const char *mode_name = sp_sampling_mode_choices[s->mode].name;
    int st = s->strategy;
    if (st >= SP_STRATEGY_AUTO && st <= SP_STRATEGY_CLASSES && s->mode == SP_SAMPLE_BOTH)
        return sp_fail(err, SP_E_CONFIG, "strategy = %s goes one way, as in imbalanced-learn: "
                                         "mode = over or under, not both",
                       sp_sampling_strategy_choices[st].name);
    /* imbalanced-learn refuses a single class for every strategy it has (ours, target and
     * the rest, can still raise one class to a count). */
    if (n == 1 && ((st >= SP_STRATEGY_AUTO && st <= SP_STRATEGY_CLASSES) ||
                   st == SP_STRATEGY_RATIO))
        return sp_fail(err, SP_E_CONFIG, "strategy = %s needs more than one class, as in "
                                         "imbalanced-learn (the data has only '%s')",
                       sp_sampling_strategy_choices[st].name, names ? names[0] : "?");
    if (st == SP_STRATEGY_AUTO) st = over ? SP_STRATEGY_NOT_MAJORITY : SP_STRATEGY_NOT_MINORITY;
    uint64_t to = over ? nmax : nmin;
    switch (st) {
    case SP_STRATEGY_TARGET: {
        uint64_t t = s->count ? s->count : statistic(s->target, counts, n);
        if (t == 0) return sp_fail(err, SP_E_NOMEM, "out of memory"); /* counts are > 0 */
        for (size_t i = 0; i < n; i++)
            if ((counts[i] < t && !under) || (counts[i] > t && !over)) out[i] = t;
        return SP_OK;
    }
    case SP_STRATEGY_MINORITY:
        if (under)
            return sp_fail(err, SP_E_CONFIG, "strategy = minority cannot be used with mode = "
                                             "under (it would undersample the smallest class)");
        out[min] = to;
        return SP_OK;
    case SP_STRATEGY_MAJORITY:
        if (over)
            return sp_fail(err, SP_E_CONFIG, "strategy = majority cannot be used with mode = "
                                             "over (it would oversample the largest class)");
        out[maj] = to;
        return SP_OK;
    case SP_STRATEGY_NOT_MINORITY:
    case SP_STRATEGY_NOT_MAJORITY:
    case SP_STRATEGY_ALL:
        for (size_t i = 0; i < n; i++) {
            if (st == SP_STRATEGY_NOT_MINORITY && i == min) continue;
            if (st == SP_STRATEGY_NOT_MAJORITY && i == maj) continue;
            out[i] = to;
        }
        return SP_OK;
    case SP_STRATEGY_CLASSES:
        return per_class(s, counts, names, n, out, err);
    case SP_STRATEGY_RATIO: {
        if (!(s->ratio > 0 && s->ratio <= 1))
            return sp_fail(err, SP_E_CONFIG, "strategy = ratio needs 0 < ratio <= 1 (got %g)",
                           s->ratio);
        if (s->mode == SP_SAMPLE_BOTH)
            return sp_fail(err, SP_E_CONFIG, "strategy = ratio goes one way: mode = over "
                                             "(raise to ratio x majority) or under (cut to "
                                             "minority / ratio)");
        /* As Python's int(): the product or quotient in double precision, truncated. */
        uint64_t t = over ? (uint64_t)(s->ratio * (double)nmax) : (uint64_t)((double)nmin / s->ratio);
        /* Two classes: imbalanced-learn's float, errors included — a ratio that would not
         * grow the minority when oversampling, or would grow the majority when undersampling.
         * With more classes the ratio is a floor (over) or a ceiling (under) per class. */
        if (n == 2 && over && t <= nmin)
            return sp_fail(err, SP_E_CONFIG, "strategy = ratio: %g x %llu (the majority) = %llu "
                                             "adds nothing to the minority's %llu (imbalanced-"
                                             "learn refuses it too; raise ratio)",
                           s->ratio, (unsigned long long)nmax, (unsigned long long)t,
                           (unsigned long long)nmin);
        if (n == 2 && under && t > nmax)
            return sp_fail(err, SP_E_CONFIG, "strategy = ratio: %llu (the minority) / %g = %llu "
                                             "is over the majority's %llu; undersampling cannot "
                                             "add samples (raise ratio)",
                           (unsigned long long)nmin, s->ratio, (unsigned long long)t,
                           (unsigned long long)nmax);
        for (size_t i = 0; i < n; i++)
            if (over ? counts[i] < t : counts[i] > t) out[i] = t;
        return SP_OK;
    }
    case SP_STRATEGY_POWER: {
        double *w = malloc(sizeof(double) * n);
        if (!w) return sp_fail(err, SP_E_NOMEM, "out of memory");
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++) {
            w[i] = pow((double)counts[i], s->power);
            total += counts[i];
        }
        sp_apportion(total, w, n, out);
        free(w);
        for (size_t i = 0; i < n; i++)
            if ((over && out[i] < counts[i]) || (under && out[i] > counts[i])) out[i] = counts[i];
        return SP_OK;
    }
    case SP_STRATEGY_REPEAT:
        if (!over)
            return sp_fail(err, SP_E_CONFIG, "strategy = repeat_factor only repeats samples: "
                                             "mode = over, not %s", mode_name);
        return SP_OK; /* per sample: the stage draws */
    }
    return sp_fail(err, SP_E_INTERNAL, "unknown strategy %d", s->strategy);
}
