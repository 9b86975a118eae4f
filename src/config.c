/*
 * pipeline.ini → sp_pipeline: parse (inih), apply --set overrides, build the stage graph
 * from the option tables, validate. Every problem is reported, each with file:line and the
 * offending line, before anything returns: a user fixes a config in one pass, not ten.
 *
 * inih as packaged by Debian calls the handler without a line number and never for an
 * empty section, so we feed it through our own line reader, which counts lines and notes
 * each section header as it goes by.
 */
#include "internal.h"

#include <ini.h>
#include <stdlib.h>
#include <string.h>


typedef struct cfg_entry {
    char *key, *value;
    int line; /* 0 for --set */
} cfg_entry;

typedef struct cfg_section {
    char *name;
    int line;
    cfg_entry *entries;
    size_t n, cap;
} cfg_section;

typedef struct cfg {
    sp_ctx *ctx;
    const char *file;
    const char *text; /* the whole config */
    const char *pos;  /* reader position */
    int lineno;
    char **lines; /* raw lines, for showing them in errors */
    size_t nlines, caplines;
    cfg_section *sections;
    size_t n, cap;
    int errors;
    bool oom;
} cfg;

/* ---- error reporting ---------------------------------------------------------------- */

static const char *line_text(const cfg *c, int line)
{
    if (line <= 0 || (size_t)line > c->nlines) return NULL;
    return c->lines[line - 1];
}

static void cfg_error(cfg *c, int line, const char *fmt, ...) SP_PRINTF(3, 4);
static void cfg_error(cfg *c, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *text = line_text(c, line);
    while (text && (*text == ' ' || *text == '\t')) text++;
    if (line > 0)
        sp_log(c->ctx, SP_LOG_ERROR, "%s:%d: %s%s%s", c->file, line, msg, text ? "\n    " : "",
               text ? text : "");
    else
        sp_log(c->ctx, SP_LOG_ERROR, "%s: %s", line == 0 ? "--set" : c->file, msg);
    if (c->errors++ == 0) {
        sp_error *e = &c->ctx->err;
        sp_error_clear(e);
        e->code = SP_E_CONFIG;
        e->line = line > 0 ? line : 0;
        snprintf(e->path, sizeof(e->path), "%s", line != 0 ? c->file : "--set");
        snprintf(e->msg, sizeof(e->msg), "%s", msg);
    }
}

/* Levenshtein distance, for "did you mean". Names are short; a quadratic table is fine. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    size_t d[64][64];
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    return d[la][lb];
}

/* Writes " (did you mean 'x'?)" into buf when some candidate is close to name. */
static const char *suggest(const char *name, const char *const *cands, size_t n, char *buf,
                           size_t size)
{
    size_t best = 3;
    const char *pick = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(name, cands[i]);
        if (d < best) {
            best = d;
            pick = cands[i];
        }
    }
    if (pick)
        snprintf(buf, size, " (did you mean '%s'?)", pick);
    else
        buf[0] = '\0';
    return buf;
}

/* ---- reading ------------------------------------------------------------------------ */

static cfg_section *section_get(cfg *c, const char *name, int line, bool create)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->sections[i].name, name) == 0) return &c->sections[i];
    if (!create) return NULL;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        cfg_section *p = realloc(c->sections, cap * sizeof(*p));
        if (!p) {
            c->oom = true;
            return NULL;
        }
        c->sections = p;
        c->cap = cap;
    }
    cfg_section *s = &c->sections[c->n];
    memset(s, 0, sizeof(*s));
    s->name = sp_strdup(name);
    s->line = line;
    if (!s->name) {
        c->oom = true;
        return NULL;
    }
    c->n++;
    return s;
}

static cfg_entry *entry_get(cfg_section *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->entries[i].key, key) == 0) return &s->entries[i];
    return NULL;
}

