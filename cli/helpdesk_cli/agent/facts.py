"""Machine facts a real button agent sends: hostname, primary IPv4, MAC, username, domain, OS.

Everything here is read from the local machine. No packet leaves it: the primary IPv4 is the source
address the kernel would pick for a UDP "connection" to a documentation-only address (RFC 5737), which
only consults the routing table and sends nothing; the fallback parses /proc/net/route. No DNS lookups
(no getfqdn / gethostbyname), which could send queries to a resolver.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import platform
import re
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

# TEST-NET-1 (RFC 5737): reserved for documentation, never routed. A UDP connect() only selects a route.
_PROBE_ADDRESS = ("192.0.2.1", 9)
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@dataclass(frozen=True)
class MachineFacts:
    hostname: str
    ip: str | None
    mac: str | None
    username: str | None
    domain: str | None
    os: str | None

    def as_payload(self) -> dict[str, str | None]:
        """The `machine` object of POST /v1/tickets."""
        return asdict(self)


def default_route_interface(route_table: str) -> str | None:
    """The interface of the IPv4 default route (destination 0.0.0.0, flag RTF_UP) in /proc/net/route text.

    Among several default routes the one with the lowest metric wins, as in the kernel.
    """
    best: tuple[int, str] | None = None
    for line in route_table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        iface, destination, flags, metric = fields[0], fields[1], fields[3], fields[6]
        try:
            up = int(flags, 16) & 0x1
            is_default = int(destination, 16) == 0 and int(fields[7], 16) == 0
            rank = int(metric)
        except ValueError:
            continue
        if up and is_default and (best is None or rank < best[0]):
            best = (rank, iface)
    return best[1] if best else None


def normalise_mac(raw: str | int | None) -> str | None:
    """`aa:bb:cc:dd:ee:ff` (lower case) or None for a missing, all-zero or randomly generated address."""
    if raw is None:
        return None
    if isinstance(raw, int):
        # uuid.getnode() sets the multicast bit when it had to invent a random number: not a real MAC.
        if raw <= 0 or raw >> 48 or raw & (1 << 40):
            return None
        text = ":".join(f"{(raw >> shift) & 0xFF:02x}" for shift in range(40, -1, -8))
    else:
        text = raw.strip().lower().replace("-", ":")
    if not _MAC_RE.match(text) or text == "00:00:00:00:00:00":
        return None
    return text


def usable_ipv4(address: str | None) -> str | None:
    """The address if it is a unicast IPv4 address other than loopback/unspecified, else None."""
    if not address:
        return None
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return None
    if ip.is_loopback or ip.is_unspecified or ip.is_multicast or ip.is_link_local:
        return None
    return str(ip)


def probe_primary_ipv4(socket_factory: Callable[..., socket.socket] = socket.socket) -> str | None:
    """Source address of the default route, from a UDP socket connect() that sends nothing."""
    try:
        with socket_factory(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(_PROBE_ADDRESS)
            address: str = sock.getsockname()[0]
    except OSError:
        return None
    return usable_ipv4(address)


def interface_ipv4(iface: str) -> str | None:
    """The IPv4 address of a Linux interface (ioctl SIOCGIFADDR: a local query, no traffic)."""
    try:
        import fcntl
        import struct

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            packed = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack("256s", iface.encode()[:15]))
    except (ImportError, OSError):
        return None
    return usable_ipv4(socket.inet_ntoa(packed[20:24]))


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


@dataclass(frozen=True)
class FactSources:
    """Where facts are read from; tests point these at fakes."""

    proc_route: Path = Path("/proc/net/route")
    sys_class_net: Path = Path("/sys/class/net")
    resolv_conf: Path = Path("/etc/resolv.conf")
    env: Mapping[str, str] | None = None
    hostname: Callable[[], str] = socket.gethostname
    primary_ipv4: Callable[[], str | None] = probe_primary_ipv4
    interface_ipv4: Callable[[str], str | None] = interface_ipv4
    getnode: Callable[[], int] = uuid.getnode
    getuser: Callable[[], str] = getpass.getuser
    system: Callable[[], str] = platform.system
    release: Callable[[], str] = platform.release
    version: Callable[[], str] = platform.version
    os_release: Callable[[], dict[str, str]] = platform.freedesktop_os_release


def _mac(sources: FactSources, iface: str | None) -> str | None:
    if iface:
        mac = normalise_mac(_read(sources.sys_class_net / iface / "address"))
        if mac:
            return mac
    try:
        return normalise_mac(sources.getnode())
    except Exception:
        return None


def _username(sources: FactSources, env: Mapping[str, str]) -> str | None:
    try:
        return sources.getuser() or None
    except Exception:
        return env.get("USERNAME") or None


def _domain(hostname: str, sources: FactSources, env: Mapping[str, str]) -> str | None:
    """The Windows logon domain when set, else the host's DNS domain (from its name or resolv.conf)."""
    if env.get("USERDOMAIN"):
        return env["USERDOMAIN"]
    if "." in hostname.strip("."):
        return hostname.strip(".").split(".", 1)[1]
    for line in (_read(sources.resolv_conf) or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] in ("domain", "search"):
            return fields[1].rstrip(".")
    return None


def _os(sources: FactSources) -> str | None:
    try:
        system, release = sources.system(), sources.release()
    except Exception:
        return None
    if not system:
        return None
    if system == "Linux":
        try:
            pretty = sources.os_release().get("PRETTY_NAME")
        except OSError:
            pretty = None
        return f"{pretty} (Linux {release})" if pretty else f"Linux {release}"
    if system == "Windows":
        return f"Windows {release} ({sources.version()})"
    if system == "Darwin":
        mac_version = platform.mac_ver()[0]
        return f"macOS {mac_version} (Darwin {release})" if mac_version else f"Darwin {release}"
    return f"{system} {release}".strip()


def collect_machine_facts(sources: FactSources | None = None) -> MachineFacts:
    """Gather the facts of this machine; every fact but the hostname may be None when unknown."""
    sources = sources or FactSources()
    env = sources.env if sources.env is not None else os.environ
    hostname = (sources.hostname() or "").strip() or "unknown-host"
    iface = default_route_interface(_read(sources.proc_route) or "")
    ip = sources.primary_ipv4()
    if ip is None and iface:
        ip = sources.interface_ipv4(iface)
    return MachineFacts(
        hostname=hostname.split(".", 1)[0] if "." in hostname.strip(".") else hostname,
        ip=ip,
        mac=_mac(sources, iface),
        username=_username(sources, env),
        domain=_domain(hostname, sources, env),
        os=_os(sources),
    )
