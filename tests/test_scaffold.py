"""d2l 1.0's scaffold on NumPy (``npsoftmax.scaffold``), against its oracles: d2l's own semantics written in PyTorch
with autograd for the trajectory, ``torch.nn.functional.interpolate`` for the resize, central differences and
a deliberately wrong ``backward`` for the check, and the state of every object after a call that raises.

The 10-epoch fit on the real Fashion-MNIST is the edition-1.0 notebook's (tests/test_notebook.py).
"""

# The book draws its weights from the global generator (torch.normal; here np.random.normal), seeded per test.
# ruff: noqa: NPY002

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import npsoftmax as nps
from npsoftmax import scaffold

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "softmax_regression_scratch_d2l1.ipynb"


# --------------------------------------------------------------------------------------------------------
# The learner's model, as section 4.4 writes it (NumPy for torch), with the one cell it adds: backward.


def softmax(X):
    X_exp = np.exp(X)
    return X_exp / X_exp.sum(1, keepdims=True)


class Learners(nps.Classifier):
    def __init__(self, num_inputs, num_outputs, lr, sigma=0.01):
        super().__init__()
        self.save_hyperparameters()
        self.W = np.random.normal(0, sigma, size=(num_inputs, num_outputs))
        self.b = np.zeros(num_outputs)

    def parameters(self):
        return [self.W, self.b]


@nps.add_to_class(Learners)
def forward(self, X):
    X = X.reshape((-1, self.W.shape[0]))
    return softmax(np.matmul(X, self.W) + self.b)


@nps.add_to_class(Learners)
def loss(self, y_hat, y):
    return -np.log(y_hat[list(range(len(y_hat))), y]).mean()


@nps.add_to_class(Learners)
def backward(self, X, y, y_hat):
    X = X.reshape((-1, self.W.shape[0]))
    dlogits = y_hat.copy()
    dlogits[np.arange(len(y)), y] -= 1
    dlogits /= len(y)
    return [X.T @ dlogits, dlogits.sum(0)]


class ForgotTheMean(Learners):
    def backward(self, X, y, y_hat):
        X = X.reshape((-1, self.W.shape[0]))
        dlogits = y_hat.copy()
        dlogits[np.arange(len(y)), y] -= 1
        return [X.T @ dlogits, dlogits.sum(0)]


class NoBackward(nps.Classifier):
    def __init__(self, lr=0.1):
        super().__init__()
        self.save_hyperparameters()
        self.W, self.b = np.zeros((20, 4)), np.zeros(4)

    def parameters(self):
        return [self.W, self.b]

    def forward(self, X):
        return softmax(X.reshape(-1, 20) @ self.W + self.b)


# --------------------------------------------------------------------------------------------------------
# Small data: four classes of 4x5 images, batches fixed per epoch so that both sides see the same ones.

N_FEATURES, N_CLASSES = 20, 4
CENTRES = np.random.default_rng(42).normal(0, 1.0, (N_CLASSES, N_FEATURES))


def blobs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, N_CLASSES, n)
    X = rng.normal(0, 1.0, (n, N_FEATURES)) + 1.5 * CENTRES[y]
    return X.reshape(n, 1, 4, 5), y.astype(np.int64)


class EpochBatches:
    """A loader that gives epoch e's batches on its e-th pass (d2l's shuffling, made in advance)."""

    def __init__(self, epochs: list[list[tuple[np.ndarray, np.ndarray]]]) -> None:
        self.epochs, self.passes = epochs, 0

    def __len__(self) -> int:
        return len(self.epochs[0])

    def __iter__(self):
        epoch = self.epochs[self.passes % len(self.epochs)]
        self.passes += 1
        yield from epoch


class Batches(nps.DataModule):
    """A DataModule of given batches: ``train`` a list of epochs of batches, ``val`` a list of batches."""

    def __init__(self, train, val):
        super().__init__()
        self.save_hyperparameters()

    def get_dataloader(self, train):
        return EpochBatches(self.train) if train else self.val


