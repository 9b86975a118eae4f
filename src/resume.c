/*
 * Resume: a build killed at any moment, rerun, gives the bytes an uninterrupted build
 * gives, and rebuilds only what is missing or out of date.
 *
 * Each shard's *slice* — its records in order and everything their bytes depend on — is
 * hashed (XXH3-128). Right after a shard is committed under its final name, a stamp
 * (OUTDIR/.shardpack/stamps/SHARD.json, written atomically) records that hash with what
 * the manifest needs of the shard: records, bytes, checksum, sidecars, the samples it
 * skipped, the stand-ins it wrote for them and what chose each (choice_hash). The next
 * build keeps a shard whose stamp matches its slice hash, whose stand-ins the inputs
 * still choose, and whose files still have the stamped size and mtime, and takes its
 * results from the stamp instead of building it. A stamp is removed before its shard is
 * rebuilt, and names the slice it describes, so an old stamp is never taken for a current
 * one: a shard killed between its rename and its stamp is simply rebuilt.
 *
 * The same stamps let a build be split (--part I/N, --shard NAME): each process writes its
 * own shards and stamps, and `finish` plans again and takes every shard from its stamp.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdio.h>
#include <jpeglib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#define STAMP_VERSION 4 /* 2: stand-ins ("substs"); 3: a code per [run] limit; 4: sidecar
                          * mtimes (npy labels are data: an edit of the same size counts) */

struct sp_resume {
    size_t nshards;     /* over every sink */
    size_t *first;      /* per sink: global index of its first shard */
    sp_hash128 *slice;  /* per global shard */
    cJSON **stamp;      /* per global shard: its stamp, when current */
    bool *mine;         /* per global shard */
    sp_hash128 *chain;  /* per chain, computed on first use */
    bool *chain_done;
    sp_hash128 *source; /* per catalog: its source stage's options */
    char *stamps_dir;
    size_t work;        /* shards this process will write */
    sp_subst_pool *pool; /* the candidates of stand-ins, one sink at a time */
    sp_hash128 *pool_hash; /* per sink and class: its candidates by name (pool_hash) */
    bool *pool_done;
    bool begun; /* stamps loaded (sp_resume_begin); slices alone serve plan --depfile */
};

/* ---- hashing ----------------------------------------------------------------------- */

/* Every field is length-prefixed, so no two different slices feed the same bytes. */
static void h_bytes(XXH3_state_t *st, const void *p, size_t n)
{
    uint64_t len = n;
    XXH3_128bits_update(st, &len, sizeof(len));
    if (n) XXH3_128bits_update(st, p, n);
}

static void h_str(XXH3_state_t *st, const char *s)
{
    h_bytes(st, s ? s : "", s ? strlen(s) : 0);
}

static void h_u64(XXH3_state_t *st, uint64_t v)
{
    XXH3_128bits_update(st, &v, sizeof(v));
}

static void h_hash(XXH3_state_t *st, sp_hash128 h)
{
    h_u64(st, h.hi);
    h_u64(st, h.lo);
}

/* An options struct as the text of each option: what the manifest records, so every
 * option a stage has (and any it gains later) counts, whatever its type. */
static void h_options(XXH3_state_t *st, const sp_option *table, const void *opts,
                      const char *skip, bool *oom)
{
    for (const sp_option *o = table; o && o->name; o++) {
        if (skip && strcmp(o->name, skip) == 0) continue;
        sp_buf v = {0};
        sp_option_format(o, opts, &v);
        *oom |= v.oom;
        h_str(st, o->name);
        h_bytes(st, v.data ? v.data : "", v.len);
        sp_buf_free(&v);
    }
}

/* A stage instance: name, type, options, per-class values, and the members of a group
 * (sections outside the flow that act as its parts). */
static void h_stage(XXH3_state_t *st, const sp_pipeline *p, const sp_stage *s, bool *oom)
{
    h_str(st, s->name);
    h_str(st, s->desc->name);
    bool random = (s->desc->flags & SP_PIXEL_RANDOM) != 0;
    if (random) h_options(st, sp_random_options, s, NULL, oom);
    h_options(st, s->desc->options, s->opts, NULL, oom);
    h_u64(st, s->nvariants);
    for (size_t v = 0; v < s->nvariants; v++) {
        h_str(st, s->variants[v].name);
        if (random) h_options(st, sp_random_options, &s->variants[v], NULL, oom);
        h_options(st, s->desc->options, s->variants[v].opts, NULL, oom);
    }
    int self = (int)(s - p->stages);
    if (self < 0 || (size_t)self >= p->nstages) return; /* a variant: no members of its own */
    for (size_t i = 0; i < p->nstages; i++)
        if (p->stages[i].member_of == self) h_stage(st, p, &p->stages[i], oom);
}

static sp_hash128 digest(XXH3_state_t *st)
{
    XXH128_hash_t h = XXH3_128bits_digest(st);
    return (sp_hash128){h.high64, h.low64};
}

static sp_hash128 chain_hash(sp_job *run, uint32_t c, bool *oom)
{
    struct sp_resume *rs = run->resume;
    if (rs->chain_done[c]) return rs->chain[c];
    XXH3_state_t st;
    XXH3_128bits_reset(&st);
    const sp_chain *ch = &run->chains[c];
    h_u64(&st, ch->n);
    for (size_t i = 0; i < ch->n; i++)
        h_stage(&st, run->pipe, &run->pipe->stages[ch->stages[i]], oom);
    rs->chain[c] = digest(&st);
    rs->chain_done[c] = true;
    return rs->chain[c];
}

