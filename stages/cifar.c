/*
 * cifar — the CIFAR-10 and CIFAR-100 binary versions: fixed-size records of label byte(s)
 * and a 32x32 image stored as three planes (R, G, B), many records to a file.
 *
 *   [train]
 *   type = cifar
 *   path = /data/cifar-10-batches-bin
 *   variant = cifar10          ; or cifar100 (with label = fine or coarse)
 *   files = data_batch_1.bin, data_batch_2.bin   ; default: every training batch
 *
 * Records: CIFAR-10 is 1 label byte + 3072 pixel bytes; CIFAR-100 is a coarse and a fine
 * label byte + 3072. Class names come from the folder's batches.meta.txt (CIFAR-10) or
 * fine_label_names.txt / coarse_label_names.txt (CIFAR-100), one a line; if the file is
 * missing, classes are numbered ("0".."9", "00".."99").
 *
 * Sample i of data_batch_1.bin is "data_batch_1/0000000i": an in-memory PPM (P6, the
 * planes interleaved), with the batch file's times and inode so the catalog cache answers
 * until the file changes. Files are mapped, not read: only the pages the scan and build
 * touch are loaded. A file whose size is not a whole number of records is refused, and a
 * label outside the classes rejects its sample.
 */
#include "packed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { CIFAR10, CIFAR100 };
enum { LABEL_FINE, LABEL_COARSE };

typedef struct cifar_opts {
    char *path;
    int variant;
    char *files;
    int label;
} cifar_opts;

static const sp_enum_choice variants[] = {
    {CIFAR10, "cifar10", "10 classes; records of 1 label byte + 3072 pixel bytes"},
    {CIFAR100, "cifar100", "100 fine / 20 coarse classes; records of 2 label bytes + 3072"},
    {0, NULL, NULL},
};

static const sp_enum_choice label_kinds[] = {
    {LABEL_FINE, "fine", "CIFAR-100's 100 classes (CIFAR-10's only label)"},
    {LABEL_COARSE, "coarse", "CIFAR-100's 20 superclasses"},
    {0, NULL, NULL},
};

#define OFF(f) offsetof(cifar_opts, f)
static const sp_option cifar_options[] = {
    {"path", "folder with the binary batch files", OFF(path), SP_OPT_STRING, NULL, 0, 0, NULL,
     SP_OPT_REQUIRED},
    {"variant", "which CIFAR", OFF(variant), SP_OPT_ENUM, "cifar10", 1, 0, variants, 0},
    {"files", "batch files under path, comma-separated; empty: the training batches "
     "(data_batch_1..5.bin, or train.bin for cifar100)", OFF(files), SP_OPT_STRING, "", 0, 0,
     NULL, 0},
    {"label", "which label of a CIFAR-100 record", OFF(label), SP_OPT_ENUM, "fine", 1, 0,
     label_kinds, 0},
    SP_OPT_END,
};

#define SIDE 32
#define PLANE (SIDE * SIDE)

/* One mapped batch file; its records are numbered from `start` in a virtual concatenation
 * of every file, so a sample's offset alone says where it is. */
typedef struct batch {
    sp_mapped map;
    uint64_t start;
} batch;

typedef struct cifar_state {
    size_t nbatches;
    uint32_t label_bytes; /* before the pixels */
    batch batches[];
} cifar_state;

static void cifar_state_free(void *p)
{
    cifar_state *s = p;
    for (size_t i = 0; i < s->nbatches; i++) sp_unmap(&s->batches[i].map);
    free(s);
}

/* The layout facts of a variant. */
typedef struct layout {
    const char *name;
    uint32_t label_bytes, label_at, nclasses;
    const char *names_file;
    const char *default_files;
} layout;

static layout layout_of(const cifar_opts *o)
{
    if (o->variant == CIFAR10)
        return (layout){"CIFAR-10", 1, 0, 10, "batches.meta.txt",
                        "data_batch_1.bin,data_batch_2.bin,data_batch_3.bin,data_batch_4.bin,"
                        "data_batch_5.bin"};
    if (o->label == LABEL_COARSE)
        return (layout){"CIFAR-100", 2, 0, 20, "coarse_label_names.txt", "train.bin"};
    return (layout){"CIFAR-100", 2, 1, 100, "fine_label_names.txt", "train.bin"};
}

/* Names from the folder's names file, or numbers if there is none. */
static int make_classes(const sp_stage_env *env, const cifar_opts *o, const layout *l,
                        sp_catalog *cat, sp_error *err)
{
    char *names = sp_path_join(o->path, l->names_file);
    if (!names) return sp_fail(err, SP_E_NOMEM, "out of memory");
    struct stat st;
    int rc;
    if (stat(names, &st) != 0 && errno == ENOENT) {
        sp_log(env->run->ctx, SP_LOG_INFO, "[%s] no %s in %s: classes are numbered",
               env->stage->name, l->names_file, o->path);
        rc = sp_packed_numbered_classes(cat, l->nclasses, err);
    } else {
        rc = sp_packed_class_file(cat, names, err);
        if (rc == SP_OK && cat->nclasses != l->nclasses) {
            sp_error_set_path(err, names);
            rc = sp_fail(err, SP_E_CORRUPT, "%zu class names; %s has %u", cat->nclasses,
                         l->name, l->nclasses);
        }
    }
    free(names);
    return rc;
}

/* A batch's name in sample paths: its name under path without ".bin". */
static char *stem_of(const char *name)
{
    size_t n = strlen(name);
    return sp_strndup(name, n > 4 && strcmp(name + n - 4, ".bin") == 0 ? n - 4 : n);
}

/* The file names of the `files` option, or the variant's default. Two names that give
 * one stem ("x" and "x.bin") would give samples one path: refused. */
