"""Machine facts: read locally, never a packet or DNS query sent."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from helpdesk_cli.agent.facts import (
    FactSources,
    collect_machine_facts,
    default_route_interface,
    normalise_mac,
    probe_primary_ipv4,
    usable_ipv4,
)

ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
tun0\t00000000\t00000000\t0000\t0\t0\t0\t00000000\t0\t0\t0
"""


def test_default_route_interface_is_the_up_default_route_with_the_lowest_metric():
    assert default_route_interface(ROUTES) == "eth0"


def test_default_route_interface_is_none_without_a_default_route():
    header = ROUTES.splitlines()[0]
    assert default_route_interface(header + "\neth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n") is None
    assert default_route_interface("") is None
    assert default_route_interface("garbage\nx y z\n") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("02:FC:00:00:00:01\n", "02:fc:00:00:00:01"),
        ("02-fc-00-00-00-01", "02:fc:00:00:00:01"),
        ("00:00:00:00:00:00", None),
        ("not a mac", None),
        (None, None),
        (0x02FC00000001, "02:fc:00:00:00:01"),
        (0x02FC00000001 | (1 << 40), None),  # multicast bit: uuid.getnode() made it up
        (1 << 48, None),
    ],
)
def test_normalise_mac(raw, expected):
    assert normalise_mac(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("192.0.2.2", "192.0.2.2"),
        ("127.0.0.1", None),
        ("0.0.0.0", None),
        ("169.254.1.1", None),
        ("nope", None),
        ("", None),
    ],
)
def test_usable_ipv4(raw, expected):
    assert usable_ipv4(raw) == expected


class RecordingSocket:
    """Stands in for socket.socket; records what the probe does with it."""

    instances: list[RecordingSocket] = []

    def __init__(self, family, kind):
        self.family, self.kind, self.actions = family, kind, []
        RecordingSocket.instances.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.actions.append("close")

    def connect(self, address):
        self.actions.append(("connect", address))

    def getsockname(self):
        return ("10.1.2.3", 40000)

    def __getattr__(self, name):  # send, sendto, sendall, ...: any of them is a failure
        raise AssertionError(f"the IP probe must not call socket.{name}")


def test_primary_ipv4_comes_from_a_udp_connect_to_a_documentation_address_and_sends_nothing():
    RecordingSocket.instances.clear()

    ip = probe_primary_ipv4(RecordingSocket)

    assert ip == "10.1.2.3"
    (sock,) = RecordingSocket.instances
    assert (sock.family, sock.kind) == (socket.AF_INET, socket.SOCK_DGRAM)
    (address,) = [a[1] for a in sock.actions if isinstance(a, tuple)]
    assert ipaddress.IPv4Address(address[0]) in ipaddress.IPv4Network("192.0.2.0/24")  # RFC 5737, never routed
    assert sock.actions[-1] == "close"


def test_primary_ipv4_is_none_without_a_route():
    class NoRoute(RecordingSocket):
        def connect(self, address):
            raise OSError(101, "Network is unreachable")

    assert probe_primary_ipv4(NoRoute) is None


def _sources(tmp_path: Path, **overrides) -> FactSources:
    (tmp_path / "route").write_text(ROUTES)
    (tmp_path / "net" / "eth0").mkdir(parents=True)
    (tmp_path / "net" / "eth0" / "address").write_text("02:fc:00:00:00:01\n")
    (tmp_path / "resolv.conf").write_text("nameserver 10.0.0.53\nsearch corp.contoso.com contoso.com\n")
    values = {
        "proc_route": tmp_path / "route",
        "sys_class_net": tmp_path / "net",
        "resolv_conf": tmp_path / "resolv.conf",
        "env": {},
        "hostname": lambda: "ann-laptop",
        "primary_ipv4": lambda: "192.168.1.20",
        "interface_ipv4": lambda iface: "192.168.9.9",
        "getnode": lambda: 0x0A0B0C0D0E0F,
        "getuser": lambda: "ann",
        "system": lambda: "Linux",
        "release": lambda: "6.1.0-18-amd64",
        "version": lambda: "#1 SMP",
        "os_release": lambda: {"PRETTY_NAME": "Debian GNU/Linux 12 (bookworm)"},
    }
    values.update(overrides)
    return FactSources(**values)