static sp_hash128 slice_hash(sp_job *run, const sp_sink_plan *sp, const sp_shard *sh, bool *oom)
{
    const sp_pipeline *p = run->pipe;
    XXH3_state_t st;
    XXH3_128bits_reset(&st);
    h_str(&st, "shardpack slice");
    h_u64(&st, STAMP_VERSION);
    h_str(&st, SP_VERSION_STRING);
    /* The codecs' versions: a new libjpeg or libpng may encode the same pixels otherwise. */
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
    h_u64(&st, LIBJPEG_TURBO_VERSION_NUMBER);
#endif
    h_u64(&st, JPEG_LIB_VERSION);
    h_u64(&st, png_access_version_number());
    h_options(&st, sp_run_options, &p->run, "output", oom); /* where is not what */
    h_stage(&st, p, &p->stages[sp->stage], oom);
    h_str(&st, sh->path);
    h_u64(&st, sh->index);
    h_u64(&st, sp->nshards);
    h_u64(&st, sh->count);
    for (size_t i = sh->first; i < sh->first + sh->count; i++) {
        const sp_record *r = &sp->recs.v[i];
        const sp_catalog *cat = &run->catalogs[r->source];
        const sp_sample *s = &cat->samples[r->sample];
        int32_t label = s->label >= 0 ? cat->to_global[s->label] : -1;
        h_str(&st, r->key);
        h_u64(&st, r->copy);
        h_u64(&st, r->split);
        h_hash(&st, chain_hash(run, r->chain, oom));
        h_hash(&st, run->resume->source[r->source]);
        h_str(&st, s->path);
        h_hash(&st, s->hash);
        h_str(&st, s->format ? s->format->name : "");
        h_u64(&st, s->info.width);
        h_u64(&st, s->info.height);
        h_u64(&st, s->info.channels);
        h_u64(&st, s->size);
        h_u64(&st, s->offset);
        h_u64(&st, s->split_hint);
        h_u64(&st, s->cluster);
        h_u64(&st, (uint64_t)(int64_t)label);
        h_str(&st, label >= 0 ? run->classes[label] : "");
    }
    return digest(&st);
}

/* What decides a stand-in beyond what the slice hash covers (the seed, the bad record's
 * path, copy and chain, its sample's content). The choice walks the candidates of the
 * class in the sink (src/substitute.c) from a start drawn from the seed and the bad
 * record, and takes the first that builds: so it depends on which samples are candidates
 * and in what order (a sample of the class added to the sink or dropped from it moves the
 * start), and on what decides the bytes — or the failure — of each candidate tried, the
 * failed ones before the stand-in and the stand-in itself. Candidates the walk never
 * reached count by name only: editing one of them leaves the stand-in as it was. */
typedef struct cand_hash {
    XXH3_state_t *st;
    const sp_job *run;
} cand_hash;

static void h_cand_name(void *arg, uint32_t source, uint32_t sample)
{
    cand_hash *c = arg;
    const sp_catalog *cat = &c->run->catalogs[source];
    h_str(c->st, cat->source);
    h_str(c->st, cat->samples[sample].path);
}

static void h_cand(XXH3_state_t *st, const sp_job *run, uint32_t source, uint32_t sample)
{
    const sp_catalog *cat = &run->catalogs[source];
    const sp_sample *s = &cat->samples[sample];
    h_hash(st, run->resume->source[source]);
    h_str(st, cat->source);
    h_str(st, s->path);
    h_hash(st, s->hash);
    h_str(st, s->format ? s->format->name : "");
    h_u64(st, s->info.width);
    h_u64(st, s->info.height);
    h_u64(st, s->info.channels);
    h_u64(st, s->size);
    h_u64(st, s->offset);
}

/* The candidates of class `label` in sink s, by name and in order (cached per class). */
static int pool_hash(sp_job *run, size_t s, int32_t label, sp_hash128 *out)
{
    struct sp_resume *rs = run->resume;
    if (label < 0 || (size_t)label >= run->nclasses) return SP_E_INTERNAL;
    size_t k = s * run->nclasses + (size_t)label;
    if (!rs->pool_done[k]) {
        XXH3_state_t st;
        XXH3_128bits_reset(&st);
        h_str(&st, "shardpack candidates");
        h_str(&st, run->classes[label]);
        cand_hash c = {&st, run};
        if (sp_subst_class_each(run, s, rs->pool, label, h_cand_name, &c) != SP_OK)
            return SP_E_NOMEM;
        rs->pool_hash[k] = digest(&st);
        rs->pool_done[k] = true;
    }
    *out = rs->pool_hash[k];
    return SP_OK;
}

static int32_t label_of(const sp_job *run, uint32_t source, uint32_t sample)
{
    const sp_catalog *cat = &run->catalogs[source];
    int32_t l = cat->samples[sample].label;
    return l >= 0 ? cat->to_global[l] : -1;
}

/* The choice of a stand-in (by_source, by_sample) for `bad` in sink s, as the inputs now
 * make it: SP_OK with *out and the stand-in's copy number; SP_E_CHANGED when the walk no
 * longer reaches that sample; SP_E_NOMEM. */
