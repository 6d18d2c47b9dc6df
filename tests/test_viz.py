"""Plotting helpers and diagrams: fast, on random tensors and a tiny linear model."""

from __future__ import annotations

import io
import logging
import re
import warnings
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402
from torch import nn  # noqa: E402

from mnist_lessons.figures import diagrams  # noqa: E402
from mnist_lessons.figures import plots as viz  # noqa: E402
from mnist_lessons.models import first_layer_maps, predict  # noqa: E402

TITLE = re.compile(r"^(\d) \((\d)\)$")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


@pytest.fixture
def data() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    return torch.rand(40, 1, 28, 28, generator=generator), torch.randint(0, 10, (40,), generator=generator)


def history(**overrides) -> SimpleNamespace:
    run = dict(epoch=[1, 2, 3], train_loss=[0.9, 0.5, 0.4], train_acc=[80.0, 88.0, 90.0],
               val_loss=[0.8, 0.6, 0.5], val_acc=[82.0, 86.0, 88.0], lr=[0.05] * 3, seconds=[1.0] * 3)
    return SimpleNamespace(**{**run, **overrides})


def image_titles(fig: Figure) -> list[str]:
    return [ax.get_title() for ax in fig.axes if ax.images]


def true_labels_for(model: nn.Module, x: torch.Tensor, correct: bool) -> torch.Tensor:
    """Labels that make the model right everywhere (``correct``) or wrong everywhere."""
    predicted, _ = predict(model, (x, torch.zeros(len(x), dtype=torch.long)))
    return predicted if correct else (predicted + 1) % 10


def test_show_digits_titles_are_labels(data):
    x, y = data
    fig = viz.show_digits(x[:10], y[:10])
    assert isinstance(fig, Figure)
    assert image_titles(fig) == [str(int(v)) for v in y[:10]]
    assert fig.get_size_inches()[0] == pytest.approx(viz.WIDTH)


def test_show_digits_from_batches_and_custom_titles(data):
    x, y = data
    fig = viz.show_digits([(x[:4], y[:4]), (x[4:8], y[4:8])], n=6, ncols=3)
    assert image_titles(fig) == [str(int(v)) for v in y[:6]]
    fig = viz.show_digits(x[:3], titles=["a", "b", "c"])
    assert image_titles(fig) == ["a", "b", "c"]


def test_plot_history_labels_and_curves():
    run = history()
    fig = viz.plot_history(run, title="Linear model")
    acc_ax, loss_ax = fig.axes
    assert acc_ax.get_ylabel() == "Accuracy (%)"
    assert loss_ax.get_ylabel() == "Loss"
    assert acc_ax.get_xlabel() == loss_ax.get_xlabel() == "Epochs completed"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["train", "validation"]
    assert [list(line.get_ydata()) for line in acc_ax.get_lines()] == [run.train_acc, run.val_acc]
    assert [list(line.get_ydata()) for line in loss_ax.get_lines()] == [run.train_loss, run.val_loss]
    assert fig._suptitle.get_text() == "Linear model"


def test_plot_history_compares_runs_by_validation():
    runs = {"linear": history(), "deep": history(val_acc=[90.0, 94.0, 96.0], val_loss=[0.4, 0.2, 0.1])}
    fig = viz.plot_history(runs)
    acc_ax, loss_ax = fig.axes
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["linear", "deep"]
    assert acc_ax.get_ylabel() == "Validation accuracy (%)" and loss_ax.get_ylabel() == "Validation loss"
    assert [list(line.get_ydata()) for line in acc_ax.get_lines()] == [r.val_acc for r in runs.values()]
    assert [list(line.get_ydata()) for line in loss_ax.get_lines()] == [r.val_loss for r in runs.values()]


def test_predict_restores_mode_and_keeps_no_graph(model, data):
    x, y = data
    model.train()
    predicted, labels = predict(model, [(x[:25], y[:25]), (x[25:], y[25:])])
    assert model.training
    assert predicted.shape == labels.shape == (40,)
    assert predicted.dtype == torch.long and not predicted.requires_grad
    assert torch.equal(labels, y)
    assert torch.equal(predicted, model(x).argmax(1))


