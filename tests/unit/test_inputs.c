/*
 * Input formats (formats/folder.c, archive.c, csv.c through the source stage): what the
 * enumeration gives — classes, labels, split hints, reasons — on small trees, archives and
 * manifests made in a fresh temporary folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../formats/input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const sp_stage_desc sp_stage_source;

static char root[256];
static uint64_t max_file_bytes = 1u << 20;

static void put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    char *dir = sp_path_dir(path);
    sp_error err;
    assert_int_equal(sp_mkdirs(dir, &err), SP_OK);
    free(dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/sp-unit-inputs-XXXXXX");
    assert_non_null(mkdtemp(root));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs the source stage on path (with options k=v, NULL-terminated) into cat. */
static int enumerate(const char *path, const char *const *kv, sp_catalog *cat, sp_error *err)
{
    sp_ctx *ctx;
    assert_int_equal(sp_ctx_new(&ctx), SP_OK);
    sp_ctx_set_verbosity(ctx, SP_LOG_ERROR);
    sp_pipeline pipe;
    memset(&pipe, 0, sizeof(pipe));
    pipe.limits = (sp_limits){.max_pixels = 1u << 24, .max_file_bytes = max_file_bytes,
                              .max_dimension = 4096, .max_scans = 64, .max_members = 1000,
                              .max_nesting = 2, .max_line_bytes = 200, .max_ratio = 200,
                              .max_unpacked_bytes = 1u << 24};
    sp_job run;
    memset(&run, 0, sizeof(run));
    run.ctx = ctx;
    run.pipe = &pipe;
    sp_stage st;
    memset(&st, 0, sizeof(st));
    st.name = "src";
    st.desc = &sp_stage_source;
    sp_stage_env env = {&run, &st, 0};
    sp_input_opts o;
    memset(&o, 0, sizeof(o));
    assert_int_equal(sp_options_defaults(sp_stage_source.options, &o, err), SP_OK);
    assert_int_equal(sp_option_parse(sp_option_find(sp_stage_source.options, "path"), &o, path, err),
                     SP_OK);
    for (size_t i = 0; kv && kv[i]; i += 2)
        assert_int_equal(sp_option_parse(sp_option_find(sp_stage_source.options, kv[i]), &o,
                                         kv[i + 1], err),
                         SP_OK);
    memset(cat, 0, sizeof(*cat));
    cat->desc = &sp_stage_source;
    int rc = sp_stage_source.enumerate(&env, &o, cat, err);
    sp_options_free(sp_stage_source.options, &o);
    sp_ctx_free(&ctx);
    return rc;
}

static const sp_sample *find(const sp_catalog *cat, const char *path)
{
    for (size_t i = 0; i < cat->nsamples; i++)
        if (strcmp(cat->samples[i].path, path) == 0) return &cat->samples[i];
    fail_msg("no sample %s", path);
    return NULL;
}

static const char *class_of(const sp_catalog *cat, const sp_sample *s)
{
    return s->label >= 0 ? cat->classes[s->label] : "";
}

static void test_split_folders(void **state)
{
    (void)state;
    put("split/train/cat/a.png", "x");
    put("split/train/dog/b.png", "x");
    put("split/val/dog/c.png", "x");
    put("split/test/bird/d.png", "x");
    put("split/train/loose.png", "x");
    char path[300];
    snprintf(path, sizeof(path), "%s/split", root);
    sp_catalog cat;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(enumerate(path, NULL, &cat, &err), SP_OK);
    assert_int_equal(cat.nclasses, 3);
    assert_string_equal(cat.classes[0], "bird");
    assert_string_equal(cat.classes[1], "cat");
    assert_string_equal(cat.classes[2], "dog");
    const sp_sample *s = find(&cat, "train/cat/a.png");
    assert_string_equal(class_of(&cat, s), "cat");
    assert_int_equal(s->split_hint, SP_SPLIT_TRAIN);
    s = find(&cat, "val/dog/c.png");
    assert_string_equal(class_of(&cat, s), "dog");
    assert_int_equal(s->split_hint, SP_SPLIT_VAL);
    s = find(&cat, "test/bird/d.png");
    assert_int_equal(s->split_hint, SP_SPLIT_TEST);
    s = find(&cat, "train/loose.png");
    assert_int_equal(s->status, SP_E_NOLABEL);
    sp_catalog_free(&cat);

    /* A class folder beside the split folders: the layout is plain class folders. */
    put("split/other/e.png", "x");
    assert_int_equal(enumerate(path, NULL, &cat, &err), SP_OK);
    assert_int_equal(cat.nclasses, 4);
    assert_int_equal(find(&cat, "other/e.png")->split_hint, SP_SPLIT_NONE);
    assert_string_equal(class_of(&cat, find(&cat, "train/cat/a.png")), "train");
    sp_catalog_free(&cat);
}

