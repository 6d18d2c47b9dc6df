"""Data-parallel training (chapter 10): sharding, and real torchrun jobs on tiny made-up data.

The ``slow`` tests launch ``torchrun`` (as ``python -m torch.distributed.run``)
with the gloo backend on the CPU and ``--synthetic``, so they need neither
MNIST nor a GPU. Each job has a hard time limit: a job that hangs fails the
test instead of stalling the suite.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch

from mnist_lessons.data.batches import TensorBatches
from mnist_lessons.distributed import (FAIL_MODE_ENV, FAIL_RANK_ENV, ShardedBatches, build_parser, launch, synthetic_splits)

#: Largest difference allowed between weights trained by one and by two processes:
#: they differ only by the order in which floating-point sums are done.
WEIGHT_ATOL = 1e-5
#: Seconds a whole torchrun job may take here before the test calls it hung.
JOB_LIMIT_S = 90

TINY_RUN = ["--model", "mlp", "--dropout", "0", "--synthetic", "384", "--global-batch-size", "64",
            "--epochs", "2", "--lr", "0.5", "--seed", "7"]


def torchrun(nproc: int, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the job with one thread per process; fail the test if it outlives JOB_LIMIT_S."""
    try:
        return launch(args, nproc_per_node=nproc, timeout_s=JOB_LIMIT_S, env={"OMP_NUM_THREADS": "1", **(env or {})})
    except TimeoutError as hung:
        pytest.fail(str(hung))


def test_shards_split_each_global_batch_without_overlap():
    x, y = torch.zeros(12, 1, 28, 28), torch.arange(12)
    shards = [list(ShardedBatches(TensorBatches(x, y, batch_size=6), rank, 3)) for rank in range(3)]
    for step in range(2):
        labels = torch.cat([shards[rank][step][1] for rank in range(3)])
        assert sorted(labels.tolist()) == list(range(6 * step, 6 * step + 6))


def test_every_rank_sees_the_same_shuffled_global_batches():
    x, y = torch.zeros(40, 1, 28, 28), torch.arange(40)
    per_rank = [[b.tolist() for _, b in ShardedBatches(TensorBatches(x, y, 8, shuffle=True, seed=3), r, 2)]
                for r in range(2)]
    whole = [b.tolist() for _, b in TensorBatches(x, y, 8, shuffle=True, seed=3)]
    assert [sorted(a + b) for a, b in zip(*per_rank)] == [sorted(batch) for batch in whole]


def test_a_last_batch_that_cannot_be_shared_evenly_is_dropped_on_every_rank():
    x, y = torch.zeros(11, 1, 28, 28), torch.arange(11)  # batches of 4, 4 and 3
    for rank in range(2):
        shards = ShardedBatches(TensorBatches(x, y, batch_size=4), rank, 2)
        assert len(shards) == len(list(shards)) == 2


def test_global_batch_must_be_a_multiple_of_the_process_count():
    with pytest.raises(ValueError, match="multiple"):
        ShardedBatches(TensorBatches(torch.zeros(8, 1, 28, 28), torch.arange(8), batch_size=5), 0, 2)


def test_synthetic_data_is_seeded_and_shaped_like_mnist():
    a, b = synthetic_splits(100, seed=1), synthetic_splits(100, seed=1)
    assert a.train.x.shape == (100, 1, 28, 28) and torch.equal(a.train.x, b.train.x)
    assert set(a.train.y.tolist()) == set(range(10))


def test_parser_takes_the_documented_options():
    args = build_parser().parse_args(["--model", "cnn", "--epochs", "2", "--global-batch-size", "256",
                                      "--lr", "0.1", "--seed", "1", "--out", "r.json"])
    assert (args.model, args.epochs, args.global_batch_size, args.lr, args.seed) == ("cnn", 2, 256, 0.1, 1)


@pytest.mark.slow
def test_one_and_two_processes_train_the_same_weights(tmp_path: Path):
    for nproc in (1, 2):
        job = torchrun(nproc, *TINY_RUN, "--out", str(tmp_path / f"{nproc}.json"), "--save", str(tmp_path / f"{nproc}.pt"))
        assert job.returncode == 0, job.stdout[-3000:]
        assert job.stdout.count("test accuracy") == 1  # rank 0 alone logs
    one, two = (json.loads((tmp_path / f"{n}.json").read_text()) for n in (1, 2))
    assert (one["world_size"], two["world_size"]) == (1, 2)
    assert one["backend"] == two["backend"] == "gloo"
    assert one["steps_per_epoch"] == two["steps_per_epoch"] == 384 // 64
    first, second = (torch.load(tmp_path / f"{n}.pt") for n in (1, 2))
    assert first.keys() == second.keys()
    for name in first:
        torch.testing.assert_close(first[name], second[name], rtol=0, atol=WEIGHT_ATOL, msg=name)
    assert one["history"][-1]["val_loss"] < one["history"][0]["val_loss"]  # it did learn something
    assert two["test_loss"] == pytest.approx(one["test_loss"], abs=1e-4)
    assert [h["val_acc"] for h in two["history"]] == [h["val_acc"] for h in one["history"]]


@pytest.mark.slow
def test_a_rank_that_raises_ends_the_job_with_an_error():
    job = torchrun(2, *TINY_RUN, env={FAIL_RANK_ENV: "1"})
    assert job.returncode != 0
    assert "failing on purpose" in job.stdout


@pytest.mark.slow
def test_a_rank_that_hangs_times_out_instead_of_stalling_the_job():
    job = torchrun(2, *TINY_RUN, "--timeout", "5", env={FAIL_RANK_ENV: "1", FAIL_MODE_ENV: "hang"})
    assert job.returncode != 0
    assert "Timed out" in job.stdout or "timeout" in job.stdout.lower()
