"""Which checkpoint stage 7 decodes (espnet2_ext.utils.model_file), also through the recipe's CLI call."""

import subprocess
import sys

from espnet2_ext.utils.model_file import resolve_model_file


def test_auto_prefers_the_average_then_the_best(tmp_path):
    (tmp_path / "config.yaml").write_text("best_model_criterion: [[valid, loss_synth, min]]\n")
    assert resolve_model_file(str(tmp_path)) == str(tmp_path / "valid.loss_synth.best.pth")
    (tmp_path / "valid.loss_synth.ave.pth").write_bytes(b"")
    assert resolve_model_file(str(tmp_path)) == str(tmp_path / "valid.loss_synth.ave.pth")
    assert resolve_model_file(str(tmp_path), "10epoch.pth") == str(tmp_path / "10epoch.pth")


def test_auto_without_a_readable_criterion_uses_valid_loss(tmp_path):
    assert resolve_model_file(str(tmp_path)) == str(tmp_path / "valid.loss.best.pth")  # no config.yaml
    (tmp_path / "config.yaml").write_text("best_model_criterion: [\n")  # not yaml
    assert resolve_model_file(str(tmp_path)) == str(tmp_path / "valid.loss.best.pth")
    (tmp_path / "config.yaml").write_text("max_epoch: 3\n")  # no criterion: espnet's default
    (tmp_path / "valid.loss.ave.pth").write_bytes(b"")
    assert resolve_model_file(str(tmp_path)) == str(tmp_path / "valid.loss.ave.pth")


def test_cli_prints_the_path(tmp_path):
    (tmp_path / "config.yaml").write_text("best_model_criterion: [[valid, loss_synth, min]]\n")
    out = subprocess.run([sys.executable, "-m", "espnet2_ext.utils.model_file", str(tmp_path), "auto"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(tmp_path / "valid.loss_synth.best.pth")
    bad = subprocess.run([sys.executable, "-m", "espnet2_ext.utils.model_file"], capture_output=True, text=True)
    assert bad.returncode != 0 and "usage" in bad.stderr
