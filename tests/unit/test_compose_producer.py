"""`docker compose -f docker/docker-compose-prod-cons.yml run --rm producer -n 5000` (issue 20, item 6):
the arguments replace the service's command, so the connection settings must come from its environment."""

from __future__ import annotations

from pathlib import Path

import yaml

from txpipe import producer

APPS_FILE = Path(__file__).resolve().parents[2] / "docker" / "docker-compose-prod-cons.yml"


def test_run_with_only_n_gets_the_services_connection_settings(monkeypatch):
    service = yaml.safe_load(APPS_FILE.read_text(encoding="utf-8"))["services"]["producer"]
    for name in producer.ENVIRONMENT.values():
        monkeypatch.delenv(name, raising=False)
    for name, value in service["environment"].items():
        monkeypatch.setenv(name, str(value))
    as_run = producer.parse_args(["-n", "5000"])
    as_up = producer.parse_args([str(a) for a in service["command"]])
    for setting in producer.ENVIRONMENT:
        assert getattr(as_run, setting) == getattr(as_up, setting), setting
    assert as_run.count == 5000


def test_without_flag_or_variable_the_error_names_both(monkeypatch, capsys):
    for name in producer.ENVIRONMENT.values():
        monkeypatch.delenv(name, raising=False)
    try:
        producer.parse_args(["-s", "http://r", "-t", "x"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("no error without -b")
    assert "--bootstrap-servers is required (or set TXPIPE_BOOTSTRAP_SERVERS)" in capsys.readouterr().err
