/*
 * File helpers. The one rule they exist for: nothing half-written ever sits under a final
 * name. Every output goes to a temporary name in the same folder (so rename is atomic),
 * is fsynced, renamed, and the folder fsynced so the rename itself survives a crash.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

char *sp_strdup(const char *s)
{
    return s ? sp_strndup(s, strlen(s)) : NULL;
}

char *sp_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *sp_path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    bool slash = la > 0 && a[la - 1] != '/';
    char *p = malloc(la + lb + 2);
    if (!p) return NULL;
    memcpy(p, a, la);
    if (slash) p[la++] = '/';
    memcpy(p + la, b, lb + 1);
    return p;
}

int sp_mkdirs(const char *path, sp_error *err)
{
    if (!path[0]) return sp_fail(err, SP_E_USAGE, "empty folder name");
    char *p = sp_strdup(path);
    if (!p) return sp_fail(err, SP_E_NOMEM, "out of memory");
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            sp_error_set_path(err, p);
            free(p);
            return sp_fail(err, SP_E_IO, "cannot create folder: %s", strerror(e));
        }
        *s = c;
        if (c == '\0') break;
    }
    free(p);
    return SP_OK;
}

/* `over` is the code for a file over max_bytes: which limit it is depends on the caller. */
static int read_bounded(const char *path, uint64_t max_bytes, int over, uint8_t **out,
                        size_t *len, sp_error *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sp_error_set_path(err, path);
        return sp_fail(err, SP_E_IO, "cannot open: %s", strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        sp_error_set_path(err, path);
        return sp_fail(err, SP_E_IO, "not a regular file");
    }
    if ((uint64_t)st.st_size > max_bytes || (uint64_t)st.st_size > SIZE_MAX - 1) {
        close(fd);
        sp_error_set_path(err, path);
        return sp_fail(err, over, "file is %lld bytes, over the limit of %llu",
                       (long long)st.st_size, (unsigned long long)max_bytes);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return sp_fail(err, SP_E_NOMEM, "out of memory reading %zu bytes", n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            int e = k < 0 ? errno : 0;
            close(fd);
            free(buf);
            sp_error_set_path(err, path);
            return sp_fail(err, SP_E_IO, "read failed: %s", e ? strerror(e) : "file shrank");
        }
        got += (size_t)k;
    }
    close(fd);
    *out = buf;
    *len = n;
    return SP_OK;
}

int sp_read_file(const char *path, uint64_t max_bytes, uint8_t **out, size_t *len,
                 sp_error *err)
{
    return read_bounded(path, max_bytes, SP_E_LIMIT, out, len, err);
}

int sp_read_input(const char *path, uint64_t max_file_bytes, uint8_t **out, size_t *len,
                  sp_error *err)
{
    return read_bounded(path, max_file_bytes, SP_E_MAX_FILE_BYTES, out, len, err);
}

char *sp_path_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? sp_strndup(path, (size_t)(slash - path) + (slash == path)) : sp_strdup(".");
}

int sp_fsync_dir_of(const char *path, sp_error *err)
{
    char *dir = sp_path_dir(path);
    if (!dir) return sp_fail(err, SP_E_NOMEM, "out of memory");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = SP_OK;
    if (fd < 0 || fsync(fd) != 0) {
        sp_error_set_path(err, dir);
        rc = sp_fail(err, SP_E_IO, "cannot sync folder: %s", strerror(errno));
    }
    if (fd >= 0) close(fd);
    free(dir);
    return rc;
}

int sp_commit_file(const char *tmp, const char *final, sp_error *err)
{
    if (rename(tmp, final) != 0) {
        int e = errno;
        unlink(tmp);
        sp_error_set_path(err, final);
        return sp_fail(err, SP_E_IO, "cannot rename from %s: %s", tmp, strerror(e));
    }
    return sp_fsync_dir_of(final, err);
}

/* Several processes may write the same file at once (the parts of a build each save the
 * catalog cache): each writes its own temporary, and the last rename wins whole. */
char *sp_tmp_name(const char *path)
{
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    char id[300];
    int n = snprintf(id, sizeof(id), "%s:%ld", host, (long)getpid());
    unsigned tag = (unsigned)(XXH64(id, n > 0 ? (size_t)n : 0, 0) & 0xffffffffu);
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (tmp) snprintf(tmp, len, "%s.%08x.tmp", path, tag);
    return tmp;
}

int sp_test_fault(const char *path)
{
    const char *want = getenv("SHARDPACK_TEST_ENOSPC");
    if (!want || !want[0]) return 0;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    const char *colon = strchr(want, ':');
    size_t n = colon ? (size_t)(colon - want) : strlen(want);
    if (strlen(base) != n || strncmp(base, want, n) != 0) return 0;
    return colon && strcmp(colon + 1, "eio") == 0 ? EIO : ENOSPC;
}

