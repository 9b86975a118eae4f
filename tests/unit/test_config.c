/*
 * Unit tests for pipeline.ini loading (src/config.c through sp_pipeline_load_string).
 *
 * Why: the config loader is the user's first contact with shardpack. Its promise is that
 * every problem is reported at once, each with file:line and a hint ("did you mean"), and
 * that sp_last_error() points at the first one. These tests capture the log through
 * sp_ctx_set_log and check the exact locations and hints, the stage graph that a valid
 * file produces (names, types, inputs, option values), --set overrides, and the graph
 * checks (missing input, stage after a sink, no sink).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- log capture ------------------------------------------------------------------- */

typedef struct logcap {
    char buf[32768];
    size_t len;
    int nerrors; /* messages at SP_LOG_ERROR */
} logcap;

static logcap g_log;
static sp_ctx *g_ctx;

static void capture(void *user, sp_log_level level, const char *msg)
{
    logcap *l = user;
    if (level == SP_LOG_ERROR) l->nerrors++;
    int k = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, "%s\n", msg);
    if (k > 0) l->len += (size_t)k;
    if (l->len >= sizeof(l->buf)) l->len = sizeof(l->buf) - 1;
}

static int setup(void **state)
{
    (void)state;
    memset(&g_log, 0, sizeof(g_log));
    if (sp_ctx_new(&g_ctx) != SP_OK) return -1;
    sp_ctx_set_log(g_ctx, capture, &g_log);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sp_ctx_free(&g_ctx);
    return 0;
}

static int load(const char *text, const char *const *ov, size_t n, sp_pipeline **out)
{
    memset(&g_log, 0, sizeof(g_log));
    return sp_pipeline_load_string(g_ctx, text, "cfg.ini", ov, n, out);
}

#define assert_log_has(s)                                                                     \
    do {                                                                                       \
        if (!strstr(g_log.buf, (s))) fail_msg("log lacks \"%s\"; log was:\n%s", (s), g_log.buf); \
    } while (0)

/* Number of log lines that start with "cfg.ini:<digit>" or "--set:": one per located error
 * (the offending source line is shown indented on the next line, so it is not counted). */
static int located_errors(void)
{
    int n = 0;
    const char *p = g_log.buf;
    while (*p) {
        if ((strncmp(p, "cfg.ini:", 8) == 0 && p[8] >= '0' && p[8] <= '9') ||
            strncmp(p, "--set:", 6) == 0)
            n++;
        const char *nl = strchr(p, '\n');
        if (!nl) break;
        p = nl + 1;
    }
    return n;
}

/* Asserts a failed load: SP_E_CONFIG, no pipeline, last error a config error at `line`. */
static void assert_config_error(int rc, sp_pipeline *pipe, int line)
{
    assert_int_equal(rc, SP_E_CONFIG);
    assert_null(pipe);
    const sp_error *e = sp_last_error(g_ctx);
    assert_int_equal(e->code, SP_E_CONFIG);
    assert_int_equal(e->line, line);
    assert_true(g_log.nerrors >= 1);
}

/* The canonical text of a stage option, through the option table. */
static void assert_opt(const sp_stage *st, const char *name, const char *want)
{
    const sp_option *o = sp_option_find(st->desc->options, name);
    if (!o) fail_msg("stage [%s] has no option %s", st->name, name);
    sp_buf b = {0};
    sp_option_format(o, st->opts, &b);
    assert_false(b.oom);
    if (!b.data || strcmp(b.data, want) != 0)
        fail_msg("[%s] %s = '%s', expected '%s'", st->name, name, b.data ? b.data : "", want);
    sp_buf_free(&b);
}

/* ---- a valid pipeline --------------------------------------------------------------- */