static void test_split_archive(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof(path), "%s/split.tar", root);
    sp_tar_writer *w;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_tar_open(path, &w, &err), SP_OK);
    assert_int_equal(sp_tar_add(w, "train/cat/a.png", "aaaa", 4, &err), SP_OK);
    assert_int_equal(sp_tar_add(w, "val/dog/b.png", "bb", 2, &err), SP_OK);
    assert_int_equal(sp_tar_add(w, "test/dog/c.png", "c", 1, &err), SP_OK);
    uint64_t bytes;
    assert_int_equal(sp_tar_finish(w, &bytes, &err), SP_OK);
    sp_tar_free(&w);
    sp_catalog cat;
    assert_int_equal(enumerate(path, NULL, &cat, &err), SP_OK);
    assert_int_equal(cat.nclasses, 2);
    const sp_sample *s = find(&cat, "val/dog/b.png");
    assert_string_equal(class_of(&cat, s), "dog");
    assert_int_equal(s->split_hint, SP_SPLIT_VAL);
    assert_int_equal(find(&cat, "train/cat/a.png")->split_hint, SP_SPLIT_TRAIN);
    /* A stored member is read in place, from the mapping. */
    uint8_t *data;
    size_t len;
    assert_int_equal(sp_sample_read(&cat, find(&cat, "train/cat/a.png"),
                                    &(sp_limits){.max_file_bytes = 100}, &data, &len, &err),
                     SP_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(data, "aaaa", 4);
    free(data);
    /* A member over max_file_bytes: rejected with that option's own code. */
    sp_error_clear(&err);
    assert_int_equal(sp_sample_read(&cat, find(&cat, "train/cat/a.png"),
                                    &(sp_limits){.max_file_bytes = 3}, &data, &len, &err),
                     SP_E_MAX_FILE_BYTES);
    assert_non_null(strstr(err.msg, "max_file_bytes"));
    sp_catalog_free(&cat);
}

static void test_csv(void **state)
{
    (void)state;
    put("m/img/a,b.png", "x");
    put("m/img/q\"uote.png", "x");
    put("m/img/c.png", "x");
    put("m/img/multi\nline.png", "x");
    /* Quoted fields with the delimiter, a doubled quote and a line break; CRLF ends. */
    put("m/list.csv", "Path,Label,Split\r\n"
                      "\"img/a,b.png\",cat,train\r\n"
                      "\"img/q\"\"uote.png\",dog,val\r\n"
                      "\"img/multi\nline.png\",dog,test\r\n"
                      "img/c.png,cat\r\n"
                      "img/c.png,dog,train\r\n"
                      "img/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
                      "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
                      "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.png,cat\r\n"
                      "img/c.png,cat,\"train\"x\r\n");
    char path[300];
    snprintf(path, sizeof(path), "%s/m/list.csv", root);
    sp_catalog cat;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(enumerate(path, NULL, &cat, &err), SP_OK);
    assert_int_equal(cat.nclasses, 2);
    const sp_sample *s = find(&cat, "img/a,b.png");
    assert_int_equal(s->status, SP_OK);
    assert_string_equal(class_of(&cat, s), "cat");
    assert_int_equal(s->split_hint, SP_SPLIT_TRAIN);
    s = find(&cat, "img/q\"uote.png");
    assert_string_equal(class_of(&cat, s), "dog");
    assert_int_equal(s->split_hint, SP_SPLIT_VAL);
    s = find(&cat, "img/multi\nline.png");
    assert_int_equal(s->status, SP_OK);
    assert_int_equal(s->split_hint, SP_SPLIT_TEST);
    /* Line numbers count the line break inside the quoted field. */
    s = find(&cat, "img/c.png");
    assert_int_equal(s->split_hint, SP_SPLIT_NONE);
    s = find(&cat, "list.csv:7");
    assert_int_equal(s->status, SP_E_BADROW);
    assert_non_null(strstr(s->detail, "line 7: img/c.png is listed before, at line 6"));
    s = find(&cat, "list.csv:8");
    assert_int_equal(s->status, SP_E_MAX_LINE_BYTES);
    s = find(&cat, "list.csv:9");
    assert_int_equal(s->status, SP_E_BADROW);
    assert_non_null(strstr(s->detail, "after a closing quote"));
    sp_catalog_free(&cat);
}

