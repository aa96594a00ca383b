"""Minibatch SGD (optionally with momentum) and learning-rate schedules, updating parameters in place."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["SGD", "cosine_lr", "constant_lr"]


class SGD:
    """Minibatch stochastic gradient descent: ``param -= lr * grad``, as the seed's ``sgd`` updater.

    With ``momentum > 0`` it keeps a velocity per parameter (the heavy-ball form PyTorch uses):
    ``v = momentum * v + grad``, ``param -= lr * v``.

    The gradients given to :meth:`step` are already means over the batch (``loss_and_grad`` divides by
    ``n``), so unlike the seed's ``sgd(params, lr, batch_size)`` there is no division by the batch size here.

    Parameters
    ----------
    params : sequence of ndarray
        Updated in place, e.g. ``net.params``.
    lr : float
        Learning rate, finite and >= 0.
    momentum : float, default 0.0
        In [0, 1).
    """

    def __init__(self, params: Sequence[np.ndarray], lr: float, momentum: float = 0.0) -> None:
        if not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"lr must be a finite number >= 0, got {lr}")
        if not (math.isfinite(momentum) and 0 <= momentum < 1):
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.params = list(params)
        for param in self.params:
            if not isinstance(param, np.ndarray) or param.dtype not in (np.float32, np.float64):
                raise TypeError(
                    f"params must be float32 or float64 arrays updated in place, e.g. net.params; got {param!r:.60}"
                )
        self.lr = lr
        self.momentum = momentum
        self._velocity = [np.zeros_like(p) for p in self.params] if momentum else None

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Apply one update from gradients matching ``params`` in shape and order."""
        if len(grads) != len(self.params) or any(g.shape != p.shape for g, p in zip(grads, self.params, strict=False)):
            raise ValueError(
                f"step needs one gradient per parameter, of shapes {[p.shape for p in self.params]}, "
                f"got {[getattr(g, 'shape', g) for g in grads]}"
            )
        if self._velocity is None:
            for param, grad in zip(self.params, grads, strict=True):
                param -= param.dtype.type(self.lr) * grad
            return
        for param, grad, velocity in zip(self.params, grads, self._velocity, strict=True):
            velocity *= velocity.dtype.type(self.momentum)
            velocity += grad
            param -= param.dtype.type(self.lr) * velocity

    __call__ = step


def constant_lr(base_lr: float, epoch: int, num_epochs: int) -> float:
    """The seed's schedule: ``base_lr`` throughout."""
    return base_lr


def cosine_lr(base_lr: float, epoch: int, num_epochs: int) -> float:
    """Cosine annealing per epoch: ``base_lr`` in epoch 0, decaying to ``base_lr / num_epochs``-ish near the end.

    ``lr_e = base_lr * (1 + cos(pi * e / num_epochs)) / 2`` for epochs ``e = 0 .. num_epochs - 1``, so the
    last epoch still takes a small, nonzero step.
    """
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / num_epochs))