static const char valid_ini[] =
    "[run]\n"                    /* 1 */
    "seed = 7\n"                 /* 2 */
    "output = /tmp/sp-out\n"     /* 3 */
    "on_error = fail\n"          /* 4 */
    "\n"                         /* 5 */
    "[source]\n"                 /* 6 */
    "path = examples/data\n"     /* 7 */
    "max_depth = 3\n"            /* 8 */
    "\n"                         /* 9 */
    "[shuffle]\n"                /* 10 */
    "seed = 12\n"                /* 11 */
    "\n"                         /* 12 */
    "; shorter side to 128\n"    /* 13 */
    "[resize]\n"                 /* 14 */
    "size = 128\n"               /* 15 */
    "filter = lanczos3\n"        /* 16 */
    "\n"                         /* 17 */
    "[crop]\n"                   /* 18 */
    "width = 112\n"              /* 19 */
    "height = 96\n"              /* 20 */
    "\n"                         /* 21 */
    "[encode]\n"                 /* 22 */
    "format = png\n"             /* 23 */
    "quality = 75\n"             /* 24 */
    "\n"                         /* 25 */
    "[shards]\n"                 /* 26 */
    "type = tar\n"               /* 27 */
    "prefix = train\n"           /* 28 */
    "max_records = 10\n"         /* 29 */
    "max_bytes = 64M\n";         /* 30 */

static void test_valid_pipeline(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load(valid_ini, NULL, 0, &p);
    if (rc != SP_OK) fail_msg("load failed: %s\n%s", sp_errmsg(g_ctx), g_log.buf);
    assert_non_null(p);
    assert_int_equal(g_log.nerrors, 0);
    assert_int_equal(sp_last_error(g_ctx)->code, SP_OK);

    /* [run] is not a stage; the six others are, in file order, each fed by the one before. */
    static const char *const names[] = {"source", "shuffle", "resize", "crop", "encode",
                                        "shards"};
    static const char *const types[] = {"source", "shuffle", "resize", "crop", "encode", "tar"};
    static const sp_stage_kind kinds[] = {SP_STAGE_SOURCE, SP_STAGE_RECORD, SP_STAGE_PIXEL,
                                          SP_STAGE_PIXEL,  SP_STAGE_PIXEL,  SP_STAGE_SINK};
    static const int lines[] = {6, 10, 14, 18, 22, 26};
    assert_int_equal(p->nstages, 6);
    for (size_t i = 0; i < 6; i++) {
        const sp_stage *st = &p->stages[i];
        assert_string_equal(st->name, names[i]);
        assert_non_null(st->desc);
        assert_ptr_equal(st->desc, sp_stage_desc_by_name(types[i]));
        assert_int_equal(st->desc->kind, kinds[i]);
        assert_int_equal(st->line, lines[i]);
        assert_int_equal(st->ninputs, i == 0 ? 0 : 1);
        if (i > 0) assert_int_equal(st->inputs[0].stage, (int)i - 1);
    }

    assert_int_equal(p->run.seed, 7);
    assert_string_equal(p->run.output, "/tmp/sp-out");
    assert_string_equal(sp_pipeline_output(p), "/tmp/sp-out");
    assert_int_equal(p->run.on_error, SP_ON_ERROR_FAIL);
    /* Limits come from the [run] defaults. */
    assert_int_equal(p->limits.max_pixels, 178956970);
    assert_int_equal(p->limits.max_file_bytes, 256u << 20);
    assert_int_equal(p->limits.max_dimension, 65500);
    assert_int_equal(p->limits.max_scans, 256);

    assert_opt(&p->stages[0], "path", "examples/data");
    assert_opt(&p->stages[0], "max_depth", "3");
    assert_opt(&p->stages[1], "seed", "12");
    assert_opt(&p->stages[2], "size", "128");
    assert_opt(&p->stages[2], "filter", "lanczos3");
    assert_opt(&p->stages[3], "width", "112");
    assert_opt(&p->stages[3], "height", "96");

    const sp_encode_opts *enc = p->stages[4].opts;
    assert_ptr_equal(sp_encode_format(enc), &sp_format_png);
    assert_int_equal(enc->quality, 75);

    const sp_tar_sink_opts *tar = p->stages[5].opts;
    assert_string_equal(tar->common.prefix, "train");
    assert_int_equal(tar->common.max_records, 10);
    assert_int_equal(tar->common.max_bytes, (uint64_t)64 << 20);

    /* The CLI's -o wins over [run] output. */
    assert_int_equal(sp_pipeline_set_output(p, "/elsewhere"), SP_OK);
    assert_string_equal(sp_pipeline_output(p), "/elsewhere");
    sp_pipeline_free(&p);
    assert_null(p);
}

