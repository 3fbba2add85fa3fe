#!/usr/bin/env python3
"""Checks `loglin export --hf` against the public implementations: loads each
exported directory with its twin's own Python class, runs the token ids that
loglin wrote beside it, and prints the relative error of the logits.

Run on the GPU machine (it needs torch; transformers for every model, and the
reference package fla, carried to .peers/fla with FLA_DIR pointing at it, for
the Mamba-2 and Gated DeltaNet twins). For each run to check:

    build/loglin export RUN --hf out/ARCH --logits-check out/ARCH.check.safetensors
    python3 scripts/hf_logits_check.py out/*.check.safetensors

(scripts/gpu_hf_check.sh does both for the five architectures on tiny
configs.) Each check file is safetensors: "tokens" I64 [B, T] and "logits"
F32 [B, T, vocab] from loglin, with metadata export_dir, model_type,
hf_class and loglin_arch. The table has one row per file:

    | loglin arch | class | tokens | rel err | max abs err | tokenizer.json | result |

tokenizer.json (written for the byte tokenizer) is checked with the tokenizers
package where it is installed: it must encode text to its UTF-8 bytes.
rel err = ||hf - loglin|| / ||loglin|| over all logits, in f32 with torch's
TF32 off (fla's Triton kernels may still round their dots to TF32: expect
about 1e-3 there; a wrong name map or convention gives errors near 1).
A row reads "skipped: <why>" when a package is missing; the exit code is 1
when a row fails (rel err above --tol) or errors, else 0.

--reference numpy needs only numpy and runs anywhere (CI's CPU machine):
instead of the twins' classes it computes the logits with a numpy
transcription of their equations (Llama: rotate_half RoPE, RMSNorm, SwiGLU;
fla's Mamba2 and GatedDeltaNet as recurrences, LogLinearMamba2 through the
level masks of fla's naive log-linear attention), reading the exported
tensors by the twins' names only. It checks the names, splits, shapes and
conventions of the export, not the twins' own code.
"""
import argparse
import json
import math
import os
import struct
import sys
import traceback

DTYPES = {"F32": "float32", "F64": "float64", "BF16": "bfloat16", "I32": "int32", "I64": "int64"}


def read_safetensors(path):
    """(tensors, metadata) of a safetensors file, read with torch alone."""
    import torch

    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dtype = getattr(torch, DTYPES[e["dtype"]])
        buf = bytearray(data[base + begin : base + end])
        t = torch.frombuffer(buf, dtype=dtype) if buf else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(e["shape"]).clone()
    return tensors, meta


def import_fla():
    """The fla package from FLA_DIR (a directory named fla), else an installed one."""
    fla_dir = os.environ.get("FLA_DIR")
    if fla_dir:
        fla_dir = os.path.abspath(fla_dir)
        if os.path.basename(fla_dir.rstrip("/")) != "fla":
            raise RuntimeError(f"FLA_DIR={fla_dir} must be the fla package directory itself")
        sys.path.insert(0, os.path.dirname(fla_dir))
    import fla.models  # noqa: F401  (registers the configs)

    return fla.models


