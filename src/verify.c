/*
 * `shardpack verify OUT`: is this output exactly what the build wrote, and readable?
 *
 * For every shard in manifest.json: its size and XXH3-128; its structure, record by
 * record (tar header checksums, TFRecord CRCs, npy headers); labels within the classes;
 * its index files against the records they point at. Then the per-class counts and the
 * wids index against the manifest. The first problem is reported with the shard and the
 * byte offset: a checksum mismatch is located through the per-4 KiB block sums written
 * beside each shard (.xxh), and named by the record it falls in.
 */
#include "internal.h"
#include "shardpack/reader.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct vstate {
    sp_ctx *ctx;
    const char *outdir;
    cJSON *manifest;
    size_t nclasses;
    uint64_t *counts; /* per class, over every shard */
    uint64_t records;
} vstate;

static int problem(vstate *v, const char *file, const char *fmt, ...) SP_PRINTF(3, 4);
static int problem(vstate *v, const char *file, const char *fmt, ...)
{
    sp_error e;
    sp_error_clear(&e);
    e.code = SP_E_CORRUPT;
    char *path = sp_path_join(v->outdir, file);
    sp_error_set_path(&e, path ? path : file);
    free(path);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
    va_end(ap);
    return sp_ctx_error(v->ctx, &e);
}

/* A manifest count: a whole number in [0, 2^53], else false (the manifest is untrusted). */
static bool json_count(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble > 9007199254740992.0 ||
        j->valuedouble != (double)(uint64_t)j->valuedouble)
        return false;
    *out = (uint64_t)j->valuedouble;
    return true;
}

static char *read_text(const char *dir, const char *name, size_t *len)
{
    char *path = sp_path_join(dir, name);
    uint8_t *data = NULL;
    sp_error e;
    if (path && sp_read_file(path, (uint64_t)1 << 32, &data, len, &e) != SP_OK) data = NULL;
    free(path);
    if (!data) return NULL;
    char *s = sp_strndup((const char *)data, *len);
    free(data);
    return s;
}

/* The first 4 KiB block whose sum differs from the .xxh beside the shard, or -1. */
static int64_t first_bad_block(vstate *v, const char *shard, const sp_buf *now)
{
    char name[300];
    snprintf(name, sizeof(name), "%s.xxh", shard);
    size_t len;
    char *then = read_text(v->outdir, name, &len);
    if (!then) return -1;
    /* Both start with the same header line; compare line by line after it. */
    const char *a = strchr(then, '\n'), *b = strchr(now->data, '\n');
    int64_t block = -1;
    for (int64_t i = 0; a && b; i++) {
        a++, b++;
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        if (!ea || !eb) {
            if (ea != eb) block = i;
            break;
        }
        if (ea - a != eb - b || memcmp(a, b, (size_t)(ea - a)) != 0) {
            block = i;
            break;
        }
        a = ea, b = eb;
    }
    free(then);
    return block;
}

/* Checks a tar shard's DALI index: a line per record, and every entry names the member
 * whose header sits 512 bytes before the offset, with that size. */
