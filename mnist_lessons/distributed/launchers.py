"""Who is this process in the job? Rank, world size, meeting point and device under torchrun, Open MPI, MPICH/PALS,
Intel MPI or Slurm: pure functions of the variables each sets (reading ``PBS_NODEFILE`` aside), easy to test."""

from __future__ import annotations

import re
import socket
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 29500  # torchrun's, when nothing names a job to derive one from
PORT_BASE, PORT_SPAN = 20000, 10000  # ports derived from a job id: [BASE, BASE + SPAN), below the ephemeral ones
MPI_LAUNCHERS = ("openmpi", "pals", "intel-mpi", "mpich")  # mpi4py can tell them rank 0's host
#: Variables that name the job (and step), to derive a port shared by every rank.
JOB_ID_VARIABLES = ("PBS_JOBID", "PALS_APID", "SLURM_JOB_ID", "SLURM_STEP_ID", "OMPI_MCA_ess_base_jobid",
                    "PMIX_NAMESPACE")
BACKENDS = ("auto", "gloo", "nccl")


class LauncherConflict(ValueError):
    """torchrun's RANK and WORLD_SIZE (left in the shell?) disagree with the MPI launcher's; ``report``: say so here."""

    def __init__(self, message: str, report: bool) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job, as its launcher described it."""

    launcher: str
    rank: int
    world_size: int
    local_rank: int
    local_world_size: int


def detect_launcher(env: Mapping[str, str], torchrun: bool = True) -> str:
    """Which launcher started this process, or "none"; MPI before Slurm: ``mpiexec`` inherits ``SLURM_PROCID=0``."""
    if torchrun and "RANK" in env and "WORLD_SIZE" in env:
        return "torchrun"
    if "OMPI_COMM_WORLD_SIZE" in env:
        return "openmpi"
    if "PALS_RANKID" in env or ("PMI_LOCAL_RANK" in env and "PMI_SIZE" in env):
        return "pals"
    if "PMI_RANK" in env and "PMI_SIZE" in env:
        return "intel-mpi" if any(name.startswith("I_MPI_") for name in env) else "mpich"
    if "SLURM_PROCID" in env and ("SLURM_STEP_NUM_TASKS" in env or "SLURM_NTASKS" in env):
        return "slurm"
    return "none"


def _int(env: Mapping[str, str], *names: str, default: int | None = None) -> int:
    for name in names:
        if name in env:
            try:
                return int(env[name])
            except ValueError:
                raise ValueError(f"environment variable {name}={env[name]!r} should be a whole number") from None
    if default is None:
        raise ValueError(f"none of the environment variables {', '.join(names)} is set")
    return default


def slurm_tasks_per_node(text: str) -> list[int]:
    """Expand Slurm's tasks-per-node syntax: ``"2(x3),1"`` is ``[2, 2, 2, 1]``."""
    counts = []
    for part in text.split(","):
        match = re.fullmatch(r"(\d+)(?:\(x(\d+)\))?", part.strip())
        if not match:
            raise ValueError(f"cannot read Slurm's tasks per node {text!r}")
        counts += [int(match[1])] * int(match[2] or 1)
    return counts


def identify(env: Mapping[str, str]) -> Ranks:
    """This process's :class:`Ranks`, from whichever launcher's variables are set (see :class:`LauncherConflict`)."""
    ranks = _read(env, detect_launcher(env))
    started_by = detect_launcher(env, torchrun=False)
    if ranks.launcher == "torchrun" and "TORCHELASTIC_RUN_ID" not in env and started_by in MPI_LAUNCHERS:
        mpi = _read(env, started_by)
        if (mpi.rank, mpi.world_size) != (ranks.rank, ranks.world_size):
            reporter = 0 if (ranks.rank, ranks.world_size) != (0, mpi.world_size) else 1
            raise LauncherConflict(
                f"RANK={ranks.rank} and WORLD_SIZE={ranks.world_size} (torchrun's, left in the shell?) disagree with "
                f"{started_by}, which started this process as rank {mpi.rank} of {mpi.world_size}; unset RANK and "
                "WORLD_SIZE (and LOCAL_RANK, MASTER_ADDR, MASTER_PORT) and launch again", report=mpi.rank == reporter)
    return ranks