/* Options left out take their table defaults, and [run] applies even when absent. */
static void test_defaults(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[source]\npath = d\n[resize]\n[crop]\n[encode]\n[out]\ntype = tar\n", NULL, 0,
                  &p);
    if (rc != SP_OK) fail_msg("load failed: %s\n%s", sp_errmsg(g_ctx), g_log.buf);
    assert_int_equal(p->nstages, 5);
    assert_int_equal(p->run.seed, 0);
    assert_string_equal(sp_pipeline_output(p), "out");
    assert_int_equal(p->run.on_error, SP_ON_ERROR_SKIP);
    assert_opt(&p->stages[0], "max_depth", "16");
    assert_opt(&p->stages[1], "size", "256");
    assert_opt(&p->stages[1], "filter", "bilinear");
    assert_opt(&p->stages[2], "width", "224");
    const sp_encode_opts *enc = p->stages[3].opts;
    assert_ptr_equal(sp_encode_format(enc), &sp_format_jpeg);
    assert_int_equal(enc->quality, 90);
    const sp_tar_sink_opts *tar = p->stages[4].opts;
    assert_string_equal(tar->common.prefix, "");
    assert_int_equal(tar->common.max_records, 1000);
    assert_int_equal(tar->common.max_bytes, (uint64_t)1 << 30);
    sp_pipeline_free(&p);
}

/* ---- one error at a time ------------------------------------------------------------ */

static void test_unknown_key(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[source]\n"       /* 1 */
                  "path = data\n"    /* 2 */
                  "\n"               /* 3 */
                  "[shuffle]\n"      /* 4 */
                  "\n"               /* 5 */
                  "[resize]\n"       /* 6 */
                  "sise = 5\n"       /* 7 */
                  "\n"               /* 8 */
                  "[out]\n"          /* 9 */
                  "type = tar\n",    /* 10 */
                  NULL, 0, &p);
    assert_config_error(rc, p, 7);
    assert_log_has("cfg.ini:7:");
    assert_log_has("[resize] unknown option 'sise'");
    assert_log_has("did you mean 'size'");
    assert_log_has("\n    sise = 5"); /* the offending line is shown */
    assert_int_equal(located_errors(), 1);
    assert_int_equal(g_log.nerrors, 1);
    assert_string_equal(sp_last_error(g_ctx)->path, "cfg.ini");
    assert_non_null(strstr(sp_last_error(g_ctx)->msg, "sise"));
    /* sp_errmsg formats file:line: msg */
    assert_non_null(strstr(sp_errmsg(g_ctx), "cfg.ini:7: "));
}

static void test_unknown_key_no_hint(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[source]\npath = d\n[resize]\nzzzzzzzz = 1\n[out]\ntype = tar\n", NULL, 0, &p);
    assert_config_error(rc, p, 4);
    assert_log_has("cfg.ini:4: [resize] unknown option 'zzzzzzzz'");
    /* Nothing is close: no suggestion rather than a wrong one. */
    assert_null(strstr(g_log.buf, "did you mean"));
}

