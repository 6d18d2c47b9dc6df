from types import SimpleNamespace

import pytest
import torch

from mnist_lessons.data.batches import Split
from mnist_lessons.schedules import CosineSchedule, StepSchedule
from mnist_lessons.training.recipe import RunConfig, run
from mnist_lessons.experiments.noise import describe


def toy_splits(n=240, seed=0):
    """Images whose class is written as a bright row: a few epochs learn them."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.rand(n, 1, 28, 28, generator=g) * 0.2
    x[torch.arange(n), 0, 2 * y + 3, :] = 1.0
    cut = n * 3 // 4
    return SimpleNamespace(train=Split(x[:cut], y[:cut]), val=Split(x[cut:], y[cut:]))


SMALL = RunConfig(hidden_sizes=(16,), dropout=0.0, lr=0.2, batch_size=16, epochs=3)


def test_a_run_learns_and_records_every_epoch():
    result = run(SMALL, toy_splits())
    assert len(result.history) == 3
    assert result.history.train_loss[-1] < result.history.train_loss[0]
    assert result.history.val_acc[-1] > 80.0
    summary = result.summary()
    assert summary["gap"] == pytest.approx(summary["train_acc"] - summary["val_acc"])
    assert summary["seconds_per_epoch"] > 0


def test_the_same_settings_give_identical_results():
    data = toy_splits()
    a = run(SMALL.replace(shuffle=True), data)
    b = run(SMALL.replace(shuffle=True), toy_splits())  # other tensors, equal values: trained again
    assert a.history.val_acc == b.history.val_acc and a.history.train_loss == b.history.train_loss
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    c = run(SMALL.replace(shuffle=True, seed=SMALL.seed + 1), data)
    assert c.history.train_loss != a.history.train_loss


def test_a_run_is_trained_once_per_config_and_data_then_handed_back(monkeypatch):
    import mnist_lessons.training.recipe as recipe

    trained = []
    real_fit = recipe.fit
    def counting_fit(*args, **kwargs):
        trained.append(kwargs["epochs"])
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(recipe, "fit", counting_fit)
    data = toy_splits()
    first = run(SMALL, data, label="first")
    again = run(SMALL, data, label="again")
    assert len(trained) == 1 and again.model is first.model and again.history is first.history
    assert (first.label, again.label, run(SMALL, data).label) == ("first", "again", "run")
    run(SMALL.replace(epochs=1), data)  # another config: trained
    run(SMALL, toy_splits())  # equal values, other tensors: trained
    assert trained == [3, 1, 3]
    assert [r.config for r in recipe.runs_on(data)] == [SMALL, SMALL.replace(epochs=1)]


def test_run_refuses_what_is_not_a_config_or_data():
    with pytest.raises(TypeError, match=r"\.train and \.val"):
        run(SMALL, object())
    with pytest.raises(TypeError, match="needs a RunConfig"):
        run({"lr": 0.1}, toy_splits())


def test_a_diverging_run_raises_every_time_and_is_listed_as_diverged():
    from mnist_lessons.training.loops import TrainingDiverged
    from mnist_lessons.training.recipe import runs_on

    data = toy_splits()
    for _ in range(2):
        with pytest.raises(TrainingDiverged, match="diverged in epoch 1"):
            run(SMALL.replace(lr=1e10), data)
    assert [r.diverged for r in runs_on(data)] == [True]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"lr": 0}, "learning rate"),
        ({"lr": float("nan")}, "learning rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 2.5}, "epochs"),
        ({"seed": -1}, "seed"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"optimizer": "lbfgs"}, "unknown optimizer"),
        ({"train_size": 0}, "train_size"),
    ],
)
def test_run_config_rejects_bad_settings(changes, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**changes)


def test_train_size_keeps_the_first_images_and_must_fit():
    data = toy_splits()
    result = run(SMALL.replace(train_size=40, batch_size=40, epochs=1), data)
    assert len(result.history) == 1
    with pytest.raises(ValueError, match="larger than"):
        run(SMALL.replace(train_size=10_000), data)


def test_schedules_set_the_learning_rate_of_each_epoch():
    data = toy_splits()
    step = run(SMALL.replace(lr=0.1, epochs=4, schedule=StepSchedule(2, 0.1)), data)
    assert step.history.lr == pytest.approx([0.1, 0.1, 0.01, 0.01])
    cosine = run(SMALL.replace(lr=0.1, epochs=4, schedule=CosineSchedule()), data)
    assert cosine.history.lr[0] == pytest.approx(0.1)
    assert all(a > b for a, b in zip(cosine.history.lr, cosine.history.lr[1:]))
    with pytest.raises(TypeError, match="callable"):
        RunConfig(schedule="cosine")


def test_per_layer_activations_and_labels_read_well():
    config = RunConfig(activation=["sigmoid", "tanh", "relu"])
    assert config.activation == ("sigmoid", "tanh", "relu")
    assert describe(config.activation) == "sigmoid, tanh, relu"
    assert describe(0.05) == "0.05" and describe(128) == "128"
    assert hash(config) == hash(RunConfig(activation=("sigmoid", "tanh", "relu")))


def test_differences_name_only_the_changed_settings():
    config = SMALL.replace(lr=0.5, schedule=CosineSchedule())
    assert config.differences(SMALL) == {"lr": 0.5, "schedule": CosineSchedule()}
    assert SMALL.differences(SMALL) == {}


def test_schedule_plots_show_each_epochs_learning_rate():
    import matplotlib

    matplotlib.use("Agg")
    from mnist_lessons.figures.plots import plot_schedules

    data = toy_splits()
    histories = {label: run(SMALL.replace(schedule=s), data).history
                 for label, s in (("constant", None), ("step", StepSchedule(1, 0.5)))}
    fig = plot_schedules(histories)
    assert fig.axes[0].get_yscale() == "log"
    assert [line.get_ydata().tolist() for line in fig.axes[0].lines][1] == pytest.approx([0.2, 0.1, 0.05])
    with pytest.raises(ValueError, match="at least one run"):
        plot_schedules({})


def test_a_diverging_setting_is_recorded_shown_and_ranked_last():
    from mnist_lessons.experiments.noise import seed_sweep

    seeds = seed_sweep("lr", [0.2, 1e10], lambda lr, s: SMALL.replace(lr=lr, seed=s), [0, 1, 2], toy_splits())
    assert seeds["1e+10"].text().startswith("diverged (") and seeds["1e+10"].diverged >= 1
    assert seeds.ranked()[0].label == "0.2" and seeds.ranked()[-1].label == "1e+10"
