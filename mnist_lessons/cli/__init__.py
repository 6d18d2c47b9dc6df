"""Command line: ``python -m mnist_lessons`` (or ``mnist-lessons``).

``data`` fetches and verifies MNIST; ``train`` trains one run of the
package's recipe (:class:`~mnist_lessons.training.recipe.RunConfig` built from
the options) with a progress bar, per-epoch log lines and a final test
evaluation. Argument types live in :mod:`mnist_lessons.cli.args`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from .. import __version__, config
from .args import LessonParser, check_outputs, output_file, root_argument, seed, non_negative_float, non_negative_int, positive_float, positive_int, probability



def build_parser() -> argparse.ArgumentParser:
    """The ``mnist-lessons`` parser with its ``data`` and ``train`` subcommands."""
    from ..models import ACTIVATIONS, MODELS
    from ..training.loops import OPTIMIZERS

    parser = LessonParser(
        prog="mnist-lessons",
        description="Fetch MNIST and train the book's networks on it.",
        epilog="Examples:\n  mnist-lessons data --root ./data\n"
        "  mnist-lessons train --model mlp --epochs 5 --lr 0.05 --save weights.pt\n"
        "  mnist-lessons train --model cnn --optimizer adam --lr 0.01 --schedule cosine --shuffle --augment",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=LessonParser)

    data = sub.add_parser("data", help="fetch and verify MNIST, print where it is")
    root_help = f"data directory (default: ${config.DATA_DIR_ENV} or ./data)"
    data.add_argument("--root", type=root_argument, help=root_help)

    train = sub.add_parser("train", help="train a model on MNIST and report validation and test accuracy")
    train.add_argument("--model", choices=list(MODELS), default="linear", help="which network (default: linear)")
    train.add_argument("--epochs", type=positive_int, default=config.EPOCHS, help="passes over the training data")
    train.add_argument("--lr", type=positive_float, default=config.LEARNING_RATE, help="learning rate")
    train.add_argument("--batch-size", type=positive_int, default=config.BATCH_SIZE, help="examples per step")
    train.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="sgd", help="optimiser (default: sgd)")
    train.add_argument("--weight-decay", type=non_negative_float, default=0.0, help="L2 penalty of the optimiser (default: 0)")
    train.add_argument("--schedule", choices=["constant", "cosine"], default="constant",
                       help="learning rate: constant, or lowered along half a cosine (default: constant)")
    train.add_argument("--shuffle", action="store_true", help="shuffle the training batches every epoch (seeded)")
    train.add_argument("--augment", action="store_true", help="move and turn training images at random (seeded)")
    train.add_argument("--activation", choices=sorted(ACTIVATIONS), help="activation of the mlp (default: relu)")
    train.add_argument("--dropout", type=probability, help="dropout rate of the mlp (default: 0.2)")
    train.add_argument("--seed", type=seed, default=config.SEED, help="random seed (split and weights)")
    train.add_argument("--device", default="auto",
                       help="cpu, cuda, cuda:1, mps, xpu, or auto: the best available (default: auto)")
    train.add_argument("--root", type=root_argument, help=root_help)
    parser.commands = {"data": data, "train": train}  # their own parsers, for errors in their name
    train.add_argument("--save", type=output_file, metavar="PATH", help="save the trained weights here, with the network's name and options "
                       "(mnist_lessons.models.load_weights rebuilds it)")
    return parser


class ProgressBatches:
    """Show progress through the batches: a rich bar (on stderr) in a terminal, restarting every epoch;
    elsewhere (a log file, a pipe, a batch job) a log line every ``every_s`` seconds, so a slow epoch
    is never silent."""

    def __init__(self, batches, label: str = "epoch", every_s: float = 30.0) -> None:
        self.batches, self.label, self.epoch, self.every_s = batches, label, 0, every_s

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator:
        from rich.console import Console
        from rich.progress import track

        self.epoch += 1
        console = Console(file=sys.stderr)
        if console.is_terminal:
            yield from track(self.batches, description=f"{self.label} {self.epoch}", transient=True, console=console)
            return
        import time

        from ..log import get_logger

        start = last = time.monotonic()
        for done, batch in enumerate(self.batches, 1):
            yield batch
            now = time.monotonic()
            if now - last >= self.every_s and done < len(self.batches):
                last = now
                get_logger("mnist_lessons.cli").info(
                    f"{self.label} {self.epoch}: {done}/{len(self.batches)} batches, {now - start:.0f} s")


def cmd_data(args: argparse.Namespace) -> int:
    from ..data.fetch import data_dir, ensure_mnist, raw_dir

    root = data_dir(args.root)
    source = ensure_mnist(root)
    print(f"MNIST is in {raw_dir(root)} (served by: {source})")
    return 0


def run_config(args: argparse.Namespace):
    """The :class:`~mnist_lessons.training.recipe.RunConfig` the ``train`` options describe."""
    from ..data.augment import Augmentation
    from ..training.recipe import RunConfig
    from ..schedules import CosineSchedule

    options = {name: getattr(args, name) for name in ("activation", "dropout") if getattr(args, name) is not None}
    return RunConfig(
        model=args.model, optimizer=args.optimizer, lr=args.lr, weight_decay=args.weight_decay,
        batch_size=args.batch_size, epochs=args.epochs, seed=args.seed, shuffle=args.shuffle,
        augmentation=Augmentation() if args.augment else None,
        schedule=CosineSchedule() if args.schedule == "cosine" else None, **options,
    )


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from ..data.batches import mnist_splits
    from ..log import get_logger
    from ..devices import pick_device
    from ..training.loops import evaluate
    from ..models import describe_network
    from ..outputs import save_state_dict
    from ..training.recipe import run

    log = get_logger("mnist_lessons.cli")
    config = run_config(args)  # bad combinations fail here, before any data is loaded
    device = pick_device(args.device)
    splits = mnist_splits(args.root, device=device, seed=args.seed)
    log.info(f"training {args.model} on {device} for {args.epochs} epoch{'s' if args.epochs != 1 else ''} (batch {args.batch_size}, lr {args.lr})")
    result = run(config, splits, label=args.model, log_every=1, progress=ProgressBatches)
    test = evaluate(splits.test.eval_batches(), result.model, torch.nn.CrossEntropyLoss())
    log.info(f"final validation accuracy {result.history.val_acc[-1]:.2f}%, "
             f"test accuracy {test.accuracy:.2f}% (loss {test.loss:.3f})")
    if args.save:
        written = save_state_dict(result.model, args.save, args.model, describe_network(args.model, **config.model_options()))
        log.info(f"weights saved to {written}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mnist-lessons`` and ``python -m mnist_lessons``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "train":  # settings that do not fit together are argument errors too
        try:
            run_config(args)
        except (ValueError, TypeError) as err:
            parser.commands["train"].error(str(err))
        check_outputs(parser.commands["train"], {"--save": args.save}, args.root)
    try:
        return {"data": cmd_data, "train": cmd_train}[args.command](args)
    except (ValueError, RuntimeError, OSError, ArithmeticError) as err:  # ArithmeticError: TrainingDiverged
        print(f"mnist-lessons {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mnist-lessons {args.command}: interrupted", file=sys.stderr)
        return 130
