"""The napari plugin, headless: the widget predicts a real cell of a field and adds its
3D layers and table; the reader opens a prediction folder."""

from __future__ import annotations

import os

import numpy as np
import pytest

napari = pytest.importorskip("napari")

from dispr._napari.reader import get_reader  # noqa: E402
from dispr._napari.widget import PredictWidget  # noqa: E402


@pytest.fixture
def field(cell):
    """A 100 × 180 field with the real cell twice (labels 1 and 2)."""
    image = np.zeros((100, 180), np.uint8)
    labels = np.zeros((100, 180), np.uint16)
    for k, x in ((1, 10), (2, 100)):
        image[18:82, x : x + 64] = cell["image"]
        labels[18:82, x : x + 64][cell["mask"] > 127] = k
    return image, labels


def test_manifest_is_valid():
    import npe2

    pm = npe2.PluginManager.instance()
    pm.discover()
    manifest = pm.get_manifest("dispr")
    assert {w.display_name for w in manifest.contributions.widgets} == {"Predict 3D shapes"}
    assert manifest.contributions.readers[0].accepts_directories


def test_widget_adds_the_cells_layers(make_napari_viewer, qtbot, field, tmp_path):
    image, labels = field
    viewer = make_napari_viewer()
    viewer.add_image(image, name="field", scale=(0.5, 0.5))
    viewer.add_labels(labels, name="cells", scale=(0.5, 0.5))
    widget = PredictWidget(viewer)
    viewer.window.add_dock_widget(widget, name="dispr")
    assert widget.image_box.currentText() == "field" and widget.labels_box.currentText() == "cells"
    assert widget.pixel_spin.value() == 0.5  # the layer's scale, taken as µm per pixel
    widget.samples_spin.setValue(2)
    widget.cells_edit.setText("2")
    widget.predict()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=180_000)
    assert widget.status.text().startswith("1 cells predicted"), widget.status.text()
    names = [layer.name for layer in viewer.layers]
    assert names == ["field", "cells", "field_2 probability", "field_2 ensemble", "field_2 samples"]
    prob, ens, samples = (viewer.layers[n] for n in names[2:])
    assert isinstance(prob, napari.layers.Image) and isinstance(ens, napari.layers.Labels)
    assert prob.data.shape == (64, 64, 64) and samples.data.shape == (2, 64, 64, 64)
    assert tuple(prob.scale) == (0.5, 0.5, 0.5)
    # Placed over the cell: the ensemble's middle plane covers the cell's mask.
    r = widget.result[0]
    y0, x0 = r.origin
    assert tuple(prob.translate[1:]) == (y0 * 0.5, x0 * 0.5)
    middle = ens.data[32] > 0
    cell = labels[y0 : y0 + 64, x0 : x0 + 64] == 2
    assert (middle & cell).sum() > 0.8 * cell.sum()
    assert widget.progress_bar.value() == widget.progress_bar.maximum() > 0
    assert widget.table.rowCount() == 1 and widget.table.item(0, 0).text() == "field_2"
    assert "[" in widget.table.item(0, 2).text()  # volume: mean [p05, p95]
    # The picture the docs show (written where DISPR_SCREENSHOT says).
    if os.environ.get("DISPR_SCREENSHOT"):
        viewer.window._qt_window.resize(1500, 900)
        viewer.dims.ndisplay = 3
        for layer in (viewer.layers["cells"], samples):
            layer.visible = False
        viewer.layers.selection.active = prob
        viewer.reset_view()
        viewer.camera.angles = (-20, 35, 120)
        viewer.camera.zoom *= 1.6
        viewer.camera.center = (0, (y0 + 32) * 0.5, (x0 + 32) * 0.5)
        qtbot.wait(500)
        viewer.screenshot(os.environ["DISPR_SCREENSHOT"], canvas_only=False, flash=False)


def test_widget_reports_bad_input(make_napari_viewer, qtbot, field):
    image, labels = field
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros_like(image), name="dark")
    viewer.add_labels(labels, name="cells")
    widget = PredictWidget(viewer)
    widget.cells_edit.setText("1, x")
    widget.predict()
    assert widget.worker is None
    assert widget.status.text() == "error: cells to predict: '1, x' is not a list of labels"
    widget.cells_edit.setText("")
    widget.predict()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert widget.predict_button.isEnabled()
    assert widget.status.text() == "error: image: the image is constant (every pixel 0): there is no fluorescence to read"


def test_reader_opens_a_prediction_folder(cli, cell, tmp_path):
    f = cell["files"]
    cli("predict", f["image"], f["mask"], "--out", tmp_path / "out", "--samples", 2)
    assert get_reader(str(tmp_path)) is None
    reader = get_reader(str(tmp_path / "out"))
    layers = reader(str(tmp_path / "out"))
    assert [(m["name"], kind) for _, m, kind in layers] == [
        (f"{cell['name']} probability", "image"),
        (f"{cell['name']} ensemble", "labels"),
        (f"{cell['name']} samples", "labels"),
    ]
    assert layers[2][0].shape == (2, 64, 64, 64)


def test_widget_takes_a_shapes_layer(make_napari_viewer, qtbot, field):
    image, labels = field
    viewer = make_napari_viewer()
    viewer.add_image(image, name="field")
    # An outline drawn around the first cell (rows 18-82, columns 10-74 of the field).
    ys, xs = np.nonzero(labels == 1)
    box = [[ys.min(), xs.min()], [ys.min(), xs.max()], [ys.max(), xs.max()], [ys.max(), xs.min()]]
    viewer.add_shapes([np.array(box, float)], shape_type="ellipse", name="outline")
    widget = PredictWidget(viewer)
    assert widget.labels_box.currentText() == "outline"
    widget.samples_spin.setValue(1)
    widget.predict()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=180_000)
    assert widget.status.text().startswith("1 cells predicted"), widget.status.text()
    assert [layer.name for layer in viewer.layers][2:] == ["field_1 probability", "field_1 ensemble", "field_1 samples"]
