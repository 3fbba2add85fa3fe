"""The training peer of bench_train_throughput, timed in the same device call.

A PyTorch Llama as PEERS.md describes it: d_model 768, 12 layers, 12 heads,
SwiGLU hidden 2048, vocab 8192, RMSNorm, rotary positions, untied head
(about 97.5M parameters); SDPA (FlashAttention) causal attention, bf16
autocast, fused AdamW, gradient clipping at 1.0. Random tokens (the step's
time does not depend on them).

One CSV row per shape:
  peer,T,B,tokens_per_s,ms_per_step,peak_MiB,note
ms_per_step is the median of --steps timed steps (CUDA events) after
--warmup steps; tokens/s = B T / that median.

  python3 bench/peers/train_peers.py --out train_peers.csv [--shape 2048x8,8192x2]
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdn_peers import median_ms, write_rows  # noqa: E402  (the shared timing and CSV writing)


def build_llama(vocab=8192, d=768, layers=12, heads=12, hidden=2048, max_len=8192):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class RMSNorm(nn.Module):
        def __init__(self, n, eps=1e-5):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(n))
            self.eps = eps

        def forward(self, x):
            xf = x.float()
            return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight

    def rotate(x, cos, sin):  # rotate_half over the two halves of the head dim
        a, b = x.chunk(2, dim=-1)
        return x * cos + torch.cat((-b, a), dim=-1) * sin

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
            self.qkv = nn.Linear(d, 3 * d, bias=False)
            self.o = nn.Linear(d, d, bias=False)
            self.gate_up = nn.Linear(d, 2 * hidden, bias=False)
            self.down = nn.Linear(hidden, d, bias=False)

        def forward(self, x, cos, sin):
            Bn, T, _ = x.shape
            q, k, v = self.qkv(self.n1(x)).view(Bn, T, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.o(a.transpose(1, 2).reshape(Bn, T, d))
            g, u = self.gate_up(self.n2(x)).chunk(2, dim=-1)
            return x + self.down(F.silu(g) * u)

    class Llama(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.norm = RMSNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)
            hd = d // heads
            inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
            ang = torch.outer(torch.arange(max_len).float(), inv)
            ang = torch.cat((ang, ang), dim=-1)
            self.register_buffer("cos", ang.cos(), persistent=False)
            self.register_buffer("sin", ang.sin(), persistent=False)

        def forward(self, tokens):
            T = tokens.shape[1]
            cos, sin = self.cos[:T].to(torch.bfloat16), self.sin[:T].to(torch.bfloat16)
            x = self.embed(tokens)
            for b in self.blocks:
                x = b(x, cos, sin)
            return self.head(self.norm(x))

    return Llama()


def llama_case(T, B, warmup, steps):
    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    model = build_llama(max_len=max(T, 2048)).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1, fused=True)
    tokens = torch.randint(0, 8192, (B, T + 1), device="cuda")
    x, y = tokens[:, :-1], tokens[:, 1:]

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x).float().view(-1, 8192), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    torch.cuda.reset_peak_memory_stats()
    ms = median_ms(step, warmup, steps)
    return B * T / (ms * 1e-3), ms, torch.cuda.max_memory_allocated() / 2**20


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", default="2048x8,8192x2", help="TxB, comma separated")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--out", help="also write the rows to this file")
    args = ap.parse_args()
    import torch
    rows = ["peer,T,B,tokens_per_s,ms_per_step,peak_MiB,note"]
    print(rows[0], flush=True)
    for shape in args.shape.split(","):
        T, B = (int(x) for x in shape.split("x"))
        try:
            tps, ms, mib = llama_case(T, B, args.warmup, args.steps)
            note = ""
        except Exception as e:  # the row records the failure; the table says so
            tps = ms = mib = math.nan
            note = f"{type(e).__name__}: {e}".replace(",", ";").replace("\n", " ")[:200]
        torch.cuda.empty_cache()
        rows.append(f"torch_llama,{T},{B},{tps:.0f},{ms:.2f},{mib:.0f},{note}")
        print(rows[-1], flush=True)
        write_rows(args.out, rows)


if __name__ == "__main__":
    main()
