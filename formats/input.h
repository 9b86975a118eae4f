/*
 * Input formats: the ways a dataset can be laid out on disk, read by the `source` stage.
 *
 * Each format is one file in formats/ and one row of the table in formats/inputs.c:
 * folder (class folders, or train/ val/ test/ split folders of class folders), archive
 * (tar, compressed tar, zip, 7z, nested), csv (a CSV/TSV manifest), idx and cifar. A
 * source's `path` is probed by content, never by name: a folder, or the first bytes of a
 * file (decompressed when they are a gzip/bzip2/xz/zstd stream, so a .gz IDX file is
 * told from a .tar.gz). `format =` forces one.
 */
#ifndef SP_FORMATS_INPUT_H
#define SP_FORMATS_INPUT_H

#include "internal.h"

#include <sys/stat.h>

/* The source stage's options: what every input format may read. */
typedef struct sp_input_opts {
    char *path;
    int format; /* SP_INPUT_* */
    int64_t max_depth;
    char *classes; /* a file of class names, one a line (line i is label i) */
    char *labels;  /* IDX: the labels file */
    char *manifest; /* archives: a CSV/TSV manifest naming the members' labels */
} sp_input_opts;

enum { SP_INPUT_AUTO = 0, SP_INPUT_FOLDER, SP_INPUT_ARCHIVE, SP_INPUT_CSV, SP_INPUT_IDX,
       SP_INPUT_CIFAR };
extern const sp_enum_choice sp_input_choices[]; /* auto, folder, archive, ... */

#define SP_INPUT_PEEK 512

/* What a probe sees of the path: its stat, its first bytes, and the first bytes of the
 * stream inside when the file is compressed (else the same bytes again). */
typedef struct sp_input_peek {
    const char *path;
    struct stat st;
    uint8_t raw[SP_INPUT_PEEK];
    size_t nraw;
    uint8_t inner[SP_INPUT_PEEK];
    size_t ninner;
    bool compressed; /* raw starts with a compression filter's magic */
} sp_input_peek;

typedef struct sp_input {
    int id; /* SP_INPUT_* */
    const char *name;
    const char *help;
    /* 0 = not this format, 100 = certain. */
    int (*probe)(const sp_input_peek *p);
    /* Lists the samples into cat (root, classes, samples); may set cat->desc to a reader
     * whose read hook serves its samples, and cat->state. */
    int (*enumerate)(const sp_stage_env *env, const sp_input_opts *o, sp_catalog *cat,
                     sp_error *err);
} sp_input;

extern const sp_input sp_input_folder, sp_input_archive, sp_input_csv, sp_input_idx,
    sp_input_cifar;

/* The input format of o->path: the forced one, or the best probe's. */
int sp_input_pick(const sp_input_opts *o, const sp_input **in, sp_error *err);

/* Runs a stage's enumerate with options given as key = value pairs (NULL-terminated),
 * parsed by the stage's own table, and makes it the catalog's reader. */
int sp_input_delegate(const sp_stage_env *env, const sp_stage_desc *desc,
                      const char *const *kv, sp_catalog *cat, sp_error *err);

/* The split a folder name stands for (train, val/valid/validation, test), or SP_SPLIT_NONE. */
uint8_t sp_input_split_of(const char *name, size_t n);

/* Appends a sample (room is made as needed): a copy of path, label, the container's or
 * the file's stat (st may be NULL), and a status with its detail (SP_OK and NULL for a
 * good one). Returns the sample, or NULL when out of memory. */
sp_sample *sp_input_add(sp_catalog *cat, size_t *cap, const char *path, int32_t label,
                        const struct stat *st, int status, const char *detail);

/* Labels (and split hints) of an archive's members from the manifest o->manifest, whose
 * paths are member paths, instead of from folders: cat's classes are made from it; a
 * member it does not list is no_label; its bad rows, and rows naming no member, are
 * appended as rejected samples named MANIFEST:LINE. (formats/csv.c) */
int sp_csv_label_members(const sp_stage_env *env, const sp_input_opts *o, sp_catalog *cat,
                         size_t *cap, sp_error *err);

/* Enables the decompression filters inputs accept (gzip, bzip2, xz, lzma, zstd, lz4,
 * compress) on a libarchive reader. */
struct archive;
void sp_archive_filters(struct archive *a);

/* Whether a relative path stays under its root: not empty, not absolute, no ".."
 * component. */
bool sp_input_path_safe(const char *path);

/* Whether a real path (realpath's) is real_root or under it: the containment test every
 * source that follows symlinks (folder, CSV) applies, so they cannot drift apart. */
bool sp_input_real_inside(const char *real, const char *real_root);

#endif
