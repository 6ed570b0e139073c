"""Fail early, with a clear message, when the Python that make found is too old."""
import sys

if sys.version_info < (3, 10):
    sys.exit(f"Python 3.10 or newer is needed (3.11 recommended); {sys.executable} is {sys.version.split()[0]}. "
             "Run e.g. `make test PYTHON=python3.11`.")
