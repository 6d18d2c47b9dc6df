"""The fast path trains exactly as the classic one: same batches, same weights, same metrics."""

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision.datasets import MNIST
from torchvision.transforms import ToTensor

from mnist_lessons.data.batches import TensorBatches, as_tensors
from mnist_lessons.data.mnist import make_loader
from mnist_lessons.models import LinearClassifier, NonlinearClassifier
from mnist_lessons.training.loops import evaluate, seed_everything, train_one_epoch

EPOCHS, BATCH, SEED = 3, 16, 7


@pytest.fixture
def tiny_train(tiny_root):
    return MNIST(tiny_root, train=True, download=False, transform=ToTensor())


def fresh(model_cls):
    seed_everything(SEED)  # same starting weights, same dropout masks afterwards
    model = model_cls()
    return model, torch.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss()


def train(batches, model_cls):
    """Train for EPOCHS epochs; return the model and (accuracy, loss) after each epoch."""
    model, optimizer, loss_fn = fresh(model_cls)
    metrics = []
    for _ in range(EPOCHS):
        train_one_epoch(batches, model, loss_fn, optimizer)
        metrics.append(evaluate(batches, model, loss_fn))
    return model, metrics


def assert_same_model(a, b):
    for (name, wa), wb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(wa, wb), f"{name} differs"


@pytest.mark.parametrize("model_cls", [LinearClassifier, NonlinearClassifier])
def test_in_order_training_is_identical(tiny_train, model_cls):
    # make_loader(seed=...) gives the loader its own generator: an unseeded
    # DataLoader draws from the global RNG on every pass, changing later dropout masks.
    classic = make_loader(tiny_train, BATCH, seed=SEED)
    fast = TensorBatches(*as_tensors(tiny_train), BATCH)
    slow_model, slow_metrics = train(classic, model_cls)
    fast_model, fast_metrics = train(fast, model_cls)
    assert_same_model(slow_model, fast_model)
    assert slow_metrics == fast_metrics
    assert fast_metrics[-1][1] < fast_metrics[0][1]  # it learns: the loss falls


@pytest.mark.parametrize("model_cls", [LinearClassifier, NonlinearClassifier])
def test_shuffled_training_is_identical_for_the_same_order(tiny_train, model_cls):
    fast = TensorBatches(*as_tensors(tiny_train), BATCH, shuffle=True, seed=SEED)
    fast_model, fast_opt, loss_fn = fresh(model_cls)
    orders = []
    for _ in range(EPOCHS):
        train_one_epoch(fast, fast_model, loss_fn, fast_opt)
        orders.append(fast.order.tolist())
    slow_model, slow_opt, loss_fn = fresh(model_cls)
    for order in orders:
        loader = DataLoader(tiny_train, batch_size=BATCH, sampler=order, generator=torch.Generator())
        train_one_epoch(loader, slow_model, loss_fn, slow_opt)
    assert orders[0] != orders[1]
    assert_same_model(slow_model, fast_model)
    in_order = TensorBatches(*as_tensors(tiny_train), BATCH)
    assert evaluate(in_order, slow_model, loss_fn) == evaluate(in_order, fast_model, loss_fn)