def small_data(n_epochs: int, batch_size: int = 32, seed: int = 0) -> Batches:
    rng = np.random.default_rng(seed)
    X, y = blobs(240, rng)
    X_val, y_val = blobs(100, rng)
    epochs = []
    for _ in range(n_epochs):
        order = rng.permutation(len(y))
        epochs.append(
            [(X[order[i : i + batch_size]], y[order[i : i + batch_size]]) for i in range(0, len(y), batch_size)]
        )
    val = [(X_val[i : i + batch_size], y_val[i : i + batch_size]) for i in range(0, len(y_val), batch_size)]
    return Batches(epochs, val)


# --------------------------------------------------------------------------------------------------------
# The trajectory: d2l 1.0 in PyTorch with autograd against nps.Trainer with the learner's backward.


def d2l_fit(W0, data: Batches, lr: float, max_epochs: int, gradient_clip_val: float):
    """d2l 1.0's SoftmaxRegressionScratch, Trainer.fit_epoch and clip_gradients, in float64; returns the weights
    and each epoch's validation loss and accuracy as d2l's board averages them (the mean of per-batch means)."""
    W = torch.tensor(W0, requires_grad=True)
    b = torch.zeros(W0.shape[1], dtype=torch.float64, requires_grad=True)

    def forward(X):
        X = X.reshape((-1, W.shape[0]))
        X_exp = torch.exp(torch.matmul(X, W) + b)
        return X_exp / X_exp.sum(1, keepdims=True)

    def cross_entropy(y_hat, y):
        return -torch.log(y_hat[list(range(len(y_hat))), y]).mean()

    optim = torch.optim.SGD([W, b], lr=lr)
    val_curves = []
    for epoch in range(max_epochs):
        for X, y in data.train[epoch]:
            loss = cross_entropy(forward(torch.from_numpy(X)), torch.from_numpy(y))
            optim.zero_grad()
            with torch.no_grad():
                loss.backward()
                if gradient_clip_val > 0:
                    norm = torch.sqrt(sum(torch.sum(p.grad**2) for p in (W, b)))
                    if norm > gradient_clip_val:
                        for p in (W, b):
                            p.grad[:] *= gradient_clip_val / norm
                optim.step()
        with torch.no_grad():
            losses, accs = [], []
            for X, y in data.val:
                y_hat, y = forward(torch.from_numpy(X)), torch.from_numpy(y)
                losses.append(float(cross_entropy(y_hat, y)))
                accs.append(float((y_hat.argmax(axis=1).type(y.dtype) == y).type(torch.float32).mean()))
        val_curves.append((np.mean(losses), np.mean(accs)))
    return W.detach().numpy(), b.detach().numpy(), val_curves


@pytest.mark.parametrize("gradient_clip_val", [0, 0.5])
def test_the_trajectory_is_d2l_s_with_autograd(gradient_clip_val):
    max_epochs, lr = 6, 0.3
    data = small_data(max_epochs)
    np.random.seed(3)
    model = Learners(num_inputs=N_FEATURES, num_outputs=N_CLASSES, lr=lr, sigma=0.5)
    W_start = model.W.copy()
    W_torch, b_torch, val_curves = d2l_fit(model.W.copy(), data, lr, max_epochs, gradient_clip_val)

    nps.Trainer(max_epochs=max_epochs, gradient_clip_val=gradient_clip_val).fit(model, data)

    assert np.abs(model.W - W_torch).max() <= 1e-9 and np.abs(model.b - b_torch).max() <= 1e-9
    assert np.abs(W_torch - W_start).max() > 0.1, "the weights moved"
    val_loss, val_acc = model.board.data["val_loss"], model.board.data["val_acc"]
    assert [x for x, _ in val_loss] == list(range(1, max_epochs + 1))
    np.testing.assert_allclose([v for _, v in val_loss], [c[0] for c in val_curves], rtol=1e-12)
    np.testing.assert_allclose([v for _, v in val_acc], [c[1] for c in val_curves], rtol=1e-6)
    assert val_curves[-1][1] > 0.8, "the small problem is learned"


