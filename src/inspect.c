/*
 * `shardpack inspect`: a dataset doctor. It scans the pipeline's sources as a build would,
 * but decodes every image (the corrupt check) and hashes it perceptually whatever the
 * config asks, then reports what a person deciding how to build wants to know first:
 * samples per class and the imbalance, formats and the size distribution, what is
 * corrupt or rejected, exact and near duplicates, and the shards each sink would get.
 *
 * It builds nothing and writes nothing where the data or the output live: the scan's
 * catalog goes to a temporary folder, removed before it returns.
 */
#include "internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* min / median / max of n values (sorted in place). */
static void spread(FILE *f, const char *what, uint64_t *v, size_t n)
{
    if (!n) return;
    qsort(v, n, sizeof(*v), cmp_u64);
    uint64_t med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    fprintf(f, "  %-8s min %llu, median %llu, max %llu\n", what, (unsigned long long)v[0],
            (unsigned long long)med, (unsigned long long)v[n - 1]);
}

static void remove_tree(const char *dir)
{
    char *sub = sp_path_join(dir, ".shardpack");
    DIR *d = sub ? opendir(sub) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            char *p = sp_path_join(sub, e->d_name);
            if (p) unlink(p);
            free(p);
        }
    if (d) closedir(d);
    if (sub) rmdir(sub);
    free(sub);
    rmdir(dir);
}

typedef struct ref {
    uint32_t source, sample;
    const sp_sample *s;
} ref;

static const char *path_of(const sp_job *run, const ref *r, char *buf, size_t size)
{
    if (run->ncatalogs > 1)
        snprintf(buf, size, "%s/%s", run->catalogs[r->source].source, r->s->path);
    else
        snprintf(buf, size, "%s", r->s->path);
    return buf;
}

/* Groups of size >= 2, each on one line (the first few members, then a count). */
static size_t print_groups(FILE *f, const sp_job *run, const ref *refs, const uint32_t *root,
                           size_t n, bool print)
{
    size_t groups = 0, shown = 0;
    char buf[4096];
    for (size_t i = 0; i < n; i++) {
        if (root[i] != i) continue;
        size_t members = 0;
        for (size_t j = i; j < n; j++) members += root[j] == i;
        if (members < 2) continue;
        groups++;
        if (!print || shown++ >= 20) continue;
        fprintf(f, "    %zu:", groups);
        size_t listed = 0;
        for (size_t j = i; j < n && listed < 6; j++)
            if (root[j] == i) fprintf(f, " %s", path_of(run, &refs[j], buf, sizeof(buf))), listed++;
        if (members > listed) fprintf(f, " (+%zu more)", members - listed);
        fputc('\n', f);
    }
    if (print && groups > shown) fprintf(f, "    ... %zu more groups\n", groups - shown);
    return groups;
}

