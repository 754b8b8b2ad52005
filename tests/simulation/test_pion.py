"""Simulated charged pions end to end: labels, extras, schema, physics figures, seeds and the untouched e/gamma."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from egid.detector import file_digest
from egid.detector.schema import ENERGY, ENERGY_SCALE_GEV, SEED_IETA, SEED_IPHI
from egid.simulation import LABELS, PARTICLES, PION, simulate_events, write_sample
from egid.simulation.constants import CRYSTAL_LENGTH_CM, PB_WO4_PION_LAMBDA_CM

N_PIONS = 3000


@pytest.fixture(scope="module")
def pions() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    return simulate_events(N_PIONS, particle="pion", seed=31)


def test_pions_are_a_third_particle_with_label_two() -> None:
    assert PARTICLES == ("electron", "photon", "pion")
    assert PION == 2.0 and LABELS == {"electron": 1.0, "photon": 0.0, "pion": 2.0}


def test_charge_is_split_half_and_half(pions: tuple[np.ndarray, dict[str, np.ndarray]]) -> None:
    charge = pions[1]["charge"]
    assert charge.dtype == np.int8 and set(np.unique(charge)) == {-1, 1}
    assert np.sum(charge == -1) == np.sum(charge == 1) == N_PIONS // 2


def test_interaction_fractions_in_tracker_and_crystals(pions: tuple[np.ndarray, dict[str, np.ndarray]]) -> None:
    depth = pions[1]["int_depth"]
    assert depth.dtype == np.float32
    in_tracker = depth < 0
    reached = ~in_tracker
    assert in_tracker.mean() == pytest.approx(0.118, abs=0.03)  # Geant4 reference: 11.8%
    # Of the pions that reach the crystals, 1 - exp(-23 / 23.8) interact in them (about 1 - exp(-23/24)).
    expected = -np.expm1(-CRYSTAL_LENGTH_CM / PB_WO4_PION_LAMBDA_CM)
    interacted = (depth[reached] >= 0).mean()
    assert interacted == pytest.approx(expected, abs=4 * np.sqrt(expected * (1 - expected) / reached.sum()))
    assert np.all(depth[depth >= 0] < CRYSTAL_LENGTH_CM)


def test_non_interacting_pions_leave_a_mip_in_one_crystal(pions: tuple[np.ndarray, dict[str, np.ndarray]]) -> None:
    images, extras = pions
    energy = images[np.isnan(extras["int_depth"]), ..., ENERGY] * ENERGY_SCALE_GEV
    seed = energy[:, SEED_IETA, SEED_IPHI]
    counts, edges = np.histogram(seed, bins=np.arange(0.12, 0.8, 0.02))
    assert 0.25 <= edges[counts.argmax()] + 0.01 <= 0.36  # Geant4: most probable 0.27 GeV
    neighbours = energy[:, SEED_IETA - 1 : SEED_IETA + 2, SEED_IPHI - 1 : SEED_IPHI + 2].sum(axis=(1, 2)) - seed
    assert np.mean(neighbours == 0) > 0.85  # nearly all in one crystal (noise hits elsewhere are rare)
    assert np.mean(energy.sum(axis=(1, 2)) < 1.0) > 0.9


def test_summed_energy_matches_the_geant4_figures(pions: tuple[np.ndarray, dict[str, np.ndarray]]) -> None:
    """Geant4 (2000 pions): 34% under 1 GeV, 52 / 35 / 17% above 10 / 20 / 30 GeV, mean 14.6 GeV."""
    e_sum = pions[0][..., ENERGY].sum(axis=(1, 2)) * ENERGY_SCALE_GEV
    assert np.mean(e_sum < 1) == pytest.approx(0.34, abs=0.04)
    for threshold, fraction in ((10, 0.52), (20, 0.35), (30, 0.17)):
        assert np.mean(e_sum > threshold) == pytest.approx(fraction, abs=0.04)
    assert e_sum.mean() == pytest.approx(14.6, abs=1.5)
    assert e_sum.max() < 50 * np.cosh(1.2)


def test_pi_minus_and_pi_plus_mirror_each_other_along_iphi(pions: tuple[np.ndarray, dict[str, np.ndarray]]) -> None:
    """After a tracker interaction the soft charged secondaries fan out on the side their charge bends to
    (mostly the pion's own sign: the leading hadron keeps it), so the energy centroid leaves the seed towards
    +i-phi for pi- and -i-phi for pi+ (Geant4: +0.14 and -0.39 crystals)."""
    images, extras = pions
    energy = images[..., ENERGY].astype(np.float64)
    # A tracker interaction whose secondaries all miss the crystals or stay under threshold leaves an empty crop.
    lit = energy.sum(axis=(1, 2)) > 0
    in_tracker = (extras["int_depth"] < 0) & lit
    phi = np.zeros(len(energy))
    phi[lit] = (energy[lit].sum(axis=1) * np.arange(32)).sum(axis=1) / energy[lit].sum(axis=(1, 2)) - SEED_IPHI
    minus = phi[in_tracker & (extras["charge"] == -1)].mean()
    plus = phi[in_tracker & (extras["charge"] == 1)].mean()
    assert minus - plus > 0.1


def test_showers_are_wider_than_mips_and_start_where_the_depth_says(
    pions: tuple[np.ndarray, dict[str, np.ndarray]],
) -> None:
    images, extras = pions
    energy = images[..., ENERGY] * ENERGY_SCALE_GEV
    hits = (energy > 0).sum(axis=(1, 2))
    depth = extras["int_depth"]
    assert np.median(hits[depth < 0]) > np.median(hits[depth >= 0]) > 4 * np.median(hits[np.isnan(depth)])
    e_sum = energy.sum(axis=(1, 2))
    assert np.median(e_sum[(depth >= 0) & (depth < 5)]) > 3 * np.median(e_sum[depth > 18])


def test_late_energy_makes_pion_showers_later_than_electron_showers(
    pions: tuple[np.ndarray, dict[str, np.ndarray]],
) -> None:
    images, extras = pions
    electrons, _ = simulate_events(1000, particle="electron", seed=32)
    showering = (extras["int_depth"] >= 0) & (images[..., ENERGY].sum(axis=(1, 2)) * ENERGY_SCALE_GEV > 10)
    pion_seed_time = images[showering, SEED_IETA, SEED_IPHI, 1].mean() * 50
    electron_seed_time = electrons[:, SEED_IETA, SEED_IPHI, 1].mean() * 50
    assert pion_seed_time > electron_seed_time + 0.1  # ns (Geant4: 0.47 against 0.27)


def test_same_seed_same_pions_other_seed_other_pions() -> None:
    a, extras_a = simulate_events(300, particle="pion", seed=5, chunk_size=128)
    b, extras_b = simulate_events(300, particle="pion", seed=5, chunk_size=128)
    c, _ = simulate_events(300, particle="pion", seed=6, chunk_size=128)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(extras_a["int_depth"], extras_b["int_depth"])
    assert not np.array_equal(a, c)


def test_written_pion_file_has_the_real_schema_and_its_extras(tmp_path: Path) -> None:
    (path,) = write_sample(tmp_path, 150, seed=1, particles=("pion",))
    assert path == tmp_path / "pion.hdf5"
    with h5py.File(path) as f:
        assert set(f) == {"X", "y", "eta", "charge", "int_depth"}
        assert f["X"].shape == (150, 32, 32, 2) and f["X"].dtype == np.float32 and f["X"].compression == "lzf"
        assert f["y"].dtype == np.float32 and np.all(f["y"][:] == 2.0)
        assert f["charge"].dtype == np.int8 and f["int_depth"].dtype == np.float32 and f["eta"].dtype == np.float32
        images = f["X"][:]
    energy = images[..., ENERGY]
    assert np.all(energy >= 0) and np.all(np.isfinite(images))
    assert np.all(energy.reshape(150, -1).argmax(axis=1) == SEED_IETA * 32 + SEED_IPHI)


# What the electron and photon code gave before pions existed (seeds 7 and 8, 300 events, chunks of 128):
# the sums of the stored energies and of their squares, the crystals above threshold and the summed times (float32
# file units, summed in float64), and the SHA-256 of the generated eta (exact: uniform draws are the same on every
# processor). A changed random stream moves every one of them by far more than the tolerance.
PINNED_E_GAMMA = {
    "electron": (351.18981291912496, 149.0680433217974, 7087, 47.91562990044622, "e591cd9d07af49d6"),
    "photon": (358.84298871597275, 184.66319969925354, 6740, 54.43320871603453, "0197440525366c5f"),
}


@pytest.mark.parametrize("particle", sorted(PINNED_E_GAMMA))
def test_electrons_and_photons_are_what_they_were_before_pions(particle: str) -> None:
    seed = 7 if particle == "electron" else 8
    images, extras = simulate_events(300, particle=particle, seed=seed, chunk_size=128)  # type: ignore[arg-type]
    energy, time = images[..., 0].astype(np.float64), images[..., 1].astype(np.float64)
    e_sum, e2_sum, hits, t_sum, eta_digest = PINNED_E_GAMMA[particle]
    assert hashlib.sha256(extras["eta"].tobytes()).hexdigest().startswith(eta_digest)
    assert energy.sum() == pytest.approx(e_sum, rel=1e-6)
    assert (energy**2).sum() == pytest.approx(e2_sum, rel=1e-6)
    assert abs(int((energy > 0).sum()) - hits) <= 2  # a last-bit difference may move a crystal across threshold
    assert time.sum() == pytest.approx(t_sum, rel=1e-4)


def test_writing_pions_too_changes_no_electron_or_photon_file(tmp_path: Path) -> None:
    alone = write_sample(tmp_path / "e_gamma", 100, seed=9)
    together = write_sample(tmp_path / "all", 100, seed=9, particles=("pion", "electron", "photon"))
    assert [p.name for p in together] == ["pion.hdf5", "electron.hdf5", "photon.hdf5"]
    assert [file_digest(p) for p in alone] == [file_digest(p) for p in together[1:]]
