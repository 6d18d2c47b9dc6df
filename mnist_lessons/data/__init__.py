"""Getting MNIST (``fetch``, ``mnist``) and feeding it to a network (``batches``, ``augment``, ``drawing``)."""
