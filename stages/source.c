/*
 * source — a dataset in class folders: every file under ROOT/<class>/ (at any depth) is a
 * sample of <class>. Classes are the folder names in byte order; their index is the label.
 *
 *   [source]
 *   path = examples/data
 *
 * Only enumeration happens here (names, sizes, mtimes); the scan phase reads, hashes and
 * probes the files in parallel. Hidden entries (".name") are ignored, as every dataset
 * tool does; files directly under ROOT have no class and are reported, not dropped
 * silently.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct source_opts {
    char *path;
    int64_t max_depth;
} source_opts;

#define OFF(f) offsetof(source_opts, f)
static const sp_option source_options[] = {
    {"path", "the dataset root: one folder per class", OFF(path), SP_OPT_STRING, NULL, 0, 0,
     NULL, SP_OPT_REQUIRED},
    {"max_depth", "how deep to descend below a class folder", OFF(max_depth), SP_OPT_INT, "16",
     0, 64, NULL, 0},
    SP_OPT_END,
};

typedef struct walker {
    sp_catalog *cat;
    sp_error *err;
    size_t cap;
    int64_t max_depth;
} walker;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a folder's entries, hidden ones left out. */
static int list_dir(const char *dir, char ***out, size_t *n, sp_error *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        sp_error_set_path(err, dir);
        return sp_fail(err, SP_E_IO, "cannot open folder: %s", strerror(errno));
    }
    size_t cap = 0;
    char **names = NULL;
    struct dirent *e;
    int rc = SP_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **p = realloc(names, cap * sizeof(*p));
            if (!p) {
                rc = SP_E_NOMEM;
                break;
            }
            names = p;
        }
        if (!(names[*n] = sp_strdup(e->d_name))) {
            rc = SP_E_NOMEM;
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (rc != SP_OK) {
        for (size_t i = 0; i < *n; i++) free(names[i]);
        free(names);
        *n = 0;
        return sp_fail(err, rc, "out of memory listing %s", dir);
    }
    if (*n) qsort(names, *n, sizeof(*names), cmp_str);
    *out = names;
    return SP_OK;
}

/* Appends a sample; one with no class (label < 0) is recorded as rejected, not dropped. */
static int add_sample(walker *w, const char *rel, const struct stat *st, int32_t label)
{
    sp_catalog *cat = w->cat;
    if (cat->nsamples == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        sp_sample *p = realloc(cat->samples, cap * sizeof(*p));
        if (!p) return sp_fail(w->err, SP_E_NOMEM, "out of memory");
        cat->samples = p;
        w->cap = cap;
    }
    sp_sample *s = &cat->samples[cat->nsamples];
    memset(s, 0, sizeof(*s));
    if (!(s->path = sp_strdup(rel))) return sp_fail(w->err, SP_E_NOMEM, "out of memory");
    s->label = label;
    s->size = (uint64_t)st->st_size;
    s->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    s->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
    s->inode = (uint64_t)st->st_ino;
    if (label < 0) {
        s->status = SP_E_NOLABEL;
        s->detail = sp_strdup("file is not inside a class folder");
    }
    cat->nsamples++;
    return SP_OK;
}

/* Something under a class folder that cannot be a sample: reported, never dropped. */
static int add_rejected(walker *w, const char *rel, int32_t label, int code, const char *detail)
{
    struct stat zero;
    memset(&zero, 0, sizeof(zero));
    int rc = add_sample(w, rel, &zero, label);
    if (rc == SP_OK) {
        sp_sample *s = &w->cat->samples[w->cat->nsamples - 1];
        free(s->detail);
        s->status = code;
        s->detail = sp_strdup(detail);
    }
    return rc;
}

/* The folders on the path from the class folder down: a symlink back to one of them
 * would make the walk endless, so it is refused. */
typedef struct visit {
    dev_t dev;
    ino_t ino;
    const struct visit *up;
} visit;

static bool on_path(const visit *v, const struct stat *st)
{
    for (; v; v = v->up)
        if (v->dev == st->st_dev && v->ino == st->st_ino) return true;
    return false;
}

static const char *kind_of(mode_t m)
{
    return S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket" : S_ISCHR(m) || S_ISBLK(m) ? "a device" : "not a regular file";
}

