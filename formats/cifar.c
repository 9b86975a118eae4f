/*
 * cifar as an input format: a source whose path is a CIFAR batch file (uncompressed, a
 * whole number of 3073-byte CIFAR-10 or 3074-byte CIFAR-100 records: the size rule, since
 * the records have no magic) or a folder of them (data_batch_1.bin, or train.bin beside
 * fine_label_names.txt) is read by the cifar stage. Class names come from the folder's
 * names file, as there.
 */
#include "input.h"

#include <stdlib.h>
#include <string.h>

extern const sp_stage_desc sp_stage_cifar;

#define REC10 3073
#define REC100 3074

static bool has_file(const char *dir, const char *name)
{
    char *full = sp_path_join(dir, name);
    struct stat st;
    bool yes = full && stat(full, &st) == 0 && S_ISREG(st.st_mode);
    free(full);
    return yes;
}

static int cifar_probe(const sp_input_peek *p)
{
    if (S_ISDIR(p->st.st_mode))
        return has_file(p->path, "data_batch_1.bin") ||
                       (has_file(p->path, "train.bin") && has_file(p->path, "fine_label_names.txt"))
                   ? 90
                   : 0;
    uint64_t size = (uint64_t)p->st.st_size;
    if (p->compressed || size == 0) return 0;
    return size % REC10 == 0 || size % REC100 == 0 ? 20 : 0;
}

static int cifar_enumerate(const sp_stage_env *env, const sp_input_opts *o, sp_catalog *cat,
                           sp_error *err)
{
    struct stat st;
    if (stat(o->path, &st) != 0) {
        sp_error_set_path(err, o->path);
        return sp_fail(err, SP_E_IO, "cannot open");
    }
    if (S_ISDIR(st.st_mode)) {
        bool c10 = has_file(o->path, "data_batch_1.bin");
        const char *kv[] = {"path", o->path, "variant", c10 ? "cifar10" : "cifar100", NULL};
        return sp_input_delegate(env, &sp_stage_cifar, kv, cat, err);
    }
    /* One batch file: CIFAR-10 unless only CIFAR-100's record size divides it. */
    uint64_t size = (uint64_t)st.st_size;
    const char *variant = size % REC10 == 0 || size % REC100 != 0 ? "cifar10" : "cifar100";
    char *dir = sp_path_dir(o->path);
    const char *slash = strrchr(o->path, '/');
    if (!dir) return sp_fail(err, SP_E_NOMEM, "out of memory");
    const char *kv[] = {"path", dir, "files", slash ? slash + 1 : o->path, "variant", variant,
                        NULL};
    int rc = sp_input_delegate(env, &sp_stage_cifar, kv, cat, err);
    free(dir);
    return rc;
}

const sp_input sp_input_cifar = {
    .id = SP_INPUT_CIFAR,
    .name = "cifar",
    .help = "a CIFAR-10/100 binary batch file (by its size) or a folder of them",
    .probe = cifar_probe,
    .enumerate = cifar_enumerate,
};
