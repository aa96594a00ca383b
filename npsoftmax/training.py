"""The training loop, which draws nothing: ``train_epoch_ch3`` (d2l's, call for call) and ``fit_epochs``.

``train_epoch_ch3`` keeps d2l's name, arguments and meaning. ``loss`` is :func:`npsoftmax.cross_entropy`
itself (or a :class:`npsoftmax.CrossEntropyLoss` for weight decay or d2l's naive formulas), the backward pass,
which autograd does in the chapter, is :func:`npsoftmax.loss_and_grad`, and ``updater`` is any
:class:`npsoftmax.optim.Updater` (``lr`` and ``step(grads)``), such as :class:`npsoftmax.SGD`.
``fit_epochs`` runs the epochs, evaluating after each; the chapter's ``train_ch3`` and ``predict_ch3``, which
draw, are :mod:`npsoftmax.ch3`'s.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from ._blas import one_blas_thread
from .loader import checked_batches
from .losses import CrossEntropyLoss, cross_entropy, loss_and_grad, naive_cross_entropy
from .metrics import TrainingDiverged, accuracy, evaluate_accuracy, evaluate_loss_and_accuracy
from .model import SoftmaxRegression
from .optim import Updater, constant_lr
from .validation import check_scalar

__all__ = ["run_seeds", "History", "TrainingDiverged", "EarlyStopping", "train_epoch_ch3", "fit_epochs"]


def run_seeds(seed: int | None) -> tuple[int, int]:
    """The two seeds a run derives from its ``--seed``: one for the initial weights, one for the batches (and
    the validation split). ``python -m npsoftmax.train --seed S`` and ``SoftmaxClassifier(random_state=S)`` both
    use them, so they train the same model."""
    model_seed, data_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(2))
    return model_seed, data_seed


class History(list):
    """The per-epoch records of ``fit_epochs`` (and ``train_ch3``), a list of dicts shown in one line.

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


# The losses npsoftmax knows the gradient of, made once: a CrossEntropyLoss checks its settings when made.
_TRAINED_LOSSES = {cross_entropy: CrossEntropyLoss(), naive_cross_entropy: CrossEntropyLoss(naive=True)}


def _as_training_loss(loss: Callable) -> CrossEntropyLoss:
    """The gradient we derived for ``loss``; there is no autograd to differentiate anything else."""
    trained = loss if isinstance(loss, CrossEntropyLoss) else _TRAINED_LOSSES.get(loss)
    if trained is None:
        raise TypeError(
            f"loss must be nps.cross_entropy, nps.naive_cross_entropy or an nps.CrossEntropyLoss, got {loss!r}: "
            f"npsoftmax has no autograd, so it trains only losses whose gradient it derives (see loss_and_grad)"
        )
    return trained


