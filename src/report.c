/*
 * The report: every sample a run dropped or could not use, with the phase that decided
 * (scan, clean, balance, build), the reason code (sp_strerror's names: corrupt, duplicate,
 * near_duplicate, too_small, ...) and a detail; the near-duplicate clusters the clean
 * stages found; and the written samples the decoder altered (src/altered.c). It goes to
 * OUTDIR/report.tsv (one row per sample, for grep and spreadsheets), to manifest.json ("skipped" and "clusters"), and as a summary to stderr.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int sp_report_drop(sp_job *run, const char *phase, uint32_t source, uint32_t sample, int code,
                   const char *detail)
{
    if (run->nskips == run->capskips) {
        size_t cap = run->capskips ? run->capskips * 2 : 64;
        sp_skip *v = realloc(run->skips, cap * sizeof(*v));
        if (!v) return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
        run->skips = v;
        run->capskips = cap;
    }
    sp_skip *k = &run->skips[run->nskips];
    k->source = source;
    k->sample = sample;
    k->phase = phase;
    k->code = code;
    if (!(k->detail = sp_strdup(detail)))
        return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
    run->nskips++;
    sp_log(run->ctx, SP_LOG_DEBUG, "%s: %s/%s: %s: %s", phase, run->catalogs[source].source,
           run->catalogs[source].samples[sample].path, sp_strerror(code), detail);
    return SP_OK;
}

int sp_report_cluster(sp_job *run, uint32_t cluster, uint32_t source, uint32_t sample, bool kept)
{
    if (run->ncluster_members == run->capcluster_members) {
        size_t cap = run->capcluster_members ? run->capcluster_members * 2 : 64;
        sp_cluster_member *v = realloc(run->cluster_members, cap * sizeof(*v));
        if (!v) return sp_fail(&run->ctx->err, SP_E_NOMEM, "out of memory");
        run->cluster_members = v;
        run->capcluster_members = cap;
    }
    run->cluster_members[run->ncluster_members++] =
        (sp_cluster_member){cluster, source, sample, kept};
    return SP_OK;
}

/* The member inside a packed input. An archive's samples are its members (the file is
 * the archive, root); sources that pack records into files of a folder (IDX, CIFAR) name
 * them FILE/RECORD. Empty for a plain file. */
static const char *member_of(const sp_catalog *cat, const char *path, const char **file,
                             size_t *filelen)
{
    if (cat->members) {
        *file = cat->root;
        *filelen = strlen(cat->root);
        return path;
    }
    const char *h = cat->desc && cat->desc->read ? strrchr(path, '/') : NULL;
    *file = path;
    *filelen = h ? (size_t)(h - path) : strlen(path);
    return h ? h + 1 : "";
}

static void tsv_row(sp_buf *b, const char *phase, const sp_catalog *cat, const char *path,
                    const char *reason, const char *detail)
{
    const char *whole;
    size_t flen;
    const char *member = member_of(cat, path, &whole, &flen);
    char *file = sp_strndup(whole, flen);
    sp_tsv_field(b, phase);
    sp_buf_puts(b, "\t");
    sp_tsv_field(b, cat->source);
    sp_buf_puts(b, "\t");
    sp_tsv_field(b, file ? file : path);
    sp_buf_puts(b, "\t");
    sp_tsv_field(b, member);
    sp_buf_printf(b, "\t%s\t", reason);
    sp_tsv_field(b, detail);
    sp_buf_puts(b, "\n");
    b->oom |= !file;
    free(file);
}

static int cmp_member(const void *a, const void *b)
{
    const sp_cluster_member *x = a, *y = b;
    if (x->cluster != y->cluster) return x->cluster < y->cluster ? -1 : 1;
    if (x->source != y->source) return x->source < y->source ? -1 : 1;
    return x->sample < y->sample ? -1 : x->sample > y->sample;
}

