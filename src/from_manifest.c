/*
 * Rebuilding from a manifest: manifest.json holds the effective config (every option of
 * every stage, defaults filled in, the output folder left out), so it can be turned back
 * into a pipeline.ini and run again to make the same output.
 */
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* inih reads a value to the end of the line and trims it, and cuts it at " ;": values
 * that would not survive that are refused rather than rebuilt into something else. */
static bool ini_safe(const char *v)
{
    size_t n = strlen(v);
    if (strpbrk(v, "\n\r") || strstr(v, " ;") || strstr(v, "\t;")) return false;
    return n == 0 || (v[0] != ' ' && v[0] != '\t' && v[n - 1] != ' ' && v[n - 1] != '\t');
}

static int section_to_ini(const cJSON *sec, sp_buf *b, sp_error *err)
{
    if (!cJSON_IsObject(sec))
        return sp_fail(err, SP_E_CONFIG, "config section '%s' is not an object", sec->string);
    sp_buf_printf(b, "[%s]\n", sec->string);
    for (const cJSON *kv = sec->child; kv; kv = kv->next) {
        if (!cJSON_IsString(kv))
            return sp_fail(err, SP_E_CONFIG, "config value %s.%s is not a string", sec->string,
                           kv->string);
        if (!ini_safe(kv->valuestring))
            return sp_fail(err, SP_E_CONFIG, "config value %s.%s cannot be written to an INI "
                                             "line as it is",
                           sec->string, kv->string);
        sp_buf_printf(b, "%s = %s\n", kv->string, kv->valuestring);
    }
    sp_buf_puts(b, "\n");
    return SP_OK;
}

int sp_pipeline_load_manifest(sp_ctx *ctx, const char *path, const char *const *overrides,
                              size_t n, sp_pipeline **out)
{
    *out = NULL;
    sp_error err;
    sp_error_clear(&err);
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = sp_read_file(path, 1u << 30, &data, &len, &err);
    cJSON *root = NULL;
    if (rc == SP_OK && !(root = cJSON_ParseWithLength((const char *)data, len)))
        rc = sp_fail(&err, SP_E_CONFIG, "not valid JSON");
    free(data);
    const cJSON *cfg = root ? cJSON_GetObjectItemCaseSensitive(root, "config") : NULL;
    if (rc == SP_OK && !cJSON_IsObject(cfg))
        rc = sp_fail(&err, SP_E_CONFIG, "no \"config\" object: not a shardpack manifest");
    sp_buf ini = {0};
    sp_buf_printf(&ini, "; rebuilt from %s\n", path);
    for (const cJSON *sec = cfg ? cfg->child : NULL; rc == SP_OK && sec; sec = sec->next)
        rc = section_to_ini(sec, &ini, &err);
    cJSON_Delete(root);
    if (rc == SP_OK && ini.oom) rc = sp_fail(&err, SP_E_NOMEM, "out of memory");
    if (rc != SP_OK) {
        sp_buf_free(&ini);
        sp_error_set_path(&err, path);
        char msg[1400];
        sp_log(ctx, SP_LOG_ERROR, "%s", sp_error_format(&err, msg, sizeof(msg)));
        return sp_ctx_error(ctx, &err);
    }
    rc = sp_pipeline_load_string(ctx, ini.data, path, overrides, n, out);
    sp_buf_free(&ini);
    if (rc != SP_OK) return rc;
    /* The output folder is not in the manifest: it is the manifest's own folder. */
    char *dir = sp_path_dir(path);
    rc = dir ? sp_pipeline_set_output(*out, dir) : SP_E_NOMEM;
    free(dir);
    if (rc != SP_OK) {
        sp_pipeline_free(out);
        return sp_fail(&ctx->err, rc, "out of memory");
    }
    return SP_OK;
}
