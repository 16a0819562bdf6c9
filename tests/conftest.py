import sys
from pathlib import Path

# Make tests/golden_cases.py importable from every test package.
sys.path.insert(0, str(Path(__file__).resolve().parent))
