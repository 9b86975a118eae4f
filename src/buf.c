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

void sp_json_str(sp_buf *b, const char *s)
{
    sp_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': sp_buf_puts(b, "\\\""); break;
        case '\\': sp_buf_puts(b, "\\\\"); break;
        case '\n': sp_buf_puts(b, "\\n"); break;
        case '\r': sp_buf_puts(b, "\\r"); break;
        case '\t': sp_buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20)
                sp_buf_printf(b, "\\u%04x", *p);
            else
                sp_buf_append(b, p, 1);
        }
    }
    sp_buf_append(b, "\"", 1);
}
