"""``SoftmaxClassifier``: npsoftmax's model as a scikit-learn estimator, for pipelines, searches and Dask.

A thin adapter over the core, as ``lightgbm.sklearn`` and ``xgboost.sklearn`` are: every epoch is
:func:`npsoftmax.train_epoch_ch3` itself (so :func:`npsoftmax.loss_and_grad` and :class:`npsoftmax.SGD` do the
math), on a :class:`npsoftmax.SoftmaxRegression` initialized as the chapter's. scikit-learn is needed only
here: ``pip install 'npsoftmax[sklearn]'``; ``import npsoftmax`` never imports it.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
    from sklearn.utils._param_validation import Interval, Options, StrOptions
    from sklearn.utils.multiclass import _check_partial_fit_first_call, check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:
    raise ImportError(
        "npsoftmax.sklearn needs scikit-learn 1.6 or later, which is not installed: pip install 'npsoftmax[sklearn]'"
    ) from exc

from ._blas import one_blas_thread
from .loader import split_seed, stratified_split
from .losses import CrossEntropyLoss, log_softmax, softmax
from .metrics import evaluate_loss_and_accuracy
from .model import SoftmaxRegression
from .optim import SCHEDULES, SGD
from .training import EarlyStopping, TrainingDiverged, run_seeds, train_epoch_ch3

__all__ = ["SoftmaxClassifier"]

# What a training call builds besides the attributes ending in "_": the model and the updater, the loss, the batch
# order's generator.
_TRAINING_STATE = ("_net", "_updater", "_loss", "_rng")
# What a divergence says to do, wherever it is first seen.
_ADVICE = "lower lr, or standardize X (e.g. a StandardScaler in a Pipeline)"


class _Number(Interval):
    """scikit-learn's ``Interval``, without bools: ``batch_size=True`` is a mistake, not a batch of 1."""

    def is_satisfied_by(self, val) -> bool:
        return not isinstance(val, bool | np.bool_) and super().is_satisfied_by(val)


def _fitted_state(estimator: SoftmaxClassifier) -> dict:
    """What training sets: the attributes ending in "_" (as scikit-learn's ``check_is_fitted`` sees them) and the
    training state."""
    return {
        name: value
        for name, value in vars(estimator).items()
        if (name.endswith("_") and not name.startswith("__")) or name in _TRAINING_STATE
    }


def _restore(estimator: SoftmaxClassifier, state: dict) -> None:
    """Replace what training set by ``state``: an earlier :func:`_fitted_state`, or ``{}`` for unfitted."""
    for name in _fitted_state(estimator):
        delattr(estimator, name)
    vars(estimator).update(state)


def _all_or_nothing(train: Callable) -> Callable:
    """Make a training call leave the estimator as it was when it raises, or unfitted when training diverged
    (wherever the divergence is first seen: in a training batch, or in the early-stopping validation).

    scikit-learn's estimators promise this: never a half-set-up estimator (``classes_`` without a model), never a
    fitted model changed by a call that failed, never a diverged model that predicts NaN. The state before the
    call is copied (the model is updated in place), which costs one copy of the weights per call.
    """

    @functools.wraps(train)
    def call(self: SoftmaxClassifier, *args, **kwargs):
        before = copy.deepcopy(_fitted_state(self))
        try:
            return train(self, *args, **kwargs)
        except TrainingDiverged as exc:
            _restore(self, {})
            if _ADVICE in str(exc):  # worded by _train_epoch
                raise
            raise TrainingDiverged(f"{exc}; {_ADVICE}") from None  # first seen elsewhere: in the validation
        except BaseException:
            _restore(self, before)
            raise

    return call