static int choice_hash(sp_job *run, size_t s, const sp_record *bad, uint32_t by_source,
                       uint32_t by_sample, sp_hash128 *out, uint32_t *by_copy)
{
    sp_hash128 pool;
    int rc = pool_hash(run, s, label_of(run, bad->source, bad->sample), &pool);
    if (rc != SP_OK) return rc;
    XXH3_state_t st;
    XXH3_128bits_reset(&st);
    h_str(&st, "shardpack stand-in");
    h_hash(&st, pool);
    for (size_t t = 0; t < SP_SUBST_TRIES; t++) {
        sp_record c;
        int found = sp_subst_candidate(run, s, run->resume->pool, bad, t, &c);
        if (found < 0) return SP_E_NOMEM;
        if (found == 0) break;
        h_cand(&st, run, c.source, c.sample);
        if (c.source == by_source && c.sample == by_sample) {
            *out = digest(&st);
            *by_copy = c.copy;
            return SP_OK;
        }
    }
    return SP_E_CHANGED;
}

static int cmp_sample_path(const void *key, const void *elem)
{
    return strcmp(key, ((const sp_sample *)elem)->path);
}

/* The sample a stamp names by source stage and path, in this plan's catalogs. */
static bool find_sample(const sp_job *run, const char *source, const char *path,
                        uint32_t *src, uint32_t *smp)
{
    for (size_t c = 0; source && path && c < run->ncatalogs; c++) {
        const sp_catalog *cat = &run->catalogs[c];
        if (strcmp(cat->source, source) != 0) continue;
        const sp_sample *hit = cat->nsamples ? bsearch(path, cat->samples, cat->nsamples,
                                                       sizeof(*cat->samples), cmp_sample_path)
                                             : NULL;
        if (!hit) return false;
        *src = (uint32_t)c;
        *smp = (uint32_t)(hit - cat->samples);
        return true;
    }
    return false;
}

/* ---- stamps ------------------------------------------------------------------------ */

static char *stamp_path(const sp_job *run, const sp_shard *sh)
{
    size_t n = strlen(run->resume->stamps_dir) + strlen(sh->path) + 8;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s.json", run->resume->stamps_dir, sh->path);
    return p;
}

static bool json_u64(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 9007199254740992.0 ||
        j->valuedouble != (double)(uint64_t)j->valuedouble)
        return false;
    *out = (uint64_t)j->valuedouble;
    return true;
}

