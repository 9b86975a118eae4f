/*
 * `shardpack readbench OUT`: read the output as a training epoch would — every shard
 * front to back through the reader, optionally decoding every image — and the same
 * samples as loose files from the source folders, for comparison. Both passes see the
 * page cache as it is; for cold-cache numbers, drop caches between runs (as root:
 * `echo 3 > /proc/sys/vm/drop_caches`).
 */
#include "internal.h"
#include "shardpack/reader.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Touches every byte (so mapped pages are really read) and decodes when asked. */
/* Images read back are as untrusted as any: decoded under the limits the build used. */
static sp_limits limits_of(cJSON *manifest)
{
    sp_limits lim = {.max_pixels = (uint64_t)178956970, .max_dimension = 65500, .max_scans = 256};
    cJSON *run = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(manifest, "config"), "run");
    cJSON *px = cJSON_GetObjectItemCaseSensitive(run, "max_pixels");
    cJSON *dim = cJSON_GetObjectItemCaseSensitive(run, "max_dimension");
    cJSON *sc = cJSON_GetObjectItemCaseSensitive(run, "max_scans");
    if (cJSON_IsString(px) && strtoull(px->valuestring, NULL, 10)) lim.max_pixels = strtoull(px->valuestring, NULL, 10);
    if (cJSON_IsString(dim) && strtoul(dim->valuestring, NULL, 10)) lim.max_dimension = (uint32_t)strtoul(dim->valuestring, NULL, 10);
    if (cJSON_IsString(sc) && strtoul(sc->valuestring, NULL, 10)) lim.max_scans = (uint32_t)strtoul(sc->valuestring, NULL, 10);
    return lim;
}

static int consume(const uint8_t *data, uint64_t len, const char *codec, bool decode,
                   const sp_limits *lim, uint64_t *sink, sp_error *err)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < len; i += 64) s += data[i];
    *sink += s;
    if (!decode || !codec) return SP_OK;
    const sp_format *f = sp_format_by_name(codec);
    if (!f || !f->decode) return SP_OK; /* raw pixels: nothing to decode */
    sp_image img = {0};
    int rc = f->decode(data, (size_t)len, lim, &img, err);
    if (rc == SP_OK) *sink += img.data[0];
    sp_image_release(&img);
    return rc;
}

static int bench_shards(sp_ctx *ctx, const char *outdir, cJSON *manifest, bool decode,
                        sp_bench_row *row)
{
    cJSON *shards = cJSON_GetObjectItemCaseSensitive(manifest, "shards"), *sh;
    sp_limits lim = limits_of(manifest);
    uint64_t sink = 0;
    double t0 = now_s();
    cJSON_ArrayForEach(sh, shards)
    {
        cJSON *p = cJSON_GetObjectItemCaseSensitive(sh, "path");
        if (!cJSON_IsString(p)) continue;
        char *path = sp_path_join(outdir, p->valuestring);
        sp_reader *r = NULL;
        int rc = path ? sp_reader_open(ctx, path, &r) : SP_E_NOMEM;
        free(path);
        if (rc != SP_OK) return rc;
        sp_record_view rec;
        int k;
        while ((k = sp_reader_next(r, &rec)) == 1) {
            sp_error err;
            sp_error_clear(&err);
            if (consume(rec.image, rec.image_len, rec.format, decode, &lim, &sink, &err) != SP_OK) {
                sp_error_set_member(&err, rec.key);
                sp_error_set_path(&err, p->valuestring);
                sp_reader_free(&r);
                return sp_ctx_error(ctx, &err);
            }
            row->records++;
            row->bytes += rec.size;
        }
        sp_reader_free(&r);
        if (k < 0) return k;
        row->files++;
    }
    row->seconds = now_s() - t0;
    row->checksum = sink;
    return SP_OK;
}

/* The loose files the build read: plan.tsv names them, the manifest's config their roots. */
static int bench_loose(sp_ctx *ctx, const char *outdir, cJSON *manifest, bool decode,
                       sp_bench_row *row)
{
    char *plan_path = sp_path_join(outdir, "plan.tsv");
    uint8_t *data = NULL;
    size_t len = 0;
    sp_error err;
    sp_error_clear(&err);
    int rc = plan_path ? sp_read_file(plan_path, (uint64_t)1 << 34, &data, &len, &err) : SP_E_NOMEM;
    free(plan_path);
    if (rc != SP_OK) return rc == SP_E_NOMEM ? rc : sp_ctx_error(ctx, &err);
    char *text = sp_strndup((const char *)data, len);
    free(data);
    if (!text) return SP_E_NOMEM;
    cJSON *config = cJSON_GetObjectItemCaseSensitive(manifest, "config");
    sp_limits lim = limits_of(manifest);
    uint64_t sink = 0;
    double t0 = now_s();
    char *save = NULL;
    strtok_r(text, "\n", &save); /* header */
    for (char *line = strtok_r(NULL, "\n", &save); line && rc == SP_OK;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[7], *sv = NULL;
        size_t n = 0;
        for (char *t = strtok_r(line, "\t", &sv); t && n < 7; t = strtok_r(NULL, "\t", &sv)) f[n++] = t;
        if (n < 5) continue;
        cJSON *src = cJSON_GetObjectItemCaseSensitive(config, f[3]);
        cJSON *root = cJSON_GetObjectItemCaseSensitive(src, "path");
        if (!cJSON_IsString(root)) continue;
        char *rel = sp_tsv_unescape(f[4], strlen(f[4]));
        char *path = rel ? sp_path_join(root->valuestring, rel) : NULL;
        free(rel);
        uint8_t *bytes = NULL;
        size_t blen = 0;
        sp_error_clear(&err);
        if (path && sp_read_file(path, (uint64_t)1 << 32, &bytes, &blen, &err) == SP_OK) {
            const sp_format *fmt = sp_format_probe(bytes, blen);
            sp_error e2;
            sp_error_clear(&e2);
            /* A source the build skipped as corrupt is still read; only the decode fails. */
            consume(bytes, blen, fmt ? fmt->name : NULL, decode, &lim, &sink, &e2);
            row->records++;
            row->files++;
            row->bytes += blen;
        } else if (!row->missing++) {
            sp_log(ctx, SP_LOG_WARN, "readbench: cannot read source %s (run from the build's folder)",
                   path ? path : f[4]);
        }
        free(bytes);
        free(path);
    }
    row->seconds = now_s() - t0;
    row->checksum = sink;
    free(text);
    return rc;
}

int sp_readbench(sp_ctx *ctx, const char *outdir, bool decode, sp_bench_row *shards,
                 sp_bench_row *loose)
{
    memset(shards, 0, sizeof(*shards));
    memset(loose, 0, sizeof(*loose));
    char *mp = sp_path_join(outdir, "manifest.json");
    uint8_t *data = NULL;
    size_t len = 0;
    sp_error err;
    sp_error_clear(&err);
    int rc = mp ? sp_read_file(mp, (uint64_t)1 << 32, &data, &len, &err) : SP_E_NOMEM;
    free(mp);
    if (rc != SP_OK) return sp_ctx_error(ctx, &err);
    cJSON *m = cJSON_ParseWithLength((const char *)data, len);
    free(data);
    if (!m) return sp_fail(&ctx->err, SP_E_CORRUPT, "%s/manifest.json is not valid JSON", outdir);
    rc = bench_shards(ctx, outdir, m, decode, shards);
    if (rc == SP_OK) rc = bench_loose(ctx, outdir, m, decode, loose);
    cJSON_Delete(m);
    return rc;
}
