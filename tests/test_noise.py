import statistics

import numpy as np
import pytest

from mnist_lessons.experiments.noise import (
    MIN_SEEDS, SeedStudy, SeedSweep, final, seed_runs, seed_sweep,
)
from mnist_lessons.training.loops import History
from test_sweep import SMALL, toy_splits


def study(label, values, seeds=None):
    return SeedStudy(label, tuple(seeds or range(len(values))), tuple(values))


def test_summary_statistics_match_the_standard_library():
    values = [93.1, 93.4, 92.9, 93.6, 93.0]
    s = study("mlp", values)
    assert s.mean == pytest.approx(statistics.mean(values))
    assert s.std == pytest.approx(statistics.stdev(values))  # sample std, n - 1
    assert (s.low, s.high, s.range) == (92.9, 93.6, pytest.approx(0.7))
    assert s.text() == f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"
    assert s.summary()["seeds"] == 5


def test_seed_runs_trains_each_seed_and_only_the_seed_differs():
    data = toy_splits()
    s = seed_runs(lambda seed: SMALL.replace(seed=seed), [0, 1, 2], data, label="small")
    assert s.seeds == (0, 1, 2) and len(s.runs) == 3
    assert [r.config.seed for r in s.runs] == [0, 1, 2]
    assert s.values == tuple(r.history.val_acc[-1] for r in s.runs)
    assert len(set(tuple(r.history.train_loss) for r in s.runs)) == 3  # different seeds, different runs
    epochs, mean, std = s.curve()
    assert epochs == [1, 2, 3] and mean[-1] == pytest.approx(s.mean) and std[-1] == pytest.approx(s.std)
    again = seed_runs(lambda seed: SMALL.replace(seed=seed), [0, 1, 2], toy_splits(), label="small")
    assert again.values == s.values  # seeded: repeatable (other tensors, equal values: trained again)


def test_seed_runs_refuses_bad_seeds_and_unfair_configs():
    data = toy_splits(n=40)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        seed_runs(lambda s: SMALL.replace(seed=s), [], data)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        seed_runs(lambda s: SMALL.replace(seed=s), [3], data)
    with pytest.raises(ValueError, match="distinct"):
        seed_runs(lambda s: SMALL.replace(seed=s), [1, 1], data)
    with pytest.raises(ValueError, match="each seed must be an integer >= 0, got -2"):
        seed_runs(lambda s: SMALL.replace(seed=s), [1, -2], data)
    with pytest.raises(ValueError, match="set seed=1"):
        seed_runs(lambda s: SMALL, [1, 2], data)
    with pytest.raises(ValueError, match="more than the seed"):
        seed_runs(lambda s: SMALL.replace(seed=s, lr=0.1 * (s + 1)), [0, 1], data)
    with pytest.raises(ValueError, match="unknown metric"):
        seed_runs(lambda s: SMALL.replace(seed=s), [0, 1], data, metric="accuracy")


def test_seed_sweep_table_and_paired_verdicts():
    sweep = SeedSweep("lr", {"0.05": study("0.05", [93.0, 93.2, 93.1]), "0.1": study("0.1", [94.0, 94.2, 94.1]),
                             "0.5": study("0.5", [93.9, 94.3, 94.0])})
    assert [s.label for s in sweep.ranked()] == ["0.1", "0.5", "0.05"]
    # 0.1 minus 0.5, seed by seed: +0.1, -0.1, +0.1: the interval holds zero
    assert sweep.best_verdict().outcome is None and sweep.best_verdict().a == "0.1"
    assert sweep.tied_with_best() == ["0.1", "0.5"]
    # 0.1 minus 0.05 is +1.0 on every seed: no spread, a clear verdict
    assert sweep.verdict("0.1", "0.05").outcome == "a" and sweep.verdict("0.05", "0.1").winner == "0.1"
    assert sweep.verdict("0.1", "0.05").margin == pytest.approx(1.0)
    assert sweep.rows()[1] == {"lr": "0.1", "val_acc (mean ± std)": "94.10 ± 0.10", "min": 94.0, "max": 94.2, "seeds": 3}
    with pytest.raises(KeyError, match="labels"):
        sweep["1.0"]


def test_a_verdict_pairs_only_the_seeds_both_studies_share():
    a = study("a", [1.0, 2.0, 3.0, 9.0], seeds=[1, 2, 3, 4])
    b = study("b", [0.0, 1.0, 2.0], seeds=[1, 2, 3])
    sweep = SeedSweep("x", {"a": a, "b": b})
    v = sweep.verdict("a", "b")
    assert (v.n, v.margin, v.uncertainty) == (3, 1.0, 0.0)  # seed 4 has no partner


def test_seed_sweep_runs_every_value_with_every_seed():
    data = toy_splits()
    result = seed_sweep("lr", [0.05, 0.2], lambda lr, s: SMALL.replace(lr=lr, seed=s), range(MIN_SEEDS), data)
    assert list(result.studies) == ["0.05", "0.2"]
    assert all(len(s.runs) == MIN_SEEDS for s in result.studies.values())
    assert {r.config.lr for r in result["0.2"].runs} == {0.2}
    with pytest.raises(ValueError, match="at least 3 seeds"):
        seed_sweep("lr", [0.05], lambda lr, s: SMALL.replace(lr=lr, seed=s), [0, 1], data)
    with pytest.raises(ValueError, match="different epochs"):
        seed_sweep("epochs", [1, 2], lambda e, s: SMALL.replace(epochs=e, seed=s), range(3), data)
    with pytest.raises(ValueError, match="at least one value"):
        seed_sweep("lr", [], lambda lr, s: SMALL.replace(lr=lr, seed=s), range(3), data)


def test_final_averages_the_last_epochs():
    h = History(epoch=[0, 1, 2], train_acc=[81.0, 95.0, 99.0], val_acc=[80.0, 90.0, 92.0])
    assert final(h) == 92.0 and final(h, tail=2) == 91.0
    assert final(h, "gap") == 7.0 and final(h, "gap", tail=2) == 6.0
    assert final(h, tail=np.int64(2)) == 91.0  # NumPy integers count as integers, as everywhere
    with pytest.raises(ValueError, match="tail"):
        final(h, tail=4)