static const char *json_s(const cJSON *o, const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

/* A stamp's stand-in still stands: the bad sample and the stand-in are in the catalogs,
 * and the choice, made again from the inputs as they are now, takes the same sample with
 * the same copy number after the same candidates (choice_hash). The stand-in's content is
 * in that hash; its stamped content hash says so in the stamp for a reader. */
static bool subst_current(sp_job *run, size_t s, const cJSON *it)
{
    uint32_t src, smp, now_copy = 0;
    uint64_t copy, by_copy;
    sp_hash128 h, now;
    sp_record bad;
    memset(&bad, 0, sizeof(bad));
    const char *x = json_s(it, "by_xxh3"), *choice = json_s(it, "choice");
    if (!find_sample(run, json_s(it, "source"), json_s(it, "path"), &bad.source, &bad.sample) ||
        !find_sample(run, json_s(it, "by_source"), json_s(it, "by"), &src, &smp) ||
        !json_u64(cJSON_GetObjectItemCaseSensitive(it, "copy"), &copy) || copy > UINT32_MAX ||
        !json_u64(cJSON_GetObjectItemCaseSensitive(it, "by_copy"), &by_copy) || !x ||
        sp_hash_parse(x, &h) != SP_OK || !choice)
        return false;
    bad.copy = (uint32_t)copy;
    const sp_sample *by = &run->catalogs[src].samples[smp];
    if (label_of(run, bad.source, bad.sample) < 0 || by->hash.hi != h.hi || by->hash.lo != h.lo ||
        choice_hash(run, s, &bad, src, smp, &now, &now_copy) != SP_OK || now_copy != by_copy)
        return false;
    char hex[33];
    sp_hash_hex(now, hex);
    return strcmp(hex, choice) == 0;
}

/* The file exists with this size and, if given, this mtime ("SECONDS.NANOSECONDS"). */
static bool file_matches(const sp_job *run, const char *name, uint64_t bytes, const char *mtime)
{
    char *path = sp_path_join(run->outdir, name);
    struct stat st;
    bool ok = path && stat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == bytes;
    if (ok && mtime) {
        char now[48];
        snprintf(now, sizeof(now), "%lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        ok = strcmp(now, mtime) == 0;
    }
    free(path);
    return ok;
}

/* Every skip names a sample of the slice, no sample more often than the slice has records
 * of it, with a status code: what sp_resume_restore relies on. A stamp damaged on disk is
 * then stale (the shard is built again), never a build that fails on every rerun. */
static bool skips_fit(const sp_job *run, size_t s, const sp_shard *sh, const cJSON *skips)
{
    const sp_sink_plan *sp = &run->sinks[s];
    const cJSON *it, *other;
    cJSON_ArrayForEach(it, skips)
    {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(it, "code");
        uint32_t src, smp, o_src, o_smp;
        if (!cJSON_IsNumber(code) || !(code->valuedouble >= -1000 && code->valuedouble < 0) ||
            (double)(int)code->valuedouble != code->valuedouble || !json_s(it, "detail") ||
            !find_sample(run, json_s(it, "source"), json_s(it, "path"), &src, &smp))
            return false;
        size_t named = 0, held = 0;
        cJSON_ArrayForEach(other, skips)
        {
            named += find_sample(run, json_s(other, "source"), json_s(other, "path"), &o_src,
                                 &o_smp) &&
                     o_src == src && o_smp == smp;
        }
        for (size_t k = 0; k < sh->count; k++)
            held += sp->recs.v[sh->first + k].source == src &&
                    sp->recs.v[sh->first + k].sample == smp;
        if (named > held) return false;
    }
    return true;
}

/* A stamp describes the shard on disk now: same slice, shard and sidecars of the stamped
 * sizes, the shard of the stamped mtime, skips that name records of the slice, and
 * stand-ins that the current inputs would choose again (subst_current). Every record of
 * the slice was written, or skipped, or skipped and written from a stand-in. */
static cJSON *load_stamp(sp_job *run, size_t s, const sp_shard *sh, sp_hash128 slice)
{
    char *path = stamp_path(run, sh);
    uint8_t *data = NULL;
    size_t len = 0;
    sp_error err;
    int rc = path ? sp_read_file(path, 1u << 26, &data, &len, &err) : SP_E_NOMEM;
    free(path);
    if (rc != SP_OK) return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)data, len);
    free(data);
    char want[33];
    sp_hash_hex(slice, want);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "stamp");
    const char *sl = json_s(j, "slice"), *sp_path = json_s(j, "path"), *mt = json_s(j, "mtime");
    const char *x = json_s(j, "xxh3");
    uint64_t records, bytes, b2;
    sp_hash128 h;
    bool ok = cJSON_IsNumber(ver) && ver->valuedouble == STAMP_VERSION && sl &&
              strcmp(sl, want) == 0 && sp_path && strcmp(sp_path, sh->path) == 0 && mt && x &&
              sp_hash_parse(x, &h) == SP_OK &&
              json_u64(cJSON_GetObjectItemCaseSensitive(j, "records"), &records) &&
              json_u64(cJSON_GetObjectItemCaseSensitive(j, "bytes"), &bytes) &&
              file_matches(run, sh->path, bytes, mt);
    const cJSON *side = cJSON_GetObjectItemCaseSensitive(j, "sidecars"), *it;
    const cJSON *skips = cJSON_GetObjectItemCaseSensitive(j, "skips");
    const cJSON *substs = cJSON_GetObjectItemCaseSensitive(j, "substs");
    ok = ok && cJSON_IsArray(side) && cJSON_GetArraySize(side) <= SP_MAX_SIDECARS + 1 &&
         cJSON_IsArray(skips) && cJSON_IsArray(substs) &&
         cJSON_GetArraySize(substs) <= cJSON_GetArraySize(skips) &&
         records + (uint64_t)cJSON_GetArraySize(skips) ==
             sh->count + (uint64_t)cJSON_GetArraySize(substs);
    cJSON_ArrayForEach(it, (ok ? side : NULL))
    {
        const char *n = json_s(it, "path"), *sx = json_s(it, "xxh3"), *smt = json_s(it, "mtime");
        ok = ok && n && !strchr(n, '/') && sx && sp_hash_parse(sx, &h) == SP_OK && smt &&
             json_u64(cJSON_GetObjectItemCaseSensitive(it, "bytes"), &b2) &&
             file_matches(run, n, b2, smt);
    }
    ok = ok && skips_fit(run, s, sh, skips);
    cJSON_ArrayForEach(it, (ok ? substs : NULL)) ok = ok && subst_current(run, s, it);
    if (!ok) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static size_t global_index(const sp_job *run, size_t sink, size_t shard)
{
    return run->resume->first[sink] + shard;
}

