"""The command line: ``python -m mnist_lessons`` and the ``mnist-lessons`` script.

Most tests call ``cli.main`` in-process (so the tiny data's checksums, which
the ``tiny_root`` fixture monkeypatches, apply); the two that start the real
programs are marked ``slow``. No test reaches the network.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fakes import run_cli

from mnist_lessons import cli
from mnist_lessons.data.augment import Augmentation
from mnist_lessons.schedules import CosineSchedule
from mnist_lessons.models import load_weights, ConvClassifier, LinearClassifier, NonlinearClassifier


pytestmark = pytest.mark.usefixtures("offline")


run = run_cli


# --- help ---------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["data", "--help"], ["train", "--help"]])
def test_help_exits_zero_and_describes_the_command(argv, capsys):
    status, out, err = run(argv, capsys)
    assert status == 0 and err == ""
    assert out.startswith("usage: mnist-lessons")
    assert "``" not in out  # no reStructuredText markup from docstrings


def test_train_help_lists_every_option_with_its_choices(capsys):
    _, out, _ = run(["train", "--help"], capsys)
    for option in ("--model", "--epochs", "--lr", "--batch-size", "--optimizer", "--activation", "--seed", "--root", "--save"):
        assert option in out
    assert "{linear,mlp,cnn}" in out and "relu" in out


def test_every_setting_of_a_run_has_a_flag_and_its_default():
    """The flags follow RunConfig: none given is RunConfig(); a network's options are given like any other."""
    from dataclasses import fields

    from mnist_lessons.cli.args import run_config
    from mnist_lessons.training.recipe import RunConfig

    parser = cli.build_parser()
    train = parser.commands["train"]
    assert {action.dest for action in train._actions} >= {f.name for f in fields(RunConfig)}
    assert run_config(train, parser.parse_args(["train"])) == RunConfig()
    args = parser.parse_args(["train", "--hidden-sizes", "20", "10", "--activation", "tanh", "--schedule", "cosine",
                              "--shuffle", "--augment", "--train-size", "500", "--weight-decay", "0.001"])
    assert run_config(train, args).differences(RunConfig()) == {
        "hidden_sizes": (20, 10), "activation": "tanh", "weight_decay": 0.001, "shuffle": True,
        "augmentation": Augmentation(), "train_size": 500, "schedule": CosineSchedule()}


# --- bad arguments: exit 2, one line naming the argument and what is allowed -----------