def _read(env: Mapping[str, str], launcher: str) -> Ranks:
    if launcher == "none":
        return Ranks("none", 0, 1, 0, 1)
    if launcher == "torchrun":
        rank, world = _int(env, "RANK"), _int(env, "WORLD_SIZE")
        local_rank = _int(env, "LOCAL_RANK", default=0)
        local_world = _int(env, "LOCAL_WORLD_SIZE", default=world)
    elif launcher == "openmpi":
        rank, world = _int(env, "OMPI_COMM_WORLD_RANK"), _int(env, "OMPI_COMM_WORLD_SIZE")
        local_rank = _int(env, "OMPI_COMM_WORLD_LOCAL_RANK", default=0)
        local_world = _int(env, "OMPI_COMM_WORLD_LOCAL_SIZE", default=world)
    elif launcher in ("pals", "intel-mpi", "mpich"):
        rank, world = _int(env, "PMI_RANK", "PALS_RANKID"), _int(env, "PMI_SIZE")
        local_rank = _int(env, "PMI_LOCAL_RANK", "PALS_LOCAL_RANKID", "MPI_LOCALRANKID", default=0)
        local_world = _int(env, "PMI_LOCAL_SIZE", "PALS_LOCAL_SIZE", "MPI_LOCALNRANKS", default=world)
    else:  # slurm
        rank, world = _int(env, "SLURM_PROCID"), _int(env, "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS")
        local_rank = _int(env, "SLURM_LOCALID", default=0)
        per_node = env.get("SLURM_STEP_TASKS_PER_NODE") or env.get("SLURM_TASKS_PER_NODE")
        node = _int(env, "SLURM_NODEID", default=0)
        counts = slurm_tasks_per_node(per_node) if per_node else []
        local_world = counts[node] if node < len(counts) else _int(env, "SLURM_NTASKS_PER_NODE", default=world)
    if not (0 <= rank < world and 0 <= local_rank < local_world <= world):
        raise ValueError(f"{launcher} says rank {rank} of {world}, local rank {local_rank} of {local_world}: "
                         "these do not fit together")
    return Ranks(launcher, rank, world, local_rank, local_world)


def expand_nodelist(text: str) -> list[str]:
    """Expand Slurm's compressed host list: ``"gpu[01-03,7],login"`` is gpu01, gpu02, gpu03, gpu7, login."""
    names = re.split(r",(?![^\[]*\])", text)  # at the commas outside brackets
    if not all(re.fullmatch(r"(?:[^\[\],]+|\[[^\[\]]*\])+", name) for name in names):
        raise ValueError(f"cannot read the host list {text!r}: empty names or unbalanced brackets")
    return [host for name in names for host in _expand_one(name, text)]


def _expand_one(name: str, whole: str) -> list[str]:
    if not (match := re.match(r"([^\[]*)\[([^\]]*)\](.*)", name)):
        return [name]
    head, ranges, tail = match.groups()
    out = []
    for part in ranges.split(","):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()) or (high and int(high) < int(low)):
            raise ValueError(f"cannot read the range {part!r} in the host list {whole!r}")
        for number in range(int(low), int(high or low) + 1):
            out += [f"{head}{number:0{len(low)}d}{rest}" for rest in _expand_one(tail, whole)]
    return out


def job_hosts(env: Mapping[str, str]) -> list[str]:
    """The job's hosts in order, from PBS's node file or Slurm's node list (empty if neither is known)."""
    nodefile = env.get("PBS_NODEFILE")
    if nodefile and Path(nodefile).is_file():  # PBS repeats a host once per slot: keep each once, in order
        return list(dict.fromkeys(line.strip() for line in Path(nodefile).read_text().splitlines() if line.strip()))
    nodelist = env.get("SLURM_STEP_NODELIST") or env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST")
    return expand_nodelist(nodelist) if nodelist else []


def job_port(env: Mapping[str, str]) -> int:
    """``MASTER_PORT`` if set, else a port every rank derives alike from the job's id, else 29500."""
    if "MASTER_PORT" in env:
        return _int(env, "MASTER_PORT")
    job = "/".join(env[name] for name in JOB_ID_VARIABLES if name in env)
    return PORT_BASE + zlib.crc32(job.encode()) % PORT_SPAN if job else DEFAULT_PORT


