"""mnist_lessons: the tested code behind "Intro to Neural Networks: MNIST".

This docstring is the one list of the package's modules; the README and the
book's welcome page point here.

Settings and checks
    ``config``           the lesson's settings, named once (and the homework's)
    ``checks``           argument validation shared by every public function
Data (``data``)
    ``data.fetch``       get MNIST's files and verify them
    ``data.mnist``       the data directory, datasets, the lesson's split, DataLoaders
    ``data.batches``     tensor-resident batches: the fast path
    ``data.augment``     random shifts and rotations of batches
Networks
    ``models``           linear, mlp and cnn; ``MODELS`` and ``build_model(name, **options)``
Training (``training``)
    ``training.loops``   ``train_one_epoch``, ``evaluate``, ``fit``, seeding, devices, optimisers
    ``training.recipe``  ``RunConfig`` (one run described) and ``run`` (one run trained)
    ``training.schedules``  learning-rate schedules as settings
Experiments (``experiments``)
    ``experiments.sweeps``       fair sweeps of one setting (``sweep``, ``Experiments``)
    ``experiments.polynomials``  bias and variance with polynomial fits
    ``experiments.gradients``    vanishing and exploding gradients
Figures (``figures``)
    ``figures.style``    the book's style and figure width
    ``figures.plots``    every plot: digits, predictions, runs, sweeps, regularisation, convolutions
    ``figures.diagrams`` network drawings
Running
    ``cli``              ``python -m mnist_lessons`` (``cli.args``: argument types)
    ``distributed``      data-parallel training under torchrun (``python -m mnist_lessons.distributed``)
    ``log``              the lesson's log lines
    ``buildinfo``        what the book was built with

Import what you need from the modules, e.g.
``from mnist_lessons.training.recipe import RunConfig, run``. The benchmark is
not part of the package: it lives in the repository's ``benchmarks/``.
"""

__version__ = "0.1.0"
