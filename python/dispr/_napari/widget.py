"""The dock widget: the image layer and the labels (or shapes) layer an analyst already
has → each selected cell's probability, ensemble and samples as 3D layers, and a table of
per-cell measurements with their 90 % intervals. Prediction runs in a worker thread
(the viewer stays responsive) with a progress bar and a Cancel button."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .. import MEASURES, DisprError, FieldPrediction, load_model
from .layers import layer_data

if TYPE_CHECKING:
    import napari

#: Columns of the results table: the cell, then per measure "mean [low, high]" (the
#: calibrated 90 % interval when the model has one, else the samples' 5–95 % range).
TABLE_COLUMNS = ["cell", "label", *MEASURES]


class Cancelled(Exception):
    """Raised from the progress callback when the user cancels."""


class _Failure:
    """A prediction's error, returned by the worker."""

    def __init__(self, error: BaseException):
        self.error = error


class _Relay(QObject):
    """Carries progress from the worker thread to the widget (queued signal)."""

    progress = Signal(int, int)


class PredictWidget(QWidget):
    """Predict 3D shapes of the cells of an image and labels layer with dispr."""

    def __init__(self, napari_viewer: "napari.viewer.Viewer"):
        super().__init__()
        self.viewer = napari_viewer
        self.worker = None
        self.result: FieldPrediction | None = None
        self._cancel = False
        self._relay = _Relay()
        self._relay.progress.connect(self._on_progress)

        self.image_box = QComboBox()
        self.labels_box = QComboBox()
        self.cells_edit = QLineEdit()
        self.cells_edit.setPlaceholderText("all (or e.g. 3, 7, 12)")
        self.selected_only = QCheckBox("only the labels layer's selected label")
        self.samples_spin = QSpinBox()
        self.samples_spin.setRange(1, 100)
        self.samples_spin.setValue(5)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(2, 1000)
        self.steps_spin.setValue(10)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.pixel_spin = QDoubleSpinBox()
        self.pixel_spin.setRange(0.0, 100.0)
        self.pixel_spin.setDecimals(4)
        self.pixel_spin.setSpecialValueText("unknown")
        self.pixel_spin.setSuffix(" µm")
        self.model_edit = QLineEdit()
        self.model_edit.setPlaceholderText("built in (or a model file)")
        self.predict_button = QPushButton("Predict")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)

        form = QFormLayout()
        form.addRow("image", self.image_box)
        form.addRow("cells (labels or shapes)", self.labels_box)
        form.addRow("cells to predict", self.cells_edit)
        form.addRow("", self.selected_only)
        form.addRow("samples per cell", self.samples_spin)
        form.addRow("sampling steps", self.steps_spin)
        form.addRow("seed", self.seed_spin)
        form.addRow("pixel size", self.pixel_spin)
        form.addRow("model", self.model_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.predict_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.table)

        self.predict_button.clicked.connect(self.predict)
        self.cancel_button.clicked.connect(self.cancel)
        self.image_box.currentTextChanged.connect(self._image_chosen)
        for event in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            event.connect(self._refresh_layers)
        self._refresh_layers()

    # --- layers ---------------------------------------------------------------------------

    def _refresh_layers(self, *_: Any) -> None:
        """Lists the 2D image layers and the labels and shapes layers."""
        from napari.layers import Image, Labels, Shapes

        for box, kinds in ((self.image_box, (Image,)), (self.labels_box, (Labels, Shapes))):
            current = box.currentText()
            box.blockSignals(True)
            box.clear()
            names = [
                layer.name
                for layer in self.viewer.layers
                if isinstance(layer, kinds) and layer.ndim == 2 and not getattr(layer, "rgb", False)
            ]
            box.addItems(names)
            if current in names:
                box.setCurrentText(current)
            box.blockSignals(False)
        self._image_chosen(self.image_box.currentText())

    def _image_chosen(self, name: str) -> None:
        """Takes the image layer's scale as the pixel size when it is not 1 (µm)."""
        if name in self.viewer.layers:
            sy, sx = self.viewer.layers[name].scale[-2:]
            if sy == sx and sy != 1.0 and self.pixel_spin.value() == 0.0:
                self.pixel_spin.setValue(float(sy))

    def _inputs(self) -> tuple[Any, np.ndarray, np.ndarray, list[int] | None]:
        """The image layer, its pixels, the label image and the labels to predict."""
        from napari.layers import Shapes

        if not self.image_box.currentText() or not self.labels_box.currentText():
            raise DisprError("choose a 2D image layer and a labels (or shapes) layer")
        image_layer = self.viewer.layers[self.image_box.currentText()]
        cells_layer = self.viewer.layers[self.labels_box.currentText()]
        image = np.asarray(image_layer.data)
        if isinstance(cells_layer, Shapes):
            labels = cells_layer.to_labels(labels_shape=image.shape)
        else:
            labels = np.asarray(cells_layer.data)
        if labels.shape != image.shape:
            raise DisprError(
                f"{cells_layer.name}: the cells layer is {labels.shape} but the image {image_layer.name} is {image.shape}"
            )
        for what in ("scale", "translate"):
            a, b = (tuple(np.asarray(getattr(layer, what))[-2:]) for layer in (image_layer, cells_layer))
            if not np.allclose(a, b):
                raise DisprError(f"{cells_layer.name}: its {what} {b} differs from the image's {a}; the two layers must line up pixel for pixel")
        only: list[int] | None = None
        if self.selected_only.isChecked():
            if isinstance(cells_layer, Shapes):
                raise DisprError(f"{cells_layer.name}: a shapes layer has no selected label; untick 'only the selected label'")
            only = [int(cells_layer.selected_label)]
        elif self.cells_edit.text().strip():
            try:
                only = [int(v) for v in self.cells_edit.text().replace(",", " ").split()]
            except ValueError:
                raise DisprError(f"cells to predict: '{self.cells_edit.text()}' is not a list of labels") from None
        return image_layer, image, labels, only

    # --- prediction -----------------------------------------------------------------------

    def predict(self) -> None:
        """Starts predicting the chosen cells in a worker thread."""
        from napari.qt.threading import create_worker

        try:
            image_layer, image, labels, only = self._inputs()
            model = load_model(self.model_edit.text().strip() or None, steps=self.steps_spin.value())
        except DisprError as e:
            self.status.setText(f"error: {e}")
            return
        pixel_size = self.pixel_spin.value() or None
        settings = dict(
            samples=self.samples_spin.value(),
            seed=self.seed_spin.value(),
            pixel_size=pixel_size,
            name=image_layer.name.replace(" ", "_"),
            cells=only,
        )
        self._cancel = False
        self.predict_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress_bar.setValue(0)
        self.status.setText(f"predicting with {model.method} …")

        def run() -> FieldPrediction | _Failure:
            # Errors come back wrapped as values: the widget shows them (a worker raises
            # what it returns or raises into napari's event loop).
            try:
                return model.predict_field(image, labels, progress=self._progress, **settings)
            except (DisprError, Cancelled) as e:
                return _Failure(e)

        self.worker = create_worker(run)
        self.worker.returned.connect(lambda result: self._returned(result, image_layer))
        self.worker.finished.connect(self._done)
        self.worker.start()

    def _progress(self, done: int, total: int) -> None:
        """Called by dispr in the worker thread."""
        if self._cancel:
            raise Cancelled("cancelled")
        self._relay.progress.emit(done, total)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setMaximum(max(total, 1))
        self.progress_bar.setValue(done)

    def cancel(self) -> None:
        """Stops after the cell being predicted."""
        self._cancel = True
        self.status.setText("cancelling after the current cell …")

    def _returned(self, result: FieldPrediction | _Failure, image_layer: Any) -> None:
        if isinstance(result, _Failure):
            self._failed(result.error, image_layer)
        else:
            self._show(result, image_layer)

    def _failed(self, error: BaseException, image_layer: Any = None) -> None:
        partial = getattr(error, "partial", None)
        if partial is not None and len(partial) and image_layer is not None:
            self._show(partial, image_layer)
        if isinstance(error, Cancelled):
            kept = f": kept the {len(partial)} cells finished before" if partial is not None and len(partial) else ""
            self.status.setText(f"cancelled{kept}")
        else:
            self.status.setText(f"error: {error}")

    def _done(self) -> None:
        self.predict_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.worker = None

    def _show(self, result: FieldPrediction, image_layer: Any) -> None:
        """Adds each cell's layers, fills the table."""
        self.result = result
        scale = tuple(float(s) for s in image_layer.scale[-2:])
        ty, tx = (float(t) for t in image_layer.translate[-2:])
        for cell in result:
            for data, meta, kind in layer_data(cell, scale):
                z, y, x = meta["translate"][-3:]
                meta["translate"] = (*meta["translate"][:-3], z, y + ty, x + tx)
                getattr(self.viewer, f"add_{kind}")(data, **meta)
        self.table.setRowCount(len(result))
        for row, cell in enumerate(result):
            values = [cell.name, str(cell.label)]
            for m in MEASURES:
                s = cell.summary[m]
                low, high = cell.interval(m)
                values.append(f"{s['mean']:.4g} [{low:.4g}, {high:.4g}]")
            for col, text in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem(text))
        units = result.cells[0].units if result.cells else ""
        skipped = "; ".join(f"{name}: {reason}" for _, name, reason in result.skipped)
        self.status.setText(
            f"{len(result)} cells predicted (measures in {units}: samples' mean "
            + (
                "[calibrated 90 % interval])"
                if result.cells and result.cells[0].interval_calibrated()
                else "[samples' 5 %, 95 %], not calibrated)"
            )
            + (f"; skipped {skipped}" if skipped else "")
        )
