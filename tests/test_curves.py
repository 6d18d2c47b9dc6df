import numpy as np
import pytest

from mnist_lessons.experiments.curves import LearningCurve, epochs_for_steps, learning_curve
from test_sweep import SMALL, toy_splits


def test_epochs_for_steps_gives_every_size_the_same_updates():
    assert epochs_for_steps(1_000, 100, 400) == 40
    assert epochs_for_steps(np.int64(1_000), np.int64(100), 400) == 40
    assert epochs_for_steps(48_000, 128, 375) == 1
    assert epochs_for_steps(1_000, 128, 100) == 13  # 8 steps per epoch (the last batch is short)
    with pytest.raises(ValueError, match="steps"):
        epochs_for_steps(100, 10, 0)


def test_each_variant_trains_on_each_nested_subset():
    data = toy_splits(n=320)  # 240 training images
    curve = learning_curve([120, 40], {"plain": SMALL, "wide": SMALL.replace(hidden_sizes=(32,))}, data)
    assert isinstance(curve, LearningCurve) and curve.sizes == (40, 120)  # sorted
    assert curve.variants == ["plain", "wide"]
    for (variant, size), done in curve.runs.items():
        assert done.config.train_size == size
    assert curve.runs[("wide", 40)].config.hidden_sizes == (32,)
    point = curve.points[0]
    assert point.gap == pytest.approx(point.train_acc - point.val_acc)
    assert curve.gaps("plain") == [p.gap for p in curve.points if p.variant == "plain"]
    assert len(curve.rows()) == 4 and curve.rows()[0]["train images"] == 40
    with pytest.raises(KeyError, match="variants"):
        curve.gaps("dropout")


def test_a_step_budget_sets_the_epochs_per_size():
    data = toy_splits(n=320)
    curve = learning_curve([32, 160], {"plain": SMALL.replace(batch_size=16)}, data, steps=20)
    assert [p.epochs for p in curve.points] == [10, 2]
    assert [len(r.history) for r in curve.runs.values()] == [10, 2]


def test_bad_sizes_get_clear_errors():
    data = toy_splits(n=80)  # 60 training images
    with pytest.raises(ValueError, match="at least one training-set size"):
        learning_curve([], {"plain": SMALL}, data)
    with pytest.raises(ValueError, match="larger than the 60 training images"):
        learning_curve([10, 61], {"plain": SMALL}, data)
    with pytest.raises(ValueError, match="each training-set size must be an integer >= 1, got 0"):
        learning_curve([0], {"plain": SMALL}, data)
    with pytest.raises(ValueError, match="distinct"):
        learning_curve([10, 10], {"plain": SMALL}, data)
    with pytest.raises(ValueError, match="at least one variant"):
        learning_curve([10], {}, data)
    with pytest.raises(TypeError, match="RunConfig"):
        learning_curve([10], {"plain": {"lr": 0.1}}, data)


def test_plot_learning_curve_draws_one_line_per_variant_on_a_log_axis():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mnist_lessons.figures.plots import plot_learning_curve

    data = toy_splits()
    curve = learning_curve((40, 120), {"plain": SMALL, "wide": SMALL.replace(hidden_sizes=(32,))}, data, steps=6)
    fig = plot_learning_curve(curve)
    try:
        gap_ax, acc_ax = fig.axes
        assert gap_ax.get_xscale() == "log" and [len(ax.lines) for ax in (gap_ax, acc_ax)] == [2, 2]
        assert list(gap_ax.lines[0].get_xdata()) == [40, 120]
        assert list(gap_ax.lines[1].get_ydata()) == pytest.approx(curve.gaps("wide"))
    finally:
        plt.close(fig)
    with pytest.raises(ValueError, match="at least one variant"):
        plot_learning_curve(object())


def test_a_tail_share_averages_the_same_phase_of_every_run():
    from mnist_lessons.experiments.noise import final

    data = toy_splits()
    curve = learning_curve([20, 40], {"small": SMALL}, data, steps=12, tail=0.5)
    for size in (20, 40):
        h = curve.runs[("small", size)].history
        assert curve.points[[20, 40].index(size)].val_acc == pytest.approx(final(h, "val_acc", max(1, round(len(h) / 2))))
    with pytest.raises(ValueError, match="share of the epochs"):
        learning_curve([20], {"small": SMALL}, data, tail=1.5)