static int check_tar_index(vstate *v, const char *shard, const char *idxname, uint64_t records,
                           const uint64_t *starts)
{
    size_t len;
    char *text = read_text(v->outdir, idxname, &len);
    if (!text) return problem(v, idxname, "cannot read the index");
    char *path = sp_path_join(v->outdir, shard);
    sp_mapped m = {0};
    sp_error err;
    sp_error_clear(&err);
    int rc = path ? sp_map_file(path, &m, &err) : SP_E_NOMEM;
    free(path);
    if (rc != SP_OK) {
        free(text);
        return rc == SP_E_NOMEM ? sp_fail(&v->ctx->err, rc, "out of memory") : sp_ctx_error(v->ctx, &err);
    }
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    unsigned long long n = 0;
    if (!line || sscanf(line, "v1.2 %llu", &n) != 1 || n != records)
        rc = problem(v, idxname, "line 1: expected 'v1.2 %llu'", (unsigned long long)records);
    uint64_t lineno = 1;
    while (rc == SP_OK && (line = strtok_r(NULL, "\n", &save))) {
        lineno++;
        char ext[32], name[300], key[300] = "";
        unsigned long long off, size;
        int used = 0, entries = 0;
        for (const char *p = line;
             rc == SP_OK && sscanf(p, "%31s %llu %llu %299s%n", ext, &off, &size, name, &used) == 4;
             p += used, entries++) {
            sp_tar_member tm;
            uint64_t pos = off - 512;
            const char *dot = strchr(name, '.');
            size_t kl = dot ? (size_t)(dot - name) : strlen(name);
            if (entries == 0) snprintf(key, sizeof(key), "%.*s", (int)kl, name);
            if (off < 512 || off % 512 || sp_tar_read_member(m.base, m.size, &pos, &tm, &err) != 1 ||
                strcmp(tm.name, name) != 0 || tm.size != size || strlen(key) != kl ||
                strncmp(key, name, kl) != 0 || !dot || strcmp(dot + 1, ext) != 0)
                rc = problem(v, idxname, "line %llu: entry %s does not point at that member",
                             (unsigned long long)lineno, name);
        }
        if (rc == SP_OK && entries == 0)
            rc = problem(v, idxname, "line %llu: no entries", (unsigned long long)lineno);
        /* Line i is record i: its first member's data follows the record's first header. */
        unsigned long long first;
        if (rc == SP_OK && (lineno - 2 >= records || sscanf(line, "%*s %llu", &first) != 1 ||
                            first != starts[lineno - 2] + 512))
            rc = problem(v, idxname, "line %llu does not point at record %llu",
                         (unsigned long long)lineno, (unsigned long long)(lineno - 2));
    }
    if (rc == SP_OK && lineno - 1 != records)
        rc = problem(v, idxname, "%llu entries, the shard has %llu records",
                     (unsigned long long)(lineno - 1), (unsigned long long)records);
    sp_unmap(&m);
    free(text);
    return rc;
}

static int check_tfrecord_index(vstate *v, const char *idxname, const uint64_t *starts,
                                const uint64_t *sizes, uint64_t records)
{
    size_t len;
    char *text = read_text(v->outdir, idxname, &len);
    if (!text) return problem(v, idxname, "cannot read the index");
    char *save = NULL;
    uint64_t i = 0;
    int rc = SP_OK;
    for (char *line = strtok_r(text, "\n", &save); line && rc == SP_OK;
         line = strtok_r(NULL, "\n", &save), i++) {
        unsigned long long off, size;
        if (sscanf(line, "%llu %llu", &off, &size) != 2 || i >= records || off != starts[i] ||
            size != sizes[i])
            rc = problem(v, idxname, "line %llu does not match record %llu",
                         (unsigned long long)(i + 1), (unsigned long long)i);
    }
    if (rc == SP_OK && i != records)
        rc = problem(v, idxname, "%llu entries, the shard has %llu records",
                     (unsigned long long)i, (unsigned long long)records);
    free(text);
    return rc;
}

static const char *config_value(vstate *v, const char *section, const char *key)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(v->manifest, "config");
    cJSON *s = cJSON_GetObjectItemCaseSensitive(c, section);
    cJSON *k = cJSON_GetObjectItemCaseSensitive(s, key);
    return cJSON_IsString(k) ? k->valuestring : NULL;
}

/* Reads every record; remembers where each starts, for the index check and to name the
 * record a damaged block falls in. */