@pytest.mark.parametrize(
    "argv, names, allowed",
    [
        (["train", "--epochs", "0"], "--epochs", "an integer >= 1"),
        (["train", "--epochs", "1.5"], "--epochs", "an integer >= 1"),
        (["train", "--lr", "-1"], "--lr", "a number > 0"),
        (["train", "--lr", "0"], "--lr", "a number > 0"),
        (["train", "--lr", "inf"], "--lr", "a number > 0"),
        (["train", "--lr", "nan"], "--lr", "a number > 0"),
        (["train", "--batch-size", "0"], "--batch-size", "an integer >= 1"),
        (["train", "--seed", "-1"], "--seed", "an integer from 0 to 4294967295"),
        (["train", "--activation", "swish"], "--activation", "'relu'"),
        (["train", "--model", "resnet"], "--model", "'linear', 'mlp', 'cnn'"),
        (["train", "--optimizer", "lbfgs"], "--optimizer", "'sgd'"),
        (["train", "--epochs"], "--epochs", "expected one argument"),
        (["fly"], "command", "'data', 'train'"),
        ([], "command", "required"),
        (["data", "--bogus"], "--bogus", "unrecognized"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_naming_them(argv, names, allowed, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(argv, capsys)
    assert status == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert names in lines[0] and allowed in lines[0] and "error" in lines[0]
    assert list(tmp_path.iterdir()) == []  # nothing fetched, nothing written


@pytest.mark.parametrize("where", ["folder", "under a file"])
def test_a_save_path_that_cannot_be_a_file_is_refused_before_training(where, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    target = tmp_path if where == "folder" else tmp_path / "afile" / "w.pt"
    status, out, err = run(["train", "--root", str(tmp_path / "nodata"), "--save", str(target)], capsys)
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and "--save" in err
    assert not (tmp_path / "nodata").exists()  # refused before any data was fetched


# --- data ---------------------------------------------------------------------------------


def test_data_prints_where_the_files_are_and_who_served_them(tiny_root, capsys):
    status, out, err = run(["data", "--root", str(tiny_root)], capsys)
    assert status == 0
    assert out.strip() == f"MNIST is in {tiny_root / 'MNIST' / 'raw'} (served by: local)"


def test_data_uses_mnist_data_dir_without_root(tiny_root, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tiny_root))
    monkeypatch.chdir(tmp_path / "MNIST")
    status, out, _ = run(["data"], capsys)
    assert status == 0 and str(tiny_root / "MNIST" / "raw") in out


# --- train, end to end on the tiny data -----------------------------------------------


def accuracies(records) -> tuple[float, float]:
    final = next(r.getMessage() for r in records if "final validation accuracy" in r.getMessage())
    val, test = re.search(r"validation accuracy ([\d.]+)%, test accuracy ([\d.]+)%", final).groups()
    return float(val), float(test)


def test_an_option_of_another_network_is_a_clear_error(tiny_root, capsys):
    status, _, err = run(["train", "--root", tiny_root, "--model", "cnn", "--dropout", "0.5", "--device", "cpu"], capsys)
    assert status == 2 and "dropout is not an option of model 'cnn'" in err


@pytest.mark.parametrize(
    "extra, make_model",
    [
        (["--model", "linear"], LinearClassifier),
        (["--model", "mlp", "--activation", "tanh", "--optimizer", "adam"], lambda: NonlinearClassifier(activation="tanh")),
        (["--model", "cnn", "--optimizer", "adam", "--schedule", "cosine", "--shuffle", "--augment"], ConvClassifier),
    ],
)
def test_train_runs_end_to_end_and_saves_weights_that_load(extra, make_model, tiny_root, tmp_path, capsys, lessons_log):
    weights = tmp_path / "out" / "weights.pt"
    argv = ["train", "--root", str(tiny_root), "--epochs", "2", "--batch-size", "16", "--lr", "0.1",
            "--device", "cpu", "--save", str(weights), *extra]  # fmt: skip
    status, out, err = run(argv, capsys)

    assert status == 0, err
    assert out == ""  # logs go to stderr; no progress bar outside a terminal
    messages = [r.getMessage() for r in lessons_log.records]
    assert sum(m.startswith("epoch ") for m in messages) == 2
    val_acc, test_acc = accuracies(lessons_log.records)
    assert 0 <= val_acc <= 100 and 0 <= test_acc <= 100
    assert any(f"weights saved to {weights}" in m for m in messages)

    assert sorted(p.name for p in weights.parent.iterdir()) == ["weights.pt"]  # no .part left
    state = torch.load(weights, weights_only=True)["state_dict"]
    assert {t.device.type for t in state.values()} == {"cpu"}  # loads on machines without the GPU
    model = load_weights(weights)  # the file says which network it holds
    assert type(model) is type(make_model()) and str(model) == str(make_model())
    from mnist_lessons.data.batches import mnist_splits
    from mnist_lessons.training.loops import evaluate

    reloaded_acc, _ = evaluate(mnist_splits(tiny_root).test.eval_batches(), model, torch.nn.CrossEntropyLoss())
    assert reloaded_acc == pytest.approx(test_acc, abs=0.01)  # the saved weights are the trained ones


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_weights_trained_on_the_gpu_load_on_a_cpu(tiny_root, tmp_path, capsys):
    weights = tmp_path / "weights.pt"
    status, _, err = run(["train", "--root", str(tiny_root), "--model", "linear", "--epochs", "1", "--device", "cuda",
                          "--save", str(weights)], capsys)
    assert status == 0, err
    state = torch.load(weights, weights_only=True)["state_dict"]
    assert {t.device.type for t in state.values()} == {"cpu"}
    assert isinstance(load_weights(weights, "linear"), LinearClassifier)


def test_progress_bar_passes_batches_through_outside_a_terminal(capsys):
    batches = [(torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long))] * 3
    progress = cli.ProgressBatches(batches)
    assert len(progress) == 3
    assert list(progress) == batches and list(progress) == batches
    assert progress.epoch == 2
    assert capsys.readouterr() == ("", "")


# --- the installed programs -----------------------------------------------------------------


@pytest.mark.slow
def test_python_dash_m_help_works():
    done = subprocess.run([sys.executable, "-m", "mnist_lessons", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: mnist-lessons")


@pytest.mark.slow
def test_python_dash_m_bad_argument_exits_2():
    done = subprocess.run(
        [sys.executable, "-m", "mnist_lessons", "train", "--epochs", "0"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "--epochs" in done.stderr


@pytest.mark.slow
def test_mnist_lessons_script_is_installed_and_works():
    script = Path(sys.executable).parent / ("mnist-lessons.exe" if sys.platform == "win32" else "mnist-lessons")
    if not script.exists():
        pytest.skip(f"{script} is not installed: run `pip install -e .` ([project.scripts] in pyproject.toml)")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: mnist-lessons")


def test_outside_a_terminal_a_slow_epoch_logs_a_progress_line(lessons_log, capsys):
    """Under a batch job or `> log` the bar is gone; a line every few seconds says how far the epoch is."""
    import time

    def slow_batches():
        for _ in range(6):
            time.sleep(0.06)
            yield 1

    class Slow(list):
        def __iter__(self):
            return slow_batches()

    progress = cli.ProgressBatches(Slow(range(6)), every_s=0.1)
    assert list(progress) == [1] * 6
    lines = [r.getMessage() for r in lessons_log.records if r.name == "mnist_lessons.cli"]
    assert lines and all(re.fullmatch(r"epoch 1: [1-5]/6 batches, \d+ s", line) for line in lines), lines
    assert len(lines) <= 3  # every 0.1 s, not every batch


def test_help_shows_every_default_and_version_names_the_release(capsys):
    import mnist_lessons

    status, out, _ = run(["train", "--help"], capsys)
    assert status == 0
    for option, default in [("--epochs", "5"), ("--lr", "0.05"), ("--batch-size", "128"), ("--seed", "55"),
                            ("--device", "auto"), ("--model", "mlp"), ("--optimizer", "sgd"),
                            ("--dropout", "0.2"), ("--channels", "16 32")]:
        block = out.split("options:", 1)[1].split(f"\n  {option}", 1)[1].split("\n  --", 1)[0]
        assert f"(default: {default})" in " ".join(block.split()), (option, block)
    status, out, _ = run(["--version"], capsys)
    assert status == 0 and out.strip() == f"mnist-lessons {mnist_lessons.__version__}"


def test_device_auto_is_the_best_available(tiny_root, capsys, lessons_log):
    status, _, err = run(["train", "--root", str(tiny_root), "--epochs", "1", "--device", "auto"], capsys)
    assert status == 0, err
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert any(f"on {expected}" in r.getMessage() for r in lessons_log.records)


def test_the_readmes_train_commands_parse():
    """The command lines README.md shows are ones the parser takes (optional parts in brackets included)."""
    import shlex

    from mnist_lessons.cli.args import run_config

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    commands = [shlex.split(line.replace("[", "").replace("]", ""), comments=True)
                for line in readme.splitlines() if line.startswith(("python -m mnist_lessons train", "mnist-lessons train"))]
    assert len(commands) >= 3
    parser = cli.build_parser()
    for words in commands:
        args = parser.parse_args(words[words.index("train"):])
        run_config(parser.commands["train"], args)  # exits (fails the test) on settings that do not fit together
