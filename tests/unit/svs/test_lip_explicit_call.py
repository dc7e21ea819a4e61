"""The lip stream reaches the SVS module as an explicit argument of its call.

* the explicit call gives exactly the loss of the earlier forward pre-hook path (kept here as the
  reference), on a tiny batch through a shrunk PerformSinger (VCFM-T) model;
* two replicas made the way ``DataParallel`` makes them (``_replicate_for_data_parallel``, which
  shares the hook dicts) and run at the same time keep each half-batch's lip with its own call.
"""

import copy
import threading
from pathlib import Path

import torch
import yaml

import espnet2_ext  # noqa: F401
from espnet2.svs.espnet_model import ESPnetSVSModel
from espnet2.tasks import svs as svs_task
from espnet2.train.dataset import ESPnetDataset
from espnet2_ext.svs.visual_model import VisualESPnetSVSModel
from espnet2_ext.tasks.visual_svs import VisualSVSTask
from tests.support.configs import shrunk_config
from tests.unit.tasks.test_task import LipProbeSVS
from tests.support.tiny_dump import fbank_conf

STREAMS = [("text", "text", "text"), ("wav.scp", "singing", "sound"), ("label", "label", "duration"),
           ("score.scp", "score", "score"), ("spembs.scp", "spembs", "kaldi_ark"),
           ("pitch.scp", "pitch", "kaldi_ark"), ("lip.scp", "lip", "npy")]


def hook_forward(model: ESPnetSVSModel, lip=None, lip_lengths=None, **batch):
    """The earlier implementation: lip injected into the SVS call by a forward pre-hook."""

    def inject(module, args, kwargs):
        kwargs["lip"] = lip
        kwargs["lip_lengths"] = lip_lengths
        return args, kwargs

    handle = model.svs.register_forward_pre_hook(inject, with_kwargs=True)
    try:
        return ESPnetSVSModel.forward(model, **batch)
    finally:
        handle.remove()


def _model_and_batch(config: Path, dump: Path, extra=()):
    conf = yaml.safe_load(config.read_text())
    args = VisualSVSTask.get_parser().parse_args([
        "--config", str(config), "--token_type", "phn", "--token_list", str(dump / "tokens.txt"),
        "--fs", "22050", "--use_preprocessor", "true", *extra,
    ])
    assert args.svs == conf.get("svs", args.svs)
    torch.manual_seed(0)
    model = VisualSVSTask.build_model(args)
    dataset = ESPnetDataset([(str(dump / f), n, t) for f, n, t in STREAMS],
                            preprocess=VisualSVSTask.build_preprocess_fn(args, train=False))
    keys = sorted(dataset.loader_dict["text"].keys())
    collate = VisualSVSTask.build_collate_fn(args, train=False)
    utt_ids, batch = collate([dataset[k] for k in keys])
    return model, utt_ids, batch


def test_explicit_lip_call_gives_the_hook_paths_loss(tmp_path, tiny_dump):
    torch.set_num_threads(1)
    dump = tiny_dump
    config = shrunk_config("train_performsinger.yaml", tmp_path)
    model, _, batch = _model_and_batch(config, dump)
    assert isinstance(model, VisualESPnetSVSModel) and "lip" in batch
    model.train()
    results = []
    # espnet's forward edits duration tensors in place and training-mode forwards update state
    # (codebook statistics): each path gets its own copy of the model and of the batch
    for fn in (hook_forward, lambda m, **b: m(**b)):
        torch.manual_seed(123)  # diffusion steps, noise and dropout draw the same numbers
        copy_b = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in batch.items()}
        loss, stats, weight = fn(copy.deepcopy(model), **copy_b)
        results.append((loss, stats, weight))
    (l_old, s_old, w_old), (l_new, s_new, w_new) = results
    assert torch.isfinite(l_new) and torch.equal(l_old, l_new), (l_old.item(), l_new.item())
    assert set(s_old) == set(s_new) and all(torch.equal(s_old[k], s_new[k]) for k in s_old if s_old[k] is not None)
    assert torch.equal(w_old, w_new)
    # without lip the call is espnet's own
    no_lip = {k: v for k, v in batch.items() if k not in ("lip", "lip_lengths")}
    inputs = model.svs_inputs(**no_lip)
    assert "lip" not in inputs and {"feats", "label", "melody", "duration"} <= set(inputs)