static void test_csv_indexes(void **state)
{
    (void)state;
    put("n/1.png", "x");
    put("n/2.png", "x");
    put("n/list.tsv", "path\tlabel\n1.png\t10\n2.png\t2\n");
    char path[300];
    snprintf(path, sizeof(path), "%s/n/list.tsv", root);
    sp_catalog cat;
    sp_error err;
    sp_error_clear(&err);
    /* Every label an integer, no classes file: classes 00..10, zero-padded. */
    assert_int_equal(enumerate(path, NULL, &cat, &err), SP_OK);
    assert_int_equal(cat.nclasses, 11);
    assert_string_equal(class_of(&cat, find(&cat, "1.png")), "10");
    assert_string_equal(class_of(&cat, find(&cat, "2.png")), "02");
    sp_catalog_free(&cat);
    /* A classes file names the indexes; 10 is then unknown. */
    put("n/classes.txt", "zero\none\ntwo\n");
    char classes[300];
    snprintf(classes, sizeof(classes), "%s/n/classes.txt", root);
    assert_int_equal(enumerate(path, (const char *const[]){"classes", classes, NULL}, &cat, &err),
                     SP_OK);
    assert_int_equal(cat.nclasses, 3);
    assert_string_equal(class_of(&cat, find(&cat, "2.png")), "two");
    const sp_sample *s = find(&cat, "list.tsv:2");
    assert_int_equal(s->status, SP_E_BADROW);
    assert_non_null(strstr(s->detail, "unknown label '10'"));
    sp_catalog_free(&cat);
    /* format = folder forces the folder reader on the manifest's folder. */
    snprintf(path, sizeof(path), "%s/n", root);
    assert_int_equal(enumerate(path, (const char *const[]){"format", "folder", NULL}, &cat, &err),
                     SP_OK);
    assert_int_equal(cat.nclasses, 0);
    sp_catalog_free(&cat);
}

/* A classes file: a repeated name is refused, naming it (the first repeat in file order);
 * a long one (ImageNet-21k has 21,841 names) loads, each name its index. */
static void test_classes_file(void **state)
{
    (void)state;
    put("cf/a.png", "x");
    put("cf/list.csv", "path,label\na.png,1\n");
    put("cf/twice.txt", "zero\none\ntwo\none\nzero\n");
    char path[300], classes[300];
    snprintf(path, sizeof(path), "%s/cf/list.csv", root);
    snprintf(classes, sizeof(classes), "%s/cf/twice.txt", root);
    sp_catalog cat;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(enumerate(path, (const char *const[]){"classes", classes, NULL}, &cat, &err),
                     SP_E_CONFIG);
    assert_non_null(strstr(err.msg, "names class 'one' twice"));
    sp_catalog_free(&cat);
    enum { N = 30000 };
    char *text = malloc((size_t)N * 12), *p = text;
    for (int i = 0; i < N; i++) p += sprintf(p, "n%08d\n", (i * 7919) % N);
    put("cf/many.txt", text);
    free(text);
    snprintf(classes, sizeof(classes), "%s/cf/many.txt", root);
    sp_error_clear(&err);
    assert_int_equal(enumerate(path, (const char *const[]){"classes", classes, NULL}, &cat, &err),
                     SP_OK);
    assert_int_equal(cat.nclasses, N);
    assert_string_equal(cat.classes[1], "n00007919");
    assert_string_equal(class_of(&cat, find(&cat, "a.png")), "n00007919");
    sp_catalog_free(&cat);
}

