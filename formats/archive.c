/*
 * archive — a dataset inside an archive, read in place through libarchive, never
 * extracted to disk: tar (plain or gzip/bzip2/xz/zstd/lz4-compressed), zip, 7z, and
 * archives inside archives (ImageNet's train tar of per-class tars).
 *
 *   [train]
 *   type = source
 *   path = /data/ILSVRC2012_img_train.tar
 *
 * Sample paths are member paths; a member that is itself an archive (by content: a tar
 * header, zip, 7z or a compression magic) is opened in turn, its members named under its
 * own name without the archive suffix: n01440764.tar holding n01440764_10026.JPEG gives
 * "n01440764/n01440764_10026.JPEG". The class is the first folder of that path
 * (ROOT/<class>/..., as for folders), or the second under a first folder named train,
 * val or test (the split layout, which sets split_hint). Members with no folder have no
 * class and are reported.
 *
 * Cost, and why: libarchive streams, so reading member i of a tar means reading the ones
 * before it; doing that per sample would be O(n^2). Instead the archive file is mapped
 * and opened from memory once, at enumeration, and every member is located then:
 *  - a stored member (plain tar, zip "stored", a tar inside a plain tar) comes out of
 *    libarchive as pointers into the mapping itself: the member table keeps that pointer
 *    and length, and a read is one memcpy from the page cache. A 140 GB plain tar costs
 *    its headers at scan and each member's bytes once per read, nothing more.
 *  - a compressed member (tar.gz, zip deflate, 7z) is decompressed once, during that same
 *    pass, into memory owned by the source, bounded by [run] max_unpacked_bytes (default
 *    4 GiB); a member over the bound is rejected with a message saying to repack.
 * So a build reads each archive once at enumeration (headers only when stored) and then
 * serves samples from the member table, in any order, from any thread.
 *
 * Untrusted containers: a member path that is absolute or has a ".." component, a
 * symlink, hardlink, device, FIFO or socket is rejected (unsafe_member) and never
 * followed. A member over max_file_bytes is rejected from its declared size, or while it
 * streams if its size is not declared; an archive whose unpacked bytes pass max_ratio
 * times its file size (beyond the first 16 MiB) is stopped there (a zip bomb) -- counting
 * the data of members never taken (hidden, rejected) that a compressed tar or a 7z unpacks
 * to skip them, and what a header read skips -- as is one
 * with more than max_members entries (the source is refused) or archives nested deeper
 * than max_nesting. A damaged stream (truncated .tar.gz, bad zip directory) keeps the
 * members read before the damage and reports the member where it stopped.
 */
#include "input.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RATIO_FLOOR ((uint64_t)16 << 20) /* bytes any archive may unpack to */

typedef struct member {
    const uint8_t *data;
    uint64_t len;
} member;

typedef struct arc_state {
    sp_mapped map;
    member *m;
    size_t n, cap;
    uint8_t **owned;
    size_t nowned, capowned;
    uint64_t unpacked; /* bytes held in owned buffers */
    /* Listed from the list cache (see list_load): the members are unpacked by the first
     * read, once, under the lock; the scan of an unchanged archive then reads nothing. */
    bool lazy, loaded;
    pthread_mutex_t lock;
    int load_rc;
    char load_msg[1024];
    char *path;
    sp_limits lim;
    struct stat cst;
    size_t expect_n;
} arc_state;

