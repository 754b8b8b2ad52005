"""A command that needs a pip extra which is not installed says which one, in one line, with exit status 2."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from egid.detector.extras import EXTRAS
from egid.pipelines.run import main
from egid.simulation import write_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    electrons, photons = write_sample(tmp_path_factory.mktemp("extras"), 20, seed=3)
    return ["--electrons", str(electrons), "--photons", str(photons)]


def _commands(tmp: Path, files: list[str]) -> dict[str, list[str]]:
    """Extra -> a command line that needs it."""
    return {
        "deploy": ["deploy", "--run-dir", str(tmp), "--target", "c", "--table", "t", "--out-dir", str(tmp / "o")],
        "postgres": ["tune", *files, "--storage", "postgresql://nobody@localhost/none", "--study-name", "s"],
        "dask": ["features", *files, "--workers", "2", "--output", str(tmp / "t.parquet")],
    }


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_a_missing_extra_is_one_line_naming_the_pip_install(
    extra: str,
    sample: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hidden = EXTRAS[extra].modules[0]
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == hidden else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert main(_commands(tmp_path, sample)[extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"needs egid's {extra} extra ({hidden} not installed): pip install 'egid[{extra}]'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists() and not (tmp_path / "t.parquet").exists()
