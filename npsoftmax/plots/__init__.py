"""The chapter's pictures and a few beyond it, as three modules by purpose:

- :mod:`~npsoftmax.plots.chapter`: d2l's ``Animator``, the training curves, labelled test images, the learned
  weights;
- :mod:`~npsoftmax.plots.evaluation`: the confusion matrix, calibration with abstention, the most confident
  mistakes, the sweep's grid;
- :mod:`~npsoftmax.plots.explain`: the evidence behind one decision, the templates as they learn.

Figures are built with matplotlib's object-oriented API (``Figure``, never ``pyplot``): nothing depends on a
display or blocks. Each can be written to a PNG atomically, and Jupyter shows it inline. Pictures take results
already computed (records, bins, probabilities), never recompute a metric.
"""

from ._figure import Figure
from .chapter import Animator, in_notebook, plot_curves, plot_predictions, plot_weights
from .evaluation import MAX_PANELS, confident_mistakes, plot_calibration, plot_confusion, plot_mistakes, plot_sweep
from .explain import evidence, plot_evidence, plot_weights_by_epoch

__all__ = [
    "Animator",
    "Figure",
    "in_notebook",
    "plot_curves",
    "plot_predictions",
    "plot_confusion",
    "plot_weights",
    "plot_weights_by_epoch",
    "plot_calibration",
    "evidence",
    "plot_evidence",
    "confident_mistakes",
    "plot_mistakes",
    "plot_sweep",
    "MAX_PANELS",
]
