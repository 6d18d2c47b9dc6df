"""Getting MNIST and feeding it to a network.

``fetch`` (where the data lives; download and verify the files), ``mnist``
(datasets, the lesson's split, DataLoaders), ``batches`` (tensor-resident
batches: the fast path) and ``augment`` (random shifts and rotations).
"""
