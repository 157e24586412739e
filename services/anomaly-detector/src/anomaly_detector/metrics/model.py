"""The TensorFlow forecaster: training on standardised windows, export and compiled serving.

The artefact is a directory `<models>/<name>/` holding an exported SavedModel whose `forecast`
signature is a `tf.function` with a fixed input signature ([batch, LAGS] float32 -> [batch]),
plus `model.json` (version, lags, what it was trained on). Serving calls that concrete function
once per batch of series; Keras `predict` is never used.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from anomaly_detector.metrics.scoring import LAGS

MODELS = Path(__file__).resolve().parents[3] / "models"
DEFAULT_MODEL = MODELS / "metric-forecaster-v1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@dataclass(frozen=True)
class ModelCard:
    """What an artefact is and where it came from."""

    version: str
    lags: int
    trained_on: str
    samples: int
    epochs: int
    val_loss: float


class Forecaster:
    """A loaded artefact: call it with [batch, LAGS] float32 windows, get [batch] forecasts."""

    def __init__(self, path: Path = DEFAULT_MODEL) -> None:
        import tensorflow as tf  # type: ignore[import-untyped]

        self.card = ModelCard(**json.loads((path / "model.json").read_text()))
        if self.card.lags != LAGS:
            raise ValueError(f"{path}: model has {self.card.lags} lags, scorer needs {LAGS}")
        self._module: Any = tf.saved_model.load(str(path))
        self._fn = self._module.forecast
        self._tf = tf

    @property
    def version(self) -> str:
        """The artefact's version string."""
        return self.card.version

    def __call__(self, windows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out = self._fn(self._tf.constant(windows, dtype=self._tf.float32))
        return np.asarray(out.numpy(), dtype=np.float32)


def fit(
    windows: npt.NDArray[np.float32],
    targets: npt.NDArray[np.float32],
    *,
    epochs: int,
    seed: int,
    verbose: int = 1,
) -> tuple[Any, float]:
    """Train the MLP forecaster (Keras progress bar on stderr); returns (model, val_loss)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model = tf.keras.Sequential(
        [
            tf.keras.Input(shape=(LAGS,)),
            tf.keras.layers.Dense(32, activation="relu"),
            tf.keras.layers.Dense(32, activation="relu"),
            tf.keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=tf.keras.optimizers.Adam(2e-3), loss=tf.keras.losses.Huber(1.0))
    history = model.fit(
        windows,
        targets,
        epochs=epochs,
        batch_size=512,
        validation_split=0.1,
        verbose=verbose,
    )
    return model, float(history.history["val_loss"][-1])


def export(model: Any, path: Path, card: ModelCard) -> None:
    """Write the SavedModel with a fixed-signature `forecast` function and its model.json."""
    import tensorflow as tf

    class Exported(tf.Module):  # type: ignore[misc]
        def __init__(self, net: Any) -> None:
            super().__init__()
            self.net = net

        @tf.function(input_signature=[tf.TensorSpec([None, LAGS], tf.float32)])  # type: ignore[untyped-decorator]
        def forecast(self, windows: Any) -> Any:
            return tf.reshape(self.net(windows, training=False), [-1])

    module = Exported(model)
    path.mkdir(parents=True, exist_ok=True)
    tf.saved_model.save(module, str(path), signatures={"forecast": module.forecast})
    (path / "model.json").write_text(json.dumps(asdict(card), indent=2) + "\n")
