/*
 * Phase 3, build: plan → shards. A shard is an independent job: its records are read,
 * decoded, run through their pixel chain and encoded in parallel (OpenMP), a window at a
 * time, and appended in plan order — so memory is bounded by the window, not the shard,
 * and the bytes never depend on the thread count. A shard is written under a temporary
 * name, fsynced and renamed: a shard under its final name is complete.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW_PER_THREAD 8

typedef struct item {
    int rc;
    sp_error err;
    sp_image image; /* kept for sinks that store pixels */
    uint8_t *encoded;
    size_t encoded_len;
    sp_buf json;
    sp_scratch *scratch; /* the worker thread's, set before each record; NULL: none */
} item;

static void item_reset(item *it)
{
    sp_image_release(&it->image);
    free(it->encoded);
    sp_buf_free(&it->json);
    memset(it, 0, sizeof(*it));
}

/* The record's metadata: where it came from, and what the pixel chain did to it. */
static void record_json(const sp_job *run, const sp_record *r, const sp_sample *s, int32_t label,
                        const sp_buf *ops, sp_buf *j)
{
    sp_buf_puts(j, "{\"key\": ");
    sp_json_str(j, r->key);
    sp_buf_puts(j, ", \"source\": ");
    sp_json_str(j, s->path);
    sp_buf_printf(j, ", \"format\": \"%s\", \"width\": %u, \"height\": %u, \"label\": %d, "
                     "\"class\": ",
                  s->format->name, s->info.width, s->info.height, label);
    sp_json_str(j, run->classes[label]);
    sp_buf_printf(j, ", \"copy\": %u, \"ops\": [", r->copy);
    if (ops->len) sp_buf_append(j, ops->data, ops->len);
    sp_buf_puts(j, "]}\n");
}

/* Runs one pixel stage on the image and notes it in `ops` as {"stage", "type", "params"}
 * when it acted. The stream is keyed by the sample's path, not its position, so
 * reordering the plan never changes what a stage draws. */
