"""Two-rank DDP training on the CPU (gloo, file:// rendezvous) through the project's entry point.

Each rank is ``python -m espnet2_ext.bin.visual_svs_train`` with ``--dist_rank r --dist_world_size 2``
(what espnet2.bin.launch gives every process of a multi-node job). A probe on the ranks' Python path
(``sitecustomize``) records, for every training forward, the batch the rank was given and the random
state it started from, and at exit the rank's parameters. The test checks that

* every mini-batch was split between the two ranks: each saw half of its utterances, none twice;
* both ranks end with identical parameters;
* those equal what espnet's DDP step implies: from the common start, one SGD step per mini-batch
  on the weight-averaged gradient sum_r w_r g_r / sum_r w_r of the ranks' halves (w_r: the
  weight the model returns), recomputed here in one process from the recorded batches.

The style extractor's residual VQ keeps EMA codebook statistics in buffers, which espnet's
quantizer sums over the ranks itself (``core_vq``: ``all_reduce`` when torch.distributed is up);
they are not gradient-trained, so the recomputation takes each step's buffers from the record (and
the test config turns off the k-means initialisation and dead-code restarts, which sample across
ranks inside the forward).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

import espnet2_ext  # noqa: F401
from espnet2_ext.tasks.visual_svs import VisualSVSTask
from tests.support.configs import shrunk_config
from tests.support.paths import REPO_ROOT
from tests.support.tiny_dump import data_args, write_tiny_dump

pytestmark = pytest.mark.slow

REPO = REPO_ROOT
LR = 0.05

PROBE = '''
import atexit, os
import torch
import torch.distributed as dist
from espnet2_ext.svs.visual_model import VisualESPnetSVSModel

_out, _orig, _seen = os.environ["DDP_PROBE_DIR"], VisualESPnetSVSModel.forward, {"step": 0, "model": None}


def forward(self, **batch):
    if self.training and torch.is_grad_enabled():
        rank = dist.get_rank() if dist.is_initialized() else 0
        rec = dict(batch={k: (v.clone() if torch.is_tensor(v) else v) for k, v in batch.items()},
                   rng=torch.get_rng_state(), state={k: v.detach().clone() for k, v in self.state_dict().items()})
        torch.save(rec, os.path.join(_out, f"rank{rank}_step{_seen['step']}.pt"))
        _seen.update(step=_seen["step"] + 1, model=(self, rank))
    return _orig(self, **batch)


@atexit.register
def _final():
    if _seen["model"] is not None:
        model, rank = _seen["model"]
        torch.save({k: v.detach().clone() for k, v in model.named_parameters()}, os.path.join(_out, f"rank{rank}_final.pt"))


VisualESPnetSVSModel.forward = forward
'''


def _config(tmp_path: Path) -> Path:
    path = shrunk_config("train_stylesinger.yaml", tmp_path)
    conf = yaml.safe_load(path.read_text())
    conf["svs_conf"]["style_conf"].update(rvq_kmeans_init=False, rvq_dead_code=0)
    conf.update(optim="sgd", optim_conf=dict(lr=LR), scheduler=None, scheduler_conf={}, grad_clip=1.0e9,
                batch_size=2, batch_type="unsorted", max_epoch=1, keep_nbest_models=1, num_workers=0)
    path.write_text(yaml.safe_dump(conf))
    return path


def _reference(exp: Path, probe: Path, steps: int) -> list:
    """Parameters after each of ``steps`` SGD steps on the weight-averaged gradient of the ranks' halves."""
    model, _ = VisualSVSTask.build_model_from_file(exp / "config.yaml", None)
    model.load_state_dict(torch.load(probe / "rank0_step0.pt", weights_only=False)["state"])
    model.train()
    params, after = dict(model.named_parameters()), []
    for step in range(steps):
        recs = [torch.load(probe / f"rank{r}_step{step}.pt", weights_only=False) for r in range(2)]
        grads, weights = [], []
        for rec in recs:
            with torch.no_grad():  # the buffers the step started from (DDP broadcasts rank 0's)
                for k, v in model.named_buffers():
                    if k in recs[0]["state"]:  # (non-persistent buffers are constants)
                        v.copy_(recs[0]["state"][k])
            model.zero_grad()
            torch.set_rng_state(rec["rng"])
            loss, _, weight = model(**rec["batch"])
            loss.backward()
            grads.append({k: (p.grad.clone() if p.grad is not None else torch.zeros_like(p)) for k, p in params.items()})
            weights.append(float(weight))
        with torch.no_grad():
            for k, p in params.items():
                if p.requires_grad:
                    p -= LR * sum(w * g[k] for w, g in zip(weights, grads)) / sum(weights)
        after.append({k: p.detach().clone() for k, p in params.items()})
    return after


