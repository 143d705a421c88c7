#!/usr/bin/env python3
"""lab_havip: lab_ha.py in VIP-feed (HA_FEED=vip): the switches send to the
VIP only and the MASTER forwards every datagram to its peer. The same
checks as the dual-feed run, plus VIP-feed's own (see lab_ha.py)."""
import os
import sys

os.environ['HA_FEED'] = 'vip'
here = os.path.dirname(os.path.abspath(__file__))
os.execv(sys.executable,
         [sys.executable, os.path.join(here, 'lab_ha.py')] + sys.argv[1:])
