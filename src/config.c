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

/* The line where a section sets `key`, or the section's own line. */
static int key_line(const cfg_section *s, const char *key)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->entries[i].key, key) == 0) return s->entries[i].line;
    return s->line;
}

/* Every reversed NAME_min / NAME_max pair, each at the line the user wrote. */
static void check_ranges(cfg *c, const cfg_section *s, const sp_option *table, const void *opts)
{
    for (const sp_option *lo = table; lo && lo->name; lo++) {
        const sp_option *hi = sp_option_reversed(table, lo, opts);
        if (!hi) continue;
        sp_buf x = {0}, y = {0};
        sp_option_format(lo, opts, &x);
        sp_option_format(hi, opts, &y);
        int line = key_line(s, lo->name);
        if (line == s->line) line = key_line(s, hi->name); /* the one the user set */
        cfg_error(c, line, "[%s] %s = %s is more than %s = %s", s->name, lo->name,
                  x.data ? x.data : "", hi->name, y.data ? y.data : "");
        sp_buf_free(&x);
        sp_buf_free(&y);
    }
}

/* Parses one section's keys into an options struct through its table. A random pixel
 * stage (`rnd` non-NULL) also takes p and apply, parsed into the stage itself. */
static void parse_options(cfg *c, const cfg_section *s, const sp_option *table, void *opts,
                          bool is_stage, sp_stage *rnd)
{
    sp_error err;
    sp_error_clear(&err);
    if (sp_options_defaults(table, opts, &err) != SP_OK ||
        (rnd && sp_options_defaults(sp_random_options, rnd, &err) != SP_OK)) {
        cfg_error(c, s->line, "[%s] bad default: %s", s->name, err.msg);
        return;
    }
    const char *names[72];
    size_t nnames = 0;
    for (const sp_option *o = table; o && o->name && nnames < 64; o++) names[nnames++] = o->name;
    if (rnd)
        for (const sp_option *o = sp_random_options; o->name; o++) names[nnames++] = o->name;
    if (is_stage) {
        names[nnames++] = "type";
        names[nnames++] = "input";
    }
    for (size_t i = 0; i < s->n; i++) {
        const cfg_entry *e = &s->entries[i];
        if (is_stage && (!strcmp(e->key, "type") || !strcmp(e->key, "input"))) continue;
        if (is_stage && strchr(e->key, '@')) continue; /* per-class: parse_variants */
        const sp_option *o = sp_option_find(table, e->key);
        void *dst = opts;
        if (!o && rnd && (o = sp_option_find(sp_random_options, e->key))) dst = rnd;
        if (!o) {
            char hint[128];
            cfg_error(c, e->line, "[%s] unknown option '%s'%s", s->name, e->key,
                      suggest(e->key, names, nnames, hint, sizeof(hint)));
            continue;
        }
        sp_error_clear(&err);
        if (sp_option_parse(o, dst, e->value, &err) != SP_OK)
            cfg_error(c, e->line, "[%s] %s", s->name, err.msg);
    }
    check_ranges(c, s, table, opts);
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
    const char *names[160];
    size_t k = 0;
    for (size_t i = 0; i < n && k < SP_ARRAY_LEN(names); i++) names[k++] = descs[i]->name;
    for (size_t i = 0; i < c->ctx->nstages && k < SP_ARRAY_LEN(names); i++)
        names[k++] = c->ctx->stages[i]->name;
    char hint[128];
    cfg_error(c, line, "[%s] unknown stage type '%s'%s", section, type,
              suggest(type, names, k, hint, sizeof(hint)));
}

/* The options every random pixel stage has besides its own; they live in sp_stage. */
static const sp_enum_choice apply_choices[] = {
    {SP_APPLY_COPIES, "copies", "only copies >= 1 (a balance stage's extra copies); copy 0 "
                                "stays the plain sample"},
    {SP_APPLY_ALL, "all", "every record"},
    {0, NULL, NULL},
};
const sp_option sp_random_options[] = {
    {"p", "probability that the stage acts on a record", offsetof(sp_stage, p), SP_OPT_DOUBLE,
     "1", 0, 1, NULL, 0},
    {"apply", "which records the stage may act on", offsetof(sp_stage, apply), SP_OPT_ENUM,
     "copies", 1, 0, apply_choices, 0},
    SP_OPT_END,
};

