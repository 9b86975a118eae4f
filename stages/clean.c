/*
 * clean — drop what should not be trained on: exact and near duplicates, images too
 * small, too large or too elongated, and (with verify = decode) files that do not decode.
 *
 *   [clean]
 *   verify = decode          ; header (cheap) | decode (every image decoded once at scan)
 *   duplicates = drop        ; the same bytes twice: keep the first in path order
 *   near_duplicates = drop   ; drop | keep | off: perceptual near-copies
 *   max_distance = 4         ; bits two 64-bit perceptual hashes may differ by
 *   min_width = 32
 *   min_height = 32
 *   max_aspect = 4           ; longer side / shorter side; 0 = no limit
 *
 * Everything it decides on was gathered by the scan, in parallel and cached: the content
 * hash (XXH3-128), the header's size, and — when a clean stage asks for them — a full
 * decode and a perceptual hash (src/phash.c). Planning stays metadata only.
 *
 * Near duplicates: two samples whose hashes differ in at most max_distance bits are
 * linked, and linked samples form a cluster (union-find, so links chain). A cluster keeps
 * its first sample in path order (sources in config order, then path); the others are
 * dropped, or kept with near_duplicates = keep. Either way every member is marked with the
 * cluster's id (sp_sample.cluster), so a split stage after this one puts a cluster in one
 * split: a near-copy in val of an image in train is leakage. Clusters are listed in the
 * manifest and the report.
 *
 * Comparisons: not all pairs. A hash is cut into max_distance + 1 bands; two hashes within
 * max_distance bits agree on at least one band (pigeonhole), so only samples that share a
 * band value are compared.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

enum { VERIFY_HEADER, VERIFY_DECODE };
enum { DUP_DROP, DUP_KEEP, DUP_OFF };

typedef struct clean_opts {
    int verify;
    int duplicates;
    int near_duplicates;
    int64_t max_distance;
    int64_t min_width, min_height, max_width, max_height;
    double max_aspect;
} clean_opts;

static const sp_enum_choice verify_choices[] = {
    {VERIFY_HEADER, "header", "the header must read (size, format): cheap"},
    {VERIFY_DECODE, "decode", "every image is decoded fully once at scan: damage anywhere "
                              "in the file is found before the build"},
    {0, NULL, NULL},
};

static const sp_enum_choice dup_choices[] = {
    {DUP_DROP, "drop", "keep the first in path order, drop the others"},
    {DUP_KEEP, "keep", "keep them all, marked as one cluster (a split keeps it together)"},
    {0, NULL, NULL},
};

static const sp_enum_choice near_choices[] = {
    {DUP_DROP, "drop", "keep the first of a cluster in path order, drop the others"},
    {DUP_KEEP, "keep", "keep them all, marked as one cluster (a split keeps it together)"},
    {DUP_OFF, "off", "no perceptual hashing (the scan does not decode for it)"},
    {0, NULL, NULL},
};

#define OFF(f) offsetof(clean_opts, f)
static const sp_option clean_options[] = {
    {"verify", "how a sample proves it is an image", OFF(verify), SP_OPT_ENUM, "header", 1, 0,
     verify_choices, 0},
    {"duplicates", "samples with the same bytes (content hash)", OFF(duplicates), SP_OPT_ENUM,
     "drop", 1, 0, dup_choices, 0},
    {"near_duplicates", "samples whose perceptual hashes are within max_distance bits",
     OFF(near_duplicates), SP_OPT_ENUM, "drop", 1, 0, near_choices, 0},
    {"max_distance", "most differing bits (Hamming distance) of two 64-bit perceptual hashes "
                     "that makes them near duplicates",
     OFF(max_distance), SP_OPT_INT, "4", 0, 16, NULL, 0},
    {"min_width", "narrower images are dropped (too_small); 0 = no limit", OFF(min_width),
     SP_OPT_INT, "0", 0, 1000000, NULL, 0},
    {"min_height", "lower images are dropped (too_small); 0 = no limit", OFF(min_height),
     SP_OPT_INT, "0", 0, 1000000, NULL, 0},
    {"max_width", "wider images are dropped (too_large); 0 = no limit", OFF(max_width),
     SP_OPT_INT, "0", 0, 1000000, NULL, 0},
    {"max_height", "taller images are dropped (too_large); 0 = no limit", OFF(max_height),
     SP_OPT_INT, "0", 0, 1000000, NULL, 0},
    {"max_aspect", "longer side / shorter side above which an image is dropped (bad_aspect); "
                   "0 = no limit",
     OFF(max_aspect), SP_OPT_DOUBLE, "0", 0, 1e6, NULL, 0},
    SP_OPT_END,
};

void sp_clean_scan_needs(const sp_pipeline *p, sp_scan_needs *needs)
{
    needs->decode = needs->phash = false;
    for (size_t i = 0; i < p->nstages; i++) {
        if (p->stages[i].desc != &sp_stage_clean) continue;
        const clean_opts *o = p->stages[i].opts;
        needs->decode |= o->verify == VERIFY_DECODE;
        needs->phash |= o->near_duplicates != DUP_OFF;
    }
}

/* ---- grouping: union-find over samples, shared with `shardpack inspect` ------------- */

