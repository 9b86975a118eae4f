/*
 * A growable byte buffer. Appends never fail loudly: an allocation failure sets a sticky
 * flag the owner checks once, which keeps the JSON and TSV writers free of error plumbing.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static bool reserve(sp_buf *b, size_t extra)
{
    if (b->oom) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void sp_buf_append(sp_buf *b, const void *data, size_t n)
{
    if (!reserve(b, n)) return;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sp_buf_puts(sp_buf *b, const char *s)
{
    sp_buf_append(b, s, strlen(s));
}

void sp_buf_printf(sp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sp_buf_free(sp_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not one. File names are
 * bytes on Linux; JSON must be UTF-8, so invalid bytes become U+FFFD rather than making
 * the whole manifest unreadable. */
static size_t utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80) return 1;
    size_t n = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 && p[0] < 0xE0 ? 2 : 0;
    if (n == 0 || p[0] > 0xF4) return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    uint32_t cp = n == 2 ? (p[0] & 0x1Fu) : n == 3 ? (p[0] & 0x0Fu) : (p[0] & 0x07u);
    for (size_t i = 1; i < n; i++) cp = (cp << 6) | (p[i] & 0x3Fu);
    /* Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8. */
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void sp_json_str(sp_buf *b, const char *s)
{
    sp_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        switch (*p) {
        case '"': sp_buf_puts(b, "\\\""); break;
        case '\\': sp_buf_puts(b, "\\\\"); break;
        case '\n': sp_buf_puts(b, "\\n"); break;
        case '\r': sp_buf_puts(b, "\\r"); break;
        case '\t': sp_buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20) {
                sp_buf_printf(b, "\\u%04x", *p);
            } else {
                size_t n = utf8_len(p);
                if (n == 0) {
                    sp_buf_puts(b, "\\ufffd");
                    p++;
                } else {
                    sp_buf_append(b, p, n);
                    p += n;
                }
                continue;
            }
        }
        p++;
    }
    sp_buf_append(b, "\"", 1);
}

void sp_tsv_field(sp_buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '\t': sp_buf_puts(b, "\\t"); break;
        case '\n': sp_buf_puts(b, "\\n"); break;
        case '\r': sp_buf_puts(b, "\\r"); break;
        case '\\': sp_buf_puts(b, "\\\\"); break;
        default: sp_buf_append(b, s, 1);
        }
    }
}

void sp_printable(sp_buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\t' || c == '\n' || c == '\r' || c == '\\') sp_tsv_field(b, (char[]){*s, 0});
        else if (c < 0x20 || c == 0x7f) sp_buf_printf(b, "\\x%02x", c);
        else sp_buf_append(b, s, 1);
    }
}

char *sp_tsv_unescape(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[++i];
            *o++ = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}
