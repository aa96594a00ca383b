"""The updater protocol, minibatch SGD (optionally with momentum) and learning-rate schedules.

An updater is anything with a mutable learning rate ``lr`` and a method ``step(grads)`` that updates its
parameters in place from gradients in the parameters' order (:class:`Updater`). :class:`SGD` is one; the
training functions accept any other. Hyperparameters and parameters are checked once, in ``__init__``:
``step`` runs once per batch and trusts its gradients to have the parameters' shapes, as
:func:`npsoftmax.loss_and_grad` returns them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from .validation import check_scalar

__all__ = ["Updater", "SGD", "cosine_lr", "constant_lr", "SCHEDULES"]


@runtime_checkable
class Updater(Protocol):
    """What :func:`npsoftmax.train_epoch_ch3` and :func:`npsoftmax.train_ch3` need of an optimizer.

    Attributes
    ----------
    lr : float
        The learning rate of the next steps. ``train_ch3`` sets it each epoch from its ``schedule`` and puts
        the base rate back when it returns.

    Methods
    -------
    step(grads)
        Update the parameters in place, one step, from ``grads``: a sequence of arrays of the parameters'
        shapes, in their order (``(dW, db)`` for :class:`npsoftmax.SoftmaxRegression`). The gradients are
        already means over the batch.

    d2l's ``updater(batch_size)`` reads the gradients autograd leaves in ``.grad``; without autograd, the
    gradients are passed in.
    """

    lr: float

    def step(self, grads: Sequence[np.ndarray]) -> None: ...


class SGD:
    """Minibatch stochastic gradient descent: ``param -= lr * grad``, as d2l's ``sgd`` updater; an :class:`Updater`.

    With ``momentum > 0`` it keeps a velocity per parameter (the heavy-ball form PyTorch uses):
    ``v = momentum * v + grad``, ``param -= lr * v``.

    The gradients given to :meth:`step` are already means over the batch (``loss_and_grad`` divides by
    ``n``), so unlike d2l's ``sgd(params, lr, batch_size)`` there is no division by the batch size here.

    Parameters
    ----------
    params : sequence of ndarray
        float32 or float64 arrays, updated in place, e.g. ``net.params``.
    lr : float
        Learning rate, finite and >= 0.
    momentum : float, default 0.0
        In [0, 1).

    Raises
    ------
    ValueError
        ``lr`` or ``momentum`` not a number in its range (a bool is not a number).
    TypeError
        A parameter that is not a float32 or float64 array.
    """

    def __init__(self, params: Sequence[np.ndarray], lr: float, momentum: float = 0.0) -> None:
        lr = check_scalar(lr, "lr", float, min_val=0)
        momentum = check_scalar(momentum, "momentum", float, min_val=0, max_val=1, include_boundaries="left")
        self.params = list(params)
        for param in self.params:
            if not isinstance(param, np.ndarray) or param.dtype not in (np.float32, np.float64):
                raise TypeError(
                    f"params must be float32 or float64 arrays updated in place, e.g. net.params; got {param!r:.60}"
                )
        self.lr = lr
        self.momentum = momentum
        self._velocity = [np.zeros_like(p) if momentum else None for p in self.params]

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Apply one update from ``grads``, one per parameter, of the parameters' shapes and in their order.

        Shapes are not checked: this runs once per batch, and :func:`npsoftmax.loss_and_grad` returns
        gradients of the parameters' shapes. A different count is refused before anything is updated.
        """
        if len(grads) != len(self.params):
            shapes = [p.shape for p in self.params]
            raise ValueError(
                f"step needs one gradient per parameter, {len(shapes)} of shapes {shapes}, got {len(grads)}"
            )
        for param, grad, velocity in zip(self.params, grads, self._velocity, strict=True):
            if self.momentum:
                velocity *= velocity.dtype.type(self.momentum)
                velocity += grad
                grad = velocity
            param -= param.dtype.type(self.lr) * grad

    __call__ = step


def _check_schedule_arguments(base_lr: float, epoch: int, num_epochs: int) -> tuple[float, int, int]:
    num_epochs = check_scalar(num_epochs, "num_epochs", int, min_val=1)
    epoch = check_scalar(epoch, "epoch", int, min_val=0, max_val=num_epochs - 1)
    return check_scalar(base_lr, "base_lr", float, min_val=0), epoch, num_epochs


def constant_lr(base_lr: float, epoch: int, num_epochs: int) -> float:
    """d2l's schedule: ``base_lr`` (a finite number >= 0) in every epoch ``0 <= epoch < num_epochs``."""
    base_lr, _, _ = _check_schedule_arguments(base_lr, epoch, num_epochs)
    return base_lr


def cosine_lr(base_lr: float, epoch: int, num_epochs: int) -> float:
    """Cosine annealing per epoch: ``base_lr`` in epoch 0, decaying to ``base_lr / num_epochs``-ish near the end.

    ``lr_e = base_lr * (1 + cos(pi * e / num_epochs)) / 2`` for epochs ``e = 0 .. num_epochs - 1``, so the
    last epoch still takes a small, nonzero step. ``base_lr`` is a finite number >= 0.
    """
    base_lr, epoch, num_epochs = _check_schedule_arguments(base_lr, epoch, num_epochs)
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / num_epochs))


# The schedules by the name the command line (--schedule) and the scikit-learn estimator (schedule=) give them.
SCHEDULES: dict[str, Callable[[float, int, int], float]] = {"constant": constant_lr, "cosine": cosine_lr}