static uint32_t find(uint32_t *parent, uint32_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]]; /* path halving */
        i = parent[i];
    }
    return i;
}

/* The root is the smaller index, so a group's root is its first member in path order. */
static void unite(uint32_t *parent, uint32_t a, uint32_t b)
{
    a = find(parent, a);
    b = find(parent, b);
    if (a != b) parent[a < b ? b : a] = a < b ? a : b;
}

/* Sort keys for grouping: a 64-bit key, then the index (a total, stable order). */
typedef struct keyed {
    uint64_t key;
    uint32_t i;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Sort key for exact grouping: the whole content hash, then the index. */
typedef struct hashed {
    uint64_t hi, lo;
    uint32_t i;
} hashed;

static int cmp_hashed(const void *a, const void *b)
{
    const hashed *x = a, *y = b;
    if (x->hi != y->hi) return x->hi < y->hi ? -1 : 1;
    if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* A band bucket larger than this (distinct perceptual hashes sharing one band's bits) is
 * not compared pair by pair, which is quadratic: sorted by the whole hash, each hash is
 * compared with the BUCKET_CAP before it. Hashes that differ only in lower bits sort
 * close, and a pair is still compared in any other band it shares whose bucket is small
 * (at most BUCKET_CAP, all pairs compared): a near pair
 * can be missed only when every band it shares holds over BUCKET_CAP distinct hashes,
 * which takes thousands of images made to collide. Deterministic: the order is the
 * hashes' and the samples' (path) order. */
#define BUCKET_CAP 4096

int sp_dup_groups(const sp_sample *const *s, size_t n, int max_distance, uint32_t *root)
{
    return sp_dup_groups_exact(s, n, max_distance, root, NULL);
}

int sp_dup_groups_exact(const sp_sample *const *s, size_t n, int max_distance, uint32_t *root,
                        uint32_t *exact)
{
    keyed *k = malloc(sizeof(keyed) * (n ? n : 1));
    hashed *h = malloc(sizeof(hashed) * (n ? n : 1));
    if (!k || !h) {
        free(k), free(h);
        return SP_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) root[i] = (uint32_t)i;
    /* Exact: equal content hashes, adjacent once sorted on the whole hash. */
    for (size_t i = 0; i < n; i++) h[i] = (hashed){s[i]->hash.hi, s[i]->hash.lo, (uint32_t)i};
    qsort(h, n, sizeof(hashed), cmp_hashed);
    for (size_t i = 1; i < n; i++)
        if (h[i].hi == h[i - 1].hi && h[i].lo == h[i - 1].lo) unite(root, h[i].i, h[i - 1].i);
    free(h);
    if (exact)
        for (size_t i = 0; i < n; i++) exact[i] = find(root, (uint32_t)i);
    /* Near. Equal perceptual hashes first (many blank or near-blank images share one):
     * they are linked in one pass, and only one of each value takes part below. */
    unsigned bands = max_distance >= 0 ? (unsigned)max_distance + 1 : 0;
    uint32_t *rep = bands ? malloc(sizeof(uint32_t) * (n ? n : 1)) : NULL;
    size_t nrep = 0;
    if (bands && !rep) {
        free(k);
        return SP_E_NOMEM;
    }
    if (bands) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i]->has_phash) k[m++] = (keyed){s[i]->phash, (uint32_t)i};
        qsort(k, m, sizeof(keyed), cmp_keyed);
        for (size_t i = 0; i < m; i++) {
            if (i && k[i].key == k[i - 1].key) unite(root, k[i].i, k[i - 1].i);
            else rep[nrep++] = k[i].i;
        }
    }
    /* Hashes within max_distance bits share one of max_distance + 1 bands (pigeonhole). */
    for (unsigned band = 0; band < bands; band++) {
        unsigned lo = band * 64 / bands, hi = (band + 1) * 64 / bands;
        uint64_t mask = hi - lo >= 64 ? ~0ull : ((1ull << (hi - lo)) - 1) << lo;
        size_t m = 0;
        for (size_t r = 0; r < nrep; r++) k[m++] = (keyed){s[rep[r]]->phash & mask, rep[r]};
        qsort(k, m, sizeof(keyed), cmp_keyed);
        for (size_t a = 0; a < m;) {
            size_t b = a + 1;
            while (b < m && k[b].key == k[a].key) b++;
            /* The bucket's hashes in the keys: compared without a pointer chase each. */
            for (size_t i = a; i < b; i++) k[i].key = s[k[i].i]->phash;
            if (b - a > BUCKET_CAP) qsort(k + a, b - a, sizeof(keyed), cmp_keyed);
            for (size_t i = a + 1; i < b; i++)
                for (size_t j = i - a > BUCKET_CAP ? i - BUCKET_CAP : a; j < i; j++)
                    if (sp_popcount64(k[i].key ^ k[j].key) <= max_distance)
                        unite(root, k[i].i, k[j].i);
            a = b;
        }
    }
    for (size_t i = 0; i < n; i++) root[i] = find(root, (uint32_t)i);
    free(rep);
    free(k);
    return SP_OK;
}