def test_two_rank_ddp_on_cpu_splits_batches_and_averages_gradients(tmp_path):
    dump = write_tiny_dump(tmp_path / "dump")
    config, exp, probe = _config(tmp_path), tmp_path / "exp", tmp_path / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(PROBE)
    env = dict(os.environ, OMP_NUM_THREADS="1", DDP_PROBE_DIR=str(probe),
               PYTHONPATH=os.pathsep.join([str(probe), str(REPO), os.environ.get("PYTHONPATH", "")]))
    base = [sys.executable, "-m", "espnet2_ext.bin.visual_svs_train", "--config", str(config),
            "--output_dir", str(exp), "--ngpu", "0", "--seed", "0", "--token_type", "phn",
            "--token_list", str(dump / "tokens.txt"), "--use_preprocessor", "true", "--fs", "22050",
            "--train_shape_file", str(dump / "text"), "--valid_shape_file", str(dump / "text"),
            "--use_tensorboard", "false", "--multiprocessing_distributed", "false", "--dist_backend", "gloo",
            "--dist_world_size", "2", "--dist_init_method", f"file://{tmp_path}/dist_init",
            "--unused_parameters", "true"] + data_args(dump, "train") + data_args(dump, "valid")
    procs = [subprocess.Popen(base + ["--dist_rank", str(r)], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for r in range(2)]
    errs = [p.communicate(timeout=900)[1] for p in procs]
    for r, p in enumerate(procs):
        assert p.returncode == 0, f"rank {r}:\n{errs[r][-3000:]}"
    assert (exp / "1epoch.pth").exists()

    utts = sorted((dump / "text").read_text().split("\n")[i].split()[0] for i in range(4))
    steps = len(list(probe.glob("rank0_step*.pt")))
    assert steps == 2 == len(list(probe.glob("rank1_step*.pt")))  # two mini-batches of 2 utterances
    epoch = []
    for step in range(steps):
        seen = [torch.load(probe / f"rank{r}_step{step}.pt", weights_only=False)["batch"]["utt_id"] for r in range(2)]
        assert len(seen[0]) == len(seen[1]) == 1 and not set(seen[0]) & set(seen[1])  # half of each mini-batch
        epoch += seen[0] + seen[1]
    assert sorted(epoch) == utts  # every utterance once in the epoch

    finals = [torch.load(probe / f"rank{r}_final.pt", weights_only=False) for r in range(2)]
    assert set(finals[0]) == set(finals[1])
    assert all(torch.equal(finals[0][k], finals[1][k]) for k in finals[0]), "the ranks' parameters differ"
    start = torch.load(probe / "rank0_step0.pt", weights_only=False)["state"]
    moved = [k for k in finals[0] if not torch.equal(finals[0][k], start[k])]
    assert moved, "training changed no parameter"
    saved = torch.load(exp / "1epoch.pth", weights_only=True)
    assert all(torch.equal(saved[k], finals[0][k]) for k in finals[0])

    torch.set_num_threads(1)
    ref = _reference(exp, probe, steps)
    expected = [torch.load(probe / f"rank0_step{k}.pt", weights_only=False)["state"] for k in range(1, steps)]
    expected.append(finals[0])
    for step, (got, want) in enumerate(zip(ref, expected)):
        for k in finals[0]:
            # DDP sums the ranks' gradients in another order than the sum here: equal up to float rounding
            assert torch.allclose(want[k], got[k], rtol=1e-4, atol=1e-6), (step, k, (want[k] - got[k]).abs().max())
