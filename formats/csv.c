/*
 * csv — a dataset listed in a CSV or TSV manifest: a header row naming the columns path
 * and label (and optionally split), then one row per sample.
 *
 *   [source]
 *   path = /data/labels.csv
 *   classes = /data/classes.txt   ; optional: line i names integer label i
 *
 *   path,label,split
 *   images/0001.jpg,cat,train
 *   "images/with, comma.jpg",dog,val
 *
 * Fields follow RFC 4180: a field in double quotes may hold the delimiter, line breaks
 * and doubled quotes (""). The delimiter is a tab when the header has one and no comma.
 * Paths are relative to the manifest's folder and must stay under it. A label is a class
 * name, or an integer: with `classes`, line i of that file names label i; without it,
 * when every label is an integer, the classes are the numbers 0..max (zero-padded so they
 * sort numerically), else every label is a name. split is train, val (valid, validation)
 * or test, or empty; it becomes the sample's split_hint.
 *
 * A bad row (missing field, unterminated quote, unknown label, bad split, a path that
 * escapes the folder, a file that is missing, a row over max_line_bytes, a path listed
 * twice) is reported with the manifest's line number and skipped; the samples are files,
 * so the catalog cache holds per file, keyed by each file's stat. A path escapes the folder
 * by text (absolute, ..) or by its real path: a symlink anywhere along it that leads out
 * of the manifest folder's real path is unsafe_member, as in a folder source, and the
 * file is never opened.
 *
 * Without a classes file, the classes are the labels of the rows accepted as samples:
 * every row-level rejection (parser, repeated path, unsafe path or link, missing file, in
 * an archive a row naming no member) comes first, so a rejected row declares no class —
 * no class without samples, no shifted index for the classes after it. A file that is
 * there but fails to decode later keeps its class, as in a class folder. A classes file
 * is the class list as it is.
 */
#include "input.h"
#include "../stages/packed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INDEX 99999 /* largest integer label without a classes file */

typedef struct row {
    int line;
    char *path, *label, *split;
    int status; /* SP_OK or why the row is bad */
    char *why;
    bool named_by_path; /* bad for its file, not its text: its sample is named by its path */
} row;

typedef struct rows {
    row *v;
    size_t n, cap;
} rows;

static void rows_free(rows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].path);
        free(r->v[i].label);
        free(r->v[i].split);
        free(r->v[i].why);
    }
    free(r->v);
}

/* The parser's state: the text, where it is, and the physical line there. */
typedef struct parser {
    const char *s;
    size_t len, pos;
    int line;
    char delim;
    uint64_t max_line;
} parser;

typedef struct fields {
    char **v;
    size_t n, cap;
} fields;

static void fields_clear(fields *f)
{
    for (size_t i = 0; i < f->n; i++) free(f->v[i]);
    f->n = 0;
}

enum { REC_OK, REC_EOF, REC_UNTERMINATED, REC_TOO_LONG, REC_BAD_QUOTE, REC_NOMEM };

