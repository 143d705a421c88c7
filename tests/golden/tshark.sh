#!/usr/bin/env bash
# tshark.sh: decode every real sFlow fixture and every synthetic pcap with
# fabmond and compare each datagram field by field with tshark's dissector.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
synth=$BUILD/golden/synth
python3 tests/golden/mksynth.py "$synth" || { echo "not ok - golden/tshark: mksynth"; exit 1; }
python3 tests/tools/tshark_compare.py --fabmond "$BUILD/fabmond" \
    "$FIXTURES"/sflow-*.pcap "$synth"/*.pcap |
	sed -E 's/^ok /ok - golden\/tshark /; s/^FAIL /not ok - golden\/tshark /'
exit "${PIPESTATUS[0]}"
