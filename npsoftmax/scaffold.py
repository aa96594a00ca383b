"""d2l 1.0's training scaffold on NumPy: ``Module``, ``Classifier``, ``DataModule``, ``FashionMNIST``, ``Trainer``
and ``ProgressBoard``, under the book's names, as section 4.4 ("Softmax Regression Implementation from Scratch")
uses them.

The book's classes lean on autograd: its ``Trainer`` calls ``loss.backward()``. npsoftmax has none, so the one
method a learner writes by hand is the model's ``backward(X, y, y_hat)``, returning the gradients of
``parameters()`` in their order; :class:`npsoftmax.SGD` applies them. Before the first update the ``Trainer``
checks a learner's ``backward`` against central differences on a few coordinates of each parameter (as cs231n's
``grad_check_sparse``), so a wrong gradient stops the fit at its first batch with one message, instead of
training slowly to a poor model. :class:`SoftmaxRegressionScratch` is npsoftmax's own model: its ``backward`` is
:func:`npsoftmax.loss_and_grad`.

A ``fit`` that raises leaves the model, its board and the trainer as they were before the call (Ctrl-C keeps
what was trained). matplotlib is imported only when a picture is drawn: inside Jupyter, or into a PNG.
"""

from __future__ import annotations

import inspect
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from ._blas import one_blas_thread
from .data import TEXT_LABELS, load_fashion_mnist
from .loader import MinibatchIter
from .losses import cross_entropy, loss_and_grad, naive_cross_entropy, softmax
from .optim import SGD
from .training import TrainingDiverged
from .validation import check_scalar

__all__ = [
    "HyperParameters",
    "add_to_class",
    "ProgressBoard",
    "Module",
    "Classifier",
    "DataModule",
    "FashionMNIST",
    "show_images",
    "resize_bilinear",
    "check_backward",
    "Trainer",
    "SoftmaxRegressionScratch",
]


def add_to_class(Class: type) -> Callable:
    """Decorator that adds the function below it to ``Class`` as a method, as d2l's: a class written cell by cell.

    >>> @add_to_class(SoftmaxRegressionScratch)  # doctest: +SKIP
    ... def forward(self, X): ...

    Unlike d2l's, it returns the function, so its name stays bound in the cell's namespace.
    """

    def wrapper(obj: Callable) -> Callable:
        setattr(Class, obj.__name__, obj)
        return obj

    return wrapper


class HyperParameters:
    """The base of the scaffold's classes: ``save_hyperparameters`` keeps ``__init__``'s arguments as attributes."""

    def save_hyperparameters(self, ignore: Iterable[str] = ()) -> None:
        """Set every argument of the calling ``__init__`` as an attribute of ``self``, and gather them in
        ``self.hparams``, except ``self``, the names in ``ignore`` and names starting with ``_``.

        d2l's takes every local variable of the caller; this takes its arguments only, which is the same when it
        is called first in ``__init__``, as the book does.
        """
        frame = inspect.currentframe().f_back
        try:
            code = frame.f_code
            n_args = code.co_argcount + code.co_kwonlyargcount
            n_args += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
            arguments = {name: frame.f_locals[name] for name in code.co_varnames[:n_args] if name in frame.f_locals}
        finally:
            del frame  # a frame kept alive keeps every local of the caller alive
        skipped = {"self", *ignore}
        self.hparams = {k: v for k, v in arguments.items() if k not in skipped and not k.startswith("_")}
        for name, value in self.hparams.items():
            setattr(self, name, value)


# --------------------------------------------------------------------------------------------------------
# The board: the book's live curves.


