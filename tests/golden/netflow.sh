#!/usr/bin/env bash
# netflow.sh: decode every NetFlow/IPFIX fixture with `fabmond --decode`
# and compare each record field by field with tshark's cflow dissector
# (tests/golden/netflow/compare.py). A data file X-data.pcap is decoded
# after its companion X-template.pcap or X-templates.pcap (fabmond reads
# "T.pcap,D.pcap" in order; tshark reads them joined by mergecap -a).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FIXTURES=${FIXTURES:-$(cd .. && pwd)/shared/fixtures/pcap}
cmp=tests/golden/netflow/compare.py
rc=0

# check NAME RATE PCAP...: one comparison, as a TAP line (RATE 0: any).
check() {
	local name=$1 rate=$2 out
	shift 2
	out=$(python3 "$cmp" --fabmond "$BUILD/fabmond" --rate "$rate" \
	    "$name" "$@" 2>&1)
	[ $? -eq 0 ] || rc=1
	printf '%s\n' "$out" | sed -E \
	    's/^ok /ok - golden\/netflow /; s/^FAIL /not ok - golden\/netflow /'
}

# The sampling rate some fixtures' options data (or records) set.
rate_of() {
	case $1 in
	netflow-data+templates) echo 100 ;;     # options data, System scope
	netflow-physicalinterfaces) echo 1000 ;; # options data, templateId scope
	netflow-samplingrate-data) echo 2048 ;;  # samplingInterval in records
	*) echo 0 ;;
	esac
}

n=0
for f in "$FIXTURES"/netflow-*.pcap; do
	name=$(basename "$f" .pcap)
	case $name in
	*-template | *-templates) continue ;; # decoded with their data file
	esac
	files=()
	if [[ $name == *-data ]]; then
		for t in "${name%-data}-template" "${name%-data}-templates"; do
			[ -f "$FIXTURES/$t.pcap" ] && files+=("$FIXTURES/$t.pcap")
		done
	fi
	files+=("$f")
	check "$name" "$(rate_of "$name")" "${files[@]}"
	n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
	echo "not ok - golden/netflow: no netflow-*.pcap in $FIXTURES"
	exit 1
fi

# The v9 data again, after its exporter's sampler table (options data with
# samplerId 1, interval 30000), which its records' samplerId points to.
check netflow-data-sampled 30000 \
    "$FIXTURES/netflow-options-template.pcap" \
    "$FIXTURES/netflow-options-data.pcap" \
    "$FIXTURES/netflow-template.pcap" "$FIXTURES/netflow-data.pcap"
exit $rc