/* Adds or (for --set) replaces a key. A key given twice in the file is an error. */
static void entry_set(cfg *c, cfg_section *s, const char *key, const char *value, int line)
{
    cfg_entry *e = entry_get(s, key);
    if (e && line > 0) {
        cfg_error(c, line, "[%s] %s is set twice (first on line %d)", s->name, key, e->line);
        return;
    }
    char *v = sp_strdup(value);
    if (!v) {
        c->oom = true;
        return;
    }
    if (e) {
        free(e->value);
        e->value = v;
        e->line = line;
        return;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        cfg_entry *p = realloc(s->entries, cap * sizeof(*p));
        if (!p) {
            free(v);
            c->oom = true;
            return;
        }
        s->entries = p;
        s->cap = cap;
    }
    s->entries[s->n].key = sp_strdup(key);
    s->entries[s->n].value = v;
    s->entries[s->n].line = line;
    if (!s->entries[s->n].key) c->oom = true;
    s->n++;
}

/* inih's reader contract is fgets(): fill str with one line (including '\n'). */
static char *cfg_reader(char *str, int num, void *stream)
{
    cfg *c = stream;
    if (!*c->pos) return NULL;
    const char *nl = strchr(c->pos, '\n');
    size_t len = nl ? (size_t)(nl - c->pos) + 1 : strlen(c->pos);
    c->lineno++;
    char *raw = sp_strndup(c->pos, len - (nl ? 1 : 0));
    if (raw && c->nlines == c->caplines) {
        size_t cap = c->caplines ? c->caplines * 2 : 64;
        char **p = realloc(c->lines, cap * sizeof(*p));
        if (!p) {
            free(raw);
            raw = NULL;
        } else {
            c->lines = p;
            c->caplines = cap;
        }
    }
    if (!raw) {
        c->oom = true;
        return NULL;
    }
    c->lines[c->nlines++] = raw;
    c->pos += len;
    if (len + (nl ? 0 : 1) >= (size_t)num) { /* room for the added newline and NUL */
        cfg_error(c, c->lineno, "line is longer than %d characters", num - 2);
        str[0] = '\n';
        str[1] = '\0';
        return str;
    }
    memcpy(str, raw, strlen(raw));
    str[strlen(raw)] = '\n';
    str[strlen(raw) + 1] = '\0';

    /* Note section headers here so empty sections exist and keep their line. */
    const char *p = raw;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '[') {
        const char *end = strchr(p, ']');
        if (end) {
            /* inih trims the name inside the brackets; so do we, or "[ source ]" would be a
             * different section here than in the handler. */
            const char *b = p + 1;
            while (b < end && (*b == ' ' || *b == '\t')) b++;
            const char *e = end;
            while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
            char *name = sp_strndup(b, (size_t)(e - b));
            if (name) {
                if (section_get(c, name, 0, false))
                    cfg_error(c, c->lineno, "section [%s] appears twice", name);
                else
                    section_get(c, name, c->lineno, true);
                free(name);
            }
        }
    }
    return str;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
    cfg *c = user;
    if (!section[0]) {
        cfg_error(c, c->lineno, "%s = %s is outside any [section]", name, value);
        return 1;
    }
    cfg_section *s = section_get(c, section, c->lineno, true);
    if (s) entry_set(c, s, name, value, c->lineno);
    return 1; /* we collect our own errors; never let inih stop early */
}

static void apply_override(cfg *c, const char *ov)
{
    const char *dot = strchr(ov, '.');
    const char *eq = strchr(ov, '=');
    if (!dot || !eq || dot > eq || dot == ov || eq == dot + 1) {
        cfg_error(c, 0, "'%s' is not SECTION.KEY=VALUE", ov);
        return;
    }
    /* "resize.size = 300" is read like the same line in the file: spaces around the
     * key and the value do not count. */
    const char *ke = eq, *v = eq + 1;
    while (ke > dot + 1 && (ke[-1] == ' ' || ke[-1] == '\t')) ke--;
    while (*v == ' ' || *v == '\t') v++;
    char *sec = sp_strndup(ov, (size_t)(dot - ov));
    char *key = sp_strndup(dot + 1, (size_t)(ke - dot - 1));
    char *val = sp_strdup(v);
    for (size_t n = val ? strlen(val) : 0; n && (val[n - 1] == ' ' || val[n - 1] == '\t'); n--)
        val[n - 1] = '\0';
    if (sec && key && val) {
        cfg_section *s = section_get(c, sec, -1, true);
        if (s) entry_set(c, s, key, val, 0);
    } else {
        c->oom = true;
    }
    free(sec);
    free(key);
    free(val);
}

