/*
 * Replay: one record of a finished output, made again from its source. The output's
 * manifest gives the config, the shard's file name gives the sink, the key the record;
 * the plan is made again (the catalog cache makes that cheap) and the record's chain run
 * exactly as the build ran it. Because every draw is keyed by (seed, stage, sample,
 * copy), the bytes come out the same: a way to see where a sample came from and to
 * prove that it can be rebuilt.
 */
#include "internal.h"

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
    for (size_t i = 0; sp && i < sp->shards[shard].count; i++) {
        const sp_record *r = &sp->recs.v[sp->shards[shard].first + i];
        if (strcmp(r->key, key) == 0) rec = r;
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
        }
    }
    sp_job_free(&run);
    sp_pipeline_free(&pipe);
    return rc;
}