/* A long number among class names is a name; only an all-integer manifest has indexes. */
static void test_csv_number_names(void **state)
{
    (void)state;
    put("y/a.png", "x");
    put("y/b.png", "x");
    put("y/list.csv", "path,label\na.png,cat\nb.png,2024001\n");
    char path[300];
    snprintf(path, sizeof(path), "%s/y/list.csv", root);
    sp_catalog cat;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(enumerate(path, NULL, &cat, &err), SP_OK);
    assert_int_equal(cat.nclasses, 2);
    const sp_sample *s = find(&cat, "b.png");
    assert_int_equal(s->status, SP_OK);
    assert_string_equal(class_of(&cat, s), "2024001");
    assert_string_equal(class_of(&cat, find(&cat, "a.png")), "cat");
    sp_catalog_free(&cat);
    /* Every label an integer: 2024001 is an index, over the limit. */
    put("y/nums.csv", "path,label\na.png,3\nb.png,2024001\n");
    snprintf(path, sizeof(path), "%s/y/nums.csv", root);
    assert_int_equal(enumerate(path, NULL, &cat, &err), SP_OK);
    assert_int_equal(cat.nclasses, 4);
    s = find(&cat, "nums.csv:3");
    assert_int_equal(s->status, SP_E_BADROW);
    assert_non_null(strstr(s->detail, "label index 2024001 is over 99999"));
    assert_string_equal(class_of(&cat, find(&cat, "a.png")), "3");
    sp_catalog_free(&cat);
}

#define BIG 3000
#define HUGE 150000

/* The seconds a no-hang bound allows (SP_TEST_NO_HANG_SECONDS, for slow sanitizer builds). */
static unsigned no_hang(void)
{
    const char *v = getenv("SP_TEST_NO_HANG_SECONDS");
    return v && atoi(v) > 0 ? (unsigned)atoi(v) : 20;
}

/* Labels looked up through the sorted index give each row its class, in a classes file's
 * order too, and a path's repeats name its first line. */
static void test_csv_many(void **state)
{
    (void)state;
    char path[300], classes[300];
    snprintf(path, sizeof(path), "%s/big", root);
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_mkdirs(path, &err), SP_OK);
    snprintf(path, sizeof(path), "%s/big/list.csv", root);
    snprintf(classes, sizeof(classes), "%s/big/classes.txt", root);
    FILE *m = fopen(path, "wb"), *c = fopen(classes, "wb");
    assert_non_null(m);
    assert_non_null(c);
    fputs("path,label\n", m);
    for (int i = 0; i < BIG; i++) {
        char f[400];
        snprintf(f, sizeof(f), "%s/big/%d.png", root, i);
        FILE *g = fopen(f, "wb");
        assert_non_null(g);
        fclose(g);
        /* Labels in no sorted order; the classes file lists them in another order still. */
        fprintf(m, "%d.png,k%d\n", i, (int)((i * 7919L) % BIG));
        fprintf(c, "k%d\n", (int)((i * 104729L + 17) % BIG));
    }
    for (int i = 0; i < BIG; i++) fputs("same.png,k1\n", m);
    fclose(m);
    fclose(c);
    snprintf(path, sizeof(path), "%s/big/same.png", root);
    fclose(fopen(path, "wb"));
    snprintf(path, sizeof(path), "%s/big/list.csv", root);
    for (int pass = 0; pass < 2; pass++) {
        sp_catalog cat;
        assert_int_equal(enumerate(path,
                                   pass ? (const char *const[]){"classes", classes, NULL} : NULL,
                                   &cat, &err),
                         SP_OK);
        assert_int_equal(cat.nclasses, BIG);
        if (pass) assert_string_equal(cat.classes[0], "k17");
        for (int i = 0; i < BIG; i++) {
            char f[32], want[32];
            snprintf(f, sizeof(f), "%d.png", i);
            snprintf(want, sizeof(want), "k%d", (int)((i * 7919L) % BIG));
            assert_string_equal(class_of(&cat, &cat.samples[i]), want);
            assert_string_equal(cat.samples[i].path, f);
        }
        assert_string_equal(class_of(&cat, find(&cat, "same.png")), "k1");
        char at[32], want[64];
        snprintf(at, sizeof(at), "list.csv:%d", 2 * BIG + 1);
        snprintf(want, sizeof(want), "line %d: same.png is listed before, at line %d", 2 * BIG + 1,
                 BIG + 2);
        const sp_sample *s = find(&cat, at);
        assert_int_equal(s->status, SP_E_BADROW);
        assert_non_null(strstr(s->detail, want));
        sp_catalog_free(&cat);
    }
}

static void link_at(const char *target, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    assert_int_equal(symlink(target, path), 0);
}

