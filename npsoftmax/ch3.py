"""d2l 0.17's chapter functions that draw, over the loop that does not: ``train_ch3`` and ``predict_ch3``.

``train_ch3`` is :func:`npsoftmax.training.fit_epochs` with d2l's live curves (an :class:`npsoftmax.Animator`);
``predict_ch3`` titles the first test images with their true and predicted labels. matplotlib is imported only
when something is drawn.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .data import get_fashion_mnist_labels
from .model import SoftmaxRegression
from .optim import Updater, constant_lr
from .training import History, fit_epochs
from .validation import check_scalar

__all__ = ["train_ch3", "predict_ch3"]


def train_ch3(
    net: SoftmaxRegression,
    train_iter: Iterable,
    test_iter: Iterable,
    loss: Callable,
    num_epochs: int,
    updater: Updater,
    *,
    val_iter: Iterable | None = None,
    patience: int | None = None,
    schedule: Callable[[float, int, int], float] = constant_lr,
    path: str | os.PathLike | None = None,
    animate: bool = True,
    on_epoch: Callable[[dict], None] | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> History:
    """Train for ``num_epochs``, evaluating after each, and draw d2l's live curves.

    The six positional arguments are d2l's; ``updater`` is an :class:`npsoftmax.optim.Updater`. The curves
    (train loss, train acc, test acc) are an :class:`npsoftmax.Animator`: inside Jupyter one figure updated in
    place, with ``path`` a PNG rewritten every epoch, otherwise nothing on screen (a script never blocks).
    ``animate=False`` draws nothing. Everything else is :func:`npsoftmax.training.fit_epochs`'s: ``val_iter``
    (drawn too), ``patience``, ``schedule``, ``on_epoch``, ``progress``, the :class:`npsoftmax.History` returned
    and what is raised.
    """
    animator = None

    def draw(record: dict) -> None:
        nonlocal animator
        if animator is None:  # made once the arguments have passed fit_epochs's checks
            animator = _curves(num_epochs, val_iter is not None, path)
        curves = ("train_loss", "train_acc", "test_acc") + (("val_loss", "val_acc") if val_iter is not None else ())
        animator.add(record["epoch"], [record[key] for key in curves])
        if on_epoch is not None:
            on_epoch(record)

    try:
        return fit_epochs(
            net,
            train_iter,
            test_iter,
            loss,
            num_epochs,
            updater,
            val_iter=val_iter,
            patience=patience,
            schedule=schedule,
            on_epoch=draw if animate else on_epoch,
            progress=progress,
        )
    finally:
        if animator is not None:
            animator.flush()


def _curves(num_epochs: int, with_validation: bool, path: str | os.PathLike | None):
    """d2l's Animator for ``train_ch3``: every epoch in a notebook; a PNG that is only watched, once a second."""
    from .plots import Animator, in_notebook

    legend = ["train loss", "train acc", "test acc"] + (["val loss", "val acc"] if with_validation else [])
    return Animator(
        xlabel="epoch",
        xlim=(1, num_epochs),
        ylim=(0.3, 0.9),
        legend=legend,
        path=path,
        min_interval=0.0 if in_notebook() else 1.0,
    )


def predict_ch3(
    net: SoftmaxRegression,
    test_iter: Iterable,
    n: int = 6,
    path: str | os.PathLike | None = None,
    *,
    class_names: Sequence[str] | None = None,
):
    """The first ``n`` test images titled with their true and predicted labels, as d2l's ``predict_ch3``.

    Returns the matplotlib ``Figure``: Jupyter shows it inline when the call ends a cell. With ``path``
    it is also written there as a PNG. Wrong predictions are titled in red. ``n`` is 1 to 100 (a larger
    grid is unreadable); fewer images are shown if ``test_iter`` holds fewer. The images keep the shape
    of the batches (``(n, 1, height, width)`` or ``(n, height, width)``); ``class_names`` default to
    Fashion-MNIST's.

    Raises
    ------
    ValueError
        ``n`` not an integer in [1, 100], or ``test_iter`` yielding no images.
    """
    from .plots import plot_predictions

    n = check_scalar(n, "n", int, min_val=1, max_val=100)
    images, labels = [], []
    for X, y in test_iter:
        images.append(X[: n - sum(map(len, labels))].copy())
        labels.append(y[: len(images[-1])].copy())
        if sum(map(len, labels)) >= n:
            break
    if not sum(map(len, labels)):
        raise ValueError(f"test_iter yielded no images; predict_ch3 shows the first n = {n} of its (X, y) batches")
    X, y = np.concatenate(images), np.concatenate(labels)
    if class_names is None:
        trues, preds = get_fashion_mnist_labels(y), get_fashion_mnist_labels(net.predict(X))
    else:
        trues, preds = [class_names[i] for i in y], [class_names[i] for i in net.predict(X)]
    shape = X.shape[-2:] if X.ndim >= 3 else None  # flat rows: plot_predictions takes them as squares
    return plot_predictions(X.reshape(len(X), *shape) if shape else X, trues, preds, path)
