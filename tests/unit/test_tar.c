/*
 * Unit tests for the USTAR writer (formats/tar.c).
 *
 * Why: shards are read by GNU tar, bsdtar, Python's tarfile, WebDataset and DALI, which
 * agree only on plain USTAR. A wrong byte in a header (checksum, octal width, the
 * prefix/name split) makes some reader reject or misname members, and a non-fixed field
 * makes shards irreproducible. The header is checked byte by byte against POSIX, then a
 * real archive is written, walked block by block, and listed and extracted by GNU tar.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* ---- helpers ------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Tests that write files get a fresh folder from mkdtemp as their state; it is removed in
 * teardown, so also when an assertion fails half-way. */
static int make_tmpdir(void **state)
{
    char tmpl[] = "/tmp/sp-unit-tar-XXXXXX";
    char *d = mkdtemp(tmpl);
    if (!d) return -1;
    *state = sp_strdup(d);
    return *state ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    char *dir = *state;
    int rc = nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
    return rc;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    sp_error err;
    sp_error_clear(&err);
    if (sp_read_file(path, 1u << 30, &data, len, &err) != SP_OK) fail_msg("read %s: %s", path, err.msg);
    return data;
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* A field must hold exactly `want` (len bytes, NULs included). */
static void assert_field(const uint8_t *h, size_t off, const char *want, size_t len,
                         const char *what)
{
    if (memcmp(h + off, want, len) != 0) {
        char got[64] = {0};
        for (size_t i = 0; i < len && i < 20; i++)
            snprintf(got + strlen(got), sizeof(got) - strlen(got), h[off + i] >= 32 && h[off + i] < 127 ? "%c" : "\\%o", h[off + i]);
        fail_msg("%s field is '%s'", what, got);
    }
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* POSIX: the checksum is the sum of the header's bytes as unsigned, with the checksum
 * field taken as eight spaces. */
static unsigned posix_checksum(const uint8_t h[512])
{
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum;
}

/* An octal field as a number, or -1 if it is not 0-padded octal digits ended by NUL. */
static long long octal_field(const uint8_t *f, size_t width)
{
    long long v = 0;
    for (size_t i = 0; i + 1 < width; i++) {
        if (f[i] < '0' || f[i] > '7') return -1;
        v = v * 8 + (f[i] - '0');
    }
    return f[width - 1] == '\0' ? v : -1;
}

/* The member name a reader reconstructs: prefix + "/" + name, or just name. */
static void member_name(const uint8_t h[512], char out[257])
{
    char name[101] = {0}, prefix[156] = {0};
    memcpy(name, h, 100);
    memcpy(prefix, h + 345, 155);
    if (prefix[0])
        snprintf(out, 257, "%s/%s", prefix, name);
    else
        snprintf(out, 257, "%s", name);
}

/* ---- the header --------------------------------------------------------------------- */

static void test_header_layout(void **state)
{
    (void)state;
    uint8_t h[512];
    memset(h, 0xee, sizeof(h)); /* every byte must be written */
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_tar_header("000001.jpg", 1234, h, &err), SP_OK);

    /* name: the bytes, NUL-padded to 100 */
    assert_field(h, 0, "000001.jpg", 10, "name");
    assert_true(all_zero(h + 10, 90));
    assert_field(h, 100, "0000444\0", 8, "mode");
    assert_field(h, 108, "0000000\0", 8, "uid");
    assert_field(h, 116, "0000000\0", 8, "gid");
    /* size: 11 octal digits and a NUL; 1234 = 02322 */
    assert_field(h, 124, "00000002322\0", 12, "size");
    /* mtime: 2000-01-01T00:00:00Z = 946684800 = 07033241600 */
    assert_field(h, 136, "07033241600\0", 12, "mtime");
    assert_int_equal(octal_field(h + 136, 12), SP_TAR_MTIME);
    assert_int_equal(h[156], '0'); /* regular file */
    assert_true(all_zero(h + 157, 100)); /* linkname */
    assert_field(h, 257, "ustar\0", 6, "magic");
    assert_field(h, 263, "00", 2, "version");
    assert_true(all_zero(h + 265, 32)); /* uname: none, for reproducibility */
    assert_true(all_zero(h + 297, 32)); /* gname */
    assert_int_equal(octal_field(h + 329, 8), 0); /* devmajor */
    assert_int_equal(octal_field(h + 337, 8), 0); /* devminor */
    assert_true(all_zero(h + 345, 155));          /* prefix: unused */
    assert_true(all_zero(h + 500, 12));           /* padding */

    /* checksum: six octal digits, NUL, space */
    char want[9];
    snprintf(want, sizeof(want), "%06o", posix_checksum(h));
    want[7] = ' ';
    assert_field(h, 148, want, 8, "chksum");
    assert_int_equal(h[154], '\0');
    assert_int_equal(h[155], ' ');

    /* The same input gives the same bytes (no time, no user). */
    uint8_t h2[512];
    assert_int_equal(sp_tar_header("000001.jpg", 1234, h2, &err), SP_OK);
    assert_memory_equal(h, h2, 512);
}

static void test_header_sizes(void **state)
{
    (void)state;
    uint8_t h[512];
    sp_error err;
    sp_error_clear(&err);
    static const uint64_t sizes[] = {0, 1, 511, 512, 513, 077777777777ULL};
    for (size_t i = 0; i < SP_ARRAY_LEN(sizes); i++) {
        assert_int_equal(sp_tar_header("x", sizes[i], h, &err), SP_OK);
        assert_true(octal_field(h + 124, 12) == (long long)sizes[i]);
        char want[9];
        snprintf(want, sizeof(want), "%06o", posix_checksum(h));
        assert_field(h, 148, want, 7, "chksum");
    }
    assert_field(h, 124, "77777777777\0", 12, "size");
    /* 8 GiB does not fit 11 octal digits: refused, not truncated. */
    assert_int_equal(sp_tar_header("x", 077777777777ULL + 1, h, &err), SP_E_LIMIT);
    assert_int_equal(err.code, SP_E_LIMIT);
}

static void test_header_long_names(void **state)
{
    (void)state;
    uint8_t h[512];
    sp_error err;
    sp_error_clear(&err);
    char got[257];

    /* Exactly 100 characters: the whole name field, no NUL needed. */
    char *n100 = repeat('n', 100);
    assert_int_equal(sp_tar_header(n100, 1, h, &err), SP_OK);
    assert_memory_equal(h, n100, 100);
    assert_true(all_zero(h + 345, 155));
    free(n100);

    /* 130 characters with one '/': prefix (60) and name (69). */
    char *dir = repeat('d', 60), *file = repeat('f', 69);
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    assert_int_equal(strlen(path), 130);
    assert_int_equal(sp_tar_header(path, 5, h, &err), SP_OK);
    assert_memory_equal(h + 345, dir, 60);
    assert_true(all_zero(h + 405, 100)); /* rest of the prefix */
    assert_memory_equal(h, file, 69);
    assert_true(all_zero(h + 69, 31));
    member_name(h, got);
    assert_string_equal(got, path);
    char want[9];
    snprintf(want, sizeof(want), "%06o", posix_checksum(h));
    assert_field(h, 148, want, 7, "chksum");
    free(dir);
    free(file);

    /* Several '/': any valid split must give the path back. */
    static const size_t shapes[][3] = {{40, 40, 49}, {10, 100, 20}, {100, 54, 100}, {1, 1, 99}};
    for (size_t i = 0; i < SP_ARRAY_LEN(shapes); i++) {
        char *a = repeat('a', shapes[i][0]), *b = repeat('b', shapes[i][1]),
             *c = repeat('c', shapes[i][2]);
        snprintf(path, sizeof(path), "%s/%s/%s", a, b, c);
        int rc = sp_tar_header(path, 5, h, &err);
        if (rc != SP_OK) fail_msg("a %zu-character path was refused: %s", strlen(path), err.msg);
        member_name(h, got);
        assert_string_equal(got, path);
        free(a);
        free(b);
        free(c);
    }

    /* The longest that fits: 155 + '/' + 100. */
    char *p155 = repeat('p', 155), *n = repeat('q', 100);
    snprintf(path, sizeof(path), "%s/%s", p155, n);
    assert_int_equal(sp_tar_header(path, 5, h, &err), SP_OK);
    member_name(h, got);
    assert_string_equal(got, path);
    free(p155);
    free(n);
}

static void test_header_refused_names(void **state)
{
    (void)state;
    uint8_t h[512];
    sp_error err;
    sp_error_clear(&err);
    char path[400];

    /* 200 characters and no '/': cannot be split. */
    char *n200 = repeat('z', 200);
    assert_int_equal(sp_tar_header(n200, 1, h, &err), SP_E_USAGE);
    assert_non_null(strstr(err.msg, "does not fit USTAR"));
    free(n200);

    /* A '/' only where the prefix would be too long (180 > 155). */
    char *a = repeat('a', 180), *b = repeat('b', 19);
    snprintf(path, sizeof(path), "%s/%s", a, b);
    assert_int_equal(sp_tar_header(path, 1, h, &err), SP_E_USAGE);
    free(a);
    free(b);

    /* A '/' only where the name would be too long (101 > 100). */
    a = repeat('a', 20);
    b = repeat('b', 101);
    snprintf(path, sizeof(path), "%s/%s", a, b);
    assert_int_equal(sp_tar_header(path, 1, h, &err), SP_E_USAGE);
    free(a);
    free(b);

    /* A trailing '/' leaves an empty name. */
    a = repeat('a', 150);
    snprintf(path, sizeof(path), "%s/", a);
    assert_int_equal(sp_tar_header(path, 1, h, &err), SP_E_USAGE);
    free(a);

    /* 155 + '/' + 101 */
    a = repeat('a', 155);
    b = repeat('b', 101);
    snprintf(path, sizeof(path), "%s/%s", a, b);
    assert_int_equal(sp_tar_header(path, 1, h, &err), SP_E_USAGE);
    free(a);
    free(b);

    assert_int_equal(sp_tar_header("", 1, h, &err), SP_E_USAGE);
}

/* ---- a whole archive ---------------------------------------------------------------- */

typedef struct member {
    char name[200];
    uint8_t *data;
    size_t len;
} member;

static void make_members(member *m, size_t n)
{
    static const size_t lens[] = {1, 1000, 512, 0, 1025, 37};
    assert_true(n == SP_ARRAY_LEN(lens));
    for (size_t i = 0; i < n; i++) {
        m[i].len = lens[i];
        m[i].data = malloc(lens[i] ? lens[i] : 1);
        assert_non_null(m[i].data);
        for (size_t k = 0; k < lens[i]; k++) m[i].data[k] = (uint8_t)(k * 31 + i * 7 + 1);
    }
    snprintf(m[0].name, sizeof(m[0].name), "k1.cls");
    snprintf(m[1].name, sizeof(m[1].name), "k1.jpg");
    snprintf(m[2].name, sizeof(m[2].name), "k2.json");
    snprintf(m[3].name, sizeof(m[3].name), "k3.empty");
    char *d = repeat('d', 70), *f = repeat('f', 60);
    snprintf(m[4].name, sizeof(m[4].name), "%s/%s.jpg", d, f); /* 135 characters */
    free(d);
    free(f);
    snprintf(m[5].name, sizeof(m[5].name), "k4.txt");
}

static void write_archive(const char *path, member *m, size_t n, uint64_t *bytes,
                          sp_hash128 *hash)
{
    sp_tar_writer *w = NULL;
    sp_error err;
    sp_error_clear(&err);
    if (sp_tar_open(path, &w, &err) != SP_OK) fail_msg("sp_tar_open: %s", err.msg);
    for (size_t i = 0; i < n; i++)
        if (sp_tar_add(w, m[i].name, m[i].data, m[i].len, &err) != SP_OK)
            fail_msg("sp_tar_add %s: %s", m[i].name, err.msg);
    if (sp_tar_finish(w, bytes, &err) != SP_OK) fail_msg("sp_tar_finish: %s", err.msg);
    sp_tar_free(&w);
    assert_null(w);
    /* The build hashes a finished shard by reading it back; so does this test. */
    uint64_t again = 0;
    if (sp_file_digest(path, &again, hash, NULL, &err) != SP_OK)
        fail_msg("sp_file_digest: %s", err.msg);
    assert_int_equal(again, *bytes);
}

static void test_archive(void **state)
{
    const char *dir = *state;
    char *path = sp_path_join(dir, "a.tar");
    member m[6];
    make_members(m, 6);
    uint64_t bytes = 0;
    sp_hash128 hash = {0, 0};
    write_archive(path, m, 6, &bytes, &hash);

    size_t len;
    uint8_t *file = read_all(path, &len);
    assert_int_equal(bytes, len);
    assert_int_equal(len % 512, 0);
    sp_hash128 want = sp_hash_bytes(file, len);
    assert_true(hash.hi == want.hi && hash.lo == want.lo);

    /* Walk it: header, data, zero padding to 512, ..., then 1024 zero bytes. */
    size_t expect = 1024, off = 0;
    for (size_t i = 0; i < 6; i++) expect += 512 + (m[i].len + 511) / 512 * 512;
    assert_int_equal(len, expect);
    for (size_t i = 0; i < 6; i++) {
        const uint8_t *h = file + off;
        char name[257];
        member_name(h, name);
        assert_string_equal(name, m[i].name);
        assert_true(octal_field(h + 124, 12) == (long long)m[i].len);
        assert_true(octal_field(h + 148, 7) == (long long)posix_checksum(h));
        off += 512;
        assert_memory_equal(file + off, m[i].data, m[i].len);
        size_t padded = (m[i].len + 511) / 512 * 512;
        assert_true(all_zero(file + off + m[i].len, padded - m[i].len));
        off += padded;
    }
    assert_int_equal(off, len - 1024);
    assert_true(all_zero(file + off, 1024));

    /* Writing the same members again gives the same bytes: shards are reproducible. */
    char *path2 = sp_path_join(dir, "b.tar");
    uint64_t bytes2;
    sp_hash128 hash2;
    write_archive(path2, m, 6, &bytes2, &hash2);
    size_t len2;
    uint8_t *file2 = read_all(path2, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(file2, file, len);
    assert_true(hash2.hi == hash.hi && hash2.lo == hash.lo);

    free(file);
    free(file2);
    free(path2);
    for (size_t i = 0; i < 6; i++) free(m[i].data);
    free(path);
}

/* GNU tar lists the members by name, with mode, owner and date as written, and extracts
 * the same bytes. */
static void test_archive_gnu_tar(void **state)
{
    const char *dir = *state;
    char *path = sp_path_join(dir, "a.tar");
    member m[6];
    make_members(m, 6);
    uint64_t bytes;
    sp_hash128 hash;
    write_archive(path, m, 6, &bytes, &hash);

    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "tar -tf '%s' > '%s/list' 2> '%s/err'", path, dir, dir);
    assert_int_equal(system(cmd), 0);
    char *listpath = sp_path_join(dir, "list");
    size_t len;
    char *list = (char *)read_all(listpath, &len);
    char want[4096] = "";
    for (size_t i = 0; i < 6; i++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s\n", m[i].name);
    list = realloc(list, len + 1);
    list[len] = '\0';
    assert_string_equal(list, want);
    free(list);

    /* Verbose listing: r--r--r--, uid/gid 0, 2000-01-01 00:00 UTC. */
    snprintf(cmd, sizeof(cmd), "TZ=UTC tar --numeric-owner -tvf '%s' > '%s/list' 2>&1", path, dir);
    assert_int_equal(system(cmd), 0);
    list = (char *)read_all(listpath, &len);
    list = realloc(list, len + 1);
    list[len] = '\0';
    char *line = list;
    for (size_t i = 0; i < 6; i++) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        if (strncmp(line, "-r--r--r-- 0/0", 14) != 0 || !strstr(line, " 2000-01-01 00:00 "))
            fail_msg("tar -tv line: %s", line);
        line = nl + 1;
    }
    free(list);
    free(listpath);

    /* Extract and compare contents. */
    char *xdir = sp_path_join(dir, "x");
    assert_int_equal(mkdir(xdir, 0755), 0);
    snprintf(cmd, sizeof(cmd), "tar -xf '%s' -C '%s'", path, xdir);
    assert_int_equal(system(cmd), 0);
    for (size_t i = 0; i < 6; i++) {
        char *p = sp_path_join(xdir, m[i].name);
        uint8_t *data = read_all(p, &len);
        assert_int_equal(len, m[i].len);
        if (len) assert_memory_equal(data, m[i].data, len);
        free(data);
        free(p);
    }
    free(xdir);
    for (size_t i = 0; i < 6; i++) free(m[i].data);
    free(path);
}

static void test_open_abort(void **state)
{
    const char *dir = *state;
    char *path = sp_path_join(dir, "t.tar.tmp");
    sp_error err;
    sp_error_clear(&err);
    struct stat st;

    /* A leftover file of a killed run is replaced. */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("stale", f);
    fclose(f);
    sp_tar_writer *w = NULL;
    assert_int_equal(sp_tar_open(path, &w, &err), SP_OK);
    assert_non_null(w);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(sp_tar_add(w, "a.txt", "hello", 5, &err), SP_OK);
    /* A name that does not fit fails the add, and the archive can be aborted. */
    char *n200 = repeat('z', 200);
    assert_int_equal(sp_tar_add(w, n200, "x", 1, &err), SP_E_USAGE);
    free(n200);
    sp_tar_abort(&w);
    assert_null(w);
    assert_int_not_equal(stat(path, &st), 0); /* removed */

    /* A folder that does not exist: an I/O error naming the path. */
    char *nowhere = sp_path_join(dir, "no/such/dir/t.tar");
    assert_int_equal(sp_tar_open(nowhere, &w, &err), SP_E_IO);
    assert_null(w);
    assert_string_equal(err.path, nowhere);
    free(nowhere);

    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_layout),
        cmocka_unit_test(test_header_sizes),
        cmocka_unit_test(test_header_long_names),
        cmocka_unit_test(test_header_refused_names),
        cmocka_unit_test_setup_teardown(test_archive, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_archive_gnu_tar, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_open_abort, make_tmpdir, remove_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