def test_show_predictions_titles_and_highlights(model, data):
    x, _ = data
    y = true_labels_for(model, x, correct=True)
    y[[1, 4]] = (y[[1, 4]] + 1) % 10  # exactly two wrong
    fig = viz.show_predictions(model, x, y, n=10)
    axes = [ax for ax in fig.axes if ax.images]
    predicted, _ = predict(model, (x[:10], y[:10]))
    assert [ax.get_title() for ax in axes] == [f"{p} ({t})" for p, t in zip(predicted.tolist(), y[:10].tolist())]
    red = to_rgba(viz.WRONG)
    assert [i for i, ax in enumerate(axes) if to_rgba(ax.title.get_color()) == red] == [1, 4]
    assert "2 of 10 wrong" in fig._suptitle.get_text()


def test_show_failures_searches_later_batches(model, data):
    x, _ = data
    right = (x[:30], true_labels_for(model, x[:30], correct=True))
    wrong = (x[30:], true_labels_for(model, x[30:], correct=False))
    fig = viz.show_failures(model, [right, wrong], n=10)
    titles = image_titles(fig)
    assert len(titles) == 10
    for title in titles:
        predicted, true = TITLE.match(title).groups()
        assert predicted != true
    assert "10 of 40 images" in fig._suptitle.get_text()


def test_show_failures_counts_all_but_shows_n(model, data):
    x, _ = data
    y = true_labels_for(model, x, correct=False)
    fig = viz.show_failures(model, [(x[:20], y[:20]), (x[20:], y[20:])], n=12)
    assert len(image_titles(fig)) == 12
    assert "40 of 40 images" in fig._suptitle.get_text()


def test_show_failures_without_failures(model, data):
    x, _ = data
    fig = viz.show_failures(model, (x, true_labels_for(model, x, correct=True)))
    assert image_titles(fig) == []
    assert "0 of 40 images" in fig._suptitle.get_text()


def test_plot_confusion_matrix(model, data):
    x, y = data
    fig = viz.plot_confusion_matrix(model, [(x[:16], y[:16]), (x[16:], y[16:])])
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Predicted label"
    assert ax.get_ylabel() == "True label"
    assert sum(int(t.get_text()) for t in ax.texts) == len(x)  # zeros are left blank


def test_plot_activations_derivatives_by_autograd():
    fig = viz.plot_activations()
    panels = {ax.get_title(): ax for ax in fig.axes}
    assert list(panels) == ["Sigmoid", "Tanh", "ReLU", "Leaky ReLU", "GELU"]

    def curve(title: str, label: str) -> tuple[np.ndarray, np.ndarray]:
        (line,) = [line for line in panels[title].get_lines() if line.get_label() == label]
        return np.asarray(line.get_xdata()), np.asarray(line.get_ydata())

    x, relu = curve("ReLU", "f(x)")
    _, relu_slope = curve("ReLU", "f′(x)")
    assert np.allclose(relu, np.maximum(x, 0))
    assert set(np.unique(relu_slope)) <= {0.0, 1.0}
    assert np.all(relu_slope[x < 0] == 0) and np.all(relu_slope[x > 0] == 1)
    _, leaky_slope = curve("Leaky ReLU", "f′(x)")
    assert np.allclose(leaky_slope[x < 0], 0.01) and np.allclose(leaky_slope[x > 0], 1)
    assert curve("Sigmoid", "f′(x)")[1].max() == pytest.approx(0.25, abs=1e-4)
    assert curve("Tanh", "f′(x)")[1].max() == pytest.approx(1.0, abs=1e-4)


def nodes(fig: Figure) -> list[Circle]:
    return [p for p in fig.axes[0].patches if isinstance(p, Circle) and p.get_gid() == "node"]


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [([784, 50, 10], 30), ([784, 50, 50, 50, 10], 50), ([3, 4, 2], 9)],
)
def test_draw_network_node_count(sizes, expected):
    fig = diagrams.draw_network(sizes, activation="ReLU")
    assert len(nodes(fig)) == expected
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert f"input\n{sizes[0]}" in texts and f"output\n{sizes[-1]}" in texts
    assert f"hidden\n{sizes[1]} (ReLU)" in texts


def test_draw_network_custom_labels():
    labels = ["input 784", "hidden 50 (ReLU)", "output 10"]
    fig = diagrams.draw_network([784, 50, 10], labels)
    assert set(labels) <= {t.get_text() for t in fig.axes[0].texts}


