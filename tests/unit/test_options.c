/*
 * Unit tests for option tables (src/options.c): sp_option_parse for every type,
 * sp_options_defaults, sp_option_format.
 *
 * Why: every value in pipeline.ini and every --set goes through sp_option_parse, and the
 * manifest records options through sp_option_format. A value parsed loosely ("12x" read
 * as 12, "1.5G" as 1G) silently builds a different dataset than the user asked for, and a
 * format that does not read back as the same value makes the manifest lie. The tests use
 * a private table with one option of every type, bounded and unbounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

typedef struct topts {
    int64_t count;  /* INT -10..100 */
    int64_t any;    /* INT unbounded */
    double ratio;   /* DOUBLE 0..1 */
    double anyd;    /* DOUBLE unbounded */
    bool flag;      /* BOOL */
    char *name;     /* STRING */
    char *label;    /* STRING, required (must not be empty) */
    int color;      /* ENUM */
    uint64_t mem;   /* SIZE unbounded */
    uint64_t block; /* SIZE 1K..1M */
} topts;

static const sp_enum_choice colors[] = {
    {1, "red", "the first"},
    {2, "green", "the second"},
    {7, "blue", "not consecutive on purpose"},
    {0, NULL, NULL},
};

#define OFF(f) offsetof(topts, f)
static const sp_option table[] = {
    {"count", "", OFF(count), SP_OPT_INT, "5", -10, 100, NULL, 0},
    {"any", "", OFF(any), SP_OPT_INT, "-3", 1, 0, NULL, 0},
    {"ratio", "", OFF(ratio), SP_OPT_DOUBLE, "0.1", 0, 1, NULL, 0},
    {"anyd", "", OFF(anyd), SP_OPT_DOUBLE, "-2.5e3", 1, 0, NULL, 0},
    {"flag", "", OFF(flag), SP_OPT_BOOL, "yes", 0, 0, NULL, 0},
    {"name", "", OFF(name), SP_OPT_STRING, "abc", 0, 0, NULL, 0},
    {"label", "", OFF(label), SP_OPT_STRING, "x", 0, 0, NULL, SP_OPT_REQUIRED},
    {"color", "", OFF(color), SP_OPT_ENUM, "green", 1, 0, colors, 0},
    {"mem", "", OFF(mem), SP_OPT_SIZE, "64M", 1, 0, NULL, 0},
    {"block", "", OFF(block), SP_OPT_SIZE, "4K", 1024, 1048576, NULL, 0},
    SP_OPT_END,
};

static const sp_option *opt(const char *name)
{
    const sp_option *o = sp_option_find(table, name);
    if (!o) fail_msg("no option %s", name);
    return o;
}

/* Parses into *t, asserting success. */
static void ok(topts *t, const char *name, const char *value)
{
    sp_error err;
    sp_error_clear(&err);
    int rc = sp_option_parse(opt(name), t, value, &err);
    if (rc != SP_OK) fail_msg("%s = '%s' refused: %s", name, value, err.msg);
}

/* Asserts value is refused with SP_E_CONFIG, a message naming the option and containing
 * `why`, and the field left as it was. */
static void bad(const char *name, const char *value, const char *why)
{
    topts t, before;
    memset(&t, 0x5a, sizeof(t));
    t.name = t.label = NULL;
    memcpy(&before, &t, sizeof(t));
    sp_error err;
    sp_error_clear(&err);
    int rc = sp_option_parse(opt(name), &t, value, &err);
    if (rc != SP_E_CONFIG) fail_msg("%s = '%s' gave %d, expected SP_E_CONFIG", name, value, rc);
    assert_int_equal(err.code, SP_E_CONFIG);
    if (strncmp(err.msg, name, strlen(name)) != 0 || !strstr(err.msg, why))
        fail_msg("%s = '%s': message '%s' lacks the name or '%s'", name, value, err.msg, why);
    assert_memory_equal(&t, &before, sizeof(t));
}

