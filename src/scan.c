/*
 * Phase 1, scan: sources → catalogs. Each source enumerates its samples; then every
 * sample not answered by the cache is read, hashed (XXH3-128) and probed, and its header
 * read — in parallel, since this is the phase that touches every byte of the dataset.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define CHUNK 256 /* samples per parallel step; progress is reported between steps */

static int cmp_sample_path(const void *a, const void *b)
{
    return strcmp(((const sp_sample *)a)->path, ((const sp_sample *)b)->path);
}

/* Reads one sample's bytes and fills in its facts. Never fails the run: a bad sample
 * carries its own status and detail. */
static void inspect(const sp_ctx *ctx, const sp_catalog *cat, sp_sample *s,
                    const sp_limits *lim, const sp_scan_needs *needs, uint64_t *bytes_read)
{
    sp_error err;
    sp_error_clear(&err);
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = sp_sample_read(cat, s, lim, &data, &len, &err);
    if (rc == SP_OK) {
#pragma omp atomic
        *bytes_read += len;
        s->hash = sp_hash_bytes(data, len);
        s->format = sp_ctx_format_probe(ctx, data, len);
        if (len == 0)
            rc = sp_fail(&err, SP_E_FORMAT, "empty file");
        else if (!s->format)
            rc = sp_fail(&err, SP_E_FORMAT, "not a recognised image (content is not JPEG, PNG or PNM)");
        else {
            s->info = (sp_image_info){0}; /* a codec that fills no alterations reports none */
            rc = s->format->header(data, len, lim, &s->info, &err);
        }
    }
    /* What a clean stage asked for: a full decode (corrupt check), a perceptual hash. */
    s->decoded = s->has_phash = false;
    if (rc == SP_OK && (needs->decode || needs->phash)) {
        sp_image img = {0};
        if (needs->decode) {
            rc = s->format->decode(data, len, lim, &img, &err);
            s->decoded = rc == SP_OK;
        }
        if (rc == SP_OK && needs->phash) {
            /* The hash comes from the decoder's scaled output when it has one (see
             * src/phash.c); without one the full decode above is that same image. */
            if (img.data && !s->format->decode_scaled) s->phash = sp_phash(&img);
            else rc = sp_phash_bytes(s->format, data, len, lim, &s->phash, &err);
            s->has_phash = rc == SP_OK;
        }
        sp_image_release(&img);
    }
    free(data);
    s->status = rc;
    if (rc != SP_OK) s->detail = sp_strdup(err.msg);
}

static const sp_sample *cache_find(const sp_catalog *cache, const char *path)
{
    sp_sample key = {.path = (char *)path};
    return cache->nsamples ? bsearch(&key, cache->samples, cache->nsamples,
                                     sizeof(*cache->samples), cmp_sample_path)
                           : NULL;
}

static char *cache_key(const sp_catalog *cat, const sp_limits *lim)
{
    sp_buf b = {0};
    sp_buf_printf(&b, "%s|%llu|%llu|%u|%u|%x", cat->root, (unsigned long long)lim->max_pixels,
                  (unsigned long long)lim->max_file_bytes, lim->max_dimension, lim->max_scans,
                  lim->background);
    return b.oom ? (sp_buf_free(&b), NULL) : b.data;
}