def test_the_board_plots_d2l_s_points():
    """train_loss twice per epoch at d2l's x (the mean of the batch indices over the batches per epoch)."""
    data = small_data(2)  # 8 batches an epoch: points of 4 batches each
    np.random.seed(0)
    model = Learners(N_FEATURES, N_CLASSES, lr=0.1)
    nps.Trainer(max_epochs=2).fit(model, data)
    xs = [x for x, _ in model.board.data["train_loss"]]
    np.testing.assert_allclose(xs, [np.mean(np.arange(i, i + 4)) / 8 for i in range(0, 16, 4)])
    assert list(model.board.data) == ["train_loss", "val_loss", "val_acc"]
    assert model.board.xlim == [0, 2] and model.board.xlabel == "epoch"


# --------------------------------------------------------------------------------------------------------
# npsoftmax's own model: its backward is loss_and_grad, and it is not checked.


def test_own_model_backward_is_loss_and_grad_and_its_step_the_same():
    np.random.seed(0)
    model = nps.SoftmaxRegressionScratch(num_inputs=N_FEATURES, num_outputs=N_CLASSES, lr=0.1)
    assert model.W.dtype == np.float32 and model.hparams == {
        "num_inputs": 20,
        "num_outputs": 4,
        "lr": 0.1,
        "sigma": 0.01,
    }
    X, y = blobs(64, np.random.default_rng(0))
    X = X.astype(np.float32)
    loss, dW, db = nps.loss_and_grad(X, y, model.W, model.b)
    grads = model.backward(X, y, model(X))
    np.testing.assert_array_equal(grads[0], dW)
    np.testing.assert_array_equal(grads[1], db)
    assert model.loss(model(X), y) == pytest.approx(float(loss), rel=1e-5)