static void test_find(void **state)
{
    (void)state;
    assert_ptr_equal(sp_option_find(table, "ratio"), &table[2]);
    assert_null(sp_option_find(table, "rati"));
    assert_null(sp_option_find(table, "Ratio"));
    assert_null(sp_option_find(NULL, "ratio"));
    assert_string_equal(sp_opt_type_name(SP_OPT_SIZE), "size");
    assert_string_equal(sp_opt_type_name(SP_OPT_DOUBLE), "float");
}

static void test_int(void **state)
{
    (void)state;
    topts t = {0};
    ok(&t, "count", "42");
    assert_int_equal(t.count, 42);
    ok(&t, "count", "-10"); /* both ends of the range are inside it */
    assert_int_equal(t.count, -10);
    ok(&t, "count", "100");
    assert_int_equal(t.count, 100);
    ok(&t, "count", "007");
    assert_int_equal(t.count, 7);
    bad("count", "101", "out of range [-10, 100]");
    bad("count", "-11", "out of range");
    bad("count", "12x", "is not an integer");
    bad("count", "", "is not an integer");
    bad("count", "x", "is not an integer");
    bad("count", "1.0", "is not an integer");
    bad("count", "0x10", "is not an integer");
    bad("count", "5 ", "is not an integer");

    /* Unbounded: the whole int64 range, and nothing past it. */
    ok(&t, "any", "9223372036854775807");
    assert_true(t.any == INT64_MAX);
    ok(&t, "any", "-9223372036854775808");
    assert_true(t.any == INT64_MIN);
    bad("any", "9223372036854775808", "is not an integer");
    bad("any", "-9223372036854775809", "is not an integer");
}

static void test_double(void **state)
{
    (void)state;
    topts t = {0};
    ok(&t, "ratio", "0.25");
    assert_true(t.ratio == 0.25);
    ok(&t, "ratio", "1e-1");
    assert_true(t.ratio == 0.1);
    ok(&t, "ratio", "0");
    assert_true(t.ratio == 0.0);
    ok(&t, "ratio", "1");
    assert_true(t.ratio == 1.0);
    bad("ratio", "1.0000001", "out of range");
    bad("ratio", "-0.5", "out of range");
    bad("ratio", "1.5x", "is not a number");
    bad("ratio", "", "is not a number");
    bad("ratio", ".", "is not a number");
    ok(&t, "anyd", "-1e300");
    assert_true(t.anyd == -1e300);
    bad("anyd", "nan", "is not a number");
    bad("anyd", "inf", "is not a number");
    bad("anyd", "-infinity", "is not a number");
    bad("anyd", "1e999", "is not a number"); /* overflows to inf */
}

static void test_bool(void **state)
{
    (void)state;
    static const char *const yes[] = {"yes", "on", "true", "1", "YES", "True", "On"};
    static const char *const no[] = {"no", "off", "false", "0", "NO", "False", "oFF"};
    topts t = {0};
    for (size_t i = 0; i < SP_ARRAY_LEN(yes); i++) {
        t.flag = false;
        ok(&t, "flag", yes[i]);
        if (!t.flag) fail_msg("'%s' did not read as true", yes[i]);
    }
    for (size_t i = 0; i < SP_ARRAY_LEN(no); i++) {
        t.flag = true;
        ok(&t, "flag", no[i]);
        if (t.flag) fail_msg("'%s' did not read as false", no[i]);
    }
    bad("flag", "maybe", "is not a boolean (expected true or false)");
    bad("flag", "2", "is not a boolean");
    bad("flag", "", "is not a boolean");
    bad("flag", "yess", "is not a boolean");
    bad("flag", "t", "is not a boolean");
}

static void test_string(void **state)
{
    (void)state;
    topts t = {0};
    ok(&t, "name", "hello world");
    assert_string_equal(t.name, "hello world");
    ok(&t, "name", ""); /* optional strings may be empty */
    assert_string_equal(t.name, "");
    ok(&t, "label", "y");
    assert_string_equal(t.label, "y");
    bad("label", "", "must not be empty");
    sp_options_free(table, &t);
    assert_null(t.name);
    assert_null(t.label);
}

