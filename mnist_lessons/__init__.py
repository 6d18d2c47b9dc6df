"""mnist_lessons: the tested code behind "Intro to Neural Networks: MNIST". Its modules:

Settings: ``config`` (the lesson's settings), ``checks`` (argument validation), ``outputs`` (files written whole
or not at all), ``schedules`` (learning-rate schedules), ``devices`` (the chapters' device).
Data (``data``): ``data.fetch`` (get and verify MNIST), ``data.mnist`` (datasets, the lesson's split,
DataLoaders), ``data.batches`` (tensor-resident batches), ``data.augment`` (shifts and rotations),
``data.drawing`` (a drawn digit prepared as MNIST's were).
Networks: ``models`` (linear, mlp, cnn, built by name).
Training (``training``): ``training.loops`` (epochs, evaluation, ``fit``), ``training.recipe`` (``RunConfig``
and ``run``), ``training.early_stopping`` (the best epoch's weights), ``training.export`` (weights for Try it).
Experiments (``experiments``): ``experiments.noise`` (seed noise, sweeps), ``experiments.verdicts``
(comparisons, the claims ledger), ``experiments.paired`` (McNemar's test), ``experiments.curves`` (learning
curves), ``experiments.costs`` (multiply-adds), ``experiments.polynomials`` (bias and variance),
``experiments.gradients`` (vanishing and exploding gradients).
Figures (``figures``): ``figures.style``, ``figures.plots``, ``figures.tables``, ``figures.diagrams``.
Running: ``exercises`` (the chapters' exercise checkers), ``cli`` and ``cli.args`` (``python -m mnist_lessons``),
``distributed`` and ``distributed.launchers`` (data-parallel training under torchrun, mpiexec or srun),
``log`` (the lesson's log lines), ``buildinfo`` (what the book was built with).

Import what you need from the modules, e.g. ``from mnist_lessons.training.recipe import RunConfig, run``.
"""

import logging

__version__ = "0.1.0"

# A library only declares its logger: the entry points configure it (mnist_lessons.log.setup_logging).
logging.getLogger(__name__).addHandler(logging.NullHandler())
