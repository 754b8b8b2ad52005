"""``egid features``: writes the table with label and extras; a bad output path is a one-line InputError."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pytest

from egid.detector import InputError
from egid.features import FEATURE_NAMES, THREE_CLASS_FEATURES
from egid.pipelines.run import build_parser
from tests.features.toy_images import G4_SLICE
from tests.three_class_fixtures import write_pions


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse ``egid features ...`` as the command line does."""
    return build_parser("features").parse_args(["features", *argv])


def test_features_command_writes_the_table(tmp_path: Path) -> None:
    out = tmp_path / "tables" / "g4.parquet"
    args = parse(["--data", str(G4_SLICE), "--output", str(out), "--max-events", "50"])
    assert args.handler(args) == 0
    table = pd.read_parquet(out)
    assert list(table.columns) == [*FEATURE_NAMES, "label", "converted", "eta"]
    assert len(table) == 50 and set(table["label"]) == {0.0, 1.0}
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind


def test_features_command_with_two_files(crop_files: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "toy.parquet"
    args = parse(["--electrons", str(crop_files[0]), "--photons", str(crop_files[1]), "--output", str(out)])
    assert args.handler(args) == 0
    assert pd.read_parquet(out)["label"].tolist() == [1.0] * 120 + [0.0] * 80


def test_with_pions_the_table_has_the_three_class_columns(crop_files: tuple[Path, Path], tmp_path: Path) -> None:
    pions = write_pions(tmp_path / "pions.hdf5", 30)
    out = tmp_path / "three.parquet"
    electrons, photons = (str(path) for path in crop_files)
    args = parse(["--electrons", electrons, "--photons", photons, "--pions", str(pions), "--output", str(out)])
    assert args.handler(args) == 0
    table = pd.read_parquet(out)
    assert list(table.columns)[: len(THREE_CLASS_FEATURES)] == list(THREE_CLASS_FEATURES)
    assert table["label"].value_counts().to_dict() == {1.0: 120, 0.0: 80, 2.0: 30}


def test_the_output_may_not_replace_the_pion_file(crop_files: tuple[Path, Path], tmp_path: Path) -> None:
    pions = write_pions(tmp_path / "pions.parquet", 30)  # an input whatever its name
    before = pions.read_bytes()
    electrons, photons = (str(path) for path in crop_files)
    argv = ["--electrons", electrons, "--photons", photons, "--pions", str(pions), "--output", str(pions)]
    args = parse([*argv, "--overwrite"])
    with pytest.raises(InputError, match="--output"):
        args.handler(args)
    assert pions.read_bytes() == before


def test_output_directory_is_refused(tmp_path: Path) -> None:
    args = parse(["--data", str(G4_SLICE), "--output", str(tmp_path)])
    with pytest.raises(InputError, match=r"is a directory, expected the path of the parquet file to write$"):
        args.handler(args)


@pytest.mark.slow
def test_command_is_registered_on_the_egid_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from egid.pipelines.run import main  # builds every subcommand's parser, importing their libraries (seconds)

    out = tmp_path / "g4.parquet"
    assert main(["features", "--data", str(G4_SLICE), "--output", str(out), "--max-events", "10"]) == 0
    assert len(pd.read_parquet(out)) == 10
    assert main(["features", "--data", str(G4_SLICE), "--output", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"egid: error: {tmp_path}: is a directory, expected the path of the parquet file to write\n"
    )