static void test_enum(void **state)
{
    (void)state;
    topts t = {0};
    ok(&t, "color", "blue");
    assert_int_equal(t.color, 7);
    ok(&t, "color", "red");
    assert_int_equal(t.color, 1);
    bad("color", "purple", "is not valid (expected one of: red, green, blue)");
    bad("color", "Red", "expected one of"); /* names are case-sensitive */
    bad("color", "", "expected one of");
    bad("color", "1", "expected one of"); /* values are not names */
}

static void test_size(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t value;
    } good[] = {
        {"0", 0},
        {"512", 512},
        {"4K", 4096},
        {"4k", 4096},
        {"64M", (uint64_t)64 << 20},
        {"64m", (uint64_t)64 << 20},
        {"64MB", (uint64_t)64 << 20},
        {"2G", (uint64_t)2 << 30},
        {"3T", (uint64_t)3 << 40},
        {"5KB", 5120},
        {"16777215T", (uint64_t)16777215 << 40}, /* the largest whole number of T */
        {"18446744073709551615", UINT64_MAX},
    };
    topts t = {0};
    for (size_t i = 0; i < SP_ARRAY_LEN(good); i++) {
        ok(&t, "mem", good[i].text);
        if (t.mem != good[i].value)
            fail_msg("'%s' read as %llu, expected %llu", good[i].text,
                     (unsigned long long)t.mem, (unsigned long long)good[i].value);
    }
    const char *why = "is not a size (expected bytes, optionally with K, M, G or T)";
    bad("mem", "1.5G", why); /* fractions are refused, not truncated to 1G */
    bad("mem", "16777216T", why); /* 2^64: overflow */
    bad("mem", "18446744073709551616", why);
    bad("mem", "-1", why);
    bad("mem", " -5", why); /* strtoull would wrap this to 2^64 - 5 */
    bad("mem", "", why);
    bad("mem", "K", why);
    bad("mem", "12Q", why);
    bad("mem", "5KBB", why);
    bad("mem", "5 K", why);
    bad("mem", "5Kx", why);

    ok(&t, "block", "1K");
    assert_int_equal(t.block, 1024);
    ok(&t, "block", "1M");
    assert_int_equal(t.block, 1048576);
    bad("block", "1023", "out of range");
    bad("block", "1025K", "out of range");
}

static void test_defaults(void **state)
{
    (void)state;
    topts t;
    memset(&t, 0, sizeof(t));
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_options_defaults(table, &t, &err), SP_OK);
    assert_int_equal(t.count, 5);
    assert_int_equal(t.any, -3);
    assert_true(t.ratio == 0.1);
    assert_true(t.anyd == -2500.0);
    assert_true(t.flag);
    assert_string_equal(t.name, "abc");
    assert_string_equal(t.label, "x");
    assert_int_equal(t.color, 2);
    assert_int_equal(t.mem, (uint64_t)64 << 20);
    assert_int_equal(t.block, 4096);
    /* Applying defaults again replaces (and frees) the strings set before. */
    ok(&t, "name", "changed");
    assert_int_equal(sp_options_defaults(table, &t, &err), SP_OK);
    assert_string_equal(t.name, "abc");
    sp_options_free(table, &t);

    /* A table whose default its own validation rejects is an error, not a silent value. */
    static const sp_option broken[] = {
        {"n", "", 0, SP_OPT_INT, "200", 0, 100, NULL, 0},
        SP_OPT_END,
    };
    int64_t n = 0;
    assert_int_equal(sp_options_defaults(broken, &n, &err), SP_E_CONFIG);
    assert_non_null(strstr(err.msg, "out of range"));

    /* Every real table's defaults are valid (the stages and [run]). */
    size_t nd;
    const sp_stage_desc *const *descs = sp_stage_descs(&nd);
    assert_true(nd > 0);
    for (size_t i = 0; i < nd; i++) {
        void *o = calloc(1, descs[i]->opts_size ? descs[i]->opts_size : 1);
        assert_non_null(o);
        if (sp_options_defaults(descs[i]->options, o, &err) != SP_OK)
            fail_msg("stage %s: bad default: %s", descs[i]->name, err.msg);
        sp_options_free(descs[i]->options, o);
        free(o);
    }
    sp_run_opts run;
    memset(&run, 0, sizeof(run));
    assert_int_equal(sp_options_defaults(sp_run_options, &run, &err), SP_OK);
    sp_options_free(sp_run_options, &run);
}

