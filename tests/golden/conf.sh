#!/usr/bin/env bash
# conf.sh: `fabmond -n` prints the configuration normalised (golden), and a
# bad configuration fails with a precise message and exit status 1.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
fab=$BUILD/fabmond
rc=0
check() { # NAME EXPECTED-FILE CMD...
	local name=$1 want=$2 out
	shift 2
	out=$("$@" 2>&1)
	if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then printf '%s\n' "$out" >"$want"; fi
	if diff <(printf '%s\n' "$out") "$want" >/dev/null; then
		echo "ok - golden/conf $name"
	else
		echo "not ok - golden/conf $name"
		diff <(printf '%s\n' "$out") "$want" | head -20 | sed 's/^/# /'
		rc=1
	fi
}
# fails NAME PATTERN CMD...: must exit 1 and say PATTERN on stderr.
fails() {
	local name=$1 pat=$2 out st
	shift 2
	out=$("$@" 2>&1 >/dev/null)
	st=$?
	if [ $st -eq 1 ] && printf '%s' "$out" | grep -q -- "$pat"; then
		echo "ok - golden/conf $name"
	else
		echo "not ok - golden/conf $name: exit $st, said: $out"
		rc=1
	fi
}
check defaults tests/golden/conf/defaults.out $fab -n --state-dir /var/lib/fabmon
check file tests/golden/conf/full.out $fab -n -f tests/golden/conf/full.ini
check flags-override tests/golden/conf/flags.out $fab -n -f tests/golden/conf/full.ini \
	--sflow 127.0.0.1:16343 --http '[::1]:18008' --db /tmp/x.db \
	--snmp-seed 10.99.0.0/24 --snmp-community private -o engine.push_ms=200
fails bad-key "line 3: unknown key 'engine.nope'" $fab -n -f tests/golden/conf/bad-key.ini
fails bad-port "not ADDR:PORT" $fab -n --sflow 1.2.3.4:99999
fails bad-int "push_ms: 'fast' is not an integer" $fab -n -o engine.push_ms=fast
fails missing-file "cannot read" $fab -n -f /nonexistent/fabmon.ini
fails bad-level "not one of warn" $fab -n -o log.level=loud
fails bad-role "is not NODE=spine|leaf|other" $fab -n -o topology.role=s1=core
fails bad-seed "is not an address or CIDR" $fab -n --snmp-seed 10.0.0.0/33
fails short-v3-pass "snmp v3 credentials" $fab -n -o snmp.v3_user=u \
	-o snmp.v3_auth_pass=short -o snmp.v3_priv_pass=alsoshort
exit $rc