def test_own_model_trains_unchecked(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("npsoftmax's own model is not checked")

    monkeypatch.setattr(scaffold, "check_backward", refuse)
    data = small_data(3)
    data.train = [[(X.astype(np.float32), y) for X, y in epoch] for epoch in data.train]
    data.val = [(X.astype(np.float32), y) for X, y in data.val]
    np.random.seed(0)
    model = nps.SoftmaxRegressionScratch(N_FEATURES, N_CLASSES, lr=0.3)
    nps.Trainer(max_epochs=3).fit(model, data)
    assert model.board.data["val_acc"][-1][1] > 0.8


def test_own_model_on_own_loaders_validates_unchecked_with_d2l_s_means(synthetic_data, monkeypatch):
    """npsoftmax's loaders make valid batches: no batch is checked, and the validation points are still d2l's,
    the mean of per-batch means (500 images in batches of 64: the last of 52 weighs as much as the others)."""

    def refuse(*args, **kwargs):
        raise AssertionError("batches of npsoftmax's own loaders are valid by construction")

    monkeypatch.setattr(nps.losses, "check_scores", refuse)
    monkeypatch.setattr(nps.losses, "check_problem", refuse)
    np.random.seed(0)
    data = nps.FashionMNIST(batch_size=64)
    model = nps.SoftmaxRegressionScratch(num_inputs=784, num_outputs=10, lr=0.1)
    nps.Trainer(max_epochs=1).fit(model, data)

    W, b = torch.from_numpy(model.W).double(), torch.from_numpy(model.b).double()
    losses, accs = [], []
    for X, y in data.val_dataloader():
        logits, y = torch.from_numpy(X).double().reshape(len(X), -1) @ W + b, torch.from_numpy(y)
        losses.append(float(torch.nn.functional.cross_entropy(logits, y)))
        accs.append(float((logits.argmax(axis=1) == y).double().mean()))
    assert [len(y) for _, y in data.val_dataloader()][-1] == 52
    [(_, val_loss)], [(_, val_acc)] = model.board.data["val_loss"], model.board.data["val_acc"]
    assert val_loss == pytest.approx(np.mean(losses), rel=1e-5)  # float32 against float64
    assert val_acc == pytest.approx(np.mean(accs), abs=1 / 52 / 8)  # at most one float32 near-tie flipped


# --------------------------------------------------------------------------------------------------------
# The backward check.


def test_a_forgotten_mean_stops_fit_at_the_first_batch_with_one_message():
    data = small_data(2)
    np.random.seed(0)
    model = ForgotTheMean(N_FEATURES, N_CLASSES, lr=0.1)
    W, b = model.W.copy(), model.b.copy()
    with pytest.raises(ValueError) as caught:
        nps.Trainer(max_epochs=2).fit(model, data)
    message = str(caught.value)
    assert "\n" not in message
    match = re.search(
        r"ForgotTheMean\.backward is wrong for (W|b): at \1\[[\d, ]+\] it gives (\S+) where central differences give "
        r"(\S+) \(relative error (\S+)\)",
        message,
    )
    assert match, message
    analytic, numeric, error = map(float, match.groups()[1:])
    assert analytic == pytest.approx(32 * numeric, rel=1e-4) and error == pytest.approx(31 / 32, rel=1e-3)
    assert "check_backward=False" in message
    np.testing.assert_array_equal(model.W, W)
    np.testing.assert_array_equal(model.b, b)
    assert model.board.data == {} and not hasattr(model, "trainer")


def test_the_check_passes_a_right_backward_and_can_be_turned_off():
    np.random.seed(0)
    model = Learners(N_FEATURES, N_CLASSES, lr=0.1)
    X, y = blobs(32, np.random.default_rng(1))
    W = model.W.copy()
    assert scaffold.check_backward(model, (X, y)) < 1e-7
    np.testing.assert_array_equal(model.W, W)
    wrong = ForgotTheMean(N_FEATURES, N_CLASSES, lr=0.1)
    nps.Trainer(max_epochs=1, check_backward=False).fit(wrong, small_data(1))


def test_the_check_takes_float32_parameters_in_float64_and_puts_them_back():
    class Float32(Learners):
        def __init__(self):
            super().__init__(N_FEATURES, N_CLASSES, lr=0.1)
            self.W, self.b = self.W.astype(np.float32), self.b.astype(np.float32)

    np.random.seed(0)
    model = Float32()
    W = model.W
    X, y = blobs(32, np.random.default_rng(1))
    assert scaffold.check_backward(model, (X.astype(np.float32), y)) < 1e-7
    assert model.W is W and model.W.dtype == np.float32


def test_wrong_gradient_shapes_are_named():
    class Transposed(Learners):
        def backward(self, X, y, y_hat):
            dW, db = Learners.backward(self, X, y, y_hat)
            return [dW.T, db]

    np.random.seed(0)
    with pytest.raises(ValueError, match=r"one gradient per parameter, of its shape: \[W \(20, 4\), b \(4,\)\]"):
        nps.Trainer(max_epochs=1).fit(Transposed(N_FEATURES, N_CLASSES, lr=0.1), small_data(1))


def test_a_model_without_backward_gets_one_message_before_training():
    model = NoBackward()
    with pytest.raises(NotImplementedError, match="npsoftmax has no autograd: define backward"):
        nps.Trainer(max_epochs=1).fit(model, small_data(1))
    assert not hasattr(model, "trainer")


def test_a_model_without_super_init_is_named():
    class Forgot(Learners):
        def __init__(self):
            self.W, self.b, self.lr = np.zeros((20, 4)), np.zeros(4), 0.1

    with pytest.raises(TypeError, match=r"__init__ calls super\(\).__init__\(\) first.*; got Forgot$"):
        nps.Trainer(max_epochs=1).fit(Forgot(), small_data(1))


# --------------------------------------------------------------------------------------------------------
# Refusals, and the state after a call that raises.


class OneShot(nps.DataModule):
    def __init__(self, batches, kind):
        super().__init__()
        self.save_hyperparameters()

    def get_dataloader(self, train):
        if train == (self.kind == "train"):
            return (batch for batch in self.batches) if self.kind == "train" else iter(self.batches)
        return list(self.batches)


@pytest.mark.parametrize("kind", ["train", "val"])
def test_a_one_shot_iterator_is_refused_before_training(kind):
    batches = small_data(1).train[0]
    np.random.seed(0)
    model = Learners(N_FEATURES, N_CLASSES, lr=0.1)
    W = model.W.copy()
    with pytest.raises(TypeError, match=rf"data\.{kind}_dataloader\(\) returned a one-shot iterator .* a list of"):
        nps.Trainer(max_epochs=2).fit(model, OneShot(batches, kind))
    np.testing.assert_array_equal(model.W, W)


def test_a_fit_that_raises_in_a_later_epoch_leaves_everything_as_it_was():
    data = small_data(3)
    bad = data.train[2][3]
    data.train[2][3] = (bad[0][:, :, :2], bad[1])  # epoch 3 meets a batch of another shape
    np.random.seed(0)
    model = Learners(N_FEATURES, N_CLASSES, lr=0.1)
    trainer = nps.Trainer(max_epochs=3)
    nps.Trainer(max_epochs=1).fit(model, small_data(1))  # a first fit, kept
    W, b, board = model.W.copy(), model.b.copy(), {k: list(v) for k, v in model.board.data.items()}
    model_vars, trainer_vars = dict(vars(model)), dict(vars(trainer))
    with pytest.raises(IndexError):  # the learner's loss meets 16 rows of probabilities for 32 labels
        trainer.fit(model, data)
    np.testing.assert_array_equal(model.W, W)
    np.testing.assert_array_equal(model.b, b)
    assert model.board.data == board
    assert vars(model) == model_vars and vars(trainer) == trainer_vars


def test_divergence_is_reported_and_undone():
    np.random.seed(0)
    model = Learners(N_FEATURES, N_CLASSES, lr=1e6, sigma=1.0)
    W = model.W.copy()
    with pytest.raises(nps.TrainingDiverged, match=r"loss of epoch \d+, batch \d+ became (nan|inf)"):
        nps.Trainer(max_epochs=3, check_backward=False).fit(model, small_data(3))
    np.testing.assert_array_equal(model.W, W)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_epochs": 1, "num_gpus": 1}, "num_gpus must be 0, got 1: npsoftmax runs on NumPy"),
        ({"max_epochs": True}, "max_epochs must be an integer"),
        ({"max_epochs": 1, "gradient_clip_val": -1}, "gradient_clip_val must be"),
    ],
)
def test_trainer_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nps.Trainer(**kwargs)