int sp_write_file_atomic(const char *path, const void *data, size_t len, sp_error *err)
{
    char *tmp = sp_tmp_name(path);
    if (!tmp) return sp_fail(err, SP_E_NOMEM, "out of memory");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        sp_error_set_path(err, tmp);
        int rc = sp_fail(err, SP_E_IO, "cannot create: %s", strerror(errno));
        free(tmp);
        return rc;
    }
    const char *p = data;
    size_t left = len;
    int rc = SP_OK, e = 0;
    while (left > 0) {
        ssize_t k = write(fd, p, left);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            rc = SP_E_IO;
            e = errno;
            break;
        }
        p += k;
        left -= (size_t)k;
    }
    const char *what = "write failed";
    if (rc == SP_OK && (e = sp_test_fault(path)) != 0) rc = SP_E_IO;
    if (rc == SP_OK && fsync(fd) != 0) {
        rc = SP_E_IO;
        e = errno;
        what = "cannot sync";
    }
    if (close(fd) != 0 && rc == SP_OK) {
        rc = SP_E_IO;
        e = errno;
        what = "close failed";
    }
    if (rc != SP_OK) {
        /* Nothing half-written stays, under either name. */
        unlink(tmp);
        sp_error_set_path(err, path);
        sp_fail(err, rc, "%s: %s (the file was not written)", what, strerror(e));
    } else {
        rc = sp_commit_file(tmp, path, err);
    }
    free(tmp);
    return rc;
}

int sp_write_file_if_changed(const char *path, const void *data, size_t len, sp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        struct stat st;
        bool same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == len;
        char buf[65536];
        size_t off = 0;
        while (same && off < len) {
            ssize_t k = read(fd, buf, len - off < sizeof(buf) ? len - off : sizeof(buf));
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0 || memcmp(buf, (const char *)data + off, (size_t)k) != 0) same = false;
            else off += (size_t)k;
        }
        close(fd);
        if (same) return SP_OK;
    }
    return sp_write_file_atomic(path, data, len, err);
}

int sp_file_digest(const char *path, uint64_t *bytes, sp_hash128 *hash, sp_buf *blocks,
                   sp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sp_error_set_path(err, path);
        return sp_fail(err, SP_E_IO, "cannot open: %s", strerror(errno));
    }
    XXH3_state_t *st = XXH3_createState();
    uint8_t *buf = malloc(256 * SP_SUM_BLOCK);
    int rc = st && buf ? SP_OK : sp_fail(err, SP_E_NOMEM, "out of memory");
    if (rc == SP_OK) XXH3_128bits_reset(st);
    if (blocks) sp_buf_printf(blocks, "xxh3-64 %d\n", SP_SUM_BLOCK);
    uint64_t total = 0;
    while (rc == SP_OK) {
        /* Fill whole blocks so block boundaries do not depend on read() sizes. */
        size_t got = 0;
        while (got < 256 * SP_SUM_BLOCK) {
            ssize_t k = read(fd, buf + got, 256 * SP_SUM_BLOCK - got);
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) {
                sp_error_set_path(err, path);
                rc = sp_fail(err, SP_E_IO, "read failed: %s", strerror(errno));
            }
            if (k <= 0) break;
            got += (size_t)k;
        }
        if (rc != SP_OK || got == 0) break;
        XXH3_128bits_update(st, buf, got);
        for (size_t off = 0; blocks && off < got; off += SP_SUM_BLOCK) {
            size_t n = got - off < SP_SUM_BLOCK ? got - off : SP_SUM_BLOCK;
            sp_buf_printf(blocks, "%016llx\n", (unsigned long long)XXH3_64bits(buf + off, n));
        }
        total += got;
        if (got < 256 * SP_SUM_BLOCK) break;
    }
    if (rc == SP_OK) {
        XXH128_hash_t h = XXH3_128bits_digest(st);
        *hash = (sp_hash128){h.high64, h.low64};
        *bytes = total;
        if (blocks && blocks->oom) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    free(buf);
    if (st) XXH3_freeState(st);
    close(fd);
    return rc;
}

int sp_map_file(const char *path, sp_mapped *m, sp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        sp_error_set_path(err, path);
        return sp_fail(err, SP_E_IO, "cannot open: %s", strerror(e));
    }
    m->size = (uint64_t)st.st_size;
    m->base = NULL;
    if (m->size) {
        void *p = mmap(NULL, (size_t)m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            sp_error_set_path(err, path);
            return sp_fail(err, SP_E_IO, "cannot map: %s", strerror(e));
        }
        m->base = p;
    }
    close(fd);
    return SP_OK;
}

void sp_unmap(sp_mapped *m)
{
    if (m->base) munmap((void *)m->base, (size_t)m->size);
    memset(m, 0, sizeof(*m));
}