int sp_clean_max_distance(const sp_pipeline *p)
{
    for (size_t i = 0; i < p->nstages; i++) {
        const clean_opts *o = p->stages[i].opts;
        if (p->stages[i].desc == &sp_stage_clean && o->near_duplicates != DUP_OFF)
            return (int)o->max_distance;
    }
    return -1;
}

/* A sample the records refer to: each is judged once, however many copies it has. */
typedef struct unit {
    uint32_t source, sample;
    const sp_sample *s;
    int code;         /* SP_OK, or why it is dropped */
    uint32_t cluster; /* assigned id, 0 if alone */
    uint32_t first;   /* the cluster's first unit */
    uint32_t same;    /* the first unit with the same bytes (itself if none before) */
} unit;

static int cmp_identity(const void *a, const void *b)
{
    const unit *x = a, *y = b;
    if (x->source != y->source) return x->source < y->source ? -1 : 1;
    return x->sample < y->sample ? -1 : x->sample > y->sample;
}

static const char *size_problem(const clean_opts *o, const sp_sample *s, int *code, char *buf,
                                size_t size)
{
    uint32_t w = s->info.width, h = s->info.height;
    if ((o->min_width && w < (uint64_t)o->min_width) ||
        (o->min_height && h < (uint64_t)o->min_height)) {
        *code = SP_E_TOO_SMALL;
        snprintf(buf, size, "%ux%u is under the minimum %lldx%lld", w, h,
                 (long long)o->min_width, (long long)o->min_height);
    } else if ((o->max_width && w > (uint64_t)o->max_width) ||
               (o->max_height && h > (uint64_t)o->max_height)) {
        *code = SP_E_TOO_LARGE;
        snprintf(buf, size, "%ux%u is over the maximum %lldx%lld", w, h,
                 (long long)o->max_width, (long long)o->max_height);
    } else if (o->max_aspect > 0 && w && h &&
               (double)(w > h ? w : h) / (double)(w > h ? h : w) > o->max_aspect) {
        *code = SP_E_ASPECT;
        snprintf(buf, size, "%ux%u has an aspect ratio of %.2f, over %g", w, h,
                 (double)(w > h ? w : h) / (double)(w > h ? h : w), o->max_aspect);
    } else {
        return NULL;
    }
    return buf;
}

/* Groups the units that passed the size checks; sets each one's `first`. */
static int link_units(const clean_opts *o, unit *u, size_t n)
{
    const sp_sample **s = malloc(sizeof(*s) * (n ? n : 1));
    uint32_t *idx = malloc(sizeof(uint32_t) * (n ? n : 1));
    uint32_t *root = malloc(sizeof(uint32_t) * (n ? n : 1));
    uint32_t *exact = malloc(sizeof(uint32_t) * (n ? n : 1));
    int rc = s && idx && root && exact ? SP_OK : SP_E_NOMEM;
    size_t m = 0;
    for (size_t i = 0; rc == SP_OK && i < n; i++)
        if (u[i].code == SP_OK) {
            idx[m] = (uint32_t)i;
            s[m++] = u[i].s;
        }
    if (rc == SP_OK)
        rc = sp_dup_groups_exact(s, m, o->near_duplicates == DUP_OFF ? -1 : (int)o->max_distance,
                                 root, exact);
    for (size_t j = 0; rc == SP_OK && j < m; j++) {
        u[idx[j]].first = idx[root[j]];
        u[idx[j]].same = idx[exact[j]];
    }
    free(exact);
    free(s);
    free(idx);
    free(root);
    return rc;
}