static int check_records(vstate *v, const char *shard, int64_t label_offset, uint64_t expect,
                         int64_t bad_block, uint64_t **starts_out, uint64_t **sizes_out)
{
    char *path = sp_path_join(v->outdir, shard);
    sp_reader *r = NULL;
    int rc = path ? sp_reader_open(v->ctx, path, &r) : SP_E_NOMEM;
    free(path);
    if (rc != SP_OK) return rc;
    uint64_t n = 0, cap = 0, *starts = NULL, *sizes = NULL;
    sp_record_view rec;
    int k;
    while ((k = sp_reader_next(r, &rec)) == 1) {
        if (bad_block >= 0 && (uint64_t)bad_block * SP_SUM_BLOCK < rec.offset + rec.size) {
            rc = problem(v, shard,
                         "byte %llu..%llu: content differs from what was built (checksum "
                         "mismatch, in record %s)",
                         (unsigned long long)bad_block * SP_SUM_BLOCK,
                         (unsigned long long)(bad_block + 1) * SP_SUM_BLOCK - 1, rec.key);
            break;
        }
        /* Bounded before subtracting: the label comes from the shard, untrusted. */
        int64_t label = rec.label >= 0 && rec.label <= INT32_MAX ? rec.label - label_offset : -1;
        if (label < 0 || (uint64_t)label >= v->nclasses) {
            rc = problem(v, shard, "byte %llu: record %s has label %lld, outside the %zu classes",
                         (unsigned long long)rec.offset, rec.key, (long long)rec.label,
                         v->nclasses);
            break;
        }
        if (!rec.image || rec.image_len == 0) {
            rc = problem(v, shard, "byte %llu: record %s has no image",
                         (unsigned long long)rec.offset, rec.key);
            break;
        }
        if (rec.meta) {
            cJSON *j = cJSON_ParseWithLength(rec.meta, (size_t)rec.meta_len);
            cJSON *jl = cJSON_GetObjectItemCaseSensitive(j, "label");
            cJSON *jk = cJSON_GetObjectItemCaseSensitive(j, "key");
            bool ok = cJSON_IsNumber(jl) && jl->valuedouble == (double)rec.label &&
                      cJSON_IsString(jk) && strcmp(jk->valuestring, rec.key) == 0;
            cJSON_Delete(j);
            if (!ok) {
                rc = problem(v, shard, "byte %llu: record %s: its .json disagrees with it",
                             (unsigned long long)rec.offset, rec.key);
                break;
            }
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            uint64_t *a = realloc(starts, cap * sizeof(*a)), *b = a ? realloc(sizes, cap * sizeof(*b)) : NULL;
            if (a) starts = a;
            if (!a || !b) {
                rc = sp_fail(&v->ctx->err, SP_E_NOMEM, "out of memory");
                break;
            }
            sizes = b;
        }
        starts[n] = rec.offset;
        sizes[n] = rec.size;
        n++;
        v->counts[label]++;
    }
    if (rc == SP_OK && k < 0) rc = k;
    if (rc == SP_OK && bad_block >= 0)
        rc = problem(v, shard, "byte %llu..%llu: content differs from what was built (checksum "
                               "mismatch, after the last record)",
                     (unsigned long long)bad_block * SP_SUM_BLOCK,
                     (unsigned long long)(bad_block + 1) * SP_SUM_BLOCK - 1);
    if (rc == SP_OK && n != expect)
        rc = problem(v, shard, "%llu records, the manifest says %llu", (unsigned long long)n,
                     (unsigned long long)expect);
    v->records += n;
    sp_reader_free(&r);
    *starts_out = starts;
    *sizes_out = sizes;
    return rc;
}

/* A sidecar (index, labels, block sums) is part of the output: same size and checksum as
 * built, or the shard is not what was built either. */
static int check_sidecar(vstate *v, const cJSON *it)
{
    cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "path");
    cJSON *b = cJSON_GetObjectItemCaseSensitive(it, "bytes");
    cJSON *x = cJSON_GetObjectItemCaseSensitive(it, "xxh3");
    uint64_t want_bytes, bytes = 0;
    sp_hash128 want, h;
    if (!cJSON_IsString(p) || strchr(p->valuestring, '/') || !json_count(b, &want_bytes) ||
        !cJSON_IsString(x) || sp_hash_parse(x->valuestring, &want) != SP_OK)
        return problem(v, "manifest.json", "a sidecar entry is malformed");
    char *path = sp_path_join(v->outdir, p->valuestring);
    sp_error err;
    sp_error_clear(&err);
    int rc = path ? sp_file_digest(path, &bytes, &h, NULL, &err) : SP_E_NOMEM;
    free(path);
    if (rc != SP_OK) return problem(v, p->valuestring, "missing or unreadable");
    if (bytes != want_bytes)
        return problem(v, p->valuestring, "byte %llu: the file is %llu bytes, the manifest says %llu",
                       (unsigned long long)(bytes < want_bytes ? bytes : want_bytes),
                       (unsigned long long)bytes, (unsigned long long)want_bytes);
    if (h.hi != want.hi || h.lo != want.lo)
        return problem(v, p->valuestring, "checksum mismatch: the file changed after the build");
    return SP_OK;
}