int sp_report_write(sp_job *run, sp_error *err)
{
    sp_buf b = {0};
    sp_buf_puts(&b, "phase\tsource\tpath\tmember\treason\tdetail\n");
    for (size_t i = 0; i < run->nskips; i++) {
        const sp_skip *k = &run->skips[i];
        const sp_catalog *cat = &run->catalogs[k->source];
        tsv_row(&b, k->phase, cat, cat->samples[k->sample].path, sp_strerror(k->code),
                k->detail ? k->detail : "");
    }
    /* Near-duplicate clusters' kept members (the dropped ones are rows above): reason
     * `cluster`, so a split's leakage guard can be checked from this file alone. */
    if (run->ncluster_members > 1)
        qsort(run->cluster_members, run->ncluster_members, sizeof(sp_cluster_member), cmp_member);
    for (size_t i = 0; i < run->ncluster_members; i++) {
        const sp_cluster_member *m = &run->cluster_members[i];
        if (!m->kept) continue;
        const sp_catalog *cat = &run->catalogs[m->source];
        char detail[64];
        snprintf(detail, sizeof(detail), "kept, member of cluster %u", m->cluster);
        tsv_row(&b, "clean", cat, cat->samples[m->sample].path, "cluster", detail);
    }
    /* Samples written with pixels the decoder changed (src/altered.c): phase `decode`. */
    sp_altered *alt = NULL;
    size_t nalt = 0;
    b.oom |= sp_altered_rows(run, &alt, &nalt) != SP_OK;
    for (size_t i = 0; i < nalt; i++) {
        const sp_catalog *cat = &run->catalogs[alt[i].source];
        tsv_row(&b, "decode", cat, cat->samples[alt[i].sample].path, alt[i].reason,
                alt[i].detail);
    }
    free(alt);
    int rc = b.oom ? sp_fail(err, SP_E_NOMEM, "out of memory") : SP_OK;
    char *path = sp_path_join(run->outdir, "report.tsv");
    if (rc == SP_OK && !path) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    if (rc == SP_OK) rc = sp_write_file_if_changed(path, b.data, b.len, err);
    free(path);
    sp_buf_free(&b);
    return rc;
}

/* "clusters": [{"id": 1, "members": [{"source": ..., "path": ..., "kept": true}, ...]}] */
void sp_report_json(sp_buf *b, const sp_job *run)
{
    sp_cluster_member *m = run->cluster_members;
    size_t n = run->ncluster_members;
    if (n > 1) qsort(m, n, sizeof(*m), cmp_member);
    sp_buf_puts(b, "  \"clusters\": [");
    for (size_t i = 0; i < n; i++) {
        bool first = i == 0 || m[i - 1].cluster != m[i].cluster;
        if (first)
            sp_buf_printf(b, "%s\n    {\"id\": %u, \"members\": [", i ? "]}," : "", m[i].cluster);
        const sp_catalog *cat = &run->catalogs[m[i].source];
        sp_buf_puts(b, first ? "{\"source\": " : ", {\"source\": ");
        sp_json_str(b, cat->source);
        sp_buf_puts(b, ", \"path\": ");
        sp_json_str(b, cat->samples[m[i].sample].path);
        sp_buf_printf(b, ", \"kept\": %s}", m[i].kept ? "true" : "false");
    }
    sp_buf_puts(b, n ? "]}\n  ],\n" : "],\n");
}

/* Dropped samples by reason and by class, and the clusters: the lines a person reads. */
void sp_report_log(sp_job *run)
{
    sp_ctx *ctx = run->ctx;
    if (!run->nskips && !run->ncluster_members) return;
    size_t ncodes;
    const int *codes = sp_reason_codes(&ncodes);
    sp_buf line = {0};
    for (size_t c = 0; c < ncodes; c++) {
        size_t k = 0;
        for (size_t i = 0; i < run->nskips; i++) k += run->skips[i].code == codes[c];
        if (k) sp_buf_printf(&line, "%s%s %zu", line.len ? ", " : "", sp_strerror(codes[c]), k);
    }
    /* Skips are sorted by sample (finish sorted them): count each sample once. */
    size_t dropped = 0;
    for (size_t i = 0; i < run->nskips; i++)
        dropped += i == 0 || run->skips[i].source != run->skips[i - 1].source ||
                   run->skips[i].sample != run->skips[i - 1].sample;
    sp_log(ctx, SP_LOG_INFO, "  samples kept %llu, dropped %zu",
           (unsigned long long)(run->summary.samples_found - dropped), dropped);
    if (line.data) sp_log(ctx, SP_LOG_INFO, "  dropped by reason: %s", line.data);
    sp_buf_free(&line);
    uint64_t *per = calloc(run->nclasses ? run->nclasses : 1, sizeof(uint64_t));
    if (per) {
        for (size_t i = 0; i < run->nskips; i++) {
            const sp_catalog *cat = &run->catalogs[run->skips[i].source];
            int32_t l = cat->samples[run->skips[i].sample].label;
            if (l >= 0 && cat->to_global) per[cat->to_global[l]]++;
        }
        for (size_t c = 0; c < run->nclasses; c++)
            if (per[c])
                sp_buf_printf(&line, "%s%s %llu", line.len ? ", " : "", run->classes[c],
                              (unsigned long long)per[c]);
        if (line.data) sp_log(ctx, SP_LOG_INFO, "  dropped by class: %s", line.data);
        sp_buf_free(&line);
        free(per);
    }
    if (run->ncluster_members) {
        size_t clusters = 0;
        for (size_t i = 0; i < run->ncluster_members; i++)
            clusters += i == 0 ||
                        run->cluster_members[i].cluster != run->cluster_members[i - 1].cluster;
        sp_log(ctx, SP_LOG_INFO, "  near-duplicate clusters: %zu (%zu samples; listed in "
                                 "manifest.json and report.tsv)",
               clusters, run->ncluster_members);
    }
}
