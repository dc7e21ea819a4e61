"""PerformSinger end to end on tiny sizes: eq. 7 forward/backward, masks, frozen lip encoder,
duration-free inference."""

import copy

import pytest
import torch

import espnet2_ext  # noqa: F401
from espnet2_ext.svs.performsinger.performsinger import PerformSinger

torch.set_num_threads(1)
ODIM, SPK = 20, 16


def tiny_model(use_visual=True, freeze=True, shallow_k=0, **overrides):
    conf = dict(
        idim=30, odim=ODIM, hidden=32, spk_embed_dim=SPK, use_visual=use_visual,
        encoder_conf=dict(layers=1, ffn_units=32, ffn_kernel=3),
        lip_encoder_conf=dict(output_dim=24, frontend_channels=4, trunk_channels=4, freeze=freeze),
        fusion_conf=dict(blocks=2, path_readout=True), duration_conf=dict(channels=16),
        f0_conf=dict(residual_layers=2, residual_channels=16, num_steps=20, uv_channels=16),
        style_conf=dict(wavenet_layers=2, conv_layers=1, rvq_codebook=16),
        decoder_conf=dict(residual_layers=2, residual_channels=16, num_steps=20, shallow_k=shallow_k),
    )
    conf.update(overrides)
    return PerformSinger(**conf)


def tiny_batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    B, N, T, Tv = 2, 6, 40, 8
    lab = torch.randint(1, 30, (B, N), generator=g)
    lab[1, 4:] = 0
    return dict(
        text=lab.clone(), text_lengths=torch.tensor([6, 4]),
        feats=torch.randn(B, T, ODIM, generator=g), feats_lengths=torch.tensor([40, 25]),
        label={"lab": lab}, label_lengths={"lab": torch.tensor([6, 4])},
        melody={"lab": torch.tensor([[60, 62, 0, 64, 65, 60], [0, 55, 57, 59, 0, 0]])},
        melody_lengths={"lab": torch.tensor([6, 4])},
        duration={"lab": torch.tensor([[5, 8, 6, 7, 6, 8], [4, 7, 6, 8, 0, 0]]),
                  "score_phn": torch.ones(B, N, dtype=torch.long)},
        duration_lengths={"lab": torch.tensor([6, 4])},
        pitch=torch.rand(B, T + 1, 1, generator=g) * 200 + 100, pitch_lengths=torch.tensor([41, 26]),
        spembs=torch.randn(B, SPK, generator=g),
        lip=torch.randn(B, Tv, 88, 88, generator=g), lip_lengths=torch.tensor([8, 5]),
        flag_IsValid=False, slur={"lab": torch.zeros(B, N, dtype=torch.long)},
    )


@pytest.mark.parametrize("use_visual,shallow_k", [(True, 0), (False, 0), (True, 8)])
def test_forward_backward_finite(use_visual, shallow_k):
    torch.manual_seed(0)
    model = tiny_model(use_visual, shallow_k=shallow_k)
    assert hasattr(model, "lip_encoder") == use_visual and hasattr(model, "fusion") == use_visual
    loss, stats, weight = model(**tiny_batch())
    assert torch.isfinite(loss) and weight.item() == 2
    for key in ("mel_loss", "loss_R", "loss_D", "loss_P", "loss_C", "f0_loss", "uv_loss", "dur_phone_loss",
                "dur_sentence_loss", "loss"):
        assert key in stats and torch.isfinite(stats[key]) and not stats[key].requires_grad
    assert ("aux_mel_loss" in stats) == (shallow_k > 0)
    w = model.loss_weights
    expect = (w["lambda_R"] * stats["loss_R"] + w["lambda_D"] * stats["loss_D"] + w["lambda_P"] * stats["loss_P"]
              + w["lambda_C"] * stats["loss_C"])
    assert torch.allclose(stats["loss"], expect, rtol=1e-5)
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    assert all(g is None or torch.isfinite(g).all() for g in grads.values())
    for prefix in ("encoder.", "duration.", "style.", "f0_predictor.", "decoder.", "speaker."):
        assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if n.startswith(prefix)), prefix
    if use_visual:
        assert any(g is not None and g.abs().sum() > 0 for n, g in grads.items() if n.startswith("fusion."))