static int check_shard(vstate *v, cJSON *sh)
{
    cJSON *jp = cJSON_GetObjectItemCaseSensitive(sh, "path");
    cJSON *jr = cJSON_GetObjectItemCaseSensitive(sh, "records");
    cJSON *jb = cJSON_GetObjectItemCaseSensitive(sh, "bytes");
    cJSON *jx = cJSON_GetObjectItemCaseSensitive(sh, "xxh3");
    cJSON *js = cJSON_GetObjectItemCaseSensitive(sh, "sink");
    cJSON *jt = cJSON_GetObjectItemCaseSensitive(sh, "type");
    uint64_t records, bytes;
    if (!cJSON_IsString(jp) || !json_count(jr, &records) || !json_count(jb, &bytes) ||
        !cJSON_IsString(jx) || !cJSON_IsString(js) || !cJSON_IsString(jt) ||
        strchr(jp->valuestring, '/'))
        return problem(v, "manifest.json", "a shard entry is malformed");
    const char *shard = jp->valuestring;

    char *path = sp_path_join(v->outdir, shard);
    struct stat st;
    int rc = path && stat(path, &st) == 0 ? SP_OK : problem(v, shard, "missing");
    sp_hash128 h = {0, 0}, want;
    uint64_t size = 0;
    sp_buf blocks = {0};
    sp_error err;
    sp_error_clear(&err);
    if (rc == SP_OK) rc = sp_file_digest(path, &size, &h, &blocks, &err) == SP_OK ? SP_OK : sp_ctx_error(v->ctx, &err);
    free(path);
    if (rc == SP_OK && size != bytes)
        rc = problem(v, shard, "byte %llu: the file is %llu bytes, the manifest says %llu",
                     (unsigned long long)(size < bytes ? size : bytes), (unsigned long long)size,
                     (unsigned long long)bytes);
    int64_t bad_block = -1;
    if (rc == SP_OK && (sp_hash_parse(jx->valuestring, &want) != SP_OK || want.hi != h.hi ||
                        want.lo != h.lo)) {
        bad_block = first_bad_block(v, shard, &blocks);
        if (bad_block < 0)
            rc = problem(v, shard, "checksum mismatch (no block sums to locate it)");
    }
    sp_buf_free(&blocks);

    int64_t label_offset = 0;
    const char *lo = config_value(v, js->valuestring, "label_offset");
    if (lo) label_offset = strtoll(lo, NULL, 10);
    if (label_offset < -1000000 || label_offset > 1000000) /* the option's own range */
        return problem(v, "manifest.json", "[%s] label_offset %s is out of range",
                       js->valuestring, lo);
    uint64_t *starts = NULL, *sizes = NULL;
    if (rc == SP_OK)
        rc = check_records(v, shard, label_offset, records, bad_block, &starts, &sizes);

    cJSON *side = cJSON_GetObjectItemCaseSensitive(sh, "sidecars"), *it;
    cJSON_ArrayForEach(it, side)
    {
        if (rc != SP_OK) break;
        rc = check_sidecar(v, it);
        if (rc != SP_OK) break;
        const char *name = cJSON_GetObjectItemCaseSensitive(it, "path")->valuestring;
        size_t ln = strlen(name);
        if (ln > 4 && !strcmp(name + ln - 4, ".idx"))
            rc = !strcmp(jt->valuestring, "tar")
                     ? check_tar_index(v, shard, name, records, starts)
                     : check_tfrecord_index(v, name, starts, sizes, records);
    }
    free(starts);
    free(sizes);
    if (rc == SP_OK)
        sp_log(v->ctx, SP_LOG_INFO, "ok  %s  %llu records", shard, (unsigned long long)records);
    return rc;
}

static int check_wids(vstate *v, const char *name)
{
    size_t len;
    char *text = read_text(v->outdir, name, &len);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!j) return problem(v, name, "missing or not valid JSON");
    int rc = SP_OK;
    cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "shardlist"), *e;
    cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "__kind__");
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "wids-shard-index-v1") != 0 ||
        !cJSON_IsArray(list))
        rc = problem(v, name, "not a wids shard index");
    cJSON *shards = cJSON_GetObjectItemCaseSensitive(v->manifest, "shards");
    /* Every shard of the sink once: the index's name is the sink's prefix. */
    cJSON *wname = cJSON_GetObjectItemCaseSensitive(j, "name");
    int expected = 0, listed = cJSON_GetArraySize(list);
    cJSON *s0;
    cJSON_ArrayForEach(s0, shards)
    {
        cJSON *p = cJSON_GetObjectItemCaseSensitive(s0, "path");
        size_t lp = cJSON_IsString(wname) ? strlen(wname->valuestring) : 0;
        if (cJSON_IsString(p) && lp && !strncmp(p->valuestring, wname->valuestring, lp) &&
            p->valuestring[lp] == '-')
            expected++;
    }
    if (rc == SP_OK && listed != expected)
        rc = problem(v, name, "lists %d shards, the manifest has %d for this sink", listed, expected);
    const char *prev = "";
    cJSON_ArrayForEach(e, list)
    {
        cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "url");
        if (rc == SP_OK && cJSON_IsString(u)) {
            if (strcmp(prev, u->valuestring) >= 0)
                rc = problem(v, name, "shardlist is not in url order with each shard once");
            prev = u->valuestring;
        }
    }
    cJSON_ArrayForEach(e, list)
    {
        if (rc != SP_OK) break;
        cJSON *url = cJSON_GetObjectItemCaseSensitive(e, "url");
        cJSON *ns = cJSON_GetObjectItemCaseSensitive(e, "nsamples");
        cJSON *fs = cJSON_GetObjectItemCaseSensitive(e, "filesize");
        bool ok = false;
        cJSON *s;
        cJSON_ArrayForEach(s, shards)
        {
            cJSON *p = cJSON_GetObjectItemCaseSensitive(s, "path");
            if (cJSON_IsString(url) && cJSON_IsString(p) && !strcmp(p->valuestring, url->valuestring))
                ok = cJSON_IsNumber(ns) && cJSON_IsNumber(fs) &&
                     ns->valuedouble == cJSON_GetObjectItemCaseSensitive(s, "records")->valuedouble &&
                     fs->valuedouble == cJSON_GetObjectItemCaseSensitive(s, "bytes")->valuedouble;
        }
        if (!ok) rc = problem(v, name, "entry %s does not match the manifest",
                              cJSON_IsString(url) ? url->valuestring : "?");
    }
    cJSON_Delete(j);
    return rc;
}

