#!/usr/bin/env bash
# fabtop.sh: fabtop's screens (golden). Frames recorded from the lab's
# fabmond (tests/golden/fabtop/*.frames, see its README.md) are replayed
# into each view (`fabtop --replay FRAMES --view N --size WxH --dump`,
# optionally with --keys) and the screen, as text, must match NAME.screen.
# UPDATE_GOLDEN=1 rewrites the expected screens.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ft=$BUILD/fabtop
dir=tests/golden/fabtop
export TZ=UTC # the clock columns
rc=0
# check NAME LOCALE ARGS...: the screen of `fabtop --dump ARGS` in LOCALE.
check() {
	local name=$1 loc=$2 want=$dir/$1.screen out st
	shift 2
	out=$(LANG=$loc LC_ALL=$loc "$ft" --dump "$@" 2>&1)
	st=$?
	if [ "${UPDATE_GOLDEN:-0}" = 1 ] && [ $st -eq 0 ]; then
		printf '%s\n' "$out" >"$want"
	fi
	if [ $st -eq 0 ] && diff <(printf '%s\n' "$out") "$want" >/dev/null; then
		echo "ok - golden/fabtop $name"
	else
		echo "not ok - golden/fabtop $name (exit $st)"
		diff <(printf '%s\n' "$out") "$want" | head -20 | sed 's/^/# /'
		rc=1
	fi
}
if [ ! -x "$ft" ]; then
	echo "not ok - golden/fabtop: no $ft (make $ft)"
	exit 1
fi
U=C.UTF-8
lab="--replay $dir/lab.frames --size 80x24"
valley="--replay $dir/valley.frames --size 80x24"
hostile="--replay $dir/hostile.frames --size 80x24"
# every view of a healthy fabric with traffic and an ECMP trace
check fabric $U $lab --view 1
check top $U $lab --view 2
check trace $U $lab --view 3
check holes $U $lab --view 4
check detail $U $lab --view 5
# no UTF-8 locale: ASCII boxes and bars
check fabric-ascii C $lab --view 1
check trace-ascii C $lab --view 3
check help-ascii C $lab --view 1 --keys '?'
# a large screen, a small one
check fabric-200x60 $U --replay $dir/lab.frames --size 200x60 --view 1
check top-200x60 $U --replay $dir/lab.frames --size 200x60 --view 2
check detail-200x60 $U --replay $dir/lab.frames --size 200x60 --view 5
check fabric-40x10 $U --replay $dir/lab.frames --size 40x10 --view 1
check too-small $U --replay $dir/lab.frames --size 30x6 --view 1
# keys: help, the filter prompt, sorting, Enter for the detail, scrolling
check help $U $lab --view 1 --keys '?'
check prompt $U $lab --view 1 --keys '/,BS,BS,BS,BS,BS,BS,BS,BS,BS,5,4'
check top-sorted $U $lab --view 2 --keys 's,s'
check fabric-enter $U $lab --view 1 --keys 'Down,Down,Down,Enter'
check fabric-busiest $U $lab --view 1 --keys 's'
# a missing route on l4: valley routing, TTL loops, a trace that bounces
check valley-fabric $U $valley --view 1
check valley-trace $U $valley --view 3
check valley-trace-end $U $valley --view 3 --keys 'End'
check valley-holes $U $valley --view 4
check valley-holes-sel $U $valley --view 4 --keys 'Down,Down'
check valley-detail $U $valley --view 5 --keys 'Right,Right,Right'
# traffic that dies at an ACL
check discard-trace $U --replay $dir/discard.frames --size 80x24 --view 3
# frames with wrong types, huge and hostile strings
check hostile-fabric $U $hostile --view 1
check hostile-top $U $hostile --view 2
check hostile-trace $U $hostile --view 3
check hostile-holes $U $hostile --view 4
check hostile-detail $U $hostile --view 5
check hostile-ascii C $hostile --view 1
exit $rc
