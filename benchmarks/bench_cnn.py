#!/usr/bin/env python
"""Print the CNN head's speed (training and inference images/s) and, with ``--cross-fit``, its AUC and wall time.

Usage::

    python benchmarks/bench_cnn.py --electrons E.hdf5 --photons P.hdf5 [--max-events N] [--cross-fit]
    python benchmarks/bench_cnn.py --simulate 50000 --cross-fit        # needs the simulation package

Training speed is one epoch of :func:`egid.models.cnn.train_cnn` (forward, backward, AdamW step, augmentation) on
the training split; inference speed is :meth:`egid.models.cnn_ensemble.CNNEnsemble.score` on raw crops (transform and
all K networks included, reported per image and per image x network). Figures depend heavily on the machine
and on what else runs on it: state both when quoting them.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from egid.detector import EventDataset, stratified_split
from egid.models.cnn import (
    CNNConfig,
    EgammaCNN,
    InputTransform,
    configure_threads,
    count_parameters,
    resolve_device,
    train_cnn,
)
from egid.models.cnn_budget import TrainingBudget
from egid.models.cnn_ensemble import CNNEnsemble
from egid.models.pretrained import cnn_start
from egid.models.stacking import DEFAULT_FOLDS, cross_fit_cnn
from egid.pipelines.inputs import add_input_arguments, dataset_from_args


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_input_arguments(parser, required=False)
    parser.add_argument("--simulate", type=int, metavar="N", help="simulate N events per class into a temp dir")
    parser.add_argument("--folds", type=int, default=DEFAULT_FOLDS, help=f"K (default {DEFAULT_FOLDS})")
    parser.add_argument("--crop-half-width", type=int, help="override the transform's crop half width")
    parser.add_argument("--max-epochs", type=float, help="cap the passes over the training images (--cnn-epochs)")
    parser.add_argument(
        "--cnn-init", default="pretrained", help="pretrained (default), scratch or a weights file (--cnn-init)"
    )
    parser.add_argument("--cross-fit", action="store_true", help="also run the full cross-fitting and print AUCs")
    parser.add_argument("--device", help="torch device (default: a GPU when present)")
    parser.add_argument("--threads", type=int, help="torch threads (default: every core)")
    return parser.parse_args(argv)


def _dataset(args: argparse.Namespace, scratch: Path) -> EventDataset:
    if args.simulate:
        from egid.simulation import write_sample

        electrons, photons = write_sample(scratch, args.simulate, seed=args.seed)
        args.electrons, args.photons = electrons, photons
    return dataset_from_args(args)


def _config(args: argparse.Namespace) -> tuple[CNNConfig, Mapping[str, torch.Tensor] | None]:
    config, initial_state = cnn_start(args.cnn_init, max_epochs=args.max_epochs)
    if args.crop_half_width is not None:
        if initial_state is not None:
            raise SystemExit("--crop-half-width changes the network: use it with --cnn-init scratch")
        config = dataclasses.replace(config, transform=InputTransform(crop_half_width=args.crop_half_width))
    return config, initial_state


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="bench_cnn: %(message)s")
    threads = configure_threads(args.threads)
    device = resolve_device(args.device)
    config, initial_state = _config(args)
    with tempfile.TemporaryDirectory() as scratch:
        dataset = _dataset(args, Path(scratch))
        split = stratified_split(dataset.labels, seed=args.seed)
        print(f"device {device}, {threads} torch threads; {len(dataset)} events, {len(split.train)} training")
        print(f"config {config}")
        print(f"parameters {count_parameters(EgammaCNN.from_config(config))}")

        clock = time.perf_counter()
        images = dataset.read_images(split.train)
        inputs = config.transform(images).to(torch.float16)
        labels = dataset.labels[split.train]
        prepare = time.perf_counter() - clock
        print(f"read + transform: {len(images) / prepare:9.0f} images/s")

        one_epoch = dataclasses.replace(config, budget=TrainingBudget(epochs=1, min_images=1, evaluations=1))
        val = np.sort(np.random.default_rng(0).permutation(split.validation)[:2048])
        val_inputs = config.transform(dataset.read_images(val))
        clock = time.perf_counter()
        model, _ = train_cnn(inputs, labels, val_inputs, dataset.labels[val], config=one_epoch, seed=0, device=device)
        elapsed = time.perf_counter() - clock
        print(f"training (1 epoch):  {len(images) / elapsed:9.0f} images/s")

        ensemble = CNNEnsemble([model] * args.folds, config, device=device)
        probe = images[: min(len(images), 20000)]
        clock = time.perf_counter()
        ensemble.score(probe)
        elapsed = time.perf_counter() - clock
        print(
            f"inference (K={args.folds}):    {len(probe) / elapsed:9.0f} images/s, "
            f"{args.folds * len(probe) / elapsed:9.0f} image-networks/s"
        )
        del images, inputs

        if args.cross_fit:
            clock = time.perf_counter()
            result = cross_fit_cnn(
                dataset,
                split,
                n_folds=args.folds,
                config=config,
                seed=args.seed,
                device=device,
                threads=args.threads,
                initial_state=initial_state,
            )
            total = time.perf_counter() - clock
            phases = ", ".join(f"{k} {v:.0f} s" for k, v in result.seconds.items())
            print(f"cross-fit K={args.folds}: {total:.0f} s ({phases})")
            for k, history in enumerate(result.histories):
                print(
                    f"  fold {k}: steps {history.x.astype(int).tolist()}, kept {history.best}, "
                    f"validation AUC {np.round(history.curves['validation']['auc'], 4).tolist()}"
                )
            y = dataset.labels
            for name, idx in (
                ("train (out of fold)", split.train),
                ("validation", split.validation),
                ("test", split.test),
            ):
                print(f"  AUC {name:20s} {roc_auc_score(y[idx], result.scores[idx]):.4f}  ({len(idx)} events)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