@pytest.mark.parametrize("freeze", [True, False])
def test_lip_encoder_gradient_follows_freeze(freeze):
    torch.manual_seed(0)
    model = tiny_model(True, freeze=freeze)
    model.train()
    loss, _, _ = model(**tiny_batch())
    loss.backward()
    lip_grads = [p.grad for p in model.lip_encoder.parameters()]
    if freeze:
        assert all(not p.requires_grad for p in model.lip_encoder.parameters())
        assert all(g is None for g in lip_grads)
        assert not model.lip_encoder.training, "a frozen lip encoder stays in eval mode"
    else:
        assert any(g is not None and g.abs().sum() > 0 for g in lip_grads)


def test_padded_content_does_not_change_loss():
    torch.manual_seed(0)
    model = tiny_model(True).eval()
    batch = tiny_batch()
    model(**batch)  # the RVQ k-means initialisation draws random numbers once
    torch.manual_seed(1)
    ref, _, _ = model(**batch)
    b2 = copy.deepcopy(batch)
    b2["label"]["lab"][1, 4:] = 7
    b2["text"][1, 4:] = 7
    b2["melody"]["lab"][1, 4:] = 70
    b2["feats"][1, 25:] = 9.0
    b2["pitch"][1, 26:] = 500.0
    b2["lip"][1, 5:] = 3.0
    torch.manual_seed(1)
    loss2, _, _ = model(**b2)
    assert torch.allclose(ref, loss2, atol=1e-5)


def test_validation_loss_does_not_depend_on_the_global_rng():
    """The valid loss picks the best epoch: in eval mode it must be a function of the model alone."""
    torch.manual_seed(0)
    model = tiny_model(True).eval()
    batch = tiny_batch()
    model(**batch)  # RVQ k-means initialisation
    torch.manual_seed(1)
    a, stats_a, _ = model(**batch)
    torch.manual_seed(2)
    b, stats_b, _ = model(**batch)
    assert float(a) == float(b) and float(stats_a["f0_loss"]) == float(stats_b["f0_loss"])
    model.train()
    torch.manual_seed(1)
    c, _, _ = model(**batch)
    torch.manual_seed(2)
    d, _, _ = model(**batch)
    assert float(c) != float(d)


def test_missing_inputs_raise():
    model = tiny_model(True)
    batch = tiny_batch()
    with pytest.raises(ValueError, match="lip"):
        model(**{**batch, "lip": None})
    with pytest.raises(ValueError, match="pitch"):
        model(**{**batch, "pitch": None})
    with pytest.raises(ValueError, match="loss_weights"):
        tiny_model(True, loss_weights=dict(lambda_X=1.0))


def _infer_inputs(batch, i=0, perturb_duration=False):
    n = int(batch["label_lengths"]["lab"][i])
    dur = batch["duration"]["lab"][i, :n].clone()
    if perturb_duration:
        dur = dur * 3 + 1
    return dict(
        text=batch["text"][i, :n], label={"lab": batch["label"]["lab"][i, :n]},
        melody={"lab": batch["melody"]["lab"][i, :n]}, duration={"lab": dur},
        spembs=batch["spembs"][i], lip=batch["lip"][i:i + 1, : int(batch["lip_lengths"][i])],
        lip_lengths=batch["lip_lengths"][i:i + 1],
    )


def video_timed_inference(model, batch, frame_rate, video_fps):
    """Eval-mode inference of utterance 0; checks that GT durations are not read and that the song
    lasts as long as its video (within 2 mel frames). Returns the output."""
    model.eval()
    a = model.inference(**_infer_inputs(batch), steps=2, seed=1)
    b = model.inference(**_infer_inputs(batch, perturb_duration=True), steps=2, seed=1)
    assert torch.equal(a["duration"], b["duration"]) and torch.equal(a["feat_gen"], b["feat_gen"])
    t_v = int(batch["lip_lengths"][0])
    assert abs(int(a["duration"].sum()) - t_v * frame_rate / video_fps) <= 2
    return a


