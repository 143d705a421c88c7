#!/usr/bin/env bash
# replay_one.sh BIN CORPUS: replay a fuzz corpus under the sanitizers.
set -u
bin=$1 corpus=$2
if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
	echo "not ok - replay/$(basename "$corpus"): empty corpus"
	exit 1
fi
if out=$("$bin" "$corpus" 2>&1); then
	echo "ok - replay/$(basename "$corpus"): $out"
else
	echo "$out" | tail -30 | sed 's/^/# /'
	echo "not ok - replay/$(basename "$corpus")"
	exit 1
fi