/* The state and every shard's slice hash: what plan --depfile needs, without stamps. */
static int resume_init(sp_job *run)
{
    sp_ctx *ctx = run->ctx;
    if (run->resume) return SP_OK;
    struct sp_resume *rs = calloc(1, sizeof(*rs));
    if (!rs) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    run->resume = rs;
    size_t n = 0;
    rs->first = calloc(run->nsinks ? run->nsinks : 1, sizeof(size_t));
    for (size_t s = 0; rs->first && s < run->nsinks; s++) {
        rs->first[s] = n;
        n += run->sinks[s].nshards;
    }
    rs->nshards = n;
    rs->slice = calloc(n ? n : 1, sizeof(sp_hash128));
    rs->stamp = calloc(n ? n : 1, sizeof(cJSON *));
    rs->mine = calloc(n ? n : 1, sizeof(bool));
    rs->chain = calloc(run->nchains ? run->nchains : 1, sizeof(sp_hash128));
    rs->chain_done = calloc(run->nchains ? run->nchains : 1, sizeof(bool));
    rs->source = calloc(run->ncatalogs ? run->ncatalogs : 1, sizeof(sp_hash128));
    size_t npools = run->nsinks * run->nclasses;
    rs->pool_hash = calloc(npools ? npools : 1, sizeof(sp_hash128));
    rs->pool_done = calloc(npools ? npools : 1, sizeof(bool));
    rs->pool = sp_subst_pool_new();
    char *meta = sp_path_join(run->outdir, ".shardpack");
    rs->stamps_dir = meta ? sp_path_join(meta, "stamps") : NULL;
    free(meta);
    if (!rs->first || !rs->slice || !rs->stamp || !rs->mine || !rs->chain || !rs->chain_done ||
        !rs->source || !rs->stamps_dir || !rs->pool_hash || !rs->pool_done || !rs->pool)
        return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    bool oom = false;
    /* A source's options count too: they say how a file becomes a sample (labels, …). */
    for (size_t i = 0; i < run->pipe->nstages; i++) {
        int c = run->catalog_of_stage ? run->catalog_of_stage[i] : -1;
        if (c < 0) continue;
        XXH3_state_t st;
        XXH3_128bits_reset(&st);
        h_stage(&st, run->pipe, &run->pipe->stages[i], &oom);
        rs->source[c] = digest(&st);
    }
    for (size_t s = 0; s < run->nsinks; s++) {
        const sp_sink_plan *sp = &run->sinks[s];
        for (size_t i = 0; i < sp->nshards; i++)
            rs->slice[rs->first[s] + i] = slice_hash(run, sp, &sp->shards[i], &oom);
    }
    return oom ? sp_fail(&ctx->err, SP_E_NOMEM, "out of memory") : SP_OK;
}

int sp_resume_slice_hex(sp_job *run, size_t sink, size_t shard, char hex[33])
{
    int rc = resume_init(run);
    if (rc != SP_OK) return rc;
    sp_hash_hex(run->resume->slice[global_index(run, sink, shard)], hex);
    return SP_OK;
}

int sp_resume_begin(sp_job *run)
{
    sp_ctx *ctx = run->ctx;
    int rc = resume_init(run);
    if (rc != SP_OK) return rc;
    struct sp_resume *rs = run->resume;
    if (rs->begun) return SP_OK;
    rs->begun = true;
    size_t n = rs->nshards;
    bool oom = false;
    const sp_build_opts *sel = run->select;
    for (size_t s = 0; s < run->nsinks; s++) {
        sp_sink_plan *sp = &run->sinks[s];
        for (size_t i = 0; i < sp->nshards; i++) {
            size_t g = rs->first[s] + i;
            bool mine = true;
            if (sel && sel->nparts) mine = g % sel->nparts == sel->part;
            if (sel && sel->nshards) {
                mine = false;
                for (size_t k = 0; k < sel->nshards && !mine; k++)
                    mine = strcmp(sel->shards[k], sp->shards[i].path) == 0;
            }
            rs->mine[g] = mine;
            rs->stamp[g] = load_stamp(run, s, &sp->shards[i], rs->slice[g]);
            if (mine && !rs->stamp[g]) rs->work++;
        }
    }
    if (oom) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    /* A shard asked for by name that the plan does not have is a typo or a stale list. */
    for (size_t k = 0; sel && k < sel->nshards; k++) {
        bool found = false;
        for (size_t s = 0; s < run->nsinks && !found; s++)
            for (size_t i = 0; i < run->sinks[s].nshards && !found; i++)
                found = strcmp(sel->shards[k], run->sinks[s].shards[i].path) == 0;
        if (!found)
            return sp_fail(&ctx->err, SP_E_USAGE,
                           "--shard %s: the plan has no such shard (shardpack plan "
                           "--list-shards lists them)",
                           sel->shards[k]);
    }
    size_t mine = 0, current = 0;
    for (size_t g = 0; g < n; g++) {
        mine += rs->mine[g];
        current += rs->mine[g] && rs->stamp[g];
    }
    if (current)
        sp_log(ctx, SP_LOG_INFO, "resume: %zu of %zu shards are current, %zu to build", current,
               mine, mine - current);
    return sp_mkdirs(rs->stamps_dir, &ctx->err);
}

void sp_resume_free(sp_job *run)
{
    struct sp_resume *rs = run->resume;
    if (!rs) return;
    for (size_t g = 0; rs->stamp && g < rs->nshards; g++) cJSON_Delete(rs->stamp[g]);
    free(rs->stamp);
    free(rs->first);
    free(rs->slice);
    free(rs->mine);
    free(rs->chain);
    free(rs->chain_done);
    free(rs->source);
    free(rs->stamps_dir);
    free(rs->pool_hash);
    free(rs->pool_done);
    sp_subst_pool_free(&rs->pool);
    free(rs);
    run->resume = NULL;
}

bool sp_resume_mine(const sp_job *run, size_t sink, size_t shard)
{
    return run->resume->mine[global_index(run, sink, shard)];
}

bool sp_resume_current(const sp_job *run, size_t sink, size_t shard)
{
    return run->resume->stamp[global_index(run, sink, shard)] != NULL;
}

bool sp_resume_has_work(const sp_job *run)
{
    return run->resume && run->resume->work > 0;
}

bool sp_resume_whole(const sp_job *run)
{
    return !run->select || (!run->select->nparts && !run->select->nshards);
}

