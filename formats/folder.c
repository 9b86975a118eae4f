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
 *
 * Symbolic links are untrusted: one is followed only when its target's real path stays
 * under the root's real path (else unsafe_member, not followed), and each folder (device,
 * inode) is walked at most once in the whole walk, so links cannot import files from
 * elsewhere nor fan out (a chain of folders each linking several times to the next would
 * otherwise give links^depth samples). A link back to a folder on the current path is a
 * loop (io_error, "symlink loop"); one to a folder already walked elsewhere is
 * unsafe_member. A regular file reached twice where a link is involved is one sample, at
 * the first path in walk order.
 */
#include "input.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A set of (device, inode), open addressing: folders walked, files taken. */
typedef struct node {
    dev_t dev;
    ino_t ino;
    bool used, via_link;
} node;

typedef struct nodeset {
    node *v;
    size_t n, cap; /* cap a power of two, or 0 */
} nodeset;

static size_t node_slot(const nodeset *s, dev_t dev, ino_t ino)
{
    uint64_t h = ((uint64_t)ino ^ ((uint64_t)dev << 32 | (uint64_t)dev >> 32)) *
                 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 20) & (s->cap - 1);
    while (s->v[i].used && (s->v[i].dev != dev || s->v[i].ino != ino)) i = (i + 1) & (s->cap - 1);
    return i;
}

static node *node_find(const nodeset *s, const struct stat *st)
{
    if (!s->cap) return NULL;
    node *x = &s->v[node_slot(s, st->st_dev, st->st_ino)];
    return x->used ? x : NULL;
}

/* Adds st's (device, inode) unless there; SP_E_NOMEM on failure. */
static int node_add(nodeset *s, const struct stat *st, bool via_link)
{
    if (2 * (s->n + 1) > s->cap) {
        nodeset t = {calloc(s->cap ? 2 * s->cap : 1024, sizeof(node)), 0,
                     s->cap ? 2 * s->cap : 1024};
        if (!t.v) return SP_E_NOMEM;
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i].used) t.v[node_slot(&t, s->v[i].dev, s->v[i].ino)] = s->v[i], t.n++;
        free(s->v);
        *s = t;
    }
    node *x = &s->v[node_slot(s, st->st_dev, st->st_ino)];
    if (!x->used) *x = (node){st->st_dev, st->st_ino, true, via_link}, s->n++;
    return SP_OK;
}

typedef struct walker {
    sp_catalog *cat;
    sp_error *err;
    size_t cap;
    int64_t max_depth;
    uint8_t split; /* the split folder being walked, SP_SPLIT_NONE outside one */
    char *real_root; /* the root's real path: links must stay under it */
    nodeset dirs, files;
} walker;

enum { ENTRY_OK, ENTRY_GONE, ENTRY_OUTSIDE };

/* An entry's status as a walk sees it: lstat, and for a symlink the target's stat once its
 * real path is known to be under real_root (NULL: no containment known, links refused).
 * why gets the reason when it is not ENTRY_OK. */
static int entry_stat(const char *real_root, const char *full, struct stat *st, bool *link,
                      char *why, size_t whylen)
{
    *link = false;
    if (lstat(full, st) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return ENTRY_GONE;
    }
    if (!S_ISLNK(st->st_mode)) return ENTRY_OK;
    *link = true;
    char *real = realpath(full, NULL);
    if (!real) {
        /* A dangling link, or one that loops on itself. */
        snprintf(why, whylen, "%s", strerror(errno));
        return ENTRY_GONE;
    }
    if (!real_root || !sp_input_real_inside(real, real_root)) {
        snprintf(why, whylen, "symlink to %.400s, outside the source folder: not followed", real);
        free(real);
        return ENTRY_OUTSIDE;
    }
    free(real);
    if (stat(full, st) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return ENTRY_GONE;
    }
    return ENTRY_OK;
}

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

