"""Every hook avdc calls, in one place (entry-point group ``avdc``).

A plugin package lists a module in its ``pyproject.toml``::

    [project.entry-points.avdc]
    my-flow = "my_package.flow"

and implements any of these hooks there with ``@avdc_core.hookimpl``. avdc's built-in plugins
are registered the same way, through avdc's own entry points.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import typer

    from .interfaces import Component

PROJECT = "avdc"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def avdc_components() -> list[type[Component]]:
    """Return the component classes this plugin provides.

    Each class subclasses one of the interfaces in :mod:`avdc_core.interfaces` (which fixes its
    ``kind``), sets a ``name`` unique within that kind and a pydantic ``Config``. The class must
    be cheap to import: load models and simulators in its constructor.
    """


@hookspec
def avdc_cli(app: typer.Typer, collect: typer.Typer) -> None:
    """Add sub-commands to the ``avdc`` command-line tool: ``app.command()(fn)`` for a command of
    its own, ``collect.command("mysim")(fn)`` for ``avdc collect mysim`` (demonstrations of a
    world). An implementation takes either argument or both."""