static void cfg_free(cfg *c)
{
    for (size_t i = 0; i < c->n; i++) {
        for (size_t j = 0; j < c->sections[i].n; j++) {
            free(c->sections[i].entries[j].key);
            free(c->sections[i].entries[j].value);
        }
        free(c->sections[i].entries);
        free(c->sections[i].name);
    }
    free(c->sections);
    for (size_t i = 0; i < c->nlines; i++) free(c->lines[i]);
    free(c->lines);
}

/* ---- building the graph ------------------------------------------------------------- */

/* Parses one section's keys into an options struct through its table. */
static void parse_options(cfg *c, const cfg_section *s, const sp_option *table, void *opts,
                          bool is_stage)
{
    sp_error err;
    sp_error_clear(&err);
    if (sp_options_defaults(table, opts, &err) != SP_OK) {
        cfg_error(c, s->line, "[%s] bad default: %s", s->name, err.msg);
        return;
    }
    const char *names[64];
    size_t nnames = 0;
    for (const sp_option *o = table; o && o->name && nnames < 62; o++) names[nnames++] = o->name;
    if (is_stage) {
        names[nnames++] = "type";
        names[nnames++] = "input";
    }
    for (size_t i = 0; i < s->n; i++) {
        const cfg_entry *e = &s->entries[i];
        if (is_stage && (!strcmp(e->key, "type") || !strcmp(e->key, "input"))) continue;
        const sp_option *o = sp_option_find(table, e->key);
        if (!o) {
            char hint[128];
            cfg_error(c, e->line, "[%s] unknown option '%s'%s", s->name, e->key,
                      suggest(e->key, names, nnames, hint, sizeof(hint)));
            continue;
        }
        sp_error_clear(&err);
        if (sp_option_parse(o, opts, e->value, &err) != SP_OK)
            cfg_error(c, e->line, "[%s] %s", s->name, err.msg);
    }
    for (const sp_option *o = table; o && o->name; o++) {
        if (!(o->flags & SP_OPT_REQUIRED) || o->def) continue; /* a default satisfies it */
        bool set = false;
        for (size_t i = 0; i < s->n; i++) set |= strcmp(s->entries[i].key, o->name) == 0;
        if (!set) cfg_error(c, s->line, "[%s] missing required option '%s'", s->name, o->name);
    }
}

static void unknown_type(cfg *c, int line, const char *section, const char *type)
{
    size_t n;
    const sp_stage_desc *const *descs = sp_stage_descs(&n);
    const char *names[128];
    size_t k = 0;
    for (size_t i = 0; i < n && k < SP_ARRAY_LEN(names); i++) names[k++] = descs[i]->name;
    char hint[128];
    cfg_error(c, line, "[%s] unknown stage type '%s'%s", section, type,
              suggest(type, names, k, hint, sizeof(hint)));
}

static int find_stage(const sp_pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->nstages; i++)
        if (strcmp(p->stages[i].name, name) == 0) return (int)i;
    return -1;
}

