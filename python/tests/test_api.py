"""The Python API against the command line: same inputs and seed, same arrays."""

from __future__ import annotations

import json
import threading
import time
import warnings

import numpy as np
import pytest
import tifffile

import dispr


def test_version_and_card(cli):
    assert dispr.__version__ == cli("--version").split()[-1]
    card = dispr.card()
    info = json.loads(cli("model", "info", "--model", "builtin", "--json"))[0]["card"]
    assert card["sha256"] == info["sha256"] and card["steps"] == info["steps"]
    assert card["input"] == [64, 64]
    assert card["default_sampler"] == "ddim-10-eta1-from0.7"
    assert "| ddim-10-eta1-from0.7 + learnt scale (default) |" in card["study"]
    # Its samples are enlarged by the scale learnt on its training cells.
    assert card["calibration"]["size_fit"] == "scale"
    assert dispr.load_model().scale == pytest.approx(card["calibration"]["scale"])
    assert {c["class"] for c in card["classes"]} >= {"cluster", "keratocyte", "knizocyte", "multilobate"}
    assert "SHA-256 " + card["sha256"] in dispr.load_model().info()


def test_the_built_in_model_reports_calibrated_intervals_for_its_default_draw(cell):
    p = dispr.predict(cell["image"], cell["mask"], samples=5, seed=0, name=cell["name"])
    assert p.interval_calibrated("volume") and not p.interval_calibrated("sphericity")
    low, high = p.interval("volume")
    assert (low, high) == (p.summary["volume"]["lo90"], p.summary["volume"]["hi90"])
    assert low <= p.summary["volume"]["mean"] <= high
    # Another draw than the one the intervals were measured on: the samples' range.
    q = dispr.predict(cell["image"], cell["mask"], samples=2, seed=0, name=cell["name"])
    assert not q.interval_calibrated() and q.interval() == (q.summary["volume"]["p05"], q.summary["volume"]["p95"])


def test_predict_equals_the_command_line(cell, cli, tmp_path):
    out = tmp_path / "cli"
    f = cell["files"]
    cli("predict", f["image"], f["mask"], "--out", out, "--samples", 3, "--seed", 4)
    p = dispr.predict(cell["image"], cell["mask"], samples=3, seed=4, name=cell["name"])
    assert p.samples.shape == (3, 64, 64, 64) and p.samples.dtype == bool
    for k in range(3):
        assert np.array_equal(tifffile.imread(out / f"{cell['name']}_{k}.tif") > 0, p.samples[k])
    assert np.array_equal(tifffile.imread(out / "probability" / f"{cell['name']}.tif"), p.probability)
    assert np.array_equal(tifffile.imread(out / "std" / f"{cell['name']}.tif"), p.std)
    assert np.array_equal(tifffile.imread(out / "ensemble" / f"{cell['name']}.tif") > 0, p.ensemble)
    # The per-cell table: the samples' mean volume and its interval, as cells.csv says.
    row = dict(zip(*[line.split(",") for line in (out / "cells.csv").read_text().splitlines()[:2]]))
    assert float(row["volume_vox3_mean"]) == pytest.approx(p.summary["volume"]["mean"], rel=1e-6)
    assert float(row["volume_vox3_p95"]) == pytest.approx(p.interval("volume")[1], rel=1e-6)
    assert p.sample_measures["volume"].tolist() == [float(s.sum()) for s in p.samples]
    # The folder reads back as the same prediction.
    back = dispr.read_prediction(out)[0]
    assert np.array_equal(back.samples, p.samples) and np.array_equal(back.probability, p.probability)


