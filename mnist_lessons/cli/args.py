"""Argument parsing shared by the command lines: one-line errors, checked types, a flag per RunConfig setting."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import get_args, get_type_hints

from ..checks import check_int, check_number, int_requirement, number_requirement
from ..data.augment import Augmentation
from ..data.fetch import data_dir, raw_dir
from ..models import ACTIVATIONS, MODELS, model_options
from ..outputs import check_distinct_outputs, check_output_file
from ..schedules import CosineSchedule
from ..training.loops import OPTIMIZERS
from ..training.recipe import RunConfig

class DefaultsHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` that shows every option's default, unless its text already says it or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text, default = action.help or "", action.default
        shown = action.option_strings and default is not False and default not in (None, argparse.SUPPRESS)
        return f"{text} (default: %(default)s)" if shown and "(default" not in text else text


class LessonParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the argument."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", DefaultsHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _argument_type(kind: type, note: str = "", **limits: float):
    """An argparse type: the text as a ``kind`` (int or float) within ``limits``, else "must be ... <note>"."""
    check, requirement = (check_int, int_requirement) if kind is int else (check_number, number_requirement)
    what = requirement(**limits) + note

    def parse(text: str):
        try:
            return check("value", kind(text), **limits)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None

    return parse


positive_int = _argument_type(int, minimum=1)
seed = _argument_type(int, minimum=0, maximum=2**32 - 1)  # what NumPy, PyTorch and Python's random accept
positive_float = _argument_type(float, minimum=0.0, strict=True)
probability = _argument_type(float, minimum=0.0, maximum=1.0)  # a rate in [0, 1), such as dropout
non_negative_float = _argument_type(float, minimum=0.0)
#: A timeout: more than nothing, less than a week (what a timer can hold).
timeout_seconds = _argument_type(float, " (seconds, under a week)", minimum=0.0, strict=True, maximum=7 * 24 * 3600.0)


def output_file(text: str) -> Path:
    """An argument type: a file path that can be written (see :func:`mnist_lessons.outputs.check_output_file`)."""
    try:
        check_output_file(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return Path(text)


def root_argument(text: str) -> str | None:
    """argparse ``type`` for ``--root``: the text, or None when empty ("not given", where ``Path`` would say ``.``)."""
    return text if text.strip() else None


def check_outputs(parser: argparse.ArgumentParser, outputs: dict[str, object], root: str | None) -> None:
    """An argument error if two outputs are one file or one lies among the MNIST files under ``root``."""
    try:
        check_distinct_outputs(outputs, reads={"the MNIST files": raw_dir(data_dir(root))})
    except ValueError as err:
        parser.error(str(err))


#: ``--help`` of a run's settings (by default their name); flags, types and defaults come from RunConfig itself.
RUN_HELP = {
    "model": "which network",
    "hidden_sizes": "widths of the hidden layers",
    "dropout": "dropout rate",
    "lr": "learning rate",
    "weight_decay": "L2 penalty of the optimiser",
    "batch_size": "examples per step",
    "epochs": "passes over the training data",
    "seed": "random seed (validation split, weights, batch order)",
    "shuffle": "shuffle the training batches every epoch (seeded)",
    "augmentation": "move and turn training images at random (seeded)",
    "train_size": "train on the first N training images only (default: all)",
    "train_eval_size": "measure training accuracy on the first N training images (default: all)",
    "schedule": "learning rate: constant, or lowered along half a cosine",
}
RUN_FLAGS = {"augmentation": "--augment"}  # flags that are not the setting's name with dashes
RUN_TYPES = {"seed": seed, "lr": positive_float, "dropout": probability}  # not integers >= 1 or numbers >= 0
SCHEDULES = {"constant": None, "cosine": CosineSchedule()}


def add_run_arguments(parser: argparse.ArgumentParser, skip: tuple[str, ...] = (),
                      flags: dict[str, str] | None = None, help: dict[str, str] | None = None) -> None:
    """Give ``parser`` a flag for every RunConfig setting but ``skip``, ``batch_size`` as ``--batch-size`` unless
    ``flags`` renames it (``help`` overrides :data:`RUN_HELP`); a network's option is left out unless given.

    >>> parser = LessonParser(prog="demo")
    >>> add_run_arguments(parser)
    >>> run_config(parser, parser.parse_args(["--model", "cnn", "--channels", "8", "16"])).model_options()
    {'channels': (8, 16), 'kernel_size': 3}
    """
    choices = {"model": list(MODELS), "optimizer": sorted(OPTIMIZERS), "activation": sorted(ACTIVATIONS),
               "schedule": list(SCHEDULES)}
    owners: dict[str, list[str]] = {}  # option -> the networks that have it
    for name in MODELS:
        for option in model_options(name):
            owners.setdefault(option, []).append(name)
    hints, texts, names = get_type_hints(RunConfig), {**RUN_HELP, **(help or {})}, {**RUN_FLAGS, **(flags or {})}
    for field in fields(RunConfig):
        if field.name in skip:
            continue
        default = "constant" if field.name == "schedule" else field.default
        text = texts.get(field.name, field.name.replace("_", " "))
        kind = next(a for a in (type(default), *get_args(hints[field.name])) if a is not type(None))
        if field.name in choices:
            options = {"choices": choices[field.name]}
        elif kind is bool or field.name == "augmentation":
            options, default = {"action": argparse.BooleanOptionalAction}, bool(default)
        elif kind is tuple:
            options = {"nargs": "+", "type": positive_int, "metavar": "N"}
        elif kind in (int, float):
            options = {"type": RUN_TYPES.get(field.name, positive_int if kind is int else non_negative_float),
                       "metavar": "N" if default is None else None}
        else:  # a string
            options = {}
        if field.name in owners:  # given only when asked for; the help says what the network uses otherwise
            shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
            text, default = f"{text} of the {' and '.join(owners[field.name])} (default: {shown})", None
        parser.add_argument(names.get(field.name, "--" + field.name.replace("_", "-")), dest=field.name,
                            default=default, help=text, **options)


def run_config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> RunConfig:
    """The RunConfig of :func:`add_run_arguments`'s flags; settings that do not fit together are ``parser`` errors."""
    settings = {f.name: getattr(args, f.name) for f in fields(RunConfig) if getattr(args, f.name, None) is not None}
    if "schedule" in settings:
        settings["schedule"] = SCHEDULES[settings["schedule"]]
    if "augmentation" in settings:
        settings["augmentation"] = Augmentation() if settings["augmentation"] else None
    try:
        return RunConfig(**settings)
    except (ValueError, TypeError) as err:
        parser.error(str(err))