/* A regular file reached: a sample, unless a link makes it one already taken. */
static int take_file(walker *w, const char *rel, const struct stat *st, int32_t label,
                     bool via_link)
{
    node *seen = node_find(&w->files, st);
    if (seen && (via_link || seen->via_link)) return SP_OK; /* the first path is the sample */
    if (node_add(&w->files, st, via_link) != SP_OK)
        return sp_fail(w->err, SP_E_NOMEM, "out of memory");
    return add_sample(w, rel, st, label);
}

/* Walks ROOT/rel (a folder) collecting every regular file as a sample of `label`; via_link
 * when a symlink led here. */
static int walk(walker *w, const char *rel, int32_t label, int64_t depth, const visit *up,
                bool via_link)
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
        bool link = false;
        char why[600];
        int how = full ? entry_stat(w->real_root, full, &st, &link, why, sizeof(why)) : ENTRY_OK;
        if (!full) {
            rc = sp_fail(w->err, SP_E_NOMEM, "out of memory");
        } else if (how == ENTRY_GONE) {
            /* A dangling symlink or a file removed while we walk: a sample we cannot read. */
            rc = add_rejected(w, crel, label, SP_E_IO, why);
        } else if (how == ENTRY_OUTSIDE) {
            rc = add_rejected(w, crel, label, SP_E_UNSAFE, why);
        } else if (S_ISDIR(st.st_mode)) {
            visit here = {st.st_dev, st.st_ino, up};
            if (on_path(up, &st))
                rc = add_rejected(w, crel, label, SP_E_IO, "symlink loop: a folder that contains itself");
            else if (node_find(&w->dirs, &st))
                rc = add_rejected(w, crel, label, SP_E_UNSAFE,
                                  "symlink to a folder walked already: not followed again");
            else if (depth < w->max_depth)
                rc = node_add(&w->dirs, &st, false) != SP_OK
                         ? sp_fail(w->err, SP_E_NOMEM, "out of memory")
                         : walk(w, crel, label, depth + 1, &here, via_link || link);
        } else if (S_ISREG(st.st_mode)) {
            rc = take_file(w, crel, &st, label, via_link || link);
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

/* The sorted class folders of dir, appended to cat's classes (the caller sorts them and
 * drops repeats: a class can be in several split folders). */
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
        bool link = false;
        char why[600];
        int how = full && rel ? entry_stat(w->real_root, full, &st, &link, why, sizeof(why))
                              : ENTRY_OK;
        if (!full || !rel) {
            rc = sp_fail(w->err, SP_E_NOMEM, "out of memory");
        } else if (how == ENTRY_GONE) {
            rc = add_rejected(w, rel, no_label, SP_E_IO, why);
        } else if (how == ENTRY_OUTSIDE) {
            rc = add_rejected(w, rel, no_label, SP_E_UNSAFE, why);
        } else if (S_ISDIR(st.st_mode)) {
            char **p = realloc(cat->classes, (cat->nclasses + 1) * sizeof(*p));
            if (!p) {
                rc = sp_fail(w->err, SP_E_NOMEM, "out of memory");
            } else {
                cat->classes = p;
                cat->classes[cat->nclasses++] = names[i];
                names[i] = NULL;
            }
        } else if (S_ISREG(st.st_mode)) {
            rc = take_file(w, rel, &st, no_label, link);
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
    if (stat(cat->root, &rootst) == 0) {
        root = (visit){rootst.st_dev, rootst.st_ino, NULL};
        if (node_add(&w->dirs, &rootst, false) != SP_OK)
            return sp_fail(w->err, SP_E_NOMEM, "out of memory");
    }
    for (size_t c = 0; rc == SP_OK && c < cat->nclasses; c++) {
        char *rel = prefix ? sp_path_join(prefix, cat->classes[c]) : sp_strdup(cat->classes[c]);
        char *full = rel ? sp_path_join(cat->root, rel) : NULL;
        struct stat st;
        bool link = false;
        char why[600];
        if (!full) {
            rc = sp_fail(w->err, SP_E_NOMEM, "out of memory");
        } else if (entry_stat(w->real_root, full, &st, &link, why, sizeof(why)) == ENTRY_OK &&
                   S_ISDIR(st.st_mode)) {
            visit here = {st.st_dev, st.st_ino, &root};
            if (on_path(&root, &st))
                rc = add_rejected(w, rel, (int32_t)c, SP_E_IO,
                                  "symlink loop: a folder that contains itself");
            else if (node_find(&w->dirs, &st))
                rc = add_rejected(w, rel, (int32_t)c, SP_E_UNSAFE,
                                  "symlink to a folder walked already: not followed again");
            else if (node_add(&w->dirs, &st, false) != SP_OK)
                rc = sp_fail(w->err, SP_E_NOMEM, "out of memory");
            else
                rc = walk(w, rel, (int32_t)c, 0, &here, link);
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
static int split_layout(const char *root, const char *real_root, bool *yes, sp_error *err)
{
    char **names;
    size_t n;
    int rc = list_dir(root, &names, &n, err);
    if (rc != SP_OK) return rc;
    size_t dirs = 0, splits = 0;
    for (size_t i = 0; i < n; i++) {
        char *full = sp_path_join(root, names[i]);
        struct stat st;
        bool link;
        char why[600];
        if (full && entry_stat(real_root, full, &st, &link, why, sizeof(why)) == ENTRY_OK &&
            S_ISDIR(st.st_mode)) {
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

/* Sorts cat's classes and drops repeats (the union over split folders). */
static void classes_sorted(sp_catalog *cat)
{
    if (cat->nclasses > 1) qsort(cat->classes, cat->nclasses, sizeof(*cat->classes), cmp_cls);
    size_t k = 0;
    for (size_t i = 0; i < cat->nclasses; i++) {
        if (k && strcmp(cat->classes[k - 1], cat->classes[i]) == 0) free(cat->classes[i]);
        else cat->classes[k++] = cat->classes[i];
    }
    cat->nclasses = k;
}

static int enumerate(walker *w, sp_catalog *cat, sp_error *err)
{
    bool splits;
    int rc = split_layout(cat->root, w->real_root, &splits, err);
    if (rc != SP_OK) return rc;
    if (!splits) {
        /* Folders are classes, in name order, so a label is an index into that order;
         * files at the top level are recorded as having no class. */
        rc = add_class_folders(w, cat->root, NULL, -1);
        if (rc == SP_OK) classes_sorted(cat);
        return rc == SP_OK ? walk_classes(w, NULL) : rc;
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
            bool link = false;
            char why[600];
            int how = full ? entry_stat(w->real_root, full, &st, &link, why, sizeof(why))
                           : ENTRY_OK;
            if (!full) {
                rc = sp_fail(err, SP_E_NOMEM, "out of memory");
            } else if (how != ENTRY_OK) {
                if (pass == 0)
                    rc = add_rejected(w, names[i], -1, how == ENTRY_GONE ? SP_E_IO : SP_E_UNSAFE,
                                      why);
            } else if (S_ISDIR(st.st_mode)) {
                w->split = sp_input_split_of(names[i], strlen(names[i]));
                if (pass == 0) {
                    /* Files directly in ROOT/<split>/ have no class. */
                    rc = add_class_folders(w, full, names[i], -1);
                } else {
                    rc = walk_classes(w, names[i]);
                }
                w->split = SP_SPLIT_NONE;
            } else if (S_ISREG(st.st_mode) && pass == 0) {
                rc = take_file(w, names[i], &st, -1, link);
            }
            free(full);
        }
        if (pass == 0 && rc == SP_OK) classes_sorted(cat);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

static int folder_enumerate(const sp_stage_env *env, const sp_input_opts *o, sp_catalog *cat,
                            sp_error *err)
{
    (void)env;
    walker w = {.cat = cat, .err = err, .max_depth = o->max_depth};
    if (!(cat->root = sp_strdup(o->path))) return sp_fail(err, SP_E_NOMEM, "out of memory");
    w.real_root = realpath(cat->root, NULL); /* NULL: the listing fails, or no link is followed */
    int rc = enumerate(&w, cat, err);
    free(w.real_root);
    free(w.dirs.v);
    free(w.files.v);
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
