"""Where the data lives, loading it, splitting it and batching it (tiny files only)."""

from __future__ import annotations


import argparse
import logging

import pytest
import torch
from fakes import serving
from idx import md5_table
from torch.utils.data import TensorDataset

from mnist_lessons.data import fetch
from mnist_lessons.config import SEED
from mnist_lessons.cli.args import root_argument
from mnist_lessons.data.fetch import data_dir
from mnist_lessons.data.mnist import load_mnist, make_loader, split


pytestmark = pytest.mark.usefixtures("offline")


# --- where the data lives -----------------------------------------------------------


def test_data_dir_prefers_an_explicit_root_over_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "from-env"))
    assert data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert data_dir(str(tmp_path / "explicit")) == tmp_path / "explicit"


def test_data_dir_uses_mnist_data_dir_when_no_root_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "from-env"))
    assert data_dir() == tmp_path / "from-env"


def test_data_dir_defaults_to_data_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert data_dir() == tmp_path.resolve() / "data"
    monkeypatch.setenv("MNIST_DATA_DIR", "")  # an empty variable counts as unset
    assert data_dir() == tmp_path.resolve() / "data"


@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_root_and_an_empty_variable_both_mean_data_here(empty, tmp_path, monkeypatch):
    # Review A32: `--root ""` used to mean the working directory itself (Path("") is "."),
    # while MNIST_DATA_DIR="" meant ./data. Both now mean "not given": ./data.
    monkeypatch.chdir(tmp_path)
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=root_argument)
    given = parser.parse_args(["--root", empty]).root
    assert given is None
    assert data_dir(given) == data_dir(empty) == tmp_path.resolve() / "data"
    monkeypatch.setenv("MNIST_DATA_DIR", empty)
    assert data_dir() == data_dir(given) == tmp_path.resolve() / "data"
    assert parser.parse_args(["--root", "here"]).root == "here"


def test_data_dir_with_an_unknown_users_home_is_a_clear_error():
    with pytest.raises(fetch.DataDirError, match="Cannot expand the data directory '~no_such_user_x7/mnist'"):
        data_dir("~no_such_user_x7/mnist")


def test_data_dir_expands_home_and_resolves_relative_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert data_dir("~/mnist") == tmp_path.resolve() / "mnist"
    assert data_dir("sub/../elsewhere") == tmp_path.resolve() / "elsewhere"


# --- loading -------------------------------------------------------------------------


def test_load_mnist_reads_the_tiny_files(tiny_root):
    train, test = load_mnist(tiny_root)
    assert (len(train), len(test)) == (60, 20)
    image, label = train[3]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() == 1.0
    assert label == 3
    assert train.targets.tolist() == [i % 10 for i in range(60)]


def test_load_mnist_applies_a_given_transform(tiny_root):
    train, _ = load_mnist(tiny_root, transform=lambda img: "seen")
    assert train[0][0] == "seen"


def test_load_mnist_finds_the_files_through_mnist_data_dir(tiny_root, tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tiny_root))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    train, test = load_mnist(download=False)
    assert (len(train), len(test)) == (60, 20)
    assert not (elsewhere / "data").exists()


def test_load_mnist_finds_the_files_in_data_under_the_working_directory(tiny_root, monkeypatch):
    (tiny_root / "MNIST").rename(tiny_root / "data")
    (tiny_root / "MNIST").mkdir()
    (tiny_root / "data").rename(tiny_root / "MNIST" / "MNIST")
    (tiny_root / "MNIST").rename(tiny_root / "data")
    monkeypatch.chdir(tiny_root)
    train, _ = load_mnist(download=False)
    assert len(train) == 60


def test_load_mnist_fetches_missing_files_when_allowed(tmp_path, tiny_files, monkeypatch):
    monkeypatch.setattr(fetch, "MNIST_MD5", md5_table(tiny_files))
    monkeypatch.setattr(fetch, "SOURCES", (("fake", serving(tiny_files)),))
    train, test = load_mnist(tmp_path / "data")
    assert (len(train), len(test)) == (60, 20)


