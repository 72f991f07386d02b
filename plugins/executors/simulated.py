"""What every executor of a simulated world shares: the live scene it builds on ``reset``, its
observations, the frames it records, and closing (the scene has ``observation()`` and
``close()``). Subclasses' configs have ``resolution`` (width, height) and ``record``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from avdc_core.errors import InputDataError
from avdc_core.interfaces import BuildContext, ComponentConfig, Executor
from avdc_core.types import Observation

MIN_SIZE_PX = 16


class SceneExecutor(Executor):
    """An executor driving one simulated scene per episode (``self.scene``)."""

    def __init__(self, config: ComponentConfig, context: BuildContext) -> None:
        super().__init__(config, context)
        width, height = config.resolution
        if width < MIN_SIZE_PX or height < MIN_SIZE_PX:
            raise InputDataError(f"executor.params.resolution: {config.resolution} is too small; use at "
                                 f"least {MIN_SIZE_PX}x{MIN_SIZE_PX} (width, height)")
        self.scene: Any = None
        self.frames: list[np.ndarray] = []

    def _start(self, make_scene: Callable[[], Any]) -> Observation:
        """Close the last episode's scene, build the next one and return its first observation
        (kept as the first recorded frame with ``record``)."""
        self.close()
        self.scene = make_scene()
        observation = self.observe()
        self.frames = [observation.rgb] if self.config.record else []
        return observation

    def _scene(self) -> Any:
        if self.scene is None:
            raise InputDataError(f"executor/{self.name}: call reset(seed) before using the executor")
        return self.scene

    def observe(self) -> Observation:
        return self._scene().observation()

    def close(self) -> None:
        if self.scene is not None:
            self.scene.close()
            self.scene = None
