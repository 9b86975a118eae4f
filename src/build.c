/*
 * Phase 3, build: plan → shards. A shard is an independent job: its records are read,
 * decoded, run through their pixel chain and encoded in parallel (OpenMP), a window at a
 * time, and appended in plan order — so memory is bounded by the window, not the shard,
 * and the bytes never depend on the thread count. A shard is written under a temporary
 * name, fsynced and renamed: a shard under its final name is complete.
 */
#include "internal.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW_PER_THREAD 8

typedef struct item {
    int rc;
    sp_error err;
    uint8_t *image;
    size_t image_len;
    const char *ext;
    sp_buf json;
} item;

static void item_reset(item *it)
{
    free(it->image);
    sp_buf_free(&it->json);
    memset(it, 0, sizeof(*it));
}

/* The codec of the last encode stage on the chain (JPEG q90 without one). */
static void chain_encoder(const sp_pipeline *p, const sp_sink_plan *sp, const sp_format **fmt,
                          int *quality)
{
    *fmt = &sp_format_jpeg;
    *quality = 90;
    for (size_t i = 0; i < sp->nchain; i++) {
        const sp_stage *st = &p->stages[sp->chain[i]];
        if (st->desc != &sp_stage_encode) continue;
        const sp_encode_opts *o = st->opts;
        *fmt = sp_encode_format(o);
        *quality = (int)o->quality;
    }
}

