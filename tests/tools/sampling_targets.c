/*
 * sampling_targets: the class targets of a balance strategy, for tests that compare them
 * with imbalanced-learn (tests/compat/check_imblearn.py).
 *
 *   sampling_targets MODE STRATEGY [ratio=X] [power=Q] [target=STAT] [count=N]
 *                    [classes=c00:N,...] -- COUNT...
 *
 * Classes are named c00, c01, ... in the order of the counts (label order). Prints
 * "c00=N c01=N ..." and exits 0, or "error: MESSAGE" and exits 1.
 */
#include "sampling.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int choice(const sp_enum_choice *c, const char *name)
{
    for (; c->name; c++)
        if (!strcmp(c->name, name)) return c->value;
    fprintf(stderr, "sampling_targets: unknown choice '%s'\n", name);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: sampling_targets MODE STRATEGY [key=value...] -- COUNT...\n");
        return 2;
    }
    sp_sampling s = {.mode = choice(sp_sampling_mode_choices, argv[1]),
                     .strategy = choice(sp_sampling_strategy_choices, argv[2]),
                     .ratio = 1,
                     .power = 0.5};
    int i = 3;
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        const char *a = argv[i];
        if (!strncmp(a, "ratio=", 6)) s.ratio = strtod(a + 6, NULL);
        else if (!strncmp(a, "power=", 6)) s.power = strtod(a + 6, NULL);
        else if (!strncmp(a, "count=", 6)) s.count = strtoull(a + 6, NULL, 10);
        else if (!strncmp(a, "classes=", 8)) s.classes = a + 8;
        else if (!strncmp(a, "target=", 7)) s.target = choice(sp_sampling_target_choices, a + 7);
        else {
            fprintf(stderr, "sampling_targets: unknown argument '%s'\n", a);
            return 2;
        }
    }
    size_t n = i < argc ? (size_t)(argc - i - 1) : 0;
    uint64_t *counts = calloc(n + 1, sizeof(uint64_t)), *out = calloc(n + 1, sizeof(uint64_t));
    char **names = calloc(n + 1, sizeof(char *));
    if (!counts || !out || !names) return 2;
    for (size_t k = 0; k < n; k++) {
        counts[k] = strtoull(argv[i + 1 + (int)k], NULL, 10);
        names[k] = malloc(32);
        snprintf(names[k], 32, "c%02u", (unsigned)k);
    }
    sp_error err;
    sp_error_clear(&err);
    int rc = sp_sampling_targets(&s, counts, (const char *const *)names, n, out, &err);
    if (rc != SP_OK) {
        printf("error: %s\n", err.msg);
    } else {
        for (size_t k = 0; k < n; k++) printf("%s%s=%llu", k ? " " : "", names[k], (unsigned long long)out[k]);
        printf("\n");
    }
    for (size_t k = 0; k < n; k++) free(names[k]);
    free(names), free(counts), free(out);
    return rc == SP_OK ? 0 : 1;
}
