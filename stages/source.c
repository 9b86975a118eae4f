/*
 * source — a dataset from a path: class folders, split folders, an archive, a CSV/TSV
 * manifest, an IDX or a CIFAR file. The path is probed by content (see formats/input.h
 * and the table in formats/inputs.c); `format` forces one.
 *
 *   [source]
 *   path = examples/data            ; ROOT/<class>/<image>
 *
 *   [train]
 *   type = source
 *   path = /data/ILSVRC2012_img_train.tar   ; a tar of per-class tars, read in place
 *
 *   [labeled]
 *   type = source
 *   path = /data/labels.csv         ; path,label[,split] rows, paths relative to the file
 *   classes = /data/classes.txt     ; optional: line i names label i
 *
 * Only enumeration happens here (names, sizes, times, labels); the scan phase reads,
 * hashes and probes the samples in parallel.
 */
#include "../formats/input.h"

#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(sp_input_opts, f)
static const sp_option source_options[] = {
    {"path", "the dataset: a folder (one folder per class, or train/ val/ test/ of class "
     "folders), an archive, a CSV/TSV manifest, an IDX images file or CIFAR batches",
     OFF(path), SP_OPT_STRING, NULL, 0, 0, NULL, SP_OPT_REQUIRED},
    {"format", "how to read path; auto probes its content", OFF(format), SP_OPT_ENUM, "auto",
     1, 0, sp_input_choices, 0},
    {"max_depth", "how deep to descend below a class folder", OFF(max_depth), SP_OPT_INT, "16",
     0, 64, NULL, 0},
    {"classes", "a text file of class names, one a line (line i names label i), for "
     "manifests and IDX files with integer labels; empty: labels as they are", OFF(classes),
     SP_OPT_STRING, "", 0, 0, NULL, 0},
    {"labels", "IDX: the labels file; empty: the images file's name with images -> labels "
     "and idx3 -> idx1", OFF(labels), SP_OPT_STRING, "", 0, 0, NULL, 0},
    {"manifest", "archives: a CSV/TSV manifest (path,label[,split]) whose paths are member "
     "paths, giving the labels instead of the members' folders; empty: folders",
     OFF(manifest), SP_OPT_STRING, "", 0, 0, NULL, 0},
    SP_OPT_END,
};

static int source_enumerate(const sp_stage_env *env, const void *opts, sp_catalog *cat,
                             sp_error *err)
{
    const sp_input_opts *o = opts;
    const sp_input *in;
    int rc = sp_input_pick(o, &in, err);
    if (rc != SP_OK) return rc;
    sp_log(env->run->ctx, SP_LOG_DEBUG, "[%s] %s is read as %s", env->stage->name, o->path,
           in->name);
    return in->enumerate(env, o, cat, err);
}

const sp_stage_desc sp_stage_source = {
    .name = "source",
    .help = "read a dataset: class folders, split folders, an archive, a CSV manifest, IDX or "
            "CIFAR files (probed by content)",
    .kind = SP_STAGE_SOURCE,
    .opts_size = sizeof(sp_input_opts),
    .options = source_options,
    .enumerate = source_enumerate,
};
