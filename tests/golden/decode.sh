#!/usr/bin/env bash
# decode.sh: `fabmond --decode` output for every fixture, against the golden
# files in tests/golden/decode (UPDATE_GOLDEN=1 rewrites them). The golden
# files pin the sflowtool-compatible format; tshark.sh checks the values.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
synth=$BUILD/golden/synth
python3 tests/golden/mksynth.py "$synth" >/dev/null
rc=0
for f in "$FIXTURES"/sflow-*.pcap "$synth"/*.pcap; do
	n=$(basename "$f" .pcap)
	g=tests/golden/decode/$n.json
	out=$(TZ=UTC "$BUILD/fabmond" --decode "$f" 2>/dev/null)
	if ! printf '%s\n' "$out" | python3 -c '
import json, sys
for line in sys.stdin:
    json.loads(line)' 2>/dev/null; then
		echo "not ok - golden/decode $n: not valid JSON lines"
		rc=1
		continue
	fi
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
		printf '%s\n' "$out" >"$g"
	fi
	if [ ! -f "$g" ]; then
		echo "not ok - golden/decode $n: no golden file $g"
		rc=1
	elif diff <(printf '%s\n' "$out") "$g" >/dev/null; then
		echo "ok - golden/decode $n"
	else
		echo "not ok - golden/decode $n: differs from $g"
		diff <(printf '%s\n' "$out" | python3 -m json.tool) \
		    <(python3 -m json.tool "$g") | head -20 | sed 's/^/# /'
		rc=1
	fi
done
exit $rc
