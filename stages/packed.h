/*
 * Helpers for sources whose samples are records packed into container files (idx, cifar):
 * class lists, virtual sample paths, and the in-memory PNM a record is handed out as.
 *
 * A packed sample's path is CONTAINER/INDEX (e.g. "train-images-idx3-ubyte/00000042"),
 * the index zero-padded so path order is record order; its size is the bytes its read
 * hook returns, and its mtime, ctime and inode are the container's, so a catalog cache
 * row stays valid exactly as long as the container is unchanged.
 */
#ifndef SP_STAGES_PACKED_H
#define SP_STAGES_PACKED_H

#include "internal.h"

#include <sys/stat.h>

/* Classes "0".."n-1", zero-padded to one width ("00".."99"): the run orders class names
 * bytewise, and padding keeps that order numeric, so label k stays label k. */
int sp_packed_numbered_classes(sp_catalog *cat, size_t n, sp_error *err);
/* Names from a comma-separated list, blanks around them trimmed. Empty and repeated names
 * are refused (SP_E_CONFIG) with a message naming `option` and what a name is (`noun`). */
int sp_packed_split(const char *list, const char *option, const char *noun, char ***names,
                    size_t *n, sp_error *err);
/* Classes from a comma-separated list, split as above (the catalog has none yet). */
int sp_packed_listed_classes(sp_catalog *cat, const char *list, const char *option,
                             sp_error *err);
/* Classes from a text file, one a line; blank lines are skipped. */
int sp_packed_class_file(sp_catalog *cat, const char *path, sp_error *err);

/* Room for n more samples in cat. */
int sp_packed_reserve(sp_catalog *cat, size_t n, sp_error *err);
/* Appends (after sp_packed_reserve) record `index` of a container as the sample CONTAINER/INDEX with the container's
 * times and inode. A label outside the catalog's classes makes a rejected sample
 * (SP_E_NOLABEL) that says so. */
int sp_packed_add(sp_catalog *cat, const char *container, int width, uint64_t index,
                  const struct stat *st, uint64_t size, uint64_t offset, long label,
                  sp_error *err);
/* Digits for indexes below count: 8, or more for bigger containers. */
int sp_packed_index_width(uint64_t count);

/* A container's name in sample paths: its file name without folders and without the
 * suffix (".gz", ".bin", ...) if it ends with one of suffixes (NULL-terminated). */
char *sp_packed_stem(const char *path, const char *const *suffixes);

/* The bytes sp_packed_pnm makes for an image of w x h. */
uint64_t sp_packed_pnm_size(char kind, uint32_t w, uint32_t h);
/* A binary PNM of w x h (kind '5' gray or '6' RGB, maxval 255) in a new buffer; *pixels
 * points at its raster for the caller to fill. */
int sp_packed_pnm(char kind, uint32_t w, uint32_t h, uint8_t **data, size_t *len,
                  uint8_t **pixels, sp_error *err);

#endif