@pytest.mark.filterwarnings("ignore:image. float32 image with values up to 198")
def test_any_dtype_reads_as_the_command_line_reads_it(cell):
    image, mask = cell["image"], cell["mask"]
    base = dispr.predict(image, mask, samples=1, seed=1)
    for other in (image.astype(np.uint16) * 257, image.astype(np.float32) / 255, image.astype(np.float64), image.astype(np.int32)):
        p = dispr.predict(other, mask, samples=1, seed=1)
        assert np.array_equal(p.probability, base.probability), other.dtype
    # A boolean mask: the foreground dispr reads from the file (above half its maximum).
    as_bool = dispr.predict(image, mask > mask.max() / 2, samples=1, seed=1)
    assert np.array_equal(as_bool.probability, base.probability)
    twelve = dispr.predict((image.astype(np.uint16) * 4095 // 255), mask, samples=1, seed=1)
    assert twelve.samples.shape == base.samples.shape


def test_any_crop_size(cell):
    # The cell in a larger, off-centre canvas: predicted over a crop around it.
    image = np.zeros((150, 200), np.uint8)
    mask = np.zeros((150, 200), np.uint8)
    image[40:104, 90:154] = cell["image"]
    mask[40:104, 90:154] = cell["mask"]
    p = dispr.predict(image, mask, samples=2, seed=0)
    assert p.samples.shape[0] == 2 and p.samples.shape[2:] == (64, 64)
    y0, x0 = p.origin
    assert 0 <= y0 <= 150 - 64 and 0 <= x0 <= 200 - 64
    assert p.samples[:, :, 40 - y0 : 104 - y0, 90 - x0 : 154 - x0].any()


def test_field_with_labels_equals_the_command_line(cell, cli, tmp_path):
    field = np.zeros((100, 180), np.uint8)
    labels = np.zeros((100, 180), np.uint16)
    for k, x in ((1, 10), (2, 100)):
        field[18:82, x : x + 64] = cell["image"]
        labels[18:82, x : x + 64][cell["mask"] > 0] = k
    labels[0, 0] = 3  # a cell on the border: skipped
    tifffile.imwrite(tmp_path / "field.tif", field)
    tifffile.imwrite(tmp_path / "labels.tif", labels)
    out = tmp_path / "cli"
    cli("predict", "--image", tmp_path / "field.tif", "--labels", tmp_path / "labels.tif", "--out", out, "--samples", 2)
    r = dispr.predict_field(field, labels, samples=2, name="field")
    assert [c.name for c in r] == ["field_1", "field_2"]
    assert r.skipped == [(3, "field_3", "touches the field's border (part of it is outside)")]
    for c in r:
        assert np.array_equal(tifffile.imread(out / "probability" / f"{c.name}.tif"), c.probability)
    # Each cell's row is its row of cells.csv, column for column.
    lines = (out / "cells.csv").read_text().splitlines()
    header = lines[0].split(",")
    for c, line in zip(r, lines[1:]):
        row = c.row()
        assert list(row) == header
        for key, value in zip(header, line.split(",")):
            if isinstance(row[key], float):
                assert float(value) == pytest.approx(row[key], abs=5.1e-5), key  # printed to 4 decimals
            elif row[key] is None:
                assert value == "", key  # no calibrated interval: an empty field
            else:
                assert str(row[key]) == value, key
    table = r.table()
    assert table["label"].tolist() == [1, 2] and table["volume_vox3_mean"].shape == (2,)
    # The folder reads back: the cells, their origins, the skipped one.
    back = dispr.read_prediction(out)
    assert [(c.name, c.origin) for c in back] == [(c.name, c.origin) for c in r]
    assert back.skipped == [(3, "field_3", "touches the field's border (part of it is outside)")]
    assert np.allclose(back[0].sample_measures["volume"], r[0].sample_measures["volume"])
    assert [c.name for c in dispr.predict_field(field, labels, samples=1, cells=[2])] == ["field_2"]


def test_measure_mesh_synth_evaluate(cell, cli, tmp_path):
    truth = cell["obj"] > cell["obj"].max() / 2  # as dispr binarises: v / max > 0.5
    m = dispr.measure(cell["obj"])
    line = json.loads(cli("measure", "--json", cell["files"]["obj"]).splitlines()[0])
    for k in ("volume", "surface_area", "roughness", "curvature", "mesh_volume"):
        assert m[k] == pytest.approx(line[k], rel=1e-9), k
    v, f = dispr.mesh(truth)
    assert v.shape[1] == 3 and f.max() < len(v)
    assert v[:, 0].max() <= truth.shape[0] + 1  # (z, y, x) order
    assert dispr.measure(truth, spacing=0.5)["volume"] == pytest.approx(m["volume"] * 0.125)
    cli("synth", "--n", 3, "--seed", 5, "--out", tmp_path / "synth")
    for c in dispr.synth(3, seed=5):
        assert np.array_equal(tifffile.imread(tmp_path / "synth" / "image" / f"{c['name']}.tif"), c["image"])
        assert np.array_equal(tifffile.imread(tmp_path / "synth" / "obj" / f"{c['name']}.tif") > 0, c["shape"])
    p = dispr.predict(cell["image"], cell["mask"], samples=3, seed=2, name=cell["name"])
    table = dispr.evaluate(p, truth)
    assert table["prediction"].tolist() == ["sample 0", "sample 1", "sample 2", "ensemble"]
    assert np.all((table["iou"] > 0) & (table["iou"] <= 1))
    by_name = dispr.evaluate({cell["name"]: p.samples}, {cell["name"]: truth})
    assert np.array_equal(by_name["iou"], table["iou"])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda c: dispr.predict(np.zeros((64, 64)), c["mask"]), "image: the image is constant"),
        (lambda c: dispr.predict(c["image"], np.zeros((64, 64))), "mask is empty"),
        (lambda c: dispr.predict(c["image"], c["mask"][:40]), "mask is 40×64 but the image is 64×64"),
        (lambda c: dispr.predict(c["image"].astype(np.float32) * np.nan, c["mask"]), "NaN"),
        (lambda c: dispr.predict(c["image"], c["mask"], samples=0), "samples: 0"),
        (lambda c: dispr.predict(c["image"], c["mask"], sampler="euler"), "unknown sampler 'euler'"),
        (lambda c: dispr.predict(c["image"], c["mask"], sampler="ddpm", eta=1.0), "η belongs to the ddim sampler"),
        (lambda c: dispr.predict(c["image"], c["mask"], from_prior=0.1), "leaves at least 2 of them"),
        (lambda c: dispr.predict(c["image"], c["mask"], from_prior=0), "from_prior: 0 is not a fraction in (0, 1]"),
        (lambda c: dispr.predict(c["image"], c["mask"], pixel_size=-1.0), "pixel_size"),
        (lambda c: dispr.predict(c["image"], c["mask"], model="/nonexistent/model.dispr"), "/nonexistent/model.dispr"),
        (lambda c: dispr.predict_field(c["image"], np.full((64, 64), 0.5)), "not a label image"),
        (lambda c: dispr.predict_field(c["image"], (c["mask"] > 0).astype(np.uint8), cells=[2]), "labels: no cell labelled 2"),
        (lambda c: dispr.measure(np.zeros((4, 4))), "3D array"),
        (lambda c: dispr.predict(np.stack([c["image"]] * 2), c["mask"]), "pass one, e.g. image[1] (channels first)"),
        (lambda c: dispr.predict(np.zeros((64, 64, 3), np.uint8), c["mask"]), "or image[..., 1] (channels last)"),
        (lambda c: dispr.measure(c["obj"], spacing=(1.0, 2.0)), "spacing: (1.0, 2.0) is not one number or three"),
        (lambda c: dispr.predict(c["image"], c["mask"], seed=-1), "seed: -1 is not in 0"),
        (lambda c: dispr.predict(c["image"], c["mask"], samples=2.5), "samples: 2.5 is not a whole number"),
        (lambda c: dispr.predict(c["image"], c["mask"], progress=5), "progress: 5 is not callable"),
        (lambda c: dispr.predict(c["image"], c["mask"], model=dispr.load_model(), steps=5), "pass them to dispr.load_model"),
        (lambda c: dispr.synth(2, classes=["x"]), "classes: unknown class 'x' (expected cluster"),
        (lambda c: dispr.synth(0), "n: 0 is not in 1..=100000"),
    ],
)
def test_errors_are_one_line_dispr_errors(cell, call, message):
    with pytest.raises(dispr.DisprError) as e:
        call(cell)
    assert message in str(e.value) and "\n" not in str(e.value)
    assert isinstance(e.value, ValueError)


