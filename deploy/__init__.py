"""Deploying a run's boosted trees where the trigger and CPU servers run them: conifer firmware and compiled C.

:mod:`egid.deploy.firmware` holds conifer's specifics (the HLS project, its C++ emulation, input scaling),
:mod:`egid.deploy.compiled` tl2cgen's, :mod:`egid.deploy.targets` writes and checks one target for one model, and
:mod:`egid.deploy.report` writes the deploy report. conifer, tl2cgen and treelite come with the ``deploy`` extra
(``pip install 'egid[deploy]'``); ``import egid.deploy`` works without them, and
:func:`egid.detector.extras.require_extra` says in one line what is missing.
"""

__all__: tuple[str, ...] = ()
"""Nothing is re-exported: import the module of the step you need (each has its own ``__all__``)."""
