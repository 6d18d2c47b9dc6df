"""mnist_lessons: the tested code behind "Intro to Neural Networks: MNIST".

Settings and checks
    ``config``           the lesson's settings, named once (and the homework's)
    ``checks``           argument validation shared by every public function
    ``outputs``          files written whole or not at all
    ``schedules``        learning-rate schedules as settings
    ``devices``          device by name, and the chapters' device (``$MNIST_LESSONS_DEVICE``)
Data (``data``)
    ``data.fetch``       get MNIST's files and verify them
    ``data.mnist``       the data directory, datasets, the lesson's split, DataLoaders
    ``data.batches``     tensor-resident batches: the fast path
    ``data.augment``     random shifts and rotations of batches
    ``data.drawing``     a drawn digit prepared the way MNIST's digits were
Networks
    ``models``           linear, mlp and cnn; ``MODELS`` and ``build_model(name, **options)``
Training (``training``)
    ``training.loops``   ``train_one_epoch``, ``evaluate``, ``fit``, seeding, optimisers
    ``training.recipe``  ``RunConfig`` (one run described) and ``run`` (one run trained)
    ``training.early_stopping``  keep the best epoch's weights
    ``training.export``  trained weights for the Try it page
Experiments (``experiments``)
    ``experiments.noise``        seed noise and sweeps over seeds
    ``experiments.verdicts``     comparisons computed from the runs, and the claims ledger
    ``experiments.paired``       McNemar's exact test on paired predictions
    ``experiments.curves``       learning curves over training-set sizes
    ``experiments.costs``        multiply-adds per image
    ``experiments.polynomials``  bias and variance with polynomial fits
    ``experiments.gradients``    vanishing and exploding gradients
Figures (``figures``)
    ``figures.style``    the book's style and figure width
    ``figures.plots``    digits, predictions, runs, sweeps, seed bands, regularisation, convolutions
    ``figures.tables``   tables with named headers
    ``figures.diagrams`` network drawings
Exercises
    ``exercises``        checkers for the chapters' exercises, with hints and solutions
Running
    ``cli``              ``python -m mnist_lessons`` (``cli.args``: argument types)
    ``distributed``      data-parallel training under torchrun, mpiexec or srun
                         (``distributed.launchers``: who am I, under each launcher)
    ``log``              the lesson's log lines
    ``buildinfo``        what the book was built with

Import what you need from the modules, e.g.
``from mnist_lessons.training.recipe import RunConfig, run``.
"""

import logging

__version__ = "0.1.0"

# A library only declares its logger: the entry points configure it (mnist_lessons.log.setup_logging).
logging.getLogger(__name__).addHandler(logging.NullHandler())