static int find_stage(const sp_pipeline *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->nstages; i++)
        if (strlen(p->stages[i].name) == len && strncmp(p->stages[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static size_t nports(const sp_stage *st)
{
    size_t n = 0;
    if (st->desc && st->desc->ports)
        while (st->desc->ports[n]) n++;
    return n;
}

static void port_list(const sp_stage *st, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < nports(st) && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s.%s", i ? ", " : "", st->name,
                                 st->desc->ports[i]);
}

/* Checks that `ref` (the stage `to` reads from) may be read from, and says why not. */
static bool check_ref(cfg *c, const sp_pipeline *p, size_t to, const sp_port_ref *ref,
                      bool named_port, int line)
{
    const sp_stage *st = &p->stages[to], *up = &p->stages[ref->stage];
    if (!up->desc) return false; /* its unknown type is reported already */
    if (up->desc->kind == SP_STAGE_SINK) {
        cfg_error(c, line,
                  "[%s] comes after the sink [%s]: a sink has no output (set input = to an "
                  "earlier stage)",
                  st->name, up->name);
        return false;
    }
    if (nports(up) && !named_port) {
        char list[256];
        port_list(up, list, sizeof(list));
        cfg_error(c, line, "[%s] reads from [%s], which has several outputs: name one (%s)",
                  st->name, up->name, list);
        return false;
    }
    return true;
}

/* Parses "a, b.port" into references. */
static void parse_inputs(cfg *c, sp_pipeline *p, size_t i, const char *text, int line)
{
    sp_stage *st = &p->stages[i];
    const char *s = text;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',') s++;
        if (!*s) break;
        const char *e = s;
        while (*e && *e != ',' && *e != ' ' && *e != '\t') e++;
        const char *dot = memchr(s, '.', (size_t)(e - s));
        size_t nlen = dot ? (size_t)(dot - s) : (size_t)(e - s);
        char ref[160];
        snprintf(ref, sizeof(ref), "%.*s", (int)(e - s), s);
        int up = find_stage(p, s, nlen);
        if (up < 0) {
            const char *names[256];
            size_t k = 0;
            for (size_t j = 0; j < p->nstages && k < 256; j++) names[k++] = p->stages[j].name;
            char want[128], hint[128];
            snprintf(want, sizeof(want), "%.*s", (int)nlen, s);
            cfg_error(c, line, "[%s] input '%s' is not a section%s", st->name, ref,
                      suggest(want, names, k, hint, sizeof(hint)));
            s = e;
            continue;
        }
        sp_port_ref r = {up, 0};
        const sp_stage *u = &p->stages[up];
        bool ok = true;
        if (dot && u->desc) {
            const char *port = dot + 1;
            size_t plen = (size_t)(e - port);
            r.port = -1;
            for (size_t k = 0; k < nports(u); k++)
                if (strlen(u->desc->ports[k]) == plen && !strncmp(u->desc->ports[k], port, plen))
                    r.port = (int)k;
            if (r.port < 0) {
                char want[64], hint[128], list[256];
                snprintf(want, sizeof(want), "%.*s", (int)plen, port);
                if (nports(u)) {
                    port_list(u, list, sizeof(list));
                    cfg_error(c, line, "[%s] input '%s': [%s] has no output '%s'%s; its outputs "
                                       "are %s",
                              st->name, ref, u->name, want,
                              suggest(want, u->desc->ports, nports(u), hint, sizeof(hint)), list);
                } else {
                    cfg_error(c, line, "[%s] input '%s': [%s] has a single output; write input "
                                       "= %s",
                              st->name, ref, u->name, u->name);
                }
                ok = false;
            }
        }
        if (ok && (size_t)up == i) {
            cfg_error(c, line, "[%s] a stage cannot be its own input", st->name);
            ok = false;
        }
        for (size_t k = 0; ok && k < st->ninputs; k++)
            if (st->inputs[k].stage == r.stage && st->inputs[k].port == r.port) {
                cfg_error(c, line, "[%s] input '%s' is named twice", st->name, ref);
                ok = false;
            }
        if (ok) ok = check_ref(c, p, i, &r, dot != NULL, line);
        if (ok) {
            sp_port_ref *v = realloc(st->inputs, (st->ninputs + 1) * sizeof(*v));
            if (!v) {
                c->oom = true;
                return;
            }
            st->inputs = v;
            st->inputs[st->ninputs++] = r;
        }
        s = e;
    }
}

/* Depth-first search over inputs; `state` is 0 unvisited, 1 on the stack, 2 done. A
 * back edge is a cycle, reported once at the stage that closes it. */
