#!/usr/bin/env python3
"""Times the HRM reference's own code (a checkout of sapientinc/HRM) on a CPU, the way
`hrm bench model` times swift-hrm and bench_torch.py times our spec implementation.

The checkout is imported as it is, never modified and never copied into this repository:
  * flash-attention (CUDA only) is replaced by a stand-in module, put into sys.modules under both
    names the reference tries (`flash_attn_interface`, `flash_attn`) before the import: its
    `flash_attn_func(q, k, v, causal)` moves [B, S, H, D] to [B, H, S, D], calls PyTorch's
    `scaled_dot_product_attention` and moves the result back (contiguous);
  * the model is `models/hrm/hrm_act_v1.py`'s HierarchicalReasoningModel_ACTV1 under
    `models/losses.py`'s ACTLossHead (stablemax cross-entropy), built from
    `config/arch/hrm_v1.yaml`'s numbers with Sudoku metadata (seq_len 81, vocab 11, one puzzle id)
    and `forward_dtype` float32 or bfloat16 (the reference's own mixed precision: its CastedLinear
    casts the weights on every call);
  * a training step is `pretrain.train_batch` without the `.cuda()` calls: the ACT step with its
    loss head, `(loss / global_batch_size).backward()`, the reference's
    CastedSparseEmbeddingSignSGD_Distributed for the puzzle embedding, and for the other weights
    `torch.optim.Adam(betas=(0.9, 0.95), decoupled weight decay)` in place of AdamATan2, whose
    extension is CUDA-only (`../shared/notes/PYTORCH-CPU-BASELINE.md`);
  * an evaluation is `pretrain.evaluate`'s loop: inference mode, ACT steps until every sequence
    halted (16 steps).
Eager mode (their torch.compile is CUDA-oriented and not used on a CPU here).

Prints one JSON object: mode, preset, precision, batch, samples_per_second, seconds, torch,
reference (the checkout's commit when it is a git checkout).

Usage: bench_reference.py --reference DIR --mode train|eval --batch N [--repeat K] [--threads 2]
                          [--precision fp32|bf16]
"""
import argparse
import json
import os
import subprocess
import sys
import time
import types

import torch
import torch.nn.functional as F


def flash_attention_stand_in():
    """A module with flash-attn's `flash_attn_func`, computed by PyTorch's SDPA."""
    def flash_attn_func(q, k, v, causal=False, **_):
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=causal)
        return out.transpose(1, 2).contiguous()
    module = types.ModuleType("flash_attn_interface")
    module.flash_attn_func = flash_attn_func
    return module


def self_test(flash_attn_func):
    """The stand-in against explicit softmax attention (fails loudly, never silently)."""
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 5, 3, 8, generator=g) for _ in range(3))
    scores = torch.einsum("bshd,bthd->bhst", q, k) / 8 ** 0.5
    expected = torch.einsum("bhst,bthd->bshd", scores.softmax(-1), v)
    error = (flash_attn_func(q, k, v, causal=False) - expected).abs().max().item()
    if error > 1e-5:
        sys.exit(f"the flash-attention stand-in is off by {error}")


def main():
    a = argparse.ArgumentParser()
    a.add_argument("--reference", required=True, help="a checkout of sapientinc/HRM")
    a.add_argument("--mode", choices=["train", "eval"], default="train")
    a.add_argument("--batch", type=int, default=1)
    a.add_argument("--repeat", type=int, default=3)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    a.add_argument("--preset", choices=["sudoku"], default="sudoku",
                   help="only the HRM Sudoku preset: the checkout holds HRM, not TRM")
    args = a.parse_args()
    root = os.path.abspath(args.reference)
    model_file = os.path.join(root, "models", "hrm", "hrm_act_v1.py")
    if not os.path.isfile(model_file):
        sys.exit(f"{root} is not a checkout of sapientinc/HRM: {model_file} is missing")

    stand_in = flash_attention_stand_in()
    self_test(stand_in.flash_attn_func)
    sys.modules["flash_attn_interface"] = stand_in
    sys.modules["flash_attn"] = stand_in
    sys.path.insert(0, root)
    from models.hrm.hrm_act_v1 import HierarchicalReasoningModel_ACTV1  # noqa: E402
    from models.losses import ACTLossHead  # noqa: E402
    from models.sparse_embedding import CastedSparseEmbeddingSignSGD_Distributed  # noqa: E402

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    B, S, V = args.batch, 81, 11
    # config/arch/hrm_v1.yaml with the Sudoku dataset's metadata, as pretrain.create_model builds it.
    config = {"batch_size": B, "seq_len": S, "vocab_size": V, "num_puzzle_identifiers": 1, "causal": False,
              "H_cycles": 2, "L_cycles": 2, "H_layers": 4, "L_layers": 4, "hidden_size": 512, "expansion": 4,
              "num_heads": 8, "pos_encodings": "rope", "puzzle_emb_ndim": 512,
              "halt_max_steps": 16, "halt_exploration_prob": 0.1,
              "forward_dtype": "bfloat16" if args.precision == "bf16" else "float32"}
    model = ACTLossHead(HierarchicalReasoningModel_ACTV1(config), loss_type="stablemax_cross_entropy")
    g = torch.Generator().manual_seed(1)
    batch = {"inputs": torch.randint(1, V, (B, S), dtype=torch.int32, generator=g),
             "labels": torch.randint(1, V, (B, S), dtype=torch.int32, generator=g),
             "puzzle_identifiers": torch.zeros(B, dtype=torch.int32)}
    times = []
    if args.mode == "train":
        model.train()
        optimizers = [
            CastedSparseEmbeddingSignSGD_Distributed(model.model.puzzle_emb.buffers(), lr=1e-2, weight_decay=0.1, world_size=1),
            torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=1.0, decoupled_weight_decay=True),
        ]
        carry = model.initial_carry(batch)
        warm = 2
        for k in range(args.repeat + warm):
            start = time.perf_counter()
            carry, loss, _, _, _ = model(carry=carry, batch=batch, return_keys=[])
            ((1 / B) * loss).backward()
            for optimizer in optimizers:
                optimizer.step()
                optimizer.zero_grad()
            if k >= warm:
                times.append(time.perf_counter() - start)
    else:
        model.eval()
        with torch.inference_mode():
            for k in range(args.repeat + 1):
                start = time.perf_counter()
                carry = model.initial_carry(batch)
                steps = 0
                while True:
                    carry, _, _, _, all_finish = model(carry=carry, batch=batch, return_keys=[])
                    steps += 1
                    if all_finish:
                        break
                if steps != config["halt_max_steps"]:
                    sys.exit(f"the reference's evaluation ran {steps} ACT steps, expected {config['halt_max_steps']}")
                if k >= 1:
                    times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "not a git checkout"
    print(json.dumps({"mode": args.mode, "preset": args.preset, "precision": args.precision, "batch": B,
                      "seconds": median, "samples_per_second": B / median, "torch": torch.__version__,
                      "reference": commit, "implementation": "sapientinc/HRM"}))


if __name__ == "__main__":
    main()
