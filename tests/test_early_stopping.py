import pytest
import torch
from torch import nn

from mnist_lessons.training.early_stopping import BestCheckpoint, best_and_last
from mnist_lessons.models import NonlinearClassifier
from mnist_lessons.training.loops import History, evaluate, fit, seed_everything
from test_sweep import toy_splits


def history_with(val_loss):
    return History(epoch=list(range(len(val_loss))), val_loss=list(val_loss))


class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))


def test_keeps_the_weights_of_the_best_epoch():
    model, checkpoint, losses = Scale(), BestCheckpoint(), [0.9, 0.5, 0.7, 0.5, 0.8]
    for epoch, loss in enumerate(losses):
        with torch.no_grad():
            model.w.fill_(float(epoch))
        checkpoint(model, history_with(losses[: epoch + 1]))
    assert (checkpoint.best_epoch, checkpoint.best_value) == (1, 0.5)  # a tie keeps the earlier epoch
    assert model.w.item() == 4.0
    assert checkpoint.restore(model).w.item() == 1.0


def test_patience_stops_after_that_many_epochs_without_improvement():
    checkpoint, model = BestCheckpoint(patience=2), Scale()
    stops = [checkpoint(model, history_with([0.9, 0.5, 0.6, 0.7][: i + 1])) for i in range(4)]
    assert stops == [False, False, False, True]
    accuracy = BestCheckpoint(monitor="val_acc")
    accuracy(model, History(epoch=[0], val_acc=[80.0]))
    accuracy(model, History(epoch=[0, 1], val_acc=[80.0, 85.0]))
    assert accuracy.best_epoch == 1


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="unknown monitor"):
        BestCheckpoint(monitor="accuracy")
    with pytest.raises(ValueError, match="patience"):
        BestCheckpoint(patience=0)
    with pytest.raises(ValueError, match="no checkpoint kept yet"):
        BestCheckpoint().restore(Scale())
    with pytest.raises(ValueError, match="history is empty"):
        BestCheckpoint()(Scale(), History())


def train_setup(seed=0):
    data = toy_splits(n=120)
    seed_everything(seed)
    model = NonlinearClassifier((16,), dropout=0.0)
    return data, model, torch.optim.SGD(model.parameters(), lr=0.5)


def test_a_checkpoint_watches_training_without_changing_it():
    data, model, optimizer = train_setup()
    checkpoint = BestCheckpoint()
    history = fit(model, data.train.batches(16), data.val.batches(64), optimizer, 6, log_every=0, on_epoch_end=checkpoint)
    data, plain_model, plain_optimizer = train_setup()
    plain = fit(plain_model, data.train.batches(16), data.val.batches(64), plain_optimizer, epochs=6, log_every=0)
    assert history.epoch == [1, 2, 3, 4, 5, 6]
    assert history.val_loss == plain.val_loss and history.train_acc == plain.train_acc
    assert checkpoint.best_value == min(history.val_loss)
    assert checkpoint.best_epoch == history.val_loss.index(min(history.val_loss)) + 1


def test_best_and_last_scores_the_restored_checkpoint():
    data, model, optimizer = train_setup()
    checkpoint = BestCheckpoint(monitor="val_acc")
    history = fit(model, data.train.batches(16), data.val.batches(64), optimizer, 8, log_every=0, on_epoch_end=checkpoint)
    loss_fn = nn.CrossEntropyLoss()
    last_expected = evaluate(data.val.batches(64), model, loss_fn)
    scores = best_and_last(model, checkpoint, data.val.batches(64))
    assert tuple(scores.last) == pytest.approx(last_expected)
    assert scores.best.accuracy == pytest.approx(max(history.val_acc))
    assert scores.best_epoch == checkpoint.best_epoch


def test_early_stop_ends_training_and_keeps_the_model_at_the_last_epoch():
    data, model, optimizer = train_setup()
    checkpoint = BestCheckpoint(monitor="val_acc", patience=1, min_delta=100.0)  # nothing beats epoch 0 by 100 points
    history = fit(model, data.train.batches(16), data.val.batches(64), optimizer, 10, log_every=0, on_epoch_end=checkpoint)
    assert len(history) == 2 and checkpoint.best_epoch == 1
