"""Writing results: paths checked before the work, files written whole, weights never lost."""

import os
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


def test_a_failed_save_keeps_the_weights_elsewhere_and_says_where(tmp_path, monkeypatch):
    def full_disk(path, write):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "write_atomically", full_disk)
    monkeypatch.setattr(outputs.tempfile, "tempdir", str(tmp_path / "rescue"))
    (tmp_path / "rescue").mkdir()
    model = nn.Linear(3, 2)
    with pytest.raises(OSError, match="No space left on device.*they are in") as caught:
        save_state_dict(model, tmp_path / "w.pt")
    rescued = Path(str(caught.value).rsplit(" in ", 1)[1].split(" instead")[0])
    assert torch.equal(torch.load(rescued, weights_only=True)["weight"], model.weight.detach())


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