/* 150k classes and one path listed 150k times. Both were quadratic (a scan of every class
 * per row, a walk back to the run's start per repeat: minutes); alarm() is the no-hang
 * bound, far above the seconds this takes. Only rows whose file is there make classes, and
 * 150k files take too long to make: the rows name 150 files through 1000 links to their
 * folder (d/NNN -> e, inside the manifest's folder), d/NNN/fFFF. */
static void test_csv_huge(void **state)
{
    (void)state;
    char path[300];
    for (int k = 0; k < HUGE / 1000; k++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "hg/e/f%03d", k);
        put(rel, "x");
    }
    put("hg/d/.keep", "");
    for (int k = 0; k < 1000; k++) {
        char rel[64];
        snprintf(rel, sizeof(rel), "hg/d/%03d", k);
        link_at("../e", rel);
    }
    snprintf(path, sizeof(path), "%s/hg/huge.csv", root);
    FILE *m = fopen(path, "wb");
    assert_non_null(m);
    fputs("path,label\n", m);
    for (int i = 0; i < HUGE; i++)
        fprintf(m, "d/%03d/f%03d,k%d\n", i / (HUGE / 1000), i % (HUGE / 1000),
                (int)((i * 7919L) % HUGE));
    for (int i = 0; i < HUGE; i++) fputs("s,k1\n", m);
    fclose(m);
    sp_catalog cat;
    sp_error err;
    sp_error_clear(&err);
    max_file_bytes = 16u << 20;
    alarm(no_hang());
    assert_int_equal(enumerate(path, NULL, &cat, &err), SP_OK);
    alarm(0);
    max_file_bytes = 1u << 20;
    assert_int_equal(cat.nclasses, HUGE);
    const sp_sample *s = find(&cat, "d/000/f003");
    assert_int_equal(s->status, SP_OK);
    char want[64];
    snprintf(want, sizeof(want), "k%d", (int)(3 * 7919L % HUGE));
    assert_string_equal(class_of(&cat, s), want);
    char at[32];
    snprintf(at, sizeof(at), "huge.csv:%d", 2 * HUGE + 1);
    snprintf(want, sizeof(want), "line %d: s is listed before, at line %d", 2 * HUGE + 1,
             HUGE + 2);
    s = find(&cat, at);
    assert_int_equal(s->status, SP_E_BADROW);
    assert_non_null(strstr(s->detail, want));
    sp_catalog_free(&cat);
}

static size_t count_ok(const sp_catalog *cat, const char *class_name)
{
    size_t n = 0;
    for (size_t i = 0; i < cat->nsamples; i++)
        n += cat->samples[i].status == SP_OK &&
             strcmp(class_of(cat, &cat->samples[i]), class_name) == 0;
    return n;
}

/* Links are followed only inside the source folder, each folder walked once: no file from
 * elsewhere, no fan-out (a chain of 12 folders each with 4 links to the next was 4^12
 * samples), a loop reported as before, a file reached twice kept at its first path. */
