/*
 * MPI for the CLI (src/cli_mpi.c): `mpirun -n N shardpack build` splits the shards across
 * the ranks. Only the CLI links MPI, and only when configured with -DSHARDPACK_MPI=ON;
 * otherwise these are stubs and every run is one process.
 */
#ifndef SP_CLI_MPI_H
#define SP_CLI_MPI_H

#include "shardpack/shardpack.h"

#include <stdbool.h>

/* Joins the MPI job when the process was started by an MPI launcher; the rank count
 * (1 without MPI). */
int sp_cli_mpi_init(int *argc, char ***argv);
/* The build across the ranks: rank 0 scans (filling the catalog cache the others read),
 * every rank builds its part (part = rank of N = ranks), then rank 0 finishes. `threads`
 * 0 gives each rank its share of the machine's cores. Returns this rank's result. */
int sp_cli_mpi_build(sp_ctx *ctx, sp_pipeline *pipe, int threads);
void sp_cli_mpi_finalize(void);

#endif
