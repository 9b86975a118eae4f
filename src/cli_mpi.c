/*
 * `mpirun -n N shardpack build`: rank r builds part r of N (the same deal of shards as
 * `build --part r/N`), each with OpenMP threads, and rank 0 merges the parts as `finish`
 * does. The output is byte-identical to a single-process build (ctest mpi_build).
 */
#include "cli_mpi.h"

#ifdef SHARDPACK_MPI

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static bool joined;

/* Only under a launcher: a plain `shardpack build` stays one process, whatever the
 * environment can or cannot do for MPI. */
static bool launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK") ||
           getenv("MPI_LOCALNRANKS");
}

int sp_cli_mpi_init(int *argc, char ***argv)
{
    if (!launched()) return 1;
    if (MPI_Init(argc, argv) != MPI_SUCCESS) return 1;
    joined = true;
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

int sp_cli_mpi_build(sp_ctx *ctx, sp_pipeline *pipe, int threads)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (threads == 0) {
        /* The ranks on one machine share its cores. */
        MPI_Comm local;
        int nlocal = 1;
        if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL,
                                &local) == MPI_SUCCESS) {
            MPI_Comm_size(local, &nlocal);
            MPI_Comm_free(&local);
        }
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        long share = cores > 0 ? cores / (nlocal > 0 ? nlocal : 1) : 1;
        sp_ctx_set_threads(ctx, share > 0 ? (int)share : 1);
    }
    if (rank != 0) sp_ctx_set_progress(ctx, NULL, NULL);
    /* Rank 0 scans first, so the other ranks read the catalog cache instead of hashing
     * every input again at the same time. */
    int rc = rank == 0 ? sp_run_scan(ctx, pipe, NULL) : SP_OK;
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rc != SP_OK) return rank == 0 ? rc : SP_E_CANCELLED;
    sp_build_opts part = {.part = (uint32_t)rank, .nparts = (uint32_t)size};
    rc = sp_run_build(ctx, pipe, &part, NULL);
    if (rc != SP_OK) fprintf(stderr, "shardpack: rank %d: error: %s\n", rank, sp_errmsg(ctx));
    int failed = rc != SP_OK, any = 0;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any) return rc != SP_OK ? rc : SP_E_CANCELLED;
    if (rank == 0) {
        rc = sp_run_finish(ctx, sp_pipeline_output(pipe), NULL);
        if (rc != SP_OK) fprintf(stderr, "shardpack: error: %s\n", sp_errmsg(ctx));
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return rc;
}

void sp_cli_mpi_finalize(void)
{
    if (joined) MPI_Finalize();
    joined = false;
}

#else

int sp_cli_mpi_init(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 1;
}

int sp_cli_mpi_build(sp_ctx *ctx, sp_pipeline *pipe, int threads)
{
    (void)threads;
    return sp_run(ctx, pipe, NULL);
}

void sp_cli_mpi_finalize(void)
{
}

#endif