/* Resolves inputs and checks the graph's shape. */
static void link_graph(cfg *c, sp_pipeline *p, char **inputs, int *input_lines)
{
    for (size_t i = 0; i < p->nstages; i++) {
        sp_stage *st = &p->stages[i];
        if (!st->desc) continue;
        bool source = st->desc->kind == SP_STAGE_SOURCE;
        if (source) {
            if (inputs[i])
                cfg_error(c, input_lines[i], "[%s] a %s stage is a source and takes no input",
                          st->name, st->desc->name);
            st->input = -1;
            continue;
        }
        if (inputs[i]) {
            st->input = find_stage(p, inputs[i]);
            if (st->input < 0) {
                const char *names[256];
                size_t k = 0;
                for (size_t j = 0; j < p->nstages && k < 256; j++) names[k++] = p->stages[j].name;
                char hint[128];
                cfg_error(c, input_lines[i], "[%s] input '%s' is not a section%s", st->name,
                          inputs[i], suggest(inputs[i], names, k, hint, sizeof(hint)));
                continue;
            }
            if ((size_t)st->input == i) {
                cfg_error(c, input_lines[i], "[%s] a stage cannot be its own input", st->name);
                st->input = -1;
                continue;
            }
        } else if (i == 0) {
            cfg_error(c, st->line, "[%s] has no input: the first stage must be a source",
                      st->name);
            continue;
        } else {
            st->input = (int)i - 1;
        }
        const sp_stage *up = &p->stages[st->input];
        if (up->desc && up->desc->kind == SP_STAGE_SINK)
            cfg_error(c, inputs[i] ? input_lines[i] : st->line,
                      "[%s] comes after the sink [%s]: a sink has no output (set input = to "
                      "an earlier stage)",
                      st->name, up->name);
    }
    /* Every stage must lead back to a source without a cycle. */
    for (size_t i = 0; i < p->nstages; i++) {
        int cur = (int)i;
        size_t steps = 0;
        while (cur >= 0 && p->stages[cur].desc &&
               p->stages[cur].desc->kind != SP_STAGE_SOURCE && steps <= p->nstages) {
            cur = p->stages[cur].input;
            steps++;
        }
        if (steps > p->nstages)
            cfg_error(c, p->stages[i].line, "[%s] is part of an input cycle", p->stages[i].name);
    }
    /* An unknown type is already reported; it may well have been meant as the sink. */
    size_t sinks = 0, unknown = 0;
    for (size_t i = 0; i < p->nstages; i++) {
        sinks += p->stages[i].desc && p->stages[i].desc->kind == SP_STAGE_SINK;
        unknown += !p->stages[i].desc;
    }
    if (sinks == 0 && unknown == 0 && p->nstages > 0)
        cfg_error(c, -1, "the pipeline has no sink stage (e.g. type = tar)");
    if (p->nstages == 0) cfg_error(c, -1, "the pipeline has no stages");
}

