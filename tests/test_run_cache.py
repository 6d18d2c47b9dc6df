import pytest
import torch

from mnist_lessons.experiments.noise import seed_runs
from mnist_lessons.experiments.run_cache import CACHE_ENV, cached, data_fingerprint, run_key
from mnist_lessons.experiments.sweeps import run
from test_sweep import SMALL, toy_splits


def counting(calls):
    def train(config, data):
        calls.append(config)
        return run(config, data)
    return train


def test_a_cached_run_is_trained_once_and_loads_identical(tmp_path):
    data, calls = toy_splits(), []
    train = cached(counting(calls), tmp_path)
    first = train(SMALL, data)
    again = train(SMALL, data)
    assert len(calls) == 1 and len(list(tmp_path.glob("*.pt"))) == 1
    assert again.history == first.history and again.config == SMALL
    for a, b in zip(first.model.parameters(), again.model.parameters()):
        assert torch.equal(a, b)
    assert not list(tmp_path.glob(".tmp-*"))  # nothing half-written left behind


def test_a_loaded_run_puts_its_model_where_the_data_is(tmp_path):
    from mnist_lessons.experiments.run_cache import _load

    data = toy_splits()
    cached(run, tmp_path)(SMALL, data)
    (path,) = tmp_path.glob("*.pt")
    assert next(_load(path, SMALL).model.parameters()).device.type == "cpu"
    # "meta" stands in for an accelerator here: the weights go to the device asked for.
    assert next(_load(path, SMALL, torch.device("meta")).model.parameters()).device.type == "meta"


def test_the_key_changes_with_config_and_data():
    data = toy_splits()
    assert run_key(SMALL, data) == run_key(SMALL.replace(), data)
    assert run_key(SMALL, data) != run_key(SMALL.replace(seed=1), data)
    assert run_key(SMALL, data) != run_key(SMALL, toy_splits(seed=1))
    assert data_fingerprint(data) != data_fingerprint(toy_splits(seed=1))
    assert run_key(SMALL.replace(schedule=lambda opt, epochs: None), data) is None  # unstable repr: never cached


def test_another_thread_count_is_another_run(monkeypatch):
    data = toy_splits()
    two = run_key(SMALL, data)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 7)
    assert run_key(SMALL, data) != two  # another order of sums: another result


def test_off_without_a_directory(monkeypatch, tmp_path):
    monkeypatch.delenv(CACHE_ENV, raising=False)
    assert cached(run) is run
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    calls = []
    study = seed_runs(lambda s: SMALL.replace(seed=s), [0, 1], toy_splits(), train=cached(counting(calls)))
    again = seed_runs(lambda s: SMALL.replace(seed=s), [0, 1], toy_splits(), train=cached(counting(calls)))
    assert len(calls) == 2 and again.values == study.values


def test_a_mismatched_entry_is_reported(tmp_path):
    data = toy_splits()
    train = cached(run, tmp_path)
    train(SMALL, data)
    (path,) = tmp_path.glob("*.pt")
    path.rename(tmp_path / f"{run_key(SMALL.replace(seed=9), data)}.pt")
    with pytest.raises(ValueError, match="delete the file"):
        train(SMALL.replace(seed=9), data)


def test_an_in_place_change_of_the_data_changes_the_fingerprint():
    data = toy_splits()
    before = data_fingerprint(data)
    data.train.x[0, 0, 0, 0] += 1.0
    assert data_fingerprint(data) != before


def test_fingerprints_are_forgotten_with_their_data_and_follow_replaced_tensors():
    import gc

    from mnist_lessons.experiments import run_cache

    data = toy_splits()
    before = data_fingerprint(data)
    key = id(data.train.x)
    assert key in run_cache._fingerprints
    data.val = toy_splits(seed=1).val  # the same training tensor with new validation tensors: a new digest
    assert data_fingerprint(data) != before
    del data
    gc.collect()
    assert key not in run_cache._fingerprints  # freed data leaves nothing behind that a new tensor could match
