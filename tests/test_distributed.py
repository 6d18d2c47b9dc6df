"""Data-parallel training (chapter 10): sharding, and real jobs on tiny made-up data.

The ``slow`` tests launch the entry point under ``torchrun`` (as ``python -m
torch.distributed.run``), under Open MPI's ``mpirun``, and as two processes
given Slurm's variables, all with ``--backend gloo`` on the CPU and
``--synthetic``, so they need neither MNIST nor a GPU and give the same
numbers on any machine. Tests of ``nccl`` skip where CUDA GPUs are missing.
Each job has a hard time limit: a job that hangs fails the test instead of
stalling the suite.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mnist_lessons import distributed
from mnist_lessons.distributed import launchers
from mnist_lessons.models import load_weights
from mnist_lessons.data.batches import TensorBatches
from mnist_lessons.cli.args import run_config
from mnist_lessons.data.augment import Augmentation
from mnist_lessons.distributed import FAIL_MODE_ENV, FAIL_RANK_ENV, ShardedBatches, build_parser, launch, pick_backend, synthetic_splits
from mnist_lessons.training.recipe import RunConfig

REPO = Path(__file__).resolve().parents[1]

#: Largest difference allowed between weights trained by one and by two processes:
#: they differ only by the order in which floating-point sums are done.
WEIGHT_ATOL = 1e-5
#: Seconds a whole torchrun job may take here before the test calls it hung.
JOB_LIMIT_S = 90

TINY_RUN = ["--model", "mlp", "--dropout", "0", "--synthetic", "384", "--global-batch-size", "64",
            "--epochs", "2", "--lr", "0.5", "--seed", "7", "--backend", "gloo"]
#: Variables of launchers that must not leak from the test's own environment into a job.
LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                      "TORCHELASTIC_RUN_ID")


def torchrun(nproc: int, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the job with one thread per process; fail the test if it outlives JOB_LIMIT_S."""
    try:
        return launch(args, nproc_per_node=nproc, timeout_s=JOB_LIMIT_S, env={"OMP_NUM_THREADS": "1", **(env or {})})
    except TimeoutError as hung:
        pytest.fail(str(hung))


def settings(*argv: str) -> RunConfig:
    """The run the entry point's arguments describe."""
    parser = build_parser()
    return run_config(parser, parser.parse_args(argv))


def test_the_run_is_described_as_on_the_command_line_with_a_shuffled_global_batch():
    assert settings() == RunConfig(shuffle=True)
    assert settings("--model", "cnn", "--epochs", "2", "--global-batch-size", "256", "--lr", "0.1", "--seed", "1",
                    "--train-size", "12", "--channels", "8", "16", "--no-shuffle", "--augment").differences(RunConfig()) == {
        "model": "cnn", "channels": (8, 16), "lr": 0.1, "batch_size": 256, "epochs": 2, "seed": 1,
        "augmentation": Augmentation(), "train_size": 12}


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


def test_an_option_of_another_network_is_an_argument_error(capsys):
    with pytest.raises(SystemExit) as stop:
        settings("--model", "cnn", "--dropout", "0.5")
    assert stop.value.code == 2 and "dropout is not an option of model 'cnn'" in capsys.readouterr().err


def test_augmented_batches_are_augmented_whole_then_shared_out():
    x, y = torch.rand(12, 1, 28, 28), torch.arange(12)
    whole = [b for b in Augmentation().wrap(TensorBatches(x, y, 6), seed=3)]
    shards = [list(ShardedBatches(Augmentation().wrap(TensorBatches(x, y, 6), seed=3), rank, 2)) for rank in range(2)]
    assert len(ShardedBatches(Augmentation().wrap(TensorBatches(x, y, 6)), 0, 2)) == 2
    for step, (images, _) in enumerate(whole):
        assert torch.equal(shards[1][step][0], images[1::2])


