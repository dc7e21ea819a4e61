"""The fusion registry: built-in names, an out-of-tree plugin's entry point, module:Class, errors."""

import sys

import pytest
import torch

from espnet2_ext.svs.fusion import SMAFusion, VCFM, build_fusion, fusion_class
from tests.support.fusion_plugin import write_fusion_plugin
from tests.unit.svs.test_performsinger_model import tiny_batch, tiny_model

torch.set_num_threads(1)


@pytest.fixture
def plugin_path(tmp_path, monkeypatch):
    root = write_fusion_plugin(tmp_path / "plugin")
    monkeypatch.syspath_prepend(str(root))
    yield root
    sys.modules.pop("tiny_fusion", None)


def test_built_in_names():
    assert fusion_class("vcfm") is VCFM and fusion_class("SMA") is SMAFusion
    assert isinstance(build_fusion("sma", 16, 8, {"heads": 2}), SMAFusion)


def test_a_plugin_entry_point_builds_and_trains_in_performsinger(plugin_path):
    cls = fusion_class("tiny")
    assert cls.__name__ == "TinyFusion" and cls.__module__ == "tiny_fusion"
    torch.manual_seed(0)
    model = tiny_model(True, fusion="tiny", fusion_conf={"blocks": 2})  # another fusion's options are passed, unread
    assert type(model.fusion) is cls and "fusion.proj.weight" in model.state_dict()
    loss, stats, _ = model(**tiny_batch())
    loss.backward()
    assert torch.isfinite(loss) and model.fusion.proj.weight.grad.abs().sum() > 0


def test_module_colon_class_needs_no_registration(plugin_path):
    assert fusion_class("tiny_fusion:TinyFusion").__name__ == "TinyFusion"


def test_unknown_or_wrong_fusions_are_refused(plugin_path):
    with pytest.raises(ValueError, match=r"unknown fusion 'concat'.*\['vcfm', 'sma'\].*\['tiny'\]"):
        fusion_class("concat")
    with pytest.raises(ValueError, match="cannot load Nope from module tiny_fusion"):
        fusion_class("tiny_fusion:Nope")
    with pytest.raises(ValueError, match="not an AbsFusion subclass"):
        fusion_class("torch.nn:Linear")
