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


_real_cpu_flags = precision.cpu_flags  # the tests below replace it on the module

# /proc/cpuinfo flags (Linux's names) of real CPUs, the AVX-512 / AMX / bf16 part and a few around it
_X86_COMMON = "fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi2"
_AVX512 = "avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni"
CPUS = {
    # (arch, flags, auto on CPU)
    "cascade_lake": ("x86_64", f"{_X86_COMMON} {_AVX512}", torch.float32),
    "ice_lake": ("x86_64", f"{_X86_COMMON} {_AVX512} avx512ifma avx512vbmi avx512_vbmi2 avx512_bitalg "
                           "avx512_vpopcntdq", torch.float32),
    "sapphire_rapids": ("x86_64", f"{_X86_COMMON} {_AVX512} avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8",
                        torch.bfloat16),
    "zen4": ("x86_64", f"{_X86_COMMON} {_AVX512} avx512ifma avx512vbmi avx512_bf16", torch.bfloat16),
    "avx2_only": ("x86_64", _X86_COMMON, torch.float32),
    # ARM: float32 with or without the bf16 feature (the module docstring says why)
    "graviton3": ("aarch64", "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
                             "sve asimddp sha512 sve2 i8mm bf16 svebf16 dcpodp", torch.float32),
    "graviton2": ("aarch64", "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm "
                             "asimddp", torch.float32),
}


@pytest.fixture
def emulating_onednn(monkeypatch):
    """oneDNN as on any AVX-512 CPU: accepts bfloat16 (emulated or not), so only the flags can tell."""
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)


@pytest.mark.parametrize("cpu", sorted(CPUS))
def test_auto_on_cpu_is_bfloat16_only_with_bfloat16_instructions(monkeypatch, emulating_onednn, cpu):
    arch, flags, expected = CPUS[cpu]
    monkeypatch.setattr(precision, "cpu_arch", lambda: arch)
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(flags.split()))
    assert precision.native_bfloat16("cpu") is (expected == torch.bfloat16)
    assert resolve_precision("auto", "cpu") == expected
    assert resolve_precision("auto", torch.device("cpu")) == expected
    # explicit names are not second-guessed
    assert resolve_precision("bfloat16", "cpu") == torch.bfloat16
    assert resolve_precision("float32", "cpu") == torch.float32


@pytest.mark.parametrize("arch", ["x86_64", "aarch64", "riscv64"])
def test_auto_on_cpu_is_float32_where_the_flags_cannot_be_read(monkeypatch, emulating_onednn, tmp_path, arch):
    monkeypatch.setattr(precision, "cpu_arch", lambda: arch)
    monkeypatch.setattr(precision, "cpu_flags", lambda: _real_cpu_flags(str(tmp_path / "no_cpuinfo")))
    assert precision.cpu_flags() == frozenset()
    assert resolve_precision("auto", "cpu") == torch.float32


def test_auto_on_cpu_needs_onednn(monkeypatch):
    monkeypatch.setattr(precision, "cpu_arch", lambda: "x86_64")
    monkeypatch.setattr(precision, "cpu_flags", lambda: frozenset(CPUS["sapphire_rapids"][1].split()))
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert resolve_precision("auto", "cpu") == torch.float32


def test_cpu_flags_reads_the_first_processors_flags_on_x86_and_features_on_arm(tmp_path):
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel Xeon\n"
                   "flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16\nbugs\t\t: spectre_v1\n\n"
                   "processor\t: 1\nflags\t\t: fpu other\n")
    assert _real_cpu_flags(str(x86)) == {"fpu", "avx2", "avx512f", "avx512_bf16", "amx_bf16"}
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nBogoMIPS\t: 2100.00\nFeatures\t: fp asimd sve bf16 i8mm\n"
                   "CPU implementer\t: 0x41\n")
    assert _real_cpu_flags(str(arm)) == {"fp", "asimd", "sve", "bf16", "i8mm"}
    assert _real_cpu_flags(str(tmp_path / "missing")) == frozenset()
    empty = tmp_path / "empty"
    empty.write_text("processor\t: 0\n")
    assert _real_cpu_flags(str(empty)) == frozenset()


def test_cpu_arch_names_the_common_architectures_alike(monkeypatch):
    for machine, arch in [("x86_64", "x86_64"), ("AMD64", "x86_64"), ("aarch64", "aarch64"), ("arm64", "aarch64")]:
        monkeypatch.setattr(precision.platform, "machine", lambda m=machine: m)
        assert precision.cpu_arch() == arch


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