@np.errstate(over="ignore", invalid="ignore")  # a diverging batch ends the epoch as TrainingDiverged, not warnings
def train_epoch_ch3(
    net: SoftmaxRegression,
    train_iter: Iterable,
    loss: Callable,
    updater: Updater,
    *,
    check_input: bool = True,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> tuple[float, float]:
    """One pass over ``train_iter``; returns ``(mean training loss, training accuracy)``, as d2l's.

    As in d2l, loss and accuracy are averaged over the batches as they are trained on, each batch
    scored before its update. ``updater`` takes the gradients, ``updater.step((dW, db))``, as
    :class:`npsoftmax.SGD` does. Batches are checked as :func:`npsoftmax.loss_and_grad` checks its input, except
    an :class:`npsoftmax.MinibatchIter`'s, which are valid by construction (see
    :func:`npsoftmax.loader.checked_batches`); ``check_input=False`` trusts every batch (a caller that made them
    valid). ``progress`` wraps the batches (a progress bar).

    Raises
    ------
    TrainingDiverged
        As soon as a batch's loss is NaN or infinite (the parameters are left as they were before it).
    TypeError
        A ``loss`` whose gradient npsoftmax does not know, an ``updater`` without ``step`` (d2l's
        ``updater(batch_size)`` reads the gradients autograd leaves in ``.grad``; npsoftmax has no autograd, and
        passes them in).
    ValueError
        A batch that does not fit the model (see :func:`npsoftmax.loss_and_grad`), no batch at all.
    """
    loss = _as_training_loss(loss)
    if not callable(getattr(updater, "step", None)):
        raise TypeError(f"updater must have a step(grads) method, such as nps.SGD(net.params, lr); got {updater!r}")
    batches = checked_batches(train_iter, net.W, net.b) if check_input else train_iter
    total_loss, n_correct, n_examples = 0.0, 0, 0
    for X, y in progress(batches) if progress is not None else batches:
        batch_loss, dW, db, logits = loss_and_grad(
            X, y, net.W, net.b, loss.weight_decay, naive=loss.naive, check_input=False, return_logits=True
        )
        if not math.isfinite(batch_loss):
            overflow = " (the naive softmax overflowed: exp of a logit above 88.7)" if loss.naive else ""
            raise TrainingDiverged(f"the training loss became {float(batch_loss)}{overflow}")
        updater.step((dW, db))
        total_loss += float(batch_loss) * len(y)
        n_correct += accuracy(logits, y)
        n_examples += len(y)
    if n_examples == 0:
        raise ValueError("train_iter yielded no examples")
    if not (np.isfinite(net.W).all() and np.isfinite(net.b).all()):
        raise TrainingDiverged("the weights became NaN or infinite")
    return total_loss / n_examples, n_correct / n_examples


class EarlyStopping:
    """Stop once the validation loss has not improved for ``patience`` epochs, and keep the best epoch's weights.

    After each epoch, :meth:`update` takes the epoch's number (from 1), its validation loss and the parameters,
    copies them when the loss is the lowest so far, and says whether to stop; :meth:`restore` puts the best
    epoch's parameters back in place and returns its number. :func:`fit_epochs` and
    :class:`npsoftmax.sklearn.SoftmaxClassifier` stop this way.

    Raises
    ------
    ValueError
        ``patience`` not an integer >= 1.
    """

    def __init__(self, patience: int) -> None:
        self.patience = check_scalar(patience, "patience", int, min_val=1)
        self.best_loss, self.best_epoch, self.best_params = math.inf, 0, None

    def update(self, epoch: int, val_loss: float, params: Sequence[np.ndarray]) -> bool:
        """Record epoch ``epoch``'s validation loss; True once ``patience`` epochs have passed without a lower one."""
        if val_loss < self.best_loss:
            self.best_loss, self.best_epoch, self.best_params = val_loss, epoch, [p.copy() for p in params]
            return False
        return epoch - self.best_epoch >= self.patience

    def restore(self, params: Sequence[np.ndarray]) -> int | None:
        """Copy the best epoch's parameters into ``params``; its number, or None before any epoch improved."""
        if self.best_params is None:
            return None
        for param, saved in zip(params, self.best_params, strict=True):
            param[...] = saved
        return self.best_epoch


def fit_epochs(
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
    on_epoch: Callable[[dict], None] | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> History:
    """Train for ``num_epochs`` with :func:`train_epoch_ch3`, evaluating after each epoch; draws nothing.

    The six positional arguments are d2l's ``train_ch3``'s; ``updater`` is an :class:`npsoftmax.optim.Updater`.
    Training and evaluation run their small matrix products on one BLAS thread: two stall whenever another
    process holds the second core.

    Keyword-only extras:

    - ``val_iter`` adds ``val_loss`` and ``val_acc`` to every record;
    - ``patience`` (with ``val_iter``) stops once the validation loss has not improved for that many epochs,
      and puts the best epoch's weights back into ``net`` (:class:`EarlyStopping`);
    - ``schedule(base_lr, epoch, num_epochs)`` sets each epoch's learning rate (a finite number >= 0);
    - ``on_epoch(record)`` is called after each epoch, ``progress`` wraps each epoch's batches (a progress bar).

    Every iterator is read once per epoch, so it must be iterable again: a list of ``(X, y)`` batches, a
    :class:`npsoftmax.MinibatchIter` or the iterators of :func:`npsoftmax.load_data_fashion_mnist`, not a
    generator (refused before training when there is more than one epoch).

    Returns
    -------
    History
        One dict per epoch: ``epoch``, ``lr``, ``train_loss``, ``train_acc``, ``test_acc`` (and ``val_loss``,
        ``val_acc``), ``seconds`` (the training pass) and ``eval_seconds``.

    Raises
    ------
    ValueError
        ``num_epochs`` or ``patience`` not an integer >= 1, ``patience`` without ``val_iter``, a one-shot
        iterator for more than one epoch, a schedule giving a learning rate that is not a finite number >= 0;
        and what :func:`train_epoch_ch3` raises.
    TypeError
        An ``updater`` without ``lr`` and ``step`` (see :class:`npsoftmax.optim.Updater`).
    TrainingDiverged
        A NaN or infinite loss or weights in training, or logits in evaluation.
    """
    num_epochs = check_scalar(num_epochs, "num_epochs", int, min_val=1)
    stopping = None if patience is None else EarlyStopping(patience)
    if stopping is not None and val_iter is None:
        raise ValueError(f"early stopping (patience {patience}) needs a val_iter to watch the validation loss")
    if not isinstance(updater, Updater):
        raise TypeError(
            f"updater must have a learning rate lr and a step(grads) method, such as nps.SGD(net.params, lr), "
            f"got {updater!r}"
        )
    if num_epochs > 1:
        _check_reiterable(train_iter=train_iter, test_iter=test_iter, val_iter=val_iter)
    base_lr, history = updater.lr, History()
    try:
        with one_blas_thread():
            for epoch in range(1, num_epochs + 1):
                updater.lr = check_scalar(
                    schedule(base_lr, epoch - 1, num_epochs), "the schedule's lr", float, min_val=0
                )
                start = time.perf_counter()
                train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater, progress=progress)
                seconds = time.perf_counter() - start
                record = {"epoch": epoch, "lr": updater.lr, "train_loss": train_loss, "train_acc": train_acc}
                if val_iter is not None:
                    record["val_loss"], record["val_acc"] = evaluate_loss_and_accuracy(net, val_iter)
                record["test_acc"] = evaluate_accuracy(net, test_iter)
                record |= {"seconds": seconds, "eval_seconds": time.perf_counter() - start - seconds}
                history.append(record)
                if on_epoch is not None:
                    on_epoch(record)
                if stopping is not None and stopping.update(epoch, record["val_loss"], (net.W, net.b)):
                    history.stopped_early = epoch < num_epochs
                    break
    finally:
        updater.lr = base_lr
    if stopping is not None:
        history.best_epoch = stopping.restore((net.W, net.b))
    return history


def _check_reiterable(**iterables: Iterable | None) -> None:
    """Refuse a one-shot iterator (``iter(x) is x``, such as a generator): it would be empty from epoch 2 on."""
    for name, iterable in iterables.items():
        if isinstance(iterable, Iterator):  # asked without calling iter(), which may start work (a DataLoader's)
            raise ValueError(
                f"{name} is a one-shot iterator ({type(iterable).__name__}), empty after one epoch; pass a list of "
                f"(X, y) batches, a MinibatchIter, or the iterators of load_data_fashion_mnist"
            )
