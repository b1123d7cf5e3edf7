#!/usr/bin/env python3
"""Writes Tests/HRMTests/Fixtures/trm-parity.safetensors: reference values for the TRM parity tests.

Usage (from the repository root; needs torch (CPU), numpy and safetensors):
    tools/reference/setup-venv            # once: makes tools/reference/.venv
    tools/reference/.venv/bin/python tools/reference/make_trm_fixtures.py

For both variants of TRM-SPEC §19.2 — "att" (Tiny-A: self-attention + RoPE) and "mlp" (Tiny-B:
mlp_t, no positions) — with V 6, S 16, D 32, 2 heads, P 4, T 2, n 3, 2 layers, halt_max_steps 4,
exploration off, batch 4 and 3 puzzle ids, with the weights of make_fixtures.py's integer formula
(mirrored in the Swift test), it records under the prefix `<variant>.`:
  - eval.{logits,q_halt,q_continue}.{1,2,3}: three evaluation ACT steps on one batch;
  - train.{total,lm,q_halt}: the losses of one training ACT step from a fresh carry;
  - grad.<name>: every trainable parameter's gradient after backward of total / batch, and
    grad.puzzle_emb.local (the sparse embedding's scratch rows);
  - updated.<name>: a subset of parameters (both optimizers and the EMA are elementwise) after one
    AdamATan2 step (lr 1e-3, wd 0.1) and one SignSGD step (lr 1e-2, wd 0.1);
  - ema.<name>: the EMA shadow (rate 0.999) of that subset after that step;
  - trajectory.{total,lm}: ten training steps (fresh batch each step, carry kept, warm-up 3);
and once, batch.<k>.{inputs,labels,puzzle_identifiers} (k = eval, 0…9).
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrm_reference as hrm  # noqa: E402
import trm_reference as ref  # noqa: E402
from make_fixtures import make_batch, make_parameters, to_torch  # noqa: E402

BASE = {
    "architecture": "trm", "batch_size": 4, "seq_len": 16, "puzzle_emb_ndim": 32,
    "num_puzzle_identifiers": 3, "vocab_size": 6, "H_cycles": 2, "L_cycles": 3, "H_layers": 0,
    "L_layers": 2, "hidden_size": 32, "expansion": 4.0, "num_heads": 2, "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0, "halt_max_steps": 4, "halt_exploration_prob": 0.0,
    "puzzle_emb_len": 4, "no_ACT_continue": True, "loss_type": "stablemax_cross_entropy",
}
VARIANTS = {
    "att": dict(BASE, pos_encodings="rope", mlp_t=False),
    "mlp": dict(BASE, pos_encodings="none", mlp_t=True),
}
BUFFERS = {"H_init", "L_init", "puzzle_emb.weights"}


def act_loss(carry, logits, q_halt):
    """§8: stablemax LM loss + 0.5 * halt BCE (no continue target with no_ACT_continue)."""
    total, lm, q_h, _ = hrm.act_loss(carry, logits, q_halt, None, None)
    return total, lm, q_h


def record(c, batches, out, prefix):
    shapes = ref.parameter_shapes(c)
    params = make_parameters(c, shapes)
    model = ref.TRM(c, params)
    with torch.no_grad():
        batch = to_torch(batches["eval"])
        carry = model.initial_carry(batch)
        for step in range(1, 4):
            carry, logits, q_halt, q_continue = model.act_step(carry, batch, training=False)
            out[f"{prefix}eval.logits.{step}"] = logits.numpy()
            out[f"{prefix}eval.q_halt.{step}"] = q_halt.numpy()
            out[f"{prefix}eval.q_continue.{step}"] = q_continue.numpy()

    trainable = {k: v.requires_grad_(True) for k, v in params.items() if k not in BUFFERS}
    ema = ref.EMA(trainable)
    batch = to_torch(batches["0"])
    carry = model.initial_carry(batch)
    carry, logits, q_halt, _ = model.act_step(carry, batch, training=True)
    total, lm, q_h = act_loss(carry, logits, q_halt)
    (total / c["batch_size"]).backward()
    out[f"{prefix}train.total"] = np.array([total.item()], dtype=np.float32)
    out[f"{prefix}train.lm"] = np.array([lm.item()], dtype=np.float32)
    out[f"{prefix}train.q_halt"] = np.array([q_h.item()], dtype=np.float32)
    for name, p in trainable.items():
        out[f"{prefix}grad.{name}"] = p.grad.numpy().copy()
    out[f"{prefix}grad.puzzle_emb.local"] = model.local_weights.grad.numpy().copy()
    hrm.AdamATan2(trainable, lr=1e-3, weight_decay=0.1).step()
    hrm.sign_sgd(params["puzzle_emb.weights"], model.local_weights.grad, model.local_ids,
                 lr=1e-2, weight_decay=0.1)
    ema.update(trainable)
    # The optimizers and the EMA are elementwise: a subset of tensors covers them.
    mixer = "mlp_t.gate_up_proj" if c["mlp_t"] else "self_attn.qkv_proj"
    subset = ["embed_tokens.embedding_weight", "lm_head.weight", "q_head.weight", "q_head.bias",
              f"L_level.layers.1.{mixer}.weight"]
    for name in subset + ["puzzle_emb.weights"]:
        out[f"{prefix}updated.{name}"] = params[name].detach().numpy().copy()
    for name in subset:
        out[f"{prefix}ema.{name}"] = ema.shadow[name].numpy().copy()

    params = make_parameters(c, shapes)
    model = ref.TRM(c, params)
    trainable = {k: v.requires_grad_(True) for k, v in params.items() if k not in BUFFERS}
    adam = hrm.AdamATan2(trainable, lr=0.0, weight_decay=0.1)
    carry, totals, lms = None, [], []
    for step in range(1, 11):
        batch = to_torch(batches[str(step - 1)])
        carry = carry or model.initial_carry(batch)
        carry, logits, q_halt, _ = model.act_step(carry, batch, training=True)
        total, lm, _ = act_loss(carry, logits, q_halt)
        (total / c["batch_size"]).backward()
        adam.lr = hrm.schedule(step, 3e-3, 3, 10, 0.1)
        hrm.sign_sgd(params["puzzle_emb.weights"], model.local_weights.grad, model.local_ids,
                     lr=hrm.schedule(step, 1e-2, 3, 10, 0.1), weight_decay=0.1)
        adam.step()
        for p in trainable.values():
            p.grad = None
        totals.append(total.item())
        lms.append(lm.item())
    out[f"{prefix}trajectory.total"] = np.array(totals, dtype=np.float32)
    out[f"{prefix}trajectory.lm"] = np.array(lms, dtype=np.float32)
    return ref.parameter_count(c)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    out = {}
    c0 = VARIANTS["att"]
    batches = {"eval": make_batch(c0, 100)} | {str(k): make_batch(c0, k) for k in range(10)}
    for key, b in batches.items():
        for field, values in b.items():
            out[f"batch.{key}.{field}"] = values
    meta = {"torch": torch.__version__, "made_by": "tools/reference/make_trm_fixtures.py"}
    for name, c in VARIANTS.items():
        count = record(c, batches, out, f"{name}.")
        meta[f"config.{name}"] = json.dumps(c, sort_keys=True)
        meta[f"parameters.{name}"] = str(count)
        print(f"{name}: {count} trainable parameters")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "Tests", "HRMTests", "Fixtures", "trm-parity.safetensors")
    save_file({k: np.ascontiguousarray(v) for k, v in out.items()}, path, metadata=meta)
    print(f"wrote {path} ({os.path.getsize(path) // 1024} KB, {len(out)} tensors)")


if __name__ == "__main__":
    main()