static int run_pixel_stage(const sp_pipeline *p, const sp_stage *st, const sp_sample *s,
                           const char *cls, uint32_t copy, const uint32_t src[2],
                           const sp_region *at, sp_image *img, sp_buf *ops,
                           sp_scratch *scratch, sp_error *err)
{
    sp_buf params = {0};
    sp_pixel_ctx pc;
    /* The stream is keyed by the instance's name, whichever class's values apply. */
    sp_pixel_ctx_init(&pc, (uint64_t)p->run.seed, st->name, s->path, copy, &params);
    pc.cls = cls;
    pc.scratch = scratch;
    const sp_stage *v = sp_stage_for_class(st, cls);
    if (!sp_pixel_applies(st->desc, v->p, v->apply, &pc)) return SP_OK;
    int rc = at    ? st->desc->process_region(v->opts, src[0], src[1], at, img, &pc, err)
             : src ? st->desc->process_scaled(v->opts, src[0], src[1], img, &pc, err)
                   : st->desc->process(v->opts, img, &pc, err);
    if (rc == SP_OK && st->desc != &sp_stage_encode) {
        if (ops->len) sp_buf_puts(ops, ", ");
        sp_buf_puts(ops, "{\"stage\": ");
        sp_json_str(ops, st->name);
        sp_buf_puts(ops, ", \"type\": ");
        sp_json_str(ops, st->desc->name);
        if (params.len) {
            sp_buf_puts(ops, ", \"params\": {");
            sp_buf_append(ops, params.data, params.len);
            sp_buf_puts(ops, "}");
        }
        sp_buf_puts(ops, "}");
        if (ops->oom || params.oom) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    sp_buf_free(&params);
    return rc;
}

/* The limits hold for what stages make, not only for what files declare: a thin strip
 * within every input limit can ask resize for a 16-million-pixel side. */
static int check_output_size(const sp_stage *st, const sp_image *img, const sp_limits *lim,
                             sp_error *err)
{
    if (!st->desc->out_size) return SP_OK;
    uint32_t w = img->width, h = img->height;
    st->desc->out_size(st->opts, &w, &h);
    if (w == 0 || h == 0) return SP_OK; /* depends on the draws: the stage holds the limits */
    if (lim->max_dimension && (w > lim->max_dimension || h > lim->max_dimension))
        return sp_fail(err, SP_E_MAX_DIMENSION, "would make a %ux%u image from %ux%u, over "
                       "max_dimension (%u)", w, h, img->width, img->height, lim->max_dimension);
    if (lim->max_pixels && (uint64_t)w * h > lim->max_pixels)
        return sp_fail(err, SP_E_MAX_PIXELS, "would make a %ux%u image from %ux%u, over "
                       "max_pixels (%llu)", w, h, img->width, img->height,
                       (unsigned long long)lim->max_pixels);
    return SP_OK;
}

/* Decodes a sample for its chain. When the chain opens with a stage that shrinks (a
 * resize to a smaller size) and the codec can decode at a reduced size, the decoder does
 * the first part of the shrinking, keeping at least twice the target in each dimension
 * so the filtered resize that follows still has the detail it needs; that stage then
 * computes from the reduced image what it would have from the full one. `scaled` says
 * whether that happened. When it opens with a crop, only the crop's box is decoded:
 * `region` says whether that happened, and `at` where the decoded part sits. */
static int decode_sized(const sp_pipeline *p, const sp_chain *ch, const sp_sample *s,
                        const char *cls, uint32_t copy, const uint8_t *data, size_t len,
                        sp_image *img, bool *scaled, sp_region *at, bool *region, sp_error *err)
{
    *scaled = false;
    const sp_stage *first = ch->n ? &p->stages[ch->stages[0]] : NULL;
    /* A chain that opens with a crop: only the box is decoded (src/region.c). */
    int rc = sp_decode_region(p, first, s, cls, copy, data, len, img, at, region, err);
    if (rc != SP_OK || *region) return rc;
    if (!p->run.shrink_on_load || !s->format->decode_scaled || !first ||
        !first->desc->process_scaled || !first->desc->out_size ||
        (first->desc->flags & SP_PIXEL_RANDOM))
        return s->format->decode(data, len, &p->limits, img, err);
    uint32_t w = s->info.width, h = s->info.height;
    first->desc->out_size(sp_stage_for_class(first, cls)->opts, &w, &h);
    if (w >= s->info.width || h >= s->info.height || w > UINT32_MAX / 2 || h > UINT32_MAX / 2)
        return s->format->decode(data, len, &p->limits, img, err);
    rc = s->format->decode_scaled(data, len, &p->limits, 2 * w, 2 * h, img, err);
    *scaled = rc == SP_OK && (img->width != s->info.width || img->height != s->info.height);
    return rc;
}

/* decode_sized, then RGBA for background = keep: every record of the run has an alpha
 * channel, whatever its codec, so a sink's records agree in shape (an npy array, a
 * training loader) and the stages see one layout. */
static int decode_for_chain(const sp_pipeline *p, const sp_chain *ch, const sp_sample *s,
                            const char *cls, uint32_t copy, const uint8_t *data, size_t len,
                            sp_image *img, bool *scaled, sp_region *at, bool *region,
                            sp_error *err)
{
    int rc = decode_sized(p, ch, s, cls, copy, data, len, img, scaled, at, region, err);
    if (rc == SP_OK && (p->limits.background & SP_BG_KEEP) && img->channels == 3 &&
        sp_image_add_alpha(img) != SP_OK)
        rc = sp_fail(err, SP_E_NOMEM, "cannot allocate a %ux%u RGBA image", img->width,
                     img->height);
    return rc;
}

/* One record, start to finish: read, decode, the chain, and (if `encode`) the codec.
 * Runs on a worker thread: touches only `it`. */
static void run_record(const sp_job *run, const sp_record *r, bool encode, bool keep_pixels,
                       item *it)
{
    const sp_pipeline *p = run->pipe;
    const sp_catalog *cat = &run->catalogs[r->source];
    const sp_sample *s = &cat->samples[r->sample];
    sp_error *err = &it->err;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = sp_sample_read(cat, s, &p->limits, &data, &len, err);
    if (rc == SP_OK) {
        sp_hash128 h = sp_hash_bytes(data, len);
        if (h.hi != s->hash.hi || h.lo != s->hash.lo)
            rc = sp_fail(err, SP_E_CHANGED, "the file changed after it was scanned");
    }
    const sp_chain *ch = &run->chains[r->chain];
    bool scaled = false;
    const char *cls = run->classes[cat->to_global[s->label]];
    sp_region at = {0, 0, 8};
    bool region = false;
    if (rc == SP_OK)
        rc = decode_for_chain(p, ch, s, cls, r->copy, data, len, &it->image, &scaled, &at,
                              &region, err);
    free(data);
    const uint32_t src[2] = {s->info.width, s->info.height};
    sp_buf opsj = {0};
    for (size_t i = 0; rc == SP_OK && i < ch->n; i++) {
        const sp_stage *st = &p->stages[ch->stages[i]];
        /* Limits are judged on the full-size image the stage stands in for. */
        sp_image full = {.width = src[0], .height = src[1]};
        const bool loaded = i == 0 && (scaled || region);
        rc = check_output_size(sp_stage_for_class(st, cls), loaded ? &full : &it->image,
                               &p->limits, err);
        if (rc == SP_OK)
            rc = run_pixel_stage(p, st, s, cls, r->copy, loaded ? src : NULL,
                                 i == 0 && region ? &at : NULL, &it->image, &opsj, it->scratch,
                                 err);
        if (rc != SP_OK && !err->member[0])
            snprintf(err->member, sizeof(err->member), "[%s]", st->name);
    }
    if (rc == SP_OK && encode)
        rc = sp_encode_format(&ch->encode)->encode(&it->image, &ch->encode, &it->encoded,
                                                   &it->encoded_len, err);
    if (!keep_pixels) sp_image_release(&it->image);
    if (rc == SP_OK) {
        record_json(run, r, s, cat->to_global[s->label], &opsj, &it->json);
        if (it->json.oom) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    sp_buf_free(&opsj);
    it->rc = rc;
}

static void process(const sp_job *run, const sp_sink_plan *sp, const sp_record *r, item *it)
{
    const sp_sink_ops *ops = run->pipe->stages[sp->stage].desc->sink;
    run_record(run, r, ops->needs_encoded, ops->needs_pixels, it);
}

static int substitute(const sp_job *run, size_t s, sp_subst_pool *pool, const sp_record *bad,
                      item *it, sp_record *by);

int sp_build_pixels(const sp_job *run, const sp_record *r, sp_image *out, sp_error *err)
{
    item it;
    memset(&it, 0, sizeof(it));
    run_record(run, r, false, true, &it);
    *err = it.err;
    int rc = it.rc;
    if (rc == SP_OK) sp_image_move(out, &it.image);
    item_reset(&it);
    return rc;
}

int sp_build_one(const sp_job *run, const sp_sink_plan *sp, const sp_record *r, uint8_t **out,
                 size_t *len, sp_error *err)
{
    item it;
    memset(&it, 0, sizeof(it));
    process(run, sp, r, &it);
    if (it.rc != SP_OK && (sp_severity_of(it.rc) == SP_SEV_SAMPLE || it.rc == SP_E_IO)) {
        /* The build wrote a stand-in for a bad sample: make the same one. */
        sp_error first = it.err;
        int code = it.rc;
        sp_subst_pool *pool = sp_subst_pool_new();
        sp_record by;
        int found = pool ? substitute(run, (size_t)(sp - run->sinks), pool, r, &it, &by) : -1;
        sp_subst_pool_free(&pool);
        if (found <= 0) {
            it.rc = found < 0 ? SP_E_NOMEM : code;
            it.err = first;
        }
    }
    int rc = it.rc;
    *err = it.err;
    if (rc == SP_OK && it.encoded) {
        *out = it.encoded;
        *len = it.encoded_len;
        it.encoded = NULL;
    } else if (rc == SP_OK) {
        /* A sink of pixels (npy) stores the rows as they are: the raw codec's bytes. */
        rc = sp_format_raw.encode(&it.image, NULL, out, len, err);
    }
    item_reset(&it);
    return rc;
}

static int add_record(sp_shard_writer *w, const sp_sink_ops *ops, const sp_job *run,
                      const sp_record *r, const item *it, sp_error *err)
{
    const sp_sample *s = sp_run_sample(run, r);
    int32_t label = run->catalogs[r->source].to_global[s->label];
    sp_out_record out = {
        .key = r->key,
        .label = label,
        .class_name = run->classes[label],
        .source = s->path,
        .image = ops->needs_pixels ? &it->image : NULL,
        .encoded = it->encoded,
        .encoded_len = it->encoded_len,
        .codec = sp_encode_format(&run->chains[r->chain].encode),
        .json = it->json.data,
        .json_len = it->json.len,
    };
    return ops->add(w, &out, err);
}

/* Writes a finished shard's sidecars and then commits the shard itself, last, so a shard
 * under its final name always has its index and sums beside it. The old shard goes
 * first: a new index must never sit beside an old shard, even if a rename fails. */
static int commit_shard(sp_job *run, sp_shard *sh, const char *tmp, const char *final,
                        sp_sidecar *sc, size_t nsc, sp_error *err)
{
    if (unlink(final) != 0 && errno != ENOENT) {
        sp_error_set_path(err, final);
        return sp_fail(err, SP_E_IO, "cannot replace: %s", strerror(errno));
    }
    sp_buf blocks = {0};
    int rc = sp_file_digest(tmp, &sh->bytes, &sh->hash, &blocks, err);
    if (rc == SP_OK && nsc < SP_MAX_SIDECARS + 1) {
        snprintf(sc[nsc].name, sizeof(sc[nsc].name), "%s.xxh", sh->path);
        sc[nsc].data = blocks;
        memset(&blocks, 0, sizeof(blocks));
        nsc++;
    }
    sp_buf_free(&blocks);
    for (size_t i = 0; rc == SP_OK && i < nsc; i++) {
        char *path = sp_path_join(run->outdir, sc[i].name);
        rc = path ? sp_write_file_atomic(path, sc[i].data.data ? sc[i].data.data : "",
                                         sc[i].data.len, err)
                  : sp_fail(err, SP_E_NOMEM, "out of memory");
        free(path);
        if (rc == SP_OK) {
            sh->sidecar_bytes[sh->nsidecars] = sc[i].data.len;
            sh->sidecar_hash[sh->nsidecars] = sp_hash_bytes(sc[i].data.data ? sc[i].data.data : "", sc[i].data.len);
            if (!(sh->sidecars[sh->nsidecars++] = sp_strdup(sc[i].name)))
                rc = sp_fail(err, SP_E_NOMEM, "out of memory");
        }
    }
    if (rc == SP_OK) rc = sp_commit_file(tmp, final, err);
    if (rc != SP_OK)
        for (size_t i = 0; i < sh->nsidecars; i++) {
            char *path = sp_path_join(run->outdir, sh->sidecars[i]);
            if (path) unlink(path);
            free(path);
        }
    return rc;
}

/* A record whose sample failed: the same record (key, chain, shard) made from another
 * sample of its class in this sink (src/substitute.c chooses), so a corrupt file never
 * leaves its class short. Serial, after the window: the choice and the bytes never depend
 * on the thread count. Returns 1 with *it filled and *by set, 0 if none works. */
static int substitute(const sp_job *run, size_t s, sp_subst_pool *pool, const sp_record *bad,
                      item *it, sp_record *by)
{
    for (size_t t = 0; t < SP_SUBST_TRIES; t++) {
        int found = sp_subst_candidate(run, s, pool, bad, t, by);
        item_reset(it);
        if (found <= 0) return found;
        process(run, &run->sinks[s], by, it);
        if (it->rc == SP_OK) {
            /* Say in the record's metadata what it stands in for. */
            if (it->json.len >= 2) it->json.len -= 2; /* "}\n" */
            sp_buf_puts(&it->json, ", \"substitute_for\": ");
            sp_json_str(&it->json, sp_run_sample(run, bad)->path);
            sp_buf_puts(&it->json, "}\n");
            return it->json.oom ? SP_E_NOMEM : 1;
        }
    }
    item_reset(it);
    return 0;
}

static int build_shard(sp_job *run, sp_sink_plan *sp, sp_shard *sh, item *items, size_t window,
                       sp_scratch *scratch, uint64_t *done, uint64_t total,
                       sp_subst_pool *pool)
{
    sp_ctx *ctx = run->ctx;
    const sp_sink_ops *ops = run->pipe->stages[sp->stage].desc->sink;
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
    sp_shard_writer *w = NULL;
    sp_sidecar sc[SP_MAX_SIDECARS + 1];
    memset(sc, 0, sizeof(sc));
    size_t nsc = 0;
    int rc = ops->open(run->pipe->stages[sp->stage].opts, tmp, sh->path, &w, &err);
    int threads = sp_ctx_threads(ctx);
    for (size_t base = 0; rc == SP_OK && base < sh->count; base += window) {
        size_t m = sh->count - base < window ? sh->count - base : window;
        const sp_record *recs = sp->recs.v + sh->first + base;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (size_t k = 0; k < m; k++) {
            items[k].scratch = scratch ? &scratch[omp_get_thread_num()] : NULL;
            process(run, sp, &recs[k], &items[k]);
        }
        for (size_t k = 0; k < m && rc == SP_OK; k++) {
            const sp_record *rec = &recs[k];
            sp_record by;
            if (items[k].rc != SP_OK &&
                (sp_severity_of(items[k].rc) == SP_SEV_SAMPLE || items[k].rc == SP_E_IO)) {
                rc = sp_run_add_skip(run, recs[k].source, recs[k].sample, "build", items[k].rc,
                                     items[k].err.msg);
                int found = rc == SP_OK ? substitute(run, (size_t)(sp - run->sinks), pool,
                                                     &recs[k], &items[k], &by)
                                        : 0;
                if (found < 0) rc = sp_fail(&err, SP_E_NOMEM, "out of memory");
                if (found > 0 && sp_run_add_subst(run, (size_t)(sp - run->sinks), &recs[k], &by) != SP_OK)
                    rc = sp_fail(&err, SP_E_NOMEM, "out of memory");
                if (found <= 0) continue;
                rec = &by;
            }
            if (items[k].rc == SP_OK) {
                rc = add_record(w, ops, run, rec, &items[k], &err);
                if (rc == SP_OK) {
                    const sp_sample *smp = sp_run_sample(run, rec);
                    int32_t label = run->catalogs[rec->source].to_global[smp->label];
                    sh->records_written++;
                    run->counts_out[label]++;
                    sp->counts_out[label]++;
                }
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
    if (rc == SP_OK) rc = ops->finish(w, sc, &nsc, &err);
    int fault = rc == SP_OK ? sp_test_fault(final) : 0;
    if (fault) {
        sp_error_set_path(&err, tmp);
        rc = sp_fail(&err, SP_E_IO, "cannot sync: %s", strerror(fault));
    }
    if (rc == SP_OK) rc = commit_shard(run, sh, tmp, final, sc, nsc, &err);
    for (size_t i = 0; i < SP_ARRAY_LEN(sc); i++) sp_buf_free(&sc[i].data);
    ops->free(&w);
    if (rc != SP_OK) {
        /* Whatever failed, nothing half-written survives under either name. */
        unlink(tmp);
        if (err.code == SP_E_IO) {
            char msg[sizeof(err.msg) + 300];
            snprintf(msg, sizeof(msg), "shard %.250s not written: %s", sh->path, err.msg);
            msg[sizeof(err.msg) - 1] = '\0';
            memcpy(err.msg, msg, sizeof(err.msg));
        }
        if (err.code) sp_ctx_error(ctx, &err);
    } else {
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

/* The sink-wide file (a wids index), once every shard of the sink exists. */
static int finish_sink(sp_job *run, sp_sink_plan *sp)
{
    const sp_stage *st = &run->pipe->stages[sp->stage];
    if (!st->desc->sink->finish_sink) return SP_OK;
    sp_sidecar out;
    memset(&out, 0, sizeof(out));
    sp_error err;
    sp_error_clear(&err);
    int rc = st->desc->sink->finish_sink(st->opts, sp_sink_prefix(st), sp->shards, sp->nshards,
                                         &out, &err);
    char *path = rc == SP_OK ? sp_path_join(run->outdir, out.name) : NULL;
    if (rc == SP_OK && !path) rc = sp_fail(&err, SP_E_NOMEM, "out of memory");
    if (rc == SP_OK) rc = sp_write_file_if_changed(path, out.data.data ? out.data.data : "", out.data.len, &err);
    if (rc == SP_OK && !(sp->sink_file = sp_strdup(out.name))) rc = sp_fail(&err, SP_E_NOMEM, "out of memory");
    free(path);
    sp_buf_free(&out.data);
    return rc == SP_OK ? rc : sp_ctx_error(run->ctx, &err);
}

/* Whether `name` looks like an output of the sink with this prefix: PREFIX-DIGITS, an
 * optional -of-DIGITS, an optional extension chain, optionally as a ".NAME.tmp"
 * temporary. Gives the shard index. */
static bool sink_file(const char *name, const char *prefix, bool *tmp, long *index)
{
    *tmp = name[0] == '.';
    if (*tmp) name++;
    size_t lp = strlen(prefix);
    if (strncmp(name, prefix, lp) != 0 || name[lp] != '-') return false;
    char *end;
    const char *d = name + lp + 1;
    if (*d < '0' || *d > '9') return false;
    *index = strtol(d, &end, 10);
    if (strncmp(end, "-of-", 4) == 0 && end[4] >= '0' && end[4] <= '9') strtol(end + 4, &end, 10);
    for (const char *p = end; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '.')) return false;
    return !*tmp || (strlen(end) >= 4 && strcmp(end + strlen(end) - 4, ".tmp") == 0);
}

/* Whether a file named like a shard of this sink is one the current plan writes: shard
 * `idx` exists and the name is its stem plus one of the sink's suffixes. A change of
 * type, shard count or options leaves other names, and those are stale. */
static bool is_current(const sp_job *run, const sp_sink_plan *sp, const char *name, long idx)
{
    if (idx < 0 || (size_t)idx >= sp->nshards) return false;
    const sp_sink_ops *ops = run->pipe->stages[sp->stage].desc->sink;
    const char *shard = sp->shards[idx].path;
    size_t stem = strlen(shard) - strlen(ops->suffixes[0]);
    if (strncmp(name, shard, stem) != 0) return false;
    for (const char *const *x = ops->suffixes; *x; x++)
        if (strcmp(name + stem, *x) == 0) return true;
    return false;
}

/* Temporary files a killed run left behind in a folder: those this process owns. */
static bool remove_leftovers(sp_job *run, const char *dir, bool every_tmp)
{
    DIR *d = opendir(dir);
    if (!d) return false;
    bool removed = false;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        bool tmp = n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0;
        if (!tmp || !(every_tmp || sp_resume_owns_tmp(run, e->d_name))) continue;
        char *path = sp_path_join(dir, e->d_name);
        if (path && unlink(path) == 0) {
            removed = true;
            sp_log(run->ctx, SP_LOG_DEBUG, "removed leftover %s", path);
        }
        free(path);
    }
    closedir(d);
    return removed;
}

/* Before writing: the old manifest goes first (it would describe shards about to be
 * replaced), then temporary files a killed run left behind, then files of shards this
 * plan no longer has — a loader globbing PREFIX-*.tar must not read stale data. A build
 * with nothing to write and nothing stale leaves the manifest alone. A part removes only
 * its own temporaries: the other parts may be writing theirs right now. */
static int clear_stale(sp_job *run)
{
    char *manifest = sp_path_join(run->outdir, "manifest.json");
    if (!manifest) return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    bool removed = false;
    char **stale = NULL;
    size_t nstale = 0;
    DIR *d = opendir(run->outdir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        for (size_t s = 0; s < run->nsinks; s++) {
            const sp_sink_plan *sp = &run->sinks[s];
            bool tmp;
            long idx;
            if (!sink_file(e->d_name, sp_sink_prefix(&run->pipe->stages[sp->stage]), &tmp, &idx))
                continue;
            if (tmp || is_current(run, sp, e->d_name, idx)) continue;
            char **v = realloc(stale, (nstale + 1) * sizeof(*v));
            if (v) stale = v;
            if (v && (v[nstale] = sp_path_join(run->outdir, e->d_name))) nstale++;
            break;
        }
    }
    if (d) closedir(d);
    if (nstale || sp_resume_has_work(run)) {
        removed = unlink(manifest) == 0;
        /* Sink-wide indexes describe the old set of shards too. */
        for (size_t s = 0; s < run->nsinks; s++) {
            char name[160];
            snprintf(name, sizeof(name), "%s.wids.json", sp_sink_prefix(&run->pipe->stages[run->sinks[s].stage]));
            char *path = sp_path_join(run->outdir, name);
            if (path && unlink(path) == 0) removed = true;
            free(path);
        }
    }
    if (remove_leftovers(run, run->outdir, false)) removed = true;
    for (size_t i = 0; i < nstale; i++) {
        if (unlink(stale[i]) == 0) {
            removed = true;
            sp_log(run->ctx, SP_LOG_DEBUG, "removed stale %s", stale[i]);
        }
        free(stale[i]);
    }
    free(stale);
    /* The bookkeeping folders: stamps a killed run was writing, and (whole builds only)
     * the catalog cache's, partial manifests' and plan --depfile's slice files'
     * temporaries. */
    const char *sub[] = {".shardpack/stamps", ".shardpack", ".shardpack/parts",
                         ".shardpack/slices"};
    for (size_t i = 0; i < SP_ARRAY_LEN(sub); i++) {
        if (i > 0 && !sp_resume_whole(run)) break;
        char *dir = sp_path_join(run->outdir, sub[i]);
        if (dir) remove_leftovers(run, dir, i > 0);
        free(dir);
    }
    /* Syncing the folder of manifest.json syncs the output folder itself. */
    int rc = removed ? sp_fsync_dir_of(manifest, &run->ctx->err) : SP_OK;
    free(manifest);
    return rc;
}

int sp_build(sp_job *run)
{
    int rc0 = sp_resume_begin(run);
    if (rc0 == SP_OK) rc0 = clear_stale(run);
    if (rc0 != SP_OK) return rc0;
    size_t window = (size_t)sp_ctx_threads(run->ctx) * WINDOW_PER_THREAD;
    item *items = calloc(window, sizeof(item));
    if (!items) return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    /* One scratch per worker thread, kept for the whole build (NULL: stages allocate). */
    const size_t nthreads = (size_t)sp_ctx_threads(run->ctx);
    sp_scratch *scratch = sp_scratch_array_new(nthreads);
    uint64_t total = 0, done = 0;
    for (size_t s = 0; s < run->nsinks; s++) total += run->sinks[s].recs.n;
    int rc = sp_progress(run->ctx, SP_PHASE_BUILD, 0, total);
    sp_subst_pool *pool = sp_subst_pool_new();
    if (!pool) rc = sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    for (size_t s = 0; rc == SP_OK && s < run->nsinks; s++) {
        sp_sink_plan *sp = &run->sinks[s];
        if (!(sp->counts_out = calloc(run->nclasses ? run->nclasses : 1, sizeof(uint64_t))))
            rc = sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
        for (size_t i = 0; rc == SP_OK && i < sp->nshards; i++) {
            /* Shards in plan order, current ones taken from their stamps in their turn,
             * so the job (skips, counts) ends as an uninterrupted build leaves it. */
            if (!sp_resume_mine(run, s, i)) {
                done += sp->shards[i].count;
            } else if (sp_resume_current(run, s, i)) {
                size_t skips_from = run->nskips, substs_from = run->nsubsts;
                rc = sp_resume_restore(run, s, i);
                if (rc == SP_OK && run->select && run->select->nshards)
                    rc = sp_resume_touch(run, s, i, skips_from, substs_from);
                done += sp->shards[i].count;
                if (rc == SP_OK) rc = sp_progress(run->ctx, SP_PHASE_BUILD, done, total);
            } else {
                size_t skips_from = run->nskips, substs_from = run->nsubsts;
                rc = sp_resume_forget(run, s, i);
                if (rc == SP_OK) rc = build_shard(run, sp, &sp->shards[i], items, window, scratch,
                                     &done, total, pool);
                if (rc == SP_OK) rc = sp_resume_stamp(run, s, i, skips_from, substs_from);
            }
        }
        if (rc == SP_OK && sp_resume_whole(run)) rc = finish_sink(run, sp);
    }
    sp_subst_pool_free(&pool);
    free(items);
    sp_scratch_array_free(&scratch, nthreads);
    return rc;
}
