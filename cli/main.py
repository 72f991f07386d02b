"""``avdc``: compose and run pipelines. Each command is a thin layer over library calls.

Errors avdc raises on purpose (:class:`avdc_core.AvdcError`) print as one line on stderr with a
distinct exit code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import sys
import traceback

import click
import typer

from avdc_core import AvdcError
from avdc_core.registry import Registry

BUILTIN_COMMAND_MODULES = ("avdc_cli.core_commands", "avdc_cli.eval_command", "avdc_cli.report_command",
                           "avdc_cli.train_command", "avdc_cli.segment_command")
"""Modules whose ``register(app)`` adds avdc's own, world-independent commands; a simulated
world's commands (``avdc collect <world>``) come through the ``avdc_cli`` hook, as a plugin's do."""


def _exception_classes(name: str) -> tuple[type[BaseException], ...]:
    """click's exception class ``name`` and typer's own copy of it: typer >= 0.2x raises its
    vendored copies (``typer._click.exceptions.UsageError``, ``typer.exceptions.Exit``) instead."""
    found = [getattr(click.exceptions, name)]
    for module in ("typer._click.exceptions", "typer.exceptions"):
        try:
            copy = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if isinstance(copy, type) and copy not in found:
            found.append(copy)
    return tuple(found)


LISTS_LOAD_ERRORS = ("plugins", "doctor")
"""Commands that report plugin load errors themselves; every other command warns about them."""

USAGE_ERRORS = _exception_classes("ClickException")
EXITS = _exception_classes("Exit")
ABORTS = _exception_classes("Abort")


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"avdc {_installed_version()}")
        raise typer.Exit()


def _installed_version() -> str:
    try:
        return importlib.metadata.version("avdc")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed as a distribution)"


def make_app(registry: Registry) -> typer.Typer:
    """A fresh ``avdc`` app with avdc's own commands and those plugins add."""
    app = typer.Typer(name="avdc", add_completion=False, no_args_is_help=True,
                      pretty_exceptions_enable=False,
                      help="Robot policies from actionless videos (AVDC).")

    @app.callback()
    def _options(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                              help="print avdc's version and exit")) -> None:
        """Robot policies from actionless videos (AVDC)."""

    for name in BUILTIN_COMMAND_MODULES:
        importlib.import_module(name).register(app)
    collect = typer.Typer(help="Collect demonstrations into the AVDC dataset layout (one command per "
                          "simulated world).", no_args_is_help=True)
    registry.manager.hook.avdc_cli(app=app, collect=collect)
    app.add_typer(collect, name="collect")
    return app


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:
        argv.remove("--debug")
    try:
        registry = Registry.discover()
        if argv and argv[0] not in LISTS_LOAD_ERRORS:
            for problem in registry.load_errors:  # a refused or broken plugin must not go unnoticed
                print(f"warning: {problem}", file=sys.stderr)
        app = make_app(registry)
        result = app(args=argv, prog_name="avdc", standalone_mode=False, obj=registry)
        return result if isinstance(result, int) else 0
    except AvdcError as error:
        if debug:
            traceback.print_exc()
        else:
            print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except EXITS as done:
        return done.exit_code
    except USAGE_ERRORS as error:
        error.show()
        return error.exit_code
    except ABORTS:
        print("aborted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
