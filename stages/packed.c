/*
 * Helpers for sources whose samples are records in container files (see packed.h).
 */
#include "packed.h"

#include <stdlib.h>
#include <string.h>

static int add_class(sp_catalog *cat, char *name, sp_error *err)
{
    if (!name) return sp_fail(err, SP_E_NOMEM, "out of memory");
    char **p = realloc(cat->classes, (cat->nclasses + 1) * sizeof(*p));
    if (!p) {
        free(name);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    cat->classes = p;
    cat->classes[cat->nclasses++] = name;
    return SP_OK;
}

int sp_packed_numbered_classes(sp_catalog *cat, size_t n, sp_error *err)
{
    char last[24];
    int width = snprintf(last, sizeof(last), "%zu", n > 0 ? n - 1 : 0);
    int rc = SP_OK;
    for (size_t i = 0; rc == SP_OK && i < n; i++) {
        char name[24];
        snprintf(name, sizeof(name), "%0*zu", width < 20 ? width : 20, i); /* 20 digits: SIZE_MAX */
        rc = add_class(cat, sp_strdup(name), err);
    }
    return rc;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A trimmed copy of s[0..n). */
static char *trimmed(const char *s, size_t n)
{
    while (n && is_blank(*s)) s++, n--;
    while (n && is_blank(s[n - 1])) n--;
    return sp_strndup(s, n);
}

static bool listed(char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return true;
    return false;
}

int sp_packed_split(const char *list, const char *option, const char *noun, char ***names,
                    size_t *n, sp_error *err)
{
    *names = NULL;
    *n = 0;
    int rc = SP_OK;
    for (const char *p = list; rc == SP_OK;) {
        const char *comma = strchr(p, ',');
        char *name = trimmed(p, comma ? (size_t)(comma - p) : strlen(p));
        char **v = name ? realloc(*names, (*n + 1) * sizeof(*v)) : NULL;
        if (!v)
            rc = sp_fail(err, SP_E_NOMEM, "out of memory");
        else if (!name[0])
            rc = sp_fail(err, SP_E_CONFIG, "%s: %s %zu has an empty name", option, noun, *n + 1);
        else if (listed(v, *n, name))
            rc = sp_fail(err, SP_E_CONFIG, "%s names %s '%s' twice", option, noun, name);
        if (v) *names = v;
        if (rc == SP_OK)
            (*names)[(*n)++] = name;
        else
            free(name);
        if (!comma) break;
        p = comma + 1;
    }
    if (rc != SP_OK) {
        for (size_t i = 0; i < *n; i++) free((*names)[i]);
        free(*names);
        *names = NULL;
        *n = 0;
    }
    return rc;
}

int sp_packed_listed_classes(sp_catalog *cat, const char *list, const char *option,
                             sp_error *err)
{
    return sp_packed_split(list, option, "class", &cat->classes, &cat->nclasses, err);
}

/* A name and where it stands, for finding repeated class names by sorting. */
typedef struct placed {
    const char *name;
    size_t at;
} placed;

static int cmp_placed(const void *a, const void *b)
{
    const placed *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* The first name (in list order) that repeats an earlier one, or NULL. Sorting, not a
 * scan per name: a classes file of ImageNet-21k's 21,841 names (or more) stays linear-
 * logarithmic. */
static const char *first_repeat(char *const *names, size_t n, bool *oom)
{
    *oom = false;
    if (n < 2) return NULL;
    placed *v = malloc(n * sizeof(*v));
    if (!v) {
        *oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) v[i] = (placed){names[i], i};
    qsort(v, n, sizeof(*v), cmp_placed);
    size_t first = SIZE_MAX;
    for (size_t i = 1; i < n; i++)
        if (strcmp(v[i].name, v[i - 1].name) == 0 && v[i].at < first) first = v[i].at;
    free(v);
    return first == SIZE_MAX ? NULL : names[first];
}

int sp_packed_class_file(sp_catalog *cat, const char *path, sp_error *err)
{
    uint8_t *data;
    size_t len;
    int rc = sp_read_file(path, 1u << 20, &data, &len, err);
    if (rc != SP_OK) return rc;
    /* The file's names go after the classes the catalog has (none, usually), and none may
     * repeat another: all are collected, then checked at once. */
    size_t had = cat->nclasses, cap = had;
    const char *s = (const char *)data;
    for (size_t pos = 0; rc == SP_OK && pos < len;) {
        const char *nl = memchr(s + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (s + pos)) : len - pos;
        char *name = trimmed(s + pos, n);
        pos += n + 1;
        if (name && !name[0]) {
            free(name);
            continue;
        }
        if (name && cat->nclasses == cap) {
            size_t grown = cap ? 2 * cap : 64;
            char **v = realloc(cat->classes, grown * sizeof(*v));
            if (v) cat->classes = v, cap = grown;
        }
        if (!name || cat->nclasses == cap) {
            free(name);
            rc = sp_fail(err, SP_E_NOMEM, "out of memory");
        } else {
            cat->classes[cat->nclasses++] = name;
        }
    }
    free(data);
    bool oom = false;
    const char *twice = rc == SP_OK ? first_repeat(cat->classes, cat->nclasses, &oom) : NULL;
    if (oom) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    else if (twice) rc = sp_fail(err, SP_E_CONFIG, "%s names class '%s' twice", path, twice);
    if (rc != SP_OK) { /* the catalog as it was */
        for (size_t i = had; i < cat->nclasses; i++) free(cat->classes[i]);
        cat->nclasses = had;
        sp_error_set_path(err, path);
    }
    return rc;
}

int sp_packed_reserve(sp_catalog *cat, size_t n, sp_error *err)
{
    if (n > SIZE_MAX / sizeof(sp_sample) - cat->nsamples)
        return sp_fail(err, SP_E_LIMIT, "too many samples");
    sp_sample *p = realloc(cat->samples, (cat->nsamples + n ? cat->nsamples + n : 1) *
                                             sizeof(*p));
    if (!p) return sp_fail(err, SP_E_NOMEM, "out of memory for %zu samples", cat->nsamples + n);
    cat->samples = p;
    return SP_OK;
}

int sp_packed_add(sp_catalog *cat, const char *container, int width, uint64_t index,
                  const struct stat *st, uint64_t size, uint64_t offset, long label,
                  sp_error *err)
{
    sp_sample *s = &cat->samples[cat->nsamples];
    memset(s, 0, sizeof(*s));
    size_t n = strlen(container) + (size_t)width + 24;
    if (!(s->path = malloc(n))) return sp_fail(err, SP_E_NOMEM, "out of memory");
    snprintf(s->path, n, "%s/%0*llu", container, width, (unsigned long long)index);
    s->size = size;
    s->offset = offset;
    s->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
    s->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
    s->inode = (uint64_t)st->st_ino;
    s->label = (int32_t)label;
    if (label < 0 || (size_t)label >= cat->nclasses) {
        char detail[96];
        snprintf(detail, sizeof(detail), "label %ld is not one of the %zu classes", label,
                 cat->nclasses);
        s->label = -1;
        s->status = SP_E_NOLABEL;
        s->detail = sp_strdup(detail);
    }
    cat->nsamples++;
    return SP_OK;
}

int sp_packed_index_width(uint64_t count)
{
    int width = 1;
    for (uint64_t m = count > 0 ? count - 1 : 0; m >= 10; m /= 10) width++;
    return width < 8 ? 8 : width;
}

char *sp_packed_stem(const char *path, const char *const *suffixes)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(base);
    for (const char *const *x = suffixes; *x; x++) {
        size_t k = strlen(*x);
        if (n > k && strcmp(base + n - k, *x) == 0) {
            n -= k;
            break;
        }
    }
    return sp_strndup(base, n);
}

static int pnm_head(char kind, uint32_t w, uint32_t h, char head[40])
{
    return snprintf(head, 40, "P%c\n%u %u\n255\n", kind, w, h);
}

uint64_t sp_packed_pnm_size(char kind, uint32_t w, uint32_t h)
{
    char head[40];
    return (uint64_t)pnm_head(kind, w, h, head) + (uint64_t)w * h * (kind == '6' ? 3 : 1);
}

int sp_packed_pnm(char kind, uint32_t w, uint32_t h, uint8_t **data, size_t *len,
                  uint8_t **pixels, sp_error *err)
{
    char head[40];
    int hn = pnm_head(kind, w, h, head);
    size_t n = (size_t)sp_packed_pnm_size(kind, w, h);
    uint8_t *p = malloc(n);
    if (!p) return sp_fail(err, SP_E_NOMEM, "out of memory");
    memcpy(p, head, (size_t)hn);
    *data = p;
    *len = n;
    *pixels = p + hn;
    return SP_OK;
}
