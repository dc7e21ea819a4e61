#!/usr/bin/env python3
"""Score the timing alone: phone-duration MAE and boundaries within 40 ms of a trained system's
inference durations on dump sets, without generating mel or audio (seconds instead of minutes),
optionally with other fitted lip-reading heads in place of the model's own.

    local/score_durations.py --exp exp/svs_performsinger [--sets "dev test test_ood"]
    local/score_durations.py --exp exp/svs_performsinger \
        --lip_reader exp/svs_performsinger_seed1/lip_reader/lip_reader.pth:0,1 --lip_reader other.pth

Each --lip_reader FILE[:i,j,...] adds the heads of a file written by espnet2_ext.bin.fit_lip_reader
(all of them, or those listed); together they replace the model's lip_reader and are read as one
(the mean of their posteriors, lip_reading_head.LipReadingHeads). The durations are those of
stage 7 (`PerformSinger.inference(..., durations_only=True)`, the model's duration_source and
prior), scored as stage 8 does (espnet2_ext.metrics.duration). Prints one JSON line:
{set: {dur_mae_frames, boundary_hit_40ms (inner), boundary_hit_40ms_all}}; --per_utt adds a line per utterance.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp", required=True, help="exp dir with config.yaml")
    p.add_argument("--model_file", default="auto",
                   help="checkpoint, relative to --exp (auto: the one stage 7 decodes, valid.<criterion>.ave.pth, "
                        "else valid.<criterion>.best.pth)")
    p.add_argument("--lip_reader", action="append", default=[], metavar="FILE[:i,j]",
                   help="fitted heads to read the lips with instead of the model's (repeatable)")
    p.add_argument("--sets", default="dev test test_ood")
    p.add_argument("--dump", default="dump/raw", help="dump dir holding <set>/{text,label,score.scp,spembs.scp,lip.scp}")
    p.add_argument("--per_utt", action="store_true")
    return p


def build(exp: str, model_file: str):
    """The trained model of ``exp`` (strict load: VisualSVSTask.build_model_from_file), eval mode."""
    from espnet2_ext.tasks.visual_svs import VisualSVSTask

    from espnet2_ext.utils.model_file import resolve_model_file

    path = resolve_model_file(exp, model_file)
    if not os.path.isfile(path):
        sys.exit(f"{path} not found: pass --model_file (e.g. valid.loss.best.pth)")
    model, args = VisualSVSTask.build_model_from_file(os.path.join(exp, "config.yaml"), path, "cpu")
    return model.eval(), args


def replace_heads(svs, specs, token_list) -> None:
    from espnet2_ext.svs.lip_reading_head import LipReadingHeads, read_lip_reader

    states, sizes = [], None
    for spec in specs:
        path, _, pick = spec.partition(":")
        obj = read_lip_reader(path, token_list)
        idx = [int(i) for i in pick.split(",")] if pick else range(len(obj["state_dicts"]))
        states += [obj["state_dicts"][i] for i in idx]
        sizes = sizes or (obj["visual_dim"], len(obj["classes"]), obj["hidden"])
    heads = LipReadingHeads(*sizes, heads=len(states))
    for head, state in zip(heads.heads, states):
        head.load_state_dict(state)
    svs.lip_reader = heads.eval()


def main(argv=None) -> None:
    a = get_parser().parse_args(argv)
    torch.set_num_threads(1)
    from espnet2_ext.metrics.duration import duration_scores, label_to_frames
    from espnet2_ext.tasks.dump_streams import triples
    from espnet2_ext.tasks.visual_svs import VisualSVSTask

    model, args = build(a.exp, a.model_file)
    if a.lip_reader:
        if getattr(model.svs, "lip_reader", None) is None:
            sys.exit(f"{a.exp}: this system has no lip-reading head to replace")
        replace_heads(model.svs, a.lip_reader, args.token_list)
    fs, hop = int(args.feats_extract_conf["fs"]), int(args.feats_extract_conf["hop_length"])
    result = {}
    for s in a.sets.split():
        d = os.path.join(a.dump, s)
        loader = VisualSVSTask.build_streaming_iterator(
            triples(d, "decode"),
            dtype="float32", batch_size=1, key_file=None, num_workers=0,
            preprocess_fn=VisualSVSTask.build_preprocess_fn(args, False),
            collate_fn=VisualSVSTask.build_collate_fn(args, False), allow_variable_data_keys=False, inference=True)
        with open(f"{d}/label", encoding="utf-8") as f:
            labels = {line.split()[0]: line.split()[1:] for line in f if line.strip()}
        scores = []
        for keys, batch in loader:
            lip, lip_lengths = batch.pop("lip"), batch.pop("lip_lengths")
            batch = {k: v[0] for k, v in batch.items() if not k.endswith("_lengths")}
            with torch.no_grad():
                out = model.inference(**batch, lip=lip, lip_lengths=lip_lengths, use_teacher_forcing=False,
                                      durations_only=True)
            sc = duration_scores(out["duration"].numpy(), label_to_frames(labels[keys[0]], fs, hop), fs, hop)
            scores.append(sc)
            if a.per_utt:
                print(json.dumps(dict(set=s, utt=keys[0], **{k: None if v is None else round(float(v), 4)
                                                             for k, v in sc.items()})))
        result[s] = {k: round(float(np.mean([sc[k] for sc in scores if sc[k] is not None])), 3)
                     for k in ("dur_mae_frames", "boundary_hit_40ms", "boundary_hit_40ms_all")}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