class _Barrier(torch.nn.Module):
    """Wraps the feature extractor: both replicas are inside their forward before either calls svs."""

    def __init__(self, inner: torch.nn.Module, barrier: threading.Barrier):
        super().__init__()
        self.inner, self.barrier = inner, barrier

    def forward(self, *args, **kwargs):
        self.barrier.wait(timeout=30)
        return self.inner(*args, **kwargs)


def _replicas(model: torch.nn.Module, n: int):
    """What ``torch.nn.parallel.replicate`` does to the module tree, without moving to devices."""
    modules = list(model.modules())
    copies = [[m._replicate_for_data_parallel() for m in modules] for _ in range(n)]
    index = {id(m): i for i, m in enumerate(modules)}
    for rep in copies:
        for m, r in zip(modules, rep):
            for name, child in m._modules.items():
                r._modules[name] = None if child is None else rep[index[id(child)]]
            for name, p in m._parameters.items():  # replicate() sets the broadcast copies here
                if p is not None:
                    setattr(r, name, p)
    return [rep[0] for rep in copies]


def _run_two_replicas(forward, replicas, halves):
    seen, errors = [None, None], []

    def work(i):
        try:
            forward(replicas[i], **halves[i])
            seen[i] = LipProbeSVS.seen["forward_lips"][threading.get_ident()]
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return seen


def test_two_replicas_keep_each_utterances_lip(tmp_path, tiny_dump):
    torch.set_num_threads(1)
    dump = tiny_dump
    svs_task.svs_choices.classes["lip_probe"] = LipProbeSVS
    fb = fbank_conf()
    config = tmp_path / "probe.yaml"
    config.write_text(yaml.safe_dump(dict(
        svs="lip_probe", normalize=None, feats_extract="fbank", feats_extract_conf=fb,
        score_feats_extract="syllable_score_feats",
        score_feats_extract_conf=dict(fs=fb["fs"], n_fft=1024, win_length=1024, hop_length=256),
        pitch_extract=None)))
    model, utt_ids, batch = _model_and_batch(config, dump)
    barrier = threading.Barrier(2)
    model.feats_extract = _Barrier(model.feats_extract, barrier)
    halves = [{k: (v[i::2] if torch.is_tensor(v) else v) for k, v in batch.items()} for i in range(2)]
    assert not torch.equal(halves[0]["lip"][:, :5], halves[1]["lip"][:, :5])

    original = LipProbeSVS.forward
    # both replicas are inside the SVS call before either returns: the hook path's pre-hooks are then
    # both registered whichever thread calls first, so its race shows on every run
    in_svs = threading.Barrier(2)

    def recording(self, *args, lip=None, lip_lengths=None, **kwargs):
        LipProbeSVS.seen["forward_lips"][threading.get_ident()] = (lip, kwargs["text"].shape[0])
        in_svs.wait(timeout=30)
        return original(self, *args, lip=lip, lip_lengths=lip_lengths, **kwargs)

    LipProbeSVS.seen = {"forward": [], "inference": [], "forward_lips": {}}
    LipProbeSVS.forward = recording
    try:
        replicas = _replicas(model, 2)
        assert replicas[0].svs is not replicas[1].svs
        assert replicas[0].svs._forward_pre_hooks is replicas[1].svs._forward_pre_hooks  # shared, as in DataParallel
        seen = _run_two_replicas(lambda m, **b: m(**b), replicas, halves)
        for i in range(2):
            lip, n_text = seen[i]
            assert n_text == halves[i]["text"].shape[0]
            assert torch.equal(lip, halves[i]["lip"]), f"replica {i} got another batch's lip"
        # the hook path fails this very check: a replica's call picks up the other's lip
        seen = _run_two_replicas(hook_forward, _replicas(model, 2), halves)
        assert any(not torch.equal(seen[i][0], halves[i]["lip"]) for i in range(2))
    finally:
        LipProbeSVS.forward = original
