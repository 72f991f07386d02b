"""Where the tests find their data.

The AVDC dataset sample (real frames published by the paper's authors, MIT licence:
``tests/data/avdc-dataset-sample/LICENSE.avdc``) is part of the repository; set
``AVDC_DATASET_SAMPLE`` to use another copy.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASET_SAMPLE = Path(os.environ.get("AVDC_DATASET_SAMPLE", ROOT / "tests" / "data" / "avdc-dataset-sample"))