def test_collects_every_fact_from_the_machine(tmp_path):
    facts = collect_machine_facts(_sources(tmp_path))

    assert facts.as_payload() == {
        "hostname": "ann-laptop",
        "ip": "192.168.1.20",
        "mac": "02:fc:00:00:00:01",
        "username": "ann",
        "domain": "corp.contoso.com",
        "os": "Debian GNU/Linux 12 (bookworm) (Linux 6.1.0-18-amd64)",
    }


def test_a_fully_qualified_hostname_gives_the_short_name_and_the_domain(tmp_path):
    facts = collect_machine_facts(_sources(tmp_path, hostname=lambda: "ann-laptop.ad.fabrikam.com"))
    assert (facts.hostname, facts.domain) == ("ann-laptop", "ad.fabrikam.com")


def test_the_windows_logon_domain_wins(tmp_path):
    facts = collect_machine_facts(_sources(tmp_path, env={"USERDOMAIN": "CONTOSO"}))
    assert facts.domain == "CONTOSO"


def test_falls_back_to_the_default_route_interface_address_and_getnode(tmp_path):
    sources = _sources(tmp_path, primary_ipv4=lambda: None)
    (tmp_path / "net" / "eth0" / "address").unlink()

    facts = collect_machine_facts(sources)

    assert facts.ip == "192.168.9.9"
    assert facts.mac == "0a:0b:0c:0d:0e:0f"


def test_unknown_facts_are_none_not_errors(tmp_path):
    def fail():
        raise OSError("no")

    facts = collect_machine_facts(
        FactSources(
            proc_route=tmp_path / "missing",
            sys_class_net=tmp_path / "missing",
            resolv_conf=tmp_path / "missing",
            env={},
            hostname=lambda: "",
            primary_ipv4=lambda: None,
            interface_ipv4=lambda iface: None,
            getnode=lambda: 0x02FC00000001 | (1 << 40),
            getuser=fail,
            system=lambda: "",
            release=lambda: "",
            version=lambda: "",
            os_release=fail,
        )
    )
    assert facts.as_payload() == {
        "hostname": "unknown-host",
        "ip": None,
        "mac": None,
        "username": None,
        "domain": None,
        "os": None,
    }


@pytest.mark.parametrize(
    ("system", "release", "version", "expected"),
    [("Windows", "10", "10.0.19045", "Windows 10 (10.0.19045)"), ("FreeBSD", "14.0", "", "FreeBSD 14.0")],
)
def test_os_names_for_other_systems(tmp_path, system, release, version, expected):
    facts = collect_machine_facts(
        _sources(tmp_path, system=lambda: system, release=lambda: release, version=lambda: version)
    )
    assert facts.os == expected


def test_collecting_the_real_machine_facts_sends_no_packet_and_makes_no_dns_query(monkeypatch):
    # Given every way to send data or resolve a name is a tripwire
    def tripwire(*args, **kwargs):
        raise AssertionError("network traffic while collecting machine facts")

    for name in ("send", "sendto", "sendall", "sendmsg"):
        monkeypatch.setattr(socket.socket, name, tripwire)
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getfqdn", "create_connection"):
        monkeypatch.setattr(socket, name, tripwire)

    # When the facts of this very machine are collected
    facts = collect_machine_facts()

    # Then they are plausible and nothing was sent
    assert facts.hostname
    assert facts.ip is None or ipaddress.IPv4Address(facts.ip)
    assert facts.mac is None or normalise_mac(facts.mac) == facts.mac