def read_safetensors_np(path):
    """(arrays, metadata) of a safetensors file, with numpy alone (BF16 -> float32)."""
    import numpy as np

    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    out = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        raw = data[base + begin : base + end]
        if e["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, dtype=np.dtype(DTYPES[e["dtype"]]).newbyteorder("<"))
        out[name] = a.reshape(e["shape"]).astype(np.float64 if a.dtype.kind == "f" else a.dtype)
    return out, meta


def np_rms(x, w, eps):
    import numpy as np

    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def np_silu(x):
    import numpy as np

    return x / (1.0 + np.exp(-x))


def np_softplus(x):
    import numpy as np

    return np.logaddexp(0.0, x)


def np_causal_conv(x, w, b=None):
    """x [T, C], w [C, 1, W] (torch's depthwise Conv1d with padding W - 1, first T outputs)."""
    import numpy as np

    T, C = x.shape
    W = w.shape[-1]
    xp = np.concatenate([np.zeros((W - 1, C)), x], 0)
    y = sum(xp[j : j + T] * w[:, 0, j] for j in range(W))
    return y + (b if b is not None else 0.0)


def np_mlp(x, t, pre):
    return (np_silu(x @ t[pre + "gate_proj.weight"].T) * (x @ t[pre + "up_proj.weight"].T)) @ t[pre + "down_proj.weight"].T


def np_head(h, t, c, norm_name, embed_name):
    eps = c.get("rms_norm_eps", c.get("norm_eps", 1e-6))
    w = t["lm_head.weight"] if "lm_head.weight" in t else t[embed_name]
    return np_rms(h, t[norm_name], eps) @ w.T


def np_llama(ids, t, c):
    """LlamaForCausalLM's forward for one sequence: RMSNorm, rotate_half RoPE, causal softmax, SwiGLU."""
    import numpy as np

    D, H = c["hidden_size"], c["num_attention_heads"]
    hd, eps, T = D // H, c["rms_norm_eps"], len(ids)
    inv_freq = 1.0 / c.get("rope_theta", 10000.0) ** (np.arange(0, hd, 2) / hd)
    freqs = np.outer(np.arange(T), inv_freq)
    cos, sin = np.cos(np.concatenate([freqs, freqs], -1)), np.sin(np.concatenate([freqs, freqs], -1))

    def rope(x):  # [T, H, hd]
        rot = np.concatenate([-x[..., hd // 2 :], x[..., : hd // 2]], -1)
        return x * cos[:, None, :] + rot * sin[:, None, :]

    h = t["model.embed_tokens.weight"][ids]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        x = np_rms(h, t[p + "input_layernorm.weight"], eps)
        q = rope((x @ t[p + "self_attn.q_proj.weight"].T).reshape(T, H, hd))
        k = rope((x @ t[p + "self_attn.k_proj.weight"].T).reshape(T, H, hd))
        v = (x @ t[p + "self_attn.v_proj.weight"].T).reshape(T, H, hd)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        o = np.einsum("hts,shd->thd", a, v).reshape(T, D)
        h = h + o @ t[p + "self_attn.o_proj.weight"].T
        h = h + np_mlp(np_rms(h, t[p + "post_attention_layernorm.weight"], eps), t, p + "mlp.")
    return np_head(h, t, c, "model.norm.weight", "model.embed_tokens.weight")


def np_mamba2(ids, t, c):
    """fla's Mamba2ForCausalLM (its torch_forward read as a recurrence; norm_before_gate, one group)."""
    import numpy as np

    D, N, P, eps = c["hidden_size"], c["state_size"], c["head_dim"], c["norm_eps"]
    d_inner = c["expand"] * D
    H, T = d_inner // P, len(ids)
    h = t["backbone.embeddings.weight"][ids]
    for i in range(c["num_hidden_layers"]):
        p = f"backbone.layers.{i}."
        m = p + "mixer."
        x = np_rms(h, t[p + "norm.weight"], eps)
        zxbcdt = x @ t[m + "in_proj.weight"].T
        z, xbc, dt = zxbcdt[:, :d_inner], zxbcdt[:, d_inner : 2 * d_inner + 2 * N], zxbcdt[:, 2 * d_inner + 2 * N :]
        xbc = np_silu(np_causal_conv(xbc, t[m + "conv1d.weight"], t[m + "conv1d.bias"]))
        xs, B, C = xbc[:, :d_inner].reshape(T, H, P), xbc[:, d_inner : d_inner + N], xbc[:, d_inner + N :]
        dt = np_softplus(dt + t[m + "dt_bias"])
        A = -np.exp(t[m + "A_log"])
        S = np.zeros((H, P, N))
        y = np.zeros((T, H, P))
        for s_ in range(T):
            S = S * np.exp(dt[s_] * A)[:, None, None] + (dt[s_][:, None] * xs[s_])[:, :, None] * B[s_][None, None, :]
            y[s_] = S @ C[s_] + t[m + "D"][:, None] * xs[s_]
        y = np_rms(y.reshape(T, d_inner), t[m + "norm.weight"], eps) * np_silu(z)
        h = h + y @ t[m + "out_proj.weight"].T
    return np_head(h, t, c, "backbone.norm_f.weight", "backbone.embeddings.weight")


def np_gated_deltanet(ids, t, c):
    """fla's GatedDeltaNetForCausalLM as a recurrence (the gated delta rule, q/k L2-normalised)."""
    import numpy as np

    K, H, eps = c["head_dim"], c["num_heads"], c["norm_eps"]
    V, T = int(K * c["expand_v"]), len(ids)

    def l2(x):
        return x / np.sqrt((x * x).sum(-1, keepdims=True) + 1e-6)

    h = t["model.embeddings.weight"][ids]
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a_ = p + "attn."
        x = np_rms(h, t[p + "attn_norm.weight"], eps)
        q = np_silu(np_causal_conv(x @ t[a_ + "q_proj.weight"].T, t[a_ + "q_conv1d.weight"])).reshape(T, H, K)
        k = np_silu(np_causal_conv(x @ t[a_ + "k_proj.weight"].T, t[a_ + "k_conv1d.weight"])).reshape(T, H, K)
        v = np_silu(np_causal_conv(x @ t[a_ + "v_proj.weight"].T, t[a_ + "v_conv1d.weight"])).reshape(T, H, V)
        q, k = l2(q) * K ** -0.5, l2(k)
        beta = 1.0 / (1.0 + np.exp(-(x @ t[a_ + "b_proj.weight"].T)))
        g = -np.exp(t[a_ + "A_log"]) * np_softplus(x @ t[a_ + "a_proj.weight"].T + t[a_ + "dt_bias"])
        S = np.zeros((H, K, V))
        o = np.zeros((T, H, V))
        for s_ in range(T):
            S = S * np.exp(g[s_])[:, None, None]
            u = beta[s_][:, None] * (v[s_] - np.einsum("hk,hkv->hv", k[s_], S))
            S = S + k[s_][:, :, None] * u[:, None, :]
            o[s_] = np.einsum("hk,hkv->hv", q[s_], S)
        gate = (x @ t[a_ + "g_proj.weight"].T).reshape(T, H, V)
        o = (np_rms(o, t[a_ + "o_norm.weight"], eps) * np_silu(gate)).reshape(T, H * V)
        h = h + o @ t[a_ + "o_proj.weight"].T
        h = h + np_mlp(np_rms(h, t[p + "mlp_norm.weight"], eps), t, p + "mlp.")
    return np_head(h, t, c, "model.norm.weight", "model.embeddings.weight")


def np_level_mask(T, level):
    """Which (t, s) pairs level `level` of log-linear attention joins (fla's naive.py, as a boolean [T, T])."""
    import numpy as np

    t = np.arange(T)[:, None]
    s_ = np.arange(T)[None, :]
    if level == 0:
        return t == s_
    half = 1 << (level - 1)
    start = t - t % half
    return (t % (1 << level) >= half) & (s_ + half >= start) & (s_ < start)


def np_log_linear_mamba2(ids, t, c):
    """fla's LogLinearMamba2ForCausalLM: Mamba-2 with the output of each position summed over its
    Fenwick levels, each level weighted by softplus(L[h, l] * dl[t, h, l]); a SwiGLU MLP after."""
    import numpy as np

    D, N, P, eps = c["hidden_size"], c["state_size"], c["head_dim"], c["norm_eps"]
    d_inner = c["expand"] * D
    H, T = d_inner // P, len(ids)
    h = t["backbone.embeddings.weight"][ids]
    for i in range(c["num_hidden_layers"]):
        p = f"backbone.layers.{i}."
        m = p + "mixer."
        levels = t[m + "L"].shape[1]
        x = np_rms(h, t[p + "mixer_norm.weight"], eps)
        proj = x @ t[m + "in_proj.weight"].T
        cut = [d_inner, 2 * d_inner + 2 * N, 2 * d_inner + 2 * N + H]
        z, xbc, dt, dl = proj[:, : cut[0]], proj[:, cut[0] : cut[1]], proj[:, cut[1] : cut[2]], proj[:, cut[2] :]
        xbc = np_silu(np_causal_conv(xbc, t[m + "conv1d.weight"], t[m + "conv1d.bias"]))
        xs, B, C = xbc[:, :d_inner].reshape(T, H, P), xbc[:, d_inner : d_inner + N], xbc[:, d_inner + N :]
        dt = np_softplus(dt + t[m + "dt_bias"])
        g = -np.exp(t[m + "A_log"]) * dt  # [T, H]
        lam = np_softplus(t[m + "L"][None] * dl.reshape(T, H, levels))  # [T, H, levels]
        G = np.cumsum(g, 0)
        y = np.zeros((T, H, P))
        causal = np.tril(np.ones((T, T), dtype=bool))
        for hh in range(H):
            decay = np.where(causal, np.exp(G[:, hh][:, None] - G[:, hh][None, :]), 0.0)
            weight = np.zeros((T, T))
            for level in range(levels):
                weight += np.where(np_level_mask(T, level), lam[:, hh, level][:, None], 0.0)
            scores = decay * weight * (C @ B.T)
            y[:, hh] = scores @ (xs[:, hh] * dt[:, hh][:, None])
        y = y + t[m + "D"][None, :, None] * xs
        y = np_rms(y.reshape(T, d_inner), t[m + "norm.weight"], eps) * np_silu(z)
        h = h + y @ t[m + "out_proj.weight"].T
        h = h + np_mlp(np_rms(h, t[p + "mlp_norm.weight"], eps), t, p + "mlp.")
    return np_head(h, t, c, "backbone.norm_f.weight", "backbone.embeddings.weight")


NUMPY_REFERENCES = {"llama": np_llama, "mamba2": np_mamba2, "log_linear_mamba2": np_log_linear_mamba2,
                    "gated_deltanet": np_gated_deltanet}


def check_one_numpy(path, tol):
    import numpy as np

    check, meta = read_safetensors_np(path)
    export_dir = resolve_export_dir(path, meta)
    row = {"arch": meta.get("loglin_arch", "?"), "class": "numpy " + meta.get("hf_class", "?"), "file": path}
    model_type = meta.get("model_type", "")
    if model_type not in NUMPY_REFERENCES:
        row["result"] = f"skipped: no numpy transcription of {model_type}"
        return row
    with open(os.path.join(export_dir, "config.json")) as f:
        config = json.load(f)
    weights, _ = read_safetensors_np(os.path.join(export_dir, "model.safetensors"))
    tokens, want = check["tokens"], check["logits"]
    got = np.stack([NUMPY_REFERENCES[model_type](row_ids, weights, config) for row_ids in tokens])
    return finish_row(row, "x".join(str(d) for d in tokens.shape), got, want, tol)


def resolve_export_dir(path, meta):
    export_dir = meta.get("export_dir", "")
    if not os.path.isabs(export_dir) and not os.path.isdir(export_dir):
        export_dir = os.path.join(os.path.dirname(path), os.path.basename(export_dir))
    return export_dir


def finish_row(row, tokens, got, want, tol):
    """rel and max abs error of got against want (arrays of floats, any library with .shape)."""
    import numpy as np

    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        row["result"] = f"FAIL: logits {tuple(got.shape)}, loglin's {tuple(want.shape)}"
        return row
    rel = float(np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30))
    row["tokens"] = tokens
    row["rel"] = rel
    row["abs"] = float(np.abs(got - want).max())
    row["result"] = "pass" if math.isfinite(rel) and rel <= tol else f"FAIL (tol {tol:g})"
    return row


def build_model(model_type, config):
    """An untrained model of the twin's class for this config.json."""
    if model_type == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM

        return LlamaForCausalLM(LlamaConfig(**config))
    models = import_fla()
    classes = {
        "mamba2": ("Mamba2Config", "Mamba2ForCausalLM"),
        "log_linear_mamba2": ("LogLinearMamba2Config", "LogLinearMamba2ForCausalLM"),
        "gated_deltanet": ("GatedDeltaNetConfig", "GatedDeltaNetForCausalLM"),
    }
    if model_type not in classes:
        raise RuntimeError(f"model_type {model_type!r} has no public class to check against")
    cfg_name, cls_name = classes[model_type]
    if not hasattr(models, cfg_name):  # older fla: import from the subpackage
        import importlib

        sub = importlib.import_module(f"fla.models.{model_type}")
        return getattr(sub, cls_name)(getattr(sub, cfg_name)(**config))
    return getattr(models, cls_name)(getattr(models, cfg_name)(**config))


def check_tokenizer(export_dir):
    """With the tokenizers package: does tokenizer.json (written for the byte tokenizer) give the byte ids?"""
    path = os.path.join(export_dir, "tokenizer.json")
    if not os.path.exists(path):
        return "-"
    try:
        from tokenizers import Tokenizer
    except ImportError:
        return "no tokenizers package"
    text = "It was the best of times,\n\tcaf\u00e9 \u2014 \U0001F600 ~\x7f."
    tok = Tokenizer.from_file(path)
    ids = tok.encode(text).ids
    want = list(text.encode("utf-8"))
    if ids != want:
        return "FAIL: ids differ from the bytes"
    return "exact" if tok.decode(ids) == text else "FAIL: decode differs"


def check_one(path, device, tol):
    import torch

    check, meta = read_safetensors(path)
    export_dir = resolve_export_dir(path, meta)
    row = {"arch": meta.get("loglin_arch", "?"), "class": meta.get("hf_class", "?"), "file": path}
    model_type = meta.get("model_type", "")
    if model_type == "loglin":
        row["result"] = "skipped: loglin's own layout has no public class"
        return row
    with open(os.path.join(export_dir, "config.json")) as f:
        config = json.load(f)
    config.pop("loglin_config", None)  # loglin's record, not a field of the class
    for key in ("architectures", "model_type", "torch_dtype", "transformers_version"):
        config.pop(key, None)
    try:
        model = build_model(model_type, config)
    except ImportError as e:
        row["result"] = f"skipped: {e}"
        return row
    weights, _ = read_safetensors(os.path.join(export_dir, "model.safetensors"))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if config.get("tie_word_embeddings"):
        model.tie_weights()
        missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        row["result"] = f"FAIL: the class wants {missing[:4]} and does not know {unexpected[:4]}"
        return row
    row["tokenizer"] = check_tokenizer(export_dir)
    if row["tokenizer"].startswith("FAIL"):
        row["result"] = "FAIL: tokenizer.json"
        return row
    model = model.to(device=device, dtype=torch.float32).eval()
    tokens = check["tokens"].to(device)
    want = check["logits"].to(device=device, dtype=torch.float32)
    with torch.no_grad():
        got = model(input_ids=tokens, use_cache=False).logits.float()
    tokens_text = "x".join(str(d) for d in tokens.shape)
    return finish_row(row, tokens_text, got.double().cpu().numpy(), want.double().cpu().numpy(), tol)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checks", nargs="+", help="files from loglin export --logits-check")
    ap.add_argument("--device", default=None, help="cuda (default when present) or cpu")
    ap.add_argument("--tol", type=float, default=1e-2,
                    help="largest relative error that passes (default 1e-2: a wrong map gives errors near 1, "
                         "kernel rounding such as Triton's TF32 dots in fla about 1e-3)")
    ap.add_argument("--reference", choices=["class", "numpy"], default="class",
                    help="class (default): the twins' own classes (torch, transformers, fla); numpy: numpy "
                         "transcriptions of their equations")
    args = ap.parse_args()
    if args.reference == "numpy":
        import numpy

        header = f"reference: numpy {numpy.__version__} transcriptions, float64"
    else:
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        header = f"reference: the twins' classes, device: {device}, torch {torch.__version__}"
    rows = []
    for path in args.checks:
        try:
            if args.reference == "numpy":
                rows.append(check_one_numpy(path, args.tol))
            else:
                rows.append(check_one(path, device, args.tol))
        except Exception as e:  # one bad row must not hide the others
            traceback.print_exc()
            rows.append({"arch": "?", "class": "?", "file": path, "result": f"ERROR: {type(e).__name__}: {e}"})
    print(header)
    print("| loglin arch | class | tokens | rel err | max abs err | tokenizer.json | result |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        rel = f"{r['rel']:.2e}" if "rel" in r else "-"
        ab = f"{r['abs']:.2e}" if "abs" in r else "-"
        print(f"| {r['arch']} | {r['class']} | {r.get('tokens', '-')} | {rel} | {ab} | {r.get('tokenizer', '-')} "
              f"| {r['result']} |")
    bad = [r for r in rows if r["result"].startswith(("FAIL", "ERROR"))]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
