"""Where the shared sample bank files are: `shared/samples/` beside the repository root."""

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
