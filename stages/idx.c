/*
 * idx — a dataset in IDX files, the format of MNIST, Fashion-MNIST, KMNIST and EMNIST: an
 * images file (unsigned bytes, count x rows x cols) and a labels file (unsigned bytes,
 * count), each plain or compressed (gzip as distributed, or anything libarchive reads).
 *
 *   [train]
 *   type = idx
 *   images = /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
 *   labels = /usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz
 *   classes = T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot
 *
 * Sample i is "train-images-idx3-ubyte/0000000i" (the images file's name without its
 * compression suffix), labelled classes[labels[i]]; without `classes`, classes are the
 * label values "0".."N" (zero-padded, so they sort in numeric order). Each sample is
 * handed to the scan and the build as an in-memory PGM (P5), so it is probed, hashed and
 * decoded like a file; its size is that PGM's, and its times and inode are the images
 * file's, so the catalog cache answers until the file changes.
 *
 * The images are decompressed into memory once, at enumeration (never to disk): 47 MB for
 * MNIST's training set. Both headers are checked — magic, element type, dimensions, equal
 * counts — and the declared size against the data actually present and against
 * [run] max_file_bytes, before the pixels are allocated where the file is uncompressed.
 */
#include "packed.h"

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct idx_opts {
    char *images;
    char *labels;
    char *classes;
} idx_opts;

#define OFF(f) offsetof(idx_opts, f)
static const sp_option idx_options[] = {
    {"images", "IDX images file (u8, count x rows x cols), plain or .gz", OFF(images),
     SP_OPT_STRING, NULL, 0, 0, NULL, SP_OPT_REQUIRED},
    {"labels", "IDX labels file (u8, count), plain or .gz", OFF(labels), SP_OPT_STRING, NULL, 0,
     0, NULL, SP_OPT_REQUIRED},
    {"classes", "class names for labels 0, 1, ..., comma-separated; empty: the label values",
     OFF(classes), SP_OPT_STRING, "", 0, 0, NULL, 0},
    SP_OPT_END,
};

#define IDX_UBYTE 0x08

/* One IDX file, decompressed: its dimensions and the data after the header. */
typedef struct idx_file {
    uint32_t dims[3];
    uint8_t *data;
    uint64_t len;
    struct stat st;
} idx_file;

/* What the read hook needs: the images, kept for the whole run. */
typedef struct idx_state {
    uint8_t *pixels;
    uint64_t len;
    uint32_t rows, cols;
} idx_state;

