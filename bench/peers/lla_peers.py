"""The peers of bench_loglinear_cuda, timed in the same device call.

  - the reference package's chunk_log_linear_attn (Triton; ../shared/peers/fla,
    carried to the GPU machine) on PEERS.md's shapes: q, k [B, T, 1, 128],
    v [B, T, 32, 64], g [B, T, 32] f32, level_scales [B, T, 32, L],
    L = bit_length(T - 1) + 1, B = tokens / T; bf16 at every T, f32 at
    T = 1024 (Triton's dot may use TF32 on f32 inputs: the row is the
    package's default behaviour);
  - PyTorch SDPA, causal (FlashAttention), 32 heads x 64, bf16, the same B, T.

One CSV row per (peer, dtype, T):
  peer,dtype,B,T,fwd_ms,fwdbwd_ms,peak_MiB,note
Medians of CUDA-event timings after a warm-up, as loglin's bench takes them;
peak_MiB is torch's peak allocation during forward+backward (the inputs
included). A failing peer prints its error in `note` and NaN times.

  python3 bench/peers/lla_peers.py --out lla_peers.csv [--T 1024,2048]
FLA_DIR: the folder holding the package folder `fla` (or `fla` itself).
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdn_peers import add_fla_to_path, time_pair, timed_row  # noqa: E402  (the shared timing)


def lla_case(B, T, dtype, warmup, runs):
    import torch
    import torch.nn.functional as F
    from fla.ops.log_linear_attn import chunk_log_linear_attn
    torch.manual_seed(0)
    dev, H, K, V = "cuda", 32, 128, 64
    L = (T - 1).bit_length() + 1
    q = (torch.rand(B, T, 1, K, device=dev) * 2 - 1) / math.sqrt(K)
    k = (torch.rand(B, T, 1, K, device=dev) * 2 - 1) / math.sqrt(K)
    v = torch.rand(B, T, H, V, device=dev) * 2 - 1
    g = -0.05 * torch.rand(B, T, H, device=dev)
    ls = 0.5 + torch.rand(B, T, H, L, device=dev)
    q, k, v, ls = (t.to(dtype).requires_grad_(True) for t in (q, k, v, ls))
    g.requires_grad_(True)
    do = torch.randn(B, T, H, V, device=dev, dtype=dtype)

    def forward():
        return chunk_log_linear_attn(q, k, v, g, ls)[0]

    def forward_backward():
        forward().backward(do)

    return time_pair(forward, forward_backward, warmup, runs)


def sdpa_case(B, T, warmup, runs):
    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    q, k, v = (torch.randn(B, 32, T, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True) for _ in range(3))
    do = torch.randn(B, 32, T, 64, device="cuda", dtype=torch.bfloat16)

    def forward():
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    def forward_backward():
        forward().backward(do)

    return time_pair(forward, forward_backward, warmup, runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", default="1024,2048,4096,8192,16384,32768")
    ap.add_argument("--tokens", type=int, default=32768)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out", help="also write the rows to this file")
    args = ap.parse_args()
    add_fla_to_path()
    import torch
    cases = []
    for T in (int(t) for t in args.T.split(",")):
        cases += [("fla_chunk_log_linear_attn", "bf16", T), ("sdpa", "bf16", T)]
    if 1024 in (int(t) for t in args.T.split(",")):
        cases.append(("fla_chunk_log_linear_attn", "f32", 1024))
    rows = ["peer,dtype,B,T,fwd_ms,fwdbwd_ms,peak_MiB,note"]
    print(rows[0], flush=True)
    for peer, dt, T in cases:
        B = args.tokens // T
        if peer == "sdpa":
            case = lambda: sdpa_case(B, T, args.warmup, args.runs)  # noqa: E731
        else:
            dtype = torch.bfloat16 if dt == "bf16" else torch.float32
            case = lambda: lla_case(B, T, dtype, args.warmup, args.runs)  # noqa: E731
        timed_row(f"{peer},{dt},{B},{T}", case, rows, args.out)

if __name__ == "__main__":
    main()