def test_draw_linear_layer():
    fig = diagrams.draw_linear_layer(n_inputs_shown=7)
    ax = fig.axes[0]
    assert len(nodes(fig)) == 7 + 10
    (weights,) = [c for c in ax.collections if c.get_gid() == "weights"]
    assert len(weights.get_segments()) == 7 * 10
    texts = {t.get_text() for t in ax.texts}
    assert {str(d) for d in range(10)} | {"x₁", "x₇₈₄"} <= texts
    assert ax.get_title() == "784 inputs → 10 outputs"


def test_every_figure_renders_without_font_warnings(model, data, caplog):
    x, y = data
    figures = [
        viz.show_digits(x[:10], y[:10]), viz.show_predictions(model, x, y), viz.show_failures(model, (x, y)),
        viz.plot_confusion_matrix(model, (x, y)), viz.plot_history(history()), viz.plot_activations(),
        diagrams.draw_linear_layer(), diagrams.draw_network([784, 50, 50, 50, 10], activation="ReLU"),
    ]
    with warnings.catch_warnings(), caplog.at_level(logging.WARNING, logger="matplotlib"):
        warnings.simplefilter("error")  # e.g. "Glyph ... missing from font(s)"
        for fig in figures:
            assert fig.get_size_inches()[0] == pytest.approx(8.0)
            fig.savefig(io.BytesIO(), format="png")
    assert not caplog.records


# --- convolution figures ------------------------------------------------------------


def test_show_filters_draws_one_panel_per_filter_on_a_column_wide_grid():
    fig = viz.show_filters(torch.randn(12, 1, 3, 3), ncols=8, title="filters")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 12 and [ax.get_title() for ax in panels] == [str(i) for i in range(12)]
    assert fig.get_size_inches()[0] == pytest.approx(viz.WIDTH)
    limit = panels[0].images[0].get_clim()
    assert limit[0] == -limit[1]  # diverging colours centred on zero
    plt.close(fig)


def test_show_feature_maps_puts_the_digit_first_and_shares_one_scale():
    maps = torch.rand(6, 28, 28)
    fig = viz.show_feature_maps(maps, image=torch.rand(1, 28, 28), ncols=3)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert "input" in titles and len(titles) == 7
    scales = {ax.images[0].get_clim() for ax in fig.axes if ax.images and ax.get_title() != "input"}
    assert scales == {(0, float(maps.max()))}
    plt.close(fig)


def test_show_convolution_writes_the_filter_values_in():
    kernel = torch.tensor([[[[-1.0, 0.0, 1.0]] * 3]])
    digit = torch.rand(1, 1, 28, 28)
    fig = viz.show_convolution(digit, kernel, torch.nn.functional.conv2d(digit, kernel, padding=1))
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts == ["-1", "0", "1"] * 3
    plt.close(fig)


def test_plot_shift_robustness_draws_one_line_per_model():
    fig = viz.plot_shift_robustness({"plain": ([0, 1, 2], [99.0, 97.0, 90.0]), "augmented": ([0, 1, 2], [99.0, 98.5, 97.0])})
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["plain", "augmented"]
    plt.close(fig)


def test_first_layer_maps_are_the_first_block_before_pooling_and_keep_the_mode():
    from mnist_lessons.models import ConvClassifier

    torch.manual_seed(0)
    model = ConvClassifier().train()
    maps = first_layer_maps(model, torch.rand(28, 28))
    assert maps.shape == (16, 28, 28) and maps.min() >= 0  # ReLU outputs, not pooled
    assert model.training


def test_the_wrong_colour_and_every_label_colour_meet_wcag_aa():
    import seaborn as sns
    from matplotlib.colors import to_rgb

    def contrast(a, b):
        hi, lo = sorted((sns.utils.relative_luminance(to_rgb(a)), sns.utils.relative_luminance(to_rgb(b))), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    assert contrast(viz.WRONG, "white") >= 4.5
    greys = [(v, v, v) for v in np.linspace(0, 1, 101)]
    blues = [tuple(float(c) for c in np.array(to_rgb("C0")) * k + (1 - k)) for k in np.linspace(0, 1, 51)]
    assert min(contrast(viz.label_colour(c), c) for c in greys + blues) >= 4.5


def test_show_templates_shares_one_scale_centred_at_zero_with_a_colour_bar():
    weight = torch.linspace(-2, 1, 10 * 784).reshape(10, 784)
    fig = viz.show_templates(weight)
    try:
        images = [im for ax in fig.axes for im in ax.images]
        assert len(images) == 10 and {im.get_clim() for im in images} == {(-2.0, 2.0)}
        assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    finally:
        plt.close(fig)