static void idx_state_free(void *p)
{
    idx_state *s = p;
    free(s->pixels);
    free(s);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads up to n bytes; fewer only at the end of the data. */
static int read_some(struct archive *a, uint8_t *buf, uint64_t n, uint64_t *got, sp_error *err)
{
    *got = 0;
    while (*got < n) {
        uint64_t want = n - *got < (1u << 30) ? n - *got : (1u << 30);
        la_ssize_t k = archive_read_data(a, buf + *got, (size_t)want);
        if (k < 0)
            return sp_fail(err, SP_E_CORRUPT, "cannot decompress: %s", archive_error_string(a));
        if (k == 0) break;
        *got += (uint64_t)k;
    }
    return SP_OK;
}

static const char *type_name(uint8_t t)
{
    switch (t) {
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
    }
}

/* Checks the magic and reads the dimensions; gives the size of the data they declare. */
static int parse_header(struct archive *a, unsigned ndims, const char *what, idx_file *f,
                        uint64_t *bytes, sp_error *err)
{
    uint8_t head[4 + 4 * 3];
    uint64_t got;
    int rc = read_some(a, head, 4, &got, err);
    if (rc != SP_OK) return rc;
    if (got < 4) return sp_fail(err, SP_E_FORMAT, "%s: not an IDX file (%llu bytes)", what,
                                (unsigned long long)got);
    if (head[0] != 0 || head[1] != 0)
        return sp_fail(err, SP_E_FORMAT, "%s: not an IDX file (magic %02x%02x%02x%02x)", what,
                       head[0], head[1], head[2], head[3]);
    if (head[2] != IDX_UBYTE)
        return sp_fail(err, SP_E_FORMAT, "IDX element type 0x%02x (%s) is not supported: %s "
                       "must be unsigned bytes (0x08)", head[2], type_name(head[2]), what);
    if (head[3] != ndims)
        return sp_fail(err, SP_E_FORMAT, "%s file has %u dimensions, not %u", what, head[3],
                       ndims);
    rc = read_some(a, head + 4, 4 * ndims, &got, err);
    if (rc != SP_OK) return rc;
    if (got < 4 * ndims) return sp_fail(err, SP_E_CORRUPT, "truncated IDX header");
    *bytes = 1;
    for (unsigned i = 0; i < ndims; i++) {
        f->dims[i] = be32(head + 4 + 4 * i);
        if (f->dims[i] && *bytes > UINT64_MAX / f->dims[i])
            return sp_fail(err, SP_E_LIMIT, "IDX dimensions overflow 64 bits");
        *bytes *= f->dims[i];
    }
    return SP_OK;
}

/* Reads the data after the header: exactly `bytes`, no more, no less. */
static int read_data(struct archive *a, uint64_t bytes, idx_file *f, const sp_limits *lim,
                     sp_error *err)
{
    if (lim->max_file_bytes && bytes > lim->max_file_bytes)
        return sp_fail(err, SP_E_MAX_FILE_BYTES, "IDX data of %llu bytes is over "
                       "max_file_bytes (%llu); raise [run] max_file_bytes to read it",
                       (unsigned long long)bytes,
                       (unsigned long long)lim->max_file_bytes);
    if (bytes >= SIZE_MAX) return sp_fail(err, SP_E_LIMIT, "IDX data too large");
    if (!(f->data = malloc(bytes ? (size_t)bytes : 1)))
        return sp_fail(err, SP_E_NOMEM, "out of memory for %llu bytes of IDX data",
                       (unsigned long long)bytes);
    uint64_t got;
    int rc = read_some(a, f->data, bytes, &got, err);
    if (rc != SP_OK) return rc;
    if (got < bytes)
        return sp_fail(err, SP_E_CORRUPT, "truncated: the header declares %llu bytes of data, "
                       "the file has %llu", (unsigned long long)bytes, (unsigned long long)got);
    uint8_t extra;
    rc = read_some(a, &extra, 1, &got, err);
    if (rc == SP_OK && got)
        rc = sp_fail(err, SP_E_CORRUPT, "more data than the header declares (%llu bytes)",
                     (unsigned long long)bytes);
    f->len = bytes;
    return rc;
}

/* Opens path (plain or compressed) and reads it whole. The stat comes from the open file,
 * before reading: if the file changes meanwhile, the cache sees a newer stat next time. */
static int read_idx(const char *path, unsigned ndims, const char *what, const sp_limits *lim,
                    idx_file *f, sp_error *err)
{
    memset(f, 0, sizeof(*f));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &f->st) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        sp_error_set_path(err, path);
        return sp_fail(err, SP_E_IO, "cannot open %s: %s", what, strerror(e));
    }
    int rc = SP_OK;
    struct archive *a = archive_read_new();
    if (!a) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    if (rc == SP_OK && !S_ISREG(f->st.st_mode))
        rc = sp_fail(err, SP_E_IO, "%s is not a regular file", what);
    if (rc == SP_OK) {
        archive_read_support_filter_all(a);
        archive_read_support_format_raw(a);
        struct archive_entry *entry;
        if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK ||
            archive_read_next_header(a, &entry) != ARCHIVE_OK)
            rc = f->st.st_size == 0
                     ? sp_fail(err, SP_E_FORMAT, "%s: not an IDX file (empty)", what)
                     : sp_fail(err, SP_E_CORRUPT, "cannot read: %s", archive_error_string(a));
    }
    uint64_t bytes = 0;
    if (rc == SP_OK) rc = parse_header(a, ndims, what, f, &bytes, err);
    /* An uncompressed file's length is known: a lying header costs no allocation. */
    if (rc == SP_OK && archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE &&
        (uint64_t)f->st.st_size - (4 + 4 * ndims) != bytes)
        rc = sp_fail(err, SP_E_CORRUPT, "the header declares %llu bytes of data, the file has "
                     "%llu", (unsigned long long)bytes,
                     (unsigned long long)f->st.st_size - (4 + 4 * ndims));
    if (rc == SP_OK) rc = read_data(a, bytes, f, lim, err);
    archive_read_free(a);
    close(fd);
    if (rc != SP_OK) {
        free(f->data);
        f->data = NULL;
        sp_error_set_path(err, path);
    }
    return rc;
}