def test_progress_and_cancel(cell):
    seen = []
    dispr.predict(cell["image"], cell["mask"], samples=1, progress=lambda d, t: seen.append((d, t)))
    model = dispr.load_model()
    assert seen[-1] == (model._model.evaluations, model._model.evaluations)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)

    def stop(done, total):
        raise KeyError("stop here")

    with pytest.raises(KeyError, match="stop here"):
        dispr.predict(cell["image"], cell["mask"], samples=1, progress=stop)


def test_an_interrupted_field_keeps_its_finished_cells(cell):
    field = np.zeros((80, 240), np.uint8)
    labels = np.zeros((80, 240), np.uint8)
    for k, x in ((1, 8), (2, 88), (3, 168)):
        field[8:72, x : x + 64] = cell["image"]
        labels[8:72, x : x + 64][cell["mask"] > 127] = k
    evaluations = dispr.load_model()._model.evaluations

    def stop_in_the_second_cell(done, total):
        if done > evaluations:
            raise InterruptedError("enough")

    with pytest.raises(InterruptedError) as e:
        dispr.predict_field(field, labels, samples=1, progress=stop_in_the_second_cell)
    partial = e.value.partial
    # The cell under way when it raised is finished and kept; the third is not started.
    assert not partial.complete and [c.name for c in partial] == ["field_1", "field_2"]


