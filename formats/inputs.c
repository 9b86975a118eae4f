/*
 * The input format registry (see input.h): one row per layout a source can read, and the
 * probe that picks one by content. Adding an input format is one file and one line here.
 */
#include "input.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const sp_input *const inputs[] = {
    &sp_input_folder, &sp_input_archive, &sp_input_csv, &sp_input_idx, &sp_input_cifar,
};

const sp_enum_choice sp_input_choices[] = {
    {SP_INPUT_AUTO, "auto", "probe the path: a folder, or a file by its first bytes"},
    {SP_INPUT_FOLDER, "folder", "ROOT/<class>/..., or ROOT/{train,val,test}/<class>/..."},
    {SP_INPUT_ARCHIVE, "archive", "tar (plain, gz, bz2, xz, zst), zip or 7z, read in place"},
    {SP_INPUT_CSV, "csv", "a CSV/TSV manifest: path,label[,split] with a header row"},
    {SP_INPUT_IDX, "idx", "an MNIST-style IDX images file (labels beside it)"},
    {SP_INPUT_CIFAR, "cifar", "a CIFAR-10/100 binary batch file, or their folder"},
    {0, NULL, NULL},
};

void sp_archive_filters(struct archive *a)
{
    /* Named, not "all": "all" includes filters that run external programs (lrzip, lzop,
     * grzip) on the untrusted bytes. */
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    archive_read_support_filter_lzma(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_lz4(a);
    archive_read_support_filter_compress(a);
}

static bool compression_magic(const uint8_t *p, size_t n)
{
    return (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) ||                        /* gzip */
           (n >= 3 && memcmp(p, "BZh", 3) == 0) ||                            /* bzip2 */
           (n >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0) ||                   /* xz */
           (n >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0) ||               /* zstd */
           (n >= 4 && memcmp(p, "\x04\x22\x4d\x18", 4) == 0);                 /* lz4 */
}

/* The first bytes of the stream inside a compressed file: libarchive's filters, its raw
 * format, one bounded read. */
static void peek_inner(sp_input_peek *p)
{
    struct archive *a = archive_read_new();
    if (!a) return;
    sp_archive_filters(a);
    archive_read_support_format_raw(a);
    struct archive_entry *e;
    if (archive_read_open_filename(a, p->path, 1 << 16) == ARCHIVE_OK &&
        archive_read_next_header(a, &e) == ARCHIVE_OK) {
        while (p->ninner < SP_INPUT_PEEK) {
            la_ssize_t k = archive_read_data(a, p->inner + p->ninner, SP_INPUT_PEEK - p->ninner);
            if (k <= 0) break;
            p->ninner += (size_t)k;
        }
    }
    archive_read_free(a);
}

static int fill_peek(const char *path, sp_input_peek *p, sp_error *err)
{
    memset(p, 0, sizeof(*p));
    p->path = path;
    if (stat(path, &p->st) != 0) {
        sp_error_set_path(err, path);
        return sp_fail(err, SP_E_IO, "cannot open: %s", strerror(errno));
    }
    if (S_ISDIR(p->st.st_mode)) return SP_OK;
    if (!S_ISREG(p->st.st_mode)) {
        sp_error_set_path(err, path);
        return sp_fail(err, SP_E_IO, "not a folder or a regular file");
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sp_error_set_path(err, path);
        return sp_fail(err, SP_E_IO, "cannot open: %s", strerror(errno));
    }
    while (p->nraw < SP_INPUT_PEEK) {
        ssize_t k = read(fd, p->raw + p->nraw, SP_INPUT_PEEK - p->nraw);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        p->nraw += (size_t)k;
    }
    close(fd);
    p->compressed = compression_magic(p->raw, p->nraw);
    if (p->compressed) {
        peek_inner(p);
    } else {
        memcpy(p->inner, p->raw, p->nraw);
        p->ninner = p->nraw;
    }
    return SP_OK;
}

int sp_input_pick(const sp_input_opts *o, const sp_input **in, sp_error *err)
{
    *in = NULL;
    if (o->format != SP_INPUT_AUTO) {
        for (size_t i = 0; i < SP_ARRAY_LEN(inputs); i++)
            if (inputs[i]->id == o->format) *in = inputs[i];
        return *in ? SP_OK : sp_fail(err, SP_E_INTERNAL, "no input format %d", o->format);
    }
    sp_input_peek *p = malloc(sizeof(*p));
    if (!p) return sp_fail(err, SP_E_NOMEM, "out of memory");
    int rc = fill_peek(o->path, p, err);
    int best = 0;
    for (size_t i = 0; rc == SP_OK && i < SP_ARRAY_LEN(inputs); i++) {
        int s = inputs[i]->probe(p);
        if (s > best) {
            best = s;
            *in = inputs[i];
        }
    }
    if (rc == SP_OK && !*in) {
        sp_error_set_path(err, o->path);
        rc = sp_fail(err, SP_E_FORMAT, "not a dataset shardpack recognises: expected a folder, "
                     "an archive (tar, tar.gz/bz2/xz/zst, zip, 7z), a CSV/TSV manifest with a "
                     "header row, an IDX images file or a CIFAR batch (or set format =)");
    }
    free(p);
    return rc;
}

int sp_input_delegate(const sp_stage_env *env, const sp_stage_desc *desc,
                      const char *const *kv, sp_catalog *cat, sp_error *err)
{
    void *opts = calloc(1, desc->opts_size);
    if (!opts) return sp_fail(err, SP_E_NOMEM, "out of memory");
    int rc = sp_options_defaults(desc->options, opts, err);
    for (size_t i = 0; rc == SP_OK && kv[i]; i += 2) {
        const sp_option *opt = sp_option_find(desc->options, kv[i]);
        rc = opt ? sp_option_parse(opt, opts, kv[i + 1], err)
                 : sp_fail(err, SP_E_INTERNAL, "%s has no option %s", desc->name, kv[i]);
    }
    if (rc == SP_OK) rc = desc->enumerate(env, opts, cat, err);
    if (rc == SP_OK) cat->desc = desc; /* its read hook serves the samples */
    sp_options_free(desc->options, opts);
    free(opts);
    return rc;
}

uint8_t sp_input_split_of(const char *name, size_t n)
{
    static const struct {
        const char *name;
        uint8_t split;
    } names[] = {{"train", SP_SPLIT_TRAIN}, {"val", SP_SPLIT_VAL}, {"valid", SP_SPLIT_VAL},
                 {"validation", SP_SPLIT_VAL}, {"test", SP_SPLIT_TEST}};
    for (size_t i = 0; i < SP_ARRAY_LEN(names); i++)
        if (strlen(names[i].name) == n && memcmp(names[i].name, name, n) == 0)
            return names[i].split;
    return SP_SPLIT_NONE;
}

sp_sample *sp_input_add(sp_catalog *cat, size_t *cap, const char *path, int32_t label,
                        const struct stat *st, int status, const char *detail)
{
    if (cat->nsamples == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        if (ncap > SIZE_MAX / sizeof(sp_sample)) return NULL;
        sp_sample *p = realloc(cat->samples, ncap * sizeof(*p));
        if (!p) return NULL;
        cat->samples = p;
        *cap = ncap;
    }
    sp_sample *s = &cat->samples[cat->nsamples];
    memset(s, 0, sizeof(*s));
    if (!(s->path = sp_strdup(path))) return NULL;
    s->label = label;
    if (st) {
        s->size = (uint64_t)st->st_size;
        s->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
        s->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
        s->inode = (uint64_t)st->st_ino;
    }
    s->status = status;
    if (detail && !(s->detail = sp_strdup(detail))) {
        free(s->path);
        return NULL;
    }
    cat->nsamples++;
    return s;
}

bool sp_input_real_inside(const char *real, const char *real_root)
{
    size_t n = strlen(real_root);
    return strncmp(real, real_root, n) == 0 &&
           (real[n] == '\0' || real[n] == '/' || (n == 1 && real_root[0] == '/'));
}

bool sp_input_path_safe(const char *path)
{
    if (!path[0] || path[0] == '/') return false;
    for (const char *p = path; *p;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') return false;
        if (!slash) break;
        p = slash + 1;
    }
    return true;
}
