"""PerformSinger building blocks: shapes and masks on padded batches, VCFM structure, durations, RVQ style."""

import pytest
import torch

import espnet2_ext  # noqa: F401
from espnet2_ext.svs.fusion.abs_fusion import AbsFusion
from espnet2_ext.svs.performsinger.duration import DurationModule
from espnet2_ext.svs.performsinger.phoneme_encoder import PhonemeEncoder
from espnet2_ext.svs.performsinger.speaker import SpeakerProjection
from espnet2_ext.svs.performsinger.style import StyleExtractor
from espnet2_ext.svs.fusion.vcfm import VCFM

torch.set_num_threads(1)
H = 32


def _mask(lengths, n):
    return torch.arange(n)[None] < torch.as_tensor(lengths)[:, None]


def test_phoneme_encoder_masks_and_pitch():
    torch.manual_seed(0)
    enc = PhonemeEncoder(20, H, dict(layers=2, ffn_units=48, ffn_kernel=5)).eval()
    text = torch.randint(1, 20, (2, 7))
    lengths = torch.tensor([7, 4])
    midi = torch.randint(1, 80, (2, 7))
    cf, mask = enc(text, lengths, midi)
    assert cf.shape == (2, 7, H) and mask.tolist()[1] == [True] * 4 + [False] * 3
    assert cf[1, 4:].abs().max() == 0
    # padded content does not change valid outputs, and a batch equals the single utterance
    text2, midi2 = text.clone(), midi.clone()
    text2[1, 4:] = 3
    midi2[1, 4:] = 70
    cf2, _ = enc(text2, lengths, midi2)
    assert torch.equal(cf, cf2)
    single, _ = enc(text[1:, :4], lengths[1:], midi[1:, :4])
    assert torch.allclose(single[0], cf[1, :4], atol=1e-5)
    # eq. 2: the note changes CF additively through the pitch embedding
    midi3 = midi.clone()
    midi3[0, 2] = (midi[0, 2] + 5) % 127 + 1
    cf3, _ = enc(text, lengths, midi3)
    delta = enc.pitch_embed.weight[midi3[0, 2]] - enc.pitch_embed.weight[midi[0, 2]]
    assert torch.allclose(cf3[0, 2] - cf[0, 2], delta, atol=1e-5)
    assert torch.equal(cf3[0, 3], cf[0, 3])
    with pytest.raises(ValueError, match="MIDI"):
        enc(text, lengths, midi + 200)
    with pytest.raises(ValueError, match="unknown option"):
        PhonemeEncoder(20, H, dict(num_layers=2))


def test_speaker_projection_shapes_and_errors():
    spk = SpeakerProjection(16, H)
    assert spk(torch.randn(3, 16), 3).shape == (3, 1, H)
    assert spk(torch.randn(16), 1).shape == (1, 1, H)
    with pytest.raises(ValueError, match="spembs"):
        spk(None, 2)
    with pytest.raises(ValueError, match="dims"):
        spk(torch.randn(2, 8), 2)


def test_vcfm_structure_eq4_6():
    torch.manual_seed(0)
    fusion = VCFM(H, 24, dict(blocks=3, heads=2, dropout=0.0)).eval()
    assert isinstance(fusion, AbsFusion)
    assert len(fusion.blocks) == 3
    # eq. 4: adapter H_v -> 2H -> GELU -> H; eq. 6: per-block adapter H -> 2H -> H
    assert fusion.visual_adapter.up.out_features == 2 * H and fusion.visual_adapter.down.out_features == H
    assert all(b.adapter.up.out_features == 2 * H for b in fusion.blocks)
    seen = []
    for block in fusion.blocks:
        block.register_forward_pre_hook(lambda m, args: seen.append(args[2]))
    adapter_calls = []
    fusion.visual_adapter.register_forward_hook(lambda m, i, o: adapter_calls.append(o))
    content, visual = torch.randn(2, 5, H), torch.randn(2, 9, 24)
    out = fusion(content, torch.tensor([5, 3]), visual, torch.tensor([9, 6]))
    assert out.fused.shape == (2, 5, H) and out.attn.shape == (2, 5, 9)
    assert len(adapter_calls) == 1, "VF' must be computed once"
    assert len(seen) == 3 and all(s is seen[0] for s in seen), "VF' must be the same tensor in every block"
    # residual structure: CF^(K) = CF + sum of adapter outputs; attention sums to 1 over valid frames only
    assert torch.allclose(out.attn[0].sum(-1), torch.ones(5), atol=1e-5)
    assert out.attn[1, :3, 6:].abs().max() == 0
    assert out.fused[1, 3:].abs().max() == 0
    # padded video frames and padded phones do not change valid outputs
    visual2, content2 = visual.clone(), content.clone()
    visual2[1, 6:] = 7.0
    content2[1, 3:] = -3.0
    out2 = fusion(content2, torch.tensor([5, 3]), visual2, torch.tensor([9, 6]))
    assert torch.allclose(out.fused, out2.fused, atol=1e-6)
    # the video matters
    out3 = fusion(content, torch.tensor([5, 3]), visual + 1.0, torch.tensor([9, 6]))
    assert not torch.allclose(out.fused, out3.fused)