def torch_environment(ranks: Ranks, host: str, port: int) -> dict[str, str]:
    """The variables ``torch.distributed``'s ``env://`` start-up reads, as torchrun would set them."""
    return {"RANK": str(ranks.rank), "WORLD_SIZE": str(ranks.world_size), "LOCAL_RANK": str(ranks.local_rank),
            "LOCAL_WORLD_SIZE": str(ranks.local_world_size), "MASTER_ADDR": host, "MASTER_PORT": str(port)}


def meeting_point(env: Mapping[str, str], ranks: Ranks) -> tuple[str, int]:
    """(host, port) where rank 0 waits: MASTER_ADDR, loopback on one host, mpi4py's word, or the job's first host."""
    if ranks.launcher == "none":
        return "127.0.0.1", free_port()
    port = job_port(env)
    if "MASTER_ADDR" in env:
        return env["MASTER_ADDR"], port
    if ranks.world_size == ranks.local_world_size:
        return "127.0.0.1", port
    if ranks.launcher in MPI_LAUNCHERS and (found := rendezvous_over_mpi(ranks)) is not None:
        return found  # MPI itself knows where rank 0 runs
    if not (hosts := job_hosts(env)):
        raise ValueError(f"{ranks.launcher}: cannot tell which host rank 0 is on (no PBS_NODEFILE or Slurm node "
                         "list); set MASTER_ADDR and MASTER_PORT for every rank, or install mpi4py")
    return hosts[0], port


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (``""``: on every interface)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def rendezvous_over_mpi(ranks: Ranks) -> tuple[str, int] | None:
    """Rank 0's host name and a free port there, sent to every rank by mpi4py; None without mpi4py."""
    try:
        from mpi4py import MPI  # type: ignore[import-not-found]
    except ImportError:
        return None
    found = (socket.gethostname(), free_port("")) if ranks.rank == 0 else None
    return MPI.COMM_WORLD.bcast(found, root=0)


@dataclass(frozen=True)
class Placement:
    """Where one process computes: its backend, its device (``cpu`` or ``cuda:N`` as it numbers them) and why."""

    backend: str
    device: str
    why: str


def choose_backend(requested: str, visible_gpus: int, local_rank: int, local_world_size: int,
                   env: Mapping[str, str], nccl: bool = True) -> Placement:
    """gloo on the CPUs or nccl on a CUDA GPU, from the GPUs this process sees; processes sharing one are an error."""
    if requested not in BACKENDS:
        raise ValueError(f"unknown backend {requested!r}; choose one of {', '.join(BACKENDS)}")
    if requested == "gloo":
        return Placement("gloo", "cpu", "--backend gloo")
    mask = env.get("CUDA_VISIBLE_DEVICES")
    if visible_gpus and nccl:
        if visible_gpus >= local_world_size:
            return Placement("nccl", f"cuda:{local_rank}", f"{visible_gpus} GPU(s) seen by each of the "
                             f"{local_world_size} process(es) here: GPU {local_rank} for local rank {local_rank}")
        if mask:
            return Placement("nccl", "cuda:0", f"CUDA_VISIBLE_DEVICES={mask}: a GPU of its own")
        raise ValueError(f"the {local_world_size} processes on this node share {visible_gpus} GPU(s) and nccl needs "
                         "one each: give each process its own (srun --gpus-per-task=1, or jobs/set_affinity.sh under "
                         f"mpiexec), start at most {visible_gpus} per node, or use --backend gloo (CPUs)")
    why = "this PyTorch was built without nccl" if visible_gpus else "this process sees no CUDA GPU"
    if not visible_gpus and mask is not None:
        why += f" (CUDA_VISIBLE_DEVICES={mask!r})"
    if requested == "nccl":
        raise ValueError(f"backend nccl needs a CUDA GPU for each process, but {why}; use --backend gloo (CPUs), "
                         "or run where the GPUs are visible")
    return Placement("gloo", "cpu", f"{why}: gloo on the CPUs")


def real_ezpz():
    """The real ezpz toolkit (from its git repository) if importable, else None; PyPI's namesake is ignored."""
    try:
        import ezpz  # type: ignore[import-not-found]
    except Exception:
        return None
    return ezpz if all(callable(getattr(ezpz, name, None)) for name in ("setup_torch", "get_local_rank")) else None