def _in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel; without IPython loaded it cannot, and matplotlib stays unimported."""
    if "IPython" not in sys.modules:
        return False
    from .plots import in_notebook

    return in_notebook()


class ProgressBoard(HyperParameters):
    """Curves drawn point by point, as d2l's ``ProgressBoard``: ``draw(x, y, label, every_n=1)``.

    Every ``every_n`` points of a label are averaged into one point of its curve. Inside Jupyter the figure is
    shown once and updated in place at each new point; with ``path`` it is written there as a PNG too. In a
    plain script without ``path`` nothing is drawn, nothing blocks and nothing is printed: the points are kept in
    ``data`` (label -> list of ``(x, y)``).

    Parameters
    ----------
    xlabel, ylabel : str or None
    xlim, ylim : (float, float) or None
    xscale, yscale : str, default "linear"
    ls, colors : sequence of str
        Line styles and colours, one per label in the order the labels first appear.
    figsize : (float, float), default (3.5, 2.5)
    display : bool, default True
        False keeps the points and draws nothing.
    path : path or None
        Where to write the PNG at each new point.
    """

    def __init__(
        self,
        xlabel: str | None = None,
        ylabel: str | None = None,
        xlim: Sequence[float] | None = None,
        ylim: Sequence[float] | None = None,
        xscale: str = "linear",
        yscale: str = "linear",
        ls: Sequence[str] = ("-", "--", "-.", ":"),
        colors: Sequence[str] = ("C0", "C1", "C2", "C3"),
        figsize: tuple[float, float] = (3.5, 2.5),
        display: bool = True,
        path: str | os.PathLike | None = None,
    ) -> None:
        self.save_hyperparameters()
        self.raw_points: dict[str, list[tuple[float, float]]] = {}
        self.data: dict[str, list[tuple[float, float]]] = {}
        self.fig = None
        self._shown = None

    def draw(self, x: float, y: float, label: str, every_n: int = 1) -> None:
        """Add the point ``(x, y)`` to the curve ``label``; each ``every_n`` points become their mean."""
        if type(every_n) is not int or every_n < 1:  # checked only when it may be wrong: draw runs every batch
            every_n = check_scalar(every_n, "every_n", int, min_val=1)
        points = self.raw_points.setdefault(label, [])
        line = self.data.setdefault(label, [])
        points.append((float(x), float(y)))
        if len(points) < every_n:
            return
        line.append((sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points)))
        points.clear()
        if self.display and (self.path is not None or _in_notebook()):
            self.show()

    def show(self) -> None:
        """Draw the curves now: into ``path`` if set, and in place inside Jupyter."""
        from .plots import Figure

        if self.fig is None:
            self.fig = Figure(figsize=self.figsize)
            self.fig.subplots_adjust(left=0.16, right=0.97, top=0.95, bottom=0.18)
            self.fig.add_subplot()
        ax = self.fig.axes[0]
        ax.clear()
        lines = []
        for points, ls, color in zip(self.data.values(), _cycle(self.ls), _cycle(self.colors), strict=False):
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            lines.append(ax.plot(xs, ys, linestyle=ls, color=color, marker="o" if len(xs) == 1 else None)[0])
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        ax.set_xscale(self.xscale)
        ax.set_yscale(self.yscale)
        if self.xlim:
            ax.set_xlim(self.xlim)
        if self.ylim:
            ax.set_ylim(self.ylim)
        ax.grid(True, alpha=0.3)
        ax.legend(lines, list(self.data), fontsize="small")
        if self.path is not None:
            self.fig.save(Path(self.path))
        if _in_notebook():
            from IPython.display import Image, display

            image = Image(self.fig.to_png())
            if self._shown is None:
                self._shown = display(image, display_id=True)
            else:
                self._shown.update(image)

    def _state(self) -> dict:
        return {
            name: {label: list(points) for label, points in curves.items()}  # points are tuples: immutable
            for name, curves in (("raw_points", self.raw_points), ("data", self.data))
        }

    def _restore(self, state: dict) -> None:
        self.raw_points, self.data = state["raw_points"], state["data"]


def _cycle(values: Sequence[str]) -> Iterator[str]:
    while True:
        yield from values


# --------------------------------------------------------------------------------------------------------
# Models: Module, Classifier.

NO_BACKWARD = (
    "npsoftmax has no autograd: define backward(self, X, y, y_hat) on {name}, returning the gradients of the "
    "loss with respect to parameters(), in that order (for [W, b]: [dW, db]); see nps.SoftmaxRegressionScratch"
)


class Module(HyperParameters):
    """The base of a model, as d2l's ``Module``: ``forward``, ``loss``, ``parameters``, and, without autograd,
    ``backward``.

    ``model(X)`` calls ``forward(X)``. The ``Trainer`` calls ``training_step`` on each training batch and
    ``validation_step`` on each validation batch; both ``plot`` to ``self.board``, a :class:`ProgressBoard`:
    ``train_loss`` ``plot_train_per_epoch`` times per epoch, the validation curves ``plot_valid_per_epoch``
    times, each point the mean of the per-batch values since the last one (d2l's means; see :class:`Classifier`).
    """

    def __init__(self, plot_train_per_epoch: int = 2, plot_valid_per_epoch: int = 1) -> None:
        self.save_hyperparameters()
        self.board = ProgressBoard()

    def loss(self, y_hat, y):
        raise NotImplementedError(f"define loss(self, y_hat, y) on {type(self).__name__}: the loss of a batch")

    def forward(self, X):
        if hasattr(self, "net"):
            return self.net(X)
        raise NotImplementedError(f"define forward(self, X) on {type(self).__name__}, or give it a self.net")

    def __call__(self, *args):
        return self.forward(*args)

    def parameters(self) -> list[np.ndarray]:
        raise NotImplementedError(
            f"define parameters(self) on {type(self).__name__}, returning the arrays the optimizer updates in place, "
            f"e.g. [self.W, self.b]"
        )

    def backward(self, X, y, y_hat) -> list[np.ndarray]:
        """The gradients of ``loss(y_hat, y)`` with respect to ``parameters()``, in their order: a learner's to
        write. ``y_hat`` is ``forward(X)``'s output; the loss is a mean over the batch."""
        raise NotImplementedError(NO_BACKWARD.format(name=type(self).__name__))

    def plot(self, key: str, value: float, train: bool) -> None:
        """Draw ``value`` on the board as ``train_<key>`` or ``val_<key>``, against epochs, as d2l's."""
        if not hasattr(self, "trainer"):
            raise RuntimeError("plot draws against the Trainer's epochs: call it during trainer.fit(model, data)")
        self.board.xlabel = "epoch"
        if train:
            x = self.trainer.train_batch_idx / self.trainer.num_train_batches
            n = self.trainer.num_train_batches / self.plot_train_per_epoch
        else:
            x = self.trainer.epoch + 1
            n = self.trainer.num_val_batches / self.plot_valid_per_epoch
        self.board.draw(x, value, ("train_" if train else "val_") + key, every_n=max(1, int(n)))

    def training_step(self, batch: Sequence) -> tuple[float, list[np.ndarray]]:
        """The batch's loss, plotted, and its gradients: ``forward``, ``loss``, then ``backward(X, y, y_hat)``.

        The book's step returns the loss, on which its ``Trainer`` calls ``loss.backward()``; without a graph to
        walk back, the step calls ``backward`` while it holds ``y_hat``, and returns ``(loss, grads)``.
        """
        *inputs, y = batch
        y_hat = self(*inputs)
        loss = self.loss(y_hat, y)
        self.plot("loss", loss, train=True)
        return loss, self.backward(*inputs, y, y_hat)

    def validation_step(self, batch: Sequence) -> None:
        *inputs, y = batch
        self.plot("loss", self.loss(self(*inputs), y), train=False)

    def configure_optimizers(self) -> SGD:
        """The optimizer the ``Trainer`` steps: ``nps.SGD(self.parameters(), lr=self.lr)``."""
        if not hasattr(self, "lr"):
            raise AttributeError(
                f"configure_optimizers uses self.lr: give {type(self).__name__}.__init__ an lr argument and call "
                f"self.save_hyperparameters(), or override configure_optimizers"
            )
        return SGD(self.parameters(), lr=self.lr)


class Classifier(Module):
    """A :class:`Module` that classifies: the validation pass plots ``val_loss`` and ``val_acc``.

    As in d2l, each validation point is the mean of the per-batch means, so a smaller last batch counts more
    per example than the others (at batch size 256 the last 16 of the 10,000 test images weigh 1/40); npsoftmax
    keeps the book's means so that its curves read as the book's. ``nps.evaluate_accuracy(model, data_iter)``
    gives the accuracy with every example counted once.
    """

    def validation_step(self, batch: Sequence) -> None:
        *inputs, y = batch
        Y_hat = self(*inputs)
        self.plot("loss", self.loss(Y_hat, y), train=False)
        self.plot("acc", self.accuracy(Y_hat, y), train=False)

    def accuracy(self, Y_hat: ArrayLike, Y: ArrayLike, averaged: bool = True):
        """The share of rows of ``Y_hat`` (scores or probabilities) whose argmax is ``Y``; per example (float32
        0/1) with ``averaged=False``."""
        Y_hat, Y = np.asarray(Y_hat), np.asarray(Y)
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        preds = Y_hat.argmax(axis=1).astype(Y.dtype)
        compare = (preds == Y.reshape(-1)).astype(np.float32)
        return compare.mean() if averaged else compare

    def loss(self, Y_hat: ArrayLike, Y: ArrayLike, averaged: bool = True):
        """Cross-entropy of the logits ``Y_hat`` (n, k) against labels ``Y``: mean, or per example."""
        Y_hat = np.asarray(Y_hat)
        Y_hat = Y_hat.reshape((-1, Y_hat.shape[-1]))
        return cross_entropy(Y_hat, np.asarray(Y).reshape(-1), reduction="mean" if averaged else "none")


class SoftmaxRegressionScratch(Classifier):
    """Section 4.4's model: ``softmax(X @ W + b)``, ``W ~ N(0, sigma)`` drawn from ``np.random`` (as the book's
    ``torch.normal`` draws from torch's generator: ``np.random.seed`` repeats a run), ``b = 0``, float32.

    ``forward`` gives probabilities and ``loss`` is the book's cross-entropy on them. ``backward`` is
    :func:`npsoftmax.loss_and_grad`, the one home of the gradient; a training step is one call of it (the loss,
    the gradients and the forward's product in one pass), and validation scores the logits with the stable
    :func:`npsoftmax.cross_entropy`.
    """

    def __init__(self, num_inputs: int, num_outputs: int, lr: float, sigma: float = 0.01) -> None:
        super().__init__()
        num_inputs = check_scalar(num_inputs, "num_inputs", int, min_val=1)
        num_outputs = check_scalar(num_outputs, "num_outputs", int, min_val=1)
        check_scalar(lr, "lr", float, min_val=0)
        sigma = check_scalar(sigma, "sigma", float, min_val=0)
        self.save_hyperparameters()
        # The global generator, as the book draws from torch's: np.random.seed(s) repeats a run.
        self.W = np.random.normal(0, sigma, size=(num_inputs, num_outputs)).astype(np.float32)  # noqa: NPY002
        self.b = np.zeros(num_outputs, np.float32)
        self._trusted = self._val_trusted = False  # until a fit's first batch looks at its loaders

    def parameters(self) -> list[np.ndarray]:
        return [self.W, self.b]

    def forward(self, X: ArrayLike) -> np.ndarray:
        return softmax(self._logits(X))

    def _logits(self, X: ArrayLike) -> np.ndarray:
        X = np.asarray(X).reshape((-1, self.W.shape[0]))
        return X @ self.W + self.b

    def loss(self, y_hat: ArrayLike, y: ArrayLike):
        """The book's ``-log(y_hat[range(n), y]).mean()`` on probabilities."""
        return naive_cross_entropy(y_hat, y)

    def backward(self, X: ArrayLike, y: ArrayLike, y_hat: ArrayLike | None = None) -> list[np.ndarray]:
        """``[dW, db]`` from :func:`npsoftmax.loss_and_grad` (``y_hat`` is not needed: it recomputes the logits)."""
        _, dW, db = loss_and_grad(X, y, self.W, self.b)
        return [dW, db]

    def training_step(self, batch: Sequence) -> tuple[float, list[np.ndarray]]:
        X, y = batch
        if self.trainer.train_batch_idx == 0:  # a new fit: are its batches valid by construction?
            self._trusted = _valid_by_construction(self.trainer.train_dataloader, self.W)
            self._val_trusted = _valid_by_construction(self.trainer.val_dataloader, self.W)
        loss, dW, db = loss_and_grad(X, y, self.W, self.b, check_input=not self._trusted)
        self.plot("loss", loss, train=True)
        return loss, [dW, db]

    def validation_step(self, batch: Sequence) -> None:
        X, y = batch
        logits = self._logits(X)
        self.plot("loss", cross_entropy(logits, y, check_input=not self._val_trusted), train=False)
        self.plot("acc", self.accuracy(logits, y), train=False)


def _valid_by_construction(loader, W: np.ndarray) -> bool:
    """Whether every batch of ``loader`` fits the weights ``W`` unchecked: npsoftmax's own loaders make float
    batches of one dtype and int64 labels, so one look at the labels' range and the dtype answers for them all.
    Checking each batch would cost a third of an epoch."""
    n_features = math.prod(loader.size) if isinstance(loader, _ResizedLoader) else None
    if isinstance(loader, _ResizedLoader):
        loader = loader.loader
    return (
        isinstance(loader, MinibatchIter)
        and loader.dtype == W.dtype
        and (n_features or loader.images[0].size) == W.shape[0]
        and (loader.labels.size == 0 or int(loader.labels.max()) < W.shape[1])
    )


# --------------------------------------------------------------------------------------------------------
# Data: DataModule, FashionMNIST, show_images, and the bilinear resize.


class DataModule(HyperParameters):
    """The base of a data set, as d2l's: ``train_dataloader()`` and ``val_dataloader()`` call ``get_dataloader``.

    A loader is anything that starts a new pass each time it is iterated and has a ``len()`` (its number of
    batches), such as a list of ``(X, y)`` batches. ``root`` is the folder of the data files (None: npsoftmax's
    data home, see :func:`npsoftmax.data.get_data_home`). ``num_workers`` is accepted for the book's sake and
    unused: batches are made in this process, by NumPy.
    """

    def __init__(self, root: str | os.PathLike | None = None, num_workers: int = 4) -> None:
        check_scalar(num_workers, "num_workers", int, min_val=0)
        self.save_hyperparameters()

    def get_dataloader(self, train: bool):
        raise NotImplementedError(
            f"define get_dataloader(self, train) on {type(self).__name__}: the training batches if train, "
            f"else the validation batches"
        )

    def train_dataloader(self):
        return self.get_dataloader(train=True)

    def val_dataloader(self):
        return self.get_dataloader(train=False)


def _resize_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) float64 weights of bilinear resampling along one axis, antialiased when shrinking.

    Pixel centres are aligned (``align_corners=False``): output pixel ``i`` sits at input coordinate
    ``(i + 0.5) * n_in / n_out``. Its value is a triangle-weighted mean of the input pixels within
    ``max(scale, 1)`` of it, the weights normalized to sum to 1 (at the borders too): PIL's and torchvision's
    bilinear filter. When enlarging this is plain linear interpolation between the two nearest pixels.
    """
    scale = n_in / n_out
    support = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale
    distance = (np.arange(n_in)[None, :] + 0.5 - centres[:, None]) / support
    weights = np.clip(1.0 - np.abs(distance), 0.0, None)
    return weights / weights.sum(axis=1, keepdims=True)


def resize_bilinear(images: ArrayLike, size: int | Sequence[int]) -> np.ndarray:
    """Images ``(..., H, W)`` resized to ``size`` ``(h, w)`` (an int: square) by bilinear interpolation.

    The same as torchvision's ``Resize(size)`` on a tensor, which is ``torch.nn.functional.interpolate(...,
    mode="bilinear", align_corners=False, antialias=True)``: shrinking averages over the pixels each output
    pixel covers instead of skipping some. (On PIL images torchvision also rounds the result to 8 bits; here it
    stays float.) Computed in the images' float dtype (float64 for integers).
    """
    images = np.asarray(images)
    if images.ndim < 2:
        raise ValueError(f"images must have shape (..., height, width), got {images.shape}")
    height, width = _check_size(size)
    dtype = images.dtype if images.dtype in (np.float32, np.float64) else np.float64
    rows = _resize_weights(images.shape[-2], height).astype(dtype)
    cols = _resize_weights(images.shape[-1], width).astype(dtype)
    return rows @ images.astype(dtype, copy=False) @ cols.T


def _check_size(size: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size, size)
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise ValueError(f"resize must be (height, width), two integers >= 1, got {size!r}")
    return tuple(check_scalar(s, "resize's height and width", int, min_val=1) for s in size)


class _ImageSet:
    """``data.train`` / ``data.val``: ``len()`` images, ``[i]`` is ``(image (1, h, w) float32 in [0, 1], label)``."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, size: tuple[int, int]) -> None:
        self.images, self.labels, self.size = images, labels, size

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        index = check_scalar(index, "index", int, min_val=-len(self), max_val=len(self) - 1)
        image = self.images[index].astype(np.float32) / np.float32(255)
        if image.shape != self.size:
            image = resize_bilinear(image, self.size)
        return image[None], int(self.labels[index])

    def __repr__(self) -> str:
        return f"<{len(self)} Fashion-MNIST images of (1, {self.size[0]}, {self.size[1]})>"


