import matplotlib
import pytest
import torch
from matplotlib.figure import Figure

from mnist_lessons.experiments.gradients import deep_network, gradient_norms
from mnist_lessons.experiments.polynomials import fit_polynomials
from mnist_lessons.figures.plots import plot_error_by_degree, plot_gradient_norms, plot_polynomial_fits

matplotlib.use("Agg")


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.rand(64, 1, 28, 28, generator=g), torch.randint(0, 10, (64,), generator=g)


def test_a_flexible_polynomial_fits_the_training_points_better_and_fresh_points_worse():
    fits = fit_polynomials([1, 3, 11], n_train=12)
    line, right, wiggly = (fits.error(d) for d in (1, 3, 11))
    assert wiggly[0] < right[0] < line[0]  # training error falls with the degree
    assert wiggly[0] < 1e-6  # 12 coefficients through 12 points: an exact fit
    assert right[1] < line[1] and right[1] < wiggly[1]  # held-out error is lowest in between
    assert wiggly[1] > 10 * right[1]
    assert fits.best_degree() == 3


def test_polynomial_fits_are_seeded():
    a, b = fit_polynomials([2, 5], seed=1), fit_polynomials([2, 5], seed=1)
    assert a.test_error == b.test_error
    assert fit_polynomials([2, 5], seed=2).test_error != a.test_error


@pytest.mark.parametrize("kwargs, message", [
    ({"degrees": []}, "at least one degree"),
    ({"degrees": [12], "n_train": 12}, "at least 13 training points"),
    ({"degrees": [-1]}, "0 <= degree"),
    ({"degrees": [1], "noise": -1.0}, "noise"),
])
def test_polynomial_fits_reject_bad_inputs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit_polynomials(**kwargs)


def test_sigmoid_gradients_shrink_toward_the_input_much_more_than_relu(batch):
    sigmoid = gradient_norms(deep_network("sigmoid", depth=8, width=64, init="xavier"), *batch)
    relu = gradient_norms(deep_network("relu", depth=8, width=64, init="he"), *batch)
    assert len(sigmoid) == len(relu) == 9
    sigmoid_ratio, relu_ratio = sigmoid[0] / sigmoid[-1], relu[0] / relu[-1]
    assert sigmoid_ratio < 1e-3  # vanished: the first layer barely gets a gradient
    assert relu_ratio > 0.1
    assert sigmoid_ratio < relu_ratio / 100


def test_a_too_large_initialisation_makes_every_gradient_explode(batch):
    healthy = gradient_norms(deep_network("relu", depth=8, width=64, init="he"), *batch)
    too_large = gradient_norms(deep_network("relu", depth=8, width=64, init="he", scale=2.0), *batch)
    assert min(too_large) > 30 * max(healthy)


def test_gradient_norms_leave_the_model_unchanged(batch):
    model = deep_network("tanh", depth=3, width=16)
    before = [p.clone() for p in model.parameters()]
    gradient_norms(model, *batch)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert all(p.grad is None for p in model.parameters())


def test_deep_networks_are_seeded_and_check_their_settings():
    a, b = deep_network("relu", depth=3, seed=4), deep_network("relu", depth=3, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(ValueError, match="unknown init"):
        deep_network(init="orthogonal")
    with pytest.raises(ValueError, match="depth"):
        deep_network(depth=0)
    with pytest.raises(ValueError, match="scale"):
        deep_network(scale=0.0)
    with pytest.raises(ValueError, match="unknown activation"):
        deep_network("softsign")
    with pytest.raises(ValueError, match="same length"):
        gradient_norms(a, torch.zeros(4, 784), torch.zeros(3, dtype=torch.long))


def test_plots_return_figures():
    fits = fit_polynomials([1, 3, 11], n_train=12)
    figures = [
        plot_polynomial_fits(fits, titles=["too simple", "about right", "too flexible"]),
        plot_error_by_degree(fits),
        plot_gradient_norms({"sigmoid": [1e-6, 1e-3, 1.0], "ReLU": [0.8, 0.9, 1.0]}),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    assert len(figures[0].axes) == 3
    assert figures[2].axes[0].get_yscale() == "log"
    with pytest.raises(ValueError, match="not fitted"):
        plot_polynomial_fits(fits, degrees=[5])
    assert figures[1].axes[0].get_ylim()[0] > 1e-4  # the exact fit does not stretch the log scale
