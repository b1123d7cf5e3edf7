#!/usr/bin/env python3
"""Writes Tests/HRMTests/Fixtures/torch/: small checkpoints in the reference's own format, written
by torch.save itself, for the Swift PyTorch-checkpoint reader.

Usage (from the repository root; needs torch (CPU), numpy, safetensors and PyYAML):
    tools/reference/setup-venv            # once: makes tools/reference/.venv
    tools/reference/.venv/bin/python tools/reference/make_torch_checkpoints.py

Each folder holds what a released checkpoint folder holds — `checkpoint` (torch.save of the
state dict, keys `_orig_mod.model.inner.…` as a torch.compile'd model saves them, an OrderedDict
with `_metadata` as `state_dict()` returns) and `all_config.yaml` (yaml.dump of the reference's
PretrainConfig, its `arch` section naming the model class) — plus `expected.safetensors`, the same
tensors made contiguous, written by safetensors (the values the Swift tests compare with):

  hrm/         HRM (D 8, 2 heads, 1 + 1 layers, 2 + 2 cycles, S 16, V 6, 3 puzzle ids), fp32,
               H_init/L_init in bf16 as the reference keeps them; `lm_head.weight` is a transposed
               view and `q_head.weight` a slice at an offset of a larger storage (non-contiguous,
               shared storage); `forward.safetensors`: a batch and the PyTorch forward's logits,
               q_halt and q_continue for 2 evaluation ACT steps (hrm_reference.py);
  hrm-bf16/    the same weights, every tensor bf16;
  hrm-legacy/  the same as hrm/, saved with _use_new_zipfile_serialization=False (no
               expected.safetensors: hrm/'s is its expected file);
  trm-mlp/     TRM with mlp_t (D 8, 1 layer, T 2, n 2, P 4, S 16), fp32, and its forward.safetensors
               (trm_reference.py): seq_len is known only from the mlp_t weights' shapes.

The weights come from make_fixtures.py's integer formula.
"""
import collections
import os
import sys

import numpy as np
import torch
import yaml
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrm_reference as hrm_ref  # noqa: E402
import trm_reference as trm_ref  # noqa: E402
from make_fixtures import make_batch, make_parameters  # noqa: E402

HRM = {
    "batch_size": 4, "seq_len": 16, "puzzle_emb_ndim": 8, "num_puzzle_identifiers": 3,
    "vocab_size": 6, "H_cycles": 2, "L_cycles": 2, "H_layers": 1, "L_layers": 1,
    "hidden_size": 8, "expansion": 4.0, "num_heads": 2, "pos_encodings": "rope",
    "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "halt_max_steps": 3,
    "halt_exploration_prob": 0.0, "loss_type": "stablemax_cross_entropy",
}
TRM = {
    "batch_size": 4, "seq_len": 16, "puzzle_emb_ndim": 8, "num_puzzle_identifiers": 3,
    "vocab_size": 6, "H_cycles": 2, "L_cycles": 2, "H_layers": 0, "L_layers": 1,
    "hidden_size": 8, "expansion": 4.0, "num_heads": 2, "pos_encodings": "none", "mlp_t": True,
    "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "halt_max_steps": 3,
    "halt_exploration_prob": 0.0, "puzzle_emb_len": 4, "no_ACT_continue": True,
    "loss_type": "stablemax_cross_entropy",
}
ARCH_KEYS = {"H_cycles", "L_cycles", "H_layers", "L_layers", "hidden_size", "expansion", "num_heads",
             "pos_encodings", "puzzle_emb_ndim", "halt_max_steps", "halt_exploration_prob", "mlp_t",
             "puzzle_emb_len", "no_ACT_continue"}
PREFIX = "_orig_mod.model.inner."


