/*
 * The stage graph, shown: `shardpack check` prints it as text or as Graphviz, and the
 * loader warns about shapes that are legal but almost certainly not what was meant.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char *kind_name(sp_stage_kind k)
{
    switch (k) {
    case SP_STAGE_SOURCE: return "source";
    case SP_STAGE_RECORD: return "record";
    case SP_STAGE_PIXEL: return "pixel";
    case SP_STAGE_SINK: return "sink";
    }
    return "?";
}

/* "name" or "name.port": how an edge is written in `input =`. */
static void ref_text(const sp_pipeline *p, const sp_port_ref *r, sp_buf *b)
{
    const sp_stage *up = &p->stages[r->stage];
    sp_buf_puts(b, up->name);
    if (up->desc->ports) sp_buf_printf(b, ".%s", up->desc->ports[r->port]);
}

/* The options that differ from their defaults, as "k=v k=v". */
static void changed_options(const sp_stage *st, sp_buf *b)
{
    void *defs = calloc(1, st->desc->opts_size ? st->desc->opts_size : 1);
    if (!defs || sp_options_defaults(st->desc->options, defs, NULL) != SP_OK) {
        free(defs);
        return;
    }
    for (const sp_option *o = st->desc->options; o->name; o++) {
        sp_buf now = {0}, def = {0};
        sp_option_format(o, st->opts, &now);
        sp_option_format(o, defs, &def);
        if (now.data && (!def.data || strcmp(now.data, def.data) != 0))
            sp_buf_printf(b, "%s%s=%s", b->len ? " " : "", o->name, now.data);
        sp_buf_free(&now);
        sp_buf_free(&def);
    }
    if (st->desc->flags & SP_PIXEL_RANDOM) {
        if (st->p != 1.0) sp_buf_printf(b, "%sp=%g", b->len ? " " : "", st->p);
        if (st->apply == SP_APPLY_ALL) sp_buf_printf(b, "%sapply=all", b->len ? " " : "");
    }
    /* Per-class values: what each class's copy of the options changes (OPTION@CLASS). */
    for (size_t v = 0; v < st->nvariants; v++) {
        const sp_stage *x = &st->variants[v];
        for (const sp_option *o = st->desc->options; o->name; o++) {
            sp_buf now = {0}, base = {0};
            sp_option_format(o, x->opts, &now);
            sp_option_format(o, st->opts, &base);
            if (now.data && (!base.data || strcmp(now.data, base.data) != 0))
                sp_buf_printf(b, "%s%s@%s=%s", b->len ? " " : "", o->name, x->name, now.data);
            sp_buf_free(&now);
            sp_buf_free(&base);
        }
        if (x->p != st->p) sp_buf_printf(b, "%sp@%s=%g", b->len ? " " : "", x->name, x->p);
        if (x->apply != st->apply)
            sp_buf_printf(b, "%sapply@%s=%s", b->len ? " " : "", x->name,
                          x->apply == SP_APPLY_ALL ? "all" : "copies");
    }
    sp_options_free(st->desc->options, defs);
    free(defs);
}

/* Every path from a source to stage `at`, depth first, printed as it is found. */
typedef struct walk {
    const sp_pipeline *p;
    FILE *f;
    int path[256];
    size_t depth;
    size_t printed;
} walk;

static void print_path(walk *w)
{
    const sp_pipeline *p = w->p;
    fprintf(w->f, "    ");
    for (size_t k = w->depth; k-- > 0;) {
        const sp_stage *st = &p->stages[w->path[k]];
        fprintf(w->f, "%s%s", k + 1 < w->depth ? " -> " : "", st->name);
        /* Name the port the path leaves a multi-output stage by. */
        if (k > 0 && st->desc->ports) {
            const sp_stage *down = &p->stages[w->path[k - 1]];
            for (size_t i = 0; i < down->ninputs; i++)
                if (down->inputs[i].stage == w->path[k]) {
                    fprintf(w->f, ".%s", st->desc->ports[down->inputs[i].port]);
                    break;
                }
        }
    }
    fprintf(w->f, "\n      pixel chain:");
    size_t npixel = 0;
    for (size_t k = w->depth; k-- > 0;) {
        const sp_stage *st = &p->stages[w->path[k]];
        if (st->desc->kind != SP_STAGE_PIXEL) continue;
        fprintf(w->f, "%s %s", npixel++ ? "," : "", st->name);
        if (strcmp(st->name, st->desc->name) != 0) fprintf(w->f, " (%s)", st->desc->name);
    }
    fprintf(w->f, "%s\n", npixel ? "" : " none (records are stored as decoded, re-encoded)");
}

static void walk_up(walk *w, int at)
{
    if (w->depth == SP_ARRAY_LEN(w->path) || w->printed >= 32) return;
    w->path[w->depth++] = at;
    const sp_stage *st = &w->p->stages[at];
    if (st->desc->kind == SP_STAGE_SOURCE) {
        print_path(w);
        w->printed++;
    }
    for (size_t i = 0; i < st->ninputs; i++) walk_up(w, st->inputs[i].stage);
    w->depth--;
}

