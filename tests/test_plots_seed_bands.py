import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from mnist_lessons.experiments.noise import SeedStudy, seed_runs  # noqa: E402
from mnist_lessons.figures.plots import plot_seed_bands  # noqa: E402
from test_sweep import SMALL, toy_splits  # noqa: E402


def test_one_line_and_one_band_per_study_per_panel():
    data = toy_splits()
    studies = {name: seed_runs(lambda s, c=config: c.replace(seed=s), [0, 1], data, name)
               for name, config in {"small": SMALL, "wide": SMALL.replace(hidden_sizes=(32,))}.items()}
    fig = plot_seed_bands(studies, metrics=("val_acc", "gap"))
    try:
        for ax, metric in zip(fig.axes, ("val_acc", "gap")):
            assert len(ax.lines) == 2 and len(ax.collections) == 2
            epochs, mean, _ = studies["small"].curve(metric)
            assert list(ax.lines[0].get_xdata()) == list(epochs) == [1, 2, 3]
            assert list(ax.lines[0].get_ydata()) == pytest.approx(mean)
        assert [t.get_text() for t in fig.legends[0].get_texts()] == ["small (2 seeds)", "wide (2 seeds)"]
    finally:
        plt.close(fig)


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least one"):
        plot_seed_bands({})
    values_only = {"x": SeedStudy("x", (0, 1), (1.0, 2.0))}
    with pytest.raises(ValueError, match="metrics"):
        plot_seed_bands(values_only, metrics=("accuracy",))
    with pytest.raises(ValueError, match="no runs"):
        plot_seed_bands(values_only)
