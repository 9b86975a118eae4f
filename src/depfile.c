/*
 * Make as a driver: `shardpack plan --depfile FILE` writes what each output depends on in
 * make's syntax, and `--list-shards` names the shards, so a Makefile can make every shard
 * a target (`shardpack build --shard NAME`), build them with make -jN, and rebuild only
 * those whose inputs changed (examples/make/Makefile).
 *
 *   OUT/SHARD: CONFIG SLICE INPUT...  the config, the shard's slice file, and the input
 *                                     files of its records and of the samples that
 *                                     decided its stand-ins (stamp)
 *   OUT/manifest.json: CONFIG SHARD... INPUT...   every shard and every input, rejected too
 *   CONFIG:  INPUT:                   empty rules, so a deleted input is not an error
 *
 * An input is the sample's file, and the files its source's options name (a CSV
 * manifest, a classes file: a relabelled row changes records without touching an image).
 * A source whose samples are records packed in container files (idx, cifar) has no file
 * per sample: its inputs are the files its options name, and the files in the folders
 * they name.
 *
 * Input files alone miss a change that moves records between shards: a file added to a
 * class shifts the records after it into other shards, whose own inputs did not change.
 * So each shard also depends on OUT/.shardpack/slices/SHARD, which holds its slice hash
 * (what its stamp must match: records, sources, chain) and is rewritten only when that
 * changes; make then rebuilds exactly the shards whose contents the plan moved. Paths are escaped for make (space, tab, '#',
 * '$', ':'); a path make cannot hold (a newline) is left out with a warning.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct strvec {
    char **v;
    size_t n;
} strvec;

static bool push(strvec *sv, char *s)
{
    char **v = s ? realloc(sv->v, (sv->n + 1) * sizeof(*v)) : NULL;
    if (!v) {
        free(s);
        return false;
    }
    sv->v = v;
    sv->v[sv->n++] = s;
    return true;
}

static void strvec_free(strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++) free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof(*sv));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, each once. */
static void uniq(strvec *sv)
{
    if (sv->n > 1) qsort(sv->v, sv->n, sizeof(char *), cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < sv->n; i++) {
        if (u && strcmp(sv->v[u - 1], sv->v[i]) == 0) {
            free(sv->v[i]);
            continue;
        }
        sv->v[u++] = sv->v[i];
    }
    sv->n = u;
}

/* The files a source's string options name (with `dirs`, also the regular files in the
 * folders they name: a packed source's containers). */
static bool named_files(const sp_job *run, size_t catalog, bool dirs, strvec *out)
{
    const sp_stage *st = NULL;
    for (size_t i = 0; i < run->pipe->nstages; i++)
        if (run->catalog_of_stage[i] == (int)catalog) st = &run->pipe->stages[i];
    if (!st) return true;
    for (const sp_option *o = st->desc->options; o->name; o++) {
        if (o->type != SP_OPT_STRING) continue;
        const char *v = *(char *const *)((const char *)st->opts + o->offset);
        struct stat sb;
        if (!v || !v[0] || stat(v, &sb) != 0) continue;
        if (S_ISREG(sb.st_mode) && !push(out, sp_strdup(v))) return false;
        if (!dirs || !S_ISDIR(sb.st_mode)) continue;
        DIR *d = opendir(v);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char *p = sp_path_join(v, e->d_name);
            if (p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) {
                if (!push(out, p)) {
                    closedir(d);
                    return false;
                }
            } else {
                free(p);
            }
        }
        if (d) closedir(d);
    }
    return true;
}

/* The input files of one sample: its own file (unless packed) and its source's named
 * files (`named`: the containers of a packed source). */
static bool sample_inputs(const sp_job *run, const strvec *named, uint32_t catalog,
                          const sp_sample *s, strvec *out)
{
    const sp_catalog *cat = &run->catalogs[catalog];
    if ((!cat->desc || !cat->desc->read) && !push(out, sp_path_join(cat->root, s->path)))
        return false;
    const strvec *packed = named;
    for (size_t i = 0; i < packed[catalog].n; i++)
        if (!push(out, sp_strdup(packed[catalog].v[i]))) return false;
    return true;
}

