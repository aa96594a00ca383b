"""npsoftmax: softmax regression on Fashion-MNIST in NumPy alone, with hand-derived gradients.

The package follows the "softmax regression from scratch" chapter of *Dive into Deep Learning* step by step,
under the chapter's names: IDX files -> data (sources, checksums, cache) -> minibatch iterators -> math
(softmax, loss, gradient) -> model -> optimizer -> metrics -> plots -> training.

matplotlib is imported only when a picture is drawn (``Animator``, ``plot_evidence``, ``predict_ch3``,
``train_ch3``, ``npsoftmax.plots``).
"""

from . import _signals  # noqa: F401 - first: a command's signals are handled while the rest imports
from ._version import __version__ as __version__
from .ch3 import predict_ch3, train_ch3
from .data import (
    FASHION_MNIST,
    TEXT_LABELS,
    Dataset,
    DataUnavailableError,
    LoadedData,
    data_source,
    download_fashion_mnist,
    get_data_home,
    get_fashion_mnist_labels,
    load,
    load_fashion_mnist,
    mirrors_from_env,
    parse_mirror,
    redact_url,
)
from .gradcheck import check_gradient, numerical_gradient, relative_error
from .idx import IDXError, parse_idx, read_idx, write_idx
from .loader import MinibatchIter, load_data_fashion_mnist
from .losses import (
    CrossEntropyLoss,
    cross_entropy,
    log_softmax,
    loss_and_grad,
    naive_cross_entropy,
    naive_softmax,
    softmax,
)
from .metrics import Accumulator, accuracy, confusion_matrix, evaluate_accuracy, evaluate_loss_and_accuracy
from .model import SoftmaxRegression
from .optim import SGD, Updater, constant_lr, cosine_lr
from .scaffold import (
    Classifier,
    DataModule,
    FashionMNIST,
    HyperParameters,
    Module,
    ProgressBoard,
    SoftmaxRegressionScratch,
    Trainer,
    add_to_class,
    show_images,
)
from .training import EarlyStopping, History, TrainingDiverged, fit_epochs, train_epoch_ch3

__all__ = [
    "softmax",
    "log_softmax",
    "naive_softmax",
    "cross_entropy",
    "naive_cross_entropy",
    "loss_and_grad",
    "CrossEntropyLoss",
    "SoftmaxRegression",
    "check_gradient",
    "numerical_gradient",
    "relative_error",
    "accuracy",
    "Accumulator",
    "evaluate_accuracy",
    "evaluate_loss_and_accuracy",
    "confusion_matrix",
    "SGD",
    "Updater",
    "constant_lr",
    "cosine_lr",
    "train_epoch_ch3",
    "fit_epochs",
    "EarlyStopping",
    "train_ch3",
    "predict_ch3",
    "History",
    "TrainingDiverged",
    "Animator",
    "plot_evidence",
    "MinibatchIter",
    "load_data_fashion_mnist",
    "load_fashion_mnist",
    "load",
    "Dataset",
    "FASHION_MNIST",
    "LoadedData",
    "get_fashion_mnist_labels",
    "TEXT_LABELS",
    "download_fashion_mnist",
    "data_source",
    "get_data_home",
    "mirrors_from_env",
    "parse_mirror",
    "redact_url",
    "DataUnavailableError",
    "read_idx",
    "parse_idx",
    "write_idx",
    "IDXError",
    "HyperParameters",
    "add_to_class",
    "ProgressBoard",
    "Module",
    "Classifier",
    "DataModule",
    "FashionMNIST",
    "show_images",
    "Trainer",
    "SoftmaxRegressionScratch",
]


def __getattr__(name: str):
    # The pictures need matplotlib, which costs a third of a second to import: loaded on first use only.
    if name in ("Animator", "plot_evidence", "plots"):
        import importlib

        plots = importlib.import_module(".plots", __name__)
        return plots if name == "plots" else getattr(plots, name)
    raise AttributeError(f"module 'npsoftmax' has no attribute {name!r}")
