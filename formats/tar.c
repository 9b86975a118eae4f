/*
 * tar output: plain USTAR, the one dialect every reader agrees on (GNU tar, bsdtar, Python
 * tarfile, WebDataset, DALI — DALI's reader long choked on PAX headers). Members are
 * reproducible: fixed mtime, uid/gid 0, mode 0444, no user or group names.
 *
 * The writer streams: a member goes to disk as soon as it is added, so a shard never sits
 * whole in memory. It hashes what it writes (XXH3-128) for the manifest.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

/* Writes v as a zero-padded octal number of width-1 digits plus a NUL. */
static int put_octal(uint8_t *field, size_t width, uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%0*llo", (int)width - 1, (unsigned long long)v);
    if (n < 0 || (size_t)n != width - 1) return -1;
    memcpy(field, tmp, width);
    return 0;
}

int sp_tar_header(const char *name, uint64_t size, uint8_t h[512], sp_error *err)
{
    memset(h, 0, 512);
    size_t len = strlen(name);
    if (len == 0) return sp_fail(err, SP_E_USAGE, "empty tar member name");
    if (len <= 100) {
        memcpy(h, name, len);
    } else {
        /* USTAR splits long names at a '/' into prefix (155) and name (100). */
        const char *cut = NULL;
        for (const char *p = name; *p; p++)
            if (*p == '/' && (size_t)(p - name) <= 155 && strlen(p + 1) <= 100 && p[1])
                cut = p;
        if (!cut)
            return sp_fail(err, SP_E_USAGE, "tar member name does not fit USTAR: %s", name);
        memcpy(h + 345, name, (size_t)(cut - name));
        memcpy(h, cut + 1, strlen(cut + 1));
    }
    /* 8 GiB - 1 is the most an 11-digit octal size holds. */
    if (size > 077777777777ULL)
        return sp_fail(err, SP_E_LIMIT, "tar member %s is too large for USTAR", name);
    put_octal(h + 100, 8, SP_TAR_MODE);
    put_octal(h + 108, 8, 0);
    put_octal(h + 116, 8, 0);
    put_octal(h + 124, 12, size);
    put_octal(h + 136, 12, SP_TAR_MTIME);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6); /* magic "ustar\0" */
    memcpy(h + 263, "00", 2);    /* version */
    put_octal(h + 329, 8, 0);    /* devmajor */
    put_octal(h + 337, 8, 0);    /* devminor */
    memset(h + 148, ' ', 8);     /* the checksum is computed with its own field as spaces */
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    return SP_OK;
}

struct sp_tar_writer {
    FILE *f;
    char *path;
    uint64_t bytes;
    XXH3_state_t *hash;
};

int sp_tar_open(const char *path, sp_tar_writer **out, sp_error *err)
{
    *out = NULL;
    sp_tar_writer *w = calloc(1, sizeof(*w));
    if (!w) return sp_fail(err, SP_E_NOMEM, "out of memory");
    w->path = sp_strdup(path);
    w->hash = XXH3_createState();
    if (!w->path || !w->hash) {
        sp_tar_free(&w);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    XXH3_128bits_reset(w->hash);
    w->f = fopen(path, "wbx");
    if (!w->f && errno == EEXIST) {
        /* A leftover temporary file from a killed run: it is ours to replace. */
        unlink(path);
        w->f = fopen(path, "wbx");
    }
    if (!w->f) {
        sp_error_set_path(err, path);
        int rc = sp_fail(err, SP_E_IO, "cannot create: %s", strerror(errno));
        sp_tar_free(&w);
        return rc;
    }
    *out = w;
    return SP_OK;
}

static int put(sp_tar_writer *w, const void *data, size_t len, sp_error *err)
{
    if (len && fwrite(data, 1, len, w->f) != len) {
        sp_error_set_path(err, w->path);
        return sp_fail(err, SP_E_IO, "write failed: %s", strerror(errno));
    }
    XXH3_128bits_update(w->hash, data, len);
    w->bytes += len;
    return SP_OK;
}

int sp_tar_add(sp_tar_writer *w, const char *name, const void *data, size_t len, sp_error *err)
{
    uint8_t h[512];
    static const uint8_t zeros[512];
    int rc = sp_tar_header(name, len, h, err);
    if (rc == SP_OK) rc = put(w, h, 512, err);
    if (rc == SP_OK) rc = put(w, data, len, err);
    if (rc == SP_OK && len % 512) rc = put(w, zeros, 512 - len % 512, err);
    return rc;
}

int sp_tar_finish(sp_tar_writer *w, uint64_t *bytes, sp_hash128 *hash, sp_error *err)
{
    static const uint8_t zeros[1024];
    int rc = put(w, zeros, sizeof(zeros), err);
    if (rc == SP_OK && (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)) {
        sp_error_set_path(err, w->path);
        rc = sp_fail(err, SP_E_IO, "cannot flush to disk: %s", strerror(errno));
    }
    FILE *f = w->f;
    w->f = NULL;
    if (fclose(f) != 0 && rc == SP_OK) {
        sp_error_set_path(err, w->path);
        rc = sp_fail(err, SP_E_IO, "close failed: %s", strerror(errno));
    }
    XXH128_hash_t d = XXH3_128bits_digest(w->hash);
    *bytes = w->bytes;
    *hash = (sp_hash128){d.high64, d.low64};
    return rc;
}

void sp_tar_abort(sp_tar_writer **w)
{
    if (!w || !*w) return;
    if ((*w)->f) {
        fclose((*w)->f);
        (*w)->f = NULL;
    }
    unlink((*w)->path);
    sp_tar_free(w);
}

void sp_tar_free(sp_tar_writer **w)
{
    if (!w || !*w) return;
    if ((*w)->f) fclose((*w)->f);
    if ((*w)->hash) XXH3_freeState((*w)->hash);
    free((*w)->path);
    free(*w);
    *w = NULL;
}
