"""SoftmaxClassifier: scikit-learn's estimator checks, the chapter's training to 1e-6, and real Fashion-MNIST in
pipelines, searches, cross-validation, pickles and clones, and the command line's accuracy."""

from __future__ import annotations

import pickle
import subprocess
import sys
import tracemalloc
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

import npsoftmax as nps
from npsoftmax.sklearn import SoftmaxClassifier
from npsoftmax.training import TrainingDiverged

# --------------------------------------------------------------------------------------------------------
# scikit-learn's own checks


@parametrize_with_checks([SoftmaxClassifier()])
def test_scikit_learn_estimator_checks(estimator, check, monkeypatch) -> None:
    # check_array_api_input runs with NumPy arrays once scipy's array API flag is on, and skips otherwise.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


def test_invalid_parameters_raise_scikit_learns_error_in_fit_and_partial_fit() -> None:
    check_param_validation("SoftmaxClassifier", SoftmaxClassifier())


# --------------------------------------------------------------------------------------------------------
# scikit-learn stays optional


# One interpreter answers both questions: which sklearn modules ``import npsoftmax`` loads, then (with
# scikit-learn made unimportable, as where it is not installed) how ``import npsoftmax.sklearn`` fails.
WITHOUT_SCIKIT_LEARN = """import sys, npsoftmax
print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'), flush=True)
sys.modules['sklearn'] = None  # None in sys.modules makes `import sklearn` fail as it does where it is not installed
import npsoftmax.sklearn
"""


@pytest.fixture(scope="module")
def without_scikit_learn() -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WITHOUT_SCIKIT_LEARN], capture_output=True, text=True, timeout=120)


def test_import_npsoftmax_does_not_import_scikit_learn(without_scikit_learn) -> None:
    assert without_scikit_learn.stdout.strip() == "[]", without_scikit_learn.stderr


def test_without_scikit_learn_the_import_error_names_the_extra(without_scikit_learn) -> None:
    assert without_scikit_learn.returncode == 1
    last_line = without_scikit_learn.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: npsoftmax.sklearn needs scikit-learn")
    assert "pip install 'npsoftmax[sklearn]'" in last_line


# --------------------------------------------------------------------------------------------------------
# Real Fashion-MNIST


@pytest.fixture(scope="module")
def fashion(fashion_mnist_home):
    """``(images_train, y_train, images_test, y_test)``: uint8 images (n, 28, 28) and labels."""
    return nps.load_fashion_mnist(fashion_mnist_home, download=False)


def pixels(images: np.ndarray) -> np.ndarray:
    """float32 (n, 784) in [0, 1], computed as the chapter's loader computes its batches, bit for bit."""
    return images.reshape(len(images), -1).astype(np.float32) * np.float32(1 / 255)


