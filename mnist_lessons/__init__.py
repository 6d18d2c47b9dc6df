"""mnist_lessons: the tested code behind "Intro to Neural Networks: MNIST". Its modules, each saying what it holds:

Settings and checks: ``config``, ``checks``, ``outputs``, ``schedules``, ``devices``. Networks: ``models``.
Data (``data``): ``data.fetch``, ``data.mnist``, ``data.batches``, ``data.augment``, ``data.drawing``.
Training (``training``): ``training.loops``, ``training.recipe``, ``training.early_stopping``, ``training.export``.
Experiments (``experiments``): ``experiments.noise``, ``experiments.verdicts``, ``experiments.paired``,
``experiments.curves``, ``experiments.costs``, ``experiments.polynomials``, ``experiments.gradients``.
Figures (``figures``): ``figures.style``, ``figures.plots``, ``figures.tables``, ``figures.diagrams``.
Exercises and running: ``exercises``, ``cli``, ``cli.args``, ``distributed``, ``distributed.launchers``, ``log``,
``buildinfo``.

Import what you need from the modules, e.g. ``from mnist_lessons.training.recipe import RunConfig, run``.
"""

import logging

__version__ = "0.1.0"

# A library only declares its logger: the entry points configure it (mnist_lessons.log.setup_logging).
logging.getLogger(__name__).addHandler(logging.NullHandler())