static int scan_source(sp_job *run, size_t stage_index, sp_catalog *cat)
{
    sp_ctx *ctx = run->ctx;
    const sp_stage *st = &run->pipe->stages[stage_index];
    const sp_limits *lim = &run->pipe->limits;
    sp_error err;
    sp_error_clear(&err);
    if (!(cat->source = sp_strdup(st->name))) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    cat->desc = st->desc;
    sp_stage_env env = {run, st, (uint64_t)run->pipe->run.seed};
    int rc = st->desc->enumerate(&env, st->opts, cat, &err);
    if (rc != SP_OK) {
        snprintf(err.member, sizeof(err.member), "[%s]", st->name);
        return sp_ctx_error(ctx, &err);
    }
    if (cat->nsamples > 1) qsort(cat->samples, cat->nsamples, sizeof(*cat->samples), cmp_sample_path);

    char *dir = sp_path_join(run->outdir, ".shardpack");
    char *name = malloc(strlen(st->name) + 16);
    char *cache_path = NULL;
    char *key = cache_key(cat, lim);
    if (dir && name) {
        snprintf(name, strlen(st->name) + 16, "catalog-%s.tsv", st->name);
        cache_path = sp_path_join(dir, name);
    }
    if (!cache_path || !key) {
        free(dir), free(name), free(cache_path), free(key);
        return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    }
    sp_scan_needs needs;
    sp_clean_scan_needs(run->pipe, &needs);
    needs.decode |= run->force_decode;
    needs.phash |= run->force_phash;
    sp_catalog cache;
    sp_catalog_cache_load(ctx, cache_path, key, &cache, &err);
    if (cache.nsamples > 1)
        qsort(cache.samples, cache.nsamples, sizeof(*cache.samples), cmp_sample_path);

    /* Answer what the cache can, and list the rest. */
    size_t *todo = malloc(sizeof(size_t) * (cat->nsamples ? cat->nsamples : 1));
    size_t ntodo = 0;
    if (!todo) rc = sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == SP_OK && i < cat->nsamples; i++) {
        sp_sample *s = &cat->samples[i];
        if (s->status != SP_OK) continue; /* already rejected while enumerating */
        const sp_sample *c = cache_find(&cache, s->path);
        /* A row from a run that did not decode or hash is not enough for one that does. */
        bool enough = c && (c->status != SP_OK ||
                            ((!needs.decode || c->decoded) && (!needs.phash || c->has_phash)));
        if (c && enough && c->size == s->size && c->mtime_ns == s->mtime_ns &&
            c->ctime_ns == s->ctime_ns && c->inode == s->inode) {
            s->format = c->format;
            s->info = c->info;
            s->hash = c->hash;
            s->status = c->status;
            s->detail = c->detail ? sp_strdup(c->detail) : NULL;
            s->decoded = c->decoded;
            s->has_phash = c->has_phash;
            s->phash = c->phash;
            s->cached = true;
            run->summary.samples_cached++;
        } else {
            todo[ntodo++] = i;
        }
    }
    sp_catalog_free(&cache);

    int threads = sp_ctx_threads(ctx);
    uint64_t bytes_read = 0; /* sample bytes the scan read: 0 when the cache answers all */
    if (rc == SP_OK) rc = sp_progress(ctx, SP_PHASE_SCAN, 0, ntodo);
    for (size_t base = 0; rc == SP_OK && base < ntodo; base += CHUNK) {
        size_t end = base + CHUNK < ntodo ? base + CHUNK : ntodo;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (size_t k = base; k < end; k++) inspect(ctx, cat, &cat->samples[todo[k]], lim, &needs, &bytes_read);
        rc = sp_progress(ctx, SP_PHASE_SCAN, end, ntodo);
    }
    free(todo);

    if (rc == SP_OK && !run->dry_run) rc = sp_mkdirs(dir, &err);
    if (rc == SP_OK && !run->dry_run) rc = sp_catalog_cache_save(cache_path, key, cat, &err);
    if (rc != SP_OK && rc != SP_E_CANCELLED) sp_ctx_error(ctx, &err);
    free(dir), free(name), free(cache_path), free(key);
    if (rc == SP_OK && cat->nsamples == 0)
        sp_log(ctx, SP_LOG_WARN, "[%s] found no samples under %s (expected ROOT/<class>/<image>)",
               st->name, cat->root);
    if (rc == SP_OK) {
        run->summary.samples_found += cat->nsamples;
        sp_log(ctx, SP_LOG_DEBUG, "[%s] %zu samples in %zu classes under %s (%zu read, %zu cached)",
               st->name, cat->nsamples, cat->nclasses, cat->root, ntodo,
               cat->nsamples - ntodo);
        sp_log(ctx, SP_LOG_DEBUG, "[%s] scan read %llu bytes of samples", st->name,
               (unsigned long long)bytes_read);
    }
    return rc;
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The run's label space: every source's class names, merged, in byte order. */
static int merge_classes(sp_job *run)
{
    size_t total = 0;
    for (size_t c = 0; c < run->ncatalogs; c++) total += run->catalogs[c].nclasses;
    run->classes = calloc(total ? total : 1, sizeof(char *));
    if (!run->classes) return SP_E_NOMEM;
    for (size_t c = 0; c < run->ncatalogs; c++)
        for (size_t i = 0; i < run->catalogs[c].nclasses; i++)
            run->classes[run->nclasses++] = run->catalogs[c].classes[i];
    if (run->nclasses > 1) qsort(run->classes, run->nclasses, sizeof(char *), cmp_strp);
    size_t u = 0;
    for (size_t i = 0; i < run->nclasses; i++)
        if (u == 0 || strcmp(run->classes[u - 1], run->classes[i]) != 0)
            run->classes[u++] = run->classes[i];
    run->nclasses = u;
    /* Borrowed names become owned copies so catalogs can be freed independently. */
    for (size_t i = 0; i < run->nclasses; i++)
        if (!(run->classes[i] = sp_strdup(run->classes[i]))) return SP_E_NOMEM;
    for (size_t c = 0; c < run->ncatalogs; c++) {
        sp_catalog *cat = &run->catalogs[c];
        cat->to_global = calloc(cat->nclasses ? cat->nclasses : 1, sizeof(int32_t));
        if (!cat->to_global) return SP_E_NOMEM;
        for (size_t i = 0; i < cat->nclasses; i++) {
            char **hit = bsearch(&cat->classes[i], run->classes, run->nclasses, sizeof(char *),
                                 cmp_strp);
            cat->to_global[i] = (int32_t)(hit - run->classes);
        }
    }
    return SP_OK;
}

int sp_scan(sp_job *run)
{
    sp_pipeline *p = run->pipe;
    run->catalog_of_stage = malloc(sizeof(int) * (p->nstages ? p->nstages : 1));
    run->catalogs = calloc(p->nstages ? p->nstages : 1, sizeof(sp_catalog));
    if (!run->catalog_of_stage || !run->catalogs)
        return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    int rc = run->dry_run ? SP_OK : sp_mkdirs(run->outdir, &run->ctx->err);
    for (size_t i = 0; rc == SP_OK && i < p->nstages; i++) {
        run->catalog_of_stage[i] = -1;
        if (p->stages[i].desc->kind != SP_STAGE_SOURCE) continue;
        run->catalog_of_stage[i] = (int)run->ncatalogs;
        rc = scan_source(run, i, &run->catalogs[run->ncatalogs++]);
    }
    if (rc == SP_OK && merge_classes(run) != SP_OK)
        rc = sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    /* Samples rejected by scan are reported once, here, in catalog order. */
    for (size_t c = 0; rc == SP_OK && c < run->ncatalogs; c++)
        for (size_t i = 0; rc == SP_OK && i < run->catalogs[c].nsamples; i++) {
            const sp_sample *s = &run->catalogs[c].samples[i];
            if (s->status != SP_OK)
                rc = sp_run_add_skip(run, (uint32_t)c, (uint32_t)i, "scan", s->status,
                                     s->detail ? s->detail : "");
        }
    return rc;
}
