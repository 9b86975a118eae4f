/*
 * Reading finished shards: tar (WebDataset), npy and TFRecord, through one iterator.
 *
 *   sp_reader *r;
 *   if (sp_reader_open(ctx, "out/shard-000000.tar", &r) == SP_OK) {
 *       sp_record_view rec;
 *       while (sp_reader_next(r, &rec) == 1) use(rec.key, rec.label, rec.image, rec.image_len);
 *       sp_reader_free(&r);
 *   }
 *
 * The shard is memory-mapped; a view's pointers borrow from it and stay valid until
 * sp_reader_free. Every structure read is checked (tar header checksums, TFRecord CRCs,
 * npy headers); a problem returns SP_E_CORRUPT with the byte offset in the message.
 * Random access (sp_reader_seek) uses the shard's index file when there is one.
 */
#ifndef SHARDPACK_READER_H
#define SHARDPACK_READER_H

#include "shardpack/shardpack.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sp_reader sp_reader;

typedef enum sp_shard_format {
    SP_SHARD_TAR = 1,
    SP_SHARD_NPY = 2,
    SP_SHARD_TFRECORD = 3,
} sp_shard_format;

typedef struct sp_record_view {
    const char *key;            /* record key (for npy: its position, 9 digits) */
    uint64_t index;             /* position in the shard */
    int64_t label;              /* class index; -1 if the shard stores none */
    const char *format;         /* image codec: "jpeg", "png", "raw"; "pixels" for npy */
    const uint8_t *image;       /* the stored image bytes */
    uint64_t image_len;
    const char *meta;           /* tar: the KEY.json member, else NULL */
    uint64_t meta_len;
    const char *class_name;     /* tar KEY.txt or TFRecord image/class/text, else NULL */
    uint64_t class_name_len;
    uint32_t width, height, channels; /* when the shard records them (npy, TFRecord) */
    uint64_t offset, size;      /* the record's first and total bytes in the shard */
} sp_record_view;

/* Opens a shard (format found from its content). For npy, give the .images.npy file; the
 * labels are read from the .labels.npy beside it. */
int sp_reader_open(sp_ctx *ctx, const char *path, sp_reader **out);
sp_shard_format sp_reader_format(const sp_reader *r);
/* Next record: 1 = *rec filled, 0 = end of shard, < 0 = error (see sp_errmsg). */
int sp_reader_next(sp_reader *r, sp_record_view *rec);
/* Positions the reader so the next record is number `index`, through the shard's index
 * (.idx) when present, else by reading forward from the start. */
int sp_reader_seek(sp_reader *r, uint64_t index);
/* Finds a record by key; 1 = found, 0 = not in this shard, < 0 = error. */
int sp_reader_find(sp_reader *r, const char *key, sp_record_view *rec);
void sp_reader_free(sp_reader **r);

/* Checks a finished output folder against its manifest.json: every shard's size, checksum
 * and structure, its records and labels, its index files, and the counts. Returns SP_OK,
 * or SP_E_CORRUPT with the first problem (shard and byte offset) in sp_errmsg. Progress
 * messages go to the log at SP_LOG_INFO. */
int sp_verify(sp_ctx *ctx, const char *outdir);

/* One row of sp_readbench: what was read, and how long it took. */
typedef struct sp_bench_row {
    uint64_t files, records, bytes, missing;
    double seconds;
    uint64_t checksum; /* a sum over the bytes read, so the reads cannot be optimised away */
} sp_bench_row;

/* Reads every shard of an output as a training epoch would (decoding each image when
 * `decode`), then the same samples as loose source files (their paths from plan.tsv,
 * their roots from the manifest; relative roots resolve against the current folder). */
int sp_readbench(sp_ctx *ctx, const char *outdir, bool decode, sp_bench_row *shards,
                 sp_bench_row *loose);

#ifdef __cplusplus
}
#endif
#endif
