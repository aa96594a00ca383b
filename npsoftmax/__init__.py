"""npsoftmax: softmax regression on Fashion-MNIST in NumPy alone, with hand-derived gradients.

The package follows the "softmax regression from scratch" chapter of *Dive into Deep Learning* step by step:
IDX files -> dataset (mirrors, checksums, cache) -> minibatch iterators -> math (softmax, loss, gradient)
-> model -> optimizer -> metrics -> plots -> training CLI.
"""

__version__ = "0.1.0"
