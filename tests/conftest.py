"""Shared test set-up.

    tests/unit/<package path>/test_*.py   one module of espnet2_ext each, small inputs, seconds
    tests/integration/test_*.py           the recipe end to end, its shell utilities, trainings
                                          through the entry points (DDP, resume), perform
    tests/support/                        tiny dump dirs, a tiny trained system, repository paths

``tests`` is a package (pytest puts the repository root on sys.path), so tests import shared pieces
as ``from tests.support.tiny_dump import ...``.

Tests marked ``slow`` (a minute or more: trainings through the entry points, the recipe) run by
default; ``pytest -m "not slow"`` leaves them out for a quick check.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import support.<helper>` from any test dir

from tests.support.tiny_dump import write_tiny_dump  # noqa: E402


@pytest.fixture
def tiny_dump(tmp_path):
    """A tiny dump dir (4 utterances, every stream the task reads) under the test's tmp_path."""
    return write_tiny_dump(tmp_path / "dump")