static bool valid_section_name(const char *s)
{
    if (!*s || strlen(s) > 64) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

static void build_pipeline(cfg *c, sp_pipeline *p)
{
    char **inputs = calloc(c->n ? c->n : 1, sizeof(char *));
    int *input_lines = calloc(c->n ? c->n : 1, sizeof(int));
    p->stages = calloc(c->n ? c->n : 1, sizeof(sp_stage));
    if (!inputs || !input_lines || !p->stages) {
        c->oom = true;
        goto out;
    }
    for (size_t i = 0; i < c->n; i++) {
        cfg_section *s = &c->sections[i];
        if (strcmp(s->name, "run") == 0) {
            parse_options(c, s, sp_run_options, &p->run, false);
            continue;
        }
        if (!valid_section_name(s->name))
            cfg_error(c, s->line, "[%s] a section name may only hold letters, digits, '_', '-' "
                                  "and '.' (it names files and keys)",
                      s->name);
        sp_stage *st = &p->stages[p->nstages];
        st->name = sp_strdup(s->name);
        st->line = s->line;
        st->input = -1;
        if (!st->name) {
            c->oom = true;
            goto out;
        }
        inputs[p->nstages] = NULL;
        cfg_entry *in = entry_get(s, "input");
        if (in) {
            inputs[p->nstages] = in->value;
            input_lines[p->nstages] = in->line;
        }
        p->nstages++;
        cfg_entry *te = entry_get(s, "type");
        const char *type = te ? te->value : s->name;
        st->desc = sp_stage_desc_by_name(type);
        if (!st->desc) {
            unknown_type(c, te ? te->line : s->line, s->name, type);
            continue;
        }
        st->opts = calloc(1, st->desc->opts_size ? st->desc->opts_size : 1);
        if (!st->opts) {
            c->oom = true;
            goto out;
        }
        parse_options(c, s, st->desc->options, st->opts, true);
    }
    link_graph(c, p, inputs, input_lines);
out:
    free(inputs);
    free(input_lines);
}

static int load(sp_ctx *ctx, const char *text, const char *name, const char *const *overrides,
                size_t n, sp_pipeline **out)
{
    *out = NULL;
    sp_error_clear(&ctx->err);
    cfg c = {.ctx = ctx, .file = name, .text = text, .pos = text};
    sp_pipeline *p = calloc(1, sizeof(*p));
    if (!p || !(p->name = sp_strdup(name))) {
        free(p);
        return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    }
    /* [run] defaults apply even when the section is absent. */
    sp_error e;
    sp_error_clear(&e);
    if (sp_options_defaults(sp_run_options, &p->run, &e) != SP_OK) {
        sp_pipeline_free(&p);
        return sp_ctx_error(ctx, &e);
    }
    int rc = ini_parse_stream(cfg_reader, &c, cfg_handler, &c);
    if (rc > 0) cfg_error(&c, rc, "syntax error (expected [section] or key = value)");
    else if (rc < 0) cfg_error(&c, -1, "cannot parse the configuration");
    for (size_t i = 0; i < n; i++) apply_override(&c, overrides[i]);
    build_pipeline(&c, p);
    p->limits.max_pixels = (uint64_t)p->run.max_pixels;
    p->limits.max_file_bytes = p->run.max_file_bytes;
    p->limits.max_dimension = (uint32_t)p->run.max_dimension;
    p->limits.max_scans = (uint32_t)p->run.max_scans;
    if (c.oom && !c.errors) cfg_error(&c, -1, "out of memory");
    int errors = c.errors;
    cfg_free(&c);
    if (errors) {
        sp_pipeline_free(&p);
        if (errors > 1)
            sp_log(ctx, SP_LOG_ERROR, "%s: %d errors in the configuration", name, errors);
        return SP_E_CONFIG;
    }
    *out = p;
    return SP_OK;
}

int sp_pipeline_load_string(sp_ctx *ctx, const char *text, const char *name,
                            const char *const *overrides, size_t n, sp_pipeline **out)
{
    return load(ctx, text, name ? name : "<string>", overrides, n, out);
}

int sp_pipeline_load_file(sp_ctx *ctx, const char *path, const char *const *overrides,
                          size_t n, sp_pipeline **out)
{
    uint8_t *data;
    size_t len;
    sp_error e;
    sp_error_clear(&e);
    *out = NULL;
    int rc = sp_read_file(path, 16u << 20, &data, &len, &e);
    if (rc != SP_OK) {
        if (rc != SP_E_NOMEM) e.code = SP_E_CONFIG;
        char msg[1400];
        sp_log(ctx, SP_LOG_ERROR, "%s", sp_error_format(&e, msg, sizeof(msg)));
        return sp_ctx_error(ctx, &e);
    }
    char *text = sp_strndup((const char *)data, len);
    free(data);
    if (!text) return sp_fail(&ctx->err, SP_E_NOMEM, "out of memory");
    if (strlen(text) != len) {
        free(text);
        sp_error_set_path(&e, path);
        sp_fail(&e, SP_E_CONFIG, "the configuration contains a NUL byte");
        sp_log(ctx, SP_LOG_ERROR, "%s: %s", path, e.msg);
        return sp_ctx_error(ctx, &e);
    }
    rc = load(ctx, text, path, overrides, n, out);
    free(text);
    return rc;
}

void sp_pipeline_free(sp_pipeline **pipe)
{
    if (!pipe || !*pipe) return;
    sp_pipeline *p = *pipe;
    for (size_t i = 0; i < p->nstages; i++) {
        if (p->stages[i].desc) sp_options_free(p->stages[i].desc->options, p->stages[i].opts);
        free(p->stages[i].opts);
        free(p->stages[i].name);
    }
    free(p->stages);
    sp_options_free(sp_run_options, &p->run);
    free(p->output_override);
    free(p->name);
    free(p);
    *pipe = NULL;
}

int sp_pipeline_set_output(sp_pipeline *pipe, const char *dir)
{
    if (!dir || !dir[0]) return SP_E_USAGE;
    char *d = sp_strdup(dir);
    if (!d) return SP_E_NOMEM;
    free(pipe->output_override);
    pipe->output_override = d;
    return SP_OK;
}

const char *sp_pipeline_output(const sp_pipeline *pipe)
{
    return pipe->output_override ? pipe->output_override : pipe->run.output;
}
