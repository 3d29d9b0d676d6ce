"""Report builders that train in the harness's headless Chromium and print tables (not shipped).

Run as ``python -m scripts.report_lib.<module>`` from the repository or imported with scripts/ on sys.path
(scripts/compress_report.py, the tests); either way the harness package beside this one must import as
``harness``, so scripts/ goes on sys.path here, once for every module.
"""

import sys
from pathlib import Path

_SCRIPTS = str(Path(__file__).resolve().parents[1])
if _SCRIPTS not in sys.path:
    sys.path.insert(0, _SCRIPTS)
