"""Staging pinned npm packages (book/_ext/npm_stage.py): the book's MathJax and the browser tests' axe-core.

A fake ``npm`` on the PATH copies a tarball the test built, so nothing here
reaches the network.
"""

from __future__ import annotations

import hashlib
import io
import logging
import shutil
import stat
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))

import npm_stage  # noqa: E402
import stage_axe  # noqa: E402
import stage_mathjax  # noqa: E402
from npm_stage import StageError  # noqa: E402


def tarball(path: Path, files: dict[str, bytes], links: tuple[str, ...] = ()) -> str:
    """Write a .tgz holding ``files`` (and symbolic links named ``links``); return its SHA-256."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    """``fake_npm(files)``: the next ``npm pack`` writes a tarball of ``files``; returns its SHA-256."""
    bin_dir, packed = tmp_path / "bin", tmp_path / "packed.tgz"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text("#!/bin/sh\n"  # npm pack SPEC ...: fails as npm does when $FAKE_NPM_FAIL is set
                   '[ -n "$FAKE_NPM_FAIL" ] && { echo "npm error 404 $2 is not in this registry" >&2; exit 1; }\n'
                   f'{shutil.which("cp")} "{packed}" ./package-1.0.0.tgz\n')
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir))
    return lambda files, links=(): tarball(packed, files, links)


def test_npm_pack_returns_the_tarball_only_when_its_sha256_matches(fake_npm, tmp_path, monkeypatch):
    digest = fake_npm({"package/a.js": b"a"})
    (tmp_path / "w1").mkdir()
    assert npm_stage.npm_pack("pkg@1.0.0", digest, tmp_path / "w1").name == "package-1.0.0.tgz"
    (tmp_path / "w2").mkdir()
    with pytest.raises(StageError, match=f"package-1.0.0.tgz has SHA-256 {digest}, expected 00"):
        npm_stage.npm_pack("pkg@1.0.0", "00", tmp_path / "w2")
    monkeypatch.setenv("FAKE_NPM_FAIL", "1")
    with pytest.raises(StageError, match="`npm pack pkg@1.0.0` exited with 1: npm error 404 pkg@1.0.0 is not in"):
        npm_stage.npm_pack("pkg@1.0.0", digest, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(StageError, match="npm is not installed"):
        npm_stage.npm_pack("pkg@1.0.0", digest, tmp_path)


def test_unpack_copies_only_the_regular_files_asked_for_inside_the_folder(fake_npm, tmp_path):
    digest = fake_npm({"package/keep/a.js": b"a", "package/skip.js": b"s", "package/evil.js": b"e"},
                      links=("package/keep/link.js",))
    renames = {"package/keep/a.js": "a/a.js", "package/evil.js": "../evil.js", "package/keep/link.js": "link.js"}
    out = tmp_path / "out"
    out.mkdir()
    assert npm_stage.unpack("pkg@1.0.0", digest, renames.get, out) == 1
    assert [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()] == ["a/a.js"]
    assert (out / "a" / "a.js").read_bytes() == b"a" and not (tmp_path / "evil.js").exists()


def test_replace_dir_swaps_the_whole_folder_or_leaves_it(tmp_path):
    dest = tmp_path / "site" / "tool"
    dest.mkdir(parents=True)
    (dest / "old.js").write_text("old")

    def broken(new: Path):
        (new / "half.js").write_text("half")
        raise StageError("no")

    with pytest.raises(StageError):
        npm_stage.replace_dir(dest, broken)
    assert [p.name for p in dest.iterdir()] == ["old.js"]
    assert npm_stage.replace_dir(dest, lambda new: (new / "new.js").write_text("new")) == 3
    assert [p.name for p in dest.iterdir()] == ["new.js"]
    assert [p.name for p in dest.parent.iterdir()] == ["tool"]  # nothing left beside it
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755


def test_mathjax_keeps_the_entry_its_lazy_parts_and_the_licence():
    assert stage_mathjax.es5_file("package/es5/tex-mml-chtml.js") == "tex-mml-chtml.js"
    assert stage_mathjax.es5_file("package/es5/input/tex/extensions/ams.js") == "input/tex/extensions/ams.js"
    assert stage_mathjax.es5_file("package/LICENSE") == "LICENSE"
    for left_out in ("package/es5/tex-chtml.js", "package/package.json", "package/ts/a.ts", "package/es5/uix.js"):
        assert stage_mathjax.es5_file(left_out) is None


@pytest.fixture
def mathjax_log(caplog, monkeypatch):
    """The stage_mathjax extension's records at INFO and above, caught on its own logger.

    (Sphinx's logger stops propagating once a build in this process set it up.)
    """
    logger = stage_mathjax.LOGGER.logger
    monkeypatch.setattr(logger, "propagate", False)
    logger.addHandler(caplog.handler)
    with caplog.at_level(logging.INFO, logger=logger.name):
        yield caplog
    logger.removeHandler(caplog.handler)


def build(tmp_path) -> Path:
    """Stage MathJax as a build of a book in ``tmp_path`` does; return the staged folder."""
    stage_mathjax.stage_on_build(SimpleNamespace(confdir=str(tmp_path)), None)
    return tmp_path / "_build" / "offline" / "_static" / "mathjax"


def test_mathjax_is_staged_once_from_the_pinned_tarball(fake_npm, tmp_path, monkeypatch, mathjax_log):
    monkeypatch.setattr(stage_mathjax, "SHA256", fake_npm({
        "package/es5/tex-mml-chtml.js": b"mathjax", "package/es5/sre/mathmaps/en.json": b"{}",
        "package/es5/tex-chtml.js": b"other", "package/LICENSE": b"Apache"}))
    staged = build(tmp_path)
    assert sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()) == [
        ".staged", "LICENSE", "sre/mathmaps/en.json", "tex-mml-chtml.js"]
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))  # a second build needs no npm
    build(tmp_path)
    assert (staged / "tex-mml-chtml.js").read_text() == "mathjax"
    assert [r.getMessage().split(" in ")[0] for r in mathjax_log.records] == [
        "MathJax: staged mathjax@3.2.2", "MathJax: mathjax@3.2.2 already staged"]


def test_without_npm_mathjax_comes_from_the_cdn_and_the_build_goes_on(tmp_path, monkeypatch, mathjax_log):
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    old = tmp_path / "_build" / "offline" / "_static" / "mathjax"
    old.mkdir(parents=True)
    (old / "stale.js").write_text("from an older release")
    staged = build(tmp_path)
    assert sorted(p.name for p in staged.iterdir()) == [".staged", "tex-mml-chtml.js"]
    assert stage_mathjax.CDN in (staged / "tex-mml-chtml.js").read_text()
    assert not stage_mathjax.already_staged(staged)  # the next build tries npm again
    # Logged, and not as a warning: `make book -W` must still pass on a machine without npm.
    [record] = mathjax_log.records
    assert record.levelno == logging.INFO and "npm is not installed" in record.getMessage()
    assert "so the site is not offline" in record.getMessage()


def test_axe_is_staged_only_when_tarball_and_script_match(fake_npm, tmp_path, monkeypatch):
    folder = tmp_path / "axe"
    monkeypatch.setattr(stage_axe, "TARBALL_SHA256", fake_npm({"package/axe.min.js": b"axe", "package/x.js": b"x"}))
    with pytest.raises(StageError, match="package/axe.min.js has SHA-256"):
        stage_axe.stage(folder)
    assert not folder.exists()
    monkeypatch.setattr(stage_axe, "SCRIPT_SHA256", hashlib.sha256(b"axe").hexdigest())
    assert stage_axe.stage(folder) == folder / "axe.min.js"
    assert [p.name for p in folder.iterdir()] == ["axe.min.js"] and stage_axe.staged(folder)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert stage_axe.stage(folder).read_bytes() == b"axe"  # reused: no npm needed
    (folder / "axe.min.js").write_bytes(b"tampered")
    with pytest.raises(StageError, match="npm is not installed"):
        stage_axe.stage(folder)
