#!/usr/bin/env python3
"""Times HRM or TRM in PyTorch (CPU) the way `hrm bench model` times swift-hrm.

Uses hrm_reference.py / trm_reference.py (our PyTorch implementations of the specs; the
references' own models run the same mathematics) with the paper's Sudoku preset by default;
--preset trm-sudoku (TRM-MLP, T 3, n 6) or trm-sudoku-att (attention + RoPE) times TRM, whose
training step includes the EMA update as the reference's does. Prints one JSON object per
configuration: mode, preset, precision, batch, samples_per_second, seconds.

--precision bf16 runs the model's forward under torch.autocast(cpu, bfloat16): matrix products
in bf16 with fp32 accumulation, fp32 master weights, optimizer and losses; the same semantics as
`hrm bench model --precision bf16`.

Usage: bench_torch.py --mode train|eval --batch N [--repeat K] [--threads 2] [--precision fp32|bf16]
                      [--preset sudoku|trm-sudoku|trm-sudoku-att|trm-sudoku-small]
"""
import contextlib
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrm_reference as ref  # noqa: E402
import trm_reference  # noqa: E402

SUDOKU = {"batch_size": 1, "seq_len": 81, "puzzle_emb_ndim": 512, "num_puzzle_identifiers": 1, "vocab_size": 11,
          "H_cycles": 2, "L_cycles": 2, "H_layers": 4, "L_layers": 4, "hidden_size": 512, "expansion": 4.0,
          "num_heads": 8, "pos_encodings": "rope", "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
          "halt_max_steps": 16, "halt_exploration_prob": 0.0}
TRM_SUDOKU = {"batch_size": 1, "seq_len": 81, "puzzle_emb_ndim": 512, "num_puzzle_identifiers": 1, "vocab_size": 11,
              "H_cycles": 3, "L_cycles": 6, "L_layers": 2, "hidden_size": 512, "expansion": 4.0, "num_heads": 8,
              "pos_encodings": "none", "mlp_t": True, "puzzle_emb_len": 16, "rms_norm_eps": 1e-5,
              "rope_theta": 10000.0, "halt_max_steps": 16, "halt_exploration_prob": 0.0}
PRESETS = {"sudoku": SUDOKU, "trm-sudoku": TRM_SUDOKU,
           "trm-sudoku-att": dict(TRM_SUDOKU, pos_encodings="rope", mlp_t=False),
           # the shipped models/sudoku-9x9-trm's shape (hrm bench model --preset trm-sudoku-small)
           "trm-sudoku-small": dict(TRM_SUDOKU, hidden_size=64, puzzle_emb_ndim=64, num_heads=2, H_cycles=2,
                                    L_cycles=3, puzzle_emb_len=4, rope_theta=314.0)}
BUFFERS = ("H_init", "L_init", "puzzle_emb.weights")


def trm_parameters(c):
    g = torch.Generator().manual_seed(0)
    p = {}
    for name, shape in trm_reference.parameter_shapes(c).items():
        if name in ("H_init", "L_init"):
            p[name] = torch.randn(*shape, generator=g)
        elif name == "q_head.weight" or name == "puzzle_emb.weights":
            p[name] = torch.zeros(*shape)
        elif name == "q_head.bias":
            p[name] = torch.full(tuple(shape), -5.0)
        else:
            p[name] = torch.randn(*shape, generator=g) / math.sqrt(shape[-1])
    return p


def parameters(c):
    D, V, F = c["hidden_size"], c["vocab_size"], ref.swiglu_width(c["hidden_size"], c["expansion"])
    g = torch.Generator().manual_seed(0)
    p = {"H_init": torch.randn(D, generator=g), "L_init": torch.randn(D, generator=g),
         "embed_tokens.embedding_weight": torch.randn(V, D, generator=g) / math.sqrt(D),
         "lm_head.weight": torch.randn(V, D, generator=g) / math.sqrt(D),
         "q_head.weight": torch.zeros(2, D), "q_head.bias": torch.full((2,), -5.0),
         "puzzle_emb.weights": torch.zeros(c["num_puzzle_identifiers"], c["puzzle_emb_ndim"])}
    for level, n in (("H_level", c["H_layers"]), ("L_level", c["L_layers"])):
        for i in range(n):
            pre = f"{level}.layers.{i}."
            p[pre + "self_attn.qkv_proj.weight"] = torch.randn(3 * D, D, generator=g) / math.sqrt(D)
            p[pre + "self_attn.o_proj.weight"] = torch.randn(D, D, generator=g) / math.sqrt(D)
            p[pre + "mlp.gate_up_proj.weight"] = torch.randn(2 * F, D, generator=g) / math.sqrt(D)
            p[pre + "mlp.down_proj.weight"] = torch.randn(D, F, generator=g) / math.sqrt(F)
    return p


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--mode", choices=["train", "eval"], default="train")
    a.add_argument("--batch", type=int, default=1)
    a.add_argument("--repeat", type=int, default=3)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    a.add_argument("--preset", choices=sorted(PRESETS), default="sudoku")
    args = a.parse_args()

    def precision():
        if args.precision == "bf16":
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    torch.set_num_threads(args.threads)
    c = dict(PRESETS[args.preset])
    is_trm = args.preset.startswith("trm")
    params = trm_parameters(c) if is_trm else parameters(c)
    model = trm_reference.TRM(c, params) if is_trm else ref.HRM(c, params)
    B, S = args.batch, c["seq_len"]
    batch = {"inputs": torch.randint(1, c["vocab_size"], (B, S), dtype=torch.int32),
             "labels": torch.randint(1, c["vocab_size"], (B, S), dtype=torch.int32),
             "puzzle_identifiers": torch.zeros(B, dtype=torch.int32)}
    times = []
    if args.mode == "train":
        trainable = {k: v.requires_grad_(True) for k, v in params.items() if k not in BUFFERS}
        adam = ref.AdamATan2(trainable, lr=1e-4, weight_decay=1.0)
        ema = trm_reference.EMA(trainable) if is_trm else None
        carry = model.initial_carry(batch)
        for k in range(args.repeat + 2):
            start = time.perf_counter()
            with precision():
                out = model.act_step(carry, batch, training=True)
                carry, logits, q_halt, q_continue = out[:4]
                target = out[4] if len(out) > 4 else None
            total, _, _, _ = ref.act_loss(carry, logits.float(), q_halt.float(), q_continue.float(),
                                          target if target is None else target.float())
            (total / B).backward()
            ref.sign_sgd(params["puzzle_emb.weights"], model.local_weights.grad, model.local_ids, 1e-4, 1.0)
            adam.step()
            for p in trainable.values():
                p.grad = None
            if ema is not None:
                ema.update(trainable)
            if k >= 2:
                times.append(time.perf_counter() - start)
    else:
        with torch.no_grad(), precision():
            for k in range(args.repeat + 1):
                carry = model.initial_carry(batch)
                start = time.perf_counter()
                for _ in range(c["halt_max_steps"]):
                    carry, *_ = model.act_step(carry, batch, training=False)
                if k >= 1:
                    times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"mode": args.mode, "preset": args.preset, "precision": args.precision, "batch": B,
                      "seconds": median, "samples_per_second": B / median, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
