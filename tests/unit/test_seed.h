/*
 * The seed of a randomized unit test: SP_TEST_SEED if set, else the time; printed, so a
 * failure can be repeated. Include after <cmocka.h> (print_message).
 */
#ifndef SP_TEST_SEED_H
#define SP_TEST_SEED_H

#include <stdlib.h>
#include <time.h>

static unsigned test_seed(const char *test)
{
    const char *env = getenv("SP_TEST_SEED");
    unsigned seed = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    print_message("%s: seed %u (set SP_TEST_SEED to repeat)\n", test, seed);
    return seed;
}

#endif