static void test_out_of_range(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[source]\n"        /* 1 */
                  "path = d\n"        /* 2 */
                  "[encode]\n"        /* 3 */
                  "format = jpeg\n"   /* 4 */
                  "quality = 101\n"   /* 5 */
                  "[out]\n"           /* 6 */
                  "type = tar\n",     /* 7 */
                  NULL, 0, &p);
    assert_config_error(rc, p, 5);
    assert_log_has("cfg.ini:5: [encode] quality = 101 is out of range [1, 100]");
    assert_int_equal(located_errors(), 1);
}

static void test_bad_enum(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[source]\npath = d\n\n[resize]\nsize = 64\nfilter = bilinearr\n[out]\ntype = tar\n",
                  NULL, 0, &p);
    assert_config_error(rc, p, 6);
    assert_log_has("cfg.ini:6: [resize] filter = bilinearr is not valid");
    assert_log_has("expected one of: nearest, bilinear, bicubic, lanczos3, area");
}

static void test_unknown_stage_type(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[source]\n"        /* 1 */
                  "path = d\n"        /* 2 */
                  "[mix]\n"           /* 3 */
                  "type = shufle\n"   /* 4 */
                  "[resze]\n"         /* 5: no type: the section name is the type */
                  "size = 3\n"        /* 6 */
                  "[out]\n"           /* 7 */
                  "type = tar\n",     /* 8 */
                  NULL, 0, &p);
    assert_config_error(rc, p, 4);
    assert_log_has("cfg.ini:4: [mix] unknown stage type 'shufle' (did you mean 'shuffle'?)");
    assert_log_has("cfg.ini:5: [resze] unknown stage type 'resze' (did you mean 'resize'?)");
    assert_int_equal(located_errors(), 2);

    /* A misspelled sink is one error, not also "no sink". */
    rc = load("[source]\npath = d\n[shards]\ntype = tarr\n", NULL, 0, &p);
    assert_config_error(rc, p, 4);
    assert_log_has("cfg.ini:4: [shards] unknown stage type 'tarr' (did you mean 'tar'?)");
    assert_null(strstr(g_log.buf, "no sink"));
    assert_int_equal(g_log.nerrors, 1);
}

static void test_duplicate_key(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[source]\n"        /* 1 */
                  "path = a\n"        /* 2 */
                  "max_depth = 2\n"   /* 3 */
                  "path = b\n"        /* 4 */
                  "[out]\n"           /* 5 */
                  "type = tar\n",     /* 6 */
                  NULL, 0, &p);
    assert_config_error(rc, p, 4);
    assert_log_has("cfg.ini:4: [source] path is set twice (first on line 2)");
    assert_int_equal(located_errors(), 1);
}

static void test_duplicate_section(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[source]\npath = a\n[out]\ntype = tar\n[source]\nmax_depth = 1\n", NULL, 0, &p);
    assert_config_error(rc, p, 5);
    assert_log_has("cfg.ini:5: section [source] appears twice");
}

/* ---- every error at once ------------------------------------------------------------ */

static void test_several_errors(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[run]\n"             /* 1 */
                  "seed = -4\n"         /* 2: out of range */
                  "[source]\n"          /* 3 */
                  "path = d\n"          /* 4 */
                  "max_depth = deep\n"  /* 5: not an integer */
                  "[resize]\n"          /* 6 */
                  "sise = 256\n"        /* 7: unknown key */
                  "filter = cubic\n"    /* 8: bad enum */
                  "[crop]\n"            /* 9 */
                  "width = 0\n"         /* 10: out of range */
                  "[mix]\n"             /* 11 */
                  "type = shufle\n"     /* 12: unknown type */
                  "[shards]\n"          /* 13 */
                  "type = tar\n",       /* 14 */
                  NULL, 0, &p);
    assert_config_error(rc, p, 2);
    static const char *const want[] = {
        "cfg.ini:2: [run] seed = -4 is out of range",
        "cfg.ini:5: [source] max_depth = deep is not an integer",
        "cfg.ini:7: [resize] unknown option 'sise' (did you mean 'size'?)",
        "cfg.ini:8: [resize] filter = cubic is not valid (expected one of:",
        "cfg.ini:10: [crop] width = 0 is out of range",
        "cfg.ini:12: [mix] unknown stage type 'shufle' (did you mean 'shuffle'?)",
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(want); i++) assert_log_has(want[i]);
    /* Six located errors, one summary line, and nothing else at error level. */
    assert_int_equal(located_errors(), 6);
    assert_log_has("cfg.ini: 6 errors in the configuration");
    assert_int_equal(g_log.nerrors, 7);
    /* The errors come in file order. */
    const char *prev = g_log.buf;
    for (size_t i = 0; i < SP_ARRAY_LEN(want); i++) {
        const char *at = strstr(g_log.buf, want[i]);
        assert_true(at >= prev);
        prev = at;
    }
}