def all_config(c, name):
    """What pretrain.py dumps: the resolved PretrainConfig (data sizes are not in it)."""
    arch = {k: v for k, v in c.items() if k in ARCH_KEYS}
    arch["name"] = name
    arch["loss"] = {"name": "losses@ACTLossHead", "loss_type": c["loss_type"]}
    if "mlp_t" in c:
        arch["forward_dtype"] = "bfloat16"
    return {
        "arch": arch, "data_path": "data/fixture", "global_batch_size": 768, "epochs": 20000,
        "lr": 7e-05, "lr_min_ratio": 1.0, "lr_warmup_steps": 2000, "weight_decay": 1.0, "beta1": 0.9,
        "beta2": 0.95, "puzzle_emb_lr": 7e-05, "puzzle_emb_weight_decay": 1.0,
        "project_name": "Fixture ACT-torch", "run_name": "fixture", "checkpoint_path": "checkpoints/fixture",
        "seed": 0, "checkpoint_every_eval": True, "eval_interval": 2000, "eval_save_outputs": [],
    }


def state_dict(params, bf16_all=False):
    """An OrderedDict as Module.state_dict() returns it, keys as a compiled model saves them."""
    state = collections.OrderedDict()
    for k, v in params.items():
        if bf16_all or k in ("H_init", "L_init"):
            v = v.to(torch.bfloat16)
        state[PREFIX + k] = v
    state._metadata = collections.OrderedDict([("", {"version": 1})])
    return state


def write(folder, state, config, name, legacy=False, forward=None, expected=True):
    os.makedirs(folder, exist_ok=True)
    torch.save(state, os.path.join(folder, "checkpoint"), _use_new_zipfile_serialization=not legacy)
    with open(os.path.join(folder, "all_config.yaml"), "w") as f:
        yaml.dump(all_config(config, name), f)
    if expected:
        save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(folder, "expected.safetensors"))
    if forward is not None:
        save_file(forward, os.path.join(folder, "forward.safetensors"))


def forward_record(model, c, steps=2):
    batch = make_batch(c, 7)
    b = {k: torch.from_numpy(v) for k, v in batch.items()}
    out = {"inputs": b["inputs"].contiguous(), "puzzle_identifiers": b["puzzle_identifiers"].contiguous()}
    with torch.no_grad():
        carry = model.initial_carry(b)
        for step in range(1, steps + 1):
            carry, logits, q_halt, q_continue = model.act_step(carry, b, training=False)[:4]
            out[f"logits.{step}"] = logits.float().contiguous()
            out[f"q_halt.{step}"] = q_halt.float().contiguous()
            out[f"q_continue.{step}"] = q_continue.float().contiguous()
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = os.path.join(root, "Tests", "HRMTests", "Fixtures", "torch")

    params = make_parameters(HRM)
    # The reference keeps H_init/L_init in bf16: the forward sees their bf16 values.
    for k in ("H_init", "L_init"):
        params[k] = params[k].to(torch.bfloat16).float()
    forward = forward_record(hrm_ref.HRM(HRM, params), HRM)
    viewed = dict(params)
    # Views: lm_head.weight [V, D] as the transpose of a [D, V] tensor; q_head.weight [2, D] as
    # rows 1..2 of a [3, D] storage (offset D).
    viewed["lm_head.weight"] = params["lm_head.weight"].t().contiguous().t()
    wide = torch.cat([torch.full((1, HRM["hidden_size"]), 7.0), params["q_head.weight"]])
    viewed["q_head.weight"] = wide[1:]
    assert not viewed["lm_head.weight"].is_contiguous() and viewed["q_head.weight"].storage_offset() > 0
    name = "hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1"
    write(os.path.join(out, "hrm"), state_dict(viewed), HRM, name, forward=forward)
    write(os.path.join(out, "hrm-bf16"), state_dict(params, bf16_all=True), HRM, name)
    write(os.path.join(out, "hrm-legacy"), state_dict(viewed), HRM, name, legacy=True, expected=False)

    trm_params = make_parameters(TRM, trm_ref.parameter_shapes(TRM))
    for k in ("H_init", "L_init"):
        trm_params[k] = trm_params[k].to(torch.bfloat16).float()
    forward = forward_record(trm_ref.TRM(TRM, trm_params), TRM)
    write(os.path.join(out, "trm-mlp"), state_dict(trm_params), TRM,
          "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1", forward=forward)
    for folder in sorted(os.listdir(out)):
        sizes = {f: os.path.getsize(os.path.join(out, folder, f)) for f in sorted(os.listdir(os.path.join(out, folder)))}
        print(folder, sizes)


if __name__ == "__main__":
    main()