class _ResizedLoader:
    """A loader's batches with their images resized: ``X`` (n, 1, h, w) float32, ``y`` as the loader gives it."""

    def __init__(self, loader: MinibatchIter, size: tuple[int, int]) -> None:
        self.loader, self.size = loader, size

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for X, y in self.loader:
            yield resize_bilinear(X, self.size), y


class FashionMNIST(DataModule):
    """Fashion-MNIST as section 4.2 makes it: ``train`` (60,000 images) and ``val`` (the 10,000 test images).

    ``data.train[i]`` is ``(image, label)``, the image float32 of shape (1, h, w) in [0, 1]. The loaders yield
    ``X`` float32 (n, 1, h, w) and ``y`` int64 (n,): the training batches shuffled anew every pass, the
    validation batches in file order. Each batch's arrays are its own, so a batch can be kept. The shuffling
    is seeded from ``np.random`` when a training loader is made, as torch's loader draws from torch's
    generator: ``np.random.seed(s)`` first makes a run repeatable.

    Parameters
    ----------
    batch_size : int, default 64
    resize : (int, int), default (28, 28)
        Images are resized bilinearly (:func:`resize_bilinear`), batch by batch, when this differs from 28x28.
    root : path or None
        The data's folder; None: npsoftmax's data home (files are downloaded and verified on first use).
    num_workers : int
        Unused (see :class:`DataModule`).
    """

    def __init__(
        self,
        batch_size: int = 64,
        resize: int | Sequence[int] = (28, 28),
        root: str | os.PathLike | None = None,
        num_workers: int = 4,
    ) -> None:
        batch_size = check_scalar(batch_size, "batch_size", int, min_val=1)
        size = _check_size(resize)
        super().__init__(root=root, num_workers=num_workers)
        self.save_hyperparameters()
        X_train, y_train, X_val, y_val = load_fashion_mnist(root)
        self.train = _ImageSet(X_train, y_train, size)
        self.val = _ImageSet(X_val, y_val, size)

    def text_labels(self, indices: Iterable[int]) -> list[str]:
        """The class names of the labels ``indices``."""
        return [TEXT_LABELS[int(i)] for i in indices]

    def get_dataloader(self, train: bool):
        data = self.train if train else self.val
        seed = int(np.random.randint(2**31)) if train else None  # noqa: NPY002 - np.random.seed repeats a run
        loader = MinibatchIter(data.images, data.labels, self.batch_size, shuffle=train, seed=seed, std=255.0)
        return loader if data.size == data.images.shape[1:] else _ResizedLoader(loader, data.size)

    def visualize(self, batch: Sequence, nrows: int = 1, ncols: int = 8, labels: Sequence[str] = ()) -> None:
        """Show the first ``nrows * ncols`` images of ``batch`` (``[X, y]``), titled ``labels`` or their classes."""
        X, y = batch
        if not len(labels):
            labels = self.text_labels(y)
        show_images(np.asarray(X).squeeze(1), nrows, ncols, titles=labels)