/* Formats one option of t and returns the text (static storage). */
static const char *fmt(const topts *t, const char *name)
{
    static char out[128];
    sp_buf b = {0};
    sp_option_format(opt(name), t, &b);
    assert_false(b.oom);
    snprintf(out, sizeof(out), "%s", b.data ? b.data : "");
    sp_buf_free(&b);
    return out;
}

static void test_format(void **state)
{
    (void)state;
    topts t;
    memset(&t, 0, sizeof(t));
    sp_error err;
    assert_int_equal(sp_options_defaults(table, &t, &err), SP_OK);
    assert_string_equal(fmt(&t, "count"), "5");
    assert_string_equal(fmt(&t, "any"), "-3");
    assert_string_equal(fmt(&t, "ratio"), "0.1"); /* shortest, not 0.10000000000000001 */
    assert_true(strtod(fmt(&t, "anyd"), NULL) == -2500.0);
    assert_string_equal(fmt(&t, "flag"), "true");
    assert_string_equal(fmt(&t, "name"), "abc");
    assert_string_equal(fmt(&t, "color"), "green");
    assert_string_equal(fmt(&t, "mem"), "67108864");
    ok(&t, "flag", "off");
    assert_string_equal(fmt(&t, "flag"), "false");
    ok(&t, "color", "blue");
    assert_string_equal(fmt(&t, "color"), "blue");
    ok(&t, "ratio", "0.3");
    assert_string_equal(fmt(&t, "ratio"), "0.3");
    ok(&t, "any", "-9223372036854775808");
    assert_string_equal(fmt(&t, "any"), "-9223372036854775808");
    sp_options_free(table, &t);
}

/* format → parse gives back the same value for every option, including doubles that need
 * all 17 digits. */