int sp_verify(sp_ctx *ctx, const char *outdir)
{
    sp_error_clear(&ctx->err);
    vstate v = {.ctx = ctx, .outdir = outdir};
    size_t len;
    char *text = read_text(outdir, "manifest.json", &len);
    if (!text) return problem(&v, "manifest.json", "missing: not a finished shardpack output");
    v.manifest = cJSON_ParseWithLength(text, len);
    free(text);
    if (!v.manifest) return problem(&v, "manifest.json", "not valid JSON");
    cJSON *classes = cJSON_GetObjectItemCaseSensitive(v.manifest, "classes");
    cJSON *shards = cJSON_GetObjectItemCaseSensitive(v.manifest, "shards");
    cJSON *total = cJSON_GetObjectItemCaseSensitive(v.manifest, "records");
    cJSON *counts = cJSON_GetObjectItemCaseSensitive(v.manifest, "counts_out");
    int rc = SP_OK;
    if (!cJSON_IsArray(classes) || !cJSON_IsArray(shards) || !cJSON_IsNumber(total) ||
        !cJSON_IsObject(counts))
        rc = problem(&v, "manifest.json", "missing classes, shards, records or counts_out");
    v.nclasses = rc == SP_OK ? (size_t)cJSON_GetArraySize(classes) : 0;
    v.counts = calloc(v.nclasses ? v.nclasses : 1, sizeof(uint64_t));
    if (!v.counts) rc = sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    cJSON *sh;
    size_t nshards = 0;
    cJSON_ArrayForEach(sh, shards)
    {
        if (rc != SP_OK) break;
        rc = check_shard(&v, sh);
        nshards++;
    }
    uint64_t want_total = 0;
    if (rc == SP_OK && (!json_count(total, &want_total) || v.records != want_total))
        rc = problem(&v, "manifest.json", "the shards hold %llu records, the manifest says %.0f",
                     (unsigned long long)v.records, total->valuedouble);
    for (size_t c = 0; rc == SP_OK && c < v.nclasses; c++) {
        cJSON *name = cJSON_GetArrayItem(classes, (int)c);
        cJSON *want = cJSON_IsString(name) ? cJSON_GetObjectItemCaseSensitive(counts, name->valuestring) : NULL;
        uint64_t n;
        if (!json_count(want, &n) || n != v.counts[c])
            rc = problem(&v, "manifest.json", "class %s: the shards hold %llu records, counts_out says %s",
                         cJSON_IsString(name) ? name->valuestring : "?", (unsigned long long)v.counts[c],
                         cJSON_IsNumber(want) ? "otherwise" : "nothing");
    }
    cJSON *idx = cJSON_GetObjectItemCaseSensitive(v.manifest, "indexes"), *it;
    cJSON_ArrayForEach(it, idx)
    {
        if (rc != SP_OK) break;
        if (cJSON_IsString(it)) rc = check_wids(&v, it->valuestring);
    }
    if (rc == SP_OK)
        sp_log(ctx, SP_LOG_INFO, "verify: %zu shards, %llu records: all checks passed", nshards,
               (unsigned long long)v.records);
    free(v.counts);
    cJSON_Delete(v.manifest);
    return rc;
}
