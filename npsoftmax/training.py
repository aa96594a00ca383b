"""The chapter's training functions: ``train_epoch_ch3``, ``train_ch3`` and ``predict_ch3``, call for call.

They keep d2l's names, arguments and meaning. ``loss`` is :func:`npsoftmax.cross_entropy` itself (or a
:class:`npsoftmax.CrossEntropyLoss` for weight decay or d2l's naive formulas), the backward pass, which
autograd does in the chapter, is :func:`npsoftmax.loss_and_grad`, and ``updater`` is any
:class:`npsoftmax.optim.Updater` (``lr`` and ``step(grads)``), such as :class:`npsoftmax.SGD`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from ._blas import one_blas_thread
from .data import get_fashion_mnist_labels
from .loader import MinibatchIter
from .losses import CrossEntropyLoss, GradientBuffers, cross_entropy, loss_and_grad, naive_cross_entropy
from .metrics import Accumulator, accuracy, evaluate_accuracy, evaluate_loss_and_accuracy
from .model import SoftmaxRegression
from .optim import Updater, constant_lr
from .validation import check_scalar

__all__ = ["run_seeds", "History", "TrainingDiverged", "train_epoch_ch3", "train_ch3", "predict_ch3"]


def run_seeds(seed: int | None) -> tuple[int, int]:
    """The two seeds a run derives from its ``--seed``: one for the initial weights, one for the batches (and
    the validation split). ``python -m npsoftmax.train --seed S`` and ``SoftmaxClassifier(random_state=S)`` both
    use them, so they train the same model."""
    model_seed, data_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    return model_seed, data_seed


class TrainingDiverged(RuntimeError):
    """The loss or the parameters became NaN or infinite."""


class History(list):
    """``train_ch3``'s per-epoch records (a list of dicts), shown in one line rather than a page of dicts.

    With early stopping, ``best_epoch`` is the epoch whose weights the model holds and ``stopped_early`` says
    whether training ended before ``num_epochs``.
    """

    best_epoch: int | None = None
    stopped_early: bool = False

    def __repr__(self) -> str:
        if not self:
            return "History(0 epochs)"
        last = self[-1]
        fields = ", ".join(
            f"{key} {last[key]:.4f}" for key in ("train_loss", "train_acc", "val_acc", "test_acc") if key in last
        )
        return f"History({len(self)} epochs; last: {fields})"


def _as_training_loss(loss: Callable) -> CrossEntropyLoss:
    """The gradient we derived for ``loss``; there is no autograd to differentiate anything else."""
    if isinstance(loss, CrossEntropyLoss):
        return loss
    if loss is cross_entropy:
        return CrossEntropyLoss()
    if loss is naive_cross_entropy:
        return CrossEntropyLoss(naive=True)
    raise TypeError(
        f"loss must be nps.cross_entropy, nps.naive_cross_entropy or an nps.CrossEntropyLoss, got {loss!r}: "
        f"npsoftmax has no autograd, so it trains only losses whose gradient it derives (see loss_and_grad)"
    )


def train_epoch_ch3(
    net: SoftmaxRegression,
    train_iter: Iterable,
    loss: Callable,
    updater: Updater,
    *,
    check_input: bool | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> tuple[float, float]:
    """One pass over ``train_iter``; returns ``(mean training loss, training accuracy)``, as d2l's.

    As in d2l, loss and accuracy are averaged over the batches as they are trained on, each batch
    scored before its update. ``updater`` takes the gradients, ``updater.step((dW, db))``, as
    :class:`npsoftmax.SGD` does. Batches are checked as :func:`npsoftmax.loss_and_grad` checks its input, except
    an :class:`npsoftmax.MinibatchIter`'s, which are valid by construction (``check_input`` overrides).
    ``progress`` wraps the batches (a progress bar); the check is decided on ``train_iter`` itself.
    Unchecked batches are computed into one set of preallocated arrays for the pass
    (:class:`npsoftmax.losses.GradientBuffers`), so the gradients ``step`` receives are valid until the next
    batch: an updater that keeps them copies them.

    Raises
    ------
    TrainingDiverged
        As soon as a batch's loss is NaN or infinite (the parameters are left as they were before it).
    TypeError
        A ``loss`` whose gradient npsoftmax does not know, an ``updater`` without ``step``.
    ValueError
        A batch that does not fit the model (see :func:`npsoftmax.loss_and_grad`), no batch at all.
    """
    loss = _as_training_loss(loss)
    if not callable(getattr(updater, "step", None)):
        raise TypeError(
            f"updater must have a step(grads) method, such as nps.SGD(net.params, lr), got {updater!r}: d2l's "
            f"updater(batch_size) reads the gradients autograd leaves in .grad, and npsoftmax has no autograd"
        )
    if check_input is None:
        check_input = not isinstance(train_iter, MinibatchIter)
    batches = progress(train_iter) if progress is not None else train_iter
    metric = Accumulator(3)  # sum of losses, number correct, number of examples
    buffers = None  # one set for the pass, for batches known valid (so of the model's dtype); grown if need be
    with one_blas_thread(), np.errstate(over="ignore", invalid="ignore"):
        for X, y in batches:
            if not check_input and (buffers is None or len(y) > len(buffers.rows)):
                buffers = GradientBuffers.empty(len(y), net.W)
            batch_loss, dW, db, logits = loss_and_grad(
                X,
                y,
                *net.params,
                loss.weight_decay,
                naive=loss.naive,
                check_input=check_input,
                return_logits=True,
                out=buffers,
            )
            if not math.isfinite(batch_loss):
                overflow = " (the naive softmax overflowed: exp of a logit above 88.7)" if loss.naive else ""
                raise TrainingDiverged(f"the training loss became {float(batch_loss)}{overflow}")
            updater.step((dW, db))
            metric.add(float(batch_loss) * len(y), accuracy(logits, y), len(y))
    if metric[2] == 0:
        raise ValueError("train_iter yielded no examples")
    if not all(np.isfinite(p).all() for p in net.params):
        raise TrainingDiverged("the weights became NaN or infinite")
    return metric[0] / metric[2], metric[1] / metric[2]


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
    ``animate=False`` draws nothing.

    Keyword-only extras:

    - ``val_iter`` adds ``val_loss`` and ``val_acc`` to every record and to the curves;
    - ``patience`` (with ``val_iter``) stops once the validation loss has not improved for that many epochs,
      and puts the best epoch's weights back into ``net``;
    - ``schedule(base_lr, epoch, num_epochs)`` sets each epoch's learning rate (a finite number >= 0);
    - ``on_epoch(record)`` is called after each epoch, ``progress`` wraps each epoch's batches (a progress bar).

    Returns
    -------
    History
        One dict per epoch: ``epoch``, ``lr``, ``train_loss``, ``train_acc``, ``test_acc`` (and ``val_loss``,
        ``val_acc``), ``seconds`` (the training pass) and ``eval_seconds``.

    Raises
    ------
    ValueError
        ``num_epochs`` or ``patience`` not an integer >= 1, ``patience`` without ``val_iter``, a schedule
        giving a learning rate that is not a finite number >= 0; and what :func:`train_epoch_ch3` raises.
    TypeError
        An ``updater`` without ``lr`` and ``step`` (see :class:`npsoftmax.optim.Updater`).
    """
    num_epochs = check_scalar(num_epochs, "num_epochs", int, min_val=1)
    if patience is not None:
        patience = check_scalar(patience, "patience", int, min_val=1)
        if val_iter is None:
            raise ValueError(f"early stopping (patience {patience}) needs a val_iter to watch the validation loss")
    if not isinstance(updater, Updater):
        raise TypeError(
            f"updater must have a learning rate lr and a step(grads) method, such as nps.SGD(net.params, lr), "
            f"got {updater!r}"
        )
    animator = None
    if animate:
        from .plots import Animator, in_notebook

        legend = ["train loss", "train acc", "test acc"] + (["val loss", "val acc"] if val_iter is not None else [])
        animator = Animator(
            xlabel="epoch",
            xlim=(1, num_epochs),
            ylim=(0.3, 0.9),
            legend=legend,
            path=path,
            # Every epoch in a notebook, as d2l; a PNG that is only watched is redrawn once a second at most.
            min_interval=0.0 if in_notebook() else 1.0,
        )
    base_lr = updater.lr
    history = History()
    best = {"val_loss": math.inf, "epoch": 0, "params": None}
    try:
        for epoch in range(num_epochs):
            updater.lr = check_scalar(schedule(base_lr, epoch, num_epochs), "the schedule's lr", float, min_val=0)
            start = time.perf_counter()
            train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater, progress=progress)
            seconds = time.perf_counter() - start
            record = {"epoch": epoch + 1, "lr": updater.lr, "train_loss": train_loss, "train_acc": train_acc}
            if val_iter is not None:
                record["val_loss"], record["val_acc"] = evaluate_loss_and_accuracy(net, val_iter)
            record["test_acc"] = evaluate_accuracy(net, test_iter)
            record |= {"seconds": seconds, "eval_seconds": time.perf_counter() - start - seconds}
            history.append(record)
            if animator is not None:
                curves = [train_loss, train_acc, record["test_acc"]]
                animator.add(epoch + 1, curves + ([record["val_loss"], record["val_acc"]] if val_iter else []))
            if on_epoch is not None:
                on_epoch(record)
            if patience is not None:
                if record["val_loss"] < best["val_loss"]:
                    best = {
                        "val_loss": record["val_loss"],
                        "epoch": epoch + 1,
                        "params": [p.copy() for p in net.params],
                    }
                elif epoch + 1 - best["epoch"] >= patience:
                    history.stopped_early = epoch + 1 < num_epochs
                    break
    finally:
        updater.lr = base_lr
        if animator is not None:
            animator.flush()
    if patience is not None and best["params"] is not None:
        for param, saved in zip(net.params, best["params"], strict=True):
            param[...] = saved
        history.best_epoch = best["epoch"]
    return history


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