static int check_image_size(uint32_t rows, uint32_t cols, const sp_limits *lim, sp_error *err)
{
    if (rows == 0 || cols == 0)
        return sp_fail(err, SP_E_CORRUPT, "IDX images of zero size (%u x %u)", rows, cols);
    if (lim->max_dimension && (rows > lim->max_dimension || cols > lim->max_dimension))
        return sp_fail(err, SP_E_MAX_DIMENSION, "IDX images of %u x %u are over max_dimension "
                       "(%u)", cols, rows, lim->max_dimension);
    if (lim->max_pixels && (uint64_t)rows * cols > lim->max_pixels)
        return sp_fail(err, SP_E_MAX_PIXELS, "IDX images of %u x %u are over max_pixels (%llu)",
                       cols, rows, (unsigned long long)lim->max_pixels);
    return SP_OK;
}

static int make_classes(sp_catalog *cat, const idx_opts *o, const idx_file *labels,
                        sp_error *err)
{
    if (o->classes && o->classes[0]) return sp_packed_listed_classes(cat, o->classes, "classes", err);
    unsigned max = 0;
    for (uint64_t i = 0; i < labels->len; i++)
        if (labels->data[i] > max) max = labels->data[i];
    return sp_packed_numbered_classes(cat, labels->len ? (size_t)max + 1 : 0, err);
}

/* One sample per image; the images move into the catalog's state. */
static int add_samples(sp_catalog *cat, const idx_opts *o, idx_file *images,
                       const idx_file *labels, sp_error *err)
{
    uint64_t n = images->dims[0];
    uint32_t rows = images->dims[1], cols = images->dims[2];
    idx_state *st = calloc(1, sizeof(*st));
    char *stem = sp_packed_stem(o->images, (const char *const[]){".gz", ".bz2", ".xz", ".zst",
                                                                  ".lz4", ".lzma", ".Z", NULL});
    if (!st || !stem) {
        free(st), free(stem);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    *st = (idx_state){images->data, images->len, rows, cols};
    images->data = NULL;
    cat->state = st;
    cat->state_free = idx_state_free;
    int rc = sp_packed_reserve(cat, (size_t)n, err);
    int width = sp_packed_index_width(n);
    uint64_t size = sp_packed_pnm_size('5', cols, rows);
    uint64_t pixels = (uint64_t)rows * cols;
    for (uint64_t i = 0; rc == SP_OK && i < n; i++)
        rc = sp_packed_add(cat, stem, width, i, &images->st, size, i * pixels, labels->data[i],
                           err);
    free(stem);
    return rc;
}

static int idx_enumerate(const sp_stage_env *env, const void *opts, sp_catalog *cat,
                         sp_error *err)
{
    const idx_opts *o = opts;
    const sp_limits *lim = &env->run->pipe->limits;
    if (!(cat->root = sp_path_dir(o->images))) return sp_fail(err, SP_E_NOMEM, "out of memory");
    idx_file images, labels;
    int rc = read_idx(o->images, 3, "images", lim, &images, err);
    if (rc != SP_OK) return rc;
    rc = read_idx(o->labels, 1, "labels", lim, &labels, err);
    if (rc == SP_OK && images.dims[0] != labels.dims[0]) {
        sp_error_set_path(err, o->labels);
        rc = sp_fail(err, SP_E_CORRUPT, "%u labels for %u images (in %s)", labels.dims[0],
                     images.dims[0], o->images);
    }
    if (rc == SP_OK && images.dims[0]) {
        rc = check_image_size(images.dims[1], images.dims[2], lim, err);
        if (rc != SP_OK) sp_error_set_path(err, o->images);
    }
    if (rc == SP_OK) rc = make_classes(cat, o, &labels, err);
    if (rc == SP_OK) rc = add_samples(cat, o, &images, &labels, err);
    free(images.data);
    free(labels.data);
    return rc;
}

/* Sample i as a PGM: its header and the image's rows x cols bytes. */
static int idx_read(const sp_catalog *cat, const sp_sample *s, const sp_limits *lim,
                    uint8_t **data, size_t *len, sp_error *err)
{
    (void)lim;
    const idx_state *st = cat->state;
    uint64_t n = (uint64_t)st->rows * st->cols;
    if (s->offset > st->len || n > st->len - s->offset)
        return sp_fail(err, SP_E_INTERNAL, "sample %s lies outside the IDX data", s->path);
    uint8_t *px;
    int rc = sp_packed_pnm('5', st->cols, st->rows, data, len, &px, err);
    if (rc == SP_OK) memcpy(px, st->pixels + s->offset, (size_t)n);
    return rc;
}

const sp_stage_desc sp_stage_idx = {
    .name = "idx",
    .help = "read MNIST-style IDX files (images and labels, plain or gzipped)",
    .kind = SP_STAGE_SOURCE,
    .opts_size = sizeof(idx_opts),
    .options = idx_options,
    .enumerate = idx_enumerate,
    .read = idx_read,
};