/* ---- --set overrides ---------------------------------------------------------------- */

static const char base_ini[] = "[source]\n"       /* 1 */
                               "path = d\n"       /* 2 */
                               "[resize]\n"       /* 3 */
                               "size = 64\n"      /* 4 */
                               "[encode]\n"       /* 5 */
                               "quality = 101\n"  /* 6: invalid until overridden */
                               "[out]\n"          /* 7 */
                               "type = tar\n";    /* 8 */

static void test_overrides(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    /* Without the override the file is invalid. */
    assert_int_equal(load(base_ini, NULL, 0, &p), SP_E_CONFIG);
    assert_null(p);

    const char *const ov[] = {
        "resize.size=300",     /* replaces a value */
        "encode.quality=50",   /* replaces an invalid value before validation */
        "resize.filter=area",  /* adds a key to an existing section */
        "run.seed=99",         /* creates the [run] section */
        "run.output=/o",
        "side.type=crop",      /* creates a new stage, branching off resize */
        "side.input=resize",
        "side.width=10",
        "sideout.type=tar",    /* and a sink for the branch */
        "sideout.input=side",
    };
    int rc = load(base_ini, ov, SP_ARRAY_LEN(ov), &p);
    if (rc != SP_OK) fail_msg("load failed: %s\n%s", sp_errmsg(g_ctx), g_log.buf);
    assert_int_equal(g_log.nerrors, 0);
    assert_int_equal(p->nstages, 6);
    assert_opt(&p->stages[1], "size", "300");
    assert_opt(&p->stages[1], "filter", "area");
    assert_int_equal(((const sp_encode_opts *)p->stages[2].opts)->quality, 50);
    assert_int_equal(p->run.seed, 99);
    assert_string_equal(sp_pipeline_output(p), "/o");
    const sp_stage *side = &p->stages[4];
    assert_string_equal(side->name, "side");
    assert_ptr_equal(side->desc, sp_stage_desc_by_name("crop"));
    assert_int_equal(side->inputs[0].stage, 1);
    assert_opt(side, "width", "10");
    assert_opt(side, "height", "224");
    sp_pipeline_free(&p);
}

static void test_override_errors(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    const char *const bad_syntax[] = {"encode.quality=50", "resize.size"};
    int rc = load(base_ini, bad_syntax, 2, &p);
    assert_config_error(rc, p, 0);
    assert_string_equal(sp_last_error(g_ctx)->path, "--set");
    assert_log_has("--set: 'resize.size' is not SECTION.KEY=VALUE");

    /* A bad value given with --set is reported against --set, not a file line. */
    const char *const bad_value[] = {"encode.quality=50", "resize.size=0"};
    rc = load(base_ini, bad_value, 2, &p);
    assert_config_error(rc, p, 0);
    assert_log_has("--set: [resize] size = 0 is out of range");
    assert_int_equal(located_errors(), 1);
}

/* ---- the stage graph ---------------------------------------------------------------- */