static void arc_state_free(void *p)
{
    arc_state *s = p;
    for (size_t i = 0; i < s->nowned; i++) free(s->owned[i]);
    free(s->owned);
    free(s->m);
    sp_unmap(&s->map);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

typedef struct arc_walk {
    const sp_limits *lim;
    sp_catalog *cat;
    size_t cap;
    arc_state *st;
    struct stat cst; /* the archive file's: every sample carries it, for the cache */
    uint64_t members, expanded;
    bool stopped; /* a bomb or a count limit: no more reading, at any level */
    sp_error *err;
} arc_walk;

static int reject(arc_walk *w, const char *path, int code, const char *fmt, ...) SP_PRINTF(4, 5);
static int reject(arc_walk *w, const char *path, int code, const char *fmt, ...)
{
    char detail[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    sp_sample *s = sp_input_add(w->cat, &w->cap, path, -1, &w->cst, code, detail);
    if (!s) return sp_fail(w->err, SP_E_NOMEM, "out of memory");
    s->offset = UINT64_MAX;
    return SP_OK;
}

static bool compression_magic(const uint8_t *p, size_t n)
{
    return (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) || (n >= 3 && memcmp(p, "BZh", 3) == 0) ||
           (n >= 6 && memcmp(p, "\xfd" "7zXZ\0", 6) == 0) ||
           (n >= 4 && memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0) ||
           (n >= 4 && memcmp(p, "\x04\x22\x4d\x18", 4) == 0);
}

static bool archive_magic(const uint8_t *p, size_t n)
{
    return (n >= 262 && memcmp(p + 257, "ustar", 5) == 0) ||
           (n >= 4 && (memcmp(p, "PK\3\4", 4) == 0 || memcmp(p, "PK\5\6", 4) == 0)) ||
           (n >= 6 && memcmp(p, "7z\xbc\xaf\x27\x1c", 6) == 0);
}

static int archive_probe(const sp_input_peek *p)
{
    if (!S_ISREG(p->st.st_mode)) return 0;
    if (archive_magic(p->raw, p->nraw) || archive_magic(p->inner, p->ninner)) return 100;
    /* A tar with no members is only zero blocks. */
    bool zeros = p->nraw == SP_INPUT_PEEK && p->st.st_size >= 1024 && p->st.st_size % 512 == 0;
    for (size_t i = 0; zeros && i < p->nraw; i++) zeros = p->raw[i] == 0;
    return zeros ? 30 : 0;
}

/* The name an inner archive gives its members' folder: its path without the suffix. */
static char *inner_prefix(const char *path)
{
    static const char *const suffixes[] = {".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst",
                                           ".tar.lz4", ".tgz", ".tbz2", ".txz", ".tar",
                                           ".zip", ".7z", ".gz", ".bz2", ".xz", ".zst", NULL};
    size_t n = strlen(path);
    for (const char *const *x = suffixes; *x; x++) {
        size_t k = strlen(*x);
        if (n > k && strcasecmp(path + n - k, *x) == 0) return sp_strndup(path, n - k);
    }
    return sp_strdup(path);
}

static bool hidden(const char *path)
{
    for (const char *p = path; *p;) {
        if (*p == '.' && p[1] != '.' && p[1] != '/' && p[1]) return true;
        if (strncmp(p, "__MACOSX/", 9) == 0) return true;
        const char *slash = strchr(p, '/');
        if (!slash) break;
        p = slash + 1;
    }
    return false;
}

static int keep_owned(arc_state *st, uint8_t *buf)
{
    if (st->nowned == st->capowned) {
        size_t cap = st->capowned ? st->capowned * 2 : 64;
        uint8_t **p = realloc(st->owned, cap * sizeof(*p));
        if (!p) return SP_E_NOMEM;
        st->owned = p;
        st->capowned = cap;
    }
    st->owned[st->nowned++] = buf;
    return SP_OK;
}

static int add_member(arc_walk *w, const char *path, const uint8_t *data, uint64_t len)
{
    arc_state *st = w->st;
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 256;
        member *p = realloc(st->m, cap * sizeof(*p));
        if (!p) return sp_fail(w->err, SP_E_NOMEM, "out of memory");
        st->m = p;
        st->cap = cap;
    }
    sp_sample *s = sp_input_add(w->cat, &w->cap, path, -1, &w->cst, SP_OK, NULL);
    if (!s) return sp_fail(w->err, SP_E_NOMEM, "out of memory");
    s->size = len;
    s->offset = st->n;
    st->m[st->n++] = (member){data, len};
    return SP_OK;
}

/* What reading one member's data gave. */
typedef struct body {
    const uint8_t *data; /* in place (inside the level's buffer) or == owned */
    uint8_t *owned;
    uint64_t len;
    bool is_archive;
} body;

enum { READ_OK, READ_REJECTED, READ_STOP_LEVEL };

/* Whether the unpacked bytes counted so far pass max_ratio times the archive's size
 * (beyond the first RATIO_FLOOR bytes). */
static bool over_ratio(const arc_walk *w)
{
    uint64_t fsize = (uint64_t)w->cst.st_size ? (uint64_t)w->cst.st_size : 1;
    return w->lim->max_ratio && w->expanded > RATIO_FLOOR &&
           w->expanded / w->lim->max_ratio > fsize;
}

static int reject_ratio(arc_walk *w, const char *path)
{
    w->stopped = true;
    return reject(w, path, SP_E_MAX_RATIO, "the archive unpacks to over %u times its %llu bytes "
                  "(max_ratio): stopped while streaming, a zip bomb?", w->lim->max_ratio,
                  (unsigned long long)((uint64_t)w->cst.st_size ? (uint64_t)w->cst.st_size : 1));
}

/* Whether moving past data in this level decompresses it: a compressed tar (the filter
 * unpacks every byte it skips) or a 7z (a solid block is unpacked up to the member). A zip
 * skips a member's compressed bytes unread; a plain tar's are in the mapping. */
static bool skip_unpacks(struct archive *a)
{
    return archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE ||
           (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_7ZIP;
}

/* Reads what is left of the current member's data, unkept, where libarchive's skip to the
 * next header would unpack it anyway (skip_unpacks), counting it against max_ratio: data
 * never taken (hidden, links, unsafe paths, members rejected on size) must not unpack
 * without bound. A read error ends the draining quietly: the next header reports it. */
static int drain(arc_walk *w, struct archive *a, const char *path, bool reported, bool *stop)
{
    if (!skip_unpacks(a)) return SP_OK;
    for (;;) {
        const void *blk;
        size_t bn;
        la_int64_t off;
        int r = archive_read_data_block(a, &blk, &bn, &off);
        if (r == ARCHIVE_EOF || r < ARCHIVE_WARN) return SP_OK;
        w->expanded += bn;
        if (over_ratio(w)) {
            *stop = true;
            if (!reported) return reject_ratio(w, path);
            /* The member has its own reason already: the stop is a sample of its own. */
            char at[1100];
            snprintf(at, sizeof(at), "%.1000s (skipped data)", path);
            return reject_ratio(w, at);
        }
    }
}

/* Reads the current member's data: in place while libarchive hands out pointers into the
 * level's buffer, else into a copy. Limits are checked on every block. */
static int read_body(arc_walk *w, struct archive *a, struct archive_entry *e,
                     const uint8_t *buf, size_t buflen, const char *path, body *b, int *rc)
{
    const sp_limits *lim = w->lim;
    memset(b, 0, sizeof(*b));
    *rc = SP_OK;
    uint64_t declared = archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0;
    size_t cap = 0;
    bool inplace = true;
    for (;;) {
        const void *blk;
        size_t bn;
        la_int64_t off;
        int r = archive_read_data_block(a, &blk, &bn, &off);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            *rc = reject(w, path, SP_E_CORRUPT, "cannot unpack: %s", archive_error_string(a));
            free(b->owned);
            b->owned = NULL;
            return r == ARCHIVE_FATAL ? READ_STOP_LEVEL : READ_REJECTED;
        }
        const uint8_t *p = blk;
        if (off < 0 || (uint64_t)off != b->len) {
            *rc = reject(w, path, SP_E_CORRUPT, "sparse member (a hole at byte %llu)",
                         (unsigned long long)b->len);
            free(b->owned);
            b->owned = NULL;
            return READ_REJECTED;
        }
        /* libarchive ends a stored zip member with an empty block (NULL, length 0): it
         * adds nothing, and must not turn the member into unpacked bytes (copied to the
         * heap and counted against max_unpacked_bytes) when it was read in place. */
        if (bn == 0) continue;
        if (b->len == 0) {
            b->is_archive = archive_magic(p, bn) || compression_magic(p, bn);
            if (!b->is_archive && declared > lim->max_file_bytes) {
                *rc = reject(w, path, SP_E_MAX_FILE_BYTES, "member of %llu bytes is over "
                             "max_file_bytes (%llu)", (unsigned long long)declared,
                             (unsigned long long)lim->max_file_bytes);
                return READ_REJECTED;
            }
        }
        if (bn > UINT64_MAX - b->len) bn = 0; /* cannot happen: sizes are 63 bits */
        uint64_t end = b->len + bn;
        if (!b->is_archive && end > lim->max_file_bytes) {
            *rc = reject(w, path, SP_E_MAX_FILE_BYTES, "member unpacks to over max_file_bytes "
                         "(%llu); stopped while streaming",
                         (unsigned long long)lim->max_file_bytes);
            free(b->owned);
            b->owned = NULL;
            return READ_REJECTED;
        }
        bool here = inplace && (uintptr_t)p >= (uintptr_t)buf &&
                    (uintptr_t)p + bn <= (uintptr_t)buf + buflen &&
                    (b->len == 0 || p == b->data + b->len);
        if (!here) {
            /* Unpacked bytes: counted against the ratio and the memory bound. */
            w->expanded += bn;
            if (over_ratio(w)) {
                *rc = reject_ratio(w, path);
                free(b->owned);
                b->owned = NULL;
                return READ_STOP_LEVEL;
            }
            if (lim->max_unpacked_bytes && w->st->unpacked + end > lim->max_unpacked_bytes) {
                *rc = reject(w, path, SP_E_MAX_UNPACKED_BYTES, "unpacking it would hold over "
                             "max_unpacked_bytes (%llu) of this archive in memory: repack as a "
                             "plain tar (read in place) or raise the limit",
                             (unsigned long long)lim->max_unpacked_bytes);
                free(b->owned);
                b->owned = NULL;
                return READ_REJECTED;
            }
            if (end > cap) {
                uint64_t ncap = cap ? (uint64_t)cap : 65536;
                while (ncap < end) ncap *= 2;
                if (declared >= end && declared < ncap) ncap = declared;
                if (ncap > SIZE_MAX) {
                    *rc = sp_fail(w->err, SP_E_NOMEM, "out of memory");
                    free(b->owned);
                    b->owned = NULL;
                    return READ_STOP_LEVEL;
                }
                uint8_t *q = realloc(b->owned, (size_t)ncap);
                if (!q) {
                    *rc = sp_fail(w->err, SP_E_NOMEM, "out of memory for %llu bytes of %s",
                                  (unsigned long long)ncap, path);
                    free(b->owned);
                    b->owned = NULL;
                    return READ_STOP_LEVEL;
                }
                if (inplace && b->len) memcpy(q, b->data, (size_t)b->len);
                b->owned = q;
                cap = (size_t)ncap;
            }
            inplace = false;
            memcpy(b->owned + b->len, p, bn);
            b->data = b->owned;
        } else if (b->len == 0) {
            b->data = p;
        }
        b->len = end;
    }
    if (b->owned) {
        /* Held for the run: give back the doubling's slack. */
        uint8_t *fit = b->len ? realloc(b->owned, (size_t)b->len) : NULL;
        if (fit) b->owned = fit;
        b->data = b->owned;
        w->st->unpacked += b->len;
    }
    return READ_OK;
}

static int walk_level(arc_walk *w, const uint8_t *buf, size_t len, const char *prefix,
                      unsigned depth, const char *where);

/* One entry: checked, then read, then a sample or an archive to open. */
static int take_entry(arc_walk *w, struct archive *a, struct archive_entry *e,
                      const uint8_t *buf, size_t len, const char *prefix, unsigned depth,
                      bool *stop)
{
    const char *raw = archive_entry_pathname(e);
    if (!raw) raw = archive_entry_pathname_utf8(e);
    const char *name = raw ? raw : "";
    while (name[0] == '.' && name[1] == '/') name += 2;
    char *path = prefix ? sp_path_join(prefix, name) : sp_strdup(name);
    if (!path) return sp_fail(w->err, SP_E_NOMEM, "out of memory");
    int rc = SP_OK;
    mode_t type = archive_entry_filetype(e);
    size_t n = strlen(name);
    bool read = false;
    size_t before = w->cat->nsamples;
    if (type == AE_IFDIR) {
        /* folders only name paths, and are never followed */
    } else if (!raw) {
        rc = reject(w, path[0] ? path : "(unnamed)", SP_E_UNSAFE,
                    "member name cannot be decoded");
    } else if (!sp_input_path_safe(name)) {
        rc = reject(w, path[0] ? path : "(empty name)", SP_E_UNSAFE,
                    "member path %s escapes the archive (absolute or with ..): not read", raw);
    } else if (n && name[n - 1] == '/') {
        /* folders only name paths */
    } else if (hidden(name)) {
        /* .DS_Store, ._x, __MACOSX/: ignored as hidden files in folders are */
    } else if (archive_entry_hardlink(e)) {
        rc = reject(w, path, SP_E_UNSAFE, "hardlink to %s: links are not followed",
                    archive_entry_hardlink(e));
    } else if (type == AE_IFLNK) {
        const char *t = archive_entry_symlink(e);
        rc = reject(w, path, SP_E_UNSAFE, "symlink to %s: links are not followed", t ? t : "?");
    } else if (type != AE_IFREG) {
        rc = reject(w, path, SP_E_UNSAFE, "%s, not a regular file",
                    type == AE_IFCHR || type == AE_IFBLK ? "a device"
                    : type == AE_IFIFO                  ? "a FIFO"
                    : type == AE_IFSOCK                 ? "a socket"
                                                        : "an unknown entry type");
    } else {
        read = true;
        body b;
        int how = read_body(w, a, e, buf, len, path, &b, &rc);
        if (how == READ_STOP_LEVEL) *stop = true;
        if (how == READ_REJECTED && rc == SP_OK) rc = drain(w, a, path, true, stop);
        if (how == READ_OK && b.owned && keep_owned(w->st, b.owned) != SP_OK) {
            free(b.owned);
            how = READ_REJECTED;
            rc = sp_fail(w->err, SP_E_NOMEM, "out of memory");
        }
        if (how == READ_OK && rc == SP_OK) {
            if (!b.is_archive) {
                rc = add_member(w, path, b.data, b.len);
            } else if (depth + 1 > w->lim->max_nesting) {
                rc = reject(w, path, SP_E_MAX_NESTING, "an archive nested %u deep, deeper than "
                            "max_nesting (%u): not opened", depth + 1, w->lim->max_nesting);
            } else {
                char *inner = inner_prefix(path);
                rc = inner ? walk_level(w, b.data, (size_t)b.len, inner, depth + 1, path)
                           : sp_fail(w->err, SP_E_NOMEM, "out of memory");
                free(inner);
            }
        }
    }
    /* A member not read: its data, skipped, must still count (see drain). */
    if (!read && rc == SP_OK && !w->stopped)
        rc = drain(w, a, path[0] ? path : "(unnamed)", w->cat->nsamples != before, stop);
    free(path);
    if (rc == SP_OK && w->stopped) *stop = true;
    return rc;
}

/* Lists one archive held in buf (the mapped file, or an inner archive's bytes). Returns
 * SP_OK, a run failure (out of memory), or for the top level a reason to refuse it. */
static int walk_level(arc_walk *w, const uint8_t *buf, size_t len, const char *prefix,
                      unsigned depth, const char *where)
{
    struct archive *a = archive_read_new();
    if (!a) return sp_fail(w->err, SP_E_NOMEM, "out of memory");
    /* Only these formats: libarchive's "all" includes mtree, whose entries name files on
     * disk, which a dataset archive must never reach. */
    sp_archive_filters(a);
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_format_zip(a);
    archive_read_support_format_7zip(a);
    archive_read_support_format_empty(a);
    int rc = SP_OK;
    uint64_t count = 0;
    if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK) {
        if (depth == 0)
            rc = sp_fail(w->err, SP_E_CORRUPT, "cannot open the archive: %s",
                         archive_error_string(a));
        else
            rc = reject(w, where, SP_E_CORRUPT, "cannot open the nested archive: %s",
                        archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    bool stop = false;
    /* The unpacked stream's position already counted: what a header read moves past beyond
     * it (padding, long-name and pax records, anything the reader skips) counts too. */
    uint64_t seen = 0;
    while (rc == SP_OK && !stop) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r >= ARCHIVE_WARN && archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE) {
            la_int64_t pos = archive_filter_bytes(a, 0);
            if (pos > 0 && (uint64_t)pos > seen) {
                w->expanded += (uint64_t)pos - seen;
                seen = (uint64_t)pos;
            }
            if (over_ratio(w)) {
                const char *raw = r == ARCHIVE_EOF ? "(after the last member)"
                                                   : archive_entry_pathname(e);
                if (!raw) raw = "(unnamed)";
                char *p = prefix ? sp_path_join(prefix, raw) : sp_strdup(raw);
                rc = p ? reject_ratio(w, p) : sp_fail(w->err, SP_E_NOMEM, "out of memory");
                free(p);
                break;
            }
        }
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            if (depth == 0 && count == 0)
                rc = sp_fail(w->err, SP_E_CORRUPT, "cannot read the archive: %s",
                             archive_error_string(a));
            else {
                char at[64];
                snprintf(at, sizeof(at), "(after member %llu)", (unsigned long long)count);
                char *p = sp_path_join(prefix ? prefix : ".", at);
                rc = p ? reject(w, p + (prefix ? 0 : 2), SP_E_CORRUPT,
                                "archive %s is damaged after %llu members: %s", where,
                                (unsigned long long)count, archive_error_string(a))
                       : sp_fail(w->err, SP_E_NOMEM, "out of memory");
                free(p);
            }
            break;
        }
        count++;
        if (w->lim->max_members && ++w->members > w->lim->max_members) {
            rc = sp_fail(w->err, SP_E_MAX_MEMBERS, "%s has more than max_members (%llu) entries; "
                         "raise [run] max_members to read it", where,
                         (unsigned long long)w->lim->max_members);
            break;
        }
        rc = take_entry(w, a, e, buf, len, prefix, depth, &stop);
        if (archive_filter_code(a, 0) != ARCHIVE_FILTER_NONE) {
            la_int64_t pos = archive_filter_bytes(a, 0);
            if (pos > 0 && (uint64_t)pos > seen) seen = (uint64_t)pos; /* counted as read */
        }
    }
    /* libarchive reads a zip from its central directory, and takes one it cannot parse
     * for an empty archive: with local entries present that is damage, not emptiness. */
    if (rc == SP_OK && count == 0 && len >= 4 && memcmp(buf, "PK\3\4", 4) == 0) {
        if (depth == 0)
            rc = sp_fail(w->err, SP_E_CORRUPT, "cannot read the archive: its zip central "
                         "directory lists no member though the file holds entries (damaged?)");
        else
            rc = reject(w, where, SP_E_CORRUPT, "nested zip's central directory lists no "
                        "member though the file holds entries (damaged?)");
    }
    archive_read_free(a);
    return rc;
}

