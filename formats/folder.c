/*
 * folder — a dataset in class folders: every file under ROOT/<class>/ (at any depth) is a
 * sample of <class>. Classes are the folder names in byte order; their index is the label.
 *
 * The split layout is the same one level down: when every folder under ROOT is a split
 * name (train, val, valid, validation, test), ROOT/<split>/<class>/... is a sample of
 * <class> whose split_hint is that split, and the classes are the union of every split's
 * class folders (a class missing from one split is fine).
 *
 * Only enumeration happens here (names, sizes, mtimes); the scan phase reads, hashes and
 * probes the files in parallel. Hidden entries (".name") are ignored, as every dataset
 * tool does; files directly under ROOT (or ROOT/<split>) have no class and are reported,
 * not dropped silently.
 */
#include "input.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct walker {
    sp_catalog *cat;
    sp_error *err;
    size_t cap;
    int64_t max_depth;
    uint8_t split; /* the split folder being walked, SP_SPLIT_NONE outside one */
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
    s->split_hint = w->split;
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

/* The sorted class folders of dir (appended to cat's classes unless already there). */
static int add_class_folders(walker *w, const char *dir, const char *prefix, int32_t no_label)
{
    sp_catalog *cat = w->cat;
    char **names;
    size_t n;
    int rc = list_dir(dir, &names, &n, w->err);
    if (rc != SP_OK) return rc;
    for (size_t i = 0; rc == SP_OK && i < n; i++) {
        char *full = sp_path_join(dir, names[i]);
        char *rel = prefix ? sp_path_join(prefix, names[i]) : sp_strdup(names[i]);
        struct stat st;
        if (!full || !rel) {
            rc = sp_fail(w->err, SP_E_NOMEM, "out of memory");
        } else if (stat(full, &st) != 0) {
            rc = add_rejected(w, rel, no_label, SP_E_IO, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            bool have = false;
            for (size_t c = 0; c < cat->nclasses && !have; c++)
                have = strcmp(cat->classes[c], names[i]) == 0;
            char **p = have ? cat->classes : realloc(cat->classes, (cat->nclasses + 1) * sizeof(*p));
            if (!p) {
                rc = sp_fail(w->err, SP_E_NOMEM, "out of memory");
            } else if (!have) {
                cat->classes = p;
                cat->classes[cat->nclasses++] = names[i];
                names[i] = NULL;
            }
        } else if (S_ISREG(st.st_mode)) {
            rc = add_sample(w, rel, &st, no_label);
        }
        free(full);
        free(rel);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

/* Walks ROOT/prefix/<class> for every class that exists there. */
static int walk_classes(walker *w, const char *prefix)
{
    sp_catalog *cat = w->cat;
    int rc = SP_OK;
    struct stat rootst;
    visit root = {0, 0, NULL};
    if (stat(cat->root, &rootst) == 0) root = (visit){rootst.st_dev, rootst.st_ino, NULL};
    for (size_t c = 0; rc == SP_OK && c < cat->nclasses; c++) {
        char *rel = prefix ? sp_path_join(prefix, cat->classes[c]) : sp_strdup(cat->classes[c]);
        char *full = rel ? sp_path_join(cat->root, rel) : NULL;
        struct stat st;
        if (!full) {
            rc = sp_fail(w->err, SP_E_NOMEM, "out of memory");
        } else if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
            visit here = {st.st_dev, st.st_ino, &root};
            rc = walk(w, rel, (int32_t)c, 0, &here);
        }
        free(full);
        free(rel);
    }
    return rc;
}

static int cmp_cls(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether ROOT's folders are all split names (and there is at least one). */
static int split_layout(const char *root, bool *yes, sp_error *err)
{
    char **names;
    size_t n;
    int rc = list_dir(root, &names, &n, err);
    if (rc != SP_OK) return rc;
    size_t dirs = 0, splits = 0;
    for (size_t i = 0; i < n; i++) {
        char *full = sp_path_join(root, names[i]);
        struct stat st;
        if (full && stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
            dirs++;
            if (sp_input_split_of(names[i], strlen(names[i])) != SP_SPLIT_NONE) splits++;
        }
        free(full);
        free(names[i]);
    }
    free(names);
    *yes = dirs > 0 && splits == dirs;
    return SP_OK;
}

static int folder_enumerate(const sp_stage_env *env, const sp_input_opts *o, sp_catalog *cat,
                            sp_error *err)
{
    (void)env;
    walker w = {.cat = cat, .err = err, .max_depth = o->max_depth};
    if (!(cat->root = sp_strdup(o->path))) return sp_fail(err, SP_E_NOMEM, "out of memory");
    bool splits;
    int rc = split_layout(cat->root, &splits, err);
    if (rc != SP_OK) return rc;
    if (!splits) {
        /* Folders are classes, in name order, so a label is an index into that order;
         * files at the top level are recorded as having no class. */
        rc = add_class_folders(&w, cat->root, NULL, -1);
        return rc == SP_OK ? walk_classes(&w, NULL) : rc;
    }
    char **names;
    size_t n;
    rc = list_dir(cat->root, &names, &n, err);
    if (rc != SP_OK) return rc;
    /* Classes first (the union over the splits, sorted), then each split's samples. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; rc == SP_OK && i < n; i++) {
            char *full = sp_path_join(cat->root, names[i]);
            struct stat st;
            if (!full) {
                rc = sp_fail(err, SP_E_NOMEM, "out of memory");
            } else if (stat(full, &st) != 0) {
                if (pass == 0) rc = add_rejected(&w, names[i], -1, SP_E_IO, strerror(errno));
            } else if (S_ISDIR(st.st_mode)) {
                w.split = sp_input_split_of(names[i], strlen(names[i]));
                if (pass == 0) {
                    /* Files directly in ROOT/<split>/ have no class. */
                    rc = add_class_folders(&w, full, names[i], -1);
                } else {
                    rc = walk_classes(&w, names[i]);
                }
                w.split = SP_SPLIT_NONE;
            } else if (S_ISREG(st.st_mode) && pass == 0) {
                rc = add_sample(&w, names[i], &st, -1);
            }
            free(full);
        }
        if (pass == 0 && rc == SP_OK && cat->nclasses > 1)
            qsort(cat->classes, cat->nclasses, sizeof(*cat->classes), cmp_cls);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

static int folder_probe(const sp_input_peek *p)
{
    return S_ISDIR(p->st.st_mode) ? 50 : 0;
}

const sp_input sp_input_folder = {
    .id = SP_INPUT_FOLDER,
    .name = "folder",
    .help = "class folders ROOT/<class>/..., or split folders ROOT/{train,val,test}/<class>/...",
    .probe = folder_probe,
    .enumerate = folder_enumerate,
};
