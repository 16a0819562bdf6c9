import sys
from pathlib import Path

# Make series_helpers importable from the tests of this folder.
sys.path.insert(0, str(Path(__file__).resolve().parent))
