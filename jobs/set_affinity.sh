#!/bin/bash
# Give this MPI rank one GPU of its node, the one nearest its CPU cores, then run the command.
# Polaris (ALCF): `mpiexec --depth 8 --cpu-bind depth` puts local rank r on cores 8r..8r+7, and the
# node's topology puts GPU 3-r closest to them, so the GPUs are handed out in reverse order.
# The program then sees one GPU (cuda:0) and uses nccl on it.
#     mpiexec -n 8 --ppn 4 --depth 8 --cpu-bind depth jobs/set_affinity.sh python -m mnist_lessons.distributed ...
set -euo pipefail
local_rank=${PALS_LOCAL_RANKID:-${PMI_LOCAL_RANK:-${OMPI_COMM_WORLD_LOCAL_RANK:-}}}
if [[ -z $local_rank ]]; then
    echo "set_affinity.sh: no local rank (PALS_LOCAL_RANKID, PMI_LOCAL_RANK): start it with mpiexec" >&2
    exit 2
fi
gpus=${GPUS_PER_NODE:-4}
export CUDA_VISIBLE_DEVICES=$(( gpus - 1 - local_rank % gpus ))
exec "$@"
