"""Two-stage training: load_stage_one copies a stage-one model into a stage-two one, or fails loudly."""

import pytest
import torch

import espnet2_ext  # noqa: F401
from espnet2_ext.svs.performsinger.stage_init import load_stage_one
from tests.unit.svs.test_performsinger_model import tiny_batch, tiny_model

torch.set_num_threads(1)


def _stage_one_file(tmp_path, prefix="svs."):
    torch.manual_seed(1)
    one = tiny_model(use_visual=False)
    one(**tiny_batch())  # initialise the RVQ codebooks so buffers differ from a fresh model
    state = {prefix + k: v for k, v in one.state_dict().items()}
    state["normalize.mean"] = torch.zeros(3)  # espnet wrapper keys outside svs. are ignored
    path = tmp_path / "valid.loss.best.pth"
    torch.save(state, path)
    return one, state, path


@pytest.mark.parametrize("prefix", ["svs.", ""])
def test_loads_every_non_visual_tensor(tmp_path, prefix):
    one, state, path = _stage_one_file(tmp_path, prefix)
    if not prefix:
        del state["normalize.mean"]
        torch.save(state, path)
    torch.manual_seed(2)
    two = tiny_model(use_visual=True)
    fusion_before = {k: v.clone() for k, v in two.state_dict().items() if k.startswith(("fusion.", "lip_encoder."))}
    loaded = load_stage_one(two, path)
    assert sorted(loaded) == sorted(one.state_dict())
    two_state = two.state_dict()
    for k, v in one.state_dict().items():
        assert torch.equal(two_state[k], v), k
    for k, v in fusion_before.items():
        assert torch.equal(two_state[k], v), f"visual branch must stay untouched: {k}"
    assert any(k.startswith("style.rvq.") for k in loaded)


def test_rejects_wrong_checkpoints(tmp_path):
    _, state, path = _stage_one_file(tmp_path)
    two = tiny_model(use_visual=True)
    key = "svs.decoder.denoiser.output_projection.weight"
    key = key if key in state else next(k for k in state if k.startswith("svs.decoder."))

    renamed = dict(state)
    renamed["svs.decoderX" + key[len("svs.decoder"):]] = renamed.pop(key)
    torch.save(renamed, path)
    with pytest.raises(ValueError) as err:
        load_stage_one(two, path)
    assert "decoderX" in str(err.value) and key[len("svs."):] in str(err.value)
    assert str(path) in str(err.value)

    shaped = dict(state)
    shaped[key] = torch.zeros(*shaped[key].shape[:-1], shaped[key].shape[-1] + 1)
    torch.save(shaped, path)
    with pytest.raises(ValueError, match="shape"):
        load_stage_one(two, path)

    missing = {k: v for k, v in state.items() if not k.startswith("svs.encoder.")}
    torch.save(missing, path)
    with pytest.raises(ValueError, match="missing") as err:
        load_stage_one(two, path)
    assert "encoder.phone_embed.weight" in str(err.value)

    with pytest.raises(FileNotFoundError):
        load_stage_one(two, tmp_path / "nope.pth")


def test_stage_two_checkpoint_is_not_a_stage_one_but_loads_its_subset(tmp_path):
    # a stage-two file carries visual keys; loading it into a stage-one model must fail (unknown keys)
    two = tiny_model(use_visual=True)
    path = tmp_path / "two.pth"
    torch.save({"svs." + k: v for k, v in two.state_dict().items()}, path)
    one = tiny_model(use_visual=False)
    with pytest.raises(ValueError, match="keys not in the model"):
        load_stage_one(one, path)
