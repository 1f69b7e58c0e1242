"""Streams the values the unit drives on the lab's GPIO lines, one JSON line per change.

Test scaffolding in the guest: the lab-gpio chip shows what lgpio wrote to each
line in sysfs, the way a meter on the header would. Polls every 20 ms.
"""

import json
import sys
import time

VALUES = "/sys/devices/platform/lab-gpio/values"
names = {name: int(line) for name, line in (arg.split("=") for arg in sys.argv[1:])}
last = None
while True:
    with open(VALUES) as f:
        bits = f.read().strip()
    now = {name: int(bits[line]) for name, line in names.items()}
    if now != last:
        # The guest's own clock: the host sees lines late and in bursts under load.
        line = {"t": round(time.monotonic(), 3), "wall": round(time.time(), 3), "values": now}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        last = now
    time.sleep(0.02)