@pytest.fixture
def world_of_one(monkeypatch):
    """Run the entry point in this process, as a world of one; the variables it sets are undone afterwards."""
    for name in LAUNCHER_VARIABLES:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    threads = torch.get_num_threads()
    yield lambda *args: distributed.main([*args, "--backend", "gloo", "--threads", str(threads)])
    torch.set_num_threads(threads)


def test_a_run_that_diverges_ends_with_one_line_and_writes_nothing(world_of_one, tmp_path, capsys):
    status = world_of_one("--synthetic", "64", "--global-batch-size", "16", "--lr", "1e6", "--epochs", "3",
                          "--out", str(tmp_path / "r.json"))
    err = capsys.readouterr().err
    assert status == 1 and "error: training diverged in epoch" in err and "learning rate" in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_schedule_lowers_the_rate_epoch_by_epoch(world_of_one, tmp_path):
    assert world_of_one("--synthetic", "64", "--global-batch-size", "16", "--epochs", "3", "--schedule", "cosine",
                        "--augment", "--out", str(tmp_path / "r.json")) == 0
    result = json.loads((tmp_path / "r.json").read_text())
    rates = [h["lr"] for h in result["history"]]
    assert rates[0] == result["lr"] and rates[0] > rates[1] > rates[2] > 0, rates
    assert result["augmentation"].startswith("Augmentation(") and result["shuffle"] is True


def test_more_training_images_than_there_are_is_one_clear_error(world_of_one, capsys):
    assert world_of_one("--synthetic", "40", "--train-size", "41") == 1
    assert "--train-size 41 is more than the 40 training images" in capsys.readouterr().err


def assert_same_training(tmp_path: Path, one: str, two: str) -> float:
    """Runs ``one`` (1 process) and ``two`` (2 processes) trained the same weights; return the largest difference."""
    first, second = (json.loads((tmp_path / f"{name}.json").read_text()) for name in (one, two))
    assert (first["world_size"], second["world_size"]) == (1, 2)
    assert first["backend"] == second["backend"]
    assert first["steps_per_epoch"] == second["steps_per_epoch"] == 384 // 64
    weights = [load_weights(tmp_path / f"{name}.pt", "mlp", dropout=0.0).state_dict() for name in (one, two)]
    assert weights[0].keys() == weights[1].keys()
    for name in weights[0]:
        torch.testing.assert_close(weights[0][name].cpu(), weights[1][name].cpu(), rtol=0, atol=WEIGHT_ATOL, msg=name)
    assert first["history"][-1]["val_loss"] < first["history"][0]["val_loss"]  # it did learn something
    assert second["test_loss"] == pytest.approx(first["test_loss"], abs=1e-4)
    one_image = 100 / len(synthetic_splits(384, seed=7).val)  # an argmax may flip with rounding
    for a, b in zip(first["history"], second["history"], strict=True):
        assert abs(a["val_acc"] - b["val_acc"]) <= one_image + 1e-9, (a, b)
    return max((weights[0][k].cpu() - weights[1][k].cpu()).abs().max().item() for k in weights[0])


def outputs(tmp_path: Path, name: str) -> list[str]:
    return ["--out", str(tmp_path / f"{name}.json"), "--save", str(tmp_path / f"{name}.pt")]


@pytest.mark.slow
def test_one_and_two_processes_train_the_same_weights(tmp_path: Path):
    for nproc in (1, 2):
        job = torchrun(nproc, *TINY_RUN, *outputs(tmp_path, str(nproc)))
        assert job.returncode == 0, job.stdout[-3000:]
        assert job.stdout.count("test accuracy") == 1  # rank 0 alone logs
        assert "launcher torchrun," in job.stdout
    largest = assert_same_training(tmp_path, "1", "2")
    print(f"torchrun: largest weight difference between 1 and 2 processes {largest:.2e}")
    assert json.loads((tmp_path / "2.json").read_text())["launcher"] == "torchrun"


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