def test_hyperparameters_and_add_to_class():
    class A(nps.HyperParameters):
        def __init__(self, a, b=2, _hidden=3, *, c=4):
            self.save_hyperparameters(ignore=["b"])

    a = A(1)
    assert a.hparams == {"a": 1, "c": 4} and (a.a, a.c) == (1, 4) and not hasattr(a, "b")

    @nps.add_to_class(A)
    def twice(self):
        return 2 * self.a

    assert a.twice() == 2 and twice(a) == 2


def test_classifier_accuracy_and_loss_are_d2l_s():
    model = nps.Classifier()
    Y_hat = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    Y = np.array([1, 1, 1])
    assert model.accuracy(Y_hat, Y) == pytest.approx(2 / 3)
    np.testing.assert_array_equal(model.accuracy(Y_hat, Y, averaged=False), [1, 0, 1])
    expected = torch.nn.functional.cross_entropy(torch.tensor(Y_hat), torch.tensor(Y))
    assert model.loss(Y_hat, Y) == pytest.approx(float(expected), rel=1e-12)


# --------------------------------------------------------------------------------------------------------
# Data: the resize, FashionMNIST's items and batches.


@pytest.mark.parametrize("size", [(32, 32), (224, 224), (14, 14), (9, 40), (28, 28)])
def test_resize_is_torchvision_s_bilinear(size):
    images = np.random.default_rng(0).random((3, 28, 28))
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(images)[:, None], size=size, mode="bilinear", align_corners=False, antialias=True
    )[:, 0].numpy()
    np.testing.assert_allclose(scaffold.resize_bilinear(images, size), expected, rtol=0, atol=1e-12)
    float32 = scaffold.resize_bilinear(images.astype(np.float32), size)
    assert float32.dtype == np.float32
    np.testing.assert_allclose(float32, expected, rtol=0, atol=1e-6)
    if size[0] >= 28 and size[1] >= 28:  # enlarging: plain bilinear interpolation
        plain = torch.nn.functional.interpolate(
            torch.from_numpy(images)[:, None], size=size, mode="bilinear", align_corners=False
        )[:, 0].numpy()
        np.testing.assert_allclose(scaffold.resize_bilinear(images, size), plain, rtol=0, atol=1e-12)


