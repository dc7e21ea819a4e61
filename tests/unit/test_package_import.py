"""Importing espnet2_ext stays cheap for the data tools and still silences nltk's downloads."""

import subprocess
import sys


def test_import_is_light_and_nltk_is_silenced_when_imported():
    code = (
        "import sys, espnet2_ext\n"
        "assert 'nltk' not in sys.modules and 'torch' not in sys.modules, sorted(sys.modules)\n"
        "import nltk\n"
        "assert nltk.download('punkt') is False\n"
        "assert getattr(nltk.download, '_espnet2_ext_silenced', False)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
