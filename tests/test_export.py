"""Exporting trained networks for the Try it page (mnist_lessons.training.export)."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from mnist_lessons.training.export import EXPORT_ENV, export_network, forward, read_network, to_torch
from mnist_lessons.models import ConvClassifier, LinearClassifier, NonlinearClassifier


def trained_like(model: nn.Module) -> nn.Module:
    """Give batch norm layers statistics other than 0 and 1, as training would, then evaluate."""
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.mark.parametrize("model_class", [LinearClassifier, NonlinearClassifier, ConvClassifier])
def test_exported_network_computes_what_torch_computes(tmp_path, model_class):
    torch.manual_seed(1)
    model = trained_like(model_class())
    path = export_network(model, "net", val_acc=91.25, chapter="learning", directory=tmp_path)
    meta, weights = read_network(path)
    assert meta["val_acc"] == 91.25 and meta["chapter"] == "learning"
    folded = sum(m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d))  # scale and shift become a bias
    assert meta["floats"] == weights.size == sum(p.numel() for p in model.parameters()) - folded
    images = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        expected = torch.softmax(model(images), dim=1).double().numpy()
    assert np.abs(forward(meta, weights, images.numpy()) - expected).max() < 1e-5
    with torch.no_grad():
        rebuilt = torch.softmax(to_torch(meta, weights)(images), dim=1).double().numpy()
    assert np.abs(rebuilt - expected).max() < 1e-5
    assert not list(tmp_path.glob(".*.tmp"))


def test_the_layers_in_order(tmp_path):
    meta, _ = read_network(export_network(trained_like(ConvClassifier()), "cnn", val_acc=99, chapter="c", directory=tmp_path))
    assert [l["type"] for l in meta["layers"]] == ["conv", "relu", "maxpool", "conv", "relu", "maxpool", "linear"]
    meta, _ = read_network(export_network(NonlinearClassifier(), "mlp", val_acc=97, chapter="c", directory=tmp_path))
    assert [l["type"] for l in meta["layers"]] == ["linear", "relu"] * 3 + ["linear"]


def test_without_a_folder_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv(EXPORT_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert export_network(LinearClassifier(), "linear", val_acc=90, chapter="learning") is None
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv(EXPORT_ENV, str(tmp_path / "out"))
    assert export_network(LinearClassifier(), "linear", val_acc=90, chapter="learning") == tmp_path / "out" / "linear.json"


def test_unsupported_layers_and_damaged_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="cannot export Sigmoid"):
        export_network(NonlinearClassifier(activation="sigmoid"), "m", val_acc=0, chapter="c", directory=tmp_path)
    path = export_network(LinearClassifier(), "linear", val_acc=90, chapter="c", directory=tmp_path)
    (tmp_path / "linear.bin").write_bytes(b"\0" * 8)
    with pytest.raises(ValueError, match="does not match linear.json"):
        read_network(path)
    with pytest.raises(FileNotFoundError, match="build the book"):
        read_network(tmp_path / "cnn.json")
    meta = json.loads(path.read_text())
    assert meta["weights"] == "linear.bin"


def test_exported_finds_this_builds_file_or_says_how_to_rebuild(tmp_path, monkeypatch):
    from mnist_lessons.training.export import EXPORT_ENV, exported

    monkeypatch.setenv(EXPORT_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"cnn.json is missing.*make clean book"):
        exported("cnn")
    (tmp_path / "cnn.json").write_text("{}")
    assert exported("cnn") == tmp_path / "cnn.json"
