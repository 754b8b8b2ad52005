"""The subcommands of ``egid``: one module each, imported only when its command runs.

Each module exposes ``configure(parser)``, which adds the command's options and sets ``handler`` (the
function called with the parsed arguments). The one-line help of every command lives here, so that
``egid --help`` lists them without importing LightGBM, torch and matplotlib.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ("COMMANDS", "Command")


class Command(NamedTuple):
    """A subcommand: the module defining it and its one-line help."""

    module: str
    help: str


#: Subcommand name -> its module and help, in the order ``--help`` lists them.
COMMANDS = {
    "run": Command("egid.pipelines.commands.run_all", "run the whole job (the default)"),
    "tune": Command(
        "egid.pipelines.commands.tune", "add Optuna trials to shared studies (a worker; start many at once)"
    ),
    "check": Command("egid.pipelines.commands.check", "validate input files and summarise them"),
    "features": Command(
        "egid.pipelines.commands.features",
        "compute the feature table (features, label, per-event extras) of a dataset; with pions the hadronic ones too",
    ),
    "simulate": Command(
        "egid.pipelines.commands.simulate", "simulate electron and photon crops with the embedded fast simulation"
    ),
    "pretrain": Command(
        "egid.pipelines.commands.pretrain", "pretrain the CNN head on egid's simulation and write its weights"
    ),
    "importances": Command("egid.pipelines.commands.importances", "rank the features of a run's boosted trees"),
    "evaluate": Command("egid.pipelines.commands.evaluate", "evaluate a run's models on an unseen labelled dataset"),
    "predict": Command("egid.pipelines.commands.predict", "score unlabelled crops with a run's models"),
    "deploy": Command(
        "egid.pipelines.commands.deploy", "deploy a run's boosted trees as trigger firmware (conifer) or compiled C"
    ),
}