class SoftmaxClassifier(ClassifierMixin, BaseEstimator):
    """Softmax regression trained by minibatch SGD, the chapter's recipe by default.

    The defaults are d2l's: learning rate 0.1, batches of 256, 10 epochs, ``W ~ N(0, 0.01)``, ``b = 0``,
    float32. An epoch visits the training examples once, in a new random order, and updates the weights
    after every batch (the last, partial batch included); each epoch is :func:`npsoftmax.train_epoch_ch3`.
    With ``random_state=s`` and ``X`` the pixels scaled to [0, 1], ``fit`` computes what
    ``python -m npsoftmax.train --seed s`` does with the same settings.

    Parameters
    ----------
    lr : float, default 0.1
        Learning rate, > 0 (the base rate of ``schedule``).
    batch_size : int, default 256
        Examples per SGD step; a batch larger than the data is the whole data.
    max_iter : int, default 10
        Epochs of ``fit``.
    momentum : float in [0, 1), default 0.0
        Heavy-ball momentum of :class:`npsoftmax.SGD`; 0 is plain SGD.
    alpha : float, default 0.0
        Weight decay: the loss is the mean cross-entropy plus ``alpha / 2 * ||W||^2`` (``b`` is not penalized).
    schedule : {"constant", "cosine"}, default "constant"
        The learning rate of each epoch, :func:`npsoftmax.constant_lr` or :func:`npsoftmax.cosine_lr` over
        ``max_iter`` epochs.
    early_stopping : bool, default False
        Hold out a stratified ``validation_fraction`` of the training data, stop ``fit`` once its loss has not
        improved for ``n_iter_no_change`` epochs, and keep the weights of the best epoch. ``partial_fit``
        trains on what it is given and never stops early.
    validation_fraction : float in (0, 1), default 0.1
        The share of each class held out, with ``early_stopping``.
    n_iter_no_change : int, default 5
        Patience of ``early_stopping``, in epochs.
    random_state : int, RandomState instance or None, default None
        Seeds the initial weights, the order of the batches and the validation split.
    dtype : {np.float32, np.float64, "float32", "float64"}, default np.float32
        Precision of the weights and of the computation; ``X`` is converted to it.
    verbose : int, default 0
        With ``verbose > 0``, one line per epoch on standard output.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels, sorted; any labels ``np.unique`` can sort (integers, strings, {-1, 1}, ...).
    coef_ : ndarray of shape (n_classes, n_features)
        The weights as scikit-learn lays them out: ``W.T``, a view of the model's ``W``.
    intercept_ : ndarray of shape (n_classes,)
        The bias ``b``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, shape (n_features_in_,)
        Only when ``X`` was a DataFrame with string column names.
    n_iter_ : int
        Epochs trained: by the last ``fit`` (the best epoch's count is ``best_iter_``), plus one per
        ``partial_fit`` call.
    loss_curve_ : list of float
        Each epoch's mean training loss, averaged over its batches as they are trained on (penalty included).
    validation_loss_curve_ : list of float or None
        Each epoch's validation loss with ``early_stopping``, else None.
    best_iter_ : int or None
        With ``early_stopping``, the epoch whose weights the model holds, else None.

    Examples
    --------
    >>> import numpy as np
    >>> from npsoftmax.sklearn import SoftmaxClassifier
    >>> X = np.array([[0.0, 1.0], [0.1, 0.9], [1.0, 0.0], [0.9, 0.2]])
    >>> clf = SoftmaxClassifier(lr=1.0, max_iter=50, random_state=0).fit(X, ["on", "on", "off", "off"])
    >>> clf.predict([[0.2, 0.8]]).tolist()
    ['on']
    """

    _parameter_constraints: dict = {
        "lr": [_Number(Real, 0, None, closed="neither")],
        "batch_size": [_Number(Integral, 1, None, closed="left")],
        "max_iter": [_Number(Integral, 1, None, closed="left")],
        "momentum": [_Number(Real, 0, 1, closed="left")],
        "alpha": [_Number(Real, 0, None, closed="left")],
        "schedule": [StrOptions(set(SCHEDULES))],
        "early_stopping": ["boolean"],
        "validation_fraction": [_Number(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [_Number(Integral, 1, None, closed="left")],
        "random_state": [_Number(Integral, 0, 2**32 - 1, closed="both"), np.random.RandomState, None],
        "dtype": [Options(type, {np.float32, np.float64}), StrOptions({"float32", "float64"})],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        lr: float = 0.1,
        batch_size: int = 256,
        max_iter: int = 10,
        momentum: float = 0.0,
        alpha: float = 0.0,
        schedule: str = "constant",
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        random_state: int | np.random.RandomState | None = None,
        dtype: type | str = np.float32,
        verbose: int = 0,
    ) -> None:
        self.lr = lr
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.momentum = momentum
        self.alpha = alpha
        self.schedule = schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose

    # -----------------------------------------------------------------------------------------------------
    # Training

    @_fit_context(prefer_skip_nested_validation=True)
    @_all_or_nothing
    def fit(self, X: ArrayLike, y: ArrayLike) -> SoftmaxClassifier:
        """Train from the chapter's initial weights for ``max_iter`` epochs (fewer with ``early_stopping``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels of any sortable type; at least two distinct ones.

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=np.dtype(self.dtype), order="C")
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"SoftmaxClassifier needs samples of at least 2 classes, but the data contains only one class: "
                f"{self.classes_.tolist()[0]!r}"
            )
        split_seed = self._initialize(X.shape[1])
        validation = None
        if self.early_stopping:
            train_idx, val_idx = stratified_split(codes, self.validation_fraction, split_seed)
            validation = [(X[val_idx], codes[val_idx])]
            X, codes = X[train_idx], codes[train_idx]
        self.validation_loss_curve_ = [] if validation else None
        stopping = EarlyStopping(self.n_iter_no_change) if validation else None
        for epoch in range(self.max_iter):
            self._train_epoch(X, codes, SCHEDULES[self.schedule](self.lr, epoch, self.max_iter))
            if stopping is None:
                continue
            val_loss = evaluate_loss_and_accuracy(self._net, validation)[0]  # TrainingDiverged if it overflows
            self.validation_loss_curve_.append(val_loss)
            if stopping.update(epoch + 1, val_loss, self._net.params):
                break
        if stopping is not None:
            self.best_iter_ = stopping.restore(self._net.params)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @_all_or_nothing
    def partial_fit(self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None) -> SoftmaxClassifier:
        """One epoch over ``(X, y)``, continuing from the current weights (the chapter's on the first call).

        The k-th epoch (counting ``n_iter_`` from 0) runs at the schedule's rate for epoch
        ``min(k, max_iter - 1)`` of ``max_iter``. Momentum carries over from one call to the next.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels, all in ``classes`` (or in ``classes_`` after the first call).
        classes : array-like of shape (n_classes,), default None
            Every label the model will see, at least two; required on the first call (a block of data need
            not hold them all), and if given later, the same as then.

        Returns
        -------
        self
        """
        first_call = _check_partial_fit_first_call(self, classes)
        X, y = validate_data(self, X, y, dtype=np.dtype(self.dtype), order="C", reset=first_call)
        check_classification_targets(y)
        if first_call:
            if len(self.classes_) < 2:
                raise ValueError(f"classes must hold at least 2 labels, got {classes!r}")
            self._initialize(X.shape[1])
        codes = np.searchsorted(self.classes_, y)
        unknown = (codes == len(self.classes_)) | (self.classes_[np.minimum(codes, len(self.classes_) - 1)] != y)
        if unknown.any():
            raise ValueError(
                f"y holds labels not in classes_ {self.classes_.tolist()}, e.g. {y[unknown].tolist()[0]!r}; pass every "
                f"label in classes on the first call to partial_fit"
            )
        epoch = min(self.n_iter_, self.max_iter - 1)
        self._train_epoch(X, codes, SCHEDULES[self.schedule](self.lr, epoch, self.max_iter))
        return self

    def _initialize(self, n_features: int) -> np.random.SeedSequence:
        """Fresh weights, updater and batch order; returns the seed of the validation split.

        The seeds are derived as ``python -m npsoftmax.train`` derives them from ``--seed``, so that one
        ``random_state`` gives the command's weights, batches and split.
        """
        rs = self.random_state
        seed = int(rs.randint(np.iinfo(np.int32).max)) if isinstance(rs, np.random.RandomState) else rs
        model_seed, data_seed = run_seeds(seed)
        self._net = SoftmaxRegression(n_features, len(self.classes_), seed=model_seed, dtype=np.dtype(self.dtype))
        self._updater = SGD(self._net.params, lr=self.lr, momentum=self.momentum)
        self._loss = CrossEntropyLoss(weight_decay=self.alpha)
        self._rng = np.random.default_rng(data_seed)
        self.n_iter_, self.loss_curve_, self.validation_loss_curve_, self.best_iter_ = 0, [], None, None
        return split_seed(data_seed)

    def _train_epoch(self, X: np.ndarray, codes: np.ndarray, lr: float) -> None:
        """One pass of :func:`npsoftmax.train_epoch_ch3` over ``X`` in shuffled batches, at ``lr``."""
        self._updater.lr = lr
        try:
            with one_blas_thread():  # the loop's small products, as fit_epochs runs them
                loss, acc = train_epoch_ch3(
                    self._net, self._batches(X, codes), self._loss, self._updater, check_input=False
                )
        except TrainingDiverged as exc:
            raise TrainingDiverged(
                f"{exc} in epoch {self.n_iter_ + 1} at lr {lr:g}; lower lr, or standardize X "
                f"(e.g. a StandardScaler in a Pipeline)"
            ) from None
        self.n_iter_ += 1
        self.loss_curve_.append(loss)
        if self.verbose:
            print(f"epoch {self.n_iter_}  lr {lr:.4g}  loss {loss:.4f}  train acc {acc:.4f}", flush=True)

    def _batches(self, X: np.ndarray, codes: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Shuffled batches ``(X_b, y_b)`` gathered into two buffers that the pass reuses.

        The order is one ``permutation`` of the rows per pass, the draw :class:`npsoftmax.MinibatchIter`
        makes, so the same seed gives the same batches as the chapter's loader. A batch is consumed before
        the next is requested (``train_epoch_ch3`` does), so one buffer serves the whole pass.
        """
        order = self._rng.permutation(len(X))
        size = min(self.batch_size, len(X))
        X_batch, y_batch = np.empty((size, X.shape[1]), X.dtype), np.empty(size, np.int64)
        for start in range(0, len(X), size):
            rows = order[start : start + size]
            # The rows are valid by construction; mode="clip" skips the buffered copy that "raise" makes.
            np.take(X, rows, axis=0, out=X_batch[: len(rows)], mode="clip")
            np.take(codes, rows, out=y_batch[: len(rows)], mode="clip")
            yield X_batch[: len(rows)], y_batch[: len(rows)]

    # -----------------------------------------------------------------------------------------------------
    # Prediction

    @property
    def coef_(self) -> np.ndarray:
        return self._net.W.T

    @property
    def intercept_(self) -> np.ndarray:
        return self._net.b

    def _logits(self, X: ArrayLike) -> np.ndarray:
        check_is_fitted(self)
        # X keeps its numeric dtype: the model converts it a chunk at a time, not a float copy of it all.
        X = validate_data(self, X, dtype="numeric", reset=False)
        return self._net.forward(X)

    def decision_function(self, X: ArrayLike) -> np.ndarray:
        """The logits ``X @ coef_.T + intercept_``, shape (n_samples, n_classes).

        For two classes, the log-odds of ``classes_[1]``, shape (n_samples,), as scikit-learn's binary
        classifiers give it.
        """
        logits = self._logits(X)
        return logits[:, 1] - logits[:, 0] if len(self.classes_) == 2 else logits

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Class probabilities ``softmax(logits)``, shape (n_samples, n_classes), columns in ``classes_`` order."""
        return softmax(self._logits(X))

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """``log(predict_proba(X))`` by log-sum-exp, finite where the probability underflows to 0."""
        return log_softmax(self._logits(X))

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable label of each example, shape (n_samples,), from ``classes_``."""
        logits = self._logits(X)
        return self.classes_[logits.argmax(axis=1)]