def job_environment(**extra: str) -> dict[str, str]:
    """The test's environment without any launcher's variables, one thread per process, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k not in LAUNCHER_VARIABLES and not k.startswith(("OMPI_", "PMI_", "PMIX_", "PALS_", "SLURM_"))}
    return {**env, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO), **extra}


def run_together(commands: list[list[str]], envs: list[dict[str, str]]) -> list[subprocess.CompletedProcess]:
    """Start the commands at once, wait for all; kill them all and fail the test if any outlives JOB_LIMIT_S."""
    jobs = [subprocess.Popen(c, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True) for c, e in zip(commands, envs)]
    try:
        return [subprocess.CompletedProcess(job.args, job.wait(JOB_LIMIT_S), job.communicate()[0]) for job in jobs]
    except subprocess.TimeoutExpired:
        for job in jobs:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
        pytest.fail(f"{commands[0][:3]} ran over {JOB_LIMIT_S} s: " + " | ".join(j.communicate()[0][-500:] for j in jobs))


ENTRY_POINT = [sys.executable, "-m", "mnist_lessons.distributed"]


def mpirun(nproc: int, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``mpirun -n NPROC python -m mnist_lessons.distributed ARGS`` with Open MPI, on this machine; ``env`` is
    set in mpirun's own environment, as a user's shell would have it."""
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    command = ["mpirun", "-n", str(nproc), "--oversubscribe", *root, *ENTRY_POINT, *args]
    return run_together([command], [job_environment(**(env or {}))])[0]


#: Set (as CI does) to make a missing mpirun fail the mpirun tests instead of skipping them.
REQUIRE_MPI_ENV = "MNIST_LESSONS_REQUIRE_MPI"


def need_mpirun() -> None:
    """Skip without Open MPI's mpirun, or fail where CI requires it."""
    if shutil.which("mpirun") is None:
        missing = "needs Open MPI's mpirun (apt-get install openmpi-bin)"
        if os.environ.get(REQUIRE_MPI_ENV):
            pytest.fail(f"{missing}; {REQUIRE_MPI_ENV} is set")
        pytest.skip(missing)


@pytest.mark.slow
def test_mpirun_one_and_two_ranks_train_the_same_weights(tmp_path: Path):
    need_mpirun()
    for nproc in (1, 2):
        job = mpirun(nproc, *TINY_RUN, *outputs(tmp_path, f"mpi{nproc}"))
        assert job.returncode == 0, job.stdout[-3000:]
        assert job.stdout.count("test accuracy") == 1
        assert "launcher openmpi," in job.stdout
    largest = assert_same_training(tmp_path, "mpi1", "mpi2")
    print(f"mpirun: largest weight difference between 1 and 2 ranks {largest:.2e}")


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["raise", "hang"])
def test_a_rank_lost_under_mpirun_is_one_line_not_a_traceback(mode):
    """P58, P59: rank 1 fails or hangs; rank 0 says in one line that it lost contact, and nothing is written."""
    need_mpirun()
    job = mpirun(2, *TINY_RUN, "--timeout", "5", env={FAIL_RANK_ENV: "1", FAIL_MODE_ENV: mode})
    assert job.returncode != 0
    assert "Traceback" not in job.stdout, job.stdout[-3000:]
    errors = [line for line in job.stdout.splitlines() if line.startswith("mnist_lessons.distributed")]
    assert any("error: lost contact with another process (it died or hung)" in line and "nothing was written" in line
               for line in errors) or (mode == "raise" and any("failing on purpose" in line for line in errors)), job.stdout[-3000:]


@pytest.mark.slow
def test_torchruns_variables_left_in_the_shell_are_named_under_mpirun():
    """P62: RANK and WORLD_SIZE exported by an earlier torchrun session would make every MPI process rank 0."""
    need_mpirun()
    job = mpirun(2, *TINY_RUN, env={"RANK": "0", "WORLD_SIZE": "2"})
    assert job.returncode == 2, job.stdout[-3000:]
    reports = [line for line in job.stdout.splitlines() if "left in the shell?" in line]
    assert len(reports) == 1, job.stdout[-3000:]  # said once, by one process
    assert "unset RANK and WORLD_SIZE" in reports[0] and "openmpi, which started this process as rank" in reports[0]
    assert "EADDRINUSE" not in job.stdout


