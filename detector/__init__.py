"""The detector data layer: the CMS ECAL crop schema, validated HDF5 reading and writing, and splits."""

from __future__ import annotations

from egid.detector.atomic import atomic_path, file_digest
from egid.detector.dataset import (
    DEFAULT_CHUNK,
    EventDataset,
    is_three_class,
    load_dataset,
    require_both_classes,
    require_classes,
)
from egid.detector.errors import InputError
from egid.detector.hdf5 import EventFile, check_images
from egid.detector.split import Split, stratified_folds, stratified_split, stratified_subsample
from egid.detector.writer import EventWriter

__all__ = (
    "DEFAULT_CHUNK",
    "EventDataset",
    "EventFile",
    "EventWriter",
    "InputError",
    "Split",
    "atomic_path",
    "check_images",
    "file_digest",
    "is_three_class",
    "load_dataset",
    "require_both_classes",
    "require_classes",
    "stratified_folds",
    "stratified_split",
    "stratified_subsample",
)
