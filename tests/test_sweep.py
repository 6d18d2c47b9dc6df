from types import SimpleNamespace

import pytest
import torch

from mnist_lessons.data.batches import Split
from mnist_lessons.schedules import CosineSchedule, StepSchedule
from mnist_lessons.training.recipe import RunConfig, run
from mnist_lessons.experiments.sweeps import SweepResult, describe, sweep


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
    b = run(SMALL.replace(shuffle=True), data)
    assert a.history.val_acc == b.history.val_acc and a.history.train_loss == b.history.train_loss
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    c = run(SMALL.replace(shuffle=True, seed=SMALL.seed + 1), data)
    assert c.history.train_loss != a.history.train_loss


def test_a_sweep_trains_one_run_per_value_and_tabulates_them():
    result = sweep("lr", [0.001, 0.2], lambda lr: SMALL.replace(lr=lr), toy_splits())
    assert isinstance(result, SweepResult)
    assert list(result.histories) == ["0.001", "0.2"]
    assert [row["lr"] for row in result.rows()] == ["0.001", "0.2"]
    assert result.best().label == "0.2"  # the tiny rate barely moves in three epochs
    assert result["0.001"].config.lr == 0.001
    frame = result.to_frame()
    assert list(frame.index) == ["0.001", "0.2"]
    assert frame.loc["0.2", "val acc (%)"] == round(result["0.2"].history.val_acc[-1], 2)


def test_a_sweep_repeats_the_runs_it_would_make_one_by_one():
    data = toy_splits()
    swept = sweep("batch_size", [8, 32], lambda b: SMALL.replace(batch_size=b), data)
    alone = run(SMALL.replace(batch_size=32), data)
    assert swept["32"].history.val_loss == alone.history.val_loss


def test_sweep_refuses_unfair_comparisons():
    with pytest.raises(ValueError, match="seed"):
        sweep("seed", [1, 2], lambda s: SMALL.replace(seed=s), toy_splits())
    with pytest.raises(ValueError, match="epochs"):
        sweep("epochs", [1, 2], lambda e: SMALL.replace(epochs=e), toy_splits())


def test_sweep_rejects_bad_inputs_with_clear_errors():
    data = toy_splits()
    with pytest.raises(ValueError, match="at least one value"):
        sweep("lr", [], lambda lr: SMALL, data)
    with pytest.raises(ValueError, match="distinct"):
        sweep("lr", [0.1, 0.2], lambda lr: SMALL.replace(lr=lr), data, labels=["a", "a"])
    with pytest.raises(ValueError, match="2 labels for 1 values"):
        sweep("lr", [0.1], lambda lr: SMALL, data, labels=["a", "b"])
    with pytest.raises(TypeError, match="not a RunConfig"):
        sweep("lr", [0.1], lambda lr: {"lr": lr}, data)
    with pytest.raises(TypeError, match=r"\.train and \.val"):
        run(SMALL, object())
    with pytest.raises(KeyError, match="no run labelled"):
        sweep("lr", [0.1], lambda lr: SMALL.replace(lr=lr), data)["0.5"]


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


def test_experiments_train_each_config_once_and_pick_the_best_of_all(monkeypatch):
    import mnist_lessons.experiments.sweeps as sweep_module

    trained = []
    real_run = sweep_module.run
    def counting_run(config, *args, **kwargs):
        trained.append(config)
        return real_run(config, *args, **kwargs)

    monkeypatch.setattr(sweep_module, "run", counting_run)
    lab = sweep_module.Experiments(toy_splits())
    rates = lab.sweep("lr", [0.001, 0.2], lambda lr: SMALL.replace(lr=lr))
    sizes = lab.sweep("batch size", [16, 64], lambda b: SMALL.replace(batch_size=b))
    assert len(trained) == 3  # SMALL (lr 0.2, batch 16) appears in both sweeps
    assert sizes["16"].history is rates["0.2"].history
    assert sizes["16"].label == "16" and rates["0.2"].label == "0.2"
    best = lab.best()
    assert best.history.val_acc[-1] == max(r.history.val_acc[-1] for r in lab.runs.values())
    with pytest.raises(ValueError, match="no runs yet"):
        sweep_module.Experiments(toy_splits()).best()


def test_differences_name_only_the_changed_settings():
    config = SMALL.replace(lr=0.5, schedule=CosineSchedule())
    assert config.differences(SMALL) == {"lr": 0.5, "schedule": CosineSchedule()}
    assert SMALL.differences(SMALL) == {}


def test_summary_tables_and_schedule_plots():
    import matplotlib

    matplotlib.use("Agg")
    from mnist_lessons.experiments.sweeps import COLUMN_TITLES, to_frame
    from mnist_lessons.figures.plots import plot_schedules

    result = sweep("schedule", [None, StepSchedule(1, 0.5)], lambda s: SMALL.replace(schedule=s), toy_splits(),
                   labels=["constant", "step"])
    frame = to_frame(result.rows(), "schedule")
    assert list(frame.columns) == list(COLUMN_TITLES.values())
    fig = plot_schedules(result.histories)
    assert fig.axes[0].get_yscale() == "log"
    assert [line.get_ydata().tolist() for line in fig.axes[0].lines][1] == pytest.approx([0.2, 0.1, 0.05])
    with pytest.raises(ValueError, match="at least one run"):
        plot_schedules({})


def test_a_diverging_run_is_recorded_shown_and_never_chosen_as_best():
    from mnist_lessons.experiments.noise import seed_sweep

    data = toy_splits()
    result = sweep("lr", [0.2, 1e10], lambda lr: SMALL.replace(lr=lr), data)
    assert [r.diverged for r in result.runs] == [False, True]
    assert result.best().label == "0.2"
    assert [row["status"] for row in result.rows()] == ["trained", "diverged"]
    seeds = seed_sweep("lr", [0.2, 1e10], lambda lr, s: SMALL.replace(lr=lr, seed=s), [0, 1, 2], data)
    assert seeds["1e+10"].text().startswith("diverged (") and seeds["1e+10"].diverged >= 1
    assert seeds.ranked()[0].label == "0.2" and seeds.ranked()[-1].label == "1e+10"
    with pytest.raises(ValueError, match="every run of sweep 'lr' diverged"):
        sweep("lr", [1e10], lambda lr: SMALL.replace(lr=lr), data).best()
