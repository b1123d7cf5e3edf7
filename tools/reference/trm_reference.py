"""TRM as the reference computes it, in PyTorch float32, written from TRM-SPEC.md.

An independent implementation of the specification (our own code, not the reference's), used only
to produce the small fixtures the Swift parity tests compare against. Section numbers refer to
TRM-SPEC. Where TRM does what HRM does (RMSNorm, RoPE, stablemax, AdamATan2, SignSGD, the LR
schedule), the functions of hrm_reference.py are reused. Float32 throughout (forward_dtype=float32,
TRM-SPEC §4): no bf16 rounding points.
"""
import math

import torch
import torch.nn.functional as F

from hrm_reference import apply_rope, rms_norm, rope_tables, swiglu_width


def prefix_length(c):
    """P (§1.4): puzzle_emb_len, or ceil(puzzle_emb_ndim / D) when it is 0."""
    if c["puzzle_emb_len"] > 0:
        return c["puzzle_emb_len"]
    return 0 if c["puzzle_emb_ndim"] == 0 else -(-c["puzzle_emb_ndim"] // c["hidden_size"])


class TRM:
    """Holds the parameters as a dict name -> tensor with the reference's state-dict keys."""

    def __init__(self, cfg, params):
        self.cfg, self.p = cfg, params
        c = cfg
        self.P = prefix_length(c)
        self.N = c["seq_len"] + self.P
        self.head_dim = c["hidden_size"] // c["num_heads"]
        self.rope = c["pos_encodings"] == "rope" and not c["mlp_t"]
        if self.rope:
            self.cos, self.sin = rope_tables(self.N, self.head_dim, c.get("rope_theta", 10000.0))
        self.local_weights = None
        self.local_ids = None

    def swiglu(self, prefix, x):
        gate, up = (x @ self.p[prefix + "gate_up_proj.weight"].T).chunk(2, dim=-1)
        return (F.silu(gate) * up) @ self.p[prefix + "down_proj.weight"].T

    # §5.3, §5.6
    def block(self, prefix, h):
        c, p = self.cfg, self.p
        eps = c["rms_norm_eps"]
        if c["mlp_t"]:
            u = h.transpose(1, 2)                                   # [B, D, N]
            u = rms_norm(u + self.swiglu(prefix + "mlp_t.", u), eps)  # normalised over positions
            h = u.transpose(1, 2)
        else:
            B, N, D = h.shape
            H, d = c["num_heads"], self.head_dim
            qkv = (h @ p[prefix + "self_attn.qkv_proj.weight"].T).view(B, N, 3 * H, d)
            q, k, v = qkv[:, :, :H], qkv[:, :, H:2 * H], qkv[:, :, 2 * H:]
            if self.rope:
                q, k = apply_rope(q, self.cos, self.sin), apply_rope(k, self.cos, self.sin)
            scores = torch.einsum("bihd,bjhd->bhij", q, k) / math.sqrt(d)
            o = torch.einsum("bhij,bjhd->bihd", scores.softmax(-1), v).reshape(B, N, D)
            h = rms_norm(h + o @ p[prefix + "self_attn.o_proj.weight"].T, eps)
        return rms_norm(h + self.swiglu(prefix + "mlp.", h), eps)

    # §5.7: the single network f
    def f(self, h, injection):
        h = h + injection
        for i in range(self.cfg["L_layers"]):
            h = self.block(f"L_level.layers.{i}.", h)
        return h

    # §5.1
    def input_embedding(self, inputs, puzzle_ids):
        c, p = self.cfg, self.p
        D = c["hidden_size"]
        e = p["embed_tokens.embedding_weight"][inputs.long()]
        if c["puzzle_emb_ndim"] > 0:
            rows = p["puzzle_emb.weights"][puzzle_ids.long()]
            if torch.is_grad_enabled():  # training: a scratch leaf that receives the gradient
                self.local_weights = rows.detach().clone().requires_grad_(True)
                self.local_ids = puzzle_ids.clone()
                rows = self.local_weights
            rows = F.pad(rows, (0, self.P * D - c["puzzle_emb_ndim"]))
            e = torch.cat([rows.view(-1, self.P, D), e], dim=1)
        if c["pos_encodings"] == "learned":
            e = 0.707106781 * (e + p["embed_pos.embedding_weight"])
        return math.sqrt(D) * e

    # §6: T-1 full recursions without gradients, the last one recorded whole
    def segment(self, y, z, inputs, puzzle_ids):
        c, p = self.cfg, self.p
        x = self.input_embedding(inputs, puzzle_ids)
        with torch.no_grad():
            for _ in range(c["H_cycles"] - 1):
                for _ in range(c["L_cycles"]):
                    z = self.f(z, y + x)
                y = self.f(y, z)
        for _ in range(c["L_cycles"]):
            z = self.f(z, y + x)
        y = self.f(y, z)
        logits = (y @ p["lm_head.weight"].T)[:, self.P:]
        q = y[:, 0] @ p["q_head.weight"].T + p["q_head.bias"]
        return y.detach(), z.detach(), logits, q[:, 0], q[:, 1]

    # §7
    def initial_carry(self, batch):
        B, D = batch["inputs"].shape[0], self.cfg["hidden_size"]
        return {
            "y": torch.zeros(B, self.N, D), "z": torch.zeros(B, self.N, D),
            "steps": torch.zeros(B, dtype=torch.int32), "halted": torch.ones(B, dtype=torch.bool),
            "data": {k: v.clone() for k, v in batch.items()},
        }

    def act_step(self, carry, batch, training):
        c, p = self.cfg, self.p
        halted = carry["halted"]
        y = torch.where(halted[:, None, None], p["H_init"].expand_as(carry["y"]), carry["y"])
        z = torch.where(halted[:, None, None], p["L_init"].expand_as(carry["z"]), carry["z"])
        steps = torch.where(halted, torch.zeros_like(carry["steps"]), carry["steps"])
        data = {k: torch.where(halted.view(-1, *([1] * (v.dim() - 1))), batch[k], v)
                for k, v in carry["data"].items()}
        y, z, logits, q_halt, q_continue = self.segment(y, z, data["inputs"], data["puzzle_identifiers"])
        with torch.no_grad():
            steps = steps + 1
            new_halted = steps >= c["halt_max_steps"]
            if training and c["halt_max_steps"] > 1:
                new_halted = new_halted | (q_halt > 0)  # no_ACT_continue: the Q head alone
                # Exploration is off in the fixtures (halt_exploration_prob = 0): min_steps = 0.
                assert c["halt_exploration_prob"] == 0
        new_carry = {"y": y, "z": z, "steps": steps, "halted": new_halted, "data": data}
        return new_carry, logits, q_halt, q_continue


class EMA:
    """§9.6: shadow <- (1 - mu) * theta + mu * shadow over the trainable parameters."""

    def __init__(self, params, mu=0.999):
        self.mu = mu
        self.shadow = {k: v.detach().clone() for k, v in params.items()}

    @torch.no_grad()
    def update(self, params):
        for k, v in params.items():
            self.shadow[k] = (1.0 - self.mu) * v.detach() + self.mu * self.shadow[k]


def parameter_shapes(c):
    D, V = c["hidden_size"], c["vocab_size"]
    P = prefix_length(c)
    N = c["seq_len"] + P
    F_ = swiglu_width(D, c["expansion"])
    shapes = {
        "H_init": [D], "L_init": [D], "embed_tokens.embedding_weight": [V, D],
        "lm_head.weight": [V, D], "q_head.weight": [2, D], "q_head.bias": [2],
    }
    if c["puzzle_emb_ndim"] > 0:
        shapes["puzzle_emb.weights"] = [c["num_puzzle_identifiers"], c["puzzle_emb_ndim"]]
    if c["pos_encodings"] == "learned":
        shapes["embed_pos.embedding_weight"] = [N, D]
    for i in range(c["L_layers"]):
        p = f"L_level.layers.{i}."
        if c["mlp_t"]:
            Ft = swiglu_width(N, c["expansion"])
            shapes[p + "mlp_t.gate_up_proj.weight"] = [2 * Ft, N]
            shapes[p + "mlp_t.down_proj.weight"] = [N, Ft]
        else:
            shapes[p + "self_attn.qkv_proj.weight"] = [3 * D, D]
            shapes[p + "self_attn.o_proj.weight"] = [D, D]
        shapes[p + "mlp.gate_up_proj.weight"] = [2 * F_, D]
        shapes[p + "mlp.down_proj.weight"] = [D, F_]
    return shapes


def parameter_count(c):
    """Trainable parameters (§1.4): everything but H_init, L_init and the puzzle table."""
    import numpy as np
    return sum(int(np.prod(s)) for k, s in parameter_shapes(c).items()
               if k not in ("H_init", "L_init", "puzzle_emb.weights"))
