"""The rectified-flow objective of the demo and paper configs: the *_ddpm configs (the paper's
objective) differ from them in the decoder / F0 objective alone; a flow model builds, trains (one
step, and a falling loss on a tiny overfit batch) and decodes with the flow samplers and "auto"."""


from pathlib import Path

import pytest
import torch
import yaml

import espnet2_ext  # noqa: F401
from espnet2_ext.svs.performsinger.performsinger import PerformSinger
from tests.unit.svs.test_performsinger_model import tiny_batch, tiny_model
from espnet2_ext.utils.config import load_config
from tests.support.paths import CONF

torch.set_num_threads(1)
SYSTEMS = ["stylesinger", "performsinger", "performsinger_single_stage"]
REFLOW = dict(objective="reflow", prediction="x0", t_start=0.4)  # demo: x0 prediction, as the ddpm demo configs
REFLOW_PAPER = dict(objective="reflow", t_start=0.4)  # paper: velocity prediction (the default)


@pytest.mark.parametrize("paper", [False, True])
@pytest.mark.parametrize("system", SYSTEMS)
def test_ddpm_config_is_its_flow_source_with_the_papers_objective(system, paper):
    name, ddpm_name = (f"tuning/train_{system}_paper.yaml", f"tuning/train_{system}_ddpm_paper.yaml") if paper \
        else (f"train_{system}.yaml", f"train_{system}_ddpm.yaml")
    flow = load_config(CONF / name)
    ddpm = load_config(CONF / ddpm_name)
    assert yaml.safe_load((CONF / ddpm_name).read_text())["base_config"] == Path(name).name  # states only the change
    f, d = flow.pop("svs_conf"), ddpm.pop("svs_conf")
    assert flow == ddpm
    assert f.pop("decoder_conf") == dict(d.pop("decoder_conf"), **(REFLOW_PAPER if paper else REFLOW))
    assert f.pop("f0_conf") == dict(d.pop("f0_conf"), objective="reflow")
    assert f == d
    model = PerformSinger(idim=61, odim=80, **load_config(CONF / name)["svs_conf"])
    assert model.decoder.flow is not None and model.f0_predictor.flow is not None
    assert model.aux_decoder is not None  # the shallow flow starts from its mel
    model = PerformSinger(idim=61, odim=80, **load_config(CONF / ddpm_name)["svs_conf"])
    assert model.decoder.flow is None and model.f0_predictor.flow is None and model.aux_decoder is None


def test_stage_two_config_matches_its_stage_one_for_either_objective():
    for one_name, two_name in (("train_stylesinger.yaml", "train_performsinger.yaml"),
                               ("train_stylesinger_ddpm.yaml", "train_performsinger_ddpm.yaml")):
        one = PerformSinger(idim=61, odim=80, **load_config(CONF / one_name)["svs_conf"])
        two = PerformSinger(idim=61, odim=80, **load_config(CONF / two_name)["svs_conf"])
        s1, s2 = one.state_dict(), two.state_dict()
        assert all(k in s2 and s2[k].shape == v.shape for k, v in s1.items()), two_name


def _reflow_model():
    return tiny_model(True, decoder_conf=dict(residual_layers=2, residual_channels=16, num_steps=20, **REFLOW),
                      f0_conf=dict(residual_layers=2, residual_channels=16, num_steps=20, uv_channels=16,
                                   objective="reflow"))


def test_one_training_step_and_a_falling_loss_on_a_tiny_batch():
    torch.manual_seed(0)
    model = _reflow_model()
    batch = tiny_batch()
    loss, stats, _ = model(**batch)
    assert torch.isfinite(loss) and "aux_mel_loss" in stats
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.decoder.parameters())
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)

    def eval_loss():  # fixed t and noise draws in eval mode: the model alone changes it
        model.eval()
        with torch.no_grad():
            st = model(**batch)[1]
        model.train()
        return float(st["mel_loss"]), float(st["f0_loss"])

    mel0, f00 = eval_loss()
    for _ in range(30):
        opt.zero_grad()
        model(**batch)[0].backward()
        opt.step()
    mel1, f01 = eval_loss()
    assert mel1 < 0.8 * mel0 and f01 < f00, (mel0, mel1, f00, f01)


def test_inference_with_the_flow_samplers():
    torch.manual_seed(0)
    model = _reflow_model().eval()
    b = tiny_batch()
    one = dict(text=b["text"][0], label={"lab": b["label"]["lab"][:1]}, melody={"lab": b["melody"]["lab"][:1]},
               spembs=b["spembs"][0], lip=b["lip"][:1], lip_lengths=b["lip_lengths"][:1])
    a = model.inference(**one, sampler="euler", steps=2, seed=0)
    c = model.inference(**one, sampler="euler", steps=2, seed=0)
    assert a["feat_gen"].shape == (int(a["duration"].sum()), 20) and torch.equal(a["feat_gen"], c["feat_gen"])
    d = model.inference(**one, sampler="rk2", steps=1, f0_sampler="euler", f0_steps=3, seed=0)
    assert torch.equal(a["duration"], d["duration"])
    auto = model.inference(**one, sampler="auto", steps=2, seed=0)  # auto: euler for a flow
    assert torch.equal(auto["feat_gen"], a["feat_gen"])
    with pytest.raises(ValueError, match="euler"):
        model.inference(**one, sampler="ddim", steps=2)