def show_images(imgs: ArrayLike, num_rows: int, num_cols: int, titles: Sequence[str] | None = None, scale=1.5):
    """Show images ``(n, h, w)`` in a grid of ``num_rows`` by ``num_cols``, as d2l's; returns the Axes.

    Inside Jupyter the figure is displayed; in a script nothing is shown or printed (the Axes' figure can be
    saved with ``axes[0].figure.save(path)``).
    """
    from .plots import Figure

    num_rows = check_scalar(num_rows, "num_rows", int, min_val=1)
    num_cols = check_scalar(num_cols, "num_cols", int, min_val=1)
    fig = Figure(figsize=(num_cols * scale, num_rows * scale), layout="constrained")  # room for two-line titles
    axes = fig.subplots(num_rows, num_cols, squeeze=False).ravel()
    for i, (ax, img) in enumerate(zip(axes, imgs, strict=False)):
        ax.imshow(np.asarray(img), cmap="gray_r" if np.asarray(img).ndim == 2 else None)
        ax.set_axis_off()
        if titles is not None and i < len(titles):
            ax.set_title(titles[i], fontsize="small")
    for ax in axes[len(imgs) :]:
        ax.set_axis_off()
    if _in_notebook():
        from IPython.display import display

        display(fig)
    return axes


# --------------------------------------------------------------------------------------------------------
# The backward check and the Trainer.


