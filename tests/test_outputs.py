"""Writing results: paths checked before the work, files written whole, weights never lost."""

import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from fakes import run_cli
from torch import nn

from mnist_lessons import outputs
from mnist_lessons.outputs import check_output_file, save_state_dict, write_atomically

pytestmark = pytest.mark.usefixtures("offline")


def test_a_plain_new_path_is_accepted_and_its_folders_need_not_exist(tmp_path):
    assert check_output_file(tmp_path / "new" / "deeper" / "w.pt") == tmp_path / "new" / "deeper" / "w.pt"


@pytest.mark.parametrize("make, message", [
    (lambda p: p.mkdir(), "is a folder"),
    (lambda p: os.mkfifo(p), "not a regular file"),
])
def test_folders_and_special_files_are_refused(tmp_path, make, message):
    target = tmp_path / "out"
    make(target)
    with pytest.raises(ValueError, match=message):
        check_output_file(target)


def test_a_trailing_slash_names_a_folder_and_is_refused(tmp_path):
    with pytest.raises(ValueError, match="ends with '/'.*weights.pt"):
        check_output_file(f"{tmp_path}/notyet/")
    assert not (tmp_path / "notyet").exists()


def test_a_parent_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        check_output_file(tmp_path / "afile" / "w.pt")


def test_a_symlink_keeps_pointing_at_its_target_which_is_replaced(tmp_path):
    (tmp_path / "run42.pt").write_text("old")
    (tmp_path / "latest.pt").symlink_to("run42.pt")
    write_atomically(tmp_path / "latest.pt", lambda tmp: tmp.write_text("new"))
    assert (tmp_path / "latest.pt").is_symlink() and (tmp_path / "run42.pt").read_text() == "new"


