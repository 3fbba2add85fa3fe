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

    | loglin arch | class | tokens | rel err | max abs err | result |

rel err = ||hf - loglin|| / ||loglin|| over all logits, in f32 with TF32 off.
A row reads "skipped: <why>" when a package is missing; the exit code is 1
when a row fails (rel err above --tol) or errors, else 0.
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


def check_one(path, device, tol):
    import torch

    check, meta = read_safetensors(path)
    export_dir = meta.get("export_dir", "")
    if not os.path.isabs(export_dir) and not os.path.isdir(export_dir):
        export_dir = os.path.join(os.path.dirname(path), os.path.basename(export_dir))
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
    model = model.to(device=device, dtype=torch.float32).eval()
    tokens = check["tokens"].to(device)
    want = check["logits"].to(device=device, dtype=torch.float32)
    with torch.no_grad():
        got = model(input_ids=tokens, use_cache=False).logits.float()
    if got.shape != want.shape:
        row["result"] = f"FAIL: logits {tuple(got.shape)}, loglin's {tuple(want.shape)}"
        return row
    diff = (got - want).double()
    rel = diff.norm().item() / max(want.double().norm().item(), 1e-30)
    row["tokens"] = "x".join(str(d) for d in tokens.shape)
    row["rel"] = rel
    row["abs"] = diff.abs().max().item()
    row["result"] = "pass" if math.isfinite(rel) and rel <= tol else f"FAIL (tol {tol:g})"
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checks", nargs="+", help="files from loglin export --logits-check")
    ap.add_argument("--device", default=None, help="cuda (default when present) or cpu")
    ap.add_argument("--tol", type=float, default=1e-3, help="largest relative error that passes (default 1e-3)")
    args = ap.parse_args()
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    rows = []
    for path in args.checks:
        try:
            rows.append(check_one(path, device, args.tol))
        except Exception as e:  # one bad row must not hide the others
            traceback.print_exc()
            rows.append({"arch": "?", "class": "?", "file": path, "result": f"ERROR: {type(e).__name__}: {e}"})
    print(f"device: {device}, torch {torch.__version__}")
    print("| loglin arch | class | tokens | rel err | max abs err | result |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        rel = f"{r['rel']:.2e}" if "rel" in r else "-"
        ab = f"{r['abs']:.2e}" if "abs" in r else "-"
        print(f"| {r['arch']} | {r['class']} | {r.get('tokens', '-')} | {rel} | {ab} | {r['result']} |")
    bad = [r for r in rows if r["result"].startswith(("FAIL", "ERROR"))]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
