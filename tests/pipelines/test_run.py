"""The command line: dispatch, and a user's input error as one line with exit status 2 and no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from egid.pipelines.run import main

REPO = Path(__file__).resolve().parents[2]


def test_check_summarises_valid_files(crop_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--electrons", str(crop_files[0]), "--photons", str(crop_files[1])]) == 0
    out = capsys.readouterr().out
    assert "events: 200 (120 electrons, 80 photons)" in out
    assert "per-event extras: eta" in out


def test_input_error_is_one_line_on_stderr(crop_files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["check", "--electrons", str(crop_files[1]), "--photons", str(crop_files[1])])
    err = capsys.readouterr().err
    assert status == 2
    assert (
        err
        == f"egid: error: {crop_files[1]}: expected an electron file (y = 1) but 80 of 80 events carry photon labels\n"
    )


def test_script_exits_2_without_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "missing.hdf5"
    result = subprocess.run(
        [sys.executable, str(REPO / "pipelines" / "run.py"), "check", "--data", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"egid: error: {missing}: no such file\n"
    assert "Traceback" not in result.stdout + result.stderr


def test_help_lists_every_command_without_importing_the_heavy_libraries() -> None:
    probe = (
        "import sys\n"
        "from egid.pipelines.run import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted({'lightgbm', 'xgboost', 'torch', 'matplotlib', 'optuna', 'pandas'} & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    for command in ("run", "check", "features", "simulate", "importances", "evaluate", "predict"):
        assert f"    {command} " in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"
