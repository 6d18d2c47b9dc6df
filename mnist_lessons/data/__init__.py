"""Getting MNIST and feeding it to a network.

``fetch`` (download and verify the files), ``mnist`` (the data directory,
datasets, the lesson's split, DataLoaders), ``batches`` (tensor-resident
batches: the fast path) and ``augment`` (random shifts and rotations).
"""
