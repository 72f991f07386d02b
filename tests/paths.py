"""Where the tests find their data.

The AVDC dataset sample (real frames published by the paper's authors, MIT licence:
``tests/data/avdc-dataset-sample/LICENSE.avdc``) is part of the repository; set
``AVDC_DATASET_SAMPLE`` to use another copy.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASET_SAMPLE = Path(os.environ.get("AVDC_DATASET_SAMPLE", ROOT / "tests" / "data" / "avdc-dataset-sample"))
DEFAULT_SPEC = ROOT / "cli" / "default_spec.yaml"


def default_spec_data() -> dict:
    """The embedded default spec, its generator checkpoint made absolute so that a copy of it
    can be written anywhere."""
    import yaml

    spec = yaml.safe_load(DEFAULT_SPEC.read_text())
    params = spec["generator"].get("params", {})
    if "checkpoint" in params:
        params["checkpoint"] = str((DEFAULT_SPEC.parent / params["checkpoint"]).resolve())
    return spec