static int clean_plan(const sp_stage_env *env, const void *opts, sp_recvec *recs, sp_error *err)
{
    const clean_opts *o = opts;
    sp_job *run = env->run;
    unit *u = malloc(sizeof(unit) * (recs->n ? recs->n : 1));
    if (!u) return sp_fail(err, SP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < recs->n; i++)
        u[i] = (unit){.source = recs->v[i].source, .sample = recs->v[i].sample};
    qsort(u, recs->n, sizeof(unit), cmp_identity);
    size_t n = 0;
    for (size_t i = 0; i < recs->n; i++)
        if (n == 0 || cmp_identity(&u[n - 1], &u[i]) != 0) u[n++] = u[i];
    char detail[512];
    for (size_t i = 0; i < n; i++) {
        u[i].s = &run->catalogs[u[i].source].samples[u[i].sample];
        u[i].first = u[i].same = (uint32_t)i;
        u[i].cluster = 0;
        u[i].code = SP_OK;
        size_problem(o, u[i].s, &u[i].code, detail, sizeof(detail));
    }
    int rc = link_units(o, u, n) == SP_OK ? SP_OK : sp_fail(err, SP_E_NOMEM, "out of memory");

    /* Cluster ids follow the runs' earlier clean stages, in order of first members. */
    uint32_t next = 1;
    for (size_t i = 0; i < run->ncluster_members; i++)
        if (run->cluster_members[i].cluster >= next) next = run->cluster_members[i].cluster + 1;
    for (size_t i = 0; rc == SP_OK && i < n; i++)
        if (u[i].code == SP_OK && u[i].first != i) u[u[i].first].cluster = 1; /* has company */
    for (size_t i = 0; rc == SP_OK && i < n; i++)
        if (u[i].code == SP_OK && u[i].first == i && u[i].cluster) u[i].cluster = next++;
    for (size_t i = 0; rc == SP_OK && i < n; i++) {
        if (u[i].code != SP_OK) continue;
        uint32_t r = u[i].first;
        if (u[r].cluster == 0) continue; /* alone */
        u[i].cluster = u[r].cluster;
        if (r == i) continue; /* the first: kept */
        /* An exact copy of an earlier member is a duplicate; otherwise a near one. Equal
         * bytes are always one cluster, so the first with the same bytes says which. */
        bool exact = u[i].same != i;
        int mode = exact ? o->duplicates : o->near_duplicates;
        if (mode == DUP_DROP) u[i].code = exact ? SP_E_DUPLICATE : SP_E_NEAR_DUPLICATE;
    }
    /* Mark, report, and drop. */
    for (size_t i = 0; rc == SP_OK && i < n; i++) {
        sp_sample *s = &run->catalogs[u[i].source].samples[u[i].sample];
        if (u[i].cluster) {
            s->cluster = u[i].cluster;
            rc = sp_report_cluster(run, u[i].cluster, u[i].source, u[i].sample,
                                   u[i].code == SP_OK);
        }
        if (rc != SP_OK || u[i].code == SP_OK) continue;
        const unit *f = &u[u[i].first], *same = &u[u[i].same];
        const sp_catalog *fc = &run->catalogs[f->source];
        if (u[i].code == SP_E_DUPLICATE)
            snprintf(detail, sizeof(detail), "same bytes as %s/%s (cluster %u)",
                     run->catalogs[same->source].source, same->s->path, u[i].cluster);
        else if (u[i].code == SP_E_NEAR_DUPLICATE)
            snprintf(detail, sizeof(detail),
                     "perceptual hash %d bits from %s/%s (cluster %u, max_distance %lld)",
                     sp_popcount64(s->phash ^ f->s->phash), fc->source, f->s->path,
                     u[i].cluster, (long long)o->max_distance);
        else
            size_problem(o, s, &u[i].code, detail, sizeof(detail));
        rc = sp_report_drop(run, "clean", u[i].source, u[i].sample, u[i].code, detail);
    }
    if (rc != SP_OK && !err->msg[0]) sp_fail(err, rc, "out of memory");
    /* Records keep their order; those of dropped samples go. */
    size_t w = 0;
    for (size_t i = 0; rc == SP_OK && i < recs->n; i++) {
        unit key = {.source = recs->v[i].source, .sample = recs->v[i].sample};
        const unit *hit = bsearch(&key, u, n, sizeof(unit), cmp_identity);
        if (hit->code == SP_OK) recs->v[w++] = recs->v[i];
    }
    if (rc == SP_OK) recs->n = w;
    free(u);
    return rc;
}

const sp_stage_desc sp_stage_clean = {
    .name = "clean",
    .help = "drop exact and near duplicates (perceptual hash, clusters marked for split), "
            "corrupt images, and images out of a size or aspect range",
    .kind = SP_STAGE_RECORD,
    .opts_size = sizeof(clean_opts),
    .options = clean_options,
    .plan = clean_plan,
};
