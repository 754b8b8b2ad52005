"""The simulated events as a whole: shower shapes that tell electrons from photons, energy, reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from egid.detector.schema import ENERGY, ENERGY_SCALE_GEV, SEED_IETA, SEED_IPHI
from egid.simulation import iter_chunks, simulate_events

Sample = tuple[np.ndarray, dict[str, np.ndarray], pd.DataFrame]


def test_images_have_the_real_layout(electrons: Sample, photons: Sample) -> None:
    for images, extras, _ in (electrons, photons):
        assert images.dtype == np.float32 and images.shape[1:] == (32, 32, 2)
        e = images[..., ENERGY]
        assert np.all(e.reshape(len(e), -1).argmax(axis=1) == SEED_IETA * 32 + SEED_IPHI)
        assert extras["eta"].dtype == np.float32 and np.all(np.abs(extras["eta"]) <= 1.2)
    assert set(photons[1]) == {"eta", "converted"} and set(electrons[1]) == {"eta"}


def test_unconverted_photons_are_compact(photons: Sample) -> None:
    _, extras, table = photons
    unconverted = extras["converted"] == 0
    assert np.mean(table["r9"][unconverted] > 0.9) > 0.85
    assert table["r9"][unconverted].median() > table["r9"][~unconverted].median() + 0.05


def test_electrons_are_wider_in_phi_than_unconverted_photons(electrons: Sample, photons: Sample) -> None:
    unconverted = photons[2][photons[1]["converted"] == 0]
    for name in ("sigma_iphiiphi", "phi_width"):
        assert electrons[2][name].mean() > 1.2 * unconverted[name].mean()
    # Along i-eta nothing bends: the widths agree to within 10% (Geant4: 0.0095 and 0.0100).
    assert electrons[2]["sigma_ietaieta"].mean() == pytest.approx(unconverted["sigma_ietaieta"].mean(), rel=0.1)


def test_phi_spread_lies_along_axis_2(electrons: Sample) -> None:
    images, _, table = electrons
    e = images[..., ENERGY]
    spread_axis1 = e[:, :, SEED_IPHI].sum(axis=1) - e[:, SEED_IETA - 1 : SEED_IETA + 2, SEED_IPHI].sum(axis=1)
    spread_axis2 = e[:, SEED_IETA, :].sum(axis=1) - e[:, SEED_IETA, SEED_IPHI - 1 : SEED_IPHI + 2].sum(axis=1)
    assert spread_axis2.mean() > 3 * spread_axis1.mean()
    assert table["phi_width"].mean() > 1.3 * table["eta_width"].mean()
    assert table["sigma_iphiiphi"].mean() > 1.2 * table["sigma_ietaieta"].mean()


def test_energy_sum_is_close_to_the_generated_energy(electrons: Sample, photons: Sample) -> None:
    for images, extras, _ in (electrons, photons):
        generated = 50.0 * np.cosh(extras["eta"])
        ratio = images[..., ENERGY].sum(axis=(1, 2)) * ENERGY_SCALE_GEV / generated
        assert ratio.mean() == pytest.approx(0.96, abs=0.02)  # threshold and leakage losses, as in Geant4


def test_conversion_fraction_grows_with_eta(photons: Sample) -> None:
    _, extras, _ = photons
    central = extras["converted"][np.abs(extras["eta"]) < 0.4].mean()
    forward = extras["converted"][np.abs(extras["eta"]) > 0.8].mean()
    assert central == pytest.approx(0.28, abs=0.05)
    assert forward == pytest.approx(0.59, abs=0.05)


def test_same_seed_same_events_other_seed_other_events() -> None:
    a, extras_a = simulate_events(300, particle="photon", seed=5, chunk_size=128)
    b, extras_b = simulate_events(300, particle="photon", seed=5, chunk_size=128)
    c, _ = simulate_events(300, particle="photon", seed=6, chunk_size=128)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(extras_a["converted"], extras_b["converted"])
    assert not np.array_equal(a, c)


def test_classes_use_independent_streams() -> None:
    _electrons, e_extras = simulate_events(200, particle="electron", seed=5)
    _photons, p_extras = simulate_events(200, particle="photon", seed=5)
    assert not np.array_equal(e_extras["eta"], p_extras["eta"])


def test_unknown_particle_is_rejected() -> None:
    with pytest.raises(ValueError, match="particle must be one of"):
        simulate_events(10, particle="muon", seed=0)


def test_pretraining_streams_are_none_of_the_sample_streams() -> None:
    """The CNN is pretrained on events no `egid simulate` sample (of any seed tried here) contains."""

    def eta(seed: int, *, pretraining: bool) -> np.ndarray:
        _, extras = next(iter_chunks(50, particle="electron", seed=seed, pretraining=pretraining))
        return extras["eta"]

    samples = [eta(seed, pretraining=False) for seed in range(20)]
    for seed in range(3):
        pretraining = eta(seed, pretraining=True)
        assert np.array_equal(pretraining, eta(seed, pretraining=True))  # still reproducible
        assert not any(np.isin(pretraining, sample).any() for sample in samples)