def test_load_mnist_without_download_says_how_to_get_missing_files(tmp_path):
    root = tmp_path / "data"
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(root, download=False)
    message = str(info.value)
    assert "download=True" in message and "python -m mnist_lessons data" in message
    assert "train-images-idx3-ubyte" in message
    assert not root.exists()


def test_a_legacy_processed_cache_never_replaces_the_checked_raw_files(tiny_root, caplog):
    # Review B18: torchvision loads MNIST/processed/{training,test}.pt whenever they exist,
    # unchecked; all-zero tensors there gave "100 % test accuracy".
    processed = tiny_root / "MNIST" / "processed"
    processed.mkdir()
    for name, n in (("training.pt", 60), ("test.pt", 20)):
        torch.save((torch.zeros(n, 28, 28, dtype=torch.uint8), torch.zeros(n, dtype=torch.long)), processed / name)
    package = logging.getLogger("mnist_lessons")
    package.addHandler(caplog.handler)
    try:
        train, test = load_mnist(tiny_root)
    finally:
        package.removeHandler(caplog.handler)
    assert train.targets.tolist() == [i % 10 for i in range(60)]
    assert test.targets.tolist() == [i % 10 for i in range(20)]
    assert train.data.float().mean() > 10  # the raw images, not the zeros
    assert str(processed) in caplog.text and "Ignoring" in caplog.text


def test_loading_checks_the_raw_files_even_with_a_legacy_cache(tiny_root):
    (tiny_root / "MNIST" / "processed").mkdir()
    (tiny_root / "MNIST/raw/train-labels-idx1-ubyte").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load_mnist(tiny_root, download=False)


def test_load_mnist_on_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "data").write_text("oops")
    with pytest.raises(fetch.DataDirError, match="is a file"):
        load_mnist(tmp_path / "data")


# --- splitting -------------------------------------------------------------------------


def numbers(n: int) -> TensorDataset:
    return TensorDataset(torch.arange(n))


def test_split_holds_out_a_fifth_like_the_lesson():
    train, val = split(numbers(60_000))
    assert (len(train), len(val)) == (48_000, 12_000)


def test_split_covers_every_example_once(tiny_root):
    train, _ = load_mnist(tiny_root)
    a, b = split(train)
    assert (len(a), len(b)) == (48, 12)
    assert sorted(a.indices + b.indices) == list(range(60))


def test_split_is_fixed_by_its_seed():
    first, _ = split(numbers(1000), seed=SEED)
    again, _ = split(numbers(1000), seed=SEED)
    other, _ = split(numbers(1000), seed=SEED + 1)
    assert first.indices == again.indices
    assert first.indices != other.indices


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_split_rejects_a_fraction_outside_zero_to_one(fraction):
    with pytest.raises(ValueError, match="val_fraction"):
        split(numbers(10), val_fraction=fraction)


@pytest.mark.filterwarnings("ignore:Length of split")
def test_split_refuses_a_fraction_that_leaves_a_split_empty():
    # Review G14: val_fraction=1e-6 of 60,000 gave an empty validation set and only a torch warning.
    with pytest.raises(ValueError, match="val_fraction=1e-06 of 60000 examples leaves the validation split empty"):
        split(numbers(60_000), val_fraction=1e-6)


# --- batching ----------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [0, -1, 2.5])
def test_make_loader_rejects_a_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        make_loader(numbers(10), batch_size=batch_size)


def test_make_loader_batches_in_order_without_shuffle(tiny_root):
    train, _ = load_mnist(tiny_root)
    batches = list(make_loader(train, batch_size=25))
    assert [len(labels) for _, labels in batches] == [25, 25, 10]
    assert batches[0][0].shape == (25, 1, 28, 28)
    assert batches[0][1].tolist() == [i % 10 for i in range(25)]


def test_make_loader_shuffle_is_repeatable_with_a_seed():
    def order(seed):
        return torch.cat([b for (b,) in make_loader(numbers(50), batch_size=8, shuffle=True, seed=seed)]).tolist()

    assert order(1) == order(1)
    assert order(1) != order(2)
    assert sorted(order(1)) == list(range(50))
