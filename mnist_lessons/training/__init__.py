"""Training: the loops the book shows, the recipe every run follows, and schedules.

``loops`` (``train_one_epoch``, ``evaluate``, ``fit``, seeding, devices,
optimisers by name), ``recipe`` (``RunConfig``: one run described; ``run``:
one run trained) and ``schedules`` (learning-rate schedules by settings).
"""
