/*
 * Unit tests for the atomic file helpers (src/fsutil.c) that resume and parts rest on.
 *
 * Why: a rerun over a finished output must write nothing (so make and the stamps see
 * unchanged mtimes), processes sharing an output folder must never share a temporary,
 * and a failed write must leave nothing under either name. Each is checked on real files
 * in a fresh folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static int make_tmpdir(void **state)
{
    char tmpl[] = "/tmp/sp-unit-fsutil-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir) return -1;
    *state = sp_strdup(dir);
    return *state ? 0 : -1;
}

/* Files in the folder (no sub-folders here), then the folder. */
static int remove_tmpdir(void **state)
{
    char *dir = *state;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || !strcmp(e->d_name, ".."))) continue;
        char *p = sp_path_join(dir, e->d_name);
        if (p) unlink(p);
        free(p);
    }
    if (d) closedir(d);
    rmdir(dir);
    free(dir);
    return 0;
}

static size_t count_files(const char *dir)
{
    size_t n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static void test_if_changed_keeps_unchanged_file(void **state)
{
    char *path = sp_path_join(*state, "manifest.json");
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_write_file_if_changed(path, "abc\n", 4, &err), SP_OK);
    struct stat a, b, c;
    assert_int_equal(stat(path, &a), 0);
    usleep(20000);
    /* The same bytes: the file, its inode and its mtime stay. */
    assert_int_equal(sp_write_file_if_changed(path, "abc\n", 4, &err), SP_OK);
    assert_int_equal(stat(path, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
    assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
    /* Other bytes, even of the same length, replace it. */
    assert_int_equal(sp_write_file_if_changed(path, "abd\n", 4, &err), SP_OK);
    assert_int_equal(stat(path, &c), 0);
    assert_true(c.st_ino != a.st_ino || c.st_mtim.tv_nsec != a.st_mtim.tv_nsec ||
                c.st_mtim.tv_sec != a.st_mtim.tv_sec);
    uint8_t *data;
    size_t len;
    assert_int_equal(sp_read_file(path, 100, &data, &len, &err), SP_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "abd\n", 4);
    free(data);
    /* Over the bound: a caller's fixed bound is limit_exceeded, an input's is
     * max_file_bytes (the [run] option a user raises). */
    assert_int_equal(sp_read_file(path, 3, &data, &len, &err), SP_E_LIMIT);
    assert_null(data);
    assert_int_equal(sp_read_input(path, 3, &data, &len, &err), SP_E_MAX_FILE_BYTES);
    assert_null(data);
    assert_int_equal(sp_read_input(path, 4, &data, &len, &err), SP_OK);
    free(data);
    assert_int_equal(count_files(*state), 1); /* no temporary left */
    free(path);
}

static void test_tmp_name_is_per_process(void **state)
{
    (void)state;
    char *a = sp_tmp_name("out/shard-000001.idx");
    char *b = sp_tmp_name("out/shard-000001.idx");
    assert_non_null(a);
    /* PATH.<8 hex>.tmp, the same within a process... */
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), strlen("out/shard-000001.idx") + 13);
    assert_int_equal(strncmp(a, "out/shard-000001.idx.", 21), 0);
    assert_string_equal(a + strlen(a) - 4, ".tmp");
    free(b);
    /* ...and another in a child process (another pid). */
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char *c = sp_tmp_name("out/shard-000001.idx");
        ssize_t k = write(fd[1], c, strlen(c) + 1);
        _exit(k > 0 ? 0 : 1);
    }
    char child[256] = "";
    close(fd[1]);
    assert_true(read(fd[0], child, sizeof(child) - 1) > 0);
    close(fd[0]);
    assert_string_not_equal(a, child);
    free(a);
}

static void test_fault_hook_leaves_nothing(void **state)
{
    char *path = sp_path_join(*state, "shard-000003.idx");
    char *other = sp_path_join(*state, "shard-000004.idx");
    sp_error err;
    sp_error_clear(&err);
    setenv("SHARDPACK_TEST_ENOSPC", "shard-000003.idx", 1);
    assert_int_equal(sp_test_fault(path), ENOSPC);
    assert_int_equal(sp_test_fault(other), 0);
    assert_int_equal(sp_write_file_atomic(path, "x", 1, &err), SP_E_IO);
    assert_non_null(strstr(err.msg, "No space left on device"));
    assert_int_equal(count_files(*state), 0); /* neither the file nor its temporary */
    assert_int_equal(sp_write_file_atomic(other, "x", 1, &err), SP_OK);
    setenv("SHARDPACK_TEST_ENOSPC", "shard-000004.idx:eio", 1);
    assert_int_equal(sp_test_fault(other), EIO);
    unsetenv("SHARDPACK_TEST_ENOSPC");
    assert_int_equal(sp_test_fault(path), 0);
    assert_int_equal(count_files(*state), 1);
    free(path);
    free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_if_changed_keeps_unchanged_file, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test(test_tmp_name_is_per_process),
        cmocka_unit_test_setup_teardown(test_fault_hook_leaves_nothing, make_tmpdir,
                                        remove_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
