#!/usr/bin/env python3
"""Writes Tests/HRMTests/Fixtures/parity.safetensors: reference values for the Swift parity tests.

Usage (from the repository root; needs torch (CPU), numpy and safetensors):
    tools/reference/setup-venv            # once: makes tools/reference/.venv
    tools/reference/.venv/bin/python tools/reference/make_fixtures.py

What it records, for a tiny configuration (D=32, 2 heads, 2+2 layers, 2+2 cycles, 16 tokens +
1 puzzle slot, vocabulary 11, 3 puzzle ids, halt_max_steps 3, exploration off, batch 4), with
weights from a fixed integer formula (`weight_value`, mirrored in the Swift test) so no weights
need storing:
  - eval.{logits,q_halt,q_continue}.{1,2,3}: three evaluation ACT steps on one batch;
  - train.{total,lm,q_halt,q_continue}: the losses of one training ACT step from a fresh carry;
  - grad.<name>: every trainable parameter's gradient after backward of total / batch,
    and grad.puzzle_emb.local: the gradient of the sparse embedding's scratch rows;
  - updated.<name>: a subset of parameters after one AdamATan2 step (lr 1e-3, wd 0.1) and one
    SignSGD step (lr 1e-2, wd 0.1) — the optimizer is elementwise, so a subset covers it;
  - trajectory.{total,lm}: ten training steps (fresh batch each step, carry kept, warm-up 3);
  - batch.<k>.{inputs,labels,puzzle_identifiers}: the batches used (k = eval, 0…9).
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.numpy import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrm_reference as ref  # noqa: E402

CONFIG = {
    "batch_size": 4, "seq_len": 16, "puzzle_emb_ndim": 32, "num_puzzle_identifiers": 3,
    "vocab_size": 11, "H_cycles": 2, "L_cycles": 2, "H_layers": 2, "L_layers": 2,
    "hidden_size": 32, "expansion": 4.0, "num_heads": 2, "pos_encodings": "rope",
    "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "halt_max_steps": 3,
    "halt_exploration_prob": 0.0, "loss_type": "stablemax_cross_entropy",
}


def weight_value(tensor_index, i, scale):
    """The fixture weights: an integer hash of (tensor, element) mapped to [-scale, scale)."""
    u = ((i * 2654435761 + (tensor_index + 1) * 40503) % 4294967296) / 4294967296.0
    return np.float32(scale * (2.0 * u - 1.0))


def parameter_shapes(c):
    D, V, F = c["hidden_size"], c["vocab_size"], ref.swiglu_width(c["hidden_size"], c["expansion"])
    shapes = {
        "H_init": [D], "L_init": [D], "embed_tokens.embedding_weight": [V, D],
        "lm_head.weight": [V, D], "q_head.weight": [2, D], "q_head.bias": [2],
        "puzzle_emb.weights": [c["num_puzzle_identifiers"], c["puzzle_emb_ndim"]],
    }
    for level, layers in (("H_level", c["H_layers"]), ("L_level", c["L_layers"])):
        for i in range(layers):
            p = f"{level}.layers.{i}."
            shapes[p + "self_attn.qkv_proj.weight"] = [3 * D, D]
            shapes[p + "self_attn.o_proj.weight"] = [D, D]
            shapes[p + "mlp.gate_up_proj.weight"] = [2 * F, D]
            shapes[p + "mlp.down_proj.weight"] = [D, F]
    return shapes


def scale_for(name, shape):
    if name in ("H_init", "L_init"):
        return 1.0
    if name == "q_head.weight":
        return 0.05
    if name == "q_head.bias":
        return 0.5
    if name == "puzzle_emb.weights":
        return 0.5
    return 1.0 / np.sqrt(shape[-1])


def make_parameters(c, shapes=None):
    params = {}
    for index, (name, shape) in enumerate(sorted((shapes or parameter_shapes(c)).items())):
        n = int(np.prod(shape))
        values = np.array([weight_value(index, i, scale_for(name, shape)) for i in range(n)],
                          dtype=np.float32).reshape(shape)
        params[name] = torch.from_numpy(values)
    return params


def make_batch(c, seed):
    g = np.random.default_rng(seed)
    B, S = c["batch_size"], c["seq_len"]
    inputs = g.integers(1, c["vocab_size"], size=(B, S)).astype(np.int32)
    labels = g.integers(1, c["vocab_size"], size=(B, S)).astype(np.int32)
    labels[g.random((B, S)) < 0.25] = -100          # some unsupervised cells
    labels[0, :] = inputs[0, :]                      # one row the model may get right
    ids = np.array([0, 2, 2, 1], dtype=np.int32)     # a repeated id: SignSGD must sum them
    return {"inputs": inputs, "labels": labels, "puzzle_identifiers": ids}


def to_torch(batch):
    return {k: torch.from_numpy(v) for k, v in batch.items()}


TRAINABLE_EXCLUDED = {"H_init", "L_init", "puzzle_emb.weights"}


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    c = CONFIG
    out = {}
    batches = {"eval": make_batch(c, 100)} | {str(k): make_batch(c, k) for k in range(10)}
    for key, b in batches.items():
        for field, values in b.items():
            out[f"batch.{key}.{field}"] = values

    # Three evaluation ACT steps.
    params = make_parameters(c)
    model = ref.HRM(c, params)
    with torch.no_grad():
        batch = to_torch(batches["eval"])
        carry = model.initial_carry(batch)
        for step in range(1, 4):
            carry, logits, q_halt, q_continue, _ = model.act_step(carry, batch, training=False)
            out[f"eval.logits.{step}"] = logits.numpy()
            out[f"eval.q_halt.{step}"] = q_halt.numpy()
            out[f"eval.q_continue.{step}"] = q_continue.numpy()

    # One training ACT step: losses and every gradient.
    trainable = {k: v.requires_grad_(True) for k, v in params.items() if k not in TRAINABLE_EXCLUDED}
    batch = to_torch(batches["0"])
    carry = model.initial_carry(batch)
    carry, logits, q_halt, q_continue, target = model.act_step(carry, batch, training=True)
    total, lm, q_h, q_c = ref.act_loss(carry, logits, q_halt, q_continue, target)
    (total / c["batch_size"]).backward()
    out["train.total"] = np.array([total.item()], dtype=np.float32)
    out["train.lm"] = np.array([lm.item()], dtype=np.float32)
    out["train.q_halt"] = np.array([q_h.item()], dtype=np.float32)
    out["train.q_continue"] = np.array([q_c.item()], dtype=np.float32)
    out["train.target_q_continue"] = target.numpy()
    for name, p in trainable.items():
        out[f"grad.{name}"] = p.grad.numpy().copy()
    out["grad.puzzle_emb.local"] = model.local_weights.grad.numpy().copy()

    adam = ref.AdamATan2(trainable, lr=1e-3, weight_decay=0.1)
    adam.step()
    ref.sign_sgd(params["puzzle_emb.weights"], model.local_weights.grad, model.local_ids,
                 lr=1e-2, weight_decay=0.1)
    for name in ("embed_tokens.embedding_weight", "lm_head.weight", "q_head.weight", "q_head.bias",
                 "puzzle_emb.weights", "L_level.layers.0.self_attn.qkv_proj.weight"):
        out[f"updated.{name}"] = params[name].detach().numpy().copy()

    # Ten training steps from fresh parameters: the loss trajectory.
    params = make_parameters(c)
    model = ref.HRM(c, params)
    trainable = {k: v.requires_grad_(True) for k, v in params.items() if k not in TRAINABLE_EXCLUDED}
    adam = ref.AdamATan2(trainable, lr=0.0, weight_decay=0.1)
    carry = None
    totals, lms = [], []
    for step in range(1, 11):
        batch = to_torch(batches[str(step - 1)])
        carry = carry or model.initial_carry(batch)
        carry, logits, q_halt, q_continue, target = model.act_step(carry, batch, training=True)
        total, lm, _, _ = ref.act_loss(carry, logits, q_halt, q_continue, target)
        (total / c["batch_size"]).backward()
        adam.lr = ref.schedule(step, 3e-3, 3, 10, 0.1)
        ref.sign_sgd(params["puzzle_emb.weights"], model.local_weights.grad, model.local_ids,
                     lr=ref.schedule(step, 1e-2, 3, 10, 0.1), weight_decay=0.1)
        adam.step()
        for p in trainable.values():
            p.grad = None
        totals.append(total.item())
        lms.append(lm.item())
    out["trajectory.total"] = np.array(totals, dtype=np.float32)
    out["trajectory.lm"] = np.array(lms, dtype=np.float32)

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "Tests", "HRMTests", "Fixtures", "parity.safetensors")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    meta = {"config": json.dumps(c, sort_keys=True), "torch": torch.__version__,
            "made_by": "tools/reference/make_fixtures.py"}
    save_file({k: np.ascontiguousarray(v) for k, v in out.items()}, path, metadata=meta)
    print(f"wrote {path} ({os.path.getsize(path) // 1024} KB, {len(out)} tensors)")


if __name__ == "__main__":
    main()