static void test_folder_links(void **state)
{
    (void)state;
    char dir[400];
    put("away/x.png", "x");
    put("lk/cat/a.png", "x");
    put("lk/cat/sub/b.png", "x");
    put("lk/dog/d.png", "x");
    snprintf(dir, sizeof(dir), "%s/away", root);
    link_at(dir, "lk/cat/out");            /* a folder outside */
    link_at("../../away/x.png", "lk/dog/outfile.png"); /* a file outside, relative */
    link_at("a.png", "lk/cat/zz.png");     /* the same file again */
    link_at("../cat/sub", "lk/dog/alias"); /* a folder walked already */
    link_at("..", "lk/cat/sub/loop");      /* a folder that contains itself */
    link_at("../dog/d.png", "lk/cat/0d.png"); /* first in walk order: d.png is then a repeat */
    for (int i = 0; i < 12; i++) {
        char rel[64], target[64];
        snprintf(rel, sizeof(rel), "lk/fan/x%02d/.keep", i);
        put(rel, "");
        for (int k = 0; k < 4; k++) {
            snprintf(rel, sizeof(rel), "lk/fan/x%02d/l%d", i, k);
            snprintf(target, sizeof(target), "../x%02d", i + 1);
            link_at(target, rel);
        }
    }
    put("lk/fan/x12/f.png", "x");
    snprintf(dir, sizeof(dir), "%s/lk", root);
    sp_catalog cat;
    sp_error err;
    sp_error_clear(&err);
    alarm(no_hang());
    assert_int_equal(enumerate(dir, NULL, &cat, &err), SP_OK);
    alarm(0);
    assert_int_equal(cat.nclasses, 3);
    const sp_sample *s = find(&cat, "cat/out");
    assert_int_equal(s->status, SP_E_UNSAFE);
    assert_non_null(strstr(s->detail, "outside the source folder"));
    s = find(&cat, "dog/outfile.png");
    assert_int_equal(s->status, SP_E_UNSAFE);
    assert_non_null(strstr(s->detail, "away/x.png"));
    s = find(&cat, "dog/alias");
    assert_int_equal(s->status, SP_E_UNSAFE);
    assert_non_null(strstr(s->detail, "walked already"));
    s = find(&cat, "cat/sub/loop");
    assert_int_equal(s->status, SP_E_IO);
    assert_non_null(strstr(s->detail, "symlink loop"));
    /* cat: 0d.png (the link, first), a.png, sub/b.png; zz.png and dog/d.png are repeats. */
    assert_int_equal(find(&cat, "cat/0d.png")->status, SP_OK);
    assert_int_equal(find(&cat, "cat/a.png")->status, SP_OK);
    assert_int_equal(count_ok(&cat, "cat"), 3);
    assert_int_equal(count_ok(&cat, "dog"), 0);
    for (size_t i = 0; i < cat.nsamples; i++) {
        assert_null(strstr(cat.samples[i].path, "zz.png"));
        assert_string_not_equal(cat.samples[i].path, "dog/d.png");
    }
    /* The chain: f.png once, every other link refused. */
    assert_int_equal(count_ok(&cat, "fan"), 1);
    assert_true(cat.nsamples < 100);
    sp_catalog_free(&cat);
}

/* Only rows accepted as samples declare classes: a repeated path, a bad split, a missing
 * field, a path or link leaving the folder and a missing file add no class, so the indexes
 * (.cls) of the real classes do not shift. A classes file is the class list as it is. */
static void test_csv_phantom_classes(void **state)
{
    (void)state;
    put("ph/img/a.png", "x");
    put("ph/img/b.png", "x");
    put("ph/img/c.png", "x");
    put("phaway/x.png", "x");
    char target[400];
    snprintf(target, sizeof(target), "%s/phaway/x.png", root);
    link_at(target, "ph/img/out.png");
    put("ph/list.csv", "path,label,split\n"
                       "img/b.png,dog\n"           /* 2 */
                       "img/a.png,cat\n"           /* 3 */
                       "img/missing.png,aardvark\n" /* 4: no such file */
                       "img/a.png,zebra\n"         /* 5: listed before */
                       "img/c.png,emu,somewhere\n" /* 6: bad split */
                       "../phaway/x.png,yak\n"     /* 7: escapes */
                       "img/out.png,wolf\n"        /* 8: a link outside */
                       "img/c.png\n");             /* 9: missing field */
    char path[300];
    snprintf(path, sizeof(path), "%s/ph/list.csv", root);
    sp_catalog cat;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(enumerate(path, NULL, &cat, &err), SP_OK);
    assert_int_equal(cat.nclasses, 2);
    assert_string_equal(cat.classes[0], "cat");
    assert_string_equal(cat.classes[1], "dog");
    assert_int_equal(find(&cat, "img/a.png")->label, 0);
    assert_int_equal(find(&cat, "img/b.png")->label, 1);
    const sp_sample *s = find(&cat, "img/missing.png");
    assert_int_equal(s->status, SP_E_IO);
    assert_int_equal(s->label, -1);
    assert_int_equal(find(&cat, "list.csv:5")->status, SP_E_BADROW);
    assert_int_equal(find(&cat, "list.csv:6")->status, SP_E_BADROW);
    assert_int_equal(find(&cat, "list.csv:7")->status, SP_E_UNSAFE);
    assert_int_equal(find(&cat, "img/out.png")->status, SP_E_UNSAFE);
    assert_int_equal(find(&cat, "list.csv:9")->status, SP_E_BADROW);
    for (size_t i = 0; i < cat.nsamples; i++)
        if (cat.samples[i].status == SP_OK) assert_true(cat.samples[i].label >= 0);
    sp_catalog_free(&cat);

    /* All-integer labels: a repeated row's name does not turn them into names, a missing
     * file's index does not stretch 0..max. */
    put("ph/nums.csv", "path,label\nimg/a.png,0\nimg/b.png,1\nimg/a.png,zebra\n"
                       "img/missing.png,7\n");
    snprintf(path, sizeof(path), "%s/ph/nums.csv", root);
    assert_int_equal(enumerate(path, NULL, &cat, &err), SP_OK);
    assert_int_equal(cat.nclasses, 2);
    assert_string_equal(class_of(&cat, find(&cat, "img/a.png")), "0");
    assert_string_equal(class_of(&cat, find(&cat, "img/b.png")), "1");
    sp_catalog_free(&cat);

    /* A classes file: its list, in its order, classes without samples included. */
    put("ph/classes.txt", "zebra\ncat\ndog\naardvark\n");
    char classes[300];
    snprintf(classes, sizeof(classes), "%s/ph/classes.txt", root);
    snprintf(path, sizeof(path), "%s/ph/list.csv", root);
    assert_int_equal(enumerate(path, (const char *const[]){"classes", classes, NULL}, &cat, &err),
                     SP_OK);
    assert_int_equal(cat.nclasses, 4);
    assert_string_equal(cat.classes[0], "zebra");
    assert_string_equal(cat.classes[3], "aardvark");
    assert_int_equal(find(&cat, "img/a.png")->label, 1);
    assert_int_equal(find(&cat, "img/b.png")->label, 2);
    assert_int_equal(find(&cat, "list.csv:5")->status, SP_E_BADROW);
    sp_catalog_free(&cat);
}