def _name_of(model: Module, param: np.ndarray, index: int) -> str:
    names = [name for name, value in vars(model).items() if value is param]
    return names[0] if names else f"parameters()[{index}]"


def check_backward(model: Module, batch: Sequence, num_checks: int = 10, tol: float = 1e-5, seed: int = 0) -> float:
    """Check ``model.backward`` against central differences in float64 on ``num_checks`` sampled coordinates of
    each parameter, as cs231n's ``grad_check_sparse``; return the largest relative error.

    The parameters (those held as attributes, e.g. ``self.W``, or already float64) and the batch's ``X`` are
    taken in float64 for the check, and every array is put back as it was, bit for bit, whatever happens.

    Raises
    ------
    ValueError
        ``backward`` returns the wrong number of gradients or shapes, or a sampled coordinate's gradient is off:
        the message names the parameter, the coordinate, the analytic and numeric values and the relative error.
    """
    *inputs, y = batch
    inputs = [np.asarray(x, np.float64) if np.asarray(x).dtype.kind == "f" else x for x in inputs]
    params = list(model.parameters())
    names = [_name_of(model, p, i) for i, p in enumerate(params)]
    swapped = {}
    for param, name in zip(params, names, strict=True):
        if param.dtype != np.float64 and name in vars(model):
            swapped[name] = param
    try:
        for name, param in swapped.items():
            setattr(model, name, param.astype(np.float64))
        checked = list(model.parameters())
        loss = model.loss(model(*inputs), y)
        if np.asarray(loss).dtype != np.float64:
            warnings.warn(
                f"backward not checked: {type(model).__name__}'s loss is computed in {np.asarray(loss).dtype}, "
                f"too coarse for finite differences (float64 is needed)",
                stacklevel=3,
            )
            return math.nan
        grads = list(model.backward(*inputs, y, model(*inputs)))
        _check_gradient_shapes(model, checked, grads, names)
        rng = np.random.default_rng(seed)
        worst = 0.0
        for param, grad, name in zip(checked, grads, names, strict=True):
            grad = np.asarray(grad, np.float64).reshape(-1)
            flat = param.reshape(-1)
            if not np.shares_memory(flat, param) or param.dtype != np.float64:
                continue  # neither an attribute nor float64: it cannot be perturbed in float64
            coords = rng.choice(flat.size, size=min(num_checks, flat.size), replace=False)
            numeric = _central_differences(lambda: float(model.loss(model(*inputs), y)), flat, coords)
            analytic = grad[coords]
            gaps = np.abs(analytic - numeric)
            error = float(gaps.max() / max(np.abs(numeric).max(), np.abs(analytic).max(), 1e-12))
            worst = max(worst, error)
            if not error <= tol:
                j = int(np.nanargmax(gaps)) if not np.isnan(gaps).all() else 0
                coordinate = np.unravel_index(coords[j], param.shape)
                where = f"{name}[{', '.join(map(str, coordinate))}]" if param.ndim else name
                own = abs(analytic[j] - numeric[j]) / max(abs(analytic[j]), abs(numeric[j]), 1e-300)
                raise ValueError(
                    f"{type(model).__name__}.backward is wrong for {name}: at {where} it gives {analytic[j]:.6g} "
                    f"where central differences give {numeric[j]:.6g} (relative error {own:.3g}); the gradient "
                    f"of the mean loss over the batch is wanted (a forgotten / len(y)?). "
                    f"Trainer(check_backward=False) skips this check"
                )
        return worst
    finally:
        for name, param in swapped.items():
            setattr(model, name, param)