def subset(images: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` examples as float64 features in [0, 1], the way a user hands them to scikit-learn."""
    return images[:n].reshape(n, -1) / 255.0, labels[:n]


def test_fit_gives_train_ch3_s_weights(fashion_mnist_home, fashion) -> None:
    """The command line's code path and the estimator, with every option that changes the training on."""
    from npsoftmax import train

    config = train.Config(
        data_dir=str(fashion_mnist_home),
        download=False,
        quiet=True,
        seed=3,
        epochs=8,
        lr=0.3,
        momentum=0.9,
        weight_decay=1e-3,
        schedule="cosine",
        val_split=0.1,
        early_stopping=1,
    )
    setup = train.build(config)
    history = train.fit(config, setup)
    clf = SoftmaxClassifier(
        lr=0.3,
        max_iter=8,
        momentum=0.9,
        alpha=1e-3,
        schedule="cosine",
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=1,
        random_state=3,
    ).fit(pixels(fashion[0]), fashion[1])

    # These settings stop early after an epoch that is not the best, so the test covers the restore too.
    assert history.stopped_early and history.best_epoch < len(history)
    assert (clf.n_iter_, clf.best_iter_) == (len(history), history.best_epoch)
    np.testing.assert_allclose(clf.coef_.T, setup.net.W, rtol=0, atol=1e-6)
    np.testing.assert_allclose(clf.intercept_, setup.net.b, rtol=0, atol=1e-6)
    np.testing.assert_allclose(clf.loss_curve_, [r["train_loss"] for r in history], rtol=1e-6)
    np.testing.assert_allclose(clf.validation_loss_curve_, [r["val_loss"] for r in history], rtol=1e-5)


def test_max_iter_10_is_as_accurate_as_the_command_line(default_run, fashion) -> None:
    assert default_run.returncode == 0, default_run.stderr
    metrics = default_run.metrics()  # the command line's own run, shared with the other tests
    seed, cli_acc = metrics["config"]["seed"], metrics["test_acc"]
    assert metrics["config"]["epochs"] == 10 and metrics["config"]["val_split"] is None
    images_train, y_train, images_test, y_test = fashion
    # The command's default --seed is 0; users pass float64 pixels, which the model rounds to float32.
    clf = SoftmaxClassifier(max_iter=10, random_state=seed).fit(images_train.reshape(60000, -1) / 255, y_train)
    test_acc = clf.score(images_test.reshape(10000, -1) / 255, y_test)
    assert abs(test_acc - cli_acc) <= 0.003
    assert 0.80 < test_acc < 0.86, "the chapter's recipe reaches about 0.83 after 10 epochs"


def test_grid_search_over_lr_and_alpha_in_a_pipeline(fashion) -> None:
    X, y = subset(fashion[0], fashion[1], 6000)
    X_test, y_test = subset(fashion[2], fashion[3], 2000)
    pipe = Pipeline([("scale", StandardScaler()), ("clf", SoftmaxClassifier(max_iter=5, random_state=0))])
    grid = {"clf__lr": [0.01, 0.1, 3.0], "clf__alpha": [0.0, 1e-2]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)

    assert search.cv_results_["mean_test_score"].shape == (6,)
    # lr 3.0 on standardized pixels overshoots and 0.01 is too slow for 5 epochs: the search finds 0.1.
    assert search.best_params_["clf__lr"] == 0.1
    assert 0.78 < search.best_score_ < 0.86
    # The refit pipeline is the best candidate trained on all of X.
    refit = clone(pipe).set_params(**search.best_params_).fit(X, y)
    np.testing.assert_array_equal(search.predict(X_test), refit.predict(X_test))
    assert search.score(X_test, y_test) > 0.78


def test_cross_val_score_is_a_loop_of_clones_over_stratified_folds(fashion) -> None:
    X, y = subset(fashion[0], fashion[1], 5000)
    clf = SoftmaxClassifier(random_state=0)
    scores = cross_val_score(clf, X, y, cv=5)
    by_hand = [
        clone(clf).fit(X[train_idx], y[train_idx]).score(X[test_idx], y[test_idx])
        for train_idx, test_idx in StratifiedKFold(5).split(X, y)
    ]
    np.testing.assert_array_equal(scores, by_hand)
    assert scores.min() > 0.7


def test_pickle_and_clone_round_trips(fashion) -> None:
    X, y = subset(fashion[0], fashion[1], 3000)
    clf = SoftmaxClassifier(momentum=0.9, max_iter=3, random_state=1).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    # The pickle keeps the whole training state (velocity, batch order): both continue alike.
    clf.partial_fit(X, y)
    copy.partial_fit(X, y)
    np.testing.assert_array_equal(copy.coef_, clf.coef_)
    np.testing.assert_array_equal(copy.intercept_, clf.intercept_)

    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "classes_")
    np.testing.assert_array_equal(fresh.fit(X, y).coef_, SoftmaxClassifier(**clf.get_params()).fit(X, y).coef_)


# --------------------------------------------------------------------------------------------------------
# The estimator's own behaviour, on a small real subset


@pytest.fixture(scope="module")
def small(fashion) -> tuple[np.ndarray, np.ndarray]:
    return subset(fashion[0], fashion[1], 2000)


def test_predictions_are_softmax_of_the_logits_as_torch_computes_them(small) -> None:
    X, y = small
    clf = SoftmaxClassifier(dtype=np.float64, random_state=0).fit(X, y)
    logits = torch.from_numpy(X) @ torch.from_numpy(clf.coef_.T.copy()) + torch.from_numpy(clf.intercept_)
    np.testing.assert_allclose(clf.decision_function(X), logits.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X), torch.softmax(logits, 1).numpy(), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(clf.predict_log_proba(X), torch.log_softmax(logits, 1).numpy(), rtol=1e-10)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[logits.argmax(1).numpy()])
    assert clf.coef_.shape == (10, 784) and clf.intercept_.shape == (10,) and clf.coef_.dtype == np.float64
    assert clf.n_features_in_ == 784 and clf.n_iter_ == 10 and len(clf.loss_curve_) == 10
    assert clf.loss_curve_[-1] < clf.loss_curve_[0] < np.log(10) + 0.1


def test_log_proba_stays_finite_where_the_probability_underflows(small) -> None:
    X, y = small
    clf = SoftmaxClassifier(random_state=0).fit(X, y)
    far = X[:5] * 1e4  # logits of order 1e3: exp underflows to 0 for every class but the best
    assert (clf.predict_proba(far) == 0).any()
    assert np.isfinite(clf.predict_log_proba(far)).all()


def test_any_labels_strings_and_minus_one_one(small) -> None:
    X, y = small
    names = np.array(nps.get_fashion_mnist_labels(y))
    by_code = SoftmaxClassifier(random_state=0).fit(X, np.unique(names, return_inverse=True)[1])
    by_name = SoftmaxClassifier(random_state=0).fit(X, names)
    np.testing.assert_array_equal(by_name.coef_, by_code.coef_)
    np.testing.assert_array_equal(by_name.predict(X), by_name.classes_[by_code.predict(X)])
    assert by_name.score(X, names) > 0.75

    # Binary: trousers (1) against the rest, as -1 / 1.
    signs = np.where(y == 1, 1, -1)
    binary = SoftmaxClassifier(random_state=0).fit(X, signs)
    logits = X @ binary.coef_.T.astype(np.float64) + binary.intercept_
    assert binary.classes_.tolist() == [-1, 1] and binary.coef_.shape == (2, 784)
    np.testing.assert_allclose(binary.decision_function(X), logits[:, 1] - logits[:, 0], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(binary.predict(X), np.where(binary.decision_function(X) > 0, 1, -1))
    assert binary.score(X, signs) > 0.95


def test_partial_fit_calls_are_fit_s_epochs(small) -> None:
    X, y = small
    settings = {"max_iter": 3, "momentum": 0.9, "schedule": "cosine", "alpha": 1e-3, "random_state": 5}
    fitted = SoftmaxClassifier(**settings).fit(X, y)
    stepped = SoftmaxClassifier(**settings)
    for _ in range(3):
        stepped.partial_fit(X, y, classes=np.arange(10))
    np.testing.assert_array_equal(stepped.coef_, fitted.coef_)
    assert stepped.n_iter_ == 3 and stepped.loss_curve_ == fitted.loss_curve_


def test_partial_fit_needs_every_class_first_and_refuses_others_later(small) -> None:
    X, y = small
    clf = SoftmaxClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    with pytest.raises(ValueError, match="at least 2 labels"):
        clf.partial_fit(X, y, classes=[3])
    assert not hasattr(clf, "classes_")
    clf.partial_fit(X[y < 5], y[y < 5], classes=np.arange(10))  # a block need not hold every class
    assert clf.classes_.tolist() == list(range(10))
    with pytest.raises(ValueError, match=r"labels not in classes_ .* e\.g\. 10"):
        clf.partial_fit(X[:3], [1, 10, 2])
    with pytest.raises(ValueError, match="not the same as on last call"):
        clf.partial_fit(X, y, classes=np.arange(11))


def test_one_class_is_refused(small) -> None:
    X, _ = small
    with pytest.raises(ValueError, match="at least 2 classes.*only one class: 'shirt'"):
        SoftmaxClassifier().fit(X, ["shirt"] * len(X))


def test_early_stopping_keeps_the_best_epoch(small) -> None:
    X, y = small
    # An overshooting rate on 1800 examples makes the validation loss wander, so patience 2 runs out.
    clf = SoftmaxClassifier(lr=5.0, max_iter=40, early_stopping=True, n_iter_no_change=2, random_state=0).fit(X, y)
    best = clf.best_iter_
    assert clf.n_iter_ == best + 2 < 40
    assert clf.validation_loss_curve_[best - 1] == min(clf.validation_loss_curve_)
    assert min(clf.validation_loss_curve_[best:]) >= clf.validation_loss_curve_[best - 1]


def test_early_stopping_refuses_a_split_that_empties_a_class(small) -> None:
    X, y = small
    with pytest.raises(ValueError, match="each side needs at least one"):
        SoftmaxClassifier(early_stopping=True, validation_fraction=0.01).fit(X[:60], y[:60])


def test_verbose_prints_a_line_per_epoch(small, capsys) -> None:
    X, y = small
    SoftmaxClassifier(max_iter=3, verbose=1, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [["epoch", "1"], ["epoch", "2"], ["epoch", "3"]]
    SoftmaxClassifier(max_iter=3, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


def test_divergence_says_what_to_do(small) -> None:
    X, y = small
    with pytest.raises(TrainingDiverged, match=r"in epoch \d+ at lr 1e\+30; lower lr, or standardize X"):
        SoftmaxClassifier(lr=1e30, random_state=0).fit(X * 255, y)


def test_a_divergence_first_seen_in_the_early_stopping_validation_is_a_divergence(small) -> None:
    """One batch of every example at lr 1e38: the batch's loss and the weights after it are finite, the logits
    of the held-out examples overflow; under warnings as errors too."""
    X, y = small
    clf = SoftmaxClassifier(lr=1e38, batch_size=len(X), early_stopping=True, random_state=0)
    with warnings.catch_warnings(), pytest.raises(TrainingDiverged, match="logits became NaN or infinite"):
        warnings.simplefilter("error")
        clf.fit(X, y)


@pytest.mark.parametrize("dtype", [np.float64, "float64", np.float32, "float32"])
def test_dtype_sets_the_precision_of_weights_and_outputs(small, dtype) -> None:
    X, y = small
    clf = SoftmaxClassifier(max_iter=1, dtype=dtype, random_state=0).fit(X, y)
    assert clf.coef_.dtype == clf.intercept_.dtype == clf.predict_proba(X).dtype == np.dtype(dtype)


# --------------------------------------------------------------------------------------------------------
# A call that raises leaves the estimator as it was, or unfitted: never half set up


def fitted_state(clf: SoftmaxClassifier) -> dict:
    """Everything a training call can change, copied: the attributes, the weights, the velocity, the batch order."""
    state = {name: value for name, value in vars(clf).items() if name not in clf.get_params()}
    state = pickle.loads(pickle.dumps(state))
    if "_rng" in state:
        state["_rng"] = state["_rng"].bit_generator.state
    return state


def assert_same_state(clf: SoftmaxClassifier, expected: dict) -> None:
    state = fitted_state(clf)
    assert state.keys() == expected.keys()
    for name, value in expected.items():
        if name == "_net":
            np.testing.assert_array_equal(state[name].W, value.W)
            np.testing.assert_array_equal(state[name].b, value.b)
        elif name == "_updater":
            assert state[name].lr == value.lr and state[name].momentum == value.momentum
            for v, w in zip(state[name]._velocity or [], value._velocity or [], strict=True):
                np.testing.assert_array_equal(v, w)
        elif name != "_loss":
            np.testing.assert_equal(state[name], value)


def assert_unfitted(clf: SoftmaxClassifier, X: np.ndarray) -> None:
    assert fitted_state(clf) == {}, "a fresh estimator's attributes only"
    for method in (clf.predict, clf.predict_proba, clf.predict_log_proba, clf.decision_function):
        with pytest.raises(NotFittedError):
            method(X)
    assert not hasattr(clf, "coef_") and not hasattr(clf, "intercept_")


class InterruptedWrite:
    """A standard output whose first write raises KeyboardInterrupt: Ctrl-C after an epoch has updated the
    weights, while its ``verbose`` line is printed."""

    def write(self, text: str) -> int:
        raise KeyboardInterrupt

    def flush(self) -> None:
        pass


def test_a_first_partial_fit_that_raises_leaves_the_estimator_unfitted(small, monkeypatch) -> None:
    X, y = small
    clf = SoftmaxClassifier(momentum=0.9, random_state=0)
    failures = [
        ((X, np.where(y == 3, 10, y)), {"classes": np.arange(10)}, ValueError),  # a label not in classes
        ((X, y), {"classes": np.arange(10)}, TrainingDiverged, {"lr": 1e38}),  # set_params below
        ((np.where(X > 0.5, np.nan, X), y), {"classes": np.arange(10)}, ValueError),  # NaN in X
        ((X, y), {"classes": [4]}, ValueError),  # one class
    ]
    for args, kwargs, error, *params in failures:
        clf.set_params(**(params[0] if params else {"lr": 0.1}))
        with pytest.raises(error):
            clf.partial_fit(*args, **kwargs)
        assert_unfitted(clf, X)
    clf.set_params(lr=0.1, verbose=1)
    monkeypatch.setattr(sys, "stdout", InterruptedWrite())
    with pytest.raises(KeyboardInterrupt):
        clf.partial_fit(X, y, classes=np.arange(10))  # interrupted once the epoch has trained
    monkeypatch.undo()
    assert_unfitted(clf, X)

    # What is left trains as a fresh estimator does.
    clf.set_params(verbose=0)
    clf.partial_fit(X, y, classes=np.arange(10))
    fresh = SoftmaxClassifier(momentum=0.9, random_state=0).partial_fit(X, y, classes=np.arange(10))
    np.testing.assert_array_equal(clf.coef_, fresh.coef_)
    assert clf.n_iter_ == 1 and clf.loss_curve_ == fresh.loss_curve_


def failing_calls(X: np.ndarray, y: np.ndarray) -> dict[str, list]:
    """Calls that raise, for a fitted estimator: each after it has begun to change something (the labels, the
    number of features, a new model), and all calls that raise ValueError."""
    one_class = np.array(["shirt"] * len(X))
    return {
        "fit": [
            ((np.where(X > 0.5, np.inf, X), y), {}),
            ((X[:, :100], one_class), {}),  # after n_features_in_ and classes_ are set anew
            ((X[:60], y[:60]), {"early_stopping": True, "validation_fraction": 0.01}),  # after a new model is made
        ],
        "partial_fit": [
            ((X, np.where(y == 3, 10, y)), {}),  # a label not in classes_
            ((X[:, :100], y), {}),  # other features
            ((np.where(X > 0.5, np.inf, X), y), {}),
            ((X, y, np.arange(11)), {}),  # other classes
        ],
    }


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_refit_that_raises_leaves_the_fitted_model_as_it_was(small, method, monkeypatch) -> None:
    X, y = small
    clf = SoftmaxClassifier(momentum=0.9, max_iter=2, random_state=0).fit(X[:1000], y[:1000])
    expected, proba = fitted_state(clf), clf.predict_proba(X)
    train = getattr(clf, method)
    for args, params in failing_calls(X, y)[method]:
        clf.set_params(**params)
        with pytest.raises(ValueError):
            train(*args)
        clf.set_params(early_stopping=False, validation_fraction=0.1)
        assert_same_state(clf, expected)
        np.testing.assert_array_equal(clf.predict_proba(X), proba)
    clf.set_params(verbose=1)
    monkeypatch.setattr(sys, "stdout", InterruptedWrite())
    with pytest.raises(KeyboardInterrupt):
        train(X, y)  # the weights, the velocity and the batch order have moved on when it is interrupted
    monkeypatch.undo()
    assert_same_state(clf, expected)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)

    # The next call continues from the state before the failures.
    clf.set_params(verbose=0)
    twin = SoftmaxClassifier(momentum=0.9, max_iter=2, random_state=0).fit(X[:1000], y[:1000])
    np.testing.assert_array_equal(train(X, y).coef_, getattr(twin, method)(X, y).coef_)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_diverged_estimator_is_not_fitted(small, method) -> None:
    X, y = small
    clf = SoftmaxClassifier(random_state=0).fit(X, y)
    train, classes = getattr(clf, method), {"classes": np.arange(10)} if method == "partial_fit" else {}
    clf.set_params(lr=1e38)
    with pytest.raises(TrainingDiverged, match="lower lr, or standardize X"):
        train(X * 255, y)
    assert_unfitted(clf, X)
    with pytest.raises(TrainingDiverged):  # and from the start
        train(X * 255, y, **classes)
    assert_unfitted(clf, X)
    clf.set_params(lr=0.1)
    fresh = getattr(SoftmaxClassifier(random_state=0), method)(X, y, **classes)
    np.testing.assert_array_equal(train(X, y, **classes).coef_, fresh.coef_)  # it trains again, as a fresh one


NUMERIC_PARAMETERS = [
    "lr",
    "batch_size",
    "max_iter",
    "momentum",
    "alpha",
    "validation_fraction",
    "n_iter_no_change",
    "random_state",
]


@pytest.mark.parametrize("name", NUMERIC_PARAMETERS)
@pytest.mark.parametrize("value", [True, False, np.True_])
def test_a_bool_is_not_a_number(small, name, value) -> None:
    X, y = small
    clf = SoftmaxClassifier(**{name: value})
    for call in (lambda: clf.fit(X, y), lambda: clf.partial_fit(X, y, classes=np.arange(10))):
        with pytest.raises(
            InvalidParameterError,
            match=rf"The '{name}' parameter of SoftmaxClassifier must be .* Got {value!r} instead",
        ):
            call()
        assert_unfitted(clf, X)


def test_predicting_on_uint8_pixels_takes_no_float_copy_of_them(fashion) -> None:
    images, labels = fashion[0][:20_000].reshape(20_000, -1), fashion[1][:20_000]
    clf = SoftmaxClassifier(max_iter=1, random_state=0).fit(images[:2000], labels[:2000])
    for method in ("predict_proba", "predict", "decision_function"):
        tracemalloc.start()
        try:
            result = getattr(clf, method)(images)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        # A float32 copy of the pixels would be 4 times their size.
        assert peak < images.nbytes / 2 + result.nbytes, f"{method}: {peak} bytes for {images.nbytes} of pixels"
    # The logits of the same pixels as float32, which the model computes in, within float32's error (two sums of
    # 784 products and b, each erring by at most 785 u times the sum of the terms' magnitudes).
    pixels = images.astype(np.float32)
    bound = 785 * np.finfo(np.float32).eps * (pixels @ np.abs(clf.coef_.T) + np.abs(clf.intercept_))
    assert np.all(np.abs(clf.decision_function(images) - clf.decision_function(pixels)) <= bound)


def test_early_stopping_at_lr_1e38_is_a_divergence_and_leaves_the_estimator_unfitted(small) -> None:
    X, y = small
    clf = SoftmaxClassifier(lr=1e38, early_stopping=True, random_state=0)
    with pytest.raises(TrainingDiverged, match="lower lr, or standardize X"):
        clf.fit(X, y)
    assert_unfitted(clf, X)


@pytest.mark.parametrize("fitted", [False, True])
def test_a_divergence_first_seen_in_the_validation_leaves_the_estimator_unfitted(small, fitted, monkeypatch) -> None:
    """One batch of every example at lr 1e38: the batch's loss and the weights after it are finite, the logits
    of the held-out examples overflow. The evaluation reports it as a divergence (TrainingDiverged), as the training
    loop's evaluation does."""
    import npsoftmax.sklearn

    evaluate = npsoftmax.sklearn.evaluate_loss_and_accuracy

    def evaluate_reporting_divergence(net, data_iter):
        with np.errstate(over="ignore", invalid="ignore"):
            if not all(np.isfinite(net(X_val)).all() for X_val, _ in data_iter):
                raise TrainingDiverged("the model's logits became NaN or infinite in evaluation")
        return evaluate(net, data_iter)

    monkeypatch.setattr(npsoftmax.sklearn, "evaluate_loss_and_accuracy", evaluate_reporting_divergence)
    X, y = small
    clf = SoftmaxClassifier(random_state=0)
    if fitted:
        clf.fit(X, y)
    clf.set_params(lr=1e38, batch_size=len(X), early_stopping=True)
    with pytest.raises(TrainingDiverged, match="in evaluation; lower lr, or standardize X"):
        clf.fit(X, y)
    assert_unfitted(clf, X)
