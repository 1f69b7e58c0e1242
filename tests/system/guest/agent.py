"""The lab's agent inside the guest: runs the host's commands from the second serial port.

Test scaffolding, not part of the unit. It needs only the guest's system Python.
The host writes one JSON object a line: {"id": n, "run": [argv...], "timeout": s}
or {"id": n, "spawn": [argv...]} (output streamed line by line as it comes, so
the host sees what happened up to the moment power is cut). Every reply is one
JSON line too; argv lists only, never a shell built from text.
"""

import json
import os
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

PORT = sys.argv[1] if len(sys.argv) > 1 else "/dev/ttyS1"
while not Path(PORT).exists():  # a virtio port appears when udev has loaded its driver
    time.sleep(0.2)
fd = os.open(PORT, os.O_RDWR | os.O_NOCTTY)
if os.isatty(fd):  # the x86 guest's serial port; an arm64 guest's virtio port is no tty
    tty.setraw(fd)  # no echo, no line editing: the port carries JSON, not a terminal session
write_lock = threading.Lock()


def send(message):
    data = (json.dumps(message) + "\n").encode()
    with write_lock:
        try:
            while data:
                data = data[os.write(fd, data) :]
        except OSError:  # the host went away (a virtio port says so); it will ask again
            pass


def run(request):
    try:
        done = subprocess.run(
            request["run"], capture_output=True, timeout=request.get("timeout", 60), check=False
        )
        send({"id": request["id"], "rc": done.returncode,
              "out": done.stdout.decode(errors="replace"),
              "err": done.stderr.decode(errors="replace")})  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        send({"id": request["id"], "rc": -1, "out": "", "err": repr(exc)})


def spawn(request):
    try:
        process = subprocess.Popen(request["spawn"], stdout=subprocess.PIPE, bufsize=0)
    except OSError as exc:
        send({"id": request["id"], "rc": -1, "err": repr(exc)})
        return
    for line in process.stdout:
        send({"id": request["id"], "line": line.decode(errors="replace").rstrip("\n")})
    send({"id": request["id"], "rc": process.wait()})


def main():
    buffer = b""
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:  # a virtio port with no host connected reads as end of file
            time.sleep(0.2)
            continue
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                request = json.loads(line)
            except ValueError:
                continue  # line noise before the host connected
            target = spawn if "spawn" in request else run
            threading.Thread(target=target, args=(request,), daemon=True).start()


main()