/* Walks ROOT/rel (a folder) collecting every regular file as a sample of `label`. */
static int walk(walker *w, const char *rel, int32_t label, int64_t depth, const visit *up)
{
    char *dir = sp_path_join(w->cat->root, rel);
    if (!dir) return sp_fail(w->err, SP_E_NOMEM, "out of memory");
    char **names;
    size_t n;
    sp_error lerr;
    sp_error_clear(&lerr);
    int rc = list_dir(dir, &names, &n, &lerr);
    free(dir);
    if (rc == SP_E_IO) /* one unreadable folder costs its own samples, not the run */
        return add_rejected(w, rel, label, SP_E_IO, lerr.msg);
    if (rc != SP_OK) return sp_fail(w->err, rc, "%s", lerr.msg);
    for (size_t i = 0; rc == SP_OK && i < n; i++) {
        char *crel = sp_path_join(rel, names[i]);
        char *full = crel ? sp_path_join(w->cat->root, crel) : NULL;
        struct stat st;
        if (!full) {
            rc = sp_fail(w->err, SP_E_NOMEM, "out of memory");
        } else if (stat(full, &st) != 0) {
            /* A dangling symlink or a file removed while we walk: a sample we cannot read. */
            rc = add_rejected(w, crel, label, SP_E_IO, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            visit here = {st.st_dev, st.st_ino, up};
            if (on_path(up, &st))
                rc = add_rejected(w, crel, label, SP_E_IO, "symlink loop: a folder that contains itself");
            else if (depth < w->max_depth)
                rc = walk(w, crel, label, depth + 1, &here);
        } else if (S_ISREG(st.st_mode)) {
            rc = add_sample(w, crel, &st, label);
        } else {
            rc = add_rejected(w, crel, label, SP_E_IO, kind_of(st.st_mode));
        }
        free(full);
        free(crel);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

static int source_enumerate(const sp_stage_env *env, const void *opts, sp_catalog *cat,
                            sp_error *err)
{
    (void)env;
    const source_opts *o = opts;
    walker w = {.cat = cat, .err = err, .max_depth = o->max_depth};
    if (!(cat->root = sp_strdup(o->path))) return sp_fail(err, SP_E_NOMEM, "out of memory");
    char **names;
    size_t n;
    int rc = list_dir(cat->root, &names, &n, err);
    if (rc != SP_OK) return rc;
    /* Folders are classes, in name order, so a label is an index into that order; files
     * at the top level are recorded as having no class. */
    for (size_t i = 0; rc == SP_OK && i < n; i++) {
        char *full = sp_path_join(cat->root, names[i]);
        struct stat st;
        if (!full) {
            rc = sp_fail(err, SP_E_NOMEM, "out of memory");
        } else if (stat(full, &st) != 0) {
            rc = add_rejected(&w, names[i], -1, SP_E_IO, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            char **p = realloc(cat->classes, (cat->nclasses + 1) * sizeof(*p));
            if (p) {
                cat->classes = p;
                cat->classes[cat->nclasses++] = names[i];
                names[i] = NULL;
            } else {
                rc = sp_fail(err, SP_E_NOMEM, "out of memory");
            }
        } else if (S_ISREG(st.st_mode)) {
            rc = add_sample(&w, names[i], &st, -1);
        }
        free(full);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    struct stat rootst;
    visit root = {0, 0, NULL};
    if (stat(cat->root, &rootst) == 0) root = (visit){rootst.st_dev, rootst.st_ino, NULL};
    for (size_t c = 0; rc == SP_OK && c < cat->nclasses; c++) {
        char *full = sp_path_join(cat->root, cat->classes[c]);
        struct stat st;
        visit here = root;
        if (full && stat(full, &st) == 0) here = (visit){st.st_dev, st.st_ino, &root};
        free(full);
        rc = walk(&w, cat->classes[c], (int32_t)c, 0, &here);
    }
    return rc;
}

const sp_stage_desc sp_stage_source = {
    .name = "source",
    .help = "read a dataset laid out as ROOT/<class>/<image>",
    .kind = SP_STAGE_SOURCE,
    .opts_size = sizeof(source_opts),
    .options = source_options,
    .enumerate = source_enumerate,
};