@pytest.mark.slow
def test_an_output_only_rank_0_writes_is_not_checked_on_other_ranks(tmp_path: Path):
    """P66: a --save path another node cannot see (here: a folder rank 1 is told that cannot be made) does not
    end the job: rank 1 never writes it; rank 0 checks and writes its own."""
    need_mpirun()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    good, bad = tmp_path / "w.pt", blocker / "w.pt"
    command = ["mpirun", *root, "--oversubscribe", "-n", "1", *ENTRY_POINT, *TINY_RUN, "--save", str(good), ":",
               "-n", "1", *ENTRY_POINT, *TINY_RUN, "--save", str(bad)]
    job = run_together([command], [job_environment()])[0]
    assert job.returncode == 0, job.stdout[-3000:]
    assert good.exists() and blocker.read_text() == "not a folder"


@pytest.mark.slow
def test_two_processes_given_slurms_variables_train_like_one_plain_process(tmp_path: Path):
    """As srun would start two tasks on two nodes; both nodes are this machine, rank 0's is the list's first."""
    plain = run_together([[*ENTRY_POINT, *TINY_RUN, *outputs(tmp_path, "plain")]], [job_environment()])[0]
    assert plain.returncode == 0, plain.stdout[-3000:]
    slurm = {"SLURM_JOB_ID": str(os.getpid()), "SLURM_STEP_ID": "0", "SLURM_NTASKS": "2",
             "SLURM_STEP_NUM_TASKS": "2", "SLURM_STEP_TASKS_PER_NODE": "1(x2)",
             "SLURM_STEP_NODELIST": "localhost,127.0.0.1", "SLURM_LOCALID": "0"}
    envs = [job_environment(**slurm, SLURM_PROCID=str(rank), SLURM_NODEID=str(rank)) for rank in (0, 1)]
    tasks = run_together([[*ENTRY_POINT, *TINY_RUN, *outputs(tmp_path, f"srun{rank}")] for rank in (0, 1)], envs)
    assert [t.returncode for t in tasks] == [0, 0], tasks[0].stdout[-2000:] + tasks[1].stdout[-2000:]
    assert "launcher slurm," in tasks[0].stdout and "test accuracy" not in tasks[1].stdout
    assert not (tmp_path / "srun1.json").exists()  # rank 0 alone writes
    largest = assert_same_training(tmp_path, "plain", "srun0")
    print(f"Slurm variables: largest weight difference between 1 and 2 tasks {largest:.2e}")