static void test_format_round_trip(void **state)
{
    (void)state;
    const char *env = getenv("SP_TEST_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    print_message("test_format_round_trip: seed %u (set SP_TEST_SEED to repeat)\n", seed);
    srand(seed);
    topts a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    sp_error err;
    assert_int_equal(sp_options_defaults(table, &a, &err), SP_OK);
    assert_int_equal(sp_options_defaults(table, &b, &err), SP_OK);
    static const double specials[] = {1.0 / 3.0, 0.1 + 0.2, 1e-300, DBL_MIN, DBL_MAX, -DBL_MIN,
                                      123456.789, -0.0, 1e21, 2.0 / 3.0e10};
    for (size_t i = 0; i < SP_ARRAY_LEN(specials) + 2000; i++) {
        double v;
        if (i < SP_ARRAY_LEN(specials)) {
            v = specials[i];
        } else { /* random bit patterns: every exponent, every mantissa */
            uint64_t bits = 0;
            for (int k = 0; k < 4; k++) bits = (bits << 16) ^ (uint64_t)(rand() & 0xffff);
            memcpy(&v, &bits, sizeof(v));
            /* Subnormals are left out: strtod reports them as ERANGE. */
            if (!isfinite(v) || (v != 0 && !isnormal(v))) continue;
        }
        a.anyd = v;
        const char *text = fmt(&a, "anyd");
        b.anyd = 0;
        ok(&b, "anyd", text);
        if (memcmp(&a.anyd, &b.anyd, sizeof(double)) != 0 && !(v == 0 && b.anyd == 0))
            fail_msg("%.17g formatted as '%s' reads back as %.17g (seed %u)", v, text, b.anyd,
                     seed);
    }
    /* The other types. */
    ok(&a, "count", "-7");
    ok(&a, "flag", "no");
    ok(&a, "name", "a b;c");
    ok(&a, "color", "red");
    ok(&a, "mem", "3T");
    ok(&a, "block", "1000K");
    static const char *const names[] = {"count", "any", "flag", "name", "label", "color",
                                        "mem", "block"};
    for (size_t i = 0; i < SP_ARRAY_LEN(names); i++) ok(&b, names[i], fmt(&a, names[i]));
    assert_int_equal(b.count, a.count);
    assert_int_equal(b.any, a.any);
    assert_int_equal(b.flag, a.flag);
    assert_string_equal(b.name, a.name);
    assert_string_equal(b.label, a.label);
    assert_int_equal(b.color, a.color);
    assert_int_equal(b.mem, a.mem);
    assert_int_equal(b.block, a.block);
    sp_options_free(table, &a);
    sp_options_free(table, &b);
}

/* Each [run] limit rejects a sample with a reason named after the option that sets it, so
 * a user knows which setting to raise: the codes and the [run] table must not drift apart.
 * Every max_* option of [run] has its code, and every code names a [run] option. */
static void test_limit_codes(void **state)
{
    (void)state;
    static const int codes[] = {SP_RUN_LIMIT_CODES};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *name = sp_strerror(codes[i]);
        const sp_option *o = sp_option_find(sp_run_options, name);
        if (!o) fail_msg("code %d is named %s, not a [run] option", codes[i], name);
        assert_string_equal(o->name, name);
        assert_int_equal(sp_severity_of(codes[i]), SP_SEV_SAMPLE);
        assert_true(sp_is_limit(codes[i]));
        assert_int_not_equal(codes[i], SP_E_LIMIT);
        for (size_t j = 0; j < i; j++) assert_int_not_equal(codes[i], codes[j]);
    }
    size_t nmax = 0;
    for (const sp_option *o = sp_run_options; o->name; o++) {
        if (strncmp(o->name, "max_", 4) != 0) continue;
        nmax++;
        bool found = false;
        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
            found |= strcmp(sp_strerror(codes[i]), o->name) == 0;
        if (!found) fail_msg("[run] %s has no result code of its own", o->name);
    }
    assert_int_equal(nmax, sizeof(codes) / sizeof(codes[0]));
    /* A bound no option sets keeps the generic code; other codes are not limits. */
    assert_string_equal(sp_strerror(SP_E_LIMIT), "limit_exceeded");
    assert_true(sp_is_limit(SP_E_LIMIT));
    assert_false(sp_is_limit(SP_E_CORRUPT));
    assert_false(sp_is_limit(SP_E_TOO_LARGE));
}

/* The summaries (stderr, inspect) count drops by reason from one list: every code that
 * drops a sample is in it, once, with a name of its own. */
static void test_reason_codes(void **state)
{
    (void)state;
    size_t n;
    const int *codes = sp_reason_codes(&n);
    for (int code = -200; code < 0; code++) {
        bool listed = false;
        for (size_t i = 0; i < n; i++) listed |= codes[i] == code;
        bool drops = sp_severity_of(code) == SP_SEV_SAMPLE || code == SP_E_IO;
        if (drops != listed)
            fail_msg("code %d (%s): %s", code, sp_strerror(code),
                     drops ? "drops samples but summaries do not count it"
                           : "is counted as a drop reason but is not one");
    }
    for (size_t i = 0; i < n; i++) {
        assert_string_not_equal(sp_strerror(codes[i]), "unknown_error");
        for (size_t j = 0; j < i; j++) assert_int_not_equal(codes[i], codes[j]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_double),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_string),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_limit_codes),
        cmocka_unit_test(test_reason_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