static int cmp_sample(const void *x, const void *y)
{
    const sp_sample *a = x, *b = y;
    int c = strcmp(a->path, b->path);
    return c ? c : a->offset < b->offset ? -1 : a->offset > b->offset;
}

static int cmp_path_key(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const sp_sample *)elem)->path);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The length of the first component of path, or 0 if it has none (a top-level name). */
static size_t first_dir(const char *path)
{
    const char *slash = strchr(path, '/');
    return slash ? (size_t)(slash - path) : 0;
}

/* Classes from the member paths (see the comment at the top). */
static int assign_labels(sp_catalog *cat, sp_error *err)
{
    bool splits = false, any = false;
    for (size_t i = 0; i < cat->nsamples; i++) {
        const sp_sample *s = &cat->samples[i];
        if (s->status != SP_OK) continue;
        size_t k = first_dir(s->path);
        bool sp = k && sp_input_split_of(s->path, k) != SP_SPLIT_NONE && first_dir(s->path + k + 1);
        if (!any) splits = sp;
        else if (splits && !sp) splits = false;
        any = true;
    }
    /* Class names: the component after the split, or the first. */
    char **names = calloc(cat->nsamples ? cat->nsamples : 1, sizeof(char *));
    if (!names) return sp_fail(err, SP_E_NOMEM, "out of memory");
    size_t nn = 0;
    int rc = SP_OK;
    for (size_t i = 0; rc == SP_OK && i < cat->nsamples; i++) {
        sp_sample *s = &cat->samples[i];
        if (s->status != SP_OK) continue;
        const char *p = s->path;
        if (splits) {
            size_t k = first_dir(p);
            s->split_hint = sp_input_split_of(p, k);
            p += k + 1;
        }
        size_t k = first_dir(p);
        if (!k) continue;
        if (!(names[nn++] = sp_strndup(p, k))) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    if (rc == SP_OK && nn > 1) qsort(names, nn, sizeof(char *), cmp_name);
    for (size_t i = 0; rc == SP_OK && i < nn; i++) {
        if (cat->nclasses && strcmp(cat->classes[cat->nclasses - 1], names[i]) == 0) {
            free(names[i]);
            names[i] = NULL;
            continue;
        }
        char **v = realloc(cat->classes, (cat->nclasses + 1) * sizeof(*v));
        if (!v) {
            rc = sp_fail(err, SP_E_NOMEM, "out of memory");
            break;
        }
        cat->classes = v;
        cat->classes[cat->nclasses++] = names[i];
        names[i] = NULL;
    }
    for (size_t i = 0; i < nn; i++) free(names[i]);
    free(names);
    for (size_t i = 0; rc == SP_OK && i < cat->nsamples; i++) {
        sp_sample *s = &cat->samples[i];
        if (s->status != SP_OK) continue;
        const char *p = s->path;
        if (splits) p += first_dir(p) + 1;
        size_t k = first_dir(p);
        if (!k) {
            s->status = SP_E_NOLABEL;
            s->detail = sp_strdup(splits ? "member is not inside ROOT/<split>/<class>/"
                                         : "member is not inside a class folder");
            continue;
        }
        char *name = sp_strndup(p, k);
        char **hit = name ? bsearch(&name, cat->classes, cat->nclasses, sizeof(char *), cmp_name)
                          : NULL;
        free(name);
        if (!hit) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
        else s->label = (int32_t)(hit - cat->classes);
    }
    return rc;
}

static int list_archive(arc_walk *w, const char *path, sp_error *err);

static bool same_stat(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_ino == b->st_ino &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Unpacks a lazily listed archive's members: the same walk as enumeration, so the member
 * table comes out in the same order the cached samples' offsets index. */
static int load_members(arc_state *st, sp_error *err)
{
    pthread_mutex_lock(&st->lock);
    if (!st->loaded) {
        sp_catalog tmp;
        memset(&tmp, 0, sizeof(tmp));
        sp_error e;
        sp_error_clear(&e);
        arc_walk w = {.lim = &st->lim, .cat = &tmp, .st = st, .err = &e};
        int rc = list_archive(&w, st->path, &e);
        if (rc == SP_OK && (!same_stat(&w.cst, &st->cst) || st->n != st->expect_n))
            rc = sp_fail(&e, SP_E_CHANGED, "the archive changed since it was listed");
        sp_catalog_free(&tmp);
        st->load_rc = rc;
        snprintf(st->load_msg, sizeof(st->load_msg), "%s", e.msg);
        st->loaded = true;
    }
    int rc = st->load_rc;
    if (rc != SP_OK) sp_fail(err, rc, "%s", st->load_msg);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int arc_read(const sp_catalog *cat, const sp_sample *s, const sp_limits *lim,
                    uint8_t **data, size_t *len, sp_error *err)
{
    const arc_state *st = cat->state;
    if (st && st->lazy) {
        int rc = load_members(cat->state, err);
        if (rc != SP_OK) return rc;
    }
    if (!st || s->offset >= st->n)
        return sp_fail(err, SP_E_INTERNAL, "sample %s is not in the archive's member table",
                       s->path);
    const member *m = &st->m[s->offset];
    if (m->len > lim->max_file_bytes)
        return sp_fail(err, SP_E_MAX_FILE_BYTES, "member of %llu bytes is over max_file_bytes "
                       "(%llu)", (unsigned long long)m->len,
                       (unsigned long long)lim->max_file_bytes);
    uint8_t *p = malloc(m->len ? (size_t)m->len : 1);
    if (!p) return sp_fail(err, SP_E_NOMEM, "out of memory");
    if (m->len) memcpy(p, m->data, (size_t)m->len);
    *data = p;
    *len = (size_t)m->len;
    return SP_OK;
}

/* The reader the catalog uses once an archive is listed: samples come from the table. */
static const sp_stage_desc archive_reader = {
    .name = "source",
    .help = "archive members",
    .kind = SP_STAGE_SOURCE,
    .read = arc_read,
};

/* Stats, maps and walks the archive at path into w (its catalog and member table). */
static int list_archive(arc_walk *w, const char *path, sp_error *err)
{
    arc_state *st = w->st;
    int rc = SP_OK;
    /* stat before mapping: if the file changes meanwhile, the cache sees a newer stat. */
    if (stat(path, &w->cst) != 0)
        rc = sp_fail(err, SP_E_IO, "cannot open: %s", strerror(errno));
    else if (!S_ISREG(w->cst.st_mode))
        rc = sp_fail(err, SP_E_IO, "not a regular file");
    if (rc == SP_OK) rc = sp_map_file(path, &st->map, err);
    if (rc == SP_OK && st->map.size > SIZE_MAX) rc = sp_fail(err, SP_E_LIMIT, "archive too large");
    const char *slash = strrchr(path, '/');
    if (rc == SP_OK && st->map.size) /* an empty file is an empty archive */
        rc = walk_level(w, st->map.base, (size_t)st->map.size, NULL, 0, slash ? slash + 1 : path);
    if (rc != SP_OK && !err->path[0]) sp_error_set_path(err, path);
    return rc;
}

/* ---- the list cache -------------------------------------------------------------------
 * Listing a compressed archive means decompressing all of it, which would make the scan of
 * an unchanged .tar.gz read every image although the catalog cache knows them. So after
 * listing an archive that had compressed members, the listing itself (every sample's
 * status, member index, size, path and detail, before labelling) is saved beside the
 * catalog cache, keyed by the archive's stat and the limits that shaped it. Next time
 * the samples come from that file and the members are unpacked by the first read only:
 * a scan answered by the catalog cache never decompresses. */

static char *list_key(const char *path, const struct stat *st, const sp_limits *lim)
{
    sp_buf b = {0};
    /* Version 2: each [run] limit has its own status code (version 1 stored -7 for all). */
    sp_buf_puts(&b, "shardpack-archive-list\t2\t");
    sp_tsv_field(&b, path);
    sp_buf_printf(&b, "\t%lld\t%lld.%09ld\t%lld.%09ld\t%llu\t%llu\t%llu\t%u\t%u\t%llu\t",
                  (long long)st->st_size, (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
                  (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec,
                  (unsigned long long)st->st_ino, (unsigned long long)lim->max_file_bytes,
                  (unsigned long long)lim->max_members, lim->max_nesting, lim->max_ratio,
                  (unsigned long long)lim->max_unpacked_bytes);
    return b.oom ? (sp_buf_free(&b), NULL) : b.data;
}

static char *list_path(const sp_stage_env *env)
{
    sp_buf b = {0};
    sp_buf_printf(&b, "%s/.shardpack/archive-%s.tsv", env->run->outdir, env->stage->name);
    return b.oom ? (sp_buf_free(&b), NULL) : b.data;
}

static void list_save(const sp_stage_env *env, const sp_catalog *cat, const arc_state *st,
                      const char *key)
{
    char *path = list_path(env);
    sp_buf b = {0};
    sp_buf_printf(&b, "%s%zu\n", key, st->n);
    for (size_t i = 0; i < cat->nsamples; i++) {
        const sp_sample *s = &cat->samples[i];
        sp_buf_printf(&b, "%d\t%llu\t%llu\t", s->status, (unsigned long long)s->offset,
                      (unsigned long long)s->size);
        sp_tsv_field(&b, s->path);
        sp_buf_puts(&b, "\t");
        sp_tsv_field(&b, s->detail ? s->detail : "");
        sp_buf_puts(&b, "\n");
    }
    char *dir = path ? sp_path_dir(path) : NULL;
    sp_error e;
    sp_error_clear(&e);
    /* Only a cache: failing to write it costs a decompression next time. */
    if (dir && !b.oom && sp_mkdirs(dir, &e) == SP_OK)
        sp_write_file_atomic(path, b.data, b.len, &e);
    free(dir);
    free(path);
    sp_buf_free(&b);
}

/* The samples from the list cache, if it matches; *hit says whether it did. A damaged
 * file is ignored. */
static int list_load(const sp_stage_env *env, arc_walk *w, const char *key, bool *hit,
                     sp_error *err)
{
    *hit = false;
    char *path = list_path(env);
    uint8_t *data = NULL;
    size_t len = 0;
    sp_error e;
    if (!path) return sp_fail(err, SP_E_NOMEM, "out of memory");
    int rc = sp_read_file(path, (uint64_t)4 << 30, &data, &len, &e);
    free(path);
    if (rc != SP_OK) return SP_OK;
    char *text = sp_strndup((const char *)data, len);
    free(data);
    size_t klen = strlen(key);
    if (!text || strncmp(text, key, klen) != 0) {
        free(text);
        return SP_OK;
    }
    char *p = text + klen, *end;
    unsigned long long n = strtoull(p, &end, 10);
    bool ok = end != p && *end == '\n';
    p = end + 1;
    while (ok && *p) {
        char *nl = strchr(p, '\n');
        if (!nl) {
            ok = false;
            break;
        }
        *nl = '\0';
        char *f[5];
        size_t k = 0;
        f[k++] = p;
        for (char *c = p; *c && k < 5; c++)
            if (*c == '\t') {
                *c = '\0';
                f[k++] = c + 1;
            }
        if (k != 5) {
            ok = false;
            break;
        }
        int status = (int)strtol(f[0], NULL, 10);
        unsigned long long off = strtoull(f[1], NULL, 10), size = strtoull(f[2], NULL, 10);
        char *sp = sp_tsv_unescape(f[3], strlen(f[3]));
        char *detail = f[4][0] ? sp_tsv_unescape(f[4], strlen(f[4])) : NULL;
        ok = sp && (status == SP_OK ? off < n : sp_severity_of(status) == SP_SEV_SAMPLE);
        sp_sample *s = ok ? sp_input_add(w->cat, &w->cap, sp, -1, &w->cst, status, detail) : NULL;
        if (ok && !s) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
        if (s) {
            s->offset = off;
            s->size = size;
        }
        free(sp);
        free(detail);
        if (rc != SP_OK) break;
        p = nl + 1;
    }
    free(text);
    if (rc != SP_OK) return rc;
    if (!ok) { /* start over from the archive */
        for (size_t i = 0; i < w->cat->nsamples; i++) {
            free(w->cat->samples[i].path);
            free(w->cat->samples[i].detail);
        }
        w->cat->nsamples = 0;
        return SP_OK;
    }
    w->st->expect_n = (size_t)n;
    *hit = true;
    return SP_OK;
}

static int archive_enumerate(const sp_stage_env *env, const sp_input_opts *o, sp_catalog *cat,
                             sp_error *err)
{
    arc_walk w = {.lim = &env->run->pipe->limits, .cat = cat, .err = err};
    if (!(cat->root = sp_strdup(o->path))) return sp_fail(err, SP_E_NOMEM, "out of memory");
    cat->members = true;
    arc_state *st = calloc(1, sizeof(*st));
    if (!st) return sp_fail(err, SP_E_NOMEM, "out of memory");
    pthread_mutex_init(&st->lock, NULL);
    cat->state = st;
    cat->state_free = arc_state_free;
    cat->desc = &archive_reader;
    w.st = st;
    bool manifest = o->manifest && o->manifest[0];
    char *key = NULL;
    bool hit = false;
    int rc = SP_OK;
    /* The list cache, when labels come from paths (a manifest could change meanwhile). */
    if (!manifest && stat(o->path, &w.cst) == 0 && S_ISREG(w.cst.st_mode)) {
        key = list_key(o->path, &w.cst, w.lim);
        if (!key) return sp_fail(err, SP_E_NOMEM, "out of memory");
        rc = list_load(env, &w, key, &hit, err);
    }
    if (rc == SP_OK && hit) {
        st->lazy = true;
        st->lim = *w.lim;
        st->cst = w.cst;
        if (!(st->path = sp_strdup(o->path))) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
        free(key);
        sp_log(env->run->ctx, SP_LOG_DEBUG, "[%s] %s: listed from the list cache; members "
               "unpacked at the first read", env->stage->name, o->path);
        return rc == SP_OK ? assign_labels(cat, err) : rc;
    }
    if (rc == SP_OK) rc = list_archive(&w, o->path, err);
    if (rc != SP_OK) {
        free(key);
        return rc;
    }
    /* The same path twice (tar allows appending a newer copy): the first is kept. */
    if (cat->nsamples > 1) qsort(cat->samples, cat->nsamples, sizeof(*cat->samples), cmp_sample);
    /* The later copies are renamed "PATH (copy N)": a sample path is the catalog cache's
     * key, so two samples may not share one. N counts up from 2, past any name a member
     * already has (a member may be called "a.png (copy 2)"): the names are chosen against
     * the sorted list first, then applied. Two runs cannot pick one name: " (copy N)" ends
     * it, so the name gives back its run's path. */
    char **renamed = cat->nsamples > 1 ? calloc(cat->nsamples, sizeof(char *)) : NULL;
    if (cat->nsamples > 1 && !renamed) {
        free(key);
        return sp_fail(err, SP_E_NOMEM, "out of memory");
    }
    size_t run = 0, next = 2;
    for (size_t i = 1; rc == SP_OK && i < cat->nsamples; i++) {
        sp_sample *s = &cat->samples[i];
        run = strcmp(s->path, cat->samples[i - 1 - run].path) == 0 ? run + 1 : 0;
        if (!run) {
            next = 2;
            continue;
        }
        size_t n = strlen(s->path) + 32;
        char *name = malloc(n);
        if (!name) {
            rc = sp_fail(err, SP_E_NOMEM, "out of memory");
            break;
        }
        do
            snprintf(name, n, "%s (copy %zu)", s->path, next++);
        while (bsearch(name, cat->samples, cat->nsamples, sizeof(*cat->samples), cmp_path_key));
        renamed[i] = name;
    }
    for (size_t i = 0; renamed && i < cat->nsamples; i++) {
        if (!renamed[i]) continue;
        sp_sample *s = &cat->samples[i];
        free(s->path);
        s->path = renamed[i];
        if (s->status == SP_OK) {
            s->status = SP_E_CORRUPT;
            s->detail = sp_strdup("member name appears twice in the archive; the first is read");
        }
    }
    free(renamed);
    if (rc != SP_OK) {
        free(key);
        return rc;
    }
    /* Stored members cost nothing to list again: the list cache is for compressed ones. */
    if (key && st->unpacked) {
        struct stat now;
        if (stat(o->path, &now) == 0 && same_stat(&now, &w.cst)) list_save(env, cat, st, key);
    }
    free(key);
    rc = manifest ? sp_csv_label_members(env, o, cat, &w.cap, err) : assign_labels(cat, err);
    if (st->unpacked)
        sp_log(env->run->ctx, SP_LOG_DEBUG, "[%s] %s: %llu bytes unpacked into memory, %zu members",
               env->stage->name, o->path, (unsigned long long)st->unpacked, st->n);
    return rc;
}

const sp_input sp_input_archive = {
    .id = SP_INPUT_ARCHIVE,
    .name = "archive",
    .help = "tar (plain, gz, bz2, xz, zst), zip or 7z, nested archives too, read in place",
    .probe = archive_probe,
    .enumerate = archive_enumerate,
};
