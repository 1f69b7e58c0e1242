"""``checkpoint-ops collect`` takes its secrets from 0600 files or the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops import cli


def test_a_password_file_readable_by_others_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "broker.password"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    argv = ["collect", "--broker", "mqtt://ops@127.0.0.1:1", "--db", f"sqlite:///{tmp_path}/o.db"]
    assert cli.main([*argv, "--password-file", str(secret)]) == 2
    err = capsys.readouterr().err
    assert "readable by others" in err
    assert "s3cret" not in err