/* A flat archive labelled by a manifest: a row naming no member, or a member named
 * before, declares no class either. */
static void test_csv_archive_manifest(void **state)
{
    (void)state;
    char path[300], manifest[300];
    snprintf(path, sizeof(path), "%s/flat.tar", root);
    sp_tar_writer *w;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_tar_open(path, &w, &err), SP_OK);
    assert_int_equal(sp_tar_add(w, "a.png", "a", 1, &err), SP_OK);
    assert_int_equal(sp_tar_add(w, "b.png", "b", 1, &err), SP_OK);
    assert_int_equal(sp_tar_add(w, "c.png", "c", 1, &err), SP_OK);
    uint64_t bytes;
    assert_int_equal(sp_tar_finish(w, &bytes, &err), SP_OK);
    sp_tar_free(&w);
    put("flat.csv", "path,label,split\nb.png,dog,val\na.png,cat\ngone.png,aardvark\n"
                    "a.png,zebra\n");
    snprintf(manifest, sizeof(manifest), "%s/flat.csv", root);
    sp_catalog cat;
    assert_int_equal(enumerate(path, (const char *const[]){"manifest", manifest, NULL}, &cat,
                               &err),
                     SP_OK);
    assert_int_equal(cat.nclasses, 2);
    assert_string_equal(cat.classes[0], "cat");
    assert_string_equal(cat.classes[1], "dog");
    assert_int_equal(find(&cat, "a.png")->label, 0);
    const sp_sample *s = find(&cat, "b.png");
    assert_int_equal(s->label, 1);
    assert_int_equal(s->split_hint, SP_SPLIT_VAL);
    assert_int_equal(find(&cat, "c.png")->status, SP_E_NOLABEL);
    s = find(&cat, "flat.csv:4");
    assert_int_equal(s->status, SP_E_BADROW);
    assert_non_null(strstr(s->detail, "no member gone.png"));
    s = find(&cat, "flat.csv:5");
    assert_int_equal(s->status, SP_E_BADROW);
    assert_non_null(strstr(s->detail, "listed before, at line 3"));
    sp_catalog_free(&cat);

    /* A member rejected at scan (over max_file_bytes) is still there: its row is good, it
     * keeps its class and its own reason, and no "no member" row is added. */
    snprintf(path, sizeof(path), "%s/big.tar", root);
    assert_int_equal(sp_tar_open(path, &w, &err), SP_OK);
    static char big[5000];
    assert_int_equal(sp_tar_add(w, "a.png", big, sizeof(big), &err), SP_OK);
    assert_int_equal(sp_tar_add(w, "b.png", "b", 1, &err), SP_OK);
    assert_int_equal(sp_tar_finish(w, &bytes, &err), SP_OK);
    sp_tar_free(&w);
    put("big.csv", "path,label\na.png,cat\nb.png,dog\n");
    snprintf(manifest, sizeof(manifest), "%s/big.csv", root);
    max_file_bytes = 1000;
    assert_int_equal(enumerate(path, (const char *const[]){"manifest", manifest, NULL}, &cat,
                               &err),
                     SP_OK);
    max_file_bytes = 1u << 20;
    assert_int_equal(cat.nsamples, 2);
    assert_int_equal(cat.nclasses, 2);
    s = find(&cat, "a.png");
    assert_int_equal(s->status, SP_E_MAX_FILE_BYTES);
    assert_string_equal(class_of(&cat, s), "cat");
    assert_string_equal(class_of(&cat, find(&cat, "b.png")), "dog");
    sp_catalog_free(&cat);
}

