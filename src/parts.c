/*
 * Builds split across processes or machines: `build --part I/N` (or `--shard NAME`) writes
 * its own shards with their stamps and a partial manifest; `finish OUT` merges.
 *
 * A partial manifest (OUTDIR/.shardpack/parts/part-I-of-N.json, or shard-NAME.json) holds
 * the effective config the part ran, the shards it owns and the stand-ins they hold. The
 * shards' results (stand-ins too) are in their stamps (src/resume.c), so finish needs from
 * the partials only the config: it loads
 * the pipeline from them (they must agree), plans again (the catalog cache answers the
 * scan, so no image is read), checks that every shard has a current stamp, takes every
 * shard from it exactly as a resumed build does, and writes the manifest and the sink
 * indexes as a single-process build would — byte for byte.
 *
 * Shards are dealt to parts round robin in plan order (every sink's shards in turn), so
 * parts get similar amounts of work and any scheduler that hands out an index works.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *parts_dir(const char *outdir)
{
    char *meta = sp_path_join(outdir, ".shardpack");
    char *dir = meta ? sp_path_join(meta, "parts") : NULL;
    free(meta);
    return dir;
}

/* The partial's name: part-I-of-N, or shard-NAME for a build of named shards. */
static void part_id(const sp_build_opts *sel, char *buf, size_t size)
{
    if (sel->nparts) {
        snprintf(buf, size, "part-%u-of-%u", sel->part, sel->nparts);
        return;
    }
    if (sel->nshards == 1) {
        snprintf(buf, size, "shard-%s", sel->shards[0]);
        return;
    }
    sp_buf b = {0};
    for (size_t i = 0; i < sel->nshards; i++) sp_buf_printf(&b, "%s\n", sel->shards[i]);
    char hex[33];
    sp_hash_hex(sp_hash_bytes(b.data ? b.data : "", b.len), hex);
    sp_buf_free(&b);
    snprintf(buf, size, "shards-%.16s", hex);
}

static bool is_shard(const sp_job *run, const char *name)
{
    for (size_t s = 0; s < run->nsinks; s++)
        for (size_t i = 0; i < run->sinks[s].nshards; i++)
            if (strcmp(run->sinks[s].shards[i].path, name) == 0) return true;
    return false;
}

/* Partials another split of this output left: other part counts, shards the plan lacks. */
static void remove_stale_partials(const sp_job *run, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        if (len < 6 || strcmp(n + len - 5, ".json") != 0) continue;
        bool stale = false;
        unsigned i, parts;
        int used = 0;
        if (sscanf(n, "part-%u-of-%u.json%n", &i, &parts, &used) == 2 && (size_t)used == len) {
            stale = run->select->nparts && parts != run->select->nparts;
        } else if (!strncmp(n, "shard-", 6)) {
            char *name = sp_strndup(n + 6, len - 11);
            stale = name && !is_shard(run, name);
            free(name);
        }
        if (!stale) continue;
        char *path = sp_path_join(dir, n);
        if (path && unlink(path) == 0) sp_log(run->ctx, SP_LOG_DEBUG, "removed stale %s", path);
        free(path);
    }
    closedir(d);
}

