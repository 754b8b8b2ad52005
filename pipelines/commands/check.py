"""``egid check``: validate input files end to end and print what they hold, without training anything.

It streams every image once, so it finds NaN/inf pixels, negative energies and truncated files that opening
alone cannot see: the quick way to vet a downloaded file before a long run.
"""

from __future__ import annotations

import argparse

import numpy as np

from egid.detector.schema import CLASS_LABELS, CLASS_NAMES, ENERGY, ENERGY_SCALE_GEV, PION
from egid.pipelines.inputs import add_input_arguments, dataset_from_args


def configure(parser: argparse.ArgumentParser) -> None:
    add_input_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    dataset = dataset_from_args(args)
    energy_sum = np.empty(len(dataset))
    for start, images in dataset.iter_images():
        energy_sum[start : start + len(images)] = images[..., ENERGY].sum(axis=(1, 2)) * ENERGY_SCALE_GEV
    print(f"files: {', '.join(dataset.paths)}")
    print(f"events: {len(dataset)} ({_class_counts(dataset.labels)})")
    print(f"summed crop energy: mean {energy_sum.mean():.1f} GeV, median {np.median(energy_sum):.1f} GeV")
    print(f"per-event extras: {', '.join(sorted(dataset.extras)) or 'none'}")
    print("ok: every image passed validation")
    return 0


def _class_counts(labels: np.ndarray) -> str:
    """``"30 electrons, 30 photons"``, with the pions when there are any (counted per label, never summed)."""
    named = zip(CLASS_LABELS, CLASS_NAMES, strict=True)
    counts = {name: int(np.count_nonzero(labels == label)) for label, name in named}
    if not (labels == PION).any():
        del counts["pion"]
    return ", ".join(f"{count} {name}s" for name, count in counts.items())