def _central_differences(loss: Callable[[], float], flat: np.ndarray, coords: np.ndarray, h: float = 1e-6):
    """``(loss(x + h) - loss(x - h)) / 2h`` at each coordinate ``coords`` of ``flat``, which is put back after."""
    numeric = np.empty(len(coords))
    for j, at in enumerate(coords):
        saved = flat[at]
        try:
            flat[at] = saved + h
            f_plus = loss()
            flat[at] = saved - h
            f_minus = loss()
        finally:
            flat[at] = saved
        numeric[j] = (f_plus - f_minus) / (2 * h)
    return numeric


def _check_gradient_shapes(model: Module, params: list, grads: list, names: list[str]) -> None:
    if len(grads) != len(params) or any(np.shape(g) != p.shape for g, p in zip(grads, params, strict=False)):
        expected = ", ".join(f"{n} {p.shape}" for n, p in zip(names, params, strict=True))
        got = ", ".join(str(np.shape(g)) for g in grads)
        raise ValueError(
            f"{type(model).__name__}.backward must return one gradient per parameter, of its shape: [{expected}]; "
            f"it returned [{got}]"
        )


class Trainer(HyperParameters):
    """d2l's ``Trainer``: ``fit(model, data)`` trains ``model`` for ``max_epochs`` on ``data`` (a :class:`DataModule`).

    Each epoch (``fit_epoch``) runs ``model.training_step`` on every training batch, which returns the loss and
    the gradients from the model's ``backward`` (where the book calls ``loss.backward()``), clips them if
    ``gradient_clip_val > 0`` and applies them with the optimizer of ``model.configure_optimizers()``; then
    ``model.validation_step`` on every validation batch.

    Parameters
    ----------
    max_epochs : int >= 1
    num_gpus : int, default 0
        Must be 0: npsoftmax runs on NumPy, on the CPU.
    gradient_clip_val : float, default 0
        Scale the gradients down to this global L2 norm when they exceed it; 0 never clips.
    check_backward : bool, default True
        Before the first update, check a model's own ``backward`` against central differences
        (:func:`check_backward`); a wrong gradient stops ``fit`` with one message. It costs a few forward passes
        of the first batch, under 1% of a 10-epoch fit (``benchmarks/bench_trainer.py`` measures it). npsoftmax's
        own :class:`SoftmaxRegressionScratch`, proven by its tests, is not checked.

    Raises
    ------
    ValueError
        An argument of the wrong type or outside its range, ``num_gpus > 0``.
    """

    def __init__(
        self, max_epochs: int, num_gpus: int = 0, gradient_clip_val: float = 0, *, check_backward: bool = True
    ) -> None:
        check_scalar(max_epochs, "max_epochs", int, min_val=1)
        check_scalar(num_gpus, "num_gpus", int, min_val=0)
        if num_gpus:
            raise ValueError(f"num_gpus must be 0, got {num_gpus}: npsoftmax runs on NumPy, on the CPU")
        check_scalar(gradient_clip_val, "gradient_clip_val", float, min_val=0)
        check_scalar(check_backward, "check_backward", bool)
        self.save_hyperparameters()

    def prepare_data(self, data: DataModule) -> None:
        self.train_dataloader = _check_loader(data.train_dataloader(), "train_dataloader()")
        self.val_dataloader = data.val_dataloader()
        if self.val_dataloader is not None:
            _check_loader(self.val_dataloader, "val_dataloader()")
        self.num_train_batches = len(self.train_dataloader)
        self.num_val_batches = len(self.val_dataloader) if self.val_dataloader is not None else 0
        if not self.num_train_batches:
            raise ValueError("data.train_dataloader() has no batches: there is nothing to train on")

    def prepare_model(self, model: Module) -> None:
        if not isinstance(model, Module) or not isinstance(getattr(model, "board", None), ProgressBoard):
            raise TypeError(
                f"fit trains an nps.Module whose __init__ calls super().__init__() first, as the book's models do; "
                f"got {type(model).__name__}{'' if isinstance(model, Module) else ', not a Module'}"
            )
        if type(model).training_step is Module.training_step and type(model).backward is Module.backward:
            raise NotImplementedError(NO_BACKWARD.format(name=type(model).__name__))
        model.trainer = self
        model.board.xlim = [0, self.max_epochs]
        self.model = model

    def fit(self, model: Module, data: DataModule) -> None:
        """Train ``model`` on ``data`` for ``max_epochs`` epochs.

        If it raises (a wrong ``backward``, a bad batch, :class:`npsoftmax.TrainingDiverged` when a loss becomes
        NaN or infinite), the model's parameters and attributes, its board and this trainer are put back as they
        were before the call. Ctrl-C keeps what was trained.
        """
        before = _Snapshot(self, model)
        try:
            self.prepare_data(data)
            self.prepare_model(model)
            self.optim = model.configure_optimizers()
            self.epoch = 0
            self.train_batch_idx = 0
            self.val_batch_idx = 0
            with one_blas_thread(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                for epoch in range(self.max_epochs):
                    self.epoch = epoch
                    self.fit_epoch()
        except Exception:
            before.restore()
            raise

    def fit_epoch(self) -> None:
        for batch in self.train_dataloader:
            batch = self.prepare_batch(batch)
            if self.train_batch_idx == 0 and self._checks_backward():
                check_backward(self.model, batch)
            loss, grads = self.model.training_step(batch)
            _check_finite(loss, f"the training loss of epoch {self.epoch + 1}, batch {self.train_batch_idx + 1}")
            if self.gradient_clip_val > 0:
                self.clip_gradients(self.gradient_clip_val, grads)
            self.optim.step(grads)
            self.train_batch_idx += 1
        if self.val_dataloader is None:
            return
        for batch in self.val_dataloader:
            self.model.validation_step(self.prepare_batch(batch))
            self.val_batch_idx += 1
        for label, points in self.model.board.data.items():
            if label.startswith("val_") and points:
                _check_finite(points[-1][1], f"the validation {label[4:]} of epoch {self.epoch + 1}")

    def prepare_batch(self, batch: Sequence) -> Sequence:
        return batch

    def clip_gradients(self, grad_clip_val: float, grads: list[np.ndarray]) -> None:
        """Scale ``grads`` in place so that their global L2 norm is at most ``grad_clip_val``, as d2l's."""
        norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
        if norm > grad_clip_val:
            for grad in grads:
                grad *= grad.dtype.type(grad_clip_val / norm)

    def _checks_backward(self) -> bool:
        return self.check_backward and type(self.model).backward is not SoftmaxRegressionScratch.backward


def _check_loader(loader, name: str):
    if isinstance(loader, Iterator):
        raise TypeError(
            f"data.{name} returned a one-shot iterator ({type(loader).__name__}), which the first epoch would use "
            f"up; return something that starts a new pass each time it is iterated, such as a list of (X, y) "
            f"batches or nps.MinibatchIter"
        )
    if not isinstance(loader, Iterable) or not hasattr(loader, "__len__"):
        raise TypeError(
            f"data.{name} must return batches with a len() (the number of batches), such as a list of (X, y) "
            f"batches; got {type(loader).__name__}"
        )
    return loader


def _check_finite(value, what: str) -> None:
    if not np.isfinite(value):
        raise TrainingDiverged(f"{what} became {float(value)}: try a smaller learning rate")


class _Snapshot:
    """The trainer's and the model's attributes, the parameters' values and the board's points, to put back."""

    def __init__(self, trainer: Trainer, model: Module) -> None:
        self.trainer, self.model = trainer, model
        self.trainer_vars, self.model_vars = dict(vars(trainer)), dict(vars(model))
        try:
            self.params = [(p, p.copy()) for p in model.parameters()]
        except NotImplementedError:
            self.params = []
        board = getattr(model, "board", None)
        self.board = (board, board._state()) if isinstance(board, ProgressBoard) else None

    def restore(self) -> None:
        for target, saved in ((self.trainer, self.trainer_vars), (self.model, self.model_vars)):
            vars(target).clear()
            vars(target).update(saved)
        for param, values in self.params:
            param[...] = values
        if self.board is not None:
            self.board[0]._restore(self.board[1])