/* A path as make reads it; false for one it cannot hold (a newline). */
/* A stand-in's sample: its inputs join the shard's (sp_resume_standin_inputs). */
typedef struct standin_arg {
    sp_job *run;
    const strvec *packed;
    strvec *in;
} standin_arg;

static bool standin_input(void *arg, uint32_t source, uint32_t sample)
{
    standin_arg *a = arg;
    return sample_inputs(a->run, a->packed, source, &a->run->catalogs[source].samples[sample],
                         a->in);
}

static bool put_escaped(sp_job *run, sp_buf *b, const char *p)
{
    if (strpbrk(p, "\n\r")) {
        sp_log(run->ctx, SP_LOG_WARN, "depfile: left out a path make cannot hold: %s", p);
        return false;
    }
    for (; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '#' || *p == ':')
            sp_buf_printf(b, "\\%c", *p);
        else if (*p == '$')
            sp_buf_puts(b, "$$");
        else
            sp_buf_append(b, p, 1);
    }
    return true;
}

/* A prerequisite, on a continuation line of its own. */
static void put_path(sp_job *run, sp_buf *b, const char *p)
{
    if (strpbrk(p, "\n\r")) {
        put_escaped(run, b, p); /* only warns */
        return;
    }
    sp_buf_puts(b, " \\\n  ");
    put_escaped(run, b, p);
}

static void put_target(sp_job *run, sp_buf *b, const char *t)
{
    if (put_escaped(run, b, t)) sp_buf_puts(b, ":");
}

/* OUT/.shardpack/slices/SHARD holding the shard's slice hash, written only when it
 * changed (so its mtime says when the shard's contents last moved); its path, or NULL
 * with the error on the context. */
static char *write_slice(sp_job *run, size_t sink, size_t shard)
{
    char hex[34];
    if (sp_resume_slice_hex(run, sink, shard, hex) != SP_OK) return NULL;
    strcat(hex, "\n");
    char *meta = sp_path_join(run->outdir, ".shardpack");
    char *dir = meta ? sp_path_join(meta, "slices") : NULL;
    char *path = dir ? sp_path_join(dir, run->sinks[sink].shards[shard].path) : NULL;
    free(meta);
    sp_error err;
    sp_error_clear(&err);
    int rc = path ? sp_mkdirs(dir, &err) : sp_fail(&err, SP_E_NOMEM, "out of memory");
    if (rc == SP_OK) rc = sp_write_file_if_changed(path, hex, strlen(hex), &err);
    free(dir);
    /* A shard that is there but not current by its stamp (a sidecar deleted or edited,
     * the file replaced) has to be remade although its slice did not move: its slice
     * file is made newer than it. Once rebuilt, the shard is current and newer again. */
    char *file = rc == SP_OK ? sp_path_join(run->outdir, run->sinks[sink].shards[shard].path)
                             : NULL;
    struct stat st;
    if (file && stat(file, &st) == 0 && !sp_resume_current(run, sink, shard) &&
        utimensat(AT_FDCWD, path, NULL, 0) != 0) {
        sp_error_set_path(&err, path);
        rc = sp_fail(&err, SP_E_IO, "cannot touch: %s", strerror(errno));
    }
    free(file);
    if (rc == SP_OK) return path;
    free(path);
    sp_ctx_error(run->ctx, &err);
    return NULL;
}

