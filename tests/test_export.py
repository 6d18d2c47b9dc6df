"""Exporting trained networks for the Try it page (mnist_lessons.training.export)."""

import base64
import json
import os
import subprocess

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_lessons.training.export import EXPORT_ENV, export_network, read_network, to_torch
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
        rebuilt = torch.softmax(to_torch(meta, weights)(images), dim=1).double().numpy()
    assert np.abs(rebuilt - expected).max() < 1e-5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.bin", "net.js", "net.json"]  # no temporary file left


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
    path = export_network(ConvClassifier(), "cnn", val_acc=99, chapter="c", directory=tmp_path)
    assert exported("cnn") == path
    (tmp_path / "cnn.js").unlink()  # a folder from before the page could be opened from disk
    with pytest.raises(FileNotFoundError, match=r"cnn.js is missing.*make clean book"):
        exported("cnn")


class FunctionalReLU(nn.Module):
    """P80: the activation is a function call in forward, invisible to the modules."""

    def __init__(self):
        super().__init__()
        self.hidden, self.out = nn.Linear(784, 64), nn.Linear(64, 10)

    def forward(self, x):
        return self.out(F.relu(self.hidden(x.flatten(1))))


class Residual(nn.Module):
    """Arithmetic between layers: the page runs a chain of layers, not a sum."""

    def __init__(self):
        super().__init__()
        self.flatten, self.a, self.relu, self.b = nn.Flatten(), nn.Linear(784, 784), nn.ReLU(), nn.Linear(784, 10)

    def forward(self, x):
        x = self.flatten(x)
        return self.b(x + self.relu(self.a(x)))


class RegisteredBackwards(nn.Module):
    """P82: the layers are registered in another order than forward runs them."""

    def __init__(self):
        super().__init__()
        self.out, self.act, self.hidden = nn.Linear(64, 10), nn.ReLU(), nn.Linear(784, 64)

    def forward(self, x):
        return self.out(self.act(self.hidden(x.flatten(1))))


@pytest.mark.parametrize("model_class", [FunctionalReLU, Residual])
def test_what_the_page_cannot_run_is_refused_and_nothing_is_written(tmp_path, model_class):
    torch.manual_seed(0)
    with pytest.raises(ValueError, match=r"^the exported 'net' does not compute what the model computes: its "
                                         r"probabilities differ by up to .* on 32 check images; likely causes: an "
                                         r"activation called as a function in forward \(F.relu.*nothing was written$"):
        export_network(model_class(), "net", val_acc=90, chapter="c", directory=tmp_path)
    assert not list(tmp_path.iterdir())


def test_real_images_can_be_added_to_the_check_and_bad_ones_are_named(tmp_path, tiny_root):
    out = tmp_path / "out"
    from mnist_lessons.data.batches import mnist_splits

    digits = mnist_splits(root=str(tiny_root), device="cpu").val.x
    with pytest.raises(ValueError, match=f"on {32 + len(digits)} check images"):
        export_network(FunctionalReLU(), "net", val_acc=90, chapter="c", directory=out, check_images=digits)
    with pytest.raises(ValueError, match=r"^check_images: input x must be a batch of 28x28 images"):
        export_network(LinearClassifier(), "net", val_acc=90, chapter="c", directory=out, check_images=digits[:, :, :20])
    with pytest.raises(TypeError, match=r"^check_images: input x must be float32"):
        export_network(LinearClassifier(), "net", val_acc=90, chapter="c", directory=out,
                       check_images=(digits * 255).to(torch.uint8))
    assert not out.exists()
    assert export_network(LinearClassifier(), "net", val_acc=90, chapter="c", directory=out, check_images=digits)


def shared_relu() -> nn.Module:
    relu = nn.ReLU()  # P81: one module, called twice
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), relu, nn.Linear(64, 64), relu, nn.Linear(64, 10))


@pytest.mark.parametrize(("make_model", "layers"), [
    (shared_relu, ["linear", "relu", "linear", "relu", "linear"]),  # modules() lists the ReLU once
    (RegisteredBackwards, ["linear", "relu", "linear"]),  # registered: the 64 -> 10 layer first
])
def test_layers_are_exported_in_the_order_forward_calls_them(tmp_path, make_model, layers):
    torch.manual_seed(0)
    model = make_model()
    meta, weights = read_network(export_network(model, "net", val_acc=90, chapter="c", directory=tmp_path))
    assert [l["type"] for l in meta["layers"]] == layers
    assert [l["in"] for l in meta["layers"] if l["type"] == "linear"][0] == 784
    images = torch.rand(50, 1, 28, 28)
    with torch.no_grad():
        assert (torch.softmax(model(images), 1) - torch.softmax(to_torch(meta, weights)(images), 1)).abs().max() < 1e-5


def test_the_model_keeps_its_mode_and_a_model_that_fails_is_named(tmp_path):
    model = NonlinearClassifier().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    export_network(model, "mlp", val_acc=90, chapter="c", directory=tmp_path)  # checked in evaluation mode: dropout off
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match=r"^cannot check the export of 'flat': the model fails on \(N, 1, 28, 28\) images \(mat1"):
        export_network(nn.Sequential(nn.Linear(784, 10)), "flat", val_acc=90, chapter="c", directory=tmp_path)
    with pytest.raises(ValueError, match=r"^cannot export 'wide': the model returns shape \(32, 12\) for 32 images, "
                                         "the Try it page needs ten scores per image$"):
        export_network(nn.Sequential(nn.Flatten(), nn.Linear(784, 12)), "wide", val_acc=90, chapter="c", directory=tmp_path)


@pytest.mark.parametrize(("val_acc", "error", "message"), [
    (float("nan"), ValueError, "val_acc must be a number >= 0, got nan"),
    (float("inf"), ValueError, "val_acc must be a number >= 0, got inf"),
    ("high", TypeError, "val_acc must be a number >= 0, got 'high'"),
    (-1, ValueError, "val_acc must be a number >= 0, got -1"),
    (101.5, ValueError, "val_acc is a percentage from 0 to 100, got 101.5"),
])
def test_a_val_acc_that_is_not_a_percentage_is_refused_by_name(tmp_path, val_acc, error, message):
    with pytest.raises(error, match=f"^{message}$"):
        export_network(LinearClassifier(), "linear", val_acc=val_acc, chapter="c", directory=tmp_path)
    assert not list(tmp_path.iterdir())


def test_the_script_holds_the_same_network_as_the_json_and_bin(tmp_path):
    path = export_network(trained_like(ConvClassifier()), "cnn", val_acc=98.5, chapter="c", directory=tmp_path)
    first, assignment = (tmp_path / "cnn.js").read_text().split("\n", 1)
    assert first.startswith("//")
    prefix = '(window.mnistTryItFiles = window.mnistTryItFiles || {})["cnn"] = '
    assert assignment.startswith(prefix) and assignment.endswith(";\n")
    files = json.loads(assignment[len(prefix):-2])
    assert files["meta"] == json.loads(path.read_text())
    assert base64.b64decode(files["weights"]) == (tmp_path / "cnn.bin").read_bytes()


def test_a_full_disk_is_named_and_leaves_no_temporary_file(full_disk):
    with pytest.raises(OSError, match=r"^could not write .*/full/cnn.bin \(No space left on device\): free some space"):
        export_network(trained_like(ConvClassifier()), "cnn", val_acc=99, chapter="c", directory=full_disk)  # 82 KB of weights
    assert os.listdir(full_disk) == []
