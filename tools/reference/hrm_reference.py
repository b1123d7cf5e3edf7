"""HRM as the reference computes it, in PyTorch float32, written from HRM-SPEC.md.

This is an independent implementation of the specification (our own code, not the reference's),
used only to produce the small fixtures that the Swift parity tests compare against. Every
section number refers to the spec. Float32 throughout, as the reference runs with
forward_dtype=float32 (spec §4): no bf16 rounding points.
"""
import math

import torch
import torch.nn.functional as F


def swiglu_width(hidden, expansion):
    return 256 * math.ceil(round(expansion * hidden * 2 / 3) / 256)


def rms_norm(x, eps):
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)


def rope_tables(positions, head_dim, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(positions, dtype=torch.float32), inv_freq)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()


def apply_rope(x, cos, sin):  # x [B, N, H, d]; half-split pairing (spec §5.2)
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos[None, :, None, :] + rotated * sin[None, :, None, :]


class HRM:
    """Holds the parameters as a dict name -> tensor with the reference's state-dict keys."""

    def __init__(self, cfg, params):
        self.cfg = cfg
        self.p = params
        c = cfg
        self.P = 0 if c["puzzle_emb_ndim"] == 0 else -(-c["puzzle_emb_ndim"] // c["hidden_size"])
        self.N = c["seq_len"] + self.P
        self.head_dim = c["hidden_size"] // c["num_heads"]
        self.cos, self.sin = rope_tables(self.N, self.head_dim, c.get("rope_theta", 10000.0))
        self.local_weights = None
        self.local_ids = None

    # §5.3 – §5.6
    def block(self, prefix, h):
        c, p = self.cfg, self.p
        B, N, D = h.shape
        H, d = c["num_heads"], self.head_dim
        qkv = (h @ p[prefix + "self_attn.qkv_proj.weight"].T).view(B, N, 3 * H, d)
        q, k, v = qkv[:, :, :H], qkv[:, :, H:2 * H], qkv[:, :, 2 * H:]
        if c["pos_encodings"] == "rope":
            q, k = apply_rope(q, self.cos, self.sin), apply_rope(k, self.cos, self.sin)
        scores = torch.einsum("bihd,bjhd->bhij", q, k) / math.sqrt(d)
        o = torch.einsum("bhij,bjhd->bihd", scores.softmax(-1), v).reshape(B, N, D)
        h = rms_norm(h + o @ p[prefix + "self_attn.o_proj.weight"].T, c["rms_norm_eps"])
        gu = h @ p[prefix + "mlp.gate_up_proj.weight"].T
        gate, up = gu.chunk(2, dim=-1)
        m = (F.silu(gate) * up) @ p[prefix + "mlp.down_proj.weight"].T
        return rms_norm(h + m, c["rms_norm_eps"])

    # §5.7
    def level(self, name, layers, h, injection):
        h = h + injection
        for i in range(layers):
            h = self.block(f"{name}.layers.{i}.", h)
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
            pad = self.P * D - c["puzzle_emb_ndim"]
            if pad > 0:
                rows = F.pad(rows, (0, pad))
            e = torch.cat([rows.view(-1, self.P, D), e], dim=1)
        if c["pos_encodings"] == "learned":
            e = 0.707106781 * (e + p["embed_pos.embedding_weight"])
        return math.sqrt(D) * e

    # §6
    def segment(self, z_h, z_l, inputs, puzzle_ids):
        c, p = self.cfg, self.p
        x = self.input_embedding(inputs, puzzle_ids)
        with torch.no_grad():
            for i in range(c["H_cycles"]):
                for j in range(c["L_cycles"]):
                    if not (i == c["H_cycles"] - 1 and j == c["L_cycles"] - 1):
                        z_l = self.level("L_level", c["L_layers"], z_l, z_h + x)
                if i != c["H_cycles"] - 1:
                    z_h = self.level("H_level", c["H_layers"], z_h, z_l)
        z_l = self.level("L_level", c["L_layers"], z_l, z_h + x)
        z_h = self.level("H_level", c["H_layers"], z_h, z_l)
        logits = (z_h @ p["lm_head.weight"].T)[:, self.P:]
        q = z_h[:, 0] @ p["q_head.weight"].T + p["q_head.bias"]
        return z_h.detach(), z_l.detach(), logits, q[:, 0], q[:, 1]

    # §7
    def initial_carry(self, batch):
        B = batch["inputs"].shape[0]
        D = self.cfg["hidden_size"]
        return {
            "z_h": torch.zeros(B, self.N, D), "z_l": torch.zeros(B, self.N, D),
            "steps": torch.zeros(B, dtype=torch.int32), "halted": torch.ones(B, dtype=torch.bool),
            "data": {k: v.clone() for k, v in batch.items()},
        }

    def act_step(self, carry, batch, training):
        c, p = self.cfg, self.p
        halted = carry["halted"]
        z_h = torch.where(halted[:, None, None], p["H_init"].expand_as(carry["z_h"]), carry["z_h"])
        z_l = torch.where(halted[:, None, None], p["L_init"].expand_as(carry["z_l"]), carry["z_l"])
        steps = torch.where(halted, torch.zeros_like(carry["steps"]), carry["steps"])
        data = {k: torch.where(halted.view(-1, *([1] * (v.dim() - 1))), batch[k], v)
                for k, v in carry["data"].items()}
        z_h, z_l, logits, q_halt, q_continue = self.segment(z_h, z_l, data["inputs"],
                                                            data["puzzle_identifiers"])
        target = None
        with torch.no_grad():
            steps = steps + 1
            last = steps >= c["halt_max_steps"]
            new_halted = last
            if training and c["halt_max_steps"] > 1:
                new_halted = new_halted | (q_halt > q_continue)
                # Exploration is off in the fixtures (halt_exploration_prob = 0): min_steps = 0.
                assert c["halt_exploration_prob"] == 0
                _, _, _, next_halt, next_continue = self.segment(z_h, z_l, data["inputs"],
                                                                 data["puzzle_identifiers"])
                target = torch.sigmoid(torch.where(last, next_halt,
                                                   torch.maximum(next_halt, next_continue)))
        new_carry = {"z_h": z_h, "z_l": z_l, "steps": steps, "halted": new_halted, "data": data}
        return new_carry, logits, q_halt, q_continue, target


# §8
def stablemax_ce(logits, labels):
    x = logits.to(torch.float64)
    s = torch.where(x >= 0, x + 1, 1 / (1 - x + 1e-30))
    logp = torch.log(s / s.sum(-1, keepdim=True))
    mask = labels != -100
    picked = torch.gather(logp, -1, torch.where(mask, labels, 0).long().unsqueeze(-1)).squeeze(-1)
    return -torch.where(mask, picked, torch.zeros_like(picked))


def act_loss(carry, logits, q_halt, q_continue, target):
    labels = carry["data"]["labels"]
    mask = labels != -100
    counts = mask.sum(-1)
    divisor = counts.clamp_min(1).unsqueeze(-1)
    correct = mask & (logits.argmax(-1) == labels)
    seq_ok = correct.sum(-1) == counts
    lm = (stablemax_ce(logits, labels) / divisor).sum()
    q_h = F.binary_cross_entropy_with_logits(q_halt, seq_ok.to(q_halt.dtype), reduction="sum")
    q_c = torch.zeros(())
    if target is not None:
        q_c = F.binary_cross_entropy_with_logits(q_continue, target, reduction="sum")
    return lm + 0.5 * (q_h + q_c), lm, q_h, q_c


# §9.2 AdamATan2 (per element, fp32), §9.3 SignSGD, §9.4 schedule
class AdamATan2:
    def __init__(self, params, lr, betas=(0.9, 0.95), weight_decay=0.1):
        self.params, self.lr, self.betas, self.wd = params, lr, betas, weight_decay
        self.m = {k: torch.zeros_like(v) for k, v in params.items()}
        self.v = {k: torch.zeros_like(v) for k, v in params.items()}
        self.t = 0

    @torch.no_grad()
    def step(self):
        self.t += 1
        b1, b2 = self.betas
        for k, p in self.params.items():
            if p.grad is None:
                continue
            g = p.grad
            p.mul_(1 - self.lr * self.wd)
            self.m[k].lerp_(g, 1 - b1)
            self.v[k].lerp_(g.square(), 1 - b2)
            denom = self.v[k].sqrt() / math.sqrt(1 - b2 ** self.t)
            p.sub_((self.lr / (1 - b1 ** self.t)) * torch.atan2(self.m[k], denom))


@torch.no_grad()
def sign_sgd(table, local_grad, local_ids, lr, weight_decay):
    ids, inverse = torch.unique(local_ids.long(), return_inverse=True)
    summed = torch.zeros(len(ids), table.shape[1]).index_add_(0, inverse, local_grad)
    table[ids] = table[ids] * (1 - lr * weight_decay) - lr * torch.sign(summed)


def schedule(step, base, warmup, total, min_ratio):
    if step < warmup:
        return base * step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return base * (min_ratio + max(0.0, (1 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))))