static bool find_cycle(cfg *c, const sp_pipeline *p, size_t i, char *state)
{
    state[i] = 1;
    const sp_stage *st = &p->stages[i];
    for (size_t k = 0; k < st->ninputs; k++) {
        size_t up = (size_t)st->inputs[k].stage;
        if (state[up] == 1) {
            cfg_error(c, st->input_line, "[%s] is part of an input cycle (through [%s])",
                      st->name, p->stages[up].name);
            return true;
        }
        if (state[up] == 0 && find_cycle(c, p, up, state)) return true;
    }
    state[i] = 2;
    return false;
}

/* Whether stage i is reached from a source (ok_src) and reaches a sink (ok_sink). */
static void mark_reach(const sp_pipeline *p, bool *from_src, bool *to_sink)
{
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < p->nstages; i++) {
            const sp_stage *st = &p->stages[i];
            if (!st->desc) continue;
            bool src = st->desc->kind == SP_STAGE_SOURCE, snk = st->desc->kind == SP_STAGE_SINK;
            for (size_t k = 0; k < st->ninputs; k++) {
                src |= from_src[st->inputs[k].stage];
                if (to_sink[i] && !to_sink[st->inputs[k].stage]) {
                    to_sink[st->inputs[k].stage] = true;
                    changed = true;
                }
            }
            if (src && !from_src[i]) from_src[i] = changed = true;
            if (snk && !to_sink[i]) to_sink[i] = changed = true;
        }
    }
}

/* Whether group g contains stage m, directly or through nested groups. */
static bool group_contains(const sp_pipeline *p, int g, int m, int depth)
{
    if (depth > 64) return true; /* deeper than any sane nesting: treat as a cycle */
    for (size_t i = 0; i < p->nstages; i++)
        if (p->stages[i].member_of == g &&
            ((int)i == m || group_contains(p, (int)i, m, depth + 1)))
            return true;
    return false;
}

/* A group's `stages = a, b, c` names its members: pixel sections that are not in the flow
 * (no input, not anyone's default input) and run only as the group's parts. */
static void resolve_groups(cfg *c, sp_pipeline *p)
{
    for (size_t g = 0; g < p->nstages; g++) {
        sp_stage *st = &p->stages[g];
        if (!st->desc || !st->desc->link || !st->opts) continue;
        const sp_option *o = sp_option_find(st->desc->options, "stages");
        const char *list = o ? *(char *const *)((const char *)st->opts + o->offset) : NULL;
        const sp_stage *members[64];
        size_t n = 0;
        for (const char *s = list ? list : ""; *s;) {
            while (*s == ' ' || *s == ',' || *s == '\t') s++;
            if (!*s) break;
            const char *e = s;
            while (*e && *e != ',' && *e != ' ' && *e != '\t') e++;
            char name[80];
            snprintf(name, sizeof(name), "%.*s", (int)(e - s), s);
            s = e;
            int m = find_stage(p, name, strlen(name));
            sp_stage *ms = m >= 0 ? &p->stages[m] : NULL;
            if (!ms) {
                const char *names[256];
                size_t k = 0;
                for (size_t j = 0; j < p->nstages && k < 256; j++) names[k++] = p->stages[j].name;
                char hint[128];
                cfg_error(c, st->line, "[%s] stages: '%s' is not a section%s", st->name, name,
                          suggest(name, names, k, hint, sizeof(hint)));
            } else if (!ms->desc) {
                /* its unknown type is reported already */
            } else if (ms->desc->kind != SP_STAGE_PIXEL || ms->desc == &sp_stage_encode) {
                cfg_error(c, ms->line, "[%s] is a member of [%s] but a %s stage: groups hold "
                                       "pixel stages",
                          ms->name, st->name,
                          ms->desc == &sp_stage_encode ? "codec" : "non-pixel");
            } else if ((size_t)m == g || ms->member_of >= 0) {
                cfg_error(c, ms->line, "[%s] can be a member of one group once (it is in [%s])",
                          ms->name, (size_t)m == g ? st->name : p->stages[ms->member_of].name);
            } else if (group_contains(p, m, (int)g, 0)) {
                cfg_error(c, ms->line, "[%s] and [%s] contain each other", ms->name, st->name);
            } else if (n == SP_ARRAY_LEN(members)) {
                cfg_error(c, st->line, "[%s] has more than 64 members", st->name);
            } else {
                ms->member_of = (int)g;
                members[n++] = ms;
            }
        }
        if (n == 0) {
            cfg_error(c, st->line, "[%s] names no member stages (stages = a, b, ...)", st->name);
            continue;
        }
        sp_error err;
        sp_error_clear(&err);
        if (st->desc->link(st->opts, members, n, &err) != SP_OK)
            cfg_error(c, st->line, "[%s] %s", st->name, err.msg);
        for (size_t v = 0; v < st->nvariants; v++) {
            sp_error_clear(&err);
            if (st->desc->link(st->variants[v].opts, members, n, &err) != SP_OK)
                cfg_error(c, st->line, "[%s] for class %s: %s", st->name, st->variants[v].name,
                          err.msg);
        }
    }
}