def test_duration_module_losses_masks_and_inference():
    torch.manual_seed(0)
    dm = DurationModule(H, dict(channels=16, dropout=0.0)).eval()
    x = torch.randn(2, 6, H)
    mask = _mask([6, 4], 6)
    log_d = dm.log_durations(x, mask)
    assert log_d.shape == (2, 6) and log_d[1, 4:].abs().max() == 0
    x2 = x.clone()
    x2[1, 4:] = 50.0
    assert torch.equal(dm.log_durations(x2, mask), log_d)
    single = dm.log_durations(x[1:, :4], mask[1:, :4])
    assert torch.allclose(single[0], log_d[1, :4], atol=1e-5)
    # log-domain MSE: exact targets give 0 phone loss and 0 sentence loss
    d_gt = torch.tensor([[3, 5, 2, 7, 1, 4], [2, 2, 6, 3, 0, 0]])
    exact = torch.log(d_gt.float() + 1.0).masked_fill(~mask, 0.0)
    losses = dm.loss(exact, d_gt, mask)
    assert losses["dur_phone"] < 1e-10 and losses["dur_sentence"] < 1e-8
    worse = dm.loss(exact + 0.5 * mask, d_gt, mask)
    assert worse["dur_phone"] == pytest.approx(0.25, abs=1e-5) and worse["dur_sentence"] > 0.01
    # inference: round(exp(x) - 1); phones with a note get >= 1 frame, rests may get 0, padding 0
    midi = torch.tensor([[0, 60, 60, 0, 62, 62], [60, 0, 61, 61, 0, 0]])
    tiny = torch.full((2, 6), -3.0)
    d = dm.to_frames(tiny, mask, midi)
    assert d.tolist() == [[0, 1, 1, 0, 1, 1], [1, 0, 1, 1, 0, 0]]
    assert dm.to_frames(exact, mask, midi).tolist() == d_gt.tolist()
    frames, flen = dm.regulate(torch.arange(12.0).view(2, 6, 1), d_gt, max_len=25)
    assert frames.shape == (2, 25, 1) and flen.tolist() == [22, 13]
    assert frames[0, :3, 0].tolist() == [0.0] * 3 and frames[0, 3, 0] == 1.0


def test_style_extractor_rvq_and_masks():
    torch.manual_seed(0)
    st = StyleExtractor(10, H, dict(rvq_codebook=16, rvq_quantizers=4, wavenet_layers=2, conv_layers=1,
                                    dropout=0.0, ref_dropout=0.0))
    content = torch.randn(2, 11, H)
    ref = torch.randn(2, 14, 10)
    f0 = torch.rand(2, 14) * 300.0
    rmask = _mask([14, 9], 14)
    st.train()
    for _ in range(3):
        out = st(content, ref, f0, rmask)
        assert torch.isfinite(out["commit"]) and out["commit"] > 0
    assert out["out"].shape == (2, 11, H)
    assert out["codes"].shape == (4, 23), "only the 23 valid reference frames are quantised"
    assert out["codes"][0].unique().numel() > 1, "codebook collapsed to one code"
    out["out"].sum().backward()
    assert st.pre.weight.grad is not None and torch.isfinite(st.pre.weight.grad).all()
    st.eval()
    a = st(content, ref, f0, rmask)
    ref2, f02 = ref.clone(), f0.clone()
    ref2[1, 9:] = 100.0
    f02[1, 9:] = 1000.0
    b = st(content, ref2, f02, rmask)
    assert torch.allclose(a["out"], b["out"], atol=1e-6)
    assert torch.equal(a["codes"], b["codes"])
    # the mean reference (no reference audio) is a valid input
    mref, mf0, mm = StyleExtractor.mean_reference(2, 10, "cpu")
    assert st(content, mref, mf0, mm)["out"].shape == (2, 11, H)


def test_style_reference_dropout_only_in_training():
    torch.manual_seed(0)
    st = StyleExtractor(10, H, dict(rvq_codebook=8, wavenet_layers=1, conv_layers=1, ref_dropout=1.0))
    ref, mask = torch.randn(2, 6, 10), torch.ones(2, 6, dtype=torch.bool)
    st.train()
    r, f, m = st.drop_references(ref, torch.ones(2, 6), mask)
    assert m.sum().item() == 2 and r.abs().max() == 0 and f.abs().max() == 0
    st.eval()
    r, f, m = st.drop_references(ref, None, mask)
    assert torch.equal(r, ref) and m.all()