/* One record, start to finish. Runs on a worker thread: touches only `it`. */
static void process(const sp_job *run, const sp_sink_plan *sp, const sp_record *r, item *it)
{
    const sp_pipeline *p = run->pipe;
    const sp_catalog *cat = &run->catalogs[r->source];
    const sp_sample *s = &cat->samples[r->sample];
    sp_error *err = &it->err;
    uint8_t *data = NULL;
    size_t len = 0;
    sp_image img = {0};
    char *full = sp_path_join(cat->root, s->path);
    int rc = full ? sp_read_file(full, p->limits.max_file_bytes, &data, &len, err)
                  : sp_fail(err, SP_E_NOMEM, "out of memory");
    free(full);
    if (rc == SP_OK) {
        sp_hash128 h = sp_hash_bytes(data, len);
        if (h.hi != s->hash.hi || h.lo != s->hash.lo)
            rc = sp_fail(err, SP_E_CHANGED, "the file changed after it was scanned");
    }
    if (rc == SP_OK) rc = s->format->decode(data, len, &p->limits, &img, err);
    free(data);
    /* The RNG key names the sample, not its position, so reordering never reshuffles draws. */
    for (size_t i = 0; rc == SP_OK && i < sp->nchain; i++) {
        const sp_stage *st = &p->stages[sp->chain[i]];
        sp_rng rng = sp_rng_for((uint64_t)p->run.seed, st->name, s->path, r->copy);
        rc = st->desc->process(st->opts, &img, &rng, err);
        if (rc != SP_OK && !err->member[0]) snprintf(err->member, sizeof(err->member), "[%s]", st->name);
    }
    if (rc == SP_OK) {
        const sp_format *fmt;
        int quality;
        chain_encoder(p, sp, &fmt, &quality);
        rc = fmt->encode(&img, quality, &it->image, &it->image_len, err);
        it->ext = fmt->extension;
    }
    sp_image_release(&img);
    if (rc == SP_OK) {
        int32_t label = cat->to_global[s->label];
        sp_buf *j = &it->json;
        sp_buf_puts(j, "{\"key\": ");
        sp_json_str(j, r->key);
        sp_buf_puts(j, ", \"source\": ");
        sp_json_str(j, s->path);
        sp_buf_printf(j, ", \"format\": \"%s\", \"width\": %u, \"height\": %u, \"label\": %d, "
                         "\"class\": ",
                      s->format->name, s->info.width, s->info.height, label);
        sp_json_str(j, run->classes[label]);
        sp_buf_printf(j, ", \"copy\": %u}\n", r->copy);
        if (j->oom) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    it->rc = rc;
}

/* Appends one finished record as KEY.cls, KEY.<ext>, KEY.json (fields in name order, the
 * way WebDataset writers sort them). */
static int append(sp_tar_writer *w, const sp_job *run, const sp_record *r, const item *it,
                  sp_error *err)
{
    const sp_sample *s = sp_run_sample(run, r);
    char name[64], cls[16];
    int n = snprintf(cls, sizeof(cls), "%d", run->catalogs[r->source].to_global[s->label]);
    snprintf(name, sizeof(name), "%s.cls", r->key);
    int rc = sp_tar_add(w, name, cls, (size_t)n, err);
    bool json_first = strcmp("json", it->ext) < 0;
    for (int k = 0; k < 2 && rc == SP_OK; k++) {
        if ((k == 0) == json_first) {
            snprintf(name, sizeof(name), "%s.json", r->key);
            rc = sp_tar_add(w, name, it->json.data, it->json.len, err);
        } else {
            snprintf(name, sizeof(name), "%s.%s", r->key, it->ext);
            rc = sp_tar_add(w, name, it->image, it->image_len, err);
        }
    }
    return rc;
}

static int build_shard(sp_job *run, sp_sink_plan *sp, sp_shard *sh, item *items, size_t window,
                       uint64_t *done, uint64_t total)
{
    sp_ctx *ctx = run->ctx;
    sp_error err;
    sp_error_clear(&err);
    char *final = sp_path_join(run->outdir, sh->path);
    size_t n = strlen(sh->path) + 8;
    char *tmpname = malloc(n);
    char *tmp = NULL;
    if (tmpname) {
        snprintf(tmpname, n, ".%s.tmp", sh->path);
        tmp = sp_path_join(run->outdir, tmpname);
    }
    free(tmpname);
    if (!final || !tmp) {
        free(final), free(tmp);
        return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    }
    sp_tar_writer *w = NULL;
    int rc = sp_tar_open(tmp, &w, &err);
    int threads = sp_ctx_threads(ctx);
    for (size_t base = 0; rc == SP_OK && base < sh->count; base += window) {
        size_t m = sh->count - base < window ? sh->count - base : window;
        const sp_record *recs = sp->recs.v + sh->first + base;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (size_t k = 0; k < m; k++) process(run, sp, &recs[k], &items[k]);
        for (size_t k = 0; k < m && rc == SP_OK; k++) {
            if (items[k].rc == SP_OK) {
                rc = append(w, run, &recs[k], &items[k], &err);
                if (rc == SP_OK) {
                    const sp_sample *smp = sp_run_sample(run, &recs[k]);
                    sh->records_written++;
                    run->counts_out[run->catalogs[recs[k].source].to_global[smp->label]]++;
                }
            } else if (sp_severity_of(items[k].rc) == SP_SEV_SAMPLE || items[k].rc == SP_E_IO) {
                rc = sp_run_add_skip(run, recs[k].source, recs[k].sample, "build", items[k].rc,
                                     items[k].err.msg);
            } else {
                err = items[k].err;
                sp_error_set_path(&err, sp_run_sample(run, &recs[k])->path);
                rc = items[k].rc;
            }
        }
        for (size_t k = 0; k < m; k++) item_reset(&items[k]);
        *done += m;
        if (rc == SP_OK) rc = sp_progress(ctx, SP_PHASE_BUILD, *done, total);
    }
    if (rc == SP_OK) rc = sp_tar_finish(w, &sh->bytes, &sh->hash, &err);
    if (rc == SP_OK) rc = sp_commit_file(tmp, final, &err);
    if (rc != SP_OK) {
        /* Whatever failed, nothing half-written survives under either name. */
        sp_tar_abort(&w);
        unlink(tmp);
        if (err.code) sp_ctx_error(ctx, &err);
    } else {
        sp_tar_free(&w);
        run->summary.shards_written++;
        run->summary.bytes_written += sh->bytes;
        run->summary.records_written += sh->records_written;
        sp_log(ctx, SP_LOG_DEBUG, "%s: %llu records, %llu bytes", sh->path,
               (unsigned long long)sh->records_written, (unsigned long long)sh->bytes);
    }
    free(final);
    free(tmp);
    return rc;
}

/* Index of a shard file name "PREFIX-NNNNNN.tar" (optionally as ".NAME.tmp"), or -1. */
static long shard_index(const char *name, const char *prefix, bool *tmp)
{
    *tmp = name[0] == '.';
    if (*tmp) name++;
    size_t lp = strlen(prefix);
    if (strncmp(name, prefix, lp) != 0 || name[lp] != '-') return -1;
    const char *d = name + lp + 1;
    for (int i = 0; i < 6; i++)
        if (d[i] < '0' || d[i] > '9') return -1;
    if (strcmp(d + 6, *tmp ? ".tar.tmp" : ".tar") != 0) return -1;
    return strtol(d, NULL, 10);
}

/* Before writing: the old manifest goes first (it would describe shards about to be
 * replaced), then temporary files a killed run left behind, then shards of this sink that
 * the new plan no longer has — a loader globbing PREFIX-*.tar must not read stale data. */
static int clear_stale(sp_job *run)
{
    sp_error err;
    sp_error_clear(&err);
    char *manifest = sp_path_join(run->outdir, "manifest.json");
    if (!manifest) return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    bool removed = unlink(manifest) == 0;
    DIR *d = opendir(run->outdir);
    if (!d) {
        free(manifest);
        return SP_OK;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        for (size_t s = 0; s < run->nsinks; s++) {
            const sp_sink_plan *sp = &run->sinks[s];
            const sp_stage *st = &run->pipe->stages[sp->stage];
            const sp_tar_sink_opts *o = st->opts;
            bool tmp;
            long idx = shard_index(e->d_name, o->prefix && o->prefix[0] ? o->prefix : st->name, &tmp);
            if (idx < 0 || (!tmp && (size_t)idx < sp->nshards)) continue;
            char *path = sp_path_join(run->outdir, e->d_name);
            if (path && unlink(path) == 0) {
                removed = true;
                sp_log(run->ctx, SP_LOG_DEBUG, "removed %s %s", tmp ? "leftover" : "stale", path);
            }
            free(path);
        }
    }
    closedir(d);
    /* Syncing the folder of manifest.json syncs the output folder itself. */
    int rc = removed ? sp_fsync_dir_of(manifest, &run->ctx->err) : SP_OK;
    free(manifest);
    return rc;
}

int sp_build(sp_job *run)
{
    int rc0 = clear_stale(run);
    if (rc0 != SP_OK) return rc0;
    size_t window = (size_t)sp_ctx_threads(run->ctx) * WINDOW_PER_THREAD;
    item *items = calloc(window, sizeof(item));
    if (!items) return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    uint64_t total = 0, done = 0;
    for (size_t s = 0; s < run->nsinks; s++) total += run->sinks[s].recs.n;
    int rc = sp_progress(run->ctx, SP_PHASE_BUILD, 0, total);
    for (size_t s = 0; rc == SP_OK && s < run->nsinks; s++) {
        sp_sink_plan *sp = &run->sinks[s];
        for (size_t i = 0; rc == SP_OK && i < sp->nshards; i++)
            rc = build_shard(run, sp, &sp->shards[i], items, window, &done, total);
    }
    free(items);
    return rc;
}
