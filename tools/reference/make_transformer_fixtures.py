#!/usr/bin/env python3
"""Writes Tests/HRMTests/Fixtures/transformer-parity.safetensors: reference values for the
Transformer baseline's parity tests.

Usage (from the repository root; needs torch (CPU), numpy and safetensors):
    tools/reference/setup-venv            # once: makes tools/reference/.venv
    tools/reference/.venv/bin/python tools/reference/make_transformer_fixtures.py

For a tiny baseline (V 11, S 16, D 32, 2 heads, 2 layers, 1 puzzle slot, halt_max_steps 3,
exploration off, batch 4, 3 puzzle ids), with the weights of make_fixtures.py's integer formula
(mirrored in the Swift test), it records:
  - eval.{logits,q_halt,q_continue}.{1,2,3}: three evaluation ACT steps on one batch;
  - train.{total,lm,q_halt}: the losses of one training ACT step from a fresh carry;
  - grad.<name> for the heads, the token embedding and two block weights, grad.puzzle_emb.local,
    and gradsum.<name> = (sum, sum of squares) of every trainable gradient (a few KB in all);
  - trajectory.{total,lm}: ten training steps (fresh batch each step, carry kept, warm-up 3);
and batch.<k>.{inputs,labels,puzzle_identifiers} (k = eval, 0…9).
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrm_reference as hrm  # noqa: E402
import transformer_reference as ref  # noqa: E402
from make_fixtures import make_batch, make_parameters, to_torch  # noqa: E402

CONFIG = {
    "architecture": "transformer", "batch_size": 4, "seq_len": 16, "puzzle_emb_ndim": 32,
    "num_puzzle_identifiers": 3, "vocab_size": 11, "H_cycles": 1, "H_layers": 2, "hidden_size": 32,
    "expansion": 4.0, "num_heads": 2, "pos_encodings": "rope", "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0, "halt_max_steps": 3, "halt_exploration_prob": 0.0,
    "loss_type": "stablemax_cross_entropy",
}
BUFFERS = {"H_init", "puzzle_emb.weights"}
FULL_GRADIENTS = ["embed_tokens.embedding_weight", "lm_head.weight", "q_head.weight", "q_head.bias",
                  "H_level.layers.0.self_attn.qkv_proj.weight", "H_level.layers.1.self_attn.o_proj.weight"]


def loss(carry, logits, q_halt):
    total, lm, q_h, _ = hrm.act_loss(carry, logits, q_halt, None, None)
    return total, lm, q_h


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    c = CONFIG
    shapes = ref.parameter_shapes(c)
    out = {}
    batches = {"eval": make_batch(c, 100)} | {str(k): make_batch(c, k) for k in range(10)}
    for key, b in batches.items():
        for field, values in b.items():
            out[f"batch.{key}.{field}"] = values

    params = make_parameters(c, shapes)
    model = ref.TransformerBaseline(c, params)
    with torch.no_grad():
        batch = to_torch(batches["eval"])
        carry = model.initial_carry(batch)
        for step in range(1, 4):
            carry, logits, q_halt, q_continue = model.act_step(carry, batch, training=False)
            out[f"eval.logits.{step}"] = logits.numpy()
            out[f"eval.q_halt.{step}"] = q_halt.numpy()
            out[f"eval.q_continue.{step}"] = q_continue.numpy()

    trainable = {k: v.requires_grad_(True) for k, v in params.items() if k not in BUFFERS}
    batch = to_torch(batches["0"])
    carry = model.initial_carry(batch)
    carry, logits, q_halt, _ = model.act_step(carry, batch, training=True)
    total, lm, q_h = loss(carry, logits, q_halt)
    (total / c["batch_size"]).backward()
    out["train.total"] = np.array([total.item()], dtype=np.float32)
    out["train.lm"] = np.array([lm.item()], dtype=np.float32)
    out["train.q_halt"] = np.array([q_h.item()], dtype=np.float32)
    for name, p in trainable.items():
        g = p.grad.to(torch.float64)
        out[f"gradsum.{name}"] = np.array([g.sum().item(), g.square().sum().item()], dtype=np.float32)
        if name in FULL_GRADIENTS:
            out[f"grad.{name}"] = p.grad.numpy().copy()
    out["grad.puzzle_emb.local"] = model.local_weights.grad.numpy().copy()

    params = make_parameters(c, shapes)
    model = ref.TransformerBaseline(c, params)
    trainable = {k: v.requires_grad_(True) for k, v in params.items() if k not in BUFFERS}
    adam = hrm.AdamATan2(trainable, lr=0.0, weight_decay=0.1)
    carry, totals, lms = None, [], []
    for step in range(1, 11):
        batch = to_torch(batches[str(step - 1)])
        carry = carry or model.initial_carry(batch)
        carry, logits, q_halt, _ = model.act_step(carry, batch, training=True)
        total, lm, _ = loss(carry, logits, q_halt)
        (total / c["batch_size"]).backward()
        adam.lr = hrm.schedule(step, 3e-3, 3, 10, 0.1)
        hrm.sign_sgd(params["puzzle_emb.weights"], model.local_weights.grad, model.local_ids,
                     lr=hrm.schedule(step, 1e-2, 3, 10, 0.1), weight_decay=0.1)
        adam.step()
        for p in trainable.values():
            p.grad = None
        totals.append(total.item())
        lms.append(lm.item())
    out["trajectory.total"] = np.array(totals, dtype=np.float32)
    out["trajectory.lm"] = np.array(lms, dtype=np.float32)

    count = sum(int(np.prod(s)) for k, s in shapes.items() if k not in BUFFERS)
    meta = {"torch": torch.__version__, "made_by": "tools/reference/make_transformer_fixtures.py",
            "config": json.dumps(c, sort_keys=True), "parameters": str(count)}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "Tests", "HRMTests", "Fixtures", "transformer-parity.safetensors")
    save_file({k: np.ascontiguousarray(v) for k, v in out.items()}, path, metadata=meta)
    print(f"{count} trainable parameters; wrote {path} ({os.path.getsize(path) // 1024} KB, {len(out)} tensors)")


if __name__ == "__main__":
    main()