/* A manifest path is followed only while its real path stays in the manifest's real
 * folder (reached through a link itself here): a link out, to /etc/passwd, or through a
 * linked folder is unsafe_member, named with its target; a link inside works. */
static void test_csv_links(void **state)
{
    (void)state;
    char target[400], path[300];
    put("ml/img/in.png", "x");
    put("mlaway/x.png", "x");
    link_at("in.png", "ml/img/alias.png");
    snprintf(target, sizeof(target), "%s/mlaway/x.png", root);
    link_at(target, "ml/img/outside.png");
    link_at("/etc/passwd", "ml/img/evil.png");
    link_at("../mlaway", "ml/sub");
    link_at("nothere.png", "ml/img/dangling.png");
    link_at("ml", "mlvia");
    put("ml/list.csv", "path,label\nimg/in.png,cat\nimg/alias.png,dog\nimg/outside.png,cat\n"
                       "img/evil.png,cat\nsub/x.png,cat\nimg/dangling.png,cat\n");
    snprintf(path, sizeof(path), "%s/mlvia/list.csv", root);
    sp_catalog cat;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(enumerate(path, NULL, &cat, &err), SP_OK);
    assert_int_equal(cat.nclasses, 2);
    const sp_sample *s = find(&cat, "img/in.png");
    assert_int_equal(s->status, SP_OK);
    assert_string_equal(class_of(&cat, s), "cat");
    s = find(&cat, "img/alias.png");
    assert_int_equal(s->status, SP_OK);
    assert_string_equal(class_of(&cat, s), "dog");
    s = find(&cat, "img/outside.png");
    assert_int_equal(s->status, SP_E_UNSAFE);
    assert_non_null(strstr(s->detail, "line 4: img/outside.png leads through a symlink to "));
    assert_non_null(strstr(s->detail, "mlaway/x.png, outside the manifest's folder"));
    s = find(&cat, "img/evil.png");
    assert_int_equal(s->status, SP_E_UNSAFE);
    assert_non_null(strstr(s->detail, "/etc/passwd"));
    s = find(&cat, "sub/x.png");
    assert_int_equal(s->status, SP_E_UNSAFE);
    assert_non_null(strstr(s->detail, "mlaway/x.png"));
    s = find(&cat, "img/dangling.png");
    assert_int_equal(s->status, SP_E_IO);
    assert_non_null(strstr(s->detail, "line 7: img/dangling.png: No such file"));
    sp_catalog_free(&cat);
}

static void test_path_safe(void **state)
{
    (void)state;
    assert_true(sp_input_path_safe("a/b.png"));
    assert_true(sp_input_path_safe("a/..b/c"));
    assert_true(sp_input_path_safe("..a"));
    assert_false(sp_input_path_safe(""));
    assert_false(sp_input_path_safe("/etc/passwd"));
    assert_false(sp_input_path_safe(".."));
    assert_false(sp_input_path_safe("a/../../b"));
    assert_false(sp_input_path_safe("a/.."));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_folders), cmocka_unit_test(test_split_archive),
        cmocka_unit_test(test_csv),           cmocka_unit_test(test_csv_indexes),
        cmocka_unit_test(test_path_safe),     cmocka_unit_test(test_csv_number_names),
        cmocka_unit_test(test_csv_many),        cmocka_unit_test(test_csv_huge),
        cmocka_unit_test(test_csv_phantom_classes), cmocka_unit_test(test_csv_archive_manifest),
        cmocka_unit_test(test_csv_links),
        cmocka_unit_test(test_classes_file),
        cmocka_unit_test(test_folder_links),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
