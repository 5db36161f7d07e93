"""Using a trained run on new inputs: ``ferbench predict`` (images, folders, videos), ``ferbench live``
(camera or video, on screen or into an annotated video) and ``ferbench export`` (ONNX / TorchScript
with a parity check).

Modules: :mod:`~ferbench.predict.model` (a run opened for prediction: crop geometry from its store's
card, torch or onnxruntime backend), :mod:`~ferbench.predict.predict` (files → rows),
:mod:`~ferbench.predict.video` (live), :mod:`~ferbench.predict.export`, :mod:`~ferbench.predict.draw`.
Faces are found by :mod:`ferbench.data.faces` and preprocessed by :mod:`ferbench.inference`, the
same code that prepared and evaluated the run.
"""

from ferbench.predict.export import export_run
from ferbench.predict.model import open_classifier
from ferbench.predict.predict import predict_files
from ferbench.predict.video import live

__all__ = ["export_run", "live", "open_classifier", "predict_files"]