def test_unusual_encodings_are_read_by_the_rule_and_noted(cell):
    # A float image holding values up to 300: read as 12-bit (value / 4095), with a note.
    image = cell["image"].astype(np.float32) * np.float32(300 / cell["image"].max())
    with pytest.warns(UserWarning, match=r"image: float32 image with values up to 300(\.0+\d*)?, beyond 0–1: read as 12-bit"):
        dispr.predict(image, cell["mask"], samples=1)


def test_a_hot_pixel_is_saturated_not_the_images_range(cell):
    # A 12-bit image in uint16 with one hot pixel at 5000: still 12-bit, that pixel as 1,
    # the same prediction as with the pixel at 4095 (before, the whole image read / 65535).
    image = (cell["image"].astype(np.float64) * (4095 / 255)).astype(np.uint16)
    image[0, 0] = 4095
    hot = image.copy()
    hot[0, 0] = 5000
    with pytest.warns(UserWarning, match=r"1 pixel above 4095 \(up to 5000\).*saturated"):
        p = dispr.predict(hot, cell["mask"], samples=1, seed=3)
    q = dispr.predict(image, cell["mask"], samples=1, seed=3)
    assert np.array_equal(p.samples, q.samples)


def test_a_cell_cut_by_the_images_edge_is_warned_about(cell):
    # The cell's crop without its left 5 columns of the cell: its mask now touches the
    # left edge (the real crop touches an edge too, with 7 pixels).
    cols = np.flatnonzero((cell["mask"] > 0).any(axis=0))
    image, mask = (a[:, int(cols[0]) + 5 :] for a in (cell["image"], cell["mask"]))
    with pytest.warns(UserWarning, match=r"cell 'cell': its mask touches the image's edge \(\d+ of its \d+ pixels\)") as caught:
        p = dispr.predict(image, mask, samples=1)
    # Blamed on this line, not on dispr's own code.
    assert caught[0].filename == __file__, caught[0].filename
    inside = mask > mask.max() / 2
    ring = np.ones_like(inside)
    ring[1:-1, 1:-1] = False
    assert p.edge_px == int((inside & ring).sum()) > 7
    # The cell with a margin round it: wholly inside, no warning.
    image, mask = (np.pad(a, 8) for a in (cell["image"], cell["mask"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inside = dispr.predict(image, mask, samples=1)
    assert inside.edge_px == 0


def test_the_gil_is_released_while_predicting(cell):
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.01)

    t = threading.Thread(target=count)
    t.start()
    start = time.perf_counter()
    dispr.predict(cell["image"], cell["mask"], samples=1)
    seconds = time.perf_counter() - start
    done.set()
    t.join()
    # A thread holding the GIL for the whole prediction would let the counter tick
    # only before and after it.
    during = [x for x in ticks if start < x < start + seconds]
    assert len(during) >= 0.3 * seconds / 0.01
