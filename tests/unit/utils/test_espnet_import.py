"""perform imports espnet2 without typeguard's instrumentation; an import already done is left alone."""

import subprocess
import sys

CHECK = """
import sys, typeguard
from espnet2_ext.utils.espnet_import import skip_espnet_typechecks
assert skip_espnet_typechecks() is True
f = lambda x: x
assert typeguard.typechecked(f) is f and typeguard.typechecked()(f) is f
import espnet2.tasks.abs_task
assert skip_espnet_typechecks() is False  # espnet2 is loaded now: nothing to change
print("ok")
"""


def test_typechecks_skipped_only_before_espnet_is_imported():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