def test_fashion_mnist_as_section_4_2_makes_it(synthetic_data):
    data = nps.FashionMNIST(resize=(32, 32))  # the synthetic set: 2000 training, 500 test images
    assert (len(data.train), len(data.val)) == (2000, 500) and data.batch_size == 64 and data.num_workers == 4
    image, label = data.train[0]
    assert image.shape == (1, 32, 32) and image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1
    assert isinstance(label, int)
    loader = data.train_dataloader()
    X, y = next(iter(loader))
    assert (X.shape, X.dtype, y.shape, y.dtype) == ((64, 1, 32, 32), np.float32, (64,), np.int64)
    assert len(loader) == 32
    first, second = (next(iter(loader))[1].copy() for _ in range(2))
    assert not np.array_equal(first, second), "shuffled anew every pass"
    X_val, y_val = next(iter(data.val_dataloader()))
    items = [data.val[i] for i in range(64)]
    np.testing.assert_allclose(X_val, np.stack([item[0] for item in items]), atol=1e-6)
    assert list(y_val) == [item[1] for item in items]
    assert data.text_labels([0, 9]) == ["t-shirt", "ankle boot"]
    with pytest.raises(ValueError, match="index must be an integer in"):
        data.train[2000]


def test_fashion_mnist_is_the_real_set(fashion_mnist_home):
    data = nps.FashionMNIST(batch_size=256, root=fashion_mnist_home)
    assert (len(data.train), len(data.val)) == (60000, 10000)
    image, _ = data.train[0]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32
    X, y = next(iter(data.val_dataloader()))
    assert X.shape == (256, 1, 28, 28) and y.dtype == np.int64


# --------------------------------------------------------------------------------------------------------
# Pictures in a script: nothing printed, nothing blocks; a PNG when asked.

SCRIPT = """
import sys
import numpy as np
import npsoftmax as nps

class Model(nps.Classifier):
    def __init__(self, lr):
        super().__init__()
        self.save_hyperparameters()
        self.W, self.b = np.zeros((20, 4)), np.zeros(4)
    def parameters(self):
        return [self.W, self.b]
    def forward(self, X):
        logits = X.reshape(-1, 20) @ self.W + self.b
        return np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    def loss(self, y_hat, y):
        return -np.log(y_hat[np.arange(len(y)), y]).mean()
    def backward(self, X, y, y_hat):
        dlogits = y_hat.copy()
        dlogits[np.arange(len(y)), y] -= 1
        dlogits /= len(y)
        return [X.reshape(-1, 20).T @ dlogits, dlogits.sum(0)]

class Data(nps.DataModule):
    def get_dataloader(self, train):
        rng = np.random.default_rng(0)
        return [(rng.normal(size=(32, 1, 4, 5)), rng.integers(0, 4, 32)) for _ in range(4)]

model = Model(lr=0.1)
model.board.path = {path}
nps.Trainer(max_epochs=2).fit(model, Data())
print("matplotlib imported:", "matplotlib" in sys.modules, file=sys.stderr)
nps.show_images(np.zeros((4, 4, 5)), 1, 4)
"""


@pytest.mark.parametrize("png", [False, True])
def test_the_board_in_a_script_prints_nothing(tmp_path, png):
    path = str(tmp_path / "board.png") if png else None
    script = SCRIPT.format(path=repr(path))
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "<Figure" not in done.stderr
    # Without a PNG to write, the board draws nothing: matplotlib is not even imported.
    assert f"matplotlib imported: {png}" in done.stderr
    if png:
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert list(tmp_path.iterdir()) == []


def test_the_notebook_runs_as_a_plain_script(tmp_path, fashion_mnist_home):
    """The edition-1.0 notebook's code cells, one after the other in a plain Python process (one epoch instead of
    ten: the notebook's own run is the ten-epoch one): exit 0, and no figure's repr printed."""
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = "\n\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert code.count("max_epochs=10") == 1
    script = tmp_path / "section_4_4.py"
    script.write_text(code.replace("max_epochs=10", "max_epochs=1"))
    env = {**__import__("os").environ, "NPSOFTMAX_DATA": str(fashion_mnist_home)}
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "<Figure" not in done.stdout + done.stderr and "Axes" not in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["section_4_4.py"]
