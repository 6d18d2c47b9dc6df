"""Command line: ``python -m mnist_lessons`` (or ``mnist-lessons``).

``data`` fetches and verifies MNIST; ``train`` runs the lesson's training
with a progress bar, per-epoch log lines and a final test evaluation.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from . import config


class LessonParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the argument."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _checked(kind: type, minimum: float, strict: bool, what: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
        return value

    return parse


positive_int = _checked(int, 1, False, "an integer >= 1")
non_negative_int = _checked(int, 0, False, "an integer >= 0")
positive_float = _checked(float, 0.0, True, "a number > 0")


def output_file(text: str) -> Path:
    """A path a file can be written to: not a folder or a special file, under a folder that exists or can be made."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file path inside it")
    if path.exists() and not path.is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a regular file (a device or pipe?); give a file path")
    folder = next(p for p in path.absolute().parents if p.exists())
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{folder} is a file, not a folder; give a path under a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write under {folder} (permission denied); give a path you can write")
    return path


def build_parser() -> argparse.ArgumentParser:
    """The ``mnist-lessons`` parser with its ``data`` and ``train`` subcommands."""
    from .models import ACTIVATIONS
    from .train import OPTIMIZERS

    parser = LessonParser(
        prog="mnist-lessons",
        description="Fetch MNIST and train the book's networks on it.",
        epilog="Examples:\n  mnist-lessons data --root ./data\n"
        "  mnist-lessons train --model mlp --epochs 5 --lr 0.05 --save weights.pt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=LessonParser)

    data = sub.add_parser("data", help="fetch and verify MNIST, print where it is")
    data.add_argument("--root", type=Path, help=f"data directory (default: ${config.DATA_DIR_ENV} or ./data)")

    train = sub.add_parser("train", help="train a model on MNIST and report validation and test accuracy")
    train.add_argument("--model", choices=["linear", "mlp"], default="linear", help="which network (default: linear)")
    train.add_argument("--epochs", type=positive_int, default=config.EPOCHS, help="passes over the training data")
    train.add_argument("--lr", type=positive_float, default=config.LEARNING_RATE, help="learning rate")
    train.add_argument("--batch-size", type=positive_int, default=config.BATCH_SIZE, help="examples per step")
    train.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd", help="optimiser (default: sgd)")
    train.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu", help="activation of the mlp")
    train.add_argument("--seed", type=non_negative_int, default=config.SEED, help="random seed (split and weights)")
    train.add_argument("--device", help="cpu, cuda, mps or xpu (default: the best available)")
    train.add_argument("--root", type=Path, help="data directory")
    train.add_argument("--save", type=Path, metavar="PATH", help="save the trained weights (a state_dict) here")
    return parser


class ProgressBatches:
    """Wrap batches in a rich progress bar (on stderr) that restarts every epoch.

    Only in a terminal: when stderr is a file or a pipe the batches pass
    through untouched, so logs and captured output stay clean.
    """

    def __init__(self, batches, label: str = "epoch") -> None:
        self.batches, self.label, self.epoch = batches, label, 0

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator:
        from rich.console import Console
        from rich.progress import track

        self.epoch += 1
        console = Console(file=sys.stderr)
        if not console.is_terminal:
            yield from self.batches
            return
        yield from track(self.batches, description=f"{self.label} {self.epoch}", transient=True, console=console)


def cmd_data(args: argparse.Namespace) -> int:
    from .data import data_root
    from .fetch import ensure_mnist

    root = data_root(args.root)
    source = ensure_mnist(root)
    print(f"MNIST is in {root / 'MNIST' / 'raw'} (served by: {source})")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from .batches import mnist_splits
    from .log import get_logger
    from .models import LinearClassifier, NonlinearClassifier
    from .train import evaluate, fit, make_optimizer, pick_device, seed_everything

    log = get_logger("mnist_lessons.cli")
    device = pick_device(args.device)
    seed_everything(args.seed)
    splits = mnist_splits(args.root, device=device, seed=args.seed)
    model = LinearClassifier() if args.model == "linear" else NonlinearClassifier(activation=args.activation)
    model.to(device)
    optimizer = make_optimizer(args.optimizer, model.parameters(), lr=args.lr)
    log.info(f"training {args.model} on {device} for {args.epochs} epochs (batch {args.batch_size}, lr {args.lr})")
    history = fit(
        model,
        ProgressBatches(splits.train.batches(args.batch_size, shuffle=False, seed=args.seed)),
        splits.val.eval_batches(),
        optimizer,
        epochs=args.epochs,
        train_eval_loader=splits.train.eval_batches(),
    )
    test_acc, test_loss = evaluate(splits.test.eval_batches(), model, torch.nn.CrossEntropyLoss())
    log.info(f"final validation accuracy {history.val_acc[-1]:.2f}%, test accuracy {test_acc:.2f}% (loss {test_loss:.3f})")
    if args.save:
        save_weights(model, args.save)
        log.info(f"weights saved to {args.save}")
    return 0


def save_weights(model, path: Path) -> None:
    """Save the state_dict, on the CPU so it loads anywhere, via a temporary name: never half-written."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        torch.save({name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}, tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mnist-lessons`` and ``python -m mnist_lessons``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    save = getattr(args, "save", None)
    if save is not None:  # refuse before training, not after
        blocking = next((p for p in save.parents if p.exists() and not p.is_dir()), None)
        if save.is_dir() or blocking is not None:
            what = f"{save} is a folder" if blocking is None else f"{blocking} is a file, not a folder"
            prog = f"{parser.prog} {args.command}"
            parser.exit(2, f"{prog}: error: argument --save: {what}; give a file path such as weights.pt (see {prog} --help)\n")
    try:
        return {"data": cmd_data, "train": cmd_train}[args.command](args)
    except (ValueError, RuntimeError, OSError) as err:
        print(f"mnist-lessons {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mnist-lessons {args.command}: interrupted", file=sys.stderr)
        return 130