int sp_resume_restore(sp_job *run, size_t sink, size_t shard)
{
    sp_sink_plan *sp = &run->sinks[sink];
    sp_shard *sh = &sp->shards[shard];
    const cJSON *j = run->resume->stamp[global_index(run, sink, shard)];
    uint64_t v = 0;
    json_u64(cJSON_GetObjectItemCaseSensitive(j, "records"), &sh->records_written);
    json_u64(cJSON_GetObjectItemCaseSensitive(j, "bytes"), &sh->bytes);
    sp_hash_parse(json_s(j, "xxh3"), &sh->hash);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "sidecars"))
    {
        size_t k = sh->nsidecars;
        json_u64(cJSON_GetObjectItemCaseSensitive(it, "bytes"), &v);
        sh->sidecar_bytes[k] = v;
        sp_hash_parse(json_s(it, "xxh3"), &sh->sidecar_hash[k]);
        if (!(sh->sidecars[k] = sp_strdup(json_s(it, "path"))))
            return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
        sh->nsidecars++;
    }
    /* The stand-ins first, in the order the build made them: each names its record by
     * sample and copy. */
    bool *failed = calloc(sh->count ? sh->count : 1, sizeof(bool));
    bool *stood = calloc(sh->count ? sh->count : 1, sizeof(bool));
    int rc = failed && stood ? SP_OK : sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    const cJSON *it2;
    cJSON_ArrayForEach(it2, cJSON_GetObjectItemCaseSensitive(j, "substs"))
    {
        if (rc != SP_OK) break;
        uint32_t bsrc = 0, bsmp = 0, src = 0, smp = 0;
        uint64_t copy = 0, by_copy = 0;
        json_u64(cJSON_GetObjectItemCaseSensitive(it2, "copy"), &copy);
        json_u64(cJSON_GetObjectItemCaseSensitive(it2, "by_copy"), &by_copy);
        bool found = find_sample(run, json_s(it2, "source"), json_s(it2, "path"), &bsrc, &bsmp) &&
                     find_sample(run, json_s(it2, "by_source"), json_s(it2, "by"), &src, &smp);
        size_t k = 0;
        for (; found && k < sh->count; k++) {
            const sp_record *r = &sp->recs.v[sh->first + k];
            if (!stood[k] && r->source == bsrc && r->sample == bsmp && r->copy == copy) break;
        }
        if (!found || k == sh->count) {
            rc = sp_fail(&run->ctx->err, SP_E_INTERNAL,
                         "%s: its stamp names a stand-in for a record it lacks", sh->path);
            break;
        }
        stood[k] = true;
        const sp_record *r = &sp->recs.v[sh->first + k];
        sp_record by = *r;
        by.source = src;
        by.sample = smp;
        by.copy = (uint32_t)by_copy;
        if (sp_run_add_subst(run, sink, r, &by) != SP_OK)
            rc = sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    }
    /* The skipped records, in the order the build met them: a record with a stand-in of
     * that sample if there is one left, else the next record of the slice from that
     * sample. Copies of one sample share its label, so the counts agree whichever copy a
     * skip without a stand-in was. */
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "skips"))
    {
        if (rc != SP_OK) break;
        const char *src = json_s(it, "source"), *path = json_s(it, "path");
        size_t pick = sh->count;
        for (size_t k = 0; k < sh->count; k++) {
            const sp_record *r = &sp->recs.v[sh->first + k];
            const sp_catalog *cat = &run->catalogs[r->source];
            if (failed[k] || strcmp(cat->source, src) != 0 ||
                strcmp(cat->samples[r->sample].path, path) != 0)
                continue;
            if (pick == sh->count || stood[k]) pick = k;
            if (stood[k]) break;
        }
        if (pick == sh->count) {
            rc = sp_fail(&run->ctx->err, SP_E_INTERNAL, "%s: its stamp names a record it lacks",
                         sh->path);
            break;
        }
        failed[pick] = true;
        const sp_record *r = &sp->recs.v[sh->first + pick];
        int code = (int)cJSON_GetObjectItemCaseSensitive(it, "code")->valuedouble;
        rc = sp_run_add_skip(run, r->source, r->sample, "build", code, json_s(it, "detail"));
    }
    /* Written: every record not skipped, and every skipped one a stand-in replaced (of its
     * class, so it counts as the record). */
    for (size_t k = 0; rc == SP_OK && k < sh->count; k++) {
        if (failed[k] && !stood[k]) continue;
        const sp_record *r = &sp->recs.v[sh->first + k];
        int32_t label = label_of(run, r->source, r->sample);
        run->counts_out[label]++;
        sp->counts_out[label]++;
    }
    free(stood);
    free(failed);
    if (rc != SP_OK) return rc;
    run->summary.shards_written++;
    run->summary.bytes_written += sh->bytes;
    run->summary.records_written += sh->records_written;
    sp_log(run->ctx, SP_LOG_DEBUG, "%s: current, kept", sh->path);
    return SP_OK;
}

int sp_resume_forget(sp_job *run, size_t sink, size_t shard)
{
    char *path = stamp_path(run, &run->sinks[sink].shards[shard]);
    if (!path) return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    int rc = SP_OK;
    if (unlink(path) == 0) {
        rc = sp_fsync_dir_of(path, &run->ctx->err);
    } else if (errno != ENOENT) {
        sp_error_set_path(&run->ctx->err, path);
        rc = sp_fail(&run->ctx->err, SP_E_IO, "cannot remove an old stamp: %s", strerror(errno));
    }
    free(path);
    return rc;
}