/* Reads one record (which may span lines inside quotes) into f. */
static int next_record(parser *p, fields *f, int *start_line)
{
    fields_clear(f);
    /* Skip blank lines. */
    while (p->pos < p->len && (p->s[p->pos] == '\n' || p->s[p->pos] == '\r')) {
        if (p->s[p->pos] == '\n') p->line++;
        p->pos++;
    }
    if (p->pos >= p->len) return REC_EOF;
    *start_line = p->line;
    size_t begin = p->pos;
    sp_buf cur = {0};
    int rc = REC_OK;
    for (;;) {
        if (p->max_line && p->pos - begin > p->max_line) rc = REC_TOO_LONG;
        /* One field. */
        bool quoted = p->pos < p->len && p->s[p->pos] == '"';
        cur.len = 0;
        if (quoted) {
            p->pos++;
            for (;;) {
                if (p->pos >= p->len) {
                    sp_buf_free(&cur);
                    return REC_UNTERMINATED;
                }
                char c = p->s[p->pos++];
                if (c == '"') {
                    if (p->pos < p->len && p->s[p->pos] == '"') {
                        sp_buf_append(&cur, "\"", 1);
                        p->pos++;
                        continue;
                    }
                    break;
                }
                if (c == '\n') p->line++;
                if (p->max_line && p->pos - begin > p->max_line) {
                    rc = REC_TOO_LONG;
                    continue; /* keep scanning to the closing quote, storing nothing */
                }
                if (rc == REC_OK) sp_buf_append(&cur, &c, 1);
            }
            /* After the closing quote: a delimiter, an end of line or the end. */
            if (p->pos < p->len && p->s[p->pos] != p->delim && p->s[p->pos] != '\n' &&
                p->s[p->pos] != '\r' && rc == REC_OK)
                rc = REC_BAD_QUOTE;
            while (p->pos < p->len && p->s[p->pos] != p->delim && p->s[p->pos] != '\n')
                p->pos++;
        } else {
            size_t a = p->pos;
            while (p->pos < p->len && p->s[p->pos] != p->delim && p->s[p->pos] != '\n') p->pos++;
            size_t b = p->pos;
            if (b > a && p->s[b - 1] == '\r' && (b == p->len || p->s[b] == '\n')) b--;
            if (rc == REC_OK && (!p->max_line || b - a <= p->max_line))
                sp_buf_append(&cur, p->s + a, b - a);
            if (memchr(p->s + a, '"', b - a) && rc == REC_OK) rc = REC_BAD_QUOTE;
        }
        if (p->max_line && p->pos - begin > p->max_line) rc = REC_TOO_LONG;
        if (rc == REC_OK) {
            if (f->n == f->cap) {
                size_t cap = f->cap ? f->cap * 2 : 8;
                char **v = realloc(f->v, cap * sizeof(*v));
                if (!v) {
                    sp_buf_free(&cur);
                    return REC_NOMEM;
                }
                f->v = v;
                f->cap = cap;
            }
            char *field = sp_strndup(cur.data ? cur.data : "", cur.len);
            if (!field || cur.oom) {
                free(field);
                sp_buf_free(&cur);
                return REC_NOMEM;
            }
            f->v[f->n++] = field;
        }
        if (p->pos >= p->len) break;
        if (p->s[p->pos] == '\n') {
            p->pos++;
            p->line++;
            break;
        }
        p->pos++; /* the delimiter */
    }
    sp_buf_free(&cur);
    return rc;
}

static int add_row(rows *r, int line, char *path, char *label, char *split, int status,
                   const char *why)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        row *v = realloc(r->v, cap * sizeof(*v));
        if (!v) {
            free(path), free(label), free(split);
            return SP_E_NOMEM;
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = (row){line, path, label, split, status, why ? sp_strdup(why) : NULL, false};
    return SP_OK;
}

static int column(const fields *f, const char *const *names)
{
    for (size_t i = 0; i < f->n; i++) {
        const char *h = f->v[i];
        while (*h == ' ') h++;
        for (const char *const *n = names; *n; n++)
            if (strcasecmp(h, *n) == 0) return (int)i;
    }
    return -1;
}

