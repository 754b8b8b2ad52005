"""The feature table of fixed inputs is pinned per version: a changed formula without a version bump fails here.

FEATURE_SET_VERSION keys the feature caches and is written into every exported model's manifest, and
SIMULATION_VERSION keys the cached simulated samples; a change that forgets to bump them would silently reuse
stale caches or accept old models. After changing a feature or the simulation on purpose, bump the version and
pin the new fingerprint: ``python -m tests.features.test_fingerprint`` rewrites ``tests/data/fingerprints.json``
for the current versions, keeping the older entries. The hadronic features are pinned apart, per
HADRONIC_SET_VERSION, in ``tests/data/hadronic_fingerprints.json`` (on the Geant4 e/gamma and pion slices), so
that pinning them left the electron/photon pins untouched.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from egid import features
from egid.detector import load_dataset
from egid.features.registry import HADRONIC_SET_VERSION
from egid.simulation import SIMULATION_VERSION, simulate_events
from tests.features.toy_images import G4_SLICE, g4_pion_crops
from tests.fingerprints import changed_features, table_fingerprint

PINS = Path(__file__).resolve().parents[1] / "data" / "fingerprints.json"
HADRONIC_PINS = PINS.with_name("hadronic_fingerprints.json")
SIMULATED_EVENTS = 200
SIMULATION_SEED = 11


def geant4_slice_table() -> pd.DataFrame:
    return features.build_table(load_dataset(data=G4_SLICE).read_images())


def simulated_table() -> pd.DataFrame:
    samples = [simulate_events(SIMULATED_EVENTS, particle=p, seed=SIMULATION_SEED)[0] for p in ("electron", "photon")]
    return features.build_table(np.concatenate(samples))


def hadronic_table() -> pd.DataFrame:
    images = np.concatenate([load_dataset(data=G4_SLICE).read_images(), g4_pion_crops()])
    return features.build_table(images, features.HADRONIC_FEATURES)


def hadronic_key() -> str:
    return f"hadronic {HADRONIC_SET_VERSION}"


def current_keys() -> dict[str, str]:
    """Which version each pinned table depends on."""
    return {
        "geant4_slice": f"features {features.FEATURE_SET_VERSION}",
        "simulated": f"simulation {SIMULATION_VERSION}, features {features.FEATURE_SET_VERSION}",
    }


def _check(table_name: str, table: pd.DataFrame) -> None:
    key = current_keys()[table_name]
    pins = json.loads(PINS.read_text())[table_name]
    assert key in pins, f"{table_name}: no fingerprint pinned for {key!r}; pin it (see this module's docstring)"
    changed = changed_features(table_fingerprint(table), pins[key])
    assert not changed, f"{table_name}: {changed} changed under the same versions ({key}); bump the version"


def test_geant4_slice_features_match_the_fingerprint_of_this_feature_set_version() -> None:
    _check("geant4_slice", geant4_slice_table())


def test_simulated_features_match_the_fingerprint_of_these_simulation_and_feature_set_versions() -> None:
    _check("simulated", simulated_table())


def test_hadronic_features_match_the_fingerprint_of_this_hadronic_set_version() -> None:
    pins = json.loads(HADRONIC_PINS.read_text())["geant4_slices"]
    assert hadronic_key() in pins, f"no fingerprint pinned for {hadronic_key()!r}; pin it (see this module's docstring)"
    changed = changed_features(table_fingerprint(hadronic_table()), pins[hadronic_key()])
    assert not changed, f"{changed} changed under the same version ({hadronic_key()}); bump HADRONIC_SET_VERSION"


def test_the_fingerprint_sees_a_one_percent_change_of_one_event_and_ignores_float32_noise() -> None:
    table = geant4_slice_table()
    pinned = table_fingerprint(table)
    noisy = table * np.float32(1 + 2**-23)
    changed = table.copy()
    changed.loc[17, "r9"] *= 1.01
    assert changed_features(table_fingerprint(noisy), pinned) == []
    assert changed_features(table_fingerprint(changed), pinned) == ["r9"]


if __name__ == "__main__":
    document = json.loads(PINS.read_text()) if PINS.exists() else {}
    for name, table in (("geant4_slice", geant4_slice_table()), ("simulated", simulated_table())):
        document.setdefault(name, {})[current_keys()[name]] = table_fingerprint(table)
    PINS.write_text(json.dumps(document, indent=1) + "\n")
    hadronic = json.loads(HADRONIC_PINS.read_text()) if HADRONIC_PINS.exists() else {}
    hadronic.setdefault("geant4_slices", {})[hadronic_key()] = table_fingerprint(hadronic_table())
    HADRONIC_PINS.write_text(json.dumps(hadronic, indent=1) + "\n")
    print(f"pinned {current_keys()} in {PINS} and {hadronic_key()!r} in {HADRONIC_PINS}")
