import sys
from pathlib import Path

# The browser harness lives in scripts/ (it serves the CLI too); make it importable as `harness`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
