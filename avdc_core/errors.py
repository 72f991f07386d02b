"""The few named errors avdc raises on purpose.

Every message says *where* (a spec path, a file, a component), *what was given* and *what would
be valid*. The CLI maps each class to one line on stderr and a distinct exit code; a Python user
catches :class:`AvdcError` to catch them all.
"""

from __future__ import annotations


class AvdcError(Exception):
    """Base class of every error avdc raises on purpose."""

    exit_code = 1


class SpecError(AvdcError):
    """A pipeline spec (or a component config) is malformed or names invalid values."""

    exit_code = 2


class UnknownComponentError(SpecError):
    """A spec names a plugin that no installed package provides."""

    exit_code = 3


class PluginLoadError(AvdcError):
    """An installed plugin package failed to import or registered something invalid."""

    exit_code = 4


class MissingResourceError(AvdcError):
    """A file the run needs (checkpoint, image, dataset, simulator build) is not there."""

    exit_code = 5


class InputDataError(AvdcError):
    """Data handed to a component is unusable (wrong shape, empty mask, NaN depth, ...)."""

    exit_code = 6


class PlanFailedError(InputDataError):
    """No trustworthy plan can be made from this observation and video (the target is not
    visible, its tracks are lost or never move). A closed loop may move and look again."""

    exit_code = 7


class SolveError(PlanFailedError):
    """A pose solve could not produce a trustworthy result (too few points, lost tracks)."""
