"""The TRM repository's Transformer baseline as its code computes it, in PyTorch float32, written
from TRM-SPEC.md ("Transformer baseline", transformers_baseline.py).

An independent implementation of the specification (our own code, not the reference's), used only
to produce the small fixtures the Swift parity tests compare against. It is HRM (hrm_reference.py)
with one level: `z_H <- H_level(z_H + x)` once per ACT step, recorded whole; the carry holds z_H
alone; training halts on q_halt > q_continue, and no continue target is ever computed.
"""
import torch

from hrm_reference import HRM


class TransformerBaseline(HRM):
    def segment(self, z_h, inputs, puzzle_ids):
        c, p = self.cfg, self.p
        x = self.input_embedding(inputs, puzzle_ids)
        z_h = self.level("H_level", c["H_layers"], z_h, x)
        logits = (z_h @ p["lm_head.weight"].T)[:, self.P:]
        q = z_h[:, 0] @ p["q_head.weight"].T + p["q_head.bias"]
        return z_h.detach(), logits, q[:, 0], q[:, 1]

    def initial_carry(self, batch):
        B, D = batch["inputs"].shape[0], self.cfg["hidden_size"]
        return {"z_h": torch.zeros(B, self.N, D), "steps": torch.zeros(B, dtype=torch.int32),
                "halted": torch.ones(B, dtype=torch.bool), "data": {k: v.clone() for k, v in batch.items()}}

    def act_step(self, carry, batch, training):
        c, p = self.cfg, self.p
        halted = carry["halted"]
        z_h = torch.where(halted[:, None, None], p["H_init"].expand_as(carry["z_h"]), carry["z_h"])
        steps = torch.where(halted, torch.zeros_like(carry["steps"]), carry["steps"])
        data = {k: torch.where(halted.view(-1, *([1] * (v.dim() - 1))), batch[k], v)
                for k, v in carry["data"].items()}
        z_h, logits, q_halt, q_continue = self.segment(z_h, data["inputs"], data["puzzle_identifiers"])
        with torch.no_grad():
            steps = steps + 1
            new_halted = steps >= c["halt_max_steps"]
            if training and c["halt_max_steps"] > 1:  # act_enabled
                new_halted = new_halted | (q_halt > q_continue)
                assert c["halt_exploration_prob"] == 0  # the fixtures explore nothing
        return {"z_h": z_h, "steps": steps, "halted": new_halted, "data": data}, logits, q_halt, q_continue


def parameter_shapes(c):
    from hrm_reference import swiglu_width
    D, V, F = c["hidden_size"], c["vocab_size"], swiglu_width(c["hidden_size"], c["expansion"])
    shapes = {"H_init": [D], "embed_tokens.embedding_weight": [V, D], "lm_head.weight": [V, D],
              "q_head.weight": [2, D], "q_head.bias": [2],
              "puzzle_emb.weights": [c["num_puzzle_identifiers"], c["puzzle_emb_ndim"]]}
    for i in range(c["H_layers"]):
        p = f"H_level.layers.{i}."
        shapes[p + "self_attn.qkv_proj.weight"] = [3 * D, D]
        shapes[p + "self_attn.o_proj.weight"] = [D, D]
        shapes[p + "mlp.gate_up_proj.weight"] = [2 * F, D]
        shapes[p + "mlp.down_proj.weight"] = [D, F]
    return shapes