int sp_depfile_write(sp_job *run, const char *path)
{
    /* The stamps say which shards on disk are current (write_slice). */
    if (sp_resume_begin(run) != SP_OK) return run->ctx->err.code;
    sp_buf b = {0};
    strvec *packed = calloc(run->ncatalogs ? run->ncatalogs : 1, sizeof(strvec));
    strvec all = {0}, shards = {0};
    sp_subst_pool *pool = sp_subst_pool_new();
    bool ok = packed != NULL && pool != NULL, slice_failed = false;
    for (size_t c = 0; ok && c < run->ncatalogs; c++)
        ok = named_files(run, c, run->catalogs[c].desc && run->catalogs[c].desc->read,
                         &packed[c]);
    const char *config = run->pipe->name ? run->pipe->name : "pipeline.ini";
    sp_buf_printf(&b, "# make dependencies written by `shardpack plan --depfile` from %s:\n"
                      "# each shard on the config and its records' input files, the manifest on\n"
                      "# every shard and every input.\n",
                  config);
    for (size_t s = 0; ok && s < run->nsinks; s++) {
        const sp_sink_plan *sp = &run->sinks[s];
        for (size_t i = 0; ok && i < sp->nshards; i++) {
            const sp_shard *sh = &sp->shards[i];
            strvec in = {0};
            for (size_t k = sh->first; ok && k < sh->first + sh->count; k++) {
                const sp_record *r = &sp->recs.v[k];
                ok = sample_inputs(run, packed, r->source, sp_run_sample(run, r), &in);
            }
            /* A shard built with stand-ins depends on what chose them too: its stamp
             * says which records failed, and the candidates tried are inputs of it. */
            standin_arg sa = {run, packed, &in};
            if (ok)
                ok = sp_resume_standin_inputs(run, pool, s, i, standin_input, &sa) == SP_OK;
            uniq(&in);
            char *target = sp_path_join(run->outdir, sh->path);
            char *slice = ok && target ? write_slice(run, s, i) : NULL;
            slice_failed = ok && target && !slice;
            ok = ok && target && slice;
            if (ok) {
                sp_buf_puts(&b, "\n");
                put_target(run, &b, target);
                put_path(run, &b, config);
                put_path(run, &b, slice);
                for (size_t k = 0; k < in.n; k++) put_path(run, &b, in.v[k]);
                sp_buf_puts(&b, "\n");
                ok = push(&shards, target);
            } else {
                free(target);
            }
            free(slice);
            strvec_free(&in);
        }
    }
    /* Every input, rejected samples too: fixing a broken file changes the output. */
    for (size_t c = 0; ok && c < run->ncatalogs; c++)
        for (size_t i = 0; ok && i < run->catalogs[c].nsamples; i++)
            ok = sample_inputs(run, packed, (uint32_t)c, &run->catalogs[c].samples[i], &all);
    uniq(&all);
    char *manifest = ok ? sp_path_join(run->outdir, "manifest.json") : NULL;
    if (manifest) {
        sp_buf_puts(&b, "\n");
        put_target(run, &b, manifest);
        put_path(run, &b, config);
        for (size_t k = 0; k < shards.n; k++) put_path(run, &b, shards.v[k]);
        for (size_t k = 0; k < all.n; k++) put_path(run, &b, all.v[k]);
        sp_buf_puts(&b, "\n\n");
        put_target(run, &b, config);
        sp_buf_puts(&b, "\n");
        for (size_t k = 0; k < all.n; k++) {
            put_target(run, &b, all.v[k]);
            sp_buf_puts(&b, "\n");
        }
    }
    free(manifest);
    for (size_t c = 0; packed && c < run->ncatalogs; c++) strvec_free(&packed[c]);
    free(packed);
    sp_subst_pool_free(&pool);
    strvec_free(&all);
    strvec_free(&shards);
    if (slice_failed) { /* its error is on the context already */
        sp_buf_free(&b);
        return run->ctx->err.code;
    }
    sp_error err;
    sp_error_clear(&err);
    char *dir = sp_path_dir(path);
    int rc = !ok || b.oom || !dir ? sp_fail(&err, SP_E_NOMEM, "out of memory")
                                  : sp_mkdirs(dir, &err);
    if (rc == SP_OK) rc = sp_write_file_if_changed(path, b.data, b.len, &err);
    free(dir);
    sp_buf_free(&b);
    return rc == SP_OK ? rc : sp_ctx_error(run->ctx, &err);
}

int sp_list_shards(sp_job *run, FILE *out)
{
    for (size_t s = 0; s < run->nsinks; s++)
        for (size_t i = 0; i < run->sinks[s].nshards; i++)
            fprintf(out, "%s\n", run->sinks[s].shards[i].path);
    if (fflush(out) != 0) return sp_fail(&run->ctx->err, SP_E_IO, "cannot write the shard list");
    return SP_OK;
}