int sp_part_write(sp_job *run)
{
    const sp_build_opts *sel = run->select;
    char id[200];
    part_id(sel, id, sizeof(id));
    sp_buf b = {0};
    sp_buf_printf(&b, "{\n  \"shardpack\": \"%s\",\n  \"partial\": ", SP_VERSION_STRING);
    sp_json_str(&b, id);
    if (sel->nparts) sp_buf_printf(&b, ",\n  \"part\": %u,\n  \"parts\": %u", sel->part, sel->nparts);
    sp_buf_puts(&b, ",\n");
    sp_manifest_config(&b, run->pipe);
    sp_buf_puts(&b, "  \"shards\": [");
    bool first = true;
    for (size_t s = 0; s < run->nsinks; s++)
        for (size_t i = 0; i < run->sinks[s].nshards; i++) {
            if (!sp_resume_mine(run, s, i)) continue;
            const sp_shard *sh = &run->sinks[s].shards[i];
            char hex[33];
            sp_hash_hex(sh->hash, hex);
            sp_buf_puts(&b, first ? "\n    {\"path\": " : ",\n    {\"path\": ");
            first = false;
            sp_json_str(&b, sh->path);
            sp_buf_printf(&b, ", \"records\": %llu, \"bytes\": %llu, \"xxh3\": \"%s\"}",
                          (unsigned long long)sh->records_written, (unsigned long long)sh->bytes,
                          hex);
        }
    sp_buf_puts(&b, first ? "]" : "\n  ]");
    /* The part's stand-ins, as the manifest lists them (finish takes them from the
     * stamps, with the shards' other results). */
    sp_buf_puts(&b, ",\n  \"substituted\": [");
    for (size_t i = 0; i < run->nsubsts; i++) {
        const sp_subst *x = &run->substs[i];
        sp_buf_puts(&b, i ? ",\n    {\"sink\": " : "\n    {\"sink\": ");
        sp_json_str(&b, run->pipe->stages[run->sinks[x->sink].stage].name);
        sp_buf_puts(&b, ", \"path\": ");
        sp_json_str(&b, run->catalogs[x->source].samples[x->sample].path);
        sp_buf_printf(&b, ", \"copy\": %u, \"by\": ", x->copy);
        sp_json_str(&b, run->catalogs[x->by_source].samples[x->by_sample].path);
        sp_buf_printf(&b, ", \"by_copy\": %u}", x->by_copy);
    }
    sp_buf_puts(&b, run->nsubsts ? "\n  ]\n}\n" : "]\n}\n");
    sp_error err;
    sp_error_clear(&err);
    char *dir = parts_dir(run->outdir);
    size_t n = strlen(id) + 8;
    char *name = malloc(n);
    if (name) snprintf(name, n, "%s.json", id);
    char *path = dir && name ? sp_path_join(dir, name) : NULL;
    int rc = b.oom || !path ? sp_fail(&err, SP_E_NOMEM, "out of memory") : sp_mkdirs(dir, &err);
    if (rc == SP_OK) remove_stale_partials(run, dir);
    if (rc == SP_OK) rc = sp_write_file_if_changed(path, b.data, b.len, &err);
    if (rc == SP_OK) {
        size_t mine = 0;
        for (size_t s = 0; s < run->nsinks; s++)
            for (size_t i = 0; i < run->sinks[s].nshards; i++) mine += sp_resume_mine(run, s, i);
        sp_log(run->ctx, SP_LOG_INFO, "shardpack: %s: %zu shards, %llu records -> %s (run "
                                      "`shardpack finish %s` once every part is done)",
               id, mine, (unsigned long long)run->summary.records_written, run->outdir,
               run->outdir);
    }
    free(dir), free(name), free(path);
    sp_buf_free(&b);
    return rc == SP_OK ? rc : sp_ctx_error(run->ctx, &err);
}

int sp_parts_clear(sp_job *run)
{
    char *dir = parts_dir(run->outdir);
    if (!dir) return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        char *path = sp_path_join(dir, e->d_name);
        if (path) unlink(path);
        free(path);
    }
    if (d) closedir(d);
    free(dir);
    return SP_OK;
}

int sp_parts_check(sp_job *run)
{
    int rc = sp_resume_begin(run);
    if (rc != SP_OK) return rc;
    size_t missing = 0, total = 0;
    sp_buf names = {0};
    for (size_t s = 0; s < run->nsinks; s++)
        for (size_t i = 0; i < run->sinks[s].nshards; i++, total++) {
            if (sp_resume_current(run, s, i)) continue;
            if (missing++ < 5) sp_buf_printf(&names, "%s%s", missing > 1 ? ", " : "", run->sinks[s].shards[i].path);
        }
    if (missing)
        rc = sp_fail(&run->ctx->err, SP_E_IO,
                     "%zu of %zu shards are missing or out of date (%s%s): build their parts "
                     "again, then finish",
                     missing, total, names.data ? names.data : "", missing > 5 ? ", ..." : "");
    sp_buf_free(&names);
    return rc;
}

