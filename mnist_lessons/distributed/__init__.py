"""The lesson's training, data parallel: one process per device, launched by torchrun, mpiexec or srun.

    torchrun --standalone --nproc-per-node 2 -m mnist_lessons.distributed --model mlp --epochs 2

Every process (a *rank*) holds the whole dataset as tensors and the same
model, starting from the same weights. Each step, all ranks cut the same
global batch from the same shuffled order and rank ``r`` keeps rows
``r, r + world, r + 2 world, ...`` of it (:class:`ShardedBatches`).
``DistributedDataParallel`` averages the ranks' gradients with an
all-reduce during the backward pass, so every rank applies the same update
and the weights stay identical: the run computes what one process would
compute with the whole global batch, up to rounding. The backend is chosen
for the hardware: ``nccl`` when each process sees a CUDA GPU of its own
(all of the node's, or one that ``CUDA_VISIBLE_DEVICES`` gives it), else
``gloo`` on CPUs. Only rank 0 logs and writes ``--out``. Collectives time
out after ``--timeout`` seconds, so a rank that dies or hangs ends the job
with one line saying so instead of leaving the others waiting for ever.

The launcher tells each process who it is through environment variables:
torchrun's (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``), or those of Open MPI, MPICH/PALS, Intel MPI or Slurm's
srun, which :mod:`mnist_lessons.distributed.launchers` translates; run as a plain
``python -m mnist_lessons.distributed`` it is a world of one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from .. import config
from ..checks import check_int
from ..cli.args import LessonParser, check_outputs, non_negative_int, output_file, root_argument, seed, positive_float, positive_int, probability, timeout_seconds
from ..data.batches import MNISTSplits, Split, TensorBatches, mnist_splits
from ..data.fetch import data_dir
from ..log import LINE_ENV, get_logger, running_in_notebook
from ..models import MODELS, count_parameters, describe_network
from ..training.loops import OPTIMIZERS, Evaluation, seed_everything, train_one_epoch
from ..training.recipe import RunConfig
from ..outputs import save_state_dict, write_or_rescue
from . import launchers

log = get_logger("mnist_lessons.distributed")  # not __name__: that is "__main__" under torchrun -m
PROG = "mnist_lessons.distributed"

#: Environment variables for tests: make rank ``FAIL_RANK_ENV`` fail at the
#: start of training, by raising (``FAIL_MODE_ENV=raise``, the default) or by
#: hanging (``FAIL_MODE_ENV=hang``).
FAIL_RANK_ENV = "MNIST_LESSONS_FAIL_RANK"
FAIL_MODE_ENV = "MNIST_LESSONS_FAIL_MODE"


@dataclass(frozen=True)
class World:
    """Who this process is in the job, what started it, and what it computes on."""

    rank: int
    world_size: int
    local_rank: int
    backend: str
    device: torch.device
    launcher: str = "none"
    why: str = ""  # why this backend and device


BACKENDS = launchers.BACKENDS


def pick_backend(ranks: launchers.Ranks, requested: str = "auto") -> launchers.Placement:
    """This process's backend and device: :func:`~.launchers.choose_backend` given the CUDA GPUs it sees.

    ``auto`` takes ``nccl`` when the process has a GPU of its own, else
    ``gloo``; ask for one by name to compare runs on the same backend.
    """
    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return launchers.choose_backend(requested, visible, ranks.local_rank, ranks.local_world_size, os.environ,
                                    nccl=dist.is_nccl_available())


def setup(timeout_s: float, backend: str = "auto") -> World:
    """Join the process group, whichever launcher started us: torchrun, mpiexec/mpirun, srun (or none: a world of one)."""
    if backend == "auto" and (ezpz := launchers.real_ezpz()) is not None:
        return _setup_with_ezpz(ezpz)
    ranks = launchers.identify(os.environ)  # rank, world size, local rank from the launcher's variables
    host, port = launchers.meeting_point(os.environ, ranks)  # where rank 0 waits for the others
    os.environ.update(launchers.torch_environment(ranks, host, port))  # what torch's env:// start-up reads
    placement = pick_backend(ranks, backend)  # gloo on the CPUs, or nccl on this rank's GPU
    device = torch.device(placement.device)
    options = {}
    if device.type == "cuda":
        torch.cuda.set_device(device)
        options["device_id"] = device  # binds NCCL to this rank's GPU
    dist.init_process_group(placement.backend, timeout=timedelta(seconds=timeout_s), **options)
    return World(ranks.rank, ranks.world_size, ranks.local_rank, placement.backend, device, ranks.launcher, placement.why)


def _setup_with_ezpz(ezpz) -> World:
    """Let the real ezpz find the launcher and join the process group, as the original lesson did."""
    ezpz.setup_torch()
    backend = dist.get_backend()
    local_rank = int(ezpz.get_local_rank())
    device = torch.device("cuda", local_rank) if backend == "nccl" else torch.device("cpu")
    return World(dist.get_rank(), dist.get_world_size(), local_rank, backend, device, "ezpz", "chosen by ezpz")


class ShardedBatches:
    """This rank's share of every global batch: rows ``rank::world_size``.

    ``batches`` yields the global batches, in the same order on every rank
    (the same seed). A final batch that cannot be shared out evenly is
    dropped on every rank, so that all ranks take the same number of steps.

    >>> global_batches = TensorBatches(torch.zeros(8, 1, 28, 28), torch.arange(8), batch_size=4)
    >>> [y.tolist() for _, y in ShardedBatches(global_batches, rank=1, world_size=2)]
    [[1, 3], [5, 7]]
    """

    def __init__(self, batches: TensorBatches, rank: int, world_size: int) -> None:
        world_size = check_int("world_size", world_size, minimum=1)
        rank = check_int("rank", rank, minimum=0)
        if rank >= world_size:
            raise ValueError(f"rank must be below world_size ({world_size}), got {rank}")
        if batches.batch_size % world_size:
            raise ValueError(f"the global batch size {batches.batch_size} must be a multiple of "
                             f"the number of processes {world_size}")
        self.batches, self.rank, self.world_size = batches, rank, world_size

    def __len__(self) -> int:
        full, rest = divmod(len(self.batches.x), self.batches.batch_size)
        return full + (rest > 0 and rest % self.world_size == 0)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.batches:
            if len(y) % self.world_size == 0:
                yield x[self.rank :: self.world_size], y[self.rank :: self.world_size]


def evaluate_sharded(split: Split, model: nn.Module, world: World, batch_size: int = config.EVAL_BATCH_SIZE) -> Evaluation:
    """Accuracy (%) and mean loss over ``split``: each rank evaluates its share (``batch_size`` images), an all-reduce adds them up."""
    model.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    totals = torch.zeros(3, dtype=torch.float64, device=world.device)  # loss, correct, count
    with torch.no_grad():
        for x, y in split.eval_batches(batch_size * world.world_size):
            x, y = x[world.rank :: world.world_size].to(world.device), y[world.rank :: world.world_size].to(world.device)
            pred = model(x)
            totals += torch.stack([loss_fn(pred, y).double(), (pred.argmax(1) == y).sum().double(),
                                   torch.tensor(len(y), dtype=torch.float64, device=world.device)])
    dist.all_reduce(totals)  # sum over ranks
    loss, correct, count = totals.tolist()
    return Evaluation(100.0 * correct / count, loss / count)


def synthetic_splits(n: int, seed: int) -> MNISTSplits:
    """A small made-up dataset in MNIST's shapes, for tests and dry runs: noise plus a bar whose row gives the label."""
    generator = torch.Generator().manual_seed(seed)

    def make(count: int) -> Split:
        y = torch.arange(count) % config.NUM_CLASSES
        x = torch.rand(count, *config.IMAGE_SHAPE, generator=generator) * 0.25
        for label in range(config.NUM_CLASSES):
            x[y == label, 0, 2 + 2 * label : 4 + 2 * label, 4:24] = 1.0
        return Split(x, y)

    return MNISTSplits(make(n), make(max(n // 4, config.NUM_CLASSES)), make(max(n // 4, config.NUM_CLASSES)))


def first_training_images(splits: MNISTSplits, n: int | None) -> MNISTSplits:
    """``splits`` with only the first ``n`` training images (all of them when ``n`` is None)."""
    if n is None:
        return splits
    if n > len(splits.train):
        raise ValueError(f"--train-size {n:,} is more than the {len(splits.train):,} training images; "
                         f"give at most {len(splits.train):,} or leave it out")
    return MNISTSplits(Split(splits.train.x[:n], splits.train.y[:n]), splits.val, splits.test)


def run_config(args: argparse.Namespace) -> RunConfig:
    """The run the arguments describe: the package's one recipe, with a global batch shuffled every epoch."""
    options = {"dropout": args.dropout} if args.model == "mlp" else {}
    return RunConfig(model=args.model, optimizer=args.optimizer, lr=args.lr, batch_size=args.global_batch_size,
                     epochs=args.epochs, seed=args.seed, shuffle=True, **options)


def _injected_failure(world: World) -> None:
    """Fail on purpose when the test's environment variables name this rank."""
    if os.environ.get(FAIL_RANK_ENV) == str(world.rank):
        if os.environ.get(FAIL_MODE_ENV, "raise") == "hang":
            log.warning(f"rank {world.rank}: hanging on purpose ({FAIL_RANK_ENV})")
            time.sleep(10**6)
        raise RuntimeError(f"rank {world.rank}: failing on purpose ({FAIL_RANK_ENV})")


def train(args: argparse.Namespace, world: World) -> tuple[dict, nn.Module]:
    """Train data parallel, evaluate on the test set once; return the results and the trained model (on every rank)."""
    recipe = run_config(args)
    seed_everything(recipe.seed)  # the same initial weights on every rank
    splits = synthetic_splits(args.synthetic, args.seed) if args.synthetic else mnist_splits(args.root, seed=args.seed)
    splits = first_training_images(splits, args.train_size)
    splits = MNISTSplits(*(Split(s.x.to(world.device), s.y.to(world.device)) for s in (splits.train, splits.val, splits.test)))
    model = recipe.build_model().to(world.device)
    ddp_model = DistributedDataParallel(model)  # broadcasts rank 0's weights, then averages gradients
    optimizer = recipe.build_optimizer(ddp_model.parameters())
    global_batches = recipe.train_batches(splits.train.x, splits.train.y)
    train_batches = ShardedBatches(global_batches, world.rank, world.world_size)
    if len(train_batches) == 0:
        raise ValueError(f"no training steps: {len(splits.train)} training images cannot be shared out as a batch "
                         f"among {world.world_size} process(es); use more images or a smaller --global-batch-size")
    log.info(f"{world.world_size} process(es), launcher {world.launcher}, backend {world.backend} on {world.device} "
             f"({world.why}), {torch.get_num_threads()} thread(s) each; "
             f"{args.model} ({count_parameters(model):,} parameters); global batch {args.global_batch_size} = "
             f"{world.world_size} x {args.global_batch_size // world.world_size}, {len(train_batches)} steps per epoch")
    history = []
    for epoch in range(1, args.epochs + 1):  # counted from 1, as fit() counts
        dist.barrier()
        start = time.perf_counter()
        train_one_epoch(train_batches, ddp_model, nn.CrossEntropyLoss(), optimizer)
        if world.device.type == "cuda":
            torch.cuda.synchronize()  # wait for the GPU's queued work before reading the clock
        dist.barrier()  # the epoch is over when the slowest rank is done
        seconds = time.perf_counter() - start
        val_acc, val_loss = evaluate_sharded(splits.val, model, world, recipe.eval_batch_size)
        history.append({"epoch": epoch, "train_seconds": seconds, "val_acc": val_acc, "val_loss": val_loss})
        log.info(f"epoch {epoch} | val {val_loss:.3f} / {val_acc:.2f} % | training {seconds:.2f} s")
    test_acc, test_loss = evaluate_sharded(splits.test, model, world, recipe.eval_batch_size)
    log.info(f"test accuracy {test_acc:.2f}% (loss {test_loss:.3f})")
    return {"world_size": world.world_size, "launcher": world.launcher, "backend": world.backend, "device": world.device.type,
            "threads_per_process": torch.get_num_threads(), "model": args.model,
            "parameters": count_parameters(model), "global_batch_size": args.global_batch_size,
            "lr": args.lr, "optimizer": args.optimizer, "seed": args.seed, "epochs": args.epochs,
            "train_images": len(splits.train), "steps_per_epoch": len(train_batches), "history": history,
            "train_seconds": sum(h["train_seconds"] for h in history),
            "test_acc": test_acc, "test_loss": test_loss}, model


def build_parser(writer: bool = True) -> argparse.ArgumentParser:
    """Arguments of ``python -m mnist_lessons.distributed`` (under torchrun); ``--out`` and ``--save`` are
    checked only where they are written (``writer``: rank 0), since another node may not see the same folders."""
    output = output_file if writer else Path
    parser = LessonParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=list(MODELS), default="mlp", help="which network (default: mlp)")
    parser.add_argument("--epochs", type=positive_int, default=config.EPOCHS, help="passes over the training data")
    parser.add_argument("--global-batch-size", type=positive_int, default=config.BATCH_SIZE,
                        help="examples per step over all processes together (a multiple of their number)")
    parser.add_argument("--lr", type=positive_float, default=config.LEARNING_RATE, help="learning rate")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd", help="optimiser (default: sgd)")
    parser.add_argument("--dropout", type=probability, default=config.DROPOUT, help="dropout rate of the mlp")
    parser.add_argument("--seed", type=seed, default=config.SEED, help="random seed (split, weights, order)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="gloo (CPU), nccl (one CUDA GPU per process) or auto: nccl when every process "
                             "on the node has a GPU, else gloo (default: auto)")
    parser.add_argument("--threads", type=positive_int,
                        help="PyTorch threads per process (default: $OMP_NUM_THREADS, else CPU cores / processes on this node)")
    parser.add_argument("--timeout", type=timeout_seconds, default=120.0,
                        help="seconds a collective may wait for the other processes before the job fails")
    parser.add_argument("--train-size", type=positive_int, metavar="N",
                        help="train on the first N training images only (quick runs, timings; default: all)")
    parser.add_argument("--root", type=root_argument, help="data directory")
    parser.add_argument("--synthetic", type=positive_int, metavar="N",
                        help="train on N made-up images instead of MNIST (tests, dry runs)")
    parser.add_argument("--out", type=output, help="write metrics and timings here as JSON (rank 0)")
    parser.add_argument("--save", type=output, metavar="PATH", help="save the trained weights here (rank 0)")
    return parser


def cpu_cores() -> int:
    """CPU cores this process may run on (fewer than the machine's when a job scheduler or taskset restricts it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads_per_process() -> int:
    """$OMP_NUM_THREADS if set (torchrun sets 1 when it starts several processes), else CPU cores / processes on this node."""
    if os.environ.get("OMP_NUM_THREADS", "").isdigit() and int(os.environ["OMP_NUM_THREADS"]) > 0:
        return int(os.environ["OMP_NUM_THREADS"])
    return max(1, cpu_cores() // launchers.identify(os.environ).local_world_size)


#: Seconds a rank other than 0 waits before it reports an error: time for the launcher to end it if rank 0,
#: meeting the same problem, has already said so and stopped (launchers stop the job when a process fails).
OTHERS_WAIT_S = 2.0


def _exit_quietly(status: int = 0, message: str | None = None) -> None:
    """Leave without a word (an argument error, the same on every rank, which rank 0 reports)."""
    if status:
        time.sleep(OTHERS_WAIT_S)
    sys.exit(status)


def _fail(rank: int, message: str, status: int = 1) -> int:
    """Say what went wrong in one line: rank 0 at once; another rank, prefixed with its number, after
    :data:`OTHERS_WAIT_S` (if rank 0 met the same problem, the launcher has ended it by then)."""
    if rank:
        time.sleep(OTHERS_WAIT_S)
    print(f"{PROG}{f' (rank {rank})' if rank else ''}: error: {message}", file=sys.stderr)
    return status


def _rank_or_zero() -> int:
    """This process's rank; for launcher variables that cannot be read, 0 where the problem is to be reported."""
    try:
        return launchers.identify(os.environ).rank
    except launchers.LauncherConflict as conflict:
        return 0 if conflict.report else 1
    except ValueError:  # a malformed variable: reported by main, on every rank
        return 0


def _lost_contact(err: Exception) -> str | None:
    """The backend's own words when ``err`` says another process died or hung (gloo, nccl, c10d), else None."""
    if not isinstance(err, dist.DistError) and not (isinstance(err, RuntimeError)
                                                    and re.search(r"gloo|nccl|c10d", str(err), re.IGNORECASE)):
        return None
    text = re.sub(r"^\[[^\]]*\]\s*", "", str(err).strip().splitlines()[0])  # drop gloo's "[file.cc:123]"
    return text.split(". ")[0]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``torchrun|mpiexec|srun ... python -m mnist_lessons.distributed [options]``."""
    rank = _rank_or_zero()
    parser = build_parser(writer=rank == 0)
    if rank != 0:
        parser.exit = _exit_quietly  # rank 0 alone prints --help and errors
    args = parser.parse_args(argv)
    if rank == 0:  # the one process that writes: its outputs must not clash with each other or with MNIST
        check_outputs(parser, {"--out": args.out, "--save": args.save}, args.root)
    try:
        ranks = launchers.identify(os.environ)
    except ValueError as err:  # launcher variables that cannot be read, or that disagree: one process says so
        if rank != 0:
            _exit_quietly(2)
        return _fail(0, str(err), status=2)
    try:
        pick_backend(ranks, args.backend)  # refuse an impossible --backend before starting
    except ValueError as err:  # this node's GPUs: may differ from rank 0's
        return _fail(rank, str(err), status=2)
    torch.set_num_threads(args.threads or threads_per_process())
    try:
        world = setup(args.timeout, args.backend)
    except (ValueError, RuntimeError) as err:
        return _fail(rank, str(err))
    if world.rank != 0:
        logging.disable(logging.INFO)  # only rank 0 reports progress; the others still report problems
    try:
        _injected_failure(world)
        start = time.perf_counter()
        results, model = train(args, world)
        results["total_seconds"] = time.perf_counter() - start
        if world.rank == 0 and args.out:
            write_or_rescue(args.out, (json.dumps(results, indent=2) + "\n").encode(), "the results", ".json")
            log.info(f"results written to {args.out}")
        if world.rank == 0 and args.save:
            recipe = run_config(args)
            written = save_state_dict(model, args.save, args.model, describe_network(args.model, **recipe.model_options()))
            log.info(f"weights saved to {written}")
    except KeyboardInterrupt:
        if world.rank == 0:
            print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, RuntimeError, OSError, ArithmeticError) as err:  # bad data, an unwritable output, divergence
        cause = _lost_contact(err)  # or another process died or hung
        return _fail(world.rank, f"lost contact with another process (it died or hung): {cause}; nothing was written"
                     if cause else str(err))
    finally:
        dist.destroy_process_group()
    return 0


def launch(args: Sequence[str], nproc_per_node: int = 1, timeout_s: float = 600,
           env: dict[str, str] | None = None, cwd: str | os.PathLike[str] | None = None) -> subprocess.CompletedProcess:
    """Run ``torchrun --standalone --nproc-per-node N -m mnist_lessons.distributed ARGS`` on this machine.

    torchrun is started with the running Python (``python -m torch.distributed.run``)
    in the folder ``cwd`` (default: this one), and each process gets
    ``OMP_NUM_THREADS`` = CPU cores / processes and the caller's data
    directory unless ``env`` says otherwise. Called from a notebook, the job
    logs the short line (numbers first). Returns the finished process, its
    stdout and stderr merged in ``.stdout``; the whole job is killed if it
    outlives ``timeout_s``.

    >>> job = launch(["--model", "mlp", "--epochs", "2", "--out", "results.json"], nproc_per_node=2)  # doctest: +SKIP
    >>> job.returncode  # doctest: +SKIP
    0
    """
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc_per_node}",
               "--monitor-interval=0.5", "-m", "mnist_lessons.distributed", *args]
    threads = str(max(1, cpu_cores() // nproc_per_node))
    environment = {**os.environ, "OMP_NUM_THREADS": threads, "PYTHONUNBUFFERED": "1",
                   config.DATA_DIR_ENV: str(data_dir()), **(env or {})}
    if running_in_notebook():
        environment.setdefault(LINE_ENV, "short")
    with subprocess.Popen(command, env=environment, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, start_new_session=True) as job:  # its own process group, to kill it whole
        try:
            output, _ = job.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(job.pid, signal.SIGKILL)
            output, _ = job.communicate()
            raise TimeoutError(f"torchrun with {nproc_per_node} processes ran over {timeout_s} s and was killed; "
                               f"its last output:\n{output[-3000:]}") from None
    return subprocess.CompletedProcess(command, job.returncode, output)

