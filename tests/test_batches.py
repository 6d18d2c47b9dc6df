import pytest
import torch
from torch.utils.data import DataLoader, Subset
from torchvision.datasets import MNIST
from torchvision.transforms import ToTensor

from mnist_lessons.data.batches import TensorBatches, as_tensors


@pytest.fixture
def tiny_train(tiny_root):
    return MNIST(tiny_root, train=True, download=False, transform=ToTensor())


def assert_same_batches(ours, theirs):
    ours, theirs = list(ours), list(theirs)
    assert len(ours) == len(theirs)
    for (xa, ya), (xb, yb) in zip(ours, theirs):
        assert xa.dtype == xb.dtype == torch.float32
        assert torch.equal(xa, xb)
        assert torch.equal(ya, yb)


def test_as_tensors_scales_like_totensor(tiny_train):
    x, y = as_tensors(tiny_train)
    assert x.shape == (60, 1, 28, 28) and y.dtype == torch.long
    image, label = tiny_train[7]
    assert torch.equal(x[7], image) and y[7] == label
    assert 0.0 <= x.min() and x.max() == 1.0


@pytest.mark.parametrize("batch_size", [1, 7, 16, 60, 128])
def test_in_order_batches_equal_the_dataloader(tiny_train, batch_size):
    ours = TensorBatches(*as_tensors(tiny_train), batch_size=batch_size)
    assert len(ours) == len(DataLoader(tiny_train, batch_size=batch_size))
    assert_same_batches(ours, DataLoader(tiny_train, batch_size=batch_size))


def test_subset_batches_equal_the_dataloader(tiny_train):
    subset = Subset(tiny_train, [5, 3, 59, 0, 12, 8, 8])
    assert_same_batches(TensorBatches(*as_tensors(subset), batch_size=3), DataLoader(subset, batch_size=3))


def test_shuffled_batches_equal_the_dataloader_for_the_same_order(tiny_train):
    ours = TensorBatches(*as_tensors(tiny_train), batch_size=16, shuffle=True, seed=3)
    first_epoch = list(ours)
    order = ours.order.tolist()
    assert sorted(order) == list(range(60)) and order != list(range(60))
    assert_same_batches(first_epoch, DataLoader(tiny_train, batch_size=16, sampler=order))


def test_shuffling_is_seeded_and_changes_every_epoch(tiny_train):
    x, y = as_tensors(tiny_train)

    def orders(seed):
        batches = TensorBatches(x, y, 16, shuffle=True, seed=seed)
        return [list(batches) and batches.order.tolist() for _ in range(2)]

    a, b = orders(1), orders(1)
    assert a == b
    assert a[0] != a[1]
    assert orders(2) != a


def test_each_example_is_seen_once_per_epoch(tiny_train):
    x, y = as_tensors(tiny_train)
    seen = torch.cat([yb for _, yb in TensorBatches(x, y, 7, shuffle=True)])
    assert torch.equal(seen.sort().values, y.sort().values)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_batch_size_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        TensorBatches(torch.zeros(4, 1, 28, 28), torch.zeros(4, dtype=torch.long), bad)


def test_mismatched_lengths_are_an_error():
    with pytest.raises(ValueError, match="same length"):
        TensorBatches(torch.zeros(4, 1, 28, 28), torch.zeros(3, dtype=torch.long), 2)


def test_as_tensors_rejects_other_datasets():
    with pytest.raises(TypeError, match="MNIST"):
        as_tensors([1, 2, 3])
