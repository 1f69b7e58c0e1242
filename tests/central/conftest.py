"""The central side's fixtures, for every test here: databases, collectors, simulated devices.

Defined in tests/support/ops.py and named here once, so no test module imports a
fixture (and shadows it with a parameter of the same name).
"""

from __future__ import annotations

from support.dashboard import users_file  # noqa: F401 - a fixture, found by name
from support.ops import (  # noqa: F401 - fixtures, found by name
    collector,
    databases,
    db_url,
    make_device,
    postgres_admin,
    postgres_url,
    publisher,
    run_collector,
)