def test_concurrent_writers_never_remove_each_others_temporary_file(tmp_path):
    target, errors = tmp_path / "w.txt", []

    def writer(text):
        try:
            for _ in range(30):
                write_atomically(target, lambda tmp: tmp.write_text(text * 1000))
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(c,)) for c in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and target.read_text() in ("a" * 1000, "b" * 1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.txt"]


def test_a_full_disk_keeps_the_old_weights_and_rescues_the_new_ones(full_disk, tmp_path, monkeypatch):
    """P17: a real full tmpfs. The old file stays, no temporary file is left, and the weights are elsewhere."""
    (full_disk / "w.pt").write_bytes(b"OLD WEIGHTS")
    (tmp_path / "rescue").mkdir()
    monkeypatch.setattr(outputs.tempfile, "tempdir", str(tmp_path / "rescue"))
    model = nn.Linear(784, 100)  # 314 KB of weights, on 64 KiB
    with pytest.raises(OSError, match=r"^could not save the weights to .*/full/w.pt \(No space left on device\); "
                                      r"they are in .* instead$") as caught:
        save_state_dict(model, full_disk / "w.pt", "linear-ish")
    assert sorted(os.listdir(full_disk)) == ["w.pt"] and (full_disk / "w.pt").read_bytes() == b"OLD WEIGHTS"
    rescued = Path(str(caught.value).rsplit(" in ", 1)[1].split(" instead")[0])
    saved = torch.load(rescued, weights_only=True)
    assert saved["model"] == "linear-ish" and torch.equal(saved["state_dict"]["weight"], model.weight.detach())


def test_results_on_a_full_disk_are_rescued_too(full_disk, tmp_path, monkeypatch):
    (tmp_path / "rescue").mkdir()
    monkeypatch.setattr(outputs.tempfile, "tempdir", str(tmp_path / "rescue"))
    data = b"{}" * 50_000
    with pytest.raises(OSError, match=r"could not save the results to .*/full/r.json .*they are in .*\.json instead"):
        outputs.write_or_rescue(full_disk / "r.json", data, "the results", ".json")
    assert [p.read_bytes() for p in (tmp_path / "rescue").glob("mnist-lessons-*.json")] == [data]


@pytest.mark.parametrize("old_mode", [0o644, 0o600, None])
def test_a_written_file_keeps_the_mode_of_the_one_it_replaces_or_the_umasks(tmp_path, old_mode):
    """P18: not mkstemp's 0600 for every file."""
    target = tmp_path / "w.txt"
    if old_mode is not None:
        target.write_text("old")
        target.chmod(old_mode)
    previous = os.umask(0o022)
    try:
        write_atomically(target, lambda tmp: tmp.write_text("new"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == (old_mode if old_mode is not None else 0o644)


KILLED_WRITER = """
import sys, time
from mnist_lessons.outputs import write_atomically
def slow(tmp):
    tmp.write_bytes(b"half of the new weights")
    print("writing", flush=True)
    time.sleep(60)
write_atomically(sys.argv[1], slow)
"""


@pytest.mark.parametrize("signal_number", [signal.SIGKILL, signal.SIGTERM])
def test_a_writer_killed_mid_write_leaves_the_old_file_and_its_leftover_is_cleaned(tmp_path, signal_number):
    """P48, P49: a real process killed while it writes; the next write to the path removes its temporary file."""
    target = tmp_path / "w.pt"
    target.write_bytes(b"OLD WEIGHTS")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target)], stdout=subprocess.PIPE, env=env, text=True)
    assert writer.stdout.readline() == "writing\n"
    writer.send_signal(signal_number)
    writer.wait(30)
    leftovers = list(tmp_path.glob(".w.pt.*.part"))
    assert len(leftovers) == 1 and target.read_bytes() == b"OLD WEIGHTS"
    write_atomically(target, lambda tmp: tmp.write_bytes(b"NEW"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.pt"] and target.read_bytes() == b"NEW"


def test_a_live_writers_temporary_file_is_left_alone(tmp_path):
    target = tmp_path / "w.pt"
    mine = tmp_path / f".w.pt.{os.getpid()}.abcdefgh.part"  # this process is alive
    mine.write_text("in progress")
    write_atomically(target, lambda tmp: tmp.write_text("done"))
    assert mine.exists()


@pytest.mark.parametrize("stream", ["/dev/stdout", "/dev/stderr", "/proc/self/fd/1", "/dev/fd/2"])
def test_streams_are_refused_as_outputs(stream):
    with pytest.raises(ValueError, match="is a stream of this process, not a file"):
        check_output_file(stream)


def test_save_to_dev_stdout_redirected_to_a_log_keeps_the_log(tiny_root, tmp_path):
    """P13: `train --save /dev/stdout >> notes.log` once replaced the log with weights and reported success."""
    notes = tmp_path / "notes.log"
    notes.write_text("my notes\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with notes.open("a") as log:
        done = subprocess.run([sys.executable, "-m", "mnist_lessons", "train", "--root", str(tiny_root), "--epochs", "1",
                               "--save", "/dev/stdout"], stdout=log, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "is a stream of this process" in done.stderr and done.stderr.count("\n") == 1
    assert notes.read_text() == "my notes\n"


def test_a_long_file_name_is_written_and_a_too_long_one_refused_before_the_work(tmp_path):
    """P15: a 248-character name is valid on ext4 and tmpfs; its temporary name must be too."""
    long_name = tmp_path / ("w" * 245 + ".pt")
    write_atomically(long_name, lambda tmp: tmp.write_text("ok"))
    assert long_name.read_text() == "ok"
    with pytest.raises(ValueError, match="has 303 bytes and .* allows at most 255; give a shorter name"):
        check_output_file(tmp_path / ("w" * 300 + ".pt"))


def test_saving_over_an_mnist_file_is_refused_before_training(tiny_root, capsys):
    """P16: the dataset is not replaced by weights."""
    labels = Path(tiny_root) / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    before = labels.read_bytes()
    status, _, err = run_cli(["train", "--root", tiny_root, "--epochs", "1", "--save", labels], capsys)
    assert status == 2 and "--save" in err and "would replace the MNIST files" in err and err.count("\n") == 1
    assert labels.read_bytes() == before


def test_one_file_for_results_and_weights_is_refused_by_the_distributed_entry_point(tmp_path, capsys):
    """P68: --out X --save X once wrote both to X and reported both saved."""
    from mnist_lessons import distributed

    both = tmp_path / "both.out"
    with pytest.raises(SystemExit) as stop:
        distributed.main(["--synthetic", "64", "--out", str(both), "--save", str(both)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--out and --save both name" in err and "give each its own file" in err and not both.exists()


def test_weights_load_into_the_network_they_came_from_and_no_other(tmp_path):
    """P50: an mlp saved with tanh no longer loads silently into the default (relu) mlp."""
    from mnist_lessons.models import build_model, describe_network, load_weights

    saved = build_model("mlp", activation="tanh")
    path = save_state_dict(saved, tmp_path / "w.pt", "mlp", describe_network("mlp", activation="tanh"))
    rebuilt = load_weights(path)
    assert str(rebuilt) == str(saved)
    assert all(torch.equal(a, b) for a, b in zip(rebuilt.state_dict().values(), saved.state_dict().values()))
    with pytest.raises(ValueError, match=r"holds mlp, .*activation='tanh'.*, not mlp, .*activation='relu'"):
        load_weights(path, "mlp")
    assert str(load_weights(path, "mlp", activation="Tanh")) == str(saved)
    path.write_bytes(path.read_bytes()[:500])  # truncated
    with pytest.raises(ValueError, match="is not a readable weights file.*save the weights again"):
        load_weights(path)


def test_cli_refuses_a_special_file_before_training(tmp_path, capsys):
    fifo = tmp_path / "null"
    os.mkfifo(fifo)
    status, _, err = run_cli(["train", "--epochs", "1", "--save", fifo], capsys)
    assert status == 2 and "argument --save" in err and "not a regular file" in err
    assert err.count("\n") == 1 and fifo.exists() and not fifo.is_file()


def test_cli_reports_divergence_exits_non_zero_and_saves_nothing(tiny_root, tmp_path, capsys):
    weights = tmp_path / "w.pt"
    status, _, err = run_cli(["train", "--root", tiny_root, "--model", "mlp", "--lr", "1e6", "--epochs", "3",
                              "--batch-size", "16", "--device", "cpu", "--save", weights], capsys)
    assert status == 1 and "diverged" in err and "learning rate" in err
    assert not weights.exists() and list(tmp_path.glob("*.part")) == []


def test_cli_empty_root_means_data_in_the_working_directory(tmp_path, tiny_files, expect_tiny, monkeypatch, capsys):
    from idx import write_raw

    work = tmp_path / "work"
    write_raw(work / "data", tiny_files)  # already fetched into ./data
    monkeypatch.chdir(work)
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    status, out, _ = run_cli(["data", "--root", ""], capsys)
    assert status == 0 and str(work.resolve() / "data" / "MNIST" / "raw") in out
    assert sorted(p.name for p in work.iterdir()) == ["data"]  # nothing fetched into the working directory itself


def test_a_seed_numpy_cannot_take_is_refused_naming_seed(capsys):
    status, _, err = run_cli(["train", "--seed", str(2**64)], capsys)
    assert status == 2 and "argument --seed" in err and "from 0 to 4294967295" in err


def test_an_option_the_model_does_not_have_is_an_argument_error(capsys):
    status, _, err = run_cli(["train", "--model", "linear", "--activation", "tanh"], capsys)
    assert status == 2 and "activation is not an option of model 'linear'" in err and err.count("\n") == 1