@pytest.mark.parametrize("use_visual", [True, False])
def test_inference_is_duration_free_and_seeded(use_visual):
    torch.manual_seed(0)
    model = tiny_model(use_visual)
    model(**tiny_batch())  # initialise the RVQ codebooks (k-means on the first batch)
    model.eval()
    batch = tiny_batch()
    a = model.inference(**_infer_inputs(batch), steps=4, seed=3)
    b = model.inference(**_infer_inputs(batch, perturb_duration=True), steps=4, seed=3)
    b_none = model.inference(**{**_infer_inputs(batch), "duration": None}, steps=4, seed=3)
    for out in (b, b_none):
        for key in a:
            assert torch.equal(a[key], out[key]), key
    n = int(batch["label_lengths"]["lab"][0])
    T = int(a["duration"].sum())
    assert a["feat_gen"].shape == (T, ODIM) and a["f0"].shape == (T,) and a["duration"].shape == (n,)
    assert torch.isfinite(a["feat_gen"]).all()
    midi = batch["melody"]["lab"][0, :n]
    assert (a["duration"][midi > 0] >= 1).all()
    assert ("attn" in a) == use_visual
    if use_visual:
        assert a["attn"].shape == (n, 8)
    other = model.inference(**_infer_inputs(batch), steps=4, seed=4)
    assert not torch.equal(a["feat_gen"], other["feat_gen"]), "the seed must drive the diffusion noise"
    # teacher forcing is the only path that reads duration["lab"]
    tf = model.inference(**_infer_inputs(batch), steps=4, seed=3, use_teacher_forcing=True)
    assert tf["duration"].tolist() == batch["duration"]["lab"][0, :n].tolist()
    assert tf["feat_gen"].shape[0] == int(batch["duration"]["lab"][0].sum())
    # a reference mel changes the style path
    ref = model.inference(**_infer_inputs(batch), steps=4, seed=3, feats=batch["feats"][1, :25])
    assert ref["feat_gen"].shape == a["feat_gen"].shape and not torch.equal(ref["feat_gen"], a["feat_gen"])
    for sampler in ("ddpm", "dpm_solver"):
        out = model.inference(**_infer_inputs(batch), sampler=sampler, steps=4, seed=3)
        assert torch.isfinite(out["feat_gen"]).all()


def test_sma_fusion_aux_loss_enters_eq7():
    torch.manual_seed(0)
    model = tiny_model(True, fusion="sma", fusion_conf=dict(heads=2))
    loss, stats, _ = model(**tiny_batch())
    assert "fusion_diag" in stats and torch.isfinite(stats["fusion_diag"])
    w = model.loss_weights
    expect = (w["lambda_R"] * stats["loss_R"] + w["lambda_D"] * stats["loss_D"] + w["lambda_P"] * stats["loss_P"]
              + w["lambda_C"] * stats["loss_C"] + w["lambda_F"] * stats["fusion_diag"])
    assert torch.allclose(stats["loss"], expect, rtol=1e-5)
    with pytest.raises(ValueError, match="unknown fusion"):
        tiny_model(True, fusion="concat")


def test_loss_synth_is_eq7_without_the_auxiliaries():
    """The checkpoint-selection stat: the whole loss for the audio-only model, the loss minus the
    alignment / lip-reading auxiliaries for the visual one."""
    torch.manual_seed(0)
    _, stats, _ = tiny_model(use_visual=False)(**tiny_batch())
    assert torch.allclose(stats["loss_synth"], stats["loss"])
    torch.manual_seed(0)
    model = tiny_model(lip_reader_conf=dict(hidden=8), loss_weights=dict(lambda_A=1.0, lambda_L=1.0))
    _, stats, _ = model(**tiny_batch())
    w = model.loss_weights
    want = (w["lambda_R"] * stats["loss_R"] + w["lambda_D"] * stats["loss_D"] + w["lambda_P"] * stats["loss_P"]
            + w["lambda_C"] * stats["loss_C"])
    assert torch.allclose(stats["loss_synth"], want, atol=1e-6)
    aux = stats["loss_A"] + stats["loss_L"] + sum(v for k, v in stats.items() if k.startswith("fusion_"))
    assert float(aux) > 0 and torch.allclose(stats["loss"], want + aux, atol=1e-5)
