/*
 * The arithmetic of class balancing (src/sampling.c): how many records each class ends
 * with, from the class counts and a strategy. Counts only: the balance stage turns the
 * targets into uses per source, and tests drive these functions directly (the targets are
 * compared with imbalanced-learn's).
 */
#ifndef SP_SAMPLING_H
#define SP_SAMPLING_H

#include "internal.h"

/* Which way classes may move. */
enum { SP_SAMPLE_OVER = 0, SP_SAMPLE_UNDER = 1, SP_SAMPLE_BOTH = 2 };

/* How the targets are chosen. */
enum {
    SP_STRATEGY_TARGET = 0,   /* every class moves to a statistic (`target`) or `count` */
    SP_STRATEGY_AUTO,         /* imbalanced-learn's names, with its semantics: */
    SP_STRATEGY_MINORITY,     /*   over: `not majority`; under: `not minority` */
    SP_STRATEGY_MAJORITY,
    SP_STRATEGY_NOT_MINORITY,
    SP_STRATEGY_NOT_MAJORITY,
    SP_STRATEGY_ALL,
    SP_STRATEGY_CLASSES,      /* imbalanced-learn's dict: `classes = name:N, ...` */
    SP_STRATEGY_RATIO,        /* over: each class >= ⌊ratio × majority⌋; under: each class
                                 <= ⌊minority / ratio⌋ (imbalanced-learn's float, binary) */
    SP_STRATEGY_POWER,        /* p_c ∝ n_c^q over the same total */
    SP_STRATEGY_REPEAT,       /* LVIS repeat-factor sampling: per sample, not per class */
};

enum { SP_TARGET_MAX = 0, SP_TARGET_MIN, SP_TARGET_MEAN, SP_TARGET_MEDIAN };

extern const sp_enum_choice sp_sampling_mode_choices[];
extern const sp_enum_choice sp_sampling_strategy_choices[];
extern const sp_enum_choice sp_sampling_target_choices[];

typedef struct sp_sampling {
    int mode;            /* SP_SAMPLE_* */
    int strategy;        /* SP_STRATEGY_* */
    int target;          /* SP_TARGET_*, for SP_STRATEGY_TARGET */
    uint64_t count;      /* an explicit target instead of `target` (0: none) */
    double ratio;        /* SP_STRATEGY_RATIO, in (0, 1] */
    double power;        /* SP_STRATEGY_POWER: q */
    const char *classes; /* SP_STRATEGY_CLASSES: "name:N, name:N" */
} sp_sampling;

/* The final count of every class. counts[i] > 0 is the count of class names[i]; classes
 * are in label order (ties for majority and minority go to the first). A strategy that
 * does not apply (over `majority`, under `minority`, a count on the wrong side of a
 * class's size, an unknown class) is SP_E_CONFIG with the reason, as imbalanced-learn
 * raises. SP_STRATEGY_REPEAT has no class targets: use sp_repeat_factor. */
int sp_sampling_targets(const sp_sampling *s, const uint64_t *counts, const char *const *names,
                        size_t n, uint64_t *out, sp_error *err);

/* LVIS: r(c) = max(1, sqrt(t / f(c))) for a class in a fraction f of the images. */
double sp_repeat_factor(double threshold, double fraction);

/* Splits `total` into n whole parts proportional to weights (largest remainder; ties to
 * the first). */
void sp_apportion(uint64_t total, const double *weights, size_t n, uint64_t *out);


/* A sort key and what it belongs to. */
typedef struct sp_keyed {
    uint64_t key;
    uint64_t val;
} sp_keyed;

/* Sorts by key, stably (equal keys keep their order), in linear time: an LSD radix sort
 * of 11-bit digits. The plan sorts a million records by random keys several times; this
 * is what keeps that cheap. Returns SP_E_NOMEM if the scratch copy cannot be had. */
int sp_sort_keyed(sp_keyed *v, size_t n);

/* Orders idx[0..n) (values below nlabels) stably by labels[idx[i]]: a counting sort. */
int sp_sort_by_label(uint32_t *idx, size_t n, const int32_t *labels, size_t nlabels);
#endif
