"""Command line ``mnist-lessons`` (``python -m mnist_lessons``): ``data`` fetches MNIST, ``train`` trains and tests."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator, Sequence

import torch
from rich.console import Console
from rich.progress import track

from .. import __version__, config
from ..data.batches import mnist_splits
from ..data.fetch import data_dir, ensure_mnist, raw_dir
from ..devices import pick_device
from ..log import setup_logging
from ..models import describe_network
from ..outputs import save_state_dict
from ..training.loops import evaluate
from ..training.recipe import run
from .args import LessonParser, add_run_arguments, check_outputs, output_file, root_argument, run_config

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The ``mnist-lessons`` parser with its ``data`` and ``train`` subcommands."""
    parser = LessonParser(prog="mnist-lessons", description="Fetch MNIST and train the book's networks on it.", epilog=(
        "Examples:\n  mnist-lessons data --root ./data\n"
        "  mnist-lessons train --model mlp --epochs 5 --lr 0.05 --save weights.pt\n"
        "  mnist-lessons train --model cnn --optimizer adam --lr 0.01 --schedule cosine --shuffle --augment"))
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=LessonParser)

    data = sub.add_parser("data", help="fetch and verify MNIST, print where it is")
    root_help = f"data directory (default: ${config.DATA_DIR_ENV} or ./data)"
    data.add_argument("--root", type=root_argument, help=root_help)

    train = sub.add_parser("train", help="train a model on MNIST and report validation and test accuracy")
    add_run_arguments(train)  # every setting of a RunConfig, with its defaults
    train.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, mps, xpu, or auto: the best available")
    train.add_argument("--root", type=root_argument, help=root_help)
    train.add_argument("--save", type=output_file, metavar="PATH", help="save the trained weights here, with the "
                       "network's name and options (mnist_lessons.models.load_weights rebuilds it)")
    parser.commands = {"data": data, "train": train}  # their own parsers, for errors in their name
    return parser


class ProgressBatches:
    """Batches with progress: a rich bar in a terminal, else (a log, a pipe) a log line every ``every_s`` seconds."""

    def __init__(self, batches, every_s: float = 30.0) -> None:
        self.batches, self.epoch, self.every_s = batches, 0, every_s

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator:
        self.epoch += 1
        console = Console(file=sys.stderr)
        if console.is_terminal:
            yield from track(self.batches, description=f"epoch {self.epoch}", transient=True, console=console)
            return
        start = last = time.monotonic()
        for done, batch in enumerate(self.batches, 1):
            yield batch
            now = time.monotonic()
            if now - last >= self.every_s and done < len(self.batches):
                last = now
                log.info(f"epoch {self.epoch}: {done}/{len(self.batches)} batches, {now - start:.0f} s")


def cmd_data(args: argparse.Namespace) -> int:
    root = data_dir(args.root)
    print(f"MNIST is in {raw_dir(root)} (served by: {ensure_mnist(root)})")
    return 0


def cmd_train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    recipe = run_config(parser, args)  # settings that do not fit together are argument errors too
    check_outputs(parser, {"--save": args.save}, args.root)
    device = pick_device(args.device)
    splits = mnist_splits(args.root, device=device, seed=recipe.seed)
    log.info(f"training {recipe.model} on {device} for {recipe.epochs} epoch{'s' if recipe.epochs != 1 else ''} "
             f"(batch {recipe.batch_size}, lr {recipe.lr})")
    result = run(recipe, splits, label=recipe.model, log_every=1, progress=ProgressBatches)
    test = evaluate(splits.test.eval_batches(), result.model, torch.nn.CrossEntropyLoss())
    log.info(f"final validation accuracy {result.history.val_acc[-1]:.2f}%, "
             f"test accuracy {test.accuracy:.2f}% (loss {test.loss:.3f})")
    if args.save:
        written = save_state_dict(result.model, args.save, recipe.model,
                                  describe_network(recipe.model, **recipe.model_options()))
        log.info(f"weights saved to {written}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mnist-lessons`` and ``python -m mnist_lessons``."""
    setup_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return cmd_data(args) if args.command == "data" else cmd_train(args, parser.commands["train"])
    except (ValueError, RuntimeError, OSError, ArithmeticError) as err:  # ArithmeticError: TrainingDiverged
        print(f"mnist-lessons {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mnist-lessons {args.command}: interrupted", file=sys.stderr)
        return 130
