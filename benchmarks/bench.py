"""How long is an epoch? The lesson's DataLoader, the package's fast path, and a floor.

classic: torchvision MNIST + ToTensor + DataLoader, batch 128 (the lesson's
pipeline). fast: tensors resident on the device, ``TensorBatches`` and the
package's ``train_one_epoch`` / ``evaluate`` (evaluation in EVAL_BATCH_SIZE
batches, as ``fit`` gets them). floor: a bare loop over batches cut in advance.
For the convolutional network, ``default layout`` is the fast path with its
filters in PyTorch's default (NCHW) layout instead of the channels-last one
the package keeps, and every path's arithmetic rate (multiply-adds of forward
and backward passes per second) is given as a share of a float32
matrix-product rate measured in the same run.
Each repeat trains a freshly seeded model (the same weights on every path) for
one epoch, then evaluates it on the training and validation splits. Reported:
median seconds, and the ratios classic/fast and fast/floor against ``TARGETS``.

    make bench                                 # all three models, all the data
    python -m benchmarks.bench --quick         # smoke run on a subset (from the repository root)
    python -m benchmarks.bench --save          # also update the committed benchmarks/results

It lives outside the installed package: it times the repository (its test
suite, its book build). Results go to _build/bench (the tree stays clean);
``--save`` writes them to benchmarks/results as well.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Subset

from mnist_lessons.buildinfo import cpu_name
from mnist_lessons.cli.args import LessonParser, non_negative_float, positive_int, root_argument
from mnist_lessons.outputs import check_output_file, write_atomically
from mnist_lessons.config import BATCH_SIZE, EVAL_BATCH_SIZE, LEARNING_RATE, SEED
from mnist_lessons.data.batches import Split, as_tensors
from mnist_lessons.data.mnist import load_mnist, make_loader, split
from mnist_lessons.experiments.costs import count_multiply_adds
from mnist_lessons.models import MODELS
from mnist_lessons.devices import pick_device
from mnist_lessons.training.loops import evaluate, seed_everything, train_one_epoch
from mnist_lessons.training.recipe import RunConfig

#: The networks timed by default (those with targets); ``--models`` may add others from ``MODELS``.
DEFAULT_MODELS = ("linear", "mlp", "cnn")
PATHS = ("classic", "fast", "floor")
#: The convolutional network's extra path: the fast path with the filters in the default layout.
DEFAULT_LAYOUT = "default layout"
#: (model, ratio of epoch + evaluation) -> (comparison, bound).
TARGETS = {
    ("linear", "classic/fast"): (">=", 40.0),
    ("mlp", "classic/fast"): (">=", 15.0),
    ("linear", "fast/floor"): ("<=", 1.2),
    ("mlp", "fast/floor"): ("<=", 1.2),
    ("cnn", "default layout/fast"): (">=", 1.4),
}
QUICK_EXAMPLES = (2048, 512)  # training and validation examples with --quick
ROOT = Path(__file__).resolve().parents[1]


def timed(fn, device: torch.device):
    """Run ``fn()``; return (seconds, its result). Accelerators finish their queued work before each reading."""
    backend = {"cuda": torch.cuda, "mps": getattr(torch, "mps", None), "xpu": getattr(torch, "xpu", None)}.get(device.type)
    sync = backend.synchronize if backend is not None else lambda: None
    sync()
    start = time.perf_counter()
    result = fn()
    sync()
    return time.perf_counter() - start, result


def floor_train(batches, model, loss_fn, optimizer) -> None:
    """The least a training epoch can do."""
    model.train()
    for X, y in batches:
        loss_fn(model(X), y).backward()
        optimizer.step()
        optimizer.zero_grad()


def floor_evaluate(batches, model, loss_fn) -> tuple[float, float]:
    """The least an evaluation can do: sums stay on the device, one read at the end."""
    model.eval()
    losses, hits = [], []
    with torch.no_grad():
        for X, y in batches:
            pred = model(X)
            losses.append(F.cross_entropy(pred, y, reduction="sum"))
            hits.append((pred.argmax(dim=1) == y).sum())
    count = sum(len(y) for _, y in batches)
    return 100.0 * torch.stack(hits).sum().item() / count, torch.stack(losses).sum().item() / count


def cut(part: Split, batch_size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Batches prepared in advance: a list of contiguous tensors of their own."""
    return [(X.clone(), y.clone()) for X, y in part.batches(batch_size)]