static int report(sp_job *run, FILE *f)
{
    size_t total = 0;
    for (size_t c = 0; c < run->ncatalogs; c++) total += run->catalogs[c].nsamples;
    ref *refs = malloc(sizeof(ref) * (total ? total : 1));
    uint64_t *w = malloc(sizeof(uint64_t) * (total ? total : 1));
    uint64_t *h = malloc(sizeof(uint64_t) * (total ? total : 1));
    uint64_t *bytes = malloc(sizeof(uint64_t) * (total ? total : 1));
    uint64_t *per = calloc(run->nclasses ? run->nclasses : 1, sizeof(uint64_t));
    uint32_t *root = malloc(sizeof(uint32_t) * (total ? total : 1));
    const sp_sample **ss = malloc(sizeof(*ss) * (total ? total : 1));
    int rc = refs && w && h && bytes && per && root && ss ? SP_OK : SP_E_NOMEM;
    size_t n = 0;
    for (size_t c = 0; rc == SP_OK && c < run->ncatalogs; c++) {
        const sp_catalog *cat = &run->catalogs[c];
        for (size_t i = 0; i < cat->nsamples; i++) {
            const sp_sample *s = &cat->samples[i];
            if (s->status != SP_OK) continue;
            refs[n] = (ref){(uint32_t)c, (uint32_t)i, s};
            ss[n] = s;
            w[n] = s->info.width;
            h[n] = s->info.height;
            bytes[n] = s->size;
            if (s->label >= 0) per[cat->to_global[s->label]]++;
            n++;
        }
    }
    if (rc == SP_OK) {
        fprintf(f, "samples: %zu found, %zu usable, %zu rejected\n", total, n, total - n);
        /* Classes and imbalance. */
        uint64_t lo = UINT64_MAX, hi = 0;
        size_t ilo = 0, ihi = 0;
        fprintf(f, "classes: %zu\n", run->nclasses);
        for (size_t c = 0; c < run->nclasses; c++) {
            fprintf(f, "  %-24s %10llu\n", run->classes[c], (unsigned long long)per[c]);
            if (per[c] < lo) lo = per[c], ilo = c;
            if (per[c] > hi) hi = per[c], ihi = c;
        }
        if (run->nclasses > 1 && lo > 0)
            fprintf(f, "imbalance: %.2f (largest %s %llu / smallest %s %llu)\n",
                    (double)hi / (double)lo, run->classes[ihi], (unsigned long long)hi,
                    run->classes[ilo], (unsigned long long)lo);
        else if (run->nclasses > 1)
            fprintf(f, "imbalance: infinite (class %s has no usable sample)\n", run->classes[ilo]);
        /* Formats and sizes. */
        fprintf(f, "formats:");
        for (size_t i = 0; i < n; i++) {
            const sp_format *fmt = refs[i].s->format;
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++) seen = refs[j].s->format == fmt;
            if (seen) continue;
            size_t k = 0;
            for (size_t j = i; j < n; j++) k += refs[j].s->format == fmt;
            fprintf(f, " %s %zu", fmt ? fmt->name : "?", k);
        }
        fprintf(f, "\nsizes:\n");
        spread(f, "width", w, n);
        spread(f, "height", h, n);
        spread(f, "bytes", bytes, n);
        /* Rejected, by reason. */
        size_t ncodes;
        const int *codes = sp_reason_codes(&ncodes);
        fprintf(f, "rejected (full decode check):");
        for (size_t k = 0; k < ncodes; k++) {
            size_t m = 0;
            for (size_t i = 0; i < run->nskips; i++) m += run->skips[i].code == codes[k];
            /* The common reasons always, with their zeros; the other twenty-odd (each
             * [run] limit, unsafe members, bad manifest rows...) when they occurred. */
            bool common = codes[k] == SP_E_FORMAT || codes[k] == SP_E_CORRUPT ||
                          codes[k] == SP_E_LIMIT || codes[k] == SP_E_NOLABEL ||
                          codes[k] == SP_E_IO;
            if (m || common) fprintf(f, " %s %zu", sp_strerror(codes[k]), m);
        }
        fputc('\n', f);
        for (size_t i = 0; i < run->nskips && i < 20; i++) {
            const sp_skip *k = &run->skips[i];
            fprintf(f, "    %s/%s: %s: %s\n", run->catalogs[k->source].source,
                    run->catalogs[k->source].samples[k->sample].path, sp_strerror(k->code),
                    k->detail ? k->detail : "");
        }
        if (run->nskips > 20) fprintf(f, "    ... %zu more\n", run->nskips - 20);
        /* Duplicates: exact groups, then near clusters (exact copies included). */
        rc = sp_dup_groups(ss, n, -1, root);
    }
    if (rc == SP_OK) {
        size_t extra = 0;
        for (size_t i = 0; i < n; i++) extra += root[i] != i;
        fprintf(f, "exact duplicates: %zu groups, %zu extra copies\n",
                print_groups(f, run, refs, root, n, false), extra);
        print_groups(f, run, refs, root, n, true);
        int d = sp_clean_max_distance(run->pipe);
        if (d < 0) d = 4;
        rc = sp_dup_groups(ss, n, d, root);
        if (rc == SP_OK) {
            size_t in = 0;
            for (size_t i = 0; i < n; i++) in += root[i] != i;
            fprintf(f, "near duplicates (perceptual hash within %d bits): %zu clusters, %zu "
                       "samples that are not the first of theirs\n",
                    d, print_groups(f, run, refs, root, n, false), in);
            print_groups(f, run, refs, root, n, true);
        }
    }
    if (rc == SP_OK) {
        fprintf(f, "shards (as the pipeline's sinks would write them; sizes estimated):\n");
        for (size_t k = 0; k < run->nsinks; k++) {
            const sp_sink_plan *sp = &run->sinks[k];
            uint64_t est = 0;
            for (size_t i = 0; i < sp->recs.n; i++)
                est += sp_plan_estimate(run, sp, &sp->recs.v[i]);
            fprintf(f, "  [%s] %s: %zu records in %zu shards, about %.1f MiB (%.1f MiB a shard)\n",
                    run->pipe->stages[sp->stage].name, run->pipe->stages[sp->stage].desc->name,
                    sp->recs.n, sp->nshards, (double)est / 1048576.0,
                    sp->nshards ? (double)est / 1048576.0 / (double)sp->nshards : 0.0);
        }
    }
    free(refs), free(w), free(h), free(bytes), free(per), free(root), free(ss);
    return rc == SP_OK ? SP_OK : sp_fail(&run->ctx->err, rc, "out of memory");
}

int sp_inspect(sp_ctx *ctx, sp_pipeline *pipe, void *file)
{
    sp_error_clear(&ctx->err);
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/shardpack-inspect-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return sp_fail(&ctx->err, SP_E_IO, "cannot make a temporary folder in %s",
                                      tmp && *tmp ? tmp : "/tmp");
    sp_job run;
    memset(&run, 0, sizeof(run));
    run.ctx = ctx;
    run.pipe = pipe;
    run.outdir = dir;
    run.force_decode = run.force_phash = true;
    int on_error = pipe->run.on_error; /* a doctor lists every bad file, not the first */
    pipe->run.on_error = SP_ON_ERROR_SKIP;
    int rc = sp_scan(&run);
    /* Clean stages in the pipeline run as they would (and their drops show in the plan's
     * counts); their reports are the build's business, not this one's. */
    size_t scan_skips = run.nskips;
    if (rc == SP_OK) rc = sp_plan_run(&run);
    if (rc == SP_OK) {
        for (size_t i = scan_skips; i < run.nskips; i++) free(run.skips[i].detail);
        run.nskips = scan_skips;
        rc = report(&run, file);
    }
    pipe->run.on_error = on_error;
    sp_job_free(&run);
    remove_tree(dir);
    return rc;
}
