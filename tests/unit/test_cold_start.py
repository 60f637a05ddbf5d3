"""Each function checks the settings it needs when Lambda loads it, naming what is missing."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

import aws_xray_sdk.core  # noqa: F401  # opens its UDP emitter's socket on import: before sockets are blocked
import pytest

from tximport import runtime
from tximport.config import REQUIRED_BY_FUNCTION, ConfigError, Settings, load_settings

BASE = {"IMPORTS_TABLE_NAME": "i", "LEDGER_TABLE_NAME": "l", "BUCKET_NAME": "b"}
#: what the api function needs besides the setting a case leaves out
API = {"REVERT_STATE_MACHINE_ARN": "r", "JWT_ISSUER": "https://issuer.example.com/", "JWT_AUDIENCE": "tximport"}


def test_every_function_is_listed():
    from infra.definitions import FUNCTIONS

    assert set(REQUIRED_BY_FUNCTION) == {f.name for f in FUNCTIONS}


@pytest.mark.parametrize(("function", "setting"), [("api", "REVERT_STATE_MACHINE_ARN"),
                                                   ("api", "RECONCILE_STATE_MACHINE_ARN"),
                                                   ("api", "JWT_ISSUER"), ("api", "JWT_AUDIENCE"),
                                                   ("api", "CURSOR_KEY_SECRET"),
                                                   ("api", "SESSIONS_TABLE_NAME"),
                                                   ("api", "ENRICHMENT_STATE_MACHINE_ARN"),
                                                   ("on_upload", "STATE_MACHINE_ARN"),
                                                   ("sessions", "SESSIONS_TABLE_NAME")])
def test_a_function_without_a_setting_it_needs_fails_naming_it(function: str, setting: str):
    others = {Settings.model_fields[name].alias or name: "x" for name in REQUIRED_BY_FUNCTION[function]}
    others.pop(setting)
    with pytest.raises(ConfigError, match=f"for the {function} function: {setting}"):
        load_settings({**BASE, **others}, function=function)
    assert load_settings({**BASE, **others, setting: "x"}, function=function)
    assert load_settings(BASE, function="process")
    assert load_settings(BASE, function="reconcile")


@pytest.fixture()
def fresh_handlers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Handler modules loaded anew, as in a new Lambda environment; put back as they were afterwards."""
    saved = {name: module for name, module in sys.modules.items() if name.startswith("functions.")}
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    yield
    for name in [n for n in sys.modules if n.startswith("functions.")]:
        del sys.modules[name]
    sys.modules.update(saved)
    runtime.reset_container()


def test_loading_a_handler_fails_at_cold_start_without_its_settings(fresh_handlers, monkeypatch):
    for name in (*BASE, "STATE_MACHINE_ARN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="IMPORTS_TABLE_NAME"):
        importlib.import_module("functions.process.handler")
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="STATE_MACHINE_ARN"):
        importlib.import_module("functions.on_upload.handler")
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:m")
    importlib.import_module("functions.on_upload.handler")
    assert runtime.container().settings.state_machine_arn.endswith(":m")  # type: ignore[union-attr]