/* Resolves inputs and checks the graph's shape: every edge, then cycles, then that every
 * stage lies on a path from a source to a sink. */
static void link_graph(cfg *c, sp_pipeline *p, char **inputs)
{
    resolve_groups(c, p);
    for (size_t i = 0; i < p->nstages; i++) {
        sp_stage *st = &p->stages[i];
        if (!st->desc) continue;
        if (st->member_of >= 0) {
            if (inputs[i])
                cfg_error(c, st->input_line, "[%s] is a member of [%s] and takes no input",
                          st->name, p->stages[st->member_of].name);
            continue;
        }
        if (st->desc->kind == SP_STAGE_SOURCE) {
            if (inputs[i])
                cfg_error(c, st->input_line, "[%s] is a source (type %s) and takes no input",
                          st->name, st->desc->name);
            continue;
        }
        if (inputs[i]) {
            if (inputs[i][strspn(inputs[i], " \t,")] == '\0')
                cfg_error(c, st->input_line, "[%s] input is empty: name the upstream stage(s)",
                          st->name);
            else
                parse_inputs(c, p, i, inputs[i], st->input_line);
            continue;
        }
        /* The default input is the section before, not counting groups' members. */
        int prev = (int)i - 1;
        while (prev >= 0 && p->stages[prev].member_of >= 0) prev--;
        if (prev < 0) {
            cfg_error(c, st->line, "[%s] has no input: the first stage must be a source",
                      st->name);
            continue;
        }
        sp_port_ref r = {prev, 0};
        if (check_ref(c, p, i, &r, false, st->line)) {
            if (!(st->inputs = malloc(sizeof(*st->inputs)))) {
                c->oom = true;
                return;
            }
            st->inputs[0] = r;
            st->ninputs = 1;
        }
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
    char *state = calloc(p->nstages ? p->nstages : 1, 1);
    bool *from_src = calloc(p->nstages ? p->nstages : 1, sizeof(bool));
    bool *to_sink = calloc(p->nstages ? p->nstages : 1, sizeof(bool));
    if (!state || !from_src || !to_sink) {
        c->oom = true;
    } else {
        bool cycle = false;
        for (size_t i = 0; i < p->nstages && !cycle; i++)
            if (state[i] == 0) cycle = find_cycle(c, p, i, state);
        mark_reach(p, from_src, to_sink);
        /* Dead ends are worth an error only in an otherwise sound graph: a broken edge or
         * an unknown type would make every stage behind it look like one. */
        bool sound = c->errors == 0;
        for (size_t i = 0; i < p->nstages && sound; i++) {
            const sp_stage *st = &p->stages[i];
            if (!st->desc || st->member_of >= 0) continue;
            if (!from_src[i] && st->ninputs)
                cfg_error(c, st->line, "[%s] no source leads to it", st->name);
            else if (!to_sink[i] && st->desc->kind == SP_STAGE_SOURCE)
                cfg_error(c, st->line, "[%s] leads to no sink: nothing would be written from it "
                                       "(add a sink, e.g. [shards] type = tar, with input = %s)",
                          st->name, st->name);
            else if (!to_sink[i] && st->desc->kind != SP_STAGE_SINK && from_src[i])
                cfg_error(c, st->line, "[%s] leads to no sink: its output is never written",
                          st->name);
        }
    }
    free(state);
    free(from_src);
    free(to_sink);
}

/* Section names become file names, JSON keys and `input =` references, where '.'
 * separates a stage from its output port. */
static bool valid_name(const char *s, size_t max)
{
    if (!*s || strlen(s) > max) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

static bool valid_section_name(const char *s)
{
    return valid_name(s, 64);
}

/* Sinks name their files by prefix: each must be valid and no two may be the same. */
static void check_sinks(cfg *c, const sp_pipeline *p)
{
    for (size_t i = 0; i < p->nstages; i++) {
        const sp_stage *st = &p->stages[i];
        if (!st->desc || st->desc->kind != SP_STAGE_SINK || !st->opts) continue;
        const char *prefix = sp_sink_prefix(st);
        if (!valid_section_name(st->name) && prefix == st->name) continue; /* reported */
        if (!valid_name(prefix, 100)) {
            cfg_error(c, st->line, "[%s] prefix '%s' must be 1 to 100 letters, digits, '_' or '-'",
                      st->name, prefix);
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            const sp_stage *o = &p->stages[j];
            if (o->desc && o->desc->kind == SP_STAGE_SINK && o->opts &&
                strcmp(sp_sink_prefix(o), prefix) == 0)
                cfg_error(c, st->line, "[%s] writes shards named %s-* like [%s] (line %d): give "
                                       "one a different prefix",
                          st->name, prefix, o->name, o->line);
        }
    }
}

/* Per-class values: `brightness@stars = 0.6` in a pixel stage's section. Each class
 * named gets a whole copy of the options: the section's own values, then the class's on
 * top, parsed and checked by the same table (so errors point at their lines). */
static void parse_variants(cfg *c, const cfg_section *s, sp_stage *st)
{
    for (size_t i = 0; i < s->n; i++) {
        const char *at = strchr(s->entries[i].key, '@');
        if (!at) continue;
        if (st->desc->kind != SP_STAGE_PIXEL || st->desc == &sp_stage_encode) {
            cfg_error(c, s->entries[i].line,
                      "[%s] per-class values (%s) are for pixel stages other than encode",
                      s->name, s->entries[i].key);
            continue;
        }
        if (at == s->entries[i].key || !at[1]) {
            cfg_error(c, s->entries[i].line, "[%s] '%s' is not OPTION@CLASS", s->name,
                      s->entries[i].key);
            continue;
        }
        /* A group's members are linked once for the section: per class they would be
         * accepted and ignored. Weights, n and p may vary per class; membership may not. */
        if (st->desc->link && (size_t)(at - s->entries[i].key) == strlen("stages") &&
            !strncmp(s->entries[i].key, "stages", 6)) {
            cfg_error(c, s->entries[i].line,
                      "[%s] %s: a group's members are the same for every class (give the "
                      "class its own weights, or p = 0 to a member with p@CLASS)",
                      s->name, s->entries[i].key);
            continue;
        }
        bool seen = false;
        for (size_t v = 0; v < st->nvariants; v++) seen |= !strcmp(st->variants[v].name, at + 1);
        if (seen) continue;
        sp_stage *vv = realloc(st->variants, (st->nvariants + 1) * sizeof(*vv));
        if (!vv) {
            c->oom = true;
            return;
        }
        st->variants = vv;
        sp_stage *var = &vv[st->nvariants++];
        memset(var, 0, sizeof(*var));
        var->name = sp_strdup(at + 1);
        var->desc = st->desc;
        var->opts = calloc(1, st->desc->opts_size ? st->desc->opts_size : 1);
        /* The section as this class sees it: every plain key, then this class's keys. */
        cfg_section view = {.name = s->name, .line = s->line};
        view.entries = calloc(s->n, sizeof(cfg_entry));
        if (!var->name || !var->opts || !view.entries) {
            free(view.entries);
            c->oom = true;
            return;
        }
        for (size_t j = 0; j < s->n; j++)
            if (!strchr(s->entries[j].key, '@')) view.entries[view.n++] = s->entries[j];
        size_t first_class_entry = view.n;
        char **keys = calloc(s->n, sizeof(char *));
        for (size_t j = 0; keys && j < s->n; j++) {
            const char *a = strchr(s->entries[j].key, '@');
            if (!a || strcmp(a + 1, var->name) != 0) continue;
            keys[j] = sp_strndup(s->entries[j].key, (size_t)(a - s->entries[j].key));
            if (!keys[j]) continue;
            /* A class value replaces the plain one instead of being a duplicate. */
            bool replaced = false;
            for (size_t k = 0; k < first_class_entry; k++)
                if (!strcmp(view.entries[k].key, keys[j])) {
                    view.entries[k].value = s->entries[j].value;
                    view.entries[k].line = s->entries[j].line;
                    replaced = true;
                }
            if (!replaced) {
                view.entries[view.n] = s->entries[j];
                view.entries[view.n++].key = keys[j];
            }
        }
        if (!keys) c->oom = true;
        parse_options(c, &view, st->desc->options, var->opts, true,
                      st->desc->flags & SP_PIXEL_RANDOM ? var : NULL);
        for (size_t j = 0; keys && j < s->n; j++) free(keys[j]);
        free(keys);
        free(view.entries);
    }
}

static void build_pipeline(cfg *c, sp_pipeline *p)
{
    char **inputs = calloc(c->n ? c->n : 1, sizeof(char *));
    p->stages = calloc(c->n ? c->n : 1, sizeof(sp_stage));
    if (!inputs || !p->stages) {
        c->oom = true;
        goto out;
    }
    for (size_t i = 0; i < c->n; i++) {
        cfg_section *s = &c->sections[i];
        if (strcmp(s->name, "run") == 0) {
            parse_options(c, s, sp_run_options, &p->run, false, NULL);
            cfg_entry *bg = entry_get(s, "background");
            sp_error be;
            sp_error_clear(&be);
            if (sp_background_parse(p->run.background, &p->limits.background, &be) != SP_OK)
                cfg_error(c, bg ? bg->line : s->line, "[run] background: %s", be.msg);
            continue;
        }
        if (!valid_section_name(s->name))
            cfg_error(c, s->line, "[%s] a section name may only hold letters, digits, '_' and "
                                  "'-' (it names files and keys; '.' names an output port)",
                      s->name);
        sp_stage *st = &p->stages[p->nstages];
        st->name = sp_strdup(s->name);
        st->line = s->line;
        st->input_line = s->line;
        st->member_of = -1;
        if (!st->name) {
            c->oom = true;
            goto out;
        }
        cfg_entry *in = entry_get(s, "input");
        if (in) {
            inputs[p->nstages] = in->value;
            st->input_line = in->line;
        }
        p->nstages++;
        cfg_entry *te = entry_get(s, "type");
        const char *type = te ? te->value : s->name;
        st->desc = sp_ctx_stage_by_name(c->ctx, type);
        if (!st->desc) {
            /* A bad name without a type already has its error: one problem, one message. */
            if (te || valid_section_name(s->name))
                unknown_type(c, te ? te->line : s->line, s->name, type);
            continue;
        }
        st->opts = calloc(1, st->desc->opts_size ? st->desc->opts_size : 1);
        if (!st->opts) {
            c->oom = true;
            goto out;
        }
        int before = c->errors;
        parse_options(c, s, st->desc->options, st->opts, true,
                      st->desc->flags & SP_PIXEL_RANDOM ? st : NULL);
        sp_error verr;
        sp_error_clear(&verr);
        if (c->errors == before && st->desc->validate &&
            st->desc->validate(st->opts, &verr) != SP_OK)
            cfg_error(c, s->line, "[%s] %s", s->name, verr.msg);
        parse_variants(c, s, st);
        for (size_t v = 0; v < st->nvariants; v++) {
            sp_error_clear(&verr);
            if (c->errors == before && st->desc->validate &&
                st->desc->validate(st->variants[v].opts, &verr) != SP_OK)
                cfg_error(c, s->line, "[%s] for class %s: %s", s->name, st->variants[v].name,
                          verr.msg);
        }
    }
    link_graph(c, p, inputs);
    check_sinks(c, p);
out:
    free(inputs);
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
    p->limits.max_members = (uint64_t)p->run.max_members;
    p->limits.max_nesting = (uint32_t)p->run.max_nesting;
    p->limits.max_line_bytes = (uint32_t)p->run.max_line_bytes;
    p->limits.max_ratio = (uint32_t)p->run.max_ratio;
    p->limits.max_unpacked_bytes = p->run.max_unpacked_bytes;
    if (c.oom && !c.errors) cfg_error(&c, -1, "out of memory");
    int errors = c.errors;
    cfg_free(&c);
    if (errors) {
        sp_pipeline_free(&p);
        if (errors > 1)
            sp_log(ctx, SP_LOG_ERROR, "%s: %d errors in the configuration", name, errors);
        return SP_E_CONFIG;
    }
    sp_graph_warnings(ctx, p);
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
        free(p->stages[i].inputs);
        for (size_t v = 0; v < p->stages[i].nvariants; v++) {
            sp_options_free(p->stages[i].desc->options, p->stages[i].variants[v].opts);
            free(p->stages[i].variants[v].opts);
            free(p->stages[i].variants[v].name);
        }
        free(p->stages[i].variants);
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

const sp_stage *sp_stage_for_class(const sp_stage *st, const char *cls)
{
    for (size_t v = 0; cls && v < st->nvariants; v++)
        if (strcmp(st->variants[v].name, cls) == 0) return &st->variants[v];
    return st;
}
