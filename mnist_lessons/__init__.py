"""mnist_lessons: the tested code behind "Intro to Neural Networks: MNIST".

Modules, one concern each: ``config`` (the lesson's settings), ``fetch`` and
``data`` (getting and splitting MNIST), ``batches`` (tensor-resident batches),
``models``, ``train`` (loops, history, seeding, devices), ``viz`` and
``diagrams`` (figures), ``log`` (the lesson's log lines) and ``report``.
Import what you need from the modules, e.g. ``from mnist_lessons.train import fit``.
"""

__version__ = "0.1.0"
