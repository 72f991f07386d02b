"""Where AI2-THOR's Unity build must be, checked before anything could reach the network.

``ai2thor.controller.Controller()`` downloads its build when none is found (and can hang on a
network that drops packets). avdc never lets it: the build is located first, from a given
executable or from ai2thor's own releases folder (``~/.ai2thor/releases/thor-<Platform>-<commit>``,
the commit pinned by the installed ``ai2thor``), and a missing build is a
:class:`~avdc_core.errors.MissingResourceError` that names the folder and how to fill it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from avdc_core.errors import MissingResourceError

Platform = Literal["linux64", "cloud-rendering"]
PLATFORM_NAMES = {"linux64": "Linux64", "cloud-rendering": "CloudRendering"}
"""avdc's platform names → ai2thor's (``Linux64`` renders through an X display, ``CloudRendering``
headless through Vulkan on an NVIDIA GPU)."""


@dataclass(frozen=True)
class BuildLocation:
    """A build found on disk: ``executable`` to pass as ``local_executable_path``, or ai2thor's
    own release folder for ``platform`` at ``commit_id``."""

    platform: Platform
    commit_id: str
    folder: Path
    executable: Path | None = None

    def controller_args(self) -> dict[str, Any]:
        """Arguments that make ``Controller`` use this build and nothing else."""
        if self.executable is not None:
            return {"local_executable_path": str(self.executable)}
        import ai2thor.platform

        return {"commit_id": self.commit_id, "platform": getattr(ai2thor.platform, PLATFORM_NAMES[self.platform])}


def import_ai2thor() -> Any:
    try:
        import ai2thor.build
        import ai2thor.controller  # noqa: F401
    except ImportError as error:
        raise MissingResourceError("AI2-THOR support needs ai2thor: pip install 'avdc[ai2thor]'") from error
    return ai2thor


def releases_folder() -> Path:
    """ai2thor's releases folder (``~/.ai2thor/releases``)."""
    return Path.home() / ".ai2thor" / "releases"


def locate_build(platform: Platform = "linux64", executable: str | Path | None = None) -> BuildLocation:
    """The build to run; raises :class:`MissingResourceError` naming what is missing and how to
    get it. Touches only the local disk."""
    ai2thor = import_ai2thor()
    commit = ai2thor.build.COMMIT_ID
    if executable is not None:
        path = Path(executable).expanduser()
        if not path.is_file():
            raise MissingResourceError(f"executor.params.executable: AI2-THOR build {str(path)!r} does not exist "
                                       "(give the path of a Unity build's executable, e.g. "
                                       f"{releases_folder()}/thor-Linux64-{commit}/thor-Linux64-{commit})")
        return BuildLocation(platform, commit, path.parent, path)
    name = f"thor-{PLATFORM_NAMES[platform]}-{commit}"
    folder = releases_folder() / name
    if not (folder / name).is_file():
        raise MissingResourceError(
            f"AI2-THOR's Unity build is not on this machine: {str(folder)!r} is missing (platform {platform}, "
            f"commit {commit}, pinned by ai2thor {getattr(ai2thor, '__version__', '?')}). avdc never lets "
            "ai2thor download it at run time. On a machine with internet, with the same ai2thor version, run "
            "`python -c \"import ai2thor.controller, ai2thor.platform; ai2thor.controller.Controller("
            f"platform=ai2thor.platform.{PLATFORM_NAMES[platform]}, download_only=True)\"`, copy the "
            f"folder it writes to {str(releases_folder())!r} here, or set executor.params.executable to a "
            "build's executable")
    return BuildLocation(platform, commit, folder)