def load(root, quick: bool) -> tuple[Subset, Subset]:
    """The lesson's 48,000 / 12,000 split (with ``quick``, the first 2,048 / 512 of it)."""
    train, val = split(load_mnist(root)[0])
    if quick:
        train, val = (Subset(s, range(min(n, len(s)))) for s, n in zip((train, val), QUICK_EXAMPLES))
    return train, val


def make_paths(train_set: Subset, val_set: Subset, device: torch.device, eval_batch_size: int = EVAL_BATCH_SIZE) -> dict:
    """path -> (train function, evaluate function, training batches, [training, validation] evaluation batches)."""
    # Seeded loaders draw their per-pass seed from their own generator, not the global one,
    # so dropout masks, and hence the trained weights, match the other paths.
    classic_train, classic_val = (make_loader(s, BATCH_SIZE, seed=SEED) for s in (train_set, val_set))
    train, val = (Split(*(t.to(device) for t in as_tensors(s))) for s in (train_set, val_set))
    return {
        "classic": (train_one_epoch, evaluate, classic_train, [classic_train, classic_val]),
        "fast": (train_one_epoch, evaluate, train.batches(BATCH_SIZE),
                 [train.eval_batches(eval_batch_size), val.eval_batches(eval_batch_size)]),
        "floor": (floor_train, floor_evaluate, cut(train, BATCH_SIZE), [cut(train, eval_batch_size), cut(val, eval_batch_size)]),
    }


