"""benchmarks/pion_tail.py on a three-class run trained on the Geant4 test slices (tests/data).

The pions it lists must be exactly those the run's own metric counts: its pion efficiency at 99 % e/gamma
efficiency equals :func:`egid.evaluation.three_class_metrics.three_class_metrics`' on the same scores.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import ModuleType

import h5py
import numpy as np
import pytest

import egid
from egid.detector import EventWriter, InputError, load_dataset
from egid.detector.schema import ELECTRON, PHOTON
from egid.evaluation.three_class_metrics import three_class_metrics
from egid.models.three_class import model_probabilities
from egid.pipelines.run import main as egid_main
from tests.benchmark_modules import load_benchmark

DATA = Path(__file__).resolve().parent / "data"


def _pion_tail() -> ModuleType:
    return load_benchmark("pion_tail")


def _geant4_folder(root: Path) -> Path:
    """The test slices laid out as the Geant4 reference folder: electron.hdf5, photon.hdf5, pion.hdf5."""
    folder = root / "g4"
    folder.mkdir()
    with h5py.File(DATA / "g4_slice.hdf5") as source:
        x, y, eta = source["X"][:], source["y"][:], source["eta"][:]
    for name, label in (("electron", ELECTRON), ("photon", PHOTON)):
        rows = y == label
        with EventWriter(folder / f"{name}.hdf5", extras={"eta": np.float32}) as writer:
            writer.append(x[rows], y[rows], eta=eta[rows])
    shutil.copy(DATA / "g4_pion_slice.hdf5", folder / "pion.hdf5")
    return folder


def test_the_listed_pions_are_those_the_run_metric_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g4 = _geant4_folder(tmp_path)
    run = tmp_path / "run"
    argv = ["run", "--electrons", str(g4 / "electron.hdf5"), "--photons", str(g4 / "photon.hdf5")]
    argv += ["--pions", str(g4 / "pion.hdf5"), "--no-cnn", "--trials", "1", "--threads", "1", "--thresholds", "0"]
    assert egid_main([*argv, "--out-dir", str(run), "--cache-dir", str(tmp_path / "cache")]) == 0
    pion_tail = _pion_tail()
    out = tmp_path / "tail.json"
    argv = [str(run), "--geant4", str(g4), "--thresholds", "0", "20", "--model", "lightgbm", "--out", str(out)]
    assert pion_tail.main(argv) == 0
    document = json.loads(out.read_text())

    dataset = load_dataset(electrons=g4 / "electron.hdf5", photons=g4 / "photon.hdf5", pions=g4 / "pion.hdf5")
    _, frame = egid.load(run).score(dataset)
    for name in ("lightgbm", "xgboost"):
        expected = three_class_metrics(dataset.labels, model_probabilities(frame, name))
        (at_zero,) = [c for c in document["counts"] if c["model"] == name and c["threshold_gev"] == 0]
        assert at_zero["pions"] == 100 and at_zero["egamma"] == 200
        assert at_zero["pion_efficiency"] == expected["pion_efficiency_at_egamma_efficiency"]["0.99"]
    (listed,) = [c for c in document["counts"] if c["model"] == "lightgbm" and c["threshold_gev"] == 20]
    assert len(document["passing"]) == listed["passing"] and document["threshold_gev"] == 20
    for pion in document["passing"]:  # above 20 GeV every listed pion interacted, in the crystals or before
        assert pion["e_sum"] >= 20 and np.isfinite(pion["int_depth_cm"]) and 0 < pion["energy_share"] < 1.5
    assert "passing above 20 GeV" in capsys.readouterr().out


def test_a_folder_without_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=str(tmp_path)):
        _pion_tail().main([str(tmp_path)])
