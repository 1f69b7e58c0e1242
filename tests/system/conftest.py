"""The QEMU lab's fixtures: the cached unit images (x86 and arm64), and one fresh guest per test.

Run at the end of `make test` and by `make system` (both set CHECKPOINT_SYSTEM_TESTS=1); a
plain `pytest` skips the lab and says so. The arm64 smoke runs only with `make system-arm64`.
Otherwise skipped, with the reason, only where QEMU cannot run: not root (the images are built
with chroot, debootstrap and mkfs as root), or no qemu-system-x86_64 / qemu-system-aarch64 /
qemu-img. Scenarios run one at a time (TCG keeps both cores busy); each has its own overlay.
Every deadline comes from the boots measured.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.register_assert_rewrite("lab_guest", "lab_image", "lab_arm64", "lab_lamps")

import lab_arm64  # noqa: E402
from lab_guest import MEASURED, Guest  # noqa: E402 - after the rewrite hook
from lab_image import LabImage, unit_image  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/system/" in str(item.fspath):
            item.add_marker(pytest.mark.slow)
            # Boots under TCG on a shared 2-core host take minutes, not seconds.
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(2400))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The lab's own time, its boots and the load it ran under: the budget's figures."""
    seconds: dict[str, float] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            nodeid = getattr(report, "nodeid", "")
            if "tests/system/" in nodeid and isinstance(getattr(report, "duration", None), float):
                seconds[nodeid] = seconds.get(nodeid, 0.0) + report.duration
    if not seconds:
        return
    write = terminalreporter.write_line
    write(f"QEMU lab: {sum(seconds.values()):.0f} s in all; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")  # fmt: skip
    for nodeid, took in seconds.items():
        write(f"  {took:7.1f} s  {nodeid.split('::')[-1]}")
    if MEASURED:
        write(f"  boots to the agent: {', '.join(f'{b:.0f}' for b in MEASURED)} s")


@pytest.fixture(scope="session")
def lab_image() -> LabImage:
    if os.environ.get("CHECKPOINT_SYSTEM_TESTS") != "1":
        pytest.skip(
            "the QEMU lab runs in `make test` and `make system` (CHECKPOINT_SYSTEM_TESTS=1)"
        )
    if os.geteuid() != 0:
        pytest.skip("the QEMU lab builds its image with chroot and mkfs.ext4 -d: needs root")
    missing = [b for b in ("qemu-system-x86_64", "qemu-img") if shutil.which(b) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (apt-get install qemu-system-x86 "
                    "qemu-utils)")  # fmt: skip
    image = unit_image()
    sys.stdout.write(f"\nlab image ready in {image.build_seconds:.1f} s\n")
    return image


@pytest.fixture
def guest(lab_image: LabImage, tmp_path: Path) -> Iterator[Guest]:
    g = Guest(lab_image, tmp_path)
    yield g
    g.close()


@pytest.fixture
def guest_with_state_disk(lab_image: LabImage, tmp_path: Path) -> Iterator[Guest]:
    g = Guest(lab_image, tmp_path, state_disk=True)
    yield g
    g.close()


@pytest.fixture(scope="session")
def arm64_image() -> LabImage:
    if os.environ.get("CHECKPOINT_ARM64_TESTS") != "1":
        pytest.skip(
            "the arm64 smoke runs in `make test` and `make system-arm64` (CHECKPOINT_ARM64_TESTS=1)"
        )
    if os.geteuid() != 0:
        pytest.skip("the arm64 lab runs debootstrap and mkfs.ext4 -d: needs root")
    missing = [b for b in ("qemu-system-aarch64", "qemu-img", "debootstrap", "mkfs.ext4")
               if shutil.which(b) is None]  # fmt: skip
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (apt-get install qemu-system-arm "
                    "qemu-utils debootstrap e2fsprogs)")  # fmt: skip
    image = lab_arm64.unit_image()
    sys.stdout.write(f"\narm64 lab image ready in {image.build_seconds:.1f} s\n")
    return image
