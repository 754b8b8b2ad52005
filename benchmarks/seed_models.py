#!/usr/bin/env python
"""Train the seeds' networks (LeNet-5, ResNet-15) on an egid run's split and print their test AUC beside egid's.

Usage::

    python benchmarks/seed_models.py --run-dir reports/runs/<run> [--epochs N] [--patience N]
        [--models lenet5,resnet15] [--inputs file|log1p] [--threads N] [--device cpu|cuda] [--out table.json]

The run's ``config.yaml`` gives the events (files, ``--max-events``, seed) and the seed of the split; they are
rebuilt with egid's own functions (:func:`egid.pipelines.prepare.load_events`,
:func:`egid.detector.stratified_split`) and checked against the run's ``data.json`` fingerprint and the split
column of its ``scores.parquet``. Each seed network (architectures, settings and sources in
``benchmarks/seed_networks.py``) trains on the training split, stops early on the validation AUC (the network of
the best epoch is kept) and is scored on the test split; egid's models are every model of the run's
``scores.parquet``, on the same test events. The table gives the test AUC with its DeLong standard error, the
accuracy at score 0.5 (an event counts as an electron when its score is at least 0.5), and the paired DeLong
difference to egid's CNN (``cnn``) with its two-sided p-value; for the seed networks also epochs, wall time,
training images/s, parameters and multiply-adds per image. ``--out`` writes the same as JSON, with the size and
SHA-256 of the index list of each split the networks used.

Figures depend on the machine and on what else runs on it: the printout states the CPU, cores, torch threads,
device and load average.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

# benchmarks/ is not a package: its sibling module is found when this file runs as a script (its folder is
# sys.path[0]) and when a test puts the folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_networks import INPUT_KINDS, RECIPES, InputKind, input_tensor, multiply_adds, train_network

from egid.detector import EventDataset, InputError, Split, atomic_path, stratified_split
from egid.evaluation.delong import delong_compare, delong_covariance
from egid.evaluation.metrics import ACCURACY_THRESHOLD, SPLITS, check_scores
from egid.evaluation.publish import METRICS_FILE
from egid.models.catalogue import CNN_MODEL
from egid.models.cnn import configure_threads, count_parameters, predict_proba, resolve_device
from egid.models.cpu import threads_for_next_fit
from egid.pipelines.config import load_config
from egid.pipelines.prepare import load_events
from egid.pipelines.rundir import CONFIG_NAME, check_data_record

DEFAULT_EPOCHS: Final = 20
"""Maximum epochs per seed network: the ML4SCI e/gamma sample notebook's 20."""
DEFAULT_PATIENCE: Final = 5
"""Epochs without a higher validation AUC before training stops."""
SCORES_FILE: Final = "scores.parquet"


@dataclass(frozen=True)
class RunData:
    """The events of a run, its split (rebuilt from its config), egid's test scores and the run's seed."""

    dataset: EventDataset
    split: Split
    scores: pd.DataFrame  # egid's models, test events in split.test order, one column per model
    seed: int
    description: str


@dataclass(frozen=True)
class Row:
    """One model's line of the table (seed-network columns are None for egid's models)."""

    model: str
    origin: str
    auc: float
    auc_se: float
    accuracy: float
    vs_cnn: float | None
    vs_cnn_se: float | None
    vs_cnn_p: float | None
    epochs: int | None = None
    best_epoch: int | None = None
    seconds: float | None = None
    images_per_second: float | None = None
    parameters: int | None = None
    multiply_adds: int | None = None


def load_run(run_dir: Path) -> RunData:
    """Rebuild the run's events and split from ``run_dir/config.yaml``; check them against the run's outputs.

    Raises
    ------
    InputError
        A file of the run directory is missing or unreadable, or the rebuilt events or split differ from the
        run's (other data, another seed).
    """
    config = load_config(run_dir / CONFIG_NAME, {})
    dataset = load_events(config)
    check_data_record(run_dir, dataset)
    split = stratified_split(dataset.labels, seed=config.seed)
    models = _read_models(run_dir / METRICS_FILE)
    scores_path = run_dir / SCORES_FILE
    try:
        frame = pd.read_parquet(scores_path)
        check_scores(frame, models)
    except (OSError, ValueError) as err:
        msg = f"{scores_path}: not a scores table of this run ({err})"
        raise InputError(msg) from None
    parts = frame["split"].to_numpy()
    same = len(frame) == len(dataset) and np.array_equal(frame["label"].to_numpy(), dataset.labels)
    if not (same and all(np.array_equal(np.flatnonzero(parts == p), getattr(split, p)) for p in SPLITS)):
        msg = f"{scores_path}: its events or split are not those of {run_dir / CONFIG_NAME} (seed {config.seed})"
        raise InputError(msg)
    test_rows = split.test
    description = (
        f"{config.data_label}: {len(dataset)} events ({len(split.train)} train, {len(split.validation)} "
        f"validation, {len(split.test)} test), max_events {config.max_events}, seed {config.seed}"
    )
    test_scores = frame.iloc[test_rows][models].reset_index(drop=True)
    return RunData(dataset=dataset, split=split, scores=test_scores, seed=config.seed, description=description)