static void print_text(const sp_pipeline *p, FILE *f)
{
    size_t sinks = 0;
    for (size_t i = 0; i < p->nstages; i++) sinks += p->stages[i].desc->kind == SP_STAGE_SINK;
    fprintf(f, "%s: %zu stages, %zu sink%s; output %s\n\nstages:\n", p->name, p->nstages, sinks,
            sinks == 1 ? "" : "s", sp_pipeline_output(p));
    for (size_t i = 0; i < p->nstages; i++) {
        const sp_stage *st = &p->stages[i];
        sp_buf in = {0}, opts = {0};
        for (size_t k = 0; k < st->ninputs; k++) {
            if (k) sp_buf_puts(&in, ", ");
            ref_text(p, &st->inputs[k], &in);
        }
        changed_options(st, &opts);
        fprintf(f, "  [%s] %s (%s%s)", st->name, st->desc->name,
                st->desc->flags & SP_PIXEL_RANDOM ? "random " : "", kind_name(st->desc->kind));
        if (in.len) fprintf(f, " <- %s", in.data);
        if (st->desc->ports) {
            fprintf(f, " ->");
            for (size_t k = 0; st->desc->ports[k]; k++)
                fprintf(f, "%s %s.%s", k ? "," : "", st->name, st->desc->ports[k]);
        }
        if (st->member_of >= 0) fprintf(f, " member of [%s]", p->stages[st->member_of].name);
        if (opts.len) fprintf(f, "\n      %s", opts.data);
        fprintf(f, "\n");
        sp_buf_free(&in);
        sp_buf_free(&opts);
    }
    for (size_t i = 0; i < p->nstages; i++) {
        const sp_stage *st = &p->stages[i];
        if (st->desc->kind != SP_STAGE_SINK) continue;
        fprintf(f, "\nsink [%s] (%s) writes %s-*, from:\n", st->name, st->desc->name,
                sp_sink_prefix(st));
        walk w = {.p = p, .f = f};
        walk_up(&w, (int)i);
    }
}

static void dot_id(FILE *f, const char *name)
{
    fputc('"', f);
    for (const char *s = name; *s; s++) {
        if (*s == '\n') {
            fputs("\\n", f); /* a line break inside a Graphviz label */
            continue;
        }
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void print_dot(const sp_pipeline *p, FILE *f)
{
    fprintf(f, "digraph pipeline {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", "
               "fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=10];\n");
    static const char *const shapes[] = {"cylinder", "box", "box", "folder"};
    for (size_t i = 0; i < p->nstages; i++) {
        const sp_stage *st = &p->stages[i];
        fprintf(f, "  ");
        dot_id(f, st->name);
        fprintf(f, " [shape=%s%s, label=", shapes[st->desc->kind],
                st->desc->kind == SP_STAGE_PIXEL ? ", style=rounded" : "");
        sp_buf label = {0};
        sp_buf_printf(&label, "[%s]\n%s%s", st->name,
                      st->desc->flags & SP_PIXEL_RANDOM ? "random " : "", st->desc->name);
        dot_id(f, label.data ? label.data : st->name);
        sp_buf_free(&label);
        fprintf(f, "];\n");
    }
    for (size_t i = 0; i < p->nstages; i++) {
        const sp_stage *st = &p->stages[i];
        if (st->member_of >= 0) { /* a group's part: a dashed edge from the group */
            fprintf(f, "  ");
            dot_id(f, p->stages[st->member_of].name);
            fprintf(f, " -> ");
            dot_id(f, st->name);
            fprintf(f, " [style=dashed, arrowhead=none];\n");
        }
        for (size_t k = 0; k < st->ninputs; k++) {
            const sp_stage *up = &p->stages[st->inputs[k].stage];
            fprintf(f, "  ");
            dot_id(f, up->name);
            fprintf(f, " -> ");
            dot_id(f, st->name);
            if (up->desc->ports) {
                fprintf(f, " [label=");
                dot_id(f, up->desc->ports[st->inputs[k].port]);
                fprintf(f, "]");
            }
            fprintf(f, ";\n");
        }
    }
    fprintf(f, "}\n");
}

int sp_pipeline_print(const sp_pipeline *pipe, void *file, sp_graph_style style)
{
    if (!pipe || !file) return SP_E_USAGE;
    if (style == SP_GRAPH_DOT)
        print_dot(pipe, file);
    else
        print_text(pipe, file);
    return SP_OK;
}

/* Whether some stage upstream of `at` (itself excluded) makes copies. */
static bool copies_upstream(const sp_pipeline *p, int at, char *seen)
{
    const sp_stage *st = &p->stages[at];
    for (size_t k = 0; k < st->ninputs; k++) {
        int up = st->inputs[k].stage;
        if (seen[up]) continue;
        seen[up] = 1;
        if (p->stages[up].desc->flags & SP_RECORD_COPIES) return true;
        if (copies_upstream(p, up, seen)) return true;
    }
    return false;
}

void sp_graph_warnings(sp_ctx *ctx, const sp_pipeline *p)
{
    char *seen = malloc(p->nstages ? p->nstages : 1);
    if (!seen) return;
    for (size_t i = 0; i < p->nstages; i++) {
        const sp_stage *st = &p->stages[i];
        if (!(st->desc->flags & SP_PIXEL_RANDOM) || st->apply != SP_APPLY_COPIES ||
            st->member_of >= 0)
            continue;
        memset(seen, 0, p->nstages);
        if (!copies_upstream(p, (int)i, seen))
            sp_log(ctx, SP_LOG_WARN,
                   "%s:%d: [%s] acts only on copies (apply = copies), and no stage before it "
                   "makes any: it will never act. Add a balance stage before it, or set "
                   "apply = all.",
                   p->name, st->line, st->name);
    }
    free(seen);
}
