"""A data set other than Fashion-MNIST, given as a record, end to end: fetched from a local HTTP mirror,
verified, cached, loaded, trained by the command's own code path, and drawn in every picture.

The record (12x12 images, 4 classes: ``small_dataset`` in conftest.py) differs from Fashion-MNIST in every
number that used to be a literal (784 features, 10 classes, 28x28 images, the class names).
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from _http_server import HostileMirror

import npsoftmax as nps
from npsoftmax import data, train
from npsoftmax.model import SoftmaxRegression

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def small_over_http(small_dataset, monkeypatch):
    folder, small = small_dataset
    monkeypatch.delenv("NPSOFTMAX_MIRRORS", raising=False)  # it would replace the record's mirrors
    mirror = HostileMirror(folder)
    yield dataclasses.replace(small, mirrors=(mirror.url,)), mirror
    mirror.close()


def test_another_dataset_trains_and_draws_every_picture(small_over_http, tmp_path):
    small, mirror = small_over_http
    home, out = tmp_path / "home", tmp_path / "run"
    config = train.Config(data_dir=str(home), epochs=6, lr=0.5, quiet=True)
    out.mkdir()
    metrics = train.run(config, out, dataset=small)

    # Fetched once over HTTP, verified and cached in the data home; the run records where it came from.
    assert sorted(mirror.requests) == sorted(spec.gz_name for spec in small.files)
    assert metrics["data"]["source"] == mirror.url
    assert data.load(small, home, download=False).source == mirror.url

    # Trained with the record's shape: a 144 x 4 model, per-class scores under the record's names.
    model = SoftmaxRegression.load(out / "model.npz")
    assert model.W.shape == (small.n_features, small.n_classes) == (144, 4)
    assert list(metrics["per_class"]) == list(small.class_names)
    assert metrics["status"] == "completed" and len(metrics["epochs"]) == 6
    # The four bands are separable: far better than chance (1/4), and the loss far below ln 4.
    assert metrics["test_acc"] > 0.9 and metrics["epochs"][-1]["train_loss"] < math.log(4) / 2
    _, test_iter = nps.load_data_fashion_mnist(100, home, download=False, dataset=small)
    # The same batches through the same evaluation, on one machine: the same count of right answers.
    assert nps.evaluate_accuracy(model, test_iter) == metrics["test_acc"], "metrics.json's is the saved model's"

    # Every picture of a run, written whole.
    for name in train.OUTPUTS:
        assert (out / name).is_file(), name
        if name.endswith(".png"):
            assert (out / name).read_bytes().startswith(PNG), name
    assert json.loads((out / "metrics.json").read_text())["confident_mistakes"]["threshold"] == 0.9


def test_the_chance_level_warning_uses_the_records_class_count(small_over_http, tmp_path, caplog):
    small, _ = small_over_http
    out = tmp_path / "run"
    out.mkdir()
    # A learning rate too small to move W ~ N(0, 0.01) and a weight decay that weighs it: a loss near
    # ln 4 + 10 / 2 * |W|^2 = 1.39 + 0.29, above chance for 4 classes, far below Fashion-MNIST's ln 10 = 2.30.
    # The warning is the subject: this record's pictures have a test of their own.
    settings = {"epochs": 1, "lr": 1e-6, "weight_decay": 10.0, "quiet": True, "pictures": False}
    config = train.Config(data_dir=str(tmp_path / "home"), **settings)
    with caplog.at_level("WARNING", logger="npsoftmax"):
        metrics = train.run(config, out, dataset=small)
    assert math.log(4) < metrics["epochs"][-1]["train_loss"] < math.log(10), metrics["epochs"]
    assert "above chance level (ln 4 = 1.39" in caplog.text