def _read_models(path: Path) -> list[str]:
    try:
        models = json.loads(path.read_text())["models"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        msg = f"{path}: cannot read the run's model list ({type(err).__name__}: {err})"
        raise InputError(msg) from None
    return [str(m) for m in models]


def index_record(indices: npt.NDArray[np.int64]) -> dict[str, Any]:
    """Size and SHA-256 of a split's sorted event indices (as little-endian int64), to compare splits cheaply."""
    data = np.ascontiguousarray(indices, dtype="<i8").tobytes()
    return {"events": len(indices), "sha256": hashlib.sha256(data).hexdigest()}


def evaluate(labels: npt.NDArray[np.floating], scores: dict[str, npt.NDArray[np.floating]]) -> list[Row]:
    """Test AUC ± DeLong SE, accuracy at 0.5 and the paired DeLong test against ``cnn`` for every model."""
    names = list(scores)
    aucs, covariance = delong_covariance(labels, np.stack([scores[n] for n in names]))
    reference = names.index(CNN_MODEL) if CNN_MODEL in names else None
    rows = []
    for k, name in enumerate(names):
        versus = None if reference is None or k == reference else delong_compare(aucs, covariance, k, reference)
        rows.append(
            Row(
                model=name,
                origin="egid",
                auc=float(aucs[k]),
                auc_se=float(np.sqrt(max(covariance[k, k], 0.0))),
                accuracy=float(np.mean((scores[name] >= ACCURACY_THRESHOLD) == (labels == 1))),
                vs_cnn=None if versus is None else versus.difference,
                vs_cnn_se=None if versus is None else versus.std,
                vs_cnn_p=None if versus is None else versus.p_value,
            )
        )
    return rows


def machine_line(device: torch.device, threads: int) -> str:
    """CPU model, usable cores, torch threads, device and the load average now."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpu = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (
        f"machine: {cpu}, {cores} usable cores, torch {torch.__version__} with {threads} threads, "
        f"device {device}{gpu}; load average {load}"
    )


def format_table(rows: list[Row]) -> str:
    """The rows as an aligned text table."""

    def cell(value: float | int | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    lines = [
        f"{'model':<14} {'from':<5} {'test AUC ± SE':>16} {'acc@0.5':>7} {'vs cnn ± SE':>18} {'p':>8} "
        f"{'epochs':>6} {'best':>4} {'s':>6} {'img/s':>6} {'params':>7} {'MAC/img':>8}"
    ]
    for r in rows:
        versus = "-" if r.vs_cnn is None else f"{r.vs_cnn:+.4f} ± {r.vs_cnn_se:.4f}"
        lines.append(
            f"{r.model:<14} {r.origin:<5} {f'{r.auc:.4f} ± {r.auc_se:.4f}':>16} {r.accuracy:>7.4f} {versus:>18} "
            f"{cell(r.vs_cnn_p, '.2g'):>8} {cell(r.epochs, 'd'):>6} {cell(r.best_epoch, 'd'):>4} "
            f"{cell(r.seconds, '.0f'):>6} {cell(r.images_per_second, '.0f'):>6} {cell(r.parameters, 'd'):>7} "
            f"{'-' if r.multiply_adds is None else f'{r.multiply_adds / 1e6:.2f}M':>8}"
        )
    return "\n".join(lines)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (an undefined p-value) replaced by None, for strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return None if isinstance(value, float) and not np.isfinite(value) else value


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="an egid run directory")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS, help=f"maximum epochs (default {DEFAULT_EPOCHS})")
    parser.add_argument(
        "--patience", type=int, default=DEFAULT_PATIENCE, help=f"early-stopping patience (default {DEFAULT_PATIENCE})"
    )
    parser.add_argument(
        "--models", default=",".join(RECIPES), help=f"comma-separated seed networks (default {','.join(RECIPES)})"
    )
    parser.add_argument("--inputs", choices=INPUT_KINDS, default=INPUT_KINDS[0], help="input transform (default file)")
    parser.add_argument("--threads", type=int, help="torch threads (default: the usable cores other jobs leave idle)")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when a GPU is present, else cpu")
    parser.add_argument("--out", type=Path, help="also write the table as JSON to this file")
    args = parser.parse_args(argv)
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(args.models) - set(RECIPES))
    if unknown or not args.models:
        parser.error(f"--models: unknown {unknown or 'none given'}; choose from {', '.join(RECIPES)}")
    if args.epochs < 1 or args.patience < 1 or (args.threads is not None and args.threads < 1):
        parser.error("--epochs, --patience and --threads must be at least 1")
    return args


def _seed_rows(run: RunData, args: argparse.Namespace, device: torch.device) -> tuple[list[Row], dict[str, Any]]:
    """Train every requested seed network; their test scores and training figures, and what they trained on."""
    kind: InputKind = args.inputs
    labels = run.dataset.labels
    x_train = input_tensor(run.dataset, run.split.train, kind)
    x_val = input_tensor(run.dataset, run.split.validation, kind)
    x_test = input_tensor(run.dataset, run.split.test, kind)
    scores: dict[str, npt.NDArray[np.floating]] = {}
    figures: dict[str, dict[str, Any]] = {}
    for name in args.models:
        recipe = RECIPES[name]
        result = train_network(
            recipe,
            x_train,
            labels[run.split.train],
            x_val,
            labels[run.split.validation],
            max_epochs=args.epochs,
            patience=args.patience,
            seed=run.seed,
            device=device,
        )
        scores[name] = predict_proba(result.model, x_test, device=device).astype(np.float64)
        figures[name] = {
            "epochs": result.epochs,
            "best_epoch": result.best_epoch,
            "seconds": result.seconds,
            "images_per_second": result.images_per_second,
            "parameters": count_parameters(result.model),
            "multiply_adds": multiply_adds(result.model),
        }
        print(
            f"{name}: {result.epochs} epochs ({result.seconds:.0f} s, {result.images_per_second:.0f} training "
            f"images/s), best {result.best_epoch}, validation AUC {np.round(result.validation_auc, 4).tolist()}",
            flush=True,
        )
    trained_on = {part: index_record(getattr(run.split, part)) for part in SPLITS}
    rows = evaluate(labels[run.split.test], {**{m: run.scores[m].to_numpy() for m in run.scores}, **scores})
    rows = [replace(r, origin="seed", **figures[r.model]) if r.model in figures else r for r in rows]
    return rows, trained_on


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.WARNING, format="seed_models: %(message)s")
    # On a machine shared with other CPU-bound jobs, threads beyond the idle cores wait at every barrier
    # (measured on 2 busy cores: 15 to 23 times slower training on 2 threads than on 1), hence egid's rule.
    threads = configure_threads(args.threads or threads_for_next_fit())
    device = resolve_device(args.device)
    try:
        run = load_run(args.run_dir)
    except InputError as err:
        print(f"seed_models: error: {err}", file=sys.stderr)
        return 2
    machine = machine_line(device, threads)
    print(machine)
    print(f"run: {args.run_dir} ({run.description})")
    print(f"seed networks: {', '.join(args.models)}; inputs '{args.inputs}', full 32x32 crop", flush=True)
    rows, trained_on = _seed_rows(run, args, device)
    print(format_table(rows))
    print(machine_line(device, threads).replace("machine:", "after:", 1))
    if args.out is not None:
        table = {
            "run_dir": str(args.run_dir),
            "run": run.description,
            "machine": machine,
            "inputs": args.inputs,
            "max_epochs": args.epochs,
            "patience": args.patience,
            "sources": {name: RECIPES[name].source for name in args.models},
            "split": trained_on,
            "rows": [asdict(r) for r in rows],
        }
        with atomic_path(args.out) as tmp:
            tmp.write_text(json.dumps(_finite(table), indent=2, allow_nan=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
