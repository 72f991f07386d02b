"""Where the tests find data that lives outside the repository.

The AVDC dataset sample (real frames published by the paper's authors, MIT) sits in the shared
folder next to the checkout (``../shared/fixtures/avdc-dataset-sample``); set
``AVDC_DATASET_SAMPLE`` to use another copy.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _dataset_sample() -> Path:
    candidates = [Path(os.environ["AVDC_DATASET_SAMPLE"])] if "AVDC_DATASET_SAMPLE" in os.environ else []
    candidates += [ROOT.parent / "shared" / "fixtures" / "avdc-dataset-sample",
                   Path("/work/shared/fixtures/avdc-dataset-sample")]
    for candidate in candidates:
        if (candidate / "metaworld").is_dir():
            return candidate
    raise FileNotFoundError(f"AVDC dataset sample not found in {[str(c) for c in candidates]}; "
                            "set AVDC_DATASET_SAMPLE to its folder")


DATASET_SAMPLE = _dataset_sample()
