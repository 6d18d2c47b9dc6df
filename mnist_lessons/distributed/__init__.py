"""The lesson's training, data parallel: one process per device, launched by torchrun, mpiexec or srun.

Each rank trains on its share of every global batch; ``DistributedDataParallel`` averages the gradients, so the
run computes what one process would, up to rounding. Only rank 0 logs and writes."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..checks import check_int
from ..cli.args import (LessonParser, add_run_arguments, check_outputs, output_file, positive_int, root_argument,
                        run_config, timeout_seconds)
from ..config import DATA_DIR_ENV, EVAL_BATCH_SIZE, IMAGE_SHAPE, NUM_CLASSES
from ..data.augment import AugmentedBatches
from ..data.batches import MNISTSplits, Split, TensorBatches, mnist_splits
from ..data.fetch import data_dir
from ..log import LINE_ENV, running_in_notebook, setup_logging
from ..models import count_parameters, describe_network
from ..outputs import save_state_dict, write_or_rescue
from ..training.loops import Evaluation, evaluate, seed_everything, train_one_epoch
from ..training.recipe import RunConfig
from . import launchers

log = logging.getLogger("mnist_lessons.distributed")  # not __name__: that is "__main__" under torchrun -m
PROG = "mnist_lessons.distributed"

#: For tests: rank ``$FAIL_RANK_ENV`` fails at the start of training, raising or (``$FAIL_MODE_ENV=hang``) hanging.
FAIL_RANK_ENV = "MNIST_LESSONS_FAIL_RANK"
FAIL_MODE_ENV = "MNIST_LESSONS_FAIL_MODE"


@dataclass(frozen=True)
class World:
    """Who this process is in the job, what started it, what it computes on, and why."""

    rank: int
    world_size: int
    backend: str
    device: torch.device
    launcher: str
    why: str


def pick_backend(ranks: launchers.Ranks, requested: str = "auto") -> launchers.Placement:
    """This process's backend and device: :func:`~.launchers.choose_backend` given the CUDA GPUs it sees."""
    visible = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return launchers.choose_backend(requested, visible, ranks.local_rank, ranks.local_world_size, os.environ,
                                    nccl=dist.is_nccl_available())


def setup(timeout_s: float, backend: str = "auto") -> World:
    """Join the process group, whichever launcher started us: torchrun, mpiexec, srun (none: a world of one)."""
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
    return World(ranks.rank, ranks.world_size, placement.backend, device, ranks.launcher, placement.why)


def _setup_with_ezpz(ezpz) -> World:
    ezpz.setup_torch()
    backend = dist.get_backend()
    device = torch.device("cuda", int(ezpz.get_local_rank())) if backend == "nccl" else torch.device("cpu")
    return World(dist.get_rank(), dist.get_world_size(), backend, device, "ezpz", "chosen by ezpz")


class ShardedBatches:
    """This rank's rows ``rank::world_size`` of every global batch; one not evenly shared is dropped on every rank.

    >>> global_batches = TensorBatches(torch.zeros(8, 1, 28, 28), torch.arange(8), batch_size=4)
    >>> [y.tolist() for _, y in ShardedBatches(global_batches, rank=1, world_size=2)]
    [[1, 3], [5, 7]]
    """

    def __init__(self, batches: TensorBatches | AugmentedBatches, rank: int, world_size: int) -> None:
        world_size, rank = check_int("world_size", world_size, minimum=1), check_int("rank", rank, minimum=0)
        if rank >= world_size:
            raise ValueError(f"rank must be below world_size ({world_size}), got {rank}")
        tensors = batches.batches if isinstance(batches, AugmentedBatches) else batches  # augmented whole, then shared
        if tensors.batch_size % world_size:
            raise ValueError(f"the global batch size {tensors.batch_size} must be a multiple of "
                             f"the number of processes {world_size}")
        self.batches, self.rank, self.world_size = batches, rank, world_size
        self.examples, self.batch_size = len(tensors.x), tensors.batch_size

    def __len__(self) -> int:
        full, rest = divmod(self.examples, self.batch_size)
        return full + (rest > 0 and rest % self.world_size == 0)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.batches:
            if len(y) % self.world_size == 0:
                yield x[self.rank :: self.world_size], y[self.rank :: self.world_size]