int sp_resume_stamp(sp_job *run, size_t sink, size_t shard, size_t skips_from,
                    size_t substs_from)
{
    const sp_shard *sh = &run->sinks[sink].shards[shard];
    sp_error err;
    sp_error_clear(&err);
    char *full = sp_path_join(run->outdir, sh->path);
    struct stat st;
    if (!full || stat(full, &st) != 0) {
        sp_error_set_path(&err, full ? full : sh->path);
        free(full);
        return sp_ctx_error(run->ctx, (sp_fail(&err, SP_E_IO, "cannot stat the new shard"), &err));
    }
    free(full);
    char hex[33];
    sp_buf b = {0};
    sp_hash_hex(run->resume->slice[global_index(run, sink, shard)], hex);
    sp_buf_printf(&b, "{\"stamp\": %d, \"slice\": \"%s\", \"path\": ", STAMP_VERSION, hex);
    sp_json_str(&b, sh->path);
    sp_hash_hex(sh->hash, hex);
    sp_buf_printf(&b, ", \"records\": %llu, \"bytes\": %llu, \"xxh3\": \"%s\", "
                      "\"mtime\": \"%lld.%09ld\",\n \"sidecars\": [",
                  (unsigned long long)sh->records_written, (unsigned long long)sh->bytes, hex,
                  (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    for (size_t k = 0; k < sh->nsidecars; k++) {
        sp_hash_hex(sh->sidecar_hash[k], hex);
        char *side = sp_path_join(run->outdir, sh->sidecars[k]);
        struct stat ss;
        if (!side || stat(side, &ss) != 0) {
            sp_error_set_path(&err, side ? side : sh->sidecars[k]);
            free(side);
            sp_buf_free(&b);
            return sp_ctx_error(run->ctx,
                                (sp_fail(&err, SP_E_IO, "cannot stat the new sidecar"), &err));
        }
        free(side);
        sp_buf_puts(&b, k ? ", {\"path\": " : "{\"path\": ");
        sp_json_str(&b, sh->sidecars[k]);
        sp_buf_printf(&b, ", \"bytes\": %llu, \"xxh3\": \"%s\", \"mtime\": \"%lld.%09ld\"}",
                      (unsigned long long)sh->sidecar_bytes[k], hex, (long long)ss.st_mtim.tv_sec,
                      ss.st_mtim.tv_nsec);
    }
    sp_buf_puts(&b, "],\n \"skips\": [");
    for (size_t k = skips_from; k < run->nskips; k++) {
        const sp_skip *s = &run->skips[k];
        const sp_catalog *cat = &run->catalogs[s->source];
        sp_buf_puts(&b, k > skips_from ? ",\n  {\"source\": " : "\n  {\"source\": ");
        sp_json_str(&b, cat->source);
        sp_buf_puts(&b, ", \"path\": ");
        sp_json_str(&b, cat->samples[s->sample].path);
        sp_buf_printf(&b, ", \"code\": %d, \"detail\": ", s->code);
        sp_json_str(&b, s->detail ? s->detail : "");
        sp_buf_puts(&b, "}");
    }
    /* The stand-ins: what was written for which skipped record, and what decided it. */
    sp_buf_puts(&b, "],\n \"substs\": [");
    for (size_t k = substs_from; k < run->nsubsts; k++) {
        const sp_subst *x = &run->substs[k];
        const sp_catalog *cat = &run->catalogs[x->source], *bycat = &run->catalogs[x->by_source];
        const sp_sample *by = &bycat->samples[x->by_sample];
        sp_record bad;
        memset(&bad, 0, sizeof(bad));
        bad.source = x->source;
        bad.sample = x->sample;
        bad.copy = x->copy;
        sp_hash128 choice = {0, 0};
        uint32_t by_copy;
        int crc = choice_hash(run, sink, &bad, x->by_source, x->by_sample, &choice, &by_copy);
        if (crc == SP_E_NOMEM) b.oom = true;
        sp_buf_puts(&b, k > substs_from ? ",\n  {\"source\": " : "\n  {\"source\": ");
        sp_json_str(&b, cat->source);
        sp_buf_puts(&b, ", \"path\": ");
        sp_json_str(&b, cat->samples[x->sample].path);
        sp_buf_printf(&b, ", \"copy\": %u, \"by_source\": ", x->copy);
        sp_json_str(&b, bycat->source);
        sp_buf_puts(&b, ", \"by\": ");
        sp_json_str(&b, by->path);
        sp_hash_hex(by->hash, hex);
        sp_buf_printf(&b, ", \"by_copy\": %u, \"by_xxh3\": \"%s\", ", x->by_copy, hex);
        /* A choice the walk cannot make again (never: the build just made it) stamps an
         * empty hash, which no later build takes for current. */
        if (crc == SP_OK) sp_hash_hex(choice, hex);
        sp_buf_printf(&b, "\"choice\": \"%s\"}", crc == SP_OK ? hex : "");
    }
    sp_buf_puts(&b, "]}\n");
    char *path = stamp_path(run, sh);
    int rc = b.oom || !path ? sp_fail(&err, SP_E_NOMEM, "out of memory")
                            : sp_write_file_atomic(path, b.data, b.len, &err);
    free(path);
    sp_buf_free(&b);
    return rc == SP_OK ? rc : sp_ctx_error(run->ctx, &err);
}

int sp_resume_touch(sp_job *run, size_t sink, size_t shard, size_t skips_from,
                    size_t substs_from)
{
    const sp_shard *sh = &run->sinks[sink].shards[shard];
    char *full = sp_path_join(run->outdir, sh->path);
    int rc = full ? SP_OK : sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    if (rc == SP_OK && utimensat(AT_FDCWD, full, NULL, 0) != 0) {
        sp_error_set_path(&run->ctx->err, full);
        rc = sp_fail(&run->ctx->err, SP_E_IO, "cannot touch: %s", strerror(errno));
    }
    free(full);
    return rc == SP_OK ? sp_resume_stamp(run, sink, shard, skips_from, substs_from) : rc;
}

/* A temporary of shard X is named X's stem + '.' + anything + ".tmp", maybe with a leading
 * dot: the shard's own (.X.tmp), its sidecars' (X-STEM.idx.<tag>.tmp). */
static bool tmp_of_shard(const sp_job *run, const sp_sink_plan *sp, const sp_shard *sh,
                         const char *name)
{
    const sp_sink_ops *ops = run->pipe->stages[sp->stage].desc->sink;
    size_t stem = strlen(sh->path) - strlen(ops->suffixes[0]);
    return strncmp(name, sh->path, stem) == 0 && name[stem] == '.';
}

/* NAME.<8 hex>.tmp: sp_tmp_name's shape. */
static bool tmp_shaped(const char *name, size_t n)
{
    if (n < 14 || name[n - 13] != '.') return false;
    for (size_t i = n - 12; i < n - 4; i++)
        if (!strchr("0123456789abcdef", name[i]) || !name[i]) return false;
    return true;
}

bool sp_resume_owns_tmp(const sp_job *run, const char *name)
{
    size_t n = strlen(name);
    if (n < 5 || strcmp(name + n - 4, ".tmp") != 0) return false;
    if (name[0] == '.') name++, n--;
    if (sp_resume_whole(run)) {
        /* A whole build owns the output folder: every temporary in sp_tmp_name's shape is
         * a killed writer's (manifest, plan.tsv, report.tsv, a depfile kept there, ...). */
        if (tmp_shaped(name, n)) return true;
        for (size_t s = 0; s < run->nsinks; s++) {
            const char *prefix = sp_sink_prefix(&run->pipe->stages[run->sinks[s].stage]);
            size_t lp = strlen(prefix);
            if (!strncmp(name, prefix, lp) && (name[lp] == '-' || name[lp] == '.')) return true;
        }
        return false;
    }
    for (size_t s = 0; s < run->nsinks; s++)
        for (size_t i = 0; i < run->sinks[s].nshards; i++)
            if (sp_resume_mine(run, s, i) &&
                tmp_of_shard(run, &run->sinks[s], &run->sinks[s].shards[i], name))
                return true;
    return false;
}

int sp_resume_standin_inputs(sp_job *run, sp_subst_pool *pool, size_t sink, size_t shard,
                             bool (*fn)(void *arg, uint32_t source, uint32_t sample), void *arg)
{
    const sp_shard *sh = &run->sinks[sink].shards[shard];
    char *meta = sp_path_join(run->outdir, ".shardpack");
    char *dir = meta ? sp_path_join(meta, "stamps") : NULL;
    size_t n = dir ? strlen(dir) + strlen(sh->path) + 8 : 0;
    char *path = dir ? malloc(n) : NULL;
    free(meta);
    if (!path) {
        free(dir);
        return SP_E_NOMEM;
    }
    snprintf(path, n, "%s/%s.json", dir, sh->path);
    free(dir);
    uint8_t *data = NULL;
    size_t len = 0;
    sp_error err;
    int rc = sp_read_file(path, 1u << 26, &data, &len, &err);
    free(path);
    if (rc != SP_OK) return SP_OK; /* no stamp: the shard is not built yet */
    cJSON *j = cJSON_ParseWithLength((const char *)data, len);
    free(data);
    const cJSON *it;
    rc = SP_OK;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "substs"))
    {
        sp_record bad;
        memset(&bad, 0, sizeof(bad));
        uint32_t src = UINT32_MAX, smp = UINT32_MAX;
        uint64_t copy = 0;
        if (!find_sample(run, json_s(it, "source"), json_s(it, "path"), &bad.source,
                         &bad.sample) ||
            !json_u64(cJSON_GetObjectItemCaseSensitive(it, "copy"), &copy) || copy > UINT32_MAX)
            continue;
        bad.copy = (uint32_t)copy;
        if (!find_sample(run, json_s(it, "by_source"), json_s(it, "by"), &src, &smp))
            src = smp = UINT32_MAX; /* gone: every candidate the walk tries counts */
        for (size_t t = 0; rc == SP_OK && t < SP_SUBST_TRIES; t++) {
            sp_record c;
            int found = sp_subst_candidate(run, sink, pool, &bad, t, &c);
            if (found < 0) rc = SP_E_NOMEM;
            if (found <= 0) break;
            if (!fn(arg, c.source, c.sample)) rc = SP_E_NOMEM;
            if (c.source == src && c.sample == smp) break;
        }
        if (rc != SP_OK) break;
    }
    cJSON_Delete(j);
    return rc;
}