static int list_files(const cifar_opts *o, const layout *l, char ***out, size_t *n,
                      sp_error *err)
{
    const char *list = o->files && o->files[0] ? o->files : l->default_files;
    int rc = sp_packed_split(list, "files", "file", out, n, err);
    for (size_t i = 0; rc == SP_OK && i < *n; i++)
        for (size_t j = 0; rc == SP_OK && j < i; j++) {
            char *a = stem_of((*out)[i]), *b = stem_of((*out)[j]);
            if (!a || !b)
                rc = sp_fail(err, SP_E_NOMEM, "out of memory");
            else if (strcmp(a, b) == 0)
                rc = sp_fail(err, SP_E_CONFIG, "files names '%s' twice", a);
            free(a), free(b);
        }
    return rc;
}

/* Maps one batch file and adds its records. */
static int add_batch(const cifar_opts *o, const layout *l, const char *name, cifar_state *state,
                     uint64_t start, sp_catalog *cat, sp_error *err)
{
    const uint64_t rec = l->label_bytes + 3 * PLANE;
    char *full = sp_path_join(o->path, name);
    char *stem = stem_of(name);
    if (!full || !stem) {
        free(full), free(stem);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    /* stat before mapping: if the file changes meanwhile, the cache sees a newer stat. */
    struct stat st;
    int rc = SP_OK;
    if (stat(full, &st) != 0)
        rc = sp_fail(err, SP_E_IO, "cannot open: %s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = sp_fail(err, SP_E_IO, "not a regular file");
    batch *b = &state->batches[state->nbatches];
    if (rc == SP_OK) rc = sp_map_file(full, &b->map, err);
    if (rc == SP_OK) {
        b->start = start;
        state->nbatches++;
        if (b->map.size == 0 || b->map.size % rec != 0)
            rc = sp_fail(err, SP_E_CORRUPT, "%llu bytes is not a whole number of %llu-byte %s "
                         "records", (unsigned long long)b->map.size, (unsigned long long)rec,
                         l->name);
    }
    uint64_t n = rc == SP_OK ? b->map.size / rec : 0;
    if (rc == SP_OK) rc = sp_packed_reserve(cat, (size_t)n, err);
    int width = sp_packed_index_width(n);
    uint64_t size = sp_packed_pnm_size('6', SIDE, SIDE);
    for (uint64_t i = 0; rc == SP_OK && i < n; i++)
        rc = sp_packed_add(cat, stem, width, i, &st, size, start + i * rec,
                           b->map.base[i * rec + l->label_at], err);
    if (rc != SP_OK && !err->path[0]) sp_error_set_path(err, full);
    free(full);
    free(stem);
    return rc;
}

static int cifar_enumerate(const sp_stage_env *env, const void *opts, sp_catalog *cat,
                           sp_error *err)
{
    const cifar_opts *o = opts;
    const layout l = layout_of(o);
    if (o->variant == CIFAR10 && o->label == LABEL_COARSE)
        return sp_fail(err, SP_E_CONFIG, "label = coarse needs variant = cifar100");
    if (!(cat->root = sp_strdup(o->path))) return sp_fail(err, SP_E_NOMEM, "out of memory");
    int rc = make_classes(env, o, &l, cat, err);
    char **files = NULL;
    size_t nfiles = 0;
    if (rc == SP_OK) rc = list_files(o, &l, &files, &nfiles, err);
    cifar_state *state = NULL;
    if (rc == SP_OK && !(state = calloc(1, sizeof(*state) + nfiles * sizeof(batch))))
        rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    if (state) {
        state->label_bytes = l.label_bytes;
        cat->state = state;
        cat->state_free = cifar_state_free;
    }
    uint64_t start = 0;
    for (size_t i = 0; rc == SP_OK && i < nfiles; i++) {
        rc = add_batch(o, &l, files[i], state, start, cat, err);
        if (rc == SP_OK) start += state->batches[i].map.size;
    }
    for (size_t i = 0; i < nfiles; i++) free(files[i]);
    free(files);
    return rc;
}

/* A record as a PPM: the R, G and B planes interleaved. */
static int cifar_read(const sp_catalog *cat, const sp_sample *s, const sp_limits *lim,
                      uint8_t **data, size_t *len, sp_error *err)
{
    (void)lim;
    const cifar_state *st = cat->state;
    const uint64_t rec = st->label_bytes + 3 * PLANE;
    const batch *b = NULL;
    for (size_t i = 0; i < st->nbatches && !b; i++)
        if (s->offset >= st->batches[i].start &&
            s->offset - st->batches[i].start < st->batches[i].map.size)
            b = &st->batches[i];
    if (!b || s->offset - b->start > b->map.size - rec)
        return sp_fail(err, SP_E_INTERNAL, "sample %s lies outside the CIFAR files", s->path);
    const uint8_t *planes = b->map.base + (s->offset - b->start) + st->label_bytes;
    uint8_t *px;
    int rc = sp_packed_pnm('6', SIDE, SIDE, data, len, &px, err);
    if (rc != SP_OK) return rc;
    for (size_t i = 0; i < PLANE; i++) {
        px[3 * i] = planes[i];
        px[3 * i + 1] = planes[PLANE + i];
        px[3 * i + 2] = planes[2 * PLANE + i];
    }
    return SP_OK;
}

const sp_stage_desc sp_stage_cifar = {
    .name = "cifar",
    .help = "read the CIFAR-10 / CIFAR-100 binary batch files",
    .kind = SP_STAGE_SOURCE,
    .opts_size = sizeof(cifar_opts),
    .options = cifar_options,
    .enumerate = cifar_enumerate,
    .read = cifar_read,
};
