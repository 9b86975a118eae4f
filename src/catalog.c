/*
 * The catalog: what scan learned about every sample, and its cache on disk.
 *
 * The cache is one TSV file per source (OUTDIR/.shardpack/catalog-SOURCE.tsv). A rebuild
 * reuses a row when the file's (path, size, mtime, ctime, inode) match — ctime because a
 * tool can set mtime back after writing, never ctime — so rescanning a million
 * unchanged files costs a stat each, not a read and a hash. The first line names the
 * format version and a key (the source root and the limits in force, since a limit
 * decides whether a header is accepted); a different key invalidates the whole file. The
 * cache is written atomically, and a damaged one is ignored (it is only a cache).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Version 5: each [run] limit has its own status code (a version 4 row says -7 for all). */
#define CACHE_MAGIC "shardpack-catalog\t5\t"

void sp_catalog_free(sp_catalog *cat)
{
    for (size_t i = 0; i < cat->nsamples; i++) {
        free(cat->samples[i].path);
        free(cat->samples[i].detail);
    }
    free(cat->samples);
    for (size_t i = 0; i < cat->nclasses; i++) free(cat->classes[i]);
    free(cat->classes);
    free(cat->to_global);
    free(cat->source);
    free(cat->root);
    if (cat->state && cat->state_free) cat->state_free(cat->state);
    memset(cat, 0, sizeof(*cat));
}

int sp_sample_read(const sp_catalog *cat, const sp_sample *s, const sp_limits *lim,
                   uint8_t **data, size_t *len, sp_error *err)
{
    *data = NULL;
    *len = 0;
    if (cat->desc && cat->desc->read) {
        int rc = cat->desc->read(cat, s, lim, data, len, err);
        if (rc == SP_OK && *len > lim->max_file_bytes) {
            free(*data);
            *data = NULL;
            return sp_fail(err, SP_E_MAX_FILE_BYTES, "%zu bytes, over max_file_bytes (%llu)",
                           *len, (unsigned long long)lim->max_file_bytes);
        }
        return rc;
    }
    char *full = sp_path_join(cat->root, s->path);
    if (!full) return sp_fail(err, SP_E_NOMEM, "out of memory");
    int rc = sp_read_input(full, lim->max_file_bytes, data, len, err);
    free(full);
    return rc;
}

int sp_catalog_cache_save(const char *cache_path, const char *key, const sp_catalog *cat,
                          sp_error *err)
{
    sp_buf b = {0};
    sp_buf_puts(&b, CACHE_MAGIC);
    sp_tsv_field(&b, key);
    sp_buf_puts(&b, "\n");
    for (size_t i = 0; i < cat->nsamples; i++) {
        const sp_sample *s = &cat->samples[i];
        /* Only facts about the bytes are cached: read errors, out-of-memory and a missing
         * class may not hold next time, so those files are looked at again. */
        if (s->status != SP_OK &&
            (sp_severity_of(s->status) != SP_SEV_SAMPLE || s->status == SP_E_NOLABEL))
            continue;
        char hex[33];
        sp_hash_hex(s->hash, hex);
        sp_tsv_field(&b, s->path);
        sp_buf_printf(&b, "\t%llu\t%lld\t%lld\t%llu\t%s\t%u\t%u\t%u\t%s\t%d\t",
                      (unsigned long long)s->size, (long long)s->mtime_ns,
                      (long long)s->ctime_ns, (unsigned long long)s->inode,
                      s->format ? s->format->name : "-", s->info.width, s->info.height,
                      s->info.channels, hex, s->status);
        sp_tsv_field(&b, s->detail ? s->detail : "");
        /* Version 3: the clean stage's facts (a full decode passed; the perceptual hash). */
        if (s->has_phash) sp_buf_printf(&b, "\t%016llx", (unsigned long long)s->phash);
        else sp_buf_puts(&b, "\t-");
        sp_buf_printf(&b, "\t%d", s->decoded ? 1 : 0);
        /* Version 4: what the decoder changes (the report's `altered` rows). */
        sp_buf_printf(&b, "\t%u\t%u\t%u\n", s->info.alterations, s->info.orientation,
                      s->info.maxval);
    }
    int rc = b.oom ? sp_fail(err, SP_E_NOMEM, "out of memory") : SP_OK;
    if (rc == SP_OK) rc = sp_write_file_if_changed(cache_path, b.data, b.len, err);
    sp_buf_free(&b);
    return rc;
}