def test_auto_backend_is_nccl_only_with_a_cuda_gpu_per_local_process(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # the one GPU this node's processes see
    monkeypatch.setattr(distributed.dist, "is_nccl_available", lambda: True)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    alone = launchers.identify({})
    assert (pick_backend(alone).backend, pick_backend(alone).device) == ("nccl", "cuda:0")
    assert pick_backend(alone, "gloo").device == "cpu"
    two = launchers.identify({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"})
    with pytest.raises(ValueError, match="share 1 GPU.*srun --gpus-per-task=1.*--backend gloo"):
        pick_backend(two)  # two processes, one GPU between them: nccl would stop, gloo would hide the GPU


def test_each_rank_uses_the_one_gpu_its_launcher_gave_it(monkeypatch):
    """srun --gpus-per-task=1 (or jobs/set_affinity.sh) sets CUDA_VISIBLE_DEVICES per task: each sees one GPU."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(distributed.dist, "is_nccl_available", lambda: True)
    for task in range(4):
        slurm = {"SLURM_JOB_ID": "77", "SLURM_STEP_ID": "0", "SLURM_PROCID": str(task), "SLURM_LOCALID": str(task),
                 "SLURM_STEP_NUM_TASKS": "4", "SLURM_STEP_TASKS_PER_NODE": "4", "SLURM_NODEID": "0",
                 "SLURM_STEP_NODELIST": "gpu01", "CUDA_VISIBLE_DEVICES": str(task)}
        for name, value in slurm.items():
            monkeypatch.setenv(name, value)
        placement = pick_backend(launchers.identify(slurm))
        assert (placement.backend, placement.device) == ("nccl", "cuda:0")
        assert f"CUDA_VISIBLE_DEVICES={task}" in placement.why  # the first log line says why


@pytest.mark.parametrize(("requested", "gpus", "local", "env", "nccl", "backend", "device", "why"), [
    ("auto", 4, 2, {}, True, "nccl", "cuda:2", "GPU 2 for local rank 2"),
    ("auto", 1, 2, {"CUDA_VISIBLE_DEVICES": "1"}, True, "nccl", "cuda:0", "CUDA_VISIBLE_DEVICES=1"),
    ("auto", 0, 2, {}, True, "gloo", "cpu", "this process sees no CUDA GPU: gloo on the CPUs"),
    ("auto", 0, 2, {"CUDA_VISIBLE_DEVICES": ""}, True, "gloo", "cpu", "CUDA_VISIBLE_DEVICES=''"),
    ("auto", 4, 2, {}, False, "gloo", "cpu", "built without nccl"),
    ("gloo", 4, 2, {}, True, "gloo", "cpu", "--backend gloo"),
])
def test_the_backend_follows_the_gpus_the_process_sees(requested, gpus, local, env, nccl, backend, device, why):
    placement = launchers.choose_backend(requested, gpus, local, 4, env, nccl=nccl)
    assert (placement.backend, placement.device) == (backend, device)
    assert why in placement.why


@pytest.mark.parametrize(("requested", "gpus", "problem"), [
    ("nccl", 0, "backend nccl needs a CUDA GPU for each process, but this process sees no CUDA GPU; use --backend gloo"),
    ("auto", 2, "the 4 processes on this node share 2 GPU(s)"),
    ("mpi", 4, "unknown backend 'mpi'; choose one of auto, gloo, nccl"),
])
def test_an_impossible_backend_is_refused_naming_the_fix(requested, gpus, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        launchers.choose_backend(requested, gpus, 0, 4, {})


@pytest.mark.parametrize("local_rank", [0, 1, 2, 3, 5])
def test_the_affinity_wrapper_gives_each_rank_the_gpu_nearest_its_cores(local_rank):
    env = {**job_environment(), "PALS_LOCAL_RANKID": str(local_rank), "GPUS_PER_NODE": "4"}
    done = subprocess.run([str(REPO / "jobs" / "set_affinity.sh"), "sh", "-c", "echo $CUDA_VISIBLE_DEVICES"],
                          env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(3 - local_rank % 4)


def test_the_affinity_wrapper_outside_mpiexec_says_how_to_start_it():
    done = subprocess.run([str(REPO / "jobs" / "set_affinity.sh"), "true"], env=job_environment(),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "no local rank" in done.stderr and "start it with mpiexec" in done.stderr


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA GPUs for nccl with two processes")
def test_nccl_one_and_two_gpus_train_the_same_weights(tmp_path: Path):
    nccl_run = [*TINY_RUN[:-1], "nccl"]
    for nproc in (1, 2):
        job = torchrun(nproc, *nccl_run, *outputs(tmp_path, f"nccl{nproc}"), env={"CUDA_VISIBLE_DEVICES": "0,1"})
        assert job.returncode == 0, job.stdout[-3000:]
    assert json.loads((tmp_path / "nccl2.json").read_text())["backend"] == "nccl"
    assert_same_training(tmp_path, "nccl1", "nccl2")


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_one_process_trains_on_a_gpu_with_nccl(tmp_path: Path):
    job = torchrun(1, *TINY_RUN[:-1], "nccl", "--out", str(tmp_path / "r.json"))
    assert job.returncode == 0, job.stdout[-3000:]
    result = json.loads((tmp_path / "r.json").read_text())
    assert (result["backend"], result["device"]) == ("nccl", "cuda")


def job_script_commands(path: Path) -> list[list[str]]:
    """The entry point's arguments on each command line of a job script (continuation lines joined)."""
    text = path.read_text().replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        words = shlex.split(line, comments=True)
        if "mnist_lessons.distributed" in words:
            commands.append(words[words.index("mnist_lessons.distributed") + 1 :])
    return commands


@pytest.mark.parametrize("script, launcher", [("jobs/polaris.pbs", "mpiexec"), ("jobs/slurm.sbatch", "srun")])
def test_job_scripts_command_lines_parse(script, launcher):
    path = REPO / script
    assert launcher in path.read_text()
    commands = job_script_commands(path)
    assert commands, f"{script} has no mnist_lessons.distributed command"
    for arguments in commands:
        args = build_parser().parse_args(arguments)  # exits (fails the test) on an unknown or bad option
        assert args.epochs >= 1
    subprocess.run(["bash", "-n", str(path)], check=True)  # the shell can read the script


@pytest.mark.parametrize("flag, value, problem", [
    ("--save", ".", "is a folder"),
    ("--out", "/dev/null", "not a regular file"),
    ("--out", "{file}/r.json", "is a file, not a folder"),
])
def test_unwritable_outputs_are_refused_before_training(tmp_path, capsys, flag, value, problem):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as exit:
        build_parser().parse_args([flag, value.format(file=tmp_path / "file")])
    assert exit.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {flag}" in error and problem in error


@pytest.mark.parametrize("value", ["1e20", "inf", "nan", "0"])
def test_a_timeout_no_timer_can_hold_is_an_argument_error(value, capsys):
    """P26: --timeout 1e20 once ended in an OverflowError traceback from timedelta."""
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["--timeout", value])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "argument --timeout: must be a number > 0 and < 604800 (seconds, under a week)" in err


def test_an_output_under_a_missing_folder_is_accepted(tmp_path):
    assert build_parser().parse_args(["--out", str(tmp_path / "new" / "r.json")]).out == tmp_path / "new" / "r.json"


@pytest.mark.slow
def test_a_bad_argument_under_torchrun_is_reported_once_with_status_2():
    job = torchrun(2, "--epochs", "0", "--backend", "gloo")
    assert job.stdout.count("argument --epochs") == 1, job.stdout[-3000:]
    assert job.returncode != 0


@pytest.mark.slow
def test_a_bad_argument_under_mpirun_is_reported_once_with_status_2():
    need_mpirun()
    job = mpirun(2, "--epochs", "0")
    assert job.stdout.count("argument --epochs") == 1, job.stdout[-3000:]
    assert job.returncode == 2


@pytest.mark.slow
def test_ctrl_c_ends_a_run_with_status_130_and_one_line():
    # A shell without job control starts background jobs with SIGINT ignored, and children inherit that:
    # give the job Ctrl-C's default action back, as a terminal would.
    job = subprocess.Popen([*ENTRY_POINT, "--synthetic", "20000", "--epochs", "1000", "--backend", "gloo"],
                           env=job_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for line in job.stdout:  # wait until training has started
            if "launcher none," in line:
                break
        job.send_signal(signal.SIGINT)
        output = job.communicate(timeout=JOB_LIMIT_S)[0]
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert job.returncode == 130
    assert "interrupted" in output and "Traceback" not in output


@pytest.mark.slow
def test_too_little_data_for_one_step_is_one_clear_error():
    job = launch(["--synthetic", "5", "--global-batch-size", "10", "--epochs", "1", "--backend", "gloo"],
                 nproc_per_node=2, timeout_s=120)
    assert job.returncode != 0 and job.stdout.count("no training steps") == 1, job.stdout[-2000:]
