"""The benchmark's --quick mode, end to end on the tiny MNIST, and its target checks."""

import json

import pytest

from benchmarks import bench
@pytest.fixture
def quick_report(tiny_root, tmp_path):
    out = tmp_path / "results"
    argv = ["--quick", "--root", str(tiny_root), "--out", str(out), "--device", "cpu",
            "--cold-build", "321.5", "--warm-build", "12.25"]
    assert bench.main(argv) == 0
    return json.loads((out / "epoch_speed_quick.json").read_text()), (out / "epoch_speed_quick.md").read_text()


def test_quick_mode_writes_json_and_markdown(capsys, quick_report):
    report, md = quick_report
    assert set(report) == {"machine", "settings", "results", "ratios", "targets", "suite", "peak_gflops", "shares"}
    assert report["peak_gflops"] > 0
    assert {"cpu", "cores", "torch", "threads", "device"} <= set(report["machine"])
    assert report["machine"]["device"] == "cpu"
    assert report["settings"]["quick"] is True
    assert report["settings"]["train_examples"] == 48 and report["settings"]["val_examples"] == 12
    assert report["suite"] == {"cold_build_s": 321.5, "warm_build_s": 12.25}
    assert set(report["results"]["cnn"]) == {"classic", "fast", "floor", "default layout"}
    assert "default layout/fast" in report["ratios"]["cnn"]
    for model in ("linear", "mlp", "cnn"):
        assert all(0 < r["share"] and r["gflops"] > 0 for r in report["shares"][model].values())
    for model in ("linear", "mlp"):
        results = report["results"][model]
        assert set(results) == {"classic", "fast", "floor"}
        for path in results.values():
            assert {"epoch_s", "eval_s", "total_s", "val_acc", "epoch_runs", "eval_runs"} <= set(path)
            assert path["epoch_s"] > 0 and path["eval_s"] > 0
        # Same starting weights and the same batches: every path ends at the same accuracy.
        assert len({path["val_acc"] for path in results.values()}) == 1
        assert {"classic/fast", "fast/floor"} <= set(report["ratios"][model])
    assert {(t["model"], t["ratio"]) for t in report["targets"]} == set(bench.TARGETS)
    assert "| model | path |" in md and "share of peak" in md and "QUICK" in md
    for t in report["targets"]:  # each target's row carries its own verdict
        verdict = "PASS" if t["pass"] else "FAIL"
        assert f"| {t['model']} | {t['ratio']} | {t['value']:.2f}x | {t['op']} {t['bound']:g}x | {verdict} |" in md
    out = capsys.readouterr().out
    assert "Seconds per epoch" in out and "cnn: default layout, repeat 1" in out  # progress lines


def test_models_option_limits_the_run(tiny_root, tmp_path):
    assert bench.main(["--quick", "--root", str(tiny_root), "--out", str(tmp_path), "--models", "linear"]) == 0
    report = json.loads((tmp_path / "epoch_speed_quick.json").read_text())
    assert list(report["results"]) == ["linear"]
    assert [t["model"] for t in report["targets"]] == ["linear", "linear"]


def test_targets_pass_and_fail_on_the_right_side():
    report = {"ratios": {"linear": {"classic/fast": 40.0, "fast/floor": 1.21}, "mlp": {"classic/fast": 14.9, "fast/floor": 1.0}}}
    verdicts = {(t["model"], t["ratio"]): t["pass"] for t in bench.check_targets(report)}
    assert verdicts == {("linear", "classic/fast"): True, ("linear", "fast/floor"): False,
                        ("mlp", "classic/fast"): False, ("mlp", "fast/floor"): True}


def test_ratios_divide_medians():
    results = {path: {"epoch_s": e, "eval_s": v, "total_s": e + v} for path, e, v in
               (("classic", 10.0, 8.0), ("fast", 0.2, 0.1), ("floor", 0.2, 0.05))}
    r = bench.ratios(results)
    assert r["classic/fast"] == pytest.approx(60.0) and r["fast/floor"] == pytest.approx(1.2)
    assert r["classic/fast eval"] == pytest.approx(80.0)


@pytest.mark.parametrize("argv, message", [
    (["--out", "AFILE"], "argument --out"),
    (["--device", "gpu"], "argument --device"),
    (["--cold-build", "nan"], "argument --cold-build: must be a number >= 0, got 'nan'"),  # P25
    (["--warm-build", "-5"], "argument --warm-build: must be a number >= 0, got '-5'"),
])
def test_bad_arguments_fail_before_measuring_with_one_line(argv, message, tmp_path, capsys):
    from benchmarks import bench

    (tmp_path / "AFILE").write_text("x")
    argv = [str(tmp_path / a) if a == "AFILE" else a for a in argv]
    with pytest.raises(SystemExit) as stop:
        bench.main(["--quick", *argv])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and err.count("\n") == 1


def test_results_go_under_build_and_the_committed_copy_only_with_save(tiny_root, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    assert bench.main(["--quick", "--root", str(tiny_root), "--models", "linear"]) == 0
    assert (tmp_path / "_build" / "bench" / "epoch_speed_quick.json").exists()
    assert not any((tmp_path / "benchmarks" / "results").iterdir())
    assert bench.main(["--quick", "--root", str(tiny_root), "--models", "linear", "--save"]) == 0
    assert (tmp_path / "benchmarks" / "results" / "epoch_speed_quick.md").exists()
