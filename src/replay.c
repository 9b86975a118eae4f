/*
 * Replay: one record of a finished output, made again from its source. The output's
 * manifest gives the config, the shard's file name gives the sink, the key the record;
 * the plan is made again (the catalog cache makes that cheap) and the record's chain run
 * exactly as the build ran it. Because every draw is keyed by (seed, stage, sample,
 * copy), the bytes come out the same: a way to see where a sample came from and to
 * prove that it can be rebuilt.
 *
 * The plan is made from the files as they are now. If a source was edited, added or
 * removed since the build, the key may name another sample or the pixels may differ, and
 * printing those bytes would be a silent lie; so the result is compared with the record
 * the shard stores, and a difference is an error naming the source now behind the key.
 */
#include "internal.h"
#include "shardpack/reader.h"

#include <stdlib.h>
#include <string.h>

static const sp_sink_plan *find_sink(const sp_job *run, const char *name, size_t *shard)
{
    for (size_t s = 0; s < run->nsinks; s++)
        for (size_t i = 0; i < run->sinks[s].nshards; i++)
            if (strcmp(run->sinks[s].shards[i].path, name) == 0) {
                *shard = i;
                return &run->sinks[s];
            }
    return NULL;
}

/* The shard stores `data` for the record, byte for byte (for npy, its pixel rows). Found by
 * key where records have one. An npy record is a position, and positions move up when the
 * build left out a record before it (a failure with no stand-in): the record planned at
 * `index` is stored at `index` or before, so those are compared, nearest first. */
static int same_as_stored(sp_ctx *ctx, const char *shard_path, uint64_t index, const char *key,
                          const uint8_t *data, size_t len, const char *source)
{
    sp_reader *r = NULL;
    int rc = sp_reader_open(ctx, shard_path, &r);
    if (rc != SP_OK) return rc;
    sp_record_view v;
    int got;
    bool same = false;
    if (sp_reader_format(r) != SP_SHARD_NPY) {
        got = sp_reader_find(r, key, &v);
        same = got == 1 && v.image_len == len && memcmp(v.image, data, len) == 0;
    } else {
        got = 1;
        for (uint64_t at = index + 1; at-- > 0 && got >= 0 && !same;) {
            got = sp_reader_seek(r, at);
            if (got == SP_OK) got = sp_reader_next(r, &v);
            same = got == 1 && v.image_len == len && memcmp(v.image, data, len) == 0;
            if (got == 0) got = 1; /* past the end: the shard lost records; look nearer */
        }
    }
    sp_reader_free(&r);
    if (got < 0) return got;
    if (!same)
        return sp_fail(&ctx->err, SP_E_CHANGED,
                       "%s: record %s made again from its source (now %s) differs from the "
                       "stored one: the dataset changed since the build (rebuild the output)",
                       shard_path, key, source);
    return SP_OK;
}

int sp_replay(sp_ctx *ctx, const char *shard_path, const char *key, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    const char *slash = strrchr(shard_path, '/');
    const char *name = slash ? slash + 1 : shard_path;
    char *dir = sp_path_dir(shard_path);
    char *manifest = dir ? sp_path_join(dir, "manifest.json") : NULL;
    free(dir);
    if (!manifest) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    sp_pipeline *pipe = NULL;
    int rc = sp_pipeline_load_manifest(ctx, manifest, NULL, 0, &pipe);
    free(manifest);
    if (rc != SP_OK) return rc;
    sp_job run;
    rc = sp_job_plan(ctx, pipe, &run);
    size_t shard = 0;
    const sp_sink_plan *sp = rc == SP_OK ? find_sink(&run, name, &shard) : NULL;
    if (rc == SP_OK && !sp)
        rc = sp_fail(&ctx->err, SP_E_USAGE, "%s: no shard of this name in the output's plan",
                     shard_path);
    const sp_record *rec = NULL;
    uint64_t index = 0;
    for (size_t i = 0; sp && i < sp->shards[shard].count; i++) {
        const sp_record *r = &sp->recs.v[sp->shards[shard].first + i];
        if (strcmp(r->key, key) == 0) {
            rec = r;
            index = i;
        }
    }
    if (rc == SP_OK && !rec)
        rc = sp_fail(&ctx->err, SP_E_USAGE, "%s: no record with key %s", shard_path, key);
    if (rc == SP_OK) {
        sp_error err;
        sp_error_clear(&err);
        rc = sp_build_one(&run, sp, rec, out, len, &err);
        if (rc != SP_OK) {
            sp_error_set_path(&err, sp_run_sample(&run, rec)->path);
            sp_ctx_error(ctx, &err);
        } else {
            rc = same_as_stored(ctx, shard_path, index, key, *out, *len,
                                sp_run_sample(&run, rec)->path);
        }
        if (rc != SP_OK) {
            free(*out);
            *out = NULL;
            *len = 0;
        }
    }
    sp_job_free(&run);
    sp_pipeline_free(&pipe);
    return rc;
}
