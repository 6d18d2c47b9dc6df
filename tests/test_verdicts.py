import json
import math
import os
import subprocess
import sys

import pytest
import torch

from mnist_lessons.experiments.noise import SeedStudy
from mnist_lessons.experiments.verdicts import (
    LEDGER_ENV, Ledger, Verdict, compare_studies, mcnemar_verdict, read_ledger, t_quantile, verdict,
)


def test_uncertainty_is_the_95_percent_half_width_of_the_paired_mean():
    a, b = [96.2, 96.3, 96.1, 96.4], [95.6, 95.9, 95.7, 95.6]
    d = [x - y for x, y in zip(a, b)]
    mean = sum(d) / 4
    std = math.sqrt(sum((x - mean) ** 2 for x in d) / 3)
    v = verdict("lr", "0.5", "0.1", a, b)
    assert v.margin == pytest.approx(mean) and v.uncertainty == pytest.approx(3.182 * std / 2)
    assert v.n == 4 and v.outcome == "a" and v.winner == "0.5"


def test_the_interval_covers_the_true_difference_about_95_percent_of_the_time():
    # Simulated seeds: a true difference of 0.3 plus normal noise, three seeds per comparison.
    gen = torch.Generator().manual_seed(0)
    trials, covered = 4000, 0
    noise = torch.randn(trials, 2, 3, generator=gen).tolist()
    for a_noise, b_noise in noise:
        v = verdict("sim", "a", "b", [0.3 + x for x in a_noise], b_noise)
        covered += abs(v.margin - 0.3) <= v.uncertainty
    assert 0.93 < covered / trials < 0.97


def test_outcomes_cover_a_b_and_cannot_tell():
    assert verdict("x", "a", "b", [2, 2.1, 2.2], [1, 1.1, 1.2]).outcome == "a"
    assert verdict("x", "a", "b", [1, 1.1, 1.2], [2, 2.1, 2.2]).outcome == "b"
    tie = verdict("x", "a", "b", [1, 2, 3], [2, 1, 3])
    assert tie.outcome is None and tie.winner is None and tie.label == "not told apart"
    assert tie.says() == "cannot be told apart from"


def test_lower_is_better_turns_the_sign():
    v = verdict("loss", "dropout", "plain", [0.40, 0.42, 0.41], [0.50, 0.52, 0.53], higher_is_better=False)
    assert v.margin > 0 and v.outcome == "a" and v.says("has a lower loss than") == "has a lower loss than"


def test_robust_means_three_uncertainties():
    assert Verdict("x", "a", "b", margin=3.0, uncertainty=1.0, n=3).robust
    assert not Verdict("x", "a", "b", margin=2.9, uncertainty=1.0, n=3).robust
    assert Verdict("x", "a", "b", margin=2.9, uncertainty=1.0, n=3).outcome == "a"


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ValueError, match="pair them by seed"):
        verdict("x", "a", "b", [1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2 seeds"):
        verdict("x", "a", "b", [1], [2])
    with pytest.raises(ValueError, match="not finite"):
        verdict("x", "a", "b", [1, float("nan")], [2, 3])
    with pytest.raises(ValueError, match="share 1 seeds"):
        compare_studies("x", SeedStudy("a", (1, 2), (1.0, 2.0)), SeedStudy("b", (2, 3), (1.0, 2.0)))
    with pytest.raises(ValueError, match="degrees of freedom df must be an integer >= 1, got 0"):
        t_quantile(0)


def test_t_quantiles_fall_towards_the_normal():
    values = [t_quantile(df) for df in range(1, 40)]
    assert all(a > b for a, b in zip(values, values[1:31])) and values[-1] == 1.96


def test_mcnemar_verdict_counts_the_images_only_one_model_gets_right():
    y = torch.tensor([0, 1, 2, 3, 4, 5])
    a = torch.tensor([0, 1, 2, 3, 0, 0])  # right on 4
    b = torch.tensor([0, 0, 0, 3, 4, 0])  # right on 3
    v = mcnemar_verdict("cnn vs mlp", "cnn", "mlp", a, b, y)
    assert v.margin == 1.0 and v.uncertainty == pytest.approx(1.96 * math.sqrt(3)) and v.unit == "images"


def test_ledger_records_a_page_and_a_rerun_starts_it_afresh(tmp_path):
    ledger = Ledger("multilayer", tmp_path)
    ledger.add(verdict("mlp vs linear", "mlp", "linear", [94, 94.1, 94.2], [92, 92.1, 92.1]))
    with pytest.raises(ValueError, match="already has a claim"):
        ledger.add(verdict("mlp vs linear", "mlp", "linear", [1, 2], [1, 2]))
    [(page, v)] = read_ledger(tmp_path)
    assert page == "multilayer" and v.name == "mlp vs linear" and v.outcome == "a"
    Ledger("multilayer", tmp_path)  # the page executes again: its old claims go
    assert read_ledger(tmp_path) == []


def test_ledger_folder_comes_from_the_environment_and_a_damaged_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(LEDGER_ENV, str(tmp_path))
    Ledger("learning").add(verdict("x", "a", "b", [1, 2], [0, 1]))
    assert json.loads((tmp_path / "learning.json").read_text())["claims"][0]["name"] == "x"
    (tmp_path / "learning.json").write_text("{not json")
    with pytest.raises(ValueError, match="learning.json is not a claims ledger"):
        read_ledger(tmp_path)
    monkeypatch.delenv(LEDGER_ENV)
    assert Ledger("learning").path is None  # a student's notebook records nothing


def test_compare_ledgers_prints_the_verdicts_that_differ(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    a = Ledger("p", one)
    a.add(verdict("same", "a", "b", [2, 2.1, 2.2], [1, 1.1, 1.2]))
    a.add(verdict("flips", "a", "b", [2, 2.1, 2.2], [1, 1.1, 1.2]))
    b = Ledger("p", two)
    b.add(verdict("same", "a", "b", [2, 2.1, 2.3], [1, 1.1, 1.2]))
    b.add(verdict("flips", "a", "b", [1, 2, 3], [2, 1, 3]))
    script = os.path.join(os.path.dirname(__file__), "..", ".ci", "compare_ledgers.py")
    done = subprocess.run([sys.executable, script, str(one), str(two)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "flips" in done.stdout and "1 of 2 verdicts differ" in done.stdout
    assert "same:" not in done.stdout
    missing = subprocess.run([sys.executable, script, str(one), str(tmp_path / "none")], capture_output=True, text=True)
    assert missing.returncode == 2 and "no ledger" in missing.stderr
