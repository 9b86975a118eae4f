/*
 * Stand-ins for samples that fail in the build. A sample can scan fine (its header is
 * sound) and still fail to decode; its records are then written from other samples of
 * its class in the same sink, so corruption never leaves a class short of the count the
 * plan balanced it to. Which sample stands in is a pure function of the plan and the
 * seed: candidates in (class, source, path) order from a start drawn from (seed,
 * "substitute", the bad sample's path, copy) — never of the thread count or of which
 * records happened to fail first.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct cand {
    int32_t label;
    uint32_t source, sample;
} cand;

struct sp_subst_pool {
    size_t sink; /* the sink it lists; SIZE_MAX before the first need */
    cand *v;     /* the sink's distinct samples, by (label, source, sample) */
    size_t n;
};

sp_subst_pool *sp_subst_pool_new(void)
{
    sp_subst_pool *p = calloc(1, sizeof(*p));
    if (p) p->sink = SIZE_MAX;
    return p;
}

void sp_subst_pool_free(sp_subst_pool **pool)
{
    if (!*pool) return;
    free((*pool)->v);
    free(*pool);
    *pool = NULL;
}

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->label != y->label) return x->label < y->label ? -1 : 1;
    if (x->source != y->source) return x->source < y->source ? -1 : 1;
    return x->sample < y->sample ? -1 : x->sample > y->sample;
}

static cand cand_of(const sp_job *run, uint32_t source, uint32_t sample)
{
    const sp_catalog *cat = &run->catalogs[source];
    return (cand){cat->to_global[cat->samples[sample].label], source, sample};
}

static int pool_make(const sp_job *run, size_t s, sp_subst_pool *pool)
{
    const sp_sink_plan *sp = &run->sinks[s];
    free(pool->v);
    pool->sink = s;
    pool->n = 0;
    if (!(pool->v = malloc(sizeof(cand) * (sp->recs.n ? sp->recs.n : 1)))) return SP_E_NOMEM;
    for (size_t i = 0; i < sp->recs.n; i++)
        pool->v[pool->n++] = cand_of(run, sp->recs.v[i].source, sp->recs.v[i].sample);
    qsort(pool->v, pool->n, sizeof(cand), cmp_cand);
    size_t u = 0;
    for (size_t i = 0; i < pool->n; i++)
        if (u == 0 || cmp_cand(&pool->v[u - 1], &pool->v[i]) != 0) pool->v[u++] = pool->v[i];
    pool->n = u;
    return SP_OK;
}

int sp_subst_candidate(const sp_job *run, size_t s, sp_subst_pool *pool, const sp_record *bad,
                       size_t t, sp_record *by)
{
    if (pool->sink != s && pool_make(run, s, pool) != SP_OK) return SP_E_NOMEM;
    cand me = cand_of(run, bad->source, bad->sample);
    size_t lo = 0, hi = pool->n;
    while (lo < hi) { /* the first of the class */
        size_t mid = lo + (hi - lo) / 2;
        if (pool->v[mid].label < me.label) lo = mid + 1;
        else hi = mid;
    }
    size_t end = lo;
    while (end < pool->n && pool->v[end].label == me.label) end++;
    size_t m = end - lo;
    if (m < 2 || t >= m - 1) return 0;
    sp_rng rng = sp_rng_for((uint64_t)run->pipe->run.seed, "substitute",
                            sp_run_sample(run, bad)->path, bad->copy);
    size_t start = (size_t)(sp_rng_u64(&rng) % m);
    /* The stand-in is a variant of its sample, never a copy of a record made from it: its
     * own copy number, drawn above every copy a balance stage makes, gives the branch's
     * random stages a stream of their own. */
    uint32_t copy = 0x40000000u | (uint32_t)(sp_rng_u64(&rng) >> 34);
    for (size_t j = 0, k = 0; j < m; j++) {
        const cand *c = &pool->v[lo + (start + j) % m];
        if (cmp_cand(c, &me) == 0) continue;
        if (k++ < t) continue;
        *by = *bad;
        by->source = c->source;
        by->sample = c->sample;
        by->copy = copy;
        return 1;
    }
    return 0;
}

int sp_run_add_subst(sp_job *run, size_t s, const sp_record *bad, const sp_record *by)
{
    if (run->nsubsts == run->capsubsts) {
        size_t cap = run->capsubsts ? run->capsubsts * 2 : 16;
        sp_subst *v = realloc(run->substs, cap * sizeof(*v));
        if (!v) return SP_E_NOMEM;
        run->substs = v;
        run->capsubsts = cap;
    }
    run->substs[run->nsubsts++] =
        (sp_subst){(uint32_t)s, bad->source, bad->sample, bad->copy, by->source, by->sample,
                   by->copy};
    return SP_OK;
}

int sp_subst_class_each(const sp_job *run, size_t s, sp_subst_pool *pool, int32_t label,
                        void (*fn)(void *arg, uint32_t source, uint32_t sample), void *arg)
{
    if (pool->sink != s && pool_make(run, s, pool) != SP_OK) return SP_E_NOMEM;
    for (size_t i = 0; i < pool->n; i++)
        if (pool->v[i].label == label) fn(arg, pool->v[i].source, pool->v[i].sample);
    return SP_OK;
}
