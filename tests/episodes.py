"""A Meta-World episode for tests: the executor reset to a seed, closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from avdc_core.interfaces import BuildContext
from avdc_core.types import Observation


@contextmanager
def metaworld_episode(task: str, camera: str, seed: int, **params) -> Iterator[tuple[object, Observation]]:
    """``(executor, first observation)`` of ``task`` seen by ``camera``; extra executor params
    (e.g. ``resolution``) pass through."""
    from avdc_plugins.executors.metaworld import MetaWorldExecutor

    executor = MetaWorldExecutor(MetaWorldExecutor.Config(task=task, camera=camera, **params),
                                 BuildContext())
    try:
        yield executor, executor.reset(seed=seed)
    finally:
        executor.close()