/* Splits a line into up to n tab-separated fields (pointers into the line). */
static size_t split_tabs(char *line, char **f, size_t n)
{
    size_t k = 0;
    f[k++] = line;
    for (char *p = line; *p && k < n; p++)
        if (*p == '\t') {
            *p = '\0';
            f[k++] = p + 1;
        }
    return k;
}

/* A field of 1 to 5 decimal digits (the alteration columns). */
static bool digits(const char *f)
{
    size_t n = strspn(f, "0123456789");
    return n > 0 && n <= 5 && f[n] == '\0';
}

int sp_catalog_cache_load(const sp_ctx *ctx, const char *cache_path, const char *key,
                          sp_catalog *cache, sp_error *err)
{
    (void)err;
    memset(cache, 0, sizeof(*cache));
    uint8_t *data;
    size_t len;
    sp_error ignored;
    if (sp_read_file(cache_path, (uint64_t)4 << 30, &data, &len, &ignored) != SP_OK)
        return SP_OK; /* no cache yet */
    char *text = sp_strndup((const char *)data, len);
    free(data);
    if (!text) return SP_OK;
    sp_buf hdr = {0};
    sp_buf_puts(&hdr, CACHE_MAGIC);
    sp_tsv_field(&hdr, key);
    sp_buf_puts(&hdr, "\n");
    bool ok = !hdr.oom && strncmp(text, hdr.data, hdr.len) == 0;
    char *p = ok ? text + hdr.len : NULL;
    sp_buf_free(&hdr);
    size_t cap = 0;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (!nl) break; /* a torn last line: ignore it */
        *nl = '\0';
        char *f[17];
        if (split_tabs(p, f, 17) == 17) {
            if (cache->nsamples == cap) {
                cap = cap ? cap * 2 : 1024;
                sp_sample *v = realloc(cache->samples, cap * sizeof(*v));
                if (!v) break;
                cache->samples = v;
            }
            sp_sample *s = &cache->samples[cache->nsamples];
            memset(s, 0, sizeof(*s));
            s->path = sp_tsv_unescape(f[0], strlen(f[0]));
            s->size = strtoull(f[1], NULL, 10);
            s->mtime_ns = strtoll(f[2], NULL, 10);
            s->ctime_ns = strtoll(f[3], NULL, 10);
            s->inode = strtoull(f[4], NULL, 10);
            s->format = sp_ctx_format_by_name(ctx, f[5]);
            s->info.width = (uint32_t)strtoul(f[6], NULL, 10);
            s->info.height = (uint32_t)strtoul(f[7], NULL, 10);
            s->info.channels = (uint32_t)strtoul(f[8], NULL, 10);
            s->status = (int)strtol(f[10], NULL, 10);
            s->detail = f[11][0] ? sp_tsv_unescape(f[11], strlen(f[11])) : NULL;
            s->has_phash = strcmp(f[12], "-") != 0;
            s->phash = s->has_phash ? strtoull(f[12], NULL, 16) : 0;
            s->decoded = f[13][0] == '1';
            unsigned long alter = strtoul(f[14], NULL, 10), orient = strtoul(f[15], NULL, 10),
                          maxval = strtoul(f[16], NULL, 10);
            s->info.alterations = (uint32_t)alter;
            s->info.orientation = (uint16_t)orient;
            s->info.maxval = (uint16_t)maxval;
            bool alter_ok = digits(f[14]) && digits(f[15]) && digits(f[16]) && alter <= 0x1f &&
                            orient <= 8 && maxval <= 65535;
            bool hash_ok = !s->has_phash || (strlen(f[12]) == 16 &&
                                             strspn(f[12], "0123456789abcdef") == 16);
            /* It is only a cache: a row that could not have been written is dropped, so a
             * damaged file costs a rescan, never a crash. */
            bool sane = s->status == SP_OK
                            ? s->format && s->format->decode && s->info.width && s->info.height
                            : sp_severity_of(s->status) == SP_SEV_SAMPLE;
            if (s->path && sane && hash_ok && alter_ok && sp_hash_parse(f[9], &s->hash) == SP_OK)
                cache->nsamples++;
            else {
                free(s->path);
                free(s->detail);
            }
        }
        p = nl + 1;
    }
    free(text);
    return SP_OK;
}