def run_once(name: str, path: tuple, device: torch.device, default_layout: bool = False) -> tuple[float, float, float]:
    """Seconds for one training epoch, seconds for the evaluation, validation accuracy."""
    train_fn, eval_fn, train_batches, eval_batches = path
    recipe = RunConfig(model=name, lr=LEARNING_RATE, batch_size=BATCH_SIZE, seed=SEED)  # the lesson's run
    seed_everything(recipe.seed)
    model = recipe.build_model().to(device)
    if default_layout:
        model = model.to(memory_format=torch.contiguous_format)
    optimizer = recipe.build_optimizer(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    epoch_s, _ = timed(lambda: train_fn(train_batches, model, loss_fn, optimizer), device)
    eval_s, metrics = timed(lambda: [eval_fn(b, model, loss_fn) for b in eval_batches], device)
    return epoch_s, eval_s, metrics[-1][0]


def paths_of(name: str) -> tuple[str, ...]:
    return PATHS + ((DEFAULT_LAYOUT,) if name == "cnn" else ())


def measure(name: str, paths: dict, repeats: dict, device: torch.device) -> dict:
    """Medians per path. The paths take turns within each repeat, so a busy machine slows them alike."""
    names = paths_of(name)
    for path in ("fast", "floor"):  # warm-up, untimed: allocator, kernels, caches
        run_once(name, paths[path], device)
    runs = {path: [] for path in names}
    for r in range(max(repeats.values())):
        for path in names:
            if r < repeats.get(path, repeats["fast"]):
                print(f"  {name}: {path}, repeat {r + 1}", flush=True)
                layout = path == DEFAULT_LAYOUT
                runs[path].append(run_once(name, paths["fast" if layout else path], device, default_layout=layout))
    results = {}
    for path, rows in runs.items():
        epoch, evals, accs = (list(column) for column in zip(*rows))
        results[path] = {
            "epoch_s": statistics.median(epoch), "eval_s": statistics.median(evals),
            "total_s": statistics.median(e + v for e, v in zip(epoch, evals)),
            "val_acc": accs[-1], "epoch_runs": epoch, "eval_runs": evals,
        }
    return results


def matmul_gflops(device: torch.device, size: int = 2048, repeats: int = 5) -> float:
    """The machine's float32 matrix-product rate (GFLOP/s, median of ``repeats``): the yardstick of the shares."""
    a, b = torch.rand(size, size, device=device), torch.rand(size, size, device=device)
    a @ b  # warm-up
    seconds = statistics.median(timed(lambda: a @ b, device)[0] for _ in range(repeats))
    return 2 * size**3 / seconds / 1e9


def shares(name: str, results: dict, train_examples: int, val_examples: int, peak: float) -> dict:
    """GFLOP/s each path achieves over an epoch and evaluation, and its share of ``peak``.

    Counts 2 FLOPs per multiply-add; a training step costs about three forward
    passes (forward, and the two products of the backward pass), an evaluation one.
    """
    macs = count_multiply_adds(RunConfig(model=name).build_model())
    flops = 2 * macs * (3 * train_examples + train_examples + val_examples)
    return {path: {"gflops": flops / r["total_s"] / 1e9, "share": flops / r["total_s"] / 1e9 / peak}
            for path, r in results.items()}


def ratios(results: dict) -> dict:
    """classic/fast and fast/floor of the medians: of epoch + evaluation, and of each part."""
    out = {}
    for top, bottom in (("classic", "fast"), ("fast", "floor")):
        for part, suffix in (("total", ""), ("epoch", " epoch"), ("eval", " eval")):
            out[f"{top}/{bottom}{suffix}"] = results[top][f"{part}_s"] / results[bottom][f"{part}_s"]
    if DEFAULT_LAYOUT in results:
        for part, suffix in (("total", ""), ("epoch", " epoch"), ("eval", " eval")):
            out[f"{DEFAULT_LAYOUT}/fast{suffix}"] = results[DEFAULT_LAYOUT][f"{part}_s"] / results["fast"][f"{part}_s"]
    return out


def check_targets(report: dict) -> list[dict]:
    checks = []
    for (name, ratio), (op, bound) in TARGETS.items():
        if name in report["ratios"]:
            value = report["ratios"][name][ratio]
            ok = value >= bound if op == ">=" else value <= bound
            checks.append({"model": name, "ratio": ratio, "value": value, "op": op, "bound": bound, "pass": ok})
    return checks


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []  # not on Windows


def machine(device: torch.device) -> dict:
    return {
        "cpu": cpu_name(), "cores": os.cpu_count(), "threads": torch.get_num_threads(), "device": str(device),
        "accelerator": torch.cuda.get_device_name(device) if device.type == "cuda" else "none",
        "torch": torch.__version__, "python": platform.python_version(), "load_average_before": load_average(),
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
    }


def time_test_suite() -> dict:
    """Time the unit test suite (``pytest -q``) in a subprocess."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
    last = (done.stdout.strip().splitlines() or [""])[-1]
    return {"unit_tests_s": round(time.perf_counter() - start, 1), "unit_tests_rc": done.returncode, "unit_tests_summary": last}


def tables(report: dict) -> list[list[list[str]]]:
    """The timing table and the targets table: a header row, then rows, all strings."""
    timing = [["model", "path", "epoch (s)", "evaluation (s)", "total (s)", "val acc (%)", "GFLOP/s", "share of peak",
               "repeats"]]
    for name, results in report["results"].items():
        for path, r in results.items():
            times = [f"{r[key]:.3f}" for key in ("epoch_s", "eval_s", "total_s")]
            rate = report["shares"][name][path]
            timing.append([name, path, *times, f"{r['val_acc']:.2f}", f"{rate['gflops']:.1f}", f"{100 * rate['share']:.1f} %",
                           str(len(r["epoch_runs"]))])
    targets = [["model", "ratio (epoch + evaluation)", "measured", "target", "result"]]
    for c in report["targets"]:
        targets.append([c["model"], c["ratio"], f"{c['value']:.2f}x", f"{c['op']} {c['bound']:g}x", "PASS" if c["pass"] else "FAIL"])
    return [timing, targets]


def notes(report: dict) -> list[str]:
    m, s = report["machine"], report["settings"]
    repeats = ", ".join(f"{n} {path}" for path, n in s["repeats"].items())
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['threads']} PyTorch threads, device {m['device']} "
        f"(accelerator: {m['accelerator']}); torch {m['torch']}, Python {m['python']}; {m['date_utc']} UTC; "
        f"load average before {m['load_average_before']}, after {m['load_average_after']}; "
        f"float32 matrix product (2048 x 2048): {report['peak_gflops']:.1f} GFLOP/s, the peak of the shares.",
        f"{s['train_examples']:,} training / {s['val_examples']:,} validation examples, in order; training batch "
        f"{s['batch_size']}, evaluation batch (fast and floor; classic {s['batch_size']}) " + ", ".join(f"{n} for {model}" for model, n in s["eval_batch_size"].items())
        + f"; medians of {repeats} repeats "
        "(each one epoch + one evaluation, after an untimed warm-up of fast and floor).",
    ]
    if s["quick"]:
        lines.append("QUICK smoke run on a subset: these numbers say nothing about speed.")
    return lines + [f"{key}: {value}" for key, value in report["suite"].items()]


def markdown(report: dict) -> str:
    out = ["# Seconds per epoch: classic, fast and floor", ""]
    for table in tables(report):
        out += ["| " + " | ".join(table[0]) + " |", "|" + " --- |" * len(table[0])]
        out += ["| " + " | ".join(row) + " |" for row in table[1:]] + [""]
    return "\n".join(out + [f"- {line}" for line in notes(report)]) + "\n"


def show(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for title, rows in zip(("Seconds per epoch", "Targets"), tables(report)):
        table = Table(*rows[0], title=title)
        for row in rows[1:]:
            table.add_row(*[{"PASS": "[green]PASS", "FAIL": "[bold red]FAIL"}.get(c, c) for c in row])
        console.print(table)
    for line in notes(report):
        console.print(line, highlight=False)


def output_folder(text: str) -> Path:
    """An argument type: a folder the results can be written into (checked before minutes of measuring)."""
    folder = Path(text)
    try:
        check_output_file(folder / "epoch_speed.json")
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return folder


def build_parser() -> argparse.ArgumentParser:
    p = LessonParser(prog="python -m benchmarks.bench", description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", choices=list(MODELS), default=list(DEFAULT_MODELS))
    p.add_argument("--repeats", type=positive_int, help="repeats of the fast path and the floor (default 5; --quick 1)")
    p.add_argument("--classic-repeats", type=positive_int, help="repeats of the slow classic path (default 3; --quick 1)")
    p.add_argument("--quick", action="store_true", help="smoke run on a subset of the data")
    p.add_argument("--out", type=output_folder, default=ROOT / "_build" / "bench", help="folder for the JSON and Markdown (default _build/bench)")
    p.add_argument("--save", action="store_true", help="also write the results into benchmarks/results (the committed copy)")
    p.add_argument("--root", type=root_argument, help="data directory (default: $MNIST_DATA_DIR or ./data)")
    p.add_argument("--device", help="cpu, cuda, mps or xpu (default: the best available)")
    p.add_argument("--threads", type=positive_int, help="PyTorch threads (torch.set_num_threads)")
    p.add_argument("--with-tests", action="store_true", help="also time the unit test suite (pytest -q)")
    p.add_argument("--cold-build", type=non_negative_float, metavar="SECONDS", help="record a cold `make book` time")
    p.add_argument("--warm-build", type=non_negative_float, metavar="SECONDS", help="record a warm `make book` time")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        device = pick_device(args.device)
    except ValueError as err:
        parser.error(f"argument --device: {err}")
    try:
        return run_benchmark(args, device)
    except (ValueError, OSError, RuntimeError) as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130


def run_benchmark(args: argparse.Namespace, device: torch.device) -> int:
    """Measure, then write the JSON and Markdown results into ``args.out``."""
    repeats = {"classic": args.classic_repeats or (1 if args.quick else 3)}
    repeats["fast"] = repeats["floor"] = args.repeats or (1 if args.quick else 5)
    report = {"machine": machine(device)}
    train_set, val_set = load(args.root, args.quick)
    report["settings"] = {
        "quick": args.quick, "train_examples": len(train_set), "val_examples": len(val_set), "shuffle": False,
        "batch_size": BATCH_SIZE, "eval_batch_size": {name: RunConfig(model=name).eval_batch_size for name in args.models},
        "optimizer": f"SGD lr {LEARNING_RATE}", "statistic": "median", "repeats": repeats,
    }
    print(f"measuring {', '.join(args.models)} on {device} ({len(train_set):,} training images)", flush=True)
    report["peak_gflops"] = matmul_gflops(device)
    report["results"] = {name: measure(name, make_paths(train_set, val_set, device, RunConfig(model=name).eval_batch_size),
                                       repeats, device) for name in args.models}
    report["shares"] = {name: shares(name, results, len(train_set), len(val_set), report["peak_gflops"])
                        for name, results in report["results"].items()}
    report["ratios"] = {name: ratios(results) for name, results in report["results"].items()}
    report["targets"] = check_targets(report)
    report["suite"] = time_test_suite() if args.with_tests else {}
    for key, value in (("cold_build_s", args.cold_build), ("warm_build_s", args.warm_build)):
        if value is not None:
            report["suite"][key] = value
    report["machine"]["load_average_after"] = load_average()
    stem = "epoch_speed_quick" if args.quick else "epoch_speed"
    folders = [args.out] + ([ROOT / "benchmarks" / "results"] if args.save else [])
    for folder in folders:
        write_atomically(folder / f"{stem}.json", lambda tmp: tmp.write_text(json.dumps(report, indent=2) + "\n"))
        write_atomically(folder / f"{stem}.md", lambda tmp: tmp.write_text(markdown(report)))
    show(report)
    print("written: " + ", ".join(f"{folder / stem}.json and .md" for folder in folders))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
