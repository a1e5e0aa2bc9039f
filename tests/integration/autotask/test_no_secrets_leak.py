"""No Autotask secret (password, API key, integration code) in logs, stdout/stderr or exception text, for a wrong
password, a timeout and a 500: with every logger at DEBUG (incl. urllib3), and walking exception chains."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import pytest

from devstack.autotask_sim import DEMO, AutotaskSimulator
from helpdesk.autotask import errors as e

from .conftest import MakeClient

WRONG = "Wr0ng:P@ss-Secret-9173"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        cur = todo.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        todo += [cur.__cause__, cur.__context__]


def _assert_clean(
    exc: BaseException, secrets: list[str], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = []
    for link in _chain(exc):
        texts += [str(link), repr(link), *map(str, getattr(link, "args", ()))]
    texts.append("".join(traceback.format_exception(exc)))
    texts += [r.getMessage() + " " + str(r.__dict__) for r in caplog.records]
    texts.append(caplog.text)
    out = capsys.readouterr()
    texts += [out.out, out.err]
    blob = "\n".join(texts)
    for secret in secrets:
        assert secret not in blob


@pytest.fixture(autouse=True)
def debug_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "helpdesk", "helpdesk.autotask"):
        logging.getLogger(name).setLevel(logging.DEBUG)


def test_wrong_password(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client(api_key=f"{DEMO.username}:{WRONG}")
    with pytest.raises(e.AuthenticationError) as exc:
        client.get_ticket(1)
    assert caplog.records  # logging did happen at DEBUG
    _assert_clean(exc.value, [WRONG, f"{DEMO.username}:{WRONG}", DEMO.integration_code], caplog, capsys)


def test_timeout(
    sim: AutotaskSimulator,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = make_client(timeout=(1.0, 0.2))
    client.zone()
    sim.set_faults("demo", latency_ms=500)
    with pytest.raises(e.EndpointTimeout) as exc:
        client.get_ticket(1)
    _assert_clean(exc.value, [DEMO.secret, DEMO.api_key, DEMO.integration_code], caplog, capsys)


def test_server_error(
    sim: AutotaskSimulator,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client = make_client()
    sim.set_faults("demo", error_rate=1.0)
    with pytest.raises(e.TransientError) as exc:
        client.create_ticket({"companyID": 174, "priority": 2, "status": 1, "title": "x"})
    assert exc.value.status == 500
    _assert_clean(exc.value, [DEMO.secret, DEMO.api_key, DEMO.integration_code], caplog, capsys)


def test_connection_error_text_from_requests(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    from helpdesk.autotask import AutotaskSettings

    client = make_client()
    dead = replace(client.settings, zone_url="http://127.0.0.1:9/atservicesrest/v1.0/zoneInformation")
    assert isinstance(dead, AutotaskSettings)
    client.settings = dead
    client.zone_cache.clear()
    with pytest.raises(e.TransientError) as exc:
        client.get_ticket(1)
    assert "ConnectionError" in str(exc.value)  # requests' own text survives, redacted
    _assert_clean(exc.value, [DEMO.secret, DEMO.api_key, DEMO.integration_code], caplog, capsys)