/* The partial manifests, or the manifest itself when there are none (finish again). */
static int list_partials(sp_ctx *ctx, const char *outdir, char ***paths, size_t *n)
{
    *paths = NULL;
    *n = 0;
    char *dir = parts_dir(outdir);
    if (!dir) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    struct dirent **names = NULL;
    int k = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < k; i++) {
        size_t len = strlen(names[i]->d_name);
        if (len > 5 && strcmp(names[i]->d_name + len - 5, ".json") == 0 &&
            names[i]->d_name[0] != '.') {
            char **v = realloc(*paths, (*n + 1) * sizeof(*v));
            if (v) {
                *paths = v;
                if ((v[*n] = sp_path_join(dir, names[i]->d_name))) (*n)++;
            }
        }
        free(names[i]);
    }
    free(names);
    free(dir);
    if (*n == 0) {
        char *m = sp_path_join(outdir, "manifest.json");
        if (m && access(m, R_OK) == 0 && (*paths = malloc(sizeof(char *)))) {
            (*paths)[0] = m;
            *n = 1;
        } else {
            free(m);
            sp_error e;
            sp_error_clear(&e);
            sp_error_set_path(&e, outdir);
            sp_fail(&e, SP_E_IO, "no partial manifests in .shardpack/parts and no "
                                    "manifest.json: build the parts first (build --part I/N)");
            return sp_ctx_error(ctx, &e);
        }
    }
    return SP_OK;
}

static cJSON *read_json(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    sp_error e;
    if (sp_read_file(path, 1u << 30, &data, &len, &e) != SP_OK) return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)data, len);
    free(data);
    return j;
}

/* Every partial ran the same config, or the parts are not one build. */
static int check_agree(sp_ctx *ctx, char **paths, size_t n)
{
    cJSON *first = read_json(paths[0]);
    int rc = SP_OK;
    for (size_t i = 1; rc == SP_OK && i < n; i++) {
        cJSON *other = read_json(paths[i]);
        if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(first, "config"),
                           cJSON_GetObjectItemCaseSensitive(other, "config"), true)) {
            sp_error e;
            sp_error_clear(&e);
            sp_error_set_path(&e, paths[i]);
            sp_fail(&e, SP_E_IO, "ran another config than %s: build every part with the "
                                    "same config (or remove the stale partial)", paths[0]);
            rc = sp_ctx_error(ctx, &e);
        }
        cJSON_Delete(other);
    }
    cJSON_Delete(first);
    return rc;
}

int sp_run_finish(sp_ctx *ctx, const char *outdir, sp_summary *summary)
{
    sp_error_clear(&ctx->err);
    char **paths = NULL;
    size_t n = 0;
    int rc = list_partials(ctx, outdir, &paths, &n);
    if (rc == SP_OK) rc = check_agree(ctx, paths, n);
    sp_pipeline *pipe = NULL;
    if (rc == SP_OK) rc = sp_pipeline_load_manifest(ctx, paths[0], NULL, 0, &pipe);
    if (rc == SP_OK) rc = sp_pipeline_set_output(pipe, outdir);
    if (rc == SP_OK) rc = sp_run_finish_job(ctx, pipe, summary);
    /* finish brings the manifest up to date for make even when its bytes stand (it was
     * older than a shard make remade with the same bytes). */
    char *manifest = rc == SP_OK ? sp_path_join(outdir, "manifest.json") : NULL;
    if (manifest) utimensat(AT_FDCWD, manifest, NULL, 0);
    free(manifest);
    sp_pipeline_free(&pipe);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
    return rc;
}
