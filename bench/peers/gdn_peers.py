"""The peers of bench_gated_delta_rule_cuda, timed in the same device call.

  - the reference package's chunk_gated_delta_rule (Triton; ../shared/peers/fla,
    carried to the GPU machine), bf16 q, k, v, beta and f32 g;
  - PyTorch's scaled_dot_product_attention, causal (FlashAttention where its
    head dim allows), bf16, the same heads, head dim K for q, k and v.

One CSV row per (peer, shape, T), B = tokens / T:
  peer,B,T,H,K,V,fwd_ms,fwdbwd_ms,peak_MiB,note
Times are medians of CUDA-event timings after a warm-up, as loglin's bench
takes them; peak_MiB is torch's peak allocation during forward+backward. A
peer that fails prints its error in `note` and NaN times.

  python3 bench/peers/gdn_peers.py --out peers.csv [--T 1024,2048] [--shapes 16x128x128,6x192x384]
FLA_DIR: the folder holding the package folder `fla` (or `fla` itself).
"""
import argparse
import math
import os
import sys


def add_fla_to_path():
    d = os.environ.get("FLA_DIR", ".peers")
    if os.path.basename(os.path.normpath(d)) == "fla":
        d = os.path.dirname(os.path.normpath(d)) or "."
    sys.path.insert(0, d)


def write_rows(path, rows):
    """The rows so far (temp + rename after each row: a call cut short keeps them)."""
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("\n".join(rows) + "\n")
    os.replace(tmp, path)


def timed_row(prefix, case, rows, out):
    """Runs case() -> (fwd ms, fwd+bwd ms, peak MiB) and appends the CSV row
    `prefix,fwd,fwdbwd,peak,note`; a failure becomes NaN times and its error
    in `note`. The file is rewritten after every row."""
    import torch
    try:
        f, fb, mib = case()
        note = ""
    except Exception as e:  # the row records the failure; the table says so
        f = fb = mib = math.nan
        note = f"{type(e).__name__}: {e}".replace(",", ";").replace("\n", " ")[:200]
    torch.cuda.empty_cache()
    row = f"{prefix},{f:.3f},{fb:.3f},{mib:.0f},{note}"
    rows.append(row)
    print(row, flush=True)
    write_rows(out, rows)


def median_ms(fn, warmup, runs):
    import torch
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


def time_pair(forward, forward_backward, warmup, runs):
    import torch
    with torch.no_grad():
        fwd = median_ms(forward, warmup, runs)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    fb = median_ms(forward_backward, warmup, runs)
    torch.cuda.synchronize()
    return fwd, fb, torch.cuda.max_memory_allocated() / 2**20


def gdn_case(B, T, H, K, V, warmup, runs):
    import torch
    import torch.nn.functional as F
    from fla.ops.gated_delta_rule import chunk_gated_delta_rule
    torch.manual_seed(0)
    dev, bf = "cuda", torch.bfloat16
    q = F.normalize(torch.randn(B, T, H, K, device=dev), dim=-1).to(bf).requires_grad_(True)
    k = F.normalize(torch.randn(B, T, H, K, device=dev), dim=-1).to(bf).requires_grad_(True)
    v = torch.randn(B, T, H, V, device=dev, dtype=bf, requires_grad=True)
    beta = torch.rand(B, T, H, device=dev).sigmoid().to(bf).requires_grad_(True)
    g = F.logsigmoid(torch.randn(B, T, H, device=dev)).requires_grad_(True)
    do = torch.randn(B, T, H, V, device=dev, dtype=bf)

    def forward():
        return chunk_gated_delta_rule(q, k, v, g, beta)[0]

    def forward_backward():
        forward().backward(do)

    return time_pair(forward, forward_backward, warmup, runs)


def sdpa_case(B, T, H, K, warmup, runs):
    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    dev, bf = "cuda", torch.bfloat16
    q, k, v = (torch.randn(B, H, T, K, device=dev, dtype=bf, requires_grad=True) for _ in range(3))
    do = torch.randn(B, H, T, K, device=dev, dtype=bf)

    def forward():
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    def forward_backward():
        forward().backward(do)

    return time_pair(forward, forward_backward, warmup, runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", default="1024,2048,4096,8192,16384,32768")
    ap.add_argument("--shapes", default="16x128x128,6x192x384", help="HxKxV, comma separated")
    ap.add_argument("--tokens", type=int, default=32768)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", help="also write the rows to this file")
    args = ap.parse_args()
    add_fla_to_path()
    rows = ["peer,B,T,H,K,V,fwd_ms,fwdbwd_ms,peak_MiB,note"]
    print(rows[0], flush=True)
    for shape in args.shapes.split(","):
        H, K, V = (int(x) for x in shape.split("x"))
        for T in (int(t) for t in args.T.split(",")):
            B = args.tokens // T
            timed_row(f"fla_chunk_gated_delta_rule,{B},{T},{H},{K},{V}",
                      lambda: gdn_case(B, T, H, K, V, args.warmup, args.runs), rows, args.out)
            timed_row(f"sdpa,{B},{T},{H},{K},{V}", lambda: sdpa_case(B, T, H, K, args.warmup, args.runs), rows,
                      args.out)


if __name__ == "__main__":
    main()
