"""``python -m interlock.monitor``: bad input is one line and exit 2, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlock.monitor.cli import main


def _project(tmp_path: Path, probes: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        f"[tool.interlock.monitor]\ninterval = 0.1\n{probes}", encoding="utf-8"
    )
    return tmp_path


@pytest.mark.parametrize(
    ("probes", "message"),
    [
        (
            '[tool.interlock.monitor.probes.x]\ntype = "ftp"\nurl = "ftp://h"\n',
            "unknown probe type",
        ),
        (
            '[tool.interlock.monitor.probes.x]\ntype = "http"\nurl = "http://127.0.0.1:1/"\n'
            'conditions = ["[STATUS] => 200"]\n',
            "malformed condition",
        ),
        ('[tool.interlock.monitor.probes.x]\ntype = "http"\nurl = "127.0.0.1"\n', "not a http URL"),
        ("[tool.interlock.monitor.probes.x\n", "not valid TOML"),
    ],
)
def test_bad_configuration_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], probes: str, message: str
) -> None:
    project = _project(tmp_path, probes)
    assert main(["--project", str(project)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("interlock monitor: error: ")
    assert message in err
    assert err.count("\n") == 1
    assert not (project / ".interlock").exists()


def test_bad_duration_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _project(
        tmp_path, '[tool.interlock.monitor.probes.x]\ntype = "tcp"\naddress = "127.0.0.1:1"\n'
    )
    assert main(["--project", str(project), "--duration", "forever"]) == 2
    assert "--duration: 'forever' is not a duration" in capsys.readouterr().err


def test_history_without_a_history_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--project", str(tmp_path)]) == 2
    assert "no monitor history at" in capsys.readouterr().err


def test_unknown_option_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--frobnicate"])
    assert exited.value.code == 2


def test_a_history_db_in_a_missing_folder_exits_2_and_makes_no_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(
        tmp_path, '[tool.interlock.monitor.probes.x]\ntype = "tcp"\naddress = "127.0.0.1:1"\n'
    )
    typo = tmp_path / "no-such-folder" / "x.db"
    assert main(["--project", str(project), "--history-db", str(typo), "--duration", "1s"]) == 2
    err = capsys.readouterr().err
    assert f"--history-db {typo}: no folder {typo.parent}" in err
    assert err.count("\n") == 1
    assert not typo.parent.exists()
