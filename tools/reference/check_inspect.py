#!/usr/bin/env python3
"""End-to-end check of `hrm inspect forward` on a checkpoint converted from PyTorch.

Builds the fixture model of make_fixtures.py as a PyTorch state dict with the keys a compiled
reference model saves (`_orig_mod.model.inner.…`), converts it the documented way
(`safetensors.torch.save_file`), writes the configuration JSON and an inputs .npy, runs
`hrm inspect forward --steps 3`, and compares every step's logits and Q values with this
script's own PyTorch forward (spec implementation in hrm_reference.py).

With `--model trm-att` or `--model trm-mlp` it does the same for TRM (make_trm_fixtures.py's
configurations: the reference's TRM field names plus "architecture": "trm"; trm_reference.py's
forward).

Usage: tools/reference/.venv/bin/python tools/reference/check_inspect.py [--model hrm|trm-att|trm-mlp] [path/to/hrm]
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from safetensors.numpy import load_file
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hrm_reference as ref  # noqa: E402
import trm_reference  # noqa: E402
from make_fixtures import CONFIG as HRM_CONFIG, make_batch, make_parameters  # noqa: E402
from make_trm_fixtures import VARIANTS  # noqa: E402


def main():
    args = sys.argv[1:]
    kind = "hrm"
    if args[:1] == ["--model"]:
        kind, args = args[1], args[2:]
    if kind not in ("hrm", "trm-att", "trm-mlp"):
        sys.exit(f"unknown --model {kind}; use hrm, trm-att or trm-mlp")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    hrm = args[0] if args else os.path.join(root, ".build", "release", "hrm")
    if kind == "hrm":
        CONFIG = HRM_CONFIG
        params = make_parameters(CONFIG)
        model = ref.HRM(CONFIG, params)
    else:
        CONFIG = VARIANTS[kind[4:]]
        params = make_parameters(CONFIG, trm_reference.parameter_shapes(CONFIG))
        model = trm_reference.TRM(CONFIG, params)
    batch = make_batch(CONFIG, 100)
    with tempfile.TemporaryDirectory() as tmp:
        # The conversion users run on a released checkpoint (5 lines):
        #   import torch; from safetensors.torch import save_file
        #   state = torch.load("step_26040", map_location="cpu")
        #   save_file({k: v.contiguous() for k, v in state.items()}, "model.safetensors")
        state = {"_orig_mod.model.inner." + k: v.contiguous() for k, v in params.items()}
        save_file(state, os.path.join(tmp, "model.safetensors"))
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(CONFIG, f)
        np.save(os.path.join(tmp, "inputs.npy"), batch["inputs"])
        np.save(os.path.join(tmp, "ids.npy"), batch["puzzle_identifiers"])
        subprocess.run([hrm, "inspect", "forward", "--checkpoint", os.path.join(tmp, "model.safetensors"),
                        "--config", os.path.join(tmp, "config.json"), "--inputs", os.path.join(tmp, "inputs.npy"),
                        "--puzzle-ids", os.path.join(tmp, "ids.npy"), "--steps", "3",
                        "--out", os.path.join(tmp, "dump.safetensors")], check=True)
        dump = load_file(os.path.join(tmp, "dump.safetensors"))

    worst = 0.0
    with torch.no_grad():
        b = {k: torch.from_numpy(v) for k, v in batch.items()}
        carry = model.initial_carry(b)
        for step in range(1, 4):
            carry, logits, q_halt, q_continue = model.act_step(carry, b, training=False)[:4]
            for name, expected in (("logits", logits), ("q_halt", q_halt), ("q_continue", q_continue)):
                got = dump[f"{name}.{step}"]
                diff = np.abs(got - expected.numpy()).max() / max(1e-6, np.abs(expected.numpy()).max())
                worst = max(worst, diff)
    print(f"largest difference relative to the largest value: {worst:.2e}")
    if worst > 1e-4:
        sys.exit("FAIL: hrm inspect forward disagrees with the PyTorch forward")
    print(f"OK ({kind}): hrm inspect forward matches the PyTorch forward on a converted checkpoint")


if __name__ == "__main__":
    main()
