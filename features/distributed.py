"""Feature extraction on a Dask cluster (``dask.distributed``): one task per input file, each file cached apart.

Every Dask specific of egid lives here. A task receives one file's selected events
(:meth:`egid.detector.EventDataset.parts`), opens the file on its worker, streams the crops through the same
feature code as :func:`~egid.features.extract.extract_table` and, given a cache folder, reads or writes that
file's own parquet cache (:func:`~egid.features.extract.cached_table`; on a cluster the folder must be on a
file system every worker sees). The client joins the per-file feature columns in dataset order and adds
labels and extras itself, so the table equals the serial one value for value.

A scheduler started elsewhere (``dask scheduler`` on one node, ``dask worker tcp://...`` on others, or
``dask-jobqueue`` on a batch system) is reached by address; ``workers=N`` starts a local cluster of N worker
processes listening on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from egid.detector import EventDataset, InputError
from egid.detector.extras import require_extra
from egid.features.extract import assemble_table, cached_table, check_extra_names, extract_table
from egid.features.registry import FEATURE_NAMES

if TYPE_CHECKING:  # distributed is an optional dependency (the dask extra), imported when a cluster is used
    from distributed import Client

__all__ = ("CONNECT_TIMEOUT_S", "dask_client", "extract_distributed")

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 30
"""Seconds to wait for a scheduler (or a local cluster) before reporting it unreachable."""


@contextlib.contextmanager
def dask_client(
    *, scheduler: str | None = None, workers: int | None = None, connect_timeout: float = CONNECT_TIMEOUT_S
) -> Iterator[Client]:
    """A ``distributed.Client`` of the scheduler at ``scheduler``, or of a local cluster of ``workers`` processes.

    Exactly one of the two is given. The local cluster runs one thread per process (the feature code is
    numpy over whole chunks; processes sidestep the GIL), listens on 127.0.0.1 only (its HTTP port too); it is
    shut down on exit.

    Raises
    ------
    InputError
        Both or neither are given, ``workers`` is below 1, ``distributed`` is not installed, or the scheduler
        does not answer within ``connect_timeout`` seconds.
    """
    if (scheduler is None) == (workers is None):
        msg = "--scheduler/--workers: give exactly one of a scheduler address and a number of local workers"
        raise InputError(msg)
    if workers is not None and workers < 1:
        msg = f"--workers: must be at least 1, got {workers}"
        raise InputError(msg)
    require_extra("dask", needed_by="--scheduler/--workers")
    # distributed is only partly annotated; as a module of type Any its calls need no type: ignore.
    dask: Any = importlib.import_module("distributed")
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = dask.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                # The scheduler serves HTTP (health, metrics) even without a dashboard, by default on port
                # 8787 of every interface; a free port on the loopback keeps it private and lets clusters coexist.
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.WARNING,
            )
            stack.enter_context(cluster)
            address = cluster.scheduler_address
        else:
            address = scheduler
        try:
            client = stack.enter_context(dask.Client(address, timeout=connect_timeout))
        except OSError as err:  # refused, unresolvable or silent (TimeoutError is an OSError)
            msg = f"--scheduler {address}: cannot connect to the Dask scheduler ({err})"
            raise InputError(msg) from None
        yield client


def _file_features(part: EventDataset, cache_dir: str | None, names: tuple[str, ...]) -> pd.DataFrame:
    """The feature columns of one file's events, computed on a worker (through that file's cache if given)."""
    if cache_dir is None:
        table = extract_table(part, names=names, progress=False)
    else:
        table = cached_table(part, cache_dir=cache_dir, names=names, progress=False)
    return table[list(names)]


def extract_distributed(
    dataset: EventDataset,
    *,
    client: Client,
    cache_dir: str | os.PathLike[str] | None = None,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The feature table of ``dataset`` (as :func:`~egid.features.extract.extract_table`), one Dask task per file.

    Parameters
    ----------
    dataset : EventDataset
        The events; each of its files is one task.
    client : distributed.Client
        From :func:`dask_client`.
    cache_dir : path-like, optional
        Folder of the per-file caches, seen by every worker; None computes every file.
    names : sequence of str, optional
        The feature columns, as for :func:`~egid.features.extract.extract_table`.

    Raises
    ------
    InputError
        As :func:`~egid.features.extract.extract_table`, raised on the worker that read the file.
    """
    check_extra_names(dataset)
    parts = dataset.parts()
    folder = None if cache_dir is None else str(cache_dir)
    logger.info("features: %d files on the Dask scheduler %s", len(parts), client.scheduler_info()["address"])
    wanted = FEATURE_NAMES if names is None else tuple(names)
    futures = client.map(_file_features, parts, cache_dir=folder, names=wanted, pure=False)
    tables: list[pd.DataFrame] = [future.result() for future in futures]
    columns = {name: np.concatenate([table[name].to_numpy() for table in tables]) for name in wanted}
    return assemble_table(dataset, columns, names=wanted)
