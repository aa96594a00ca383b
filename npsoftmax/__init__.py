"""npsoftmax: softmax regression on Fashion-MNIST in NumPy alone, with hand-derived gradients.

The package follows the "softmax regression from scratch" chapter of *Dive into Deep Learning* step by step:
IDX files -> dataset (mirrors, checksums, cache) -> minibatch iterators -> math (softmax, loss, gradient)
-> model -> optimizer -> metrics -> plots -> training CLI.
"""

from .dataset import TEXT_LABELS, get_fashion_mnist_labels, load_fashion_mnist
from .fetch import DataUnavailableError, download_fashion_mnist, fashion_mnist_source
from .gradcheck import check_gradient, numerical_gradient, relative_error
from .idx import IDXError, read_idx, write_idx
from .loader import MinibatchIter, load_data_fashion_mnist
from .losses import SoftmaxCrossEntropy, cross_entropy, cross_entropy_grad, log_softmax, loss_and_grad, softmax
from .metrics import Accumulator, accuracy, confusion_matrix, evaluate_accuracy
from .model import SoftmaxRegression
from .optim import SGD, constant_lr, cosine_lr

__version__ = "0.1.0"

__all__ = [
    "softmax",
    "log_softmax",
    "cross_entropy",
    "cross_entropy_grad",
    "loss_and_grad",
    "SoftmaxCrossEntropy",
    "SoftmaxRegression",
    "check_gradient",
    "numerical_gradient",
    "relative_error",
    "accuracy",
    "Accumulator",
    "evaluate_accuracy",
    "confusion_matrix",
    "SGD",
    "constant_lr",
    "cosine_lr",
    "MinibatchIter",
    "load_data_fashion_mnist",
    "load_fashion_mnist",
    "get_fashion_mnist_labels",
    "TEXT_LABELS",
    "download_fashion_mnist",
    "fashion_mnist_source",
    "DataUnavailableError",
    "read_idx",
    "write_idx",
    "IDXError",
]
