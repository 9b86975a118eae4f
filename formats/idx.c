/*
 * idx as an input format: a source whose path is an IDX images file (magic 00 00 08 03,
 * plain or compressed) is read by the idx stage. Its labels file is the `labels` option,
 * or found beside it by the MNIST naming (train-images-idx3-ubyte.gz ->
 * train-labels-idx1-ubyte.gz).
 */
#include "input.h"
#include "../stages/packed.h"

#include <stdlib.h>
#include <string.h>

extern const sp_stage_desc sp_stage_idx;

static int idx_probe(const sp_input_peek *p)
{
    return p->ninner >= 4 && memcmp(p->inner, "\0\0\x08\x03", 4) == 0 ? 100 : 0;
}

/* s with every `from` replaced by `to`. */
static char *replace(const char *s, const char *from, const char *to)
{
    sp_buf b = {0};
    size_t nf = strlen(from);
    for (const char *p = s; *p;) {
        const char *hit = strstr(p, from);
        if (!hit) {
            sp_buf_puts(&b, p);
            break;
        }
        sp_buf_append(&b, p, (size_t)(hit - p));
        sp_buf_puts(&b, to);
        p = hit + nf;
    }
    if (!b.data) sp_buf_puts(&b, "");
    return b.oom ? (sp_buf_free(&b), NULL) : b.data;
}

static char *guess_labels(const char *images)
{
    const char *slash = strrchr(images, '/');
    const char *base = slash ? slash + 1 : images;
    char *a = replace(base, "images", "labels");
    char *b = a ? replace(a, "idx3", "idx1") : NULL;
    free(a);
    if (!b || !slash) return b;
    char *dir = sp_path_dir(images);
    char *full = dir ? sp_path_join(dir, b) : NULL;
    free(dir);
    free(b);
    return full;
}

/* The classes file's names as the idx stage's comma-separated list. */
static int class_list(const char *path, char **out, sp_error *err)
{
    sp_catalog tmp;
    memset(&tmp, 0, sizeof(tmp));
    int rc = sp_packed_class_file(&tmp, path, err);
    sp_buf b = {0};
    for (size_t i = 0; rc == SP_OK && i < tmp.nclasses; i++) {
        if (strchr(tmp.classes[i], ',')) {
            sp_error_set_path(err, path);
            rc = sp_fail(err, SP_E_CONFIG, "class name '%s' has a comma, which IDX class lists "
                         "cannot hold", tmp.classes[i]);
        }
        if (i) sp_buf_puts(&b, ",");
        sp_buf_puts(&b, tmp.classes[i]);
    }
    sp_catalog_free(&tmp);
    if (rc == SP_OK && (b.oom || !b.data)) rc = sp_fail(err, SP_E_NOMEM, "out of memory");
    if (rc != SP_OK) sp_buf_free(&b);
    *out = rc == SP_OK ? b.data : NULL;
    return rc;
}

static int idx_enumerate(const sp_stage_env *env, const sp_input_opts *o, sp_catalog *cat,
                         sp_error *err)
{
    char *labels = o->labels && o->labels[0] ? sp_strdup(o->labels) : guess_labels(o->path);
    char *classes = NULL;
    int rc = labels ? SP_OK : sp_fail(err, SP_E_NOMEM, "out of memory");
    if (rc == SP_OK && !(o->labels && o->labels[0]) && strcmp(labels, o->path) == 0) {
        sp_error_set_path(err, o->path);
        rc = sp_fail(err, SP_E_CONFIG, "cannot tell the labels file from the images file's "
                     "name: set labels =");
    }
    if (rc == SP_OK && o->classes && o->classes[0]) rc = class_list(o->classes, &classes, err);
    if (rc == SP_OK) {
        const char *kv[] = {"images", o->path, "labels", labels, "classes",
                            classes ? classes : "", NULL};
        rc = sp_input_delegate(env, &sp_stage_idx, kv, cat, err);
    }
    free(labels);
    free(classes);
    return rc;
}

const sp_input sp_input_idx = {
    .id = SP_INPUT_IDX,
    .name = "idx",
    .help = "an MNIST-style IDX images file (plain or compressed), labels beside it",
    .probe = idx_probe,
    .enumerate = idx_enumerate,
};
