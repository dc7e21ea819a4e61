"""Inference precision (espnet2_ext/svs/precision.py): the names, ``auto``'s hardware check, and
PerformSinger.inference in bfloat16 against float32."""

import pytest
import torch

from espnet2_ext.svs import precision
from espnet2_ext.svs.precision import compute_in, resolve_precision
from tests.unit.svs.test_performsinger_model import _infer_inputs, tiny_batch, tiny_model


def test_names_resolve_and_a_bad_name_lists_the_valid_ones():
    assert resolve_precision("float32", "cpu") == torch.float32
    assert resolve_precision("bfloat16", "cpu") == torch.bfloat16
    with pytest.raises(ValueError, match=r"precision 'fp16'.*'float32', 'bfloat16', 'auto'"):
        resolve_precision("fp16", "cpu")


@pytest.mark.parametrize("native", [True, False])
def test_auto_is_bfloat16_only_where_the_hardware_has_it(monkeypatch, native):
    monkeypatch.setattr(precision, "native_bfloat16", lambda device: native)
    assert resolve_precision("auto", "cpu") == (torch.bfloat16 if native else torch.float32)


def test_native_bfloat16_answers_for_the_cpu_and_no_for_other_devices():
    assert isinstance(precision.native_bfloat16(torch.device("cpu")), bool)
    assert precision.native_bfloat16(torch.device("meta")) is False


def test_compute_in_float32_changes_nothing_and_bfloat16_autocasts():
    x, w = torch.randn(4, 8), torch.randn(8, 3)
    with compute_in(torch.float32, "cpu"):
        assert (x @ w).dtype == torch.float32
    with compute_in(torch.bfloat16, "cpu"):
        assert (x @ w).dtype == torch.bfloat16


@pytest.mark.parametrize("use_visual", [True, False])
def test_bfloat16_inference_keeps_the_timing_and_returns_float32_close_to_float32(use_visual):
    torch.manual_seed(0)
    model = tiny_model(use_visual).eval()
    batch = tiny_batch()
    with torch.inference_mode():
        a = model.inference(**_infer_inputs(batch), steps=2, seed=3, precision="float32")
        b = model.inference(**_infer_inputs(batch), steps=2, seed=3, precision="bfloat16")
        again = model.inference(**_infer_inputs(batch), steps=2, seed=3, precision="bfloat16")
    # the timing path stays in float32: the same durations, whatever the heavy networks' dtype
    assert torch.equal(a["duration"], b["duration"])
    for key in ("feat_gen", "f0"):
        assert b[key].dtype == torch.float32
        assert torch.equal(b[key], again[key])  # deterministic for a seed
    # bfloat16 took effect (not bit-equal) and stays close (relative error of a few 1e-3 here)
    assert not torch.equal(a["feat_gen"], b["feat_gen"])
    rel = ((a["feat_gen"] - b["feat_gen"]).norm() / a["feat_gen"].norm()).item()
    assert rel < 0.03, rel


def test_a_bad_precision_is_refused_before_any_work():
    model = tiny_model(True).eval()
    with pytest.raises(ValueError, match="precision 'half'"):
        model.inference(**_infer_inputs(tiny_batch()), steps=2, seed=3, precision="half")
