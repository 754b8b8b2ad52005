"""A small ``egid run`` in this process, for the tests that need a finished run directory."""

from __future__ import annotations

from pathlib import Path

from egid.pipelines.run import main


def egid_run(electrons: Path, photons: Path, out: Path, *options: str) -> Path:
    """``egid run`` on one file per class into the run directory ``out``, the cache beside it; return ``out``.

    ``options`` are further command-line options, e.g. ``"--trials", "2"``. Fails the test if the run fails.
    """
    files = ["--electrons", str(electrons), "--photons", str(photons)]
    status = main(["run", *files, "--out-dir", str(out), "--cache-dir", str(out.parent / "cache"), *options])
    assert status == 0
    return out