static void test_input_missing_section(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[source]\n"          /* 1 */
                  "path = d\n"          /* 2 */
                  "[resize]\n"          /* 3 */
                  "[crop]\n"            /* 4 */
                  "input = resise\n"    /* 5 */
                  "[out]\n"             /* 6 */
                  "type = tar\n",       /* 7 */
                  NULL, 0, &p);
    assert_config_error(rc, p, 5);
    assert_log_has("cfg.ini:5: [crop] input 'resise' is not a section (did you mean 'resize'?)");
}

static void test_explicit_input(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    /* Two branches from one source, each with its own sink. */
    int rc = load("[source]\npath = d\n"
                  "[a]\ntype = tar\n"
                  "[small]\ntype = resize\ninput = source\nsize = 32\n"
                  "[b]\ntype = tar\n",
                  NULL, 0, &p);
    if (rc != SP_OK) fail_msg("load failed: %s\n%s", sp_errmsg(g_ctx), g_log.buf);
    assert_int_equal(p->nstages, 4);
    assert_int_equal(p->stages[1].inputs[0].stage, 0);
    assert_int_equal(p->stages[2].inputs[0].stage, 0);
    assert_int_equal(p->stages[3].inputs[0].stage, 2);
    sp_pipeline_free(&p);
}

static void test_stage_after_sink(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[source]\n"      /* 1 */
                  "path = d\n"      /* 2 */
                  "[shards]\n"      /* 3 */
                  "type = tar\n"    /* 4 */
                  "[crop]\n"        /* 5 */
                  "width = 8\n",    /* 6 */
                  NULL, 0, &p);
    assert_config_error(rc, p, 5);
    assert_log_has("cfg.ini:5: [crop] comes after the sink [shards]");
    assert_int_equal(located_errors(), 1);
}

static void test_no_sink(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[source]\npath = d\n[resize]\n", NULL, 0, &p);
    assert_config_error(rc, p, 0);
    assert_log_has("cfg.ini: the pipeline has no sink stage");
    assert_string_equal(sp_last_error(g_ctx)->path, "cfg.ini");
}

static void test_no_stages(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[run]\nseed = 1\n", NULL, 0, &p);
    assert_config_error(rc, p, 0);
    assert_log_has("the pipeline has no stages");
}

static void test_first_stage_not_source(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("\n[resize]\n[source]\npath = d\n[out]\ntype = tar\n", NULL, 0, &p);
    assert_config_error(rc, p, 2);
    assert_log_has("cfg.ini:2: [resize] has no input: the first stage must be a source");
}

/* inih never reports an empty section; the loader must still make it a stage. */
static void test_empty_section_is_stage(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    int rc = load("[source]\n"      /* 1 */
                  "path = d\n"      /* 2 */
                  "\n"              /* 3 */
                  "[shuffle]\n"     /* 4 */
                  "\n"              /* 5 */
                  "[out]\n"         /* 6 */
                  "type = tar\n",   /* 7 */
                  NULL, 0, &p);
    if (rc != SP_OK) fail_msg("load failed: %s\n%s", sp_errmsg(g_ctx), g_log.buf);
    assert_int_equal(p->nstages, 3);
    assert_string_equal(p->stages[1].name, "shuffle");
    assert_ptr_equal(p->stages[1].desc, sp_stage_desc_by_name("shuffle"));
    assert_string_equal(p->stages[1].desc->name, "shuffle");
    assert_int_equal(p->stages[1].desc->kind, SP_STAGE_RECORD);
    assert_int_equal(p->stages[1].line, 4);
    assert_int_equal(p->stages[1].inputs[0].stage, 0);
    assert_int_equal(p->stages[2].inputs[0].stage, 1);
    assert_opt(&p->stages[1], "seed", "-1");
    sp_pipeline_free(&p);

    /* An empty section on the very last line, with no newline after it, is still seen
     * (here it is reported as coming after the sink, on its own line). */
    rc = load("[source]\npath = d\n[out]\ntype = tar\n[shuffle]", NULL, 0, &p);
    assert_config_error(rc, p, 5);
    assert_log_has("cfg.ini:5: [shuffle] comes after the sink [out]");
}