static bool is_index(const char *s)
{
    if (!*s || strlen(s) > 9) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct {
    char *name;
    size_t idx;
} named;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

static int cmp_rowpath(const void *a, const void *b)
{
    const row *x = *(row *const *)a, *y = *(row *const *)b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* "./a//b" -> "a/b" in place. */
static void tidy(char *path)
{
    char *w = path;
    for (const char *r = path; *r;) {
        if (r[0] == '.' && r[1] == '/' && (r == path || r[-1] == '/')) {
            r += 2;
            continue;
        }
        if (r[0] == '/' && w > path && w[-1] == '/') {
            r++;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

/* Parses the manifest into rows: each good, or bad with its reason. */
static int parse(const char *text, size_t len, const char *name, const sp_limits *lim, rows *out,
                 sp_error *err)
{
    parser p = {text, len, 0, 1, ',', lim->max_line_bytes};
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) p.pos = 3; /* a UTF-8 BOM */
    const char *nl = memchr(text + p.pos, '\n', len - p.pos);
    size_t hlen = nl ? (size_t)(nl - (text + p.pos)) : len - p.pos;
    if (memchr(text + p.pos, '\t', hlen) && !memchr(text + p.pos, ',', hlen)) p.delim = '\t';
    fields f = {0};
    int line = 1;
    int r = next_record(&p, &f, &line);
    int cpath = -1, clabel = -1, csplit = -1;
    if (r == REC_OK) {
        cpath = column(&f, (const char *const[]){"path", "file", "filename", NULL});
        clabel = column(&f, (const char *const[]){"label", "class", NULL});
        csplit = column(&f, (const char *const[]){"split", NULL});
    }
    int rc = SP_OK;
    if (r == REC_NOMEM) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    else if (r != REC_OK || cpath < 0 || clabel < 0) {
        err->line = line;
        rc = sp_fail(err, SP_E_FORMAT, "the header row must name the columns path and label "
                     "(and optionally split), e.g. path,label,split");
    }
    size_t need = (size_t)(cpath > clabel ? cpath : clabel) + 1;
    while (rc == SP_OK) {
        r = next_record(&p, &f, &line);
        if (r == REC_EOF) break;
        char why[400];
        int status = SP_OK;
        if (r == REC_NOMEM) {
            rc = sp_fail(err, SP_E_NOMEM, "out of memory");
            break;
        } else if (r == REC_UNTERMINATED) {
            snprintf(why, sizeof(why), "%s line %d: a quoted field is never closed (the rest "
                     "of the file is not read)", name, line);
            status = SP_E_BADROW;
        } else if (r == REC_TOO_LONG) {
            snprintf(why, sizeof(why), "%s line %d: row over max_line_bytes (%llu)", name, line,
                     (unsigned long long)p.max_line);
            status = SP_E_MAX_LINE_BYTES;
        } else if (r == REC_BAD_QUOTE) {
            snprintf(why, sizeof(why), "%s line %d: a quote inside an unquoted field or text "
                     "after a closing quote", name, line);
            status = SP_E_BADROW;
        } else if (f.n < need) {
            snprintf(why, sizeof(why), "%s line %d: %zu fields, the header names %zu (missing "
                     "%s)", name, line, f.n, need, f.n <= (size_t)cpath ? "path" : "label");
            status = SP_E_BADROW;
        }
        char *path = NULL, *label = NULL, *split = NULL;
        if (status == SP_OK) {
            path = f.v[cpath], f.v[cpath] = NULL;
            label = f.v[clabel], f.v[clabel] = NULL;
            if (csplit >= 0 && (size_t)csplit < f.n) split = f.v[csplit], f.v[csplit] = NULL;
            tidy(path);
            if (!path[0]) {
                snprintf(why, sizeof(why), "%s line %d: empty path", name, line);
                status = SP_E_BADROW;
            } else if (!sp_input_path_safe(path)) {
                snprintf(why, sizeof(why), "%s line %d: path %s escapes the manifest's folder "
                         "(absolute or with ..)", name, line, path);
                status = SP_E_UNSAFE;
            } else if (!label[0]) {
                snprintf(why, sizeof(why), "%s line %d: empty label", name, line);
                status = SP_E_BADROW;
            } else if (split && split[0] && sp_input_split_of(split, strlen(split)) == SP_SPLIT_NONE) {
                snprintf(why, sizeof(why), "%s line %d: split '%s' is not train, val or test",
                         name, line, split);
                status = SP_E_BADROW;
            }
        }
        if (add_row(out, line, path, label, split, status, status ? why : NULL) != SP_OK)
            rc = sp_fail(err, SP_E_NOMEM, "out of memory");
        if (r == REC_UNTERMINATED) break;
    }
    fields_clear(&f);
    free(f.v);
    return rc;
}

/* Gives each good row its label index in cat's classes (labels[i], -1 for a bad row); a
 * label that is no class makes its row a bad_row. numbered: integer labels are indexes. */
static int assign_labels(sp_catalog *cat, const sp_input_opts *o, rows *rs, const char *name,
                         bool numbered, int32_t *labels, sp_error *err)
{
    /* Classes as given (a file's order) need a sorted index for name lookups:
     * byname[j] is the name and index of a class, sorted by name, so a row's label is
     * found in O(log classes). */
    named *byname = malloc((cat->nclasses ? cat->nclasses : 1) * sizeof(named));
    if (!byname) return sp_fail(err, SP_E_NOMEM, "out of memory");
    for (size_t i = 0; i < cat->nclasses; i++) byname[i] = (named){cat->classes[i], i};
    if (cat->nclasses > 1) qsort(byname, cat->nclasses, sizeof(named), cmp_named);
    bool by_file = o->classes && o->classes[0];
    for (size_t i = 0; i < rs->n; i++) {
        row *r = &rs->v[i];
        labels[i] = -1;
        if (r->status != SP_OK) continue;
        if (is_index(r->label) && (numbered || by_file)) {
            long k = strtol(r->label, NULL, 10);
            if (k >= 0 && (size_t)k < cat->nclasses) {
                labels[i] = (int32_t)k;
                continue;
            }
        } else {
            named key = {r->label, 0};
            named *hit = bsearch(&key, byname, cat->nclasses, sizeof(named), cmp_named);
            if (hit) {
                labels[i] = (int32_t)hit->idx;
                continue;
            }
        }
        char why[400];
        snprintf(why, sizeof(why), "%s line %d: unknown label '%.100s' (%zu classes%s)", name,
                 r->line, r->label, cat->nclasses, by_file ? " in the classes file" : "");
        r->status = SP_E_BADROW;
        free(r->why);
        r->why = sp_strdup(why);
    }
    free(byname);
    return SP_OK;
}

/* Makes cat's classes from the rows still good — the rows accepted as samples — unless a
 * classes file gave them already (load_rows), then gives each good row its label index.
 * Runs after every row-level rejection (parser, repeated path, unsafe path, missing file
 * or member): a row rejected there declares no class, so it cannot add a class with no
 * sample nor shift the index (.cls) of every class sorted after its label. */
static int make_classes(sp_catalog *cat, const sp_input_opts *o, rows *rs, const char *name,
                        int32_t *labels, sp_error *err)
{
    if (o->classes && o->classes[0]) return assign_labels(cat, o, rs, name, false, labels, err);
    int rc = SP_OK;
    bool numbered = true;
    long max = -1;
    /* Numbered only if every good label is an integer: a long number among class names
     * (a year, a product code) is a name like the others, whatever its size. */
    for (size_t i = 0; numbered && i < rs->n; i++)
        if (rs->v[i].status == SP_OK && !is_index(rs->v[i].label)) numbered = false;
    /* Numbered classes are made 0..max: a huge index must not make a billion of them. */
    for (size_t i = 0; numbered && i < rs->n; i++) {
        row *r = &rs->v[i];
        if (r->status == SP_OK && strtol(r->label, NULL, 10) > MAX_INDEX) {
            char why[400];
            snprintf(why, sizeof(why), "%s line %d: label index %s is over %d; name the classes "
                     "in a classes file", name, r->line, r->label, MAX_INDEX);
            r->status = SP_E_BADROW;
            r->why = sp_strdup(why);
        }
    }
    for (size_t i = 0; numbered && i < rs->n; i++)
        if (rs->v[i].status == SP_OK && strtol(rs->v[i].label, NULL, 10) > max)
            max = strtol(rs->v[i].label, NULL, 10);
    if (numbered) {
        if (max >= 0) rc = sp_packed_numbered_classes(cat, (size_t)(max + 1), err);
    } else {
        char **names = calloc(rs->n ? rs->n : 1, sizeof(char *));
        size_t nn = 0;
        if (!names) return sp_fail(err, SP_E_NOMEM, "out of memory");
        for (size_t i = 0; i < rs->n; i++)
            if (rs->v[i].status == SP_OK) names[nn++] = rs->v[i].label;
        if (nn > 1) qsort(names, nn, sizeof(char *), cmp_name);
        /* The distinct names, then one allocation for them (not one per class). */
        size_t distinct = 0;
        for (size_t i = 0; i < nn; i++) distinct += !i || strcmp(names[i], names[i - 1]) != 0;
        char **v = distinct ? realloc(cat->classes, (cat->nclasses + distinct) * sizeof(*v))
                            : cat->classes;
        if (distinct && !v) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
        else cat->classes = v;
        for (size_t i = 0; rc == SP_OK && i < nn; i++) {
            if (i && strcmp(names[i], names[i - 1]) == 0) continue;
            char *c = sp_strdup(names[i]);
            if (!c) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
            else cat->classes[cat->nclasses++] = c;
        }
        free(names);
    }
    if (rc != SP_OK) return rc;
    return assign_labels(cat, o, rs, name, numbered, labels, err);
}

/* Reads and parses the manifest at path and marks its bad rows: with a classes file, makes
 * cat's classes from it and marks unknown labels; then marks repeated paths. labels
 * (malloc'd, one per row) is filled by make_classes once the caller has rejected the rows
 * whose file or member is unusable. */
static int load_rows(const sp_stage_env *env, const sp_input_opts *o, const char *path,
                     const char *name, sp_catalog *cat, rows *rs, int32_t **labels_out,
                     sp_error *err)
{
    const sp_limits *lim = &env->run->pipe->limits;
    uint8_t *data;
    size_t len;
    *labels_out = NULL;
    int rc = sp_read_input(path, lim->max_file_bytes, &data, &len, err);
    if (rc != SP_OK) return rc;
    rc = parse((const char *)data, len, name, lim, rs, err);
    free(data);
    int32_t *labels = rc == SP_OK ? malloc((rs->n ? rs->n : 1) * sizeof(int32_t)) : NULL;
    if (rc == SP_OK && !labels) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    /* The classes file is the class list, whatever the rows: an unknown label is a bad row
     * before repeated paths are looked for, so a later row of its path is kept. */
    if (rc == SP_OK && o->classes && o->classes[0]) {
        rc = sp_packed_class_file(cat, o->classes, err);
        if (rc == SP_OK) rc = assign_labels(cat, o, rs, name, false, labels, err);
    }
    /* A path listed twice: the first row is kept. */
    row **byp = rc == SP_OK ? malloc((rs->n ? rs->n : 1) * sizeof(row *)) : NULL;
    size_t nb = 0;
    if (rc == SP_OK && !byp) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == SP_OK && i < rs->n; i++)
        if (rs->v[i].status == SP_OK) byp[nb++] = &rs->v[i];
    if (nb > 1) qsort(byp, nb, sizeof(row *), cmp_rowpath);
    /* Sorted by path then line: a run of one path starts with its first row, remembered
     * while scanning forward (walking back for every repeat would be quadratic). */
    int first = nb ? byp[0]->line : 0;
    for (size_t i = 1; i < nb; i++)
        if (strcmp(byp[i]->path, byp[i - 1]->path) != 0) {
            first = byp[i]->line;
        } else {
            char why[400];
            snprintf(why, sizeof(why), "%s line %d: %s is listed before, at line %d", name,
                     byp[i]->line, byp[i]->path, first);
            byp[i]->status = SP_E_BADROW;
            byp[i]->why = sp_strdup(why);
        }
    free(byp);
    if (rc != SP_OK) free(labels);
    else *labels_out = labels;
    if (rc != SP_OK && !err->path[0]) sp_error_set_path(err, path);
    return rc;
}

/* Resolves rows' files against the manifest folder's real path, resolved once. Rows of
 * one folder usually follow each other: the last folder's real path is kept, so a row
 * costs an lstat and a stat, not a walk of every component of its path. */
typedef struct resolver {
    const char *real_root, *name;
    char *dir;  /* the last row's folder: its path up to the last '/' ("" for the root) */
    char *real; /* that folder's real path; NULL when it cannot be resolved (dir_errno) */
    int dir_errno;
} resolver;

/* Whether a good row's file can be a sample: st gets its stat, or the row is marked
 * (io_error: missing, unreadable or not a regular file; unsafe_member: its real path —
 * through a symlink in any component — leaves the manifest folder's real path). The file
 * is never opened here: a link to /etc/passwd is refused by its path alone. SP_E_NOMEM
 * when out of memory. */
static int check_file(resolver *z, row *r, struct stat *st)
{
    const char *slash = strrchr(r->path, '/');
    size_t dl = slash ? (size_t)(slash - r->path) : 0;
    const char *base = slash ? slash + 1 : r->path;
    if (!z->dir || strlen(z->dir) != dl || memcmp(z->dir, r->path, dl) != 0) {
        free(z->dir);
        free(z->real);
        z->real = NULL;
        if (!(z->dir = sp_strndup(r->path, dl))) return SP_E_NOMEM;
        char *full = sp_path_join(z->real_root, z->dir);
        if (!full) return SP_E_NOMEM;
        errno = 0;
        z->real = realpath(full, NULL);
        z->dir_errno = errno;
        free(full);
        if (!z->real && z->dir_errno == ENOMEM) return SP_E_NOMEM;
    }
    char why[1200];
    int status = SP_OK;
    char *file = z->real ? sp_path_join(z->real, base) : NULL, *real = NULL;
    if (z->real && !file) return SP_E_NOMEM;
    if (!z->real) {
        /* A missing folder, a dangling link or a link loop: the system's message says. */
        snprintf(why, sizeof(why), "%s line %d: %s: %s", z->name, r->line, r->path,
                 strerror(z->dir_errno));
        status = SP_E_IO;
    } else if (!sp_input_real_inside(z->real, z->real_root)) {
        snprintf(why, sizeof(why), "%s line %d: %s leads through a symlink to %.400s, outside "
                 "the manifest's folder: not followed", z->name, r->line, r->path, file);
        status = SP_E_UNSAFE;
    } else if (lstat(file, st) != 0) {
        snprintf(why, sizeof(why), "%s line %d: %s: %s", z->name, r->line, r->path,
                 strerror(errno));
        status = SP_E_IO;
    } else if (S_ISLNK(st->st_mode)) {
        errno = 0;
        if (!(real = realpath(file, NULL))) {
            if (errno == ENOMEM) {
                free(file);
                return SP_E_NOMEM;
            }
            snprintf(why, sizeof(why), "%s line %d: %s: %s", z->name, r->line, r->path,
                     strerror(errno));
            status = SP_E_IO;
        } else if (!sp_input_real_inside(real, z->real_root)) {
            snprintf(why, sizeof(why), "%s line %d: %s leads through a symlink to %.400s, "
                     "outside the manifest's folder: not followed", z->name, r->line, r->path,
                     real);
            status = SP_E_UNSAFE;
        } else if (stat(real, st) != 0) {
            snprintf(why, sizeof(why), "%s line %d: %s: %s", z->name, r->line, r->path,
                     strerror(errno));
            status = SP_E_IO;
        }
    }
    if (status == SP_OK && !S_ISREG(st->st_mode)) {
        snprintf(why, sizeof(why), "%s line %d: %s is not a regular file", z->name, r->line,
                 r->path);
        status = SP_E_IO;
    }
    free(real);
    free(file);
    if (status != SP_OK) {
        r->status = status;
        r->named_by_path = true;
        if (!(r->why = sp_strdup(why))) return SP_E_NOMEM;
    }
    return SP_OK;
}

static int csv_enumerate(const sp_stage_env *env, const sp_input_opts *o, sp_catalog *cat,
                         sp_error *err)
{
    if (!(cat->root = sp_path_dir(o->path))) return sp_fail(err, SP_E_NOMEM, "out of memory");
    const char *slash = strrchr(o->path, '/');
    const char *name = slash ? slash + 1 : o->path;
    rows rs = {0};
    int32_t *labels = NULL;
    struct stat *sts = NULL;
    char *real_root = NULL;
    int rc = load_rows(env, o, o->path, name, cat, &rs, &labels, err);
    if (rc == SP_OK && !(sts = malloc((rs.n ? rs.n : 1) * sizeof(*sts))))
        rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    /* Resolved once: every row's real path is compared with it. */
    if (rc == SP_OK && !(real_root = realpath(cat->root, NULL))) {
        sp_error_set_path(err, cat->root);
        rc = sp_fail(err, errno == ENOMEM ? SP_E_NOMEM : SP_E_IO,
                     "cannot resolve the manifest's folder: %s", strerror(errno));
    }
    resolver z = {real_root, name, NULL, NULL, 0};
    for (size_t i = 0; rc == SP_OK && i < rs.n; i++)
        if (rs.v[i].status == SP_OK && check_file(&z, &rs.v[i], &sts[i]) != SP_OK)
            rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    free(z.dir);
    free(z.real);
    if (rc == SP_OK) rc = make_classes(cat, o, &rs, name, labels, err);
    size_t cap = 0;
    for (size_t i = 0; rc == SP_OK && i < rs.n; i++) {
        row *r = &rs.v[i];
        char at[64];
        snprintf(at, sizeof(at), "%s:%d", name, r->line);
        /* A bad row's sample is named by its line (its path may be unusable or shared),
         * unless its path was fine but its file is not: then by the path, as in a folder. */
        const char *sp = r->status == SP_OK || r->named_by_path ? r->path : at;
        sp_sample *s;
        if (r->status != SP_OK) {
            s = sp_input_add(cat, &cap, sp, -1, NULL, r->status, r->why ? r->why : "bad row");
        } else {
            s = sp_input_add(cat, &cap, sp, labels[i], &sts[i], SP_OK, NULL);
            if (s && r->split && r->split[0])
                s->split_hint = sp_input_split_of(r->split, strlen(r->split));
        }
        if (!s) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    free(real_root);
    free(sts);
    free(labels);
    rows_free(&rs);
    if (rc != SP_OK && !err->path[0]) sp_error_set_path(err, o->path);
    return rc;
}

static int cmp_row_key(const void *key, const void *elem)
{
    return strcmp((const char *)key, (*(row *const *)elem)->path);
}

/* Labels an archive's members (cat's samples so far) from the manifest o->manifest. Its
 * paths are member paths, checked by the archive reader, not files: a row is accepted when
 * it names a member, and only accepted rows make classes (make_classes). */
int sp_csv_label_members(const sp_stage_env *env, const sp_input_opts *o, sp_catalog *cat,
                         size_t *cap, sp_error *err)
{
    const char *slash = strrchr(o->manifest, '/');
    const char *name = slash ? slash + 1 : o->manifest;
    rows rs = {0};
    int32_t *labels = NULL;
    int rc = load_rows(env, o, o->manifest, name, cat, &rs, &labels, err);
    size_t nsamples = cat->nsamples; /* the members; bad rows are appended after them */
    row **byp = rc == SP_OK ? malloc((rs.n ? rs.n : 1) * sizeof(row *)) : NULL;
    bool *used = rc == SP_OK ? calloc(rs.n ? rs.n : 1, 1) : NULL;
    size_t *rowof = rc == SP_OK ? malloc((nsamples ? nsamples : 1) * sizeof(size_t)) : NULL;
    size_t nb = 0;
    if (rc == SP_OK && (!byp || !used || !rowof)) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == SP_OK && i < rs.n; i++)
        if (rs.v[i].status == SP_OK) byp[nb++] = &rs.v[i];
    if (nb > 1) qsort(byp, nb, sizeof(row *), cmp_rowpath);
    /* Every member is matched, a rejected one too (over max_file_bytes, unsafe): its row
     * names a member that is there, so the row is good and the member keeps its class,
     * as a loose file that fails later does. Only a good member can lack a row. */
    for (size_t i = 0; rc == SP_OK && i < nsamples; i++) {
        sp_sample *s = &cat->samples[i];
        rowof[i] = SIZE_MAX;
        row **hit = nb ? bsearch(s->path, byp, nb, sizeof(row *), cmp_row_key) : NULL;
        if (!hit && s->status != SP_OK) continue;
        if (!hit) {
            char why[400];
            snprintf(why, sizeof(why), "member is not listed in %s", name);
            s->status = SP_E_NOLABEL;
            s->detail = sp_strdup(why);
            continue;
        }
        rowof[i] = (size_t)(*hit - rs.v);
        used[rowof[i]] = true;
    }
    /* A row naming no member is rejected before the classes are made. */
    for (size_t i = 0; rc == SP_OK && i < rs.n; i++) {
        row *r = &rs.v[i];
        if (r->status != SP_OK || used[i]) continue;
        char why[600];
        snprintf(why, sizeof(why), "%s line %d: the archive has no member %s", name, r->line,
                 r->path);
        r->status = SP_E_BADROW;
        r->why = sp_strdup(why);
    }
    if (rc == SP_OK) rc = make_classes(cat, o, &rs, name, labels, err);
    for (size_t i = 0; rc == SP_OK && i < nsamples; i++) {
        if (rowof[i] == SIZE_MAX) continue;
        sp_sample *s = &cat->samples[i];
        row *r = &rs.v[rowof[i]];
        if (r->status == SP_OK) {
            s->label = labels[rowof[i]];
            if (r->split && r->split[0])
                s->split_hint = sp_input_split_of(r->split, strlen(r->split));
        } else if (s->status == SP_OK) {
            /* Its row was refused by make_classes (a label index over the limit). */
            s->status = SP_E_NOLABEL;
            s->detail = sp_strdup(r->why ? r->why : "bad row");
        }
    }
    for (size_t i = 0; rc == SP_OK && i < rs.n; i++) {
        row *r = &rs.v[i];
        if (r->status == SP_OK || used[i]) continue;
        char at[64];
        snprintf(at, sizeof(at), "%s:%d", name, r->line);
        if (!sp_input_add(cat, cap, at, -1, NULL, r->status, r->why ? r->why : "bad row"))
            rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    free(rowof);
    free(byp);
    free(used);
    free(labels);
    rows_free(&rs);
    return rc;
}

/* Text (no NUL or control bytes but tab, CR, LF) whose first line names a path column. */
static int csv_probe(const sp_input_peek *p)
{
    if (!S_ISREG(p->st.st_mode) || p->compressed || p->nraw == 0) return 0;
    size_t start = p->nraw >= 3 && memcmp(p->raw, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
    for (size_t i = start; i < p->nraw; i++) {
        uint8_t c = p->raw[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return 0;
    }
    const uint8_t *nl = memchr(p->raw + start, '\n', p->nraw - start);
    size_t n = nl ? (size_t)(nl - (p->raw + start)) : p->nraw - start;
    char head[SP_INPUT_PEEK + 1];
    memcpy(head, p->raw + start, n);
    head[n] = '\0';
    for (char *c = head; *c; c++)
        if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    bool delim = strchr(head, ',') || strchr(head, '\t');
    bool cols = (strstr(head, "path") || strstr(head, "file")) &&
                (strstr(head, "label") || strstr(head, "class"));
    return delim && cols ? 80 : 0;
}

const sp_input sp_input_csv = {
    .id = SP_INPUT_CSV,
    .name = "csv",
    .help = "a CSV/TSV manifest: path,label[,split] with a header row",
    .probe = csv_probe,
    .enumerate = csv_enumerate,
};