def evaluate_sharded(split: Split, model: nn.Module, world: World, batch_size: int = EVAL_BATCH_SIZE) -> Evaluation:
    """Accuracy (%) and mean loss over ``split``: each rank evaluates its share; an all-reduce adds up the counts."""
    share = [(x[world.rank :: world.world_size], y[world.rank :: world.world_size])
             for x, y in split.eval_batches(batch_size * world.world_size)]
    count = sum(len(y) for _, y in share)
    accuracy, loss = evaluate(share, model, nn.CrossEntropyLoss())
    sums = torch.tensor([loss * count, round(accuracy * count / 100), count], dtype=torch.float64, device=world.device)
    dist.all_reduce(sums)  # over ranks
    loss_sum, correct, count = sums.tolist()
    return Evaluation(100.0 * correct / count, loss_sum / count)


def synthetic_splits(n: int, seed: int) -> MNISTSplits:
    """Made-up data in MNIST's shapes, for tests and dry runs: noise plus a bar whose row gives the label."""
    generator = torch.Generator().manual_seed(seed)

    def make(count: int) -> Split:
        y = torch.arange(count) % NUM_CLASSES
        x = torch.rand(count, *IMAGE_SHAPE, generator=generator) * 0.25
        for label in range(NUM_CLASSES):
            x[y == label, 0, 2 + 2 * label : 4 + 2 * label, 4:24] = 1.0
        return Split(x, y)

    return MNISTSplits(make(n), make(max(n // 4, NUM_CLASSES)), make(max(n // 4, NUM_CLASSES)))


def _injected_failure(world: World) -> None:
    if os.environ.get(FAIL_RANK_ENV) == str(world.rank):
        if os.environ.get(FAIL_MODE_ENV, "raise") == "hang":
            log.warning(f"rank {world.rank}: hanging on purpose ({FAIL_RANK_ENV})")
            time.sleep(10**6)
        raise RuntimeError(f"rank {world.rank}: failing on purpose ({FAIL_RANK_ENV})")


def train_data_parallel(config: RunConfig, splits: MNISTSplits, world: World) -> tuple[dict, nn.Module]:
    """Train as :func:`~mnist_lessons.training.recipe.run` does, in ``DistributedDataParallel``; test once."""
    available = len(splits.train)
    if config.train_size is not None and config.train_size > available:
        raise ValueError(f"--train-size {config.train_size:,} is more than the {available:,} training images; "
                         f"give at most {available:,} or leave it out")
    x, y = splits.train.x[: config.train_size].to(world.device), splits.train.y[: config.train_size].to(world.device)
    val, test = (Split(s.x.to(world.device), s.y.to(world.device)) for s in (splits.val, splits.test))
    seed_everything(config.seed)  # the same initial weights on every rank
    model = config.build_model().to(world.device)
    ddp_model = DistributedDataParallel(model)  # broadcasts rank 0's weights, then averages gradients
    optimizer = config.build_optimizer(ddp_model.parameters())
    scheduler = config.schedule(optimizer, config.epochs) if config.schedule is not None else None
    train_batches = ShardedBatches(config.train_batches(x, y), world.rank, world.world_size)
    if len(train_batches) == 0:
        raise ValueError(f"no training steps: {len(x)} training images cannot be shared out as a batch "
                         f"among {world.world_size} process(es); use more images or a smaller --global-batch-size")
    log.info(f"{world.world_size} process(es), launcher {world.launcher}, backend {world.backend} on {world.device} "
             f"({world.why}), {torch.get_num_threads()} thread(s) each; "
             f"{config.model} ({count_parameters(model):,} parameters); global batch {config.batch_size} = "
             f"{world.world_size} x {config.batch_size // world.world_size}, {len(train_batches)} steps per epoch")
    history = []
    for epoch in range(1, config.epochs + 1):  # counted from 1, as fit() counts
        lr = optimizer.param_groups[0]["lr"]
        dist.barrier()
        start = time.perf_counter()
        train_one_epoch(train_batches, ddp_model, nn.CrossEntropyLoss(), optimizer)
        if world.device.type == "cuda":
            torch.cuda.synchronize()  # wait for the GPU's queued work before reading the clock
        dist.barrier()  # the epoch is over when the slowest rank is done
        seconds = time.perf_counter() - start
        val_acc, val_loss = evaluate_sharded(val, model, world, config.eval_batch_size)
        if not math.isfinite(val_loss):  # as fit() checks: broken weights are not trained on
            raise FloatingPointError(f"training diverged in epoch {epoch}: the validation loss became {val_loss}; "
                                     f"the learning rate {lr:g} is probably too large: try a smaller one")
        if scheduler is not None:
            scheduler.step()
        history.append({"epoch": epoch, "lr": lr, "train_seconds": seconds, "val_acc": val_acc, "val_loss": val_loss})
        log.info(f"epoch {epoch} | val {val_loss:.3f} / {val_acc:.2f} % | lr {lr:.3g} | training {seconds:.2f} s")
    test_acc, test_loss = evaluate_sharded(test, model, world, config.eval_batch_size)
    log.info(f"test accuracy {test_acc:.2f}% (loss {test_loss:.3f})")
    return {"world_size": world.world_size, "launcher": world.launcher, "backend": world.backend,
            "device": world.device.type, "threads_per_process": torch.get_num_threads(),
            **{f.name: getattr(config, f.name) for f in fields(config)}, "parameters": count_parameters(model),
            "train_images": len(x), "steps_per_epoch": len(train_batches), "history": history,
            "train_seconds": sum(h["train_seconds"] for h in history), "test_acc": test_acc,
            "test_loss": test_loss}, model


def build_parser(writer: bool = True) -> argparse.ArgumentParser:
    """``mnist-lessons train``'s options and the job's; only the ``writer`` (rank 0) checks ``--out`` and ``--save``."""
    output = output_file if writer else Path
    parser = LessonParser(prog=PROG, description=__doc__.splitlines()[0])
    add_run_arguments(parser, skip=("train_eval_size",), flags={"batch_size": "--global-batch-size"},
                      help={"batch_size": "examples per step over all processes together (a multiple of their number)"})
    parser.set_defaults(shuffle=True)  # each epoch its own order, as DistributedSampler shuffles
    parser.add_argument("--backend", choices=launchers.BACKENDS, default="auto",
                        help="gloo (CPU), nccl (one CUDA GPU per process) or auto: nccl when every process on the "
                             "node has a GPU, else gloo")
    parser.add_argument("--threads", type=positive_int,
                        help="PyTorch threads per process (default: $OMP_NUM_THREADS, else cores / local processes)")
    parser.add_argument("--timeout", type=timeout_seconds, default=120.0,
                        help="seconds a collective may wait for the other processes before the job fails")
    parser.add_argument("--root", type=root_argument, help="data directory")
    parser.add_argument("--synthetic", type=positive_int, metavar="N",
                        help="train on N made-up images instead of MNIST (tests, dry runs)")
    parser.add_argument("--out", type=output, help="write metrics and timings here as JSON (rank 0)")
    parser.add_argument("--save", type=output, metavar="PATH", help="save the trained weights here (rank 0)")
    return parser


def cpu_cores() -> int:
    """CPU cores this process may run on (a job scheduler or taskset may allow fewer than the machine's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads_per_process(local_world_size: int) -> int:
    """$OMP_NUM_THREADS if set (torchrun sets 1 for several processes), else CPU cores / processes on this node."""
    threads = os.environ.get("OMP_NUM_THREADS", "")
    return int(threads) if threads.isdigit() and int(threads) > 0 else max(1, cpu_cores() // local_world_size)


OTHERS_WAIT_S = 2.0  # ranks but 0 wait this long to report: if rank 0 met the same problem, the job has ended


def _exit_quietly(status: int = 0, message: str | None = None) -> None:  # parser.exit's signature; rank 0 speaks
    if status:
        time.sleep(OTHERS_WAIT_S)
    sys.exit(status)


def _fail(rank: int, message: str, status: int = 1) -> int:
    """Say what went wrong in one line: rank 0 at once; another rank, naming itself, after :data:`OTHERS_WAIT_S`."""
    if rank:
        time.sleep(OTHERS_WAIT_S)
    print(f"{PROG}{f' (rank {rank})' if rank else ''}: error: {message}", file=sys.stderr)
    return status


def _lost_contact(err: Exception) -> str | None:
    """The backend's own words when ``err`` says another process died or hung (gloo, nccl, c10d), else None."""
    if not isinstance(err, dist.DistError) and not (isinstance(err, RuntimeError)
                                                    and re.search(r"gloo|nccl|c10d", str(err), re.IGNORECASE)):
        return None
    text = re.sub(r"^\[[^\]]*\]\s*", "", str(err).strip().splitlines()[0])  # drop gloo's "[file.cc:123]"
    return text.split(". ")[0]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``torchrun|mpiexec|srun ... python -m mnist_lessons.distributed [options]``."""
    setup_logging()
    try:
        ranks, problem = launchers.identify(os.environ), None
    except ValueError as err:  # launcher variables that cannot be read (every process says so), or that disagree
        ranks, problem = None, err
    reporter = problem.report if isinstance(problem, launchers.LauncherConflict) else ranks is None or ranks.rank == 0
    parser = build_parser(writer=reporter)
    if not reporter:
        parser.exit = _exit_quietly  # one process prints --help and errors
    args = parser.parse_args(argv)
    recipe = run_config(parser, args)  # settings that do not fit together: an argument error, as on the command line
    if reporter:  # the one process that writes: its outputs must not clash with each other or with MNIST
        check_outputs(parser, {"--out": args.out, "--save": args.save}, args.root)
    if problem is not None:
        parser.exit(2, f"{PROG}: error: {problem}\n")  # said by one process
    torch.set_num_threads(args.threads or threads_per_process(ranks.local_world_size))
    try:
        world = setup(args.timeout, args.backend)
    except (ValueError, RuntimeError) as err:  # an impossible --backend on this node's GPUs, no meeting point: 2
        return _fail(ranks.rank, str(err), status=2 if isinstance(err, ValueError) else 1)
    if world.rank != 0:
        logging.disable(logging.INFO)  # only rank 0 reports progress; the others still report problems
    try:
        _injected_failure(world)
        start = time.perf_counter()
        seed = recipe.seed
        splits = synthetic_splits(args.synthetic, seed) if args.synthetic else mnist_splits(args.root, seed=seed)
        results, model = train_data_parallel(recipe, splits, world)
        results["total_seconds"] = time.perf_counter() - start
        if world.rank == 0 and args.out:
            text = json.dumps(results, indent=2, default=repr)  # a schedule or augmentation as its repr
            write_or_rescue(args.out, (text + "\n").encode(), "the results", ".json")
            log.info(f"results written to {args.out}")
        if world.rank == 0 and args.save:
            network = describe_network(recipe.model, **recipe.model_options())
            written = save_state_dict(model, args.save, recipe.model, network)
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
    """Run ``torchrun --standalone --nproc-per-node N -m mnist_lessons.distributed ARGS`` in ``cwd``, with
    OMP_NUM_THREADS = cores / N, stderr in ``.stdout``; past ``timeout_s`` kill the whole job and raise TimeoutError."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc_per_node}",
               "--monitor-interval=0.5", "-m", "mnist_lessons.distributed", *args]
    short_lines = {LINE_ENV: "short"} if running_in_notebook() else {}  # in a notebook: numbers first
    environment = {**short_lines, **os.environ, "OMP_NUM_THREADS": str(max(1, cpu_cores() // nproc_per_node)),
                   "PYTHONUNBUFFERED": "1", DATA_DIR_ENV: str(data_dir()), **(env or {})}
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