/* ---- required options ---------------------------------------------------------------- */

static void test_required_options(void **state)
{
    (void)state;
    sp_pipeline *p = NULL;
    /* [run] output has a default: a [run] section that leaves it out is valid. */
    int rc = load("[run]\nseed = 1\n[source]\npath = d\n[out]\ntype = tar\n", NULL, 0, &p);
    if (rc != SP_OK) fail_msg("load failed: %s\n%s", sp_errmsg(g_ctx), g_log.buf);
    assert_string_equal(sp_pipeline_output(p), "out");
    sp_pipeline_free(&p);

    /* ... but it must not be set to nothing. */
    rc = load("[run]\noutput =\n[source]\npath = d\n[out]\ntype = tar\n", NULL, 0, &p);
    assert_config_error(rc, p, 2);
    assert_log_has("cfg.ini:2: [run] output must not be empty");

    /* [source] path has no default: leaving it out is reported at the section. */
    rc = load("[source]\nmax_depth = 2\n[out]\ntype = tar\n", NULL, 0, &p);
    assert_config_error(rc, p, 1);
    assert_log_has("cfg.ini:1: [source] missing required option 'path'");
}

/* ---- line length ------------------------------------------------------------------- */

/* A config of [source], [out] and a last line "output = xxx..." of `len` characters,
 * with or without a newline at the end. */
static int load_long_last_line(size_t len, bool newline)
{
    static const char head[] = "[source]\npath = d\n[out]\ntype = tar\n[run]\n";
    char *text = malloc(sizeof(head) + len + 2);
    assert_non_null(text);
    memcpy(text, head, sizeof(head) - 1);
    char *line = text + sizeof(head) - 1;
    memcpy(line, "output = ", 9);
    memset(line + 9, 'x', len - 9);
    line[len] = newline ? '\n' : '\0';
    line[len + 1] = '\0';
    sp_pipeline *p = NULL;
    int rc = load(text, NULL, 0, &p);
    free(text);
    if (rc == SP_OK) {
        assert_int_equal(strlen(p->run.output), len - 9);
        sp_pipeline_free(&p);
    } else {
        assert_int_equal(sp_last_error(g_ctx)->line, 6);
        assert_log_has("cfg.ini:6: line is longer than");
    }
    return rc;
}

/* Lines too long for the parser's buffer are reported, not cut; and whether the last line
 * ends with a newline must not change where the limit is (the reader once wrote one byte
 * past inih's buffer for a last line without a newline at exactly the limit). */
static void test_long_lines(void **state)
{
    (void)state;
    size_t limit = 0; /* shortest line that is refused */
    for (size_t len = 20; len < 5000 && !limit; len++)
        if (load_long_last_line(len, true) != SP_OK) limit = len;
    if (!limit) fail_msg("no line length up to 5000 was refused");
    assert_true(limit > 100);
    for (size_t len = limit - 3; len <= limit + 3; len++) {
        int with_nl = load_long_last_line(len, true);
        int without_nl = load_long_last_line(len, false);
        if (with_nl != without_nl)
            fail_msg("a %zu-character last line: %d with a newline, %d without", len, with_nl,
                     without_nl);
        assert_int_equal(with_nl, len < limit ? SP_OK : SP_E_CONFIG);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_valid_pipeline),
        T(test_defaults),
        T(test_unknown_key),
        T(test_unknown_key_no_hint),
        T(test_out_of_range),
        T(test_bad_enum),
        T(test_unknown_stage_type),
        T(test_duplicate_key),
        T(test_duplicate_section),
        T(test_several_errors),
        T(test_overrides),
        T(test_override_errors),
        T(test_input_missing_section),
        T(test_explicit_input),
        T(test_stage_after_sink),
        T(test_no_sink),
        T(test_no_stages),
        T(test_first_stage_not_source),
        T(test_empty_section_is_stage),
        T(test_required_options),
        T(test_long_lines),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
