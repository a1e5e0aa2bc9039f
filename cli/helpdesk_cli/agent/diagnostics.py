"""What the original desktop agent attaches besides the user's files: a plain-text diagnostic report and a
screenshot. Standard library only; every part is bounded in size and time, and a part that cannot be read on
this platform says so instead of failing the press.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from helpdesk_cli.agent.files import LocalFile

MAX_REPORT_BYTES = 64 * 1024
MAX_SECTION_LINES = 40
TOP_PROCESSES = 15
SCREENSHOT_TIMEOUT_S = 15.0


def _section(title: str, read: Callable[[], list[str]]) -> list[str]:
    try:
        lines = read() or ["(nothing to report)"]
    except Exception as exc:  # one unreadable part never costs the report
        lines = [f"(not available here: {type(exc).__name__})"]
    if len(lines) > MAX_SECTION_LINES:
        lines = [*lines[:MAX_SECTION_LINES], f"... {len(lines) - MAX_SECTION_LINES} more lines left out"]
    return [f"== {title} ==", *lines, ""]


def _system() -> list[str]:
    return [
        f"host: {socket.gethostname()}",
        f"os: {platform.platform()}",
        f"machine: {platform.machine()}  processors: {os.cpu_count()}",
        f"python: {platform.python_version()} ({sys.executable})",
        f"report time: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
    ]


def _uptime() -> list[str]:
    seconds: float | None = None
    if Path("/proc/uptime").is_file():
        seconds = float(Path("/proc/uptime").read_text().split()[0])
    elif sys.platform == "win32":
        import ctypes

        seconds = ctypes.windll.kernel32.GetTickCount64() / 1000  # type: ignore[attr-defined]
    elif sys.platform == "darwin":
        out = subprocess.run(["sysctl", "-n", "kern.boottime"], capture_output=True, text=True, timeout=5).stdout
        seconds = time.time() - int(out.split("sec =")[1].split(",")[0])
    if seconds is None:
        return ["(not available on this platform)"]
    days, rest = divmod(int(seconds), 86400)
    return [f"up {days} d {rest // 3600} h {rest % 3600 // 60} min"]


def _disks() -> list[str]:
    mounts = ["C:\\"] if sys.platform == "win32" else ["/"]
    if Path("/proc/mounts").is_file():
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[0].startswith("/dev/") and parts[1] not in mounts:
                mounts.append(parts[1])
    lines = []
    for mount in mounts[:MAX_SECTION_LINES]:
        usage = shutil.disk_usage(mount)
        lines.append(
            f"{mount}: {usage.free / 2**30:.1f} GB free of {usage.total / 2**30:.1f} GB "
            f"({100 * usage.used / max(usage.total, 1):.0f} % used)"
        )
    return lines


def _memory() -> list[str]:
    if Path("/proc/meminfo").is_file():
        info = {}
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info[key] = value.strip()
        return [f"{k}: {info[k]}" for k in ("MemTotal", "MemAvailable", "SwapTotal", "SwapFree") if k in info]
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        return [f"MemTotal: {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') // 1024} kB"]
    return ["(not available on this platform)"]


def _network() -> list[str]:
    lines = [f"interface {name} (index {index})" for index, name in socket.if_nameindex()]
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
    except OSError:
        addresses = set()
    return [*lines, *(f"address of {socket.gethostname()}: {a}" for a in sorted(addresses))]


def _processes() -> list[str]:
    proc = Path("/proc")
    if not (proc / "self" / "stat").is_file():
        return ["(not available on this platform)"]
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    ticks = os.sysconf("SC_CLK_TCK")
    rows = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2 :].split()
        cpu_s = (int(fields[11]) + int(fields[12])) / ticks
        rss_mb = int(fields[21]) * page_kb / 1024
        rows.append((rss_mb, cpu_s, int(entry.name), name))
    rows.sort(reverse=True)
    return [f"{'PID':>7} {'RSS MB':>8} {'CPU s':>9}  NAME"] + [
        f"{pid:>7} {rss:>8.1f} {cpu:>9.1f}  {name[:40]}" for rss, cpu, pid, name in rows[:TOP_PROCESSES]
    ]


def diagnostic_report() -> LocalFile:
    """The report as an attachment (plain text, at most MAX_REPORT_BYTES)."""
    lines = ["Helpdesk button diagnostic report", ""]
    for title, read in (
        ("System", _system),
        ("Uptime", _uptime),
        ("Disks", _disks),
        ("Memory", _memory),
        ("Network interfaces", _network),
        (f"Top {TOP_PROCESSES} processes by memory", _processes),
    ):
        lines += _section(title, read)
    data = "\n".join(lines).encode("utf-8", errors="replace")[:MAX_REPORT_BYTES]
    return LocalFile(filename="diagnostics.txt", content_type="text/plain", data=data)


# Screen capture tools, by platform, in order of preference: (program, arguments before the output file).
SCREENSHOT_TOOLS: dict[str, list[tuple[str, list[str]]]] = {
    "linux": [
        ("gnome-screenshot", ["-f"]),
        ("grim", []),
        ("spectacle", ["-b", "-n", "-o"]),
        ("scrot", ["-o"]),
        ("import", ["-window", "root"]),
    ],
    "darwin": [("screencapture", ["-x"])],
}


class ScreenshotUnavailable(Exception):
    """Why no screenshot was taken; the press goes on without one."""


def take_screenshot(platform_name: str | None = None) -> LocalFile:
    """A PNG of the screen through the platform's own tool; ScreenshotUnavailable says why not."""
    name = platform_name or ("linux" if sys.platform.startswith("linux") else sys.platform)
    tools = SCREENSHOT_TOOLS.get(name)
    if tools is None:
        raise ScreenshotUnavailable(f"no screenshot: this agent has no screen capture for {name}")
    found = [(shutil.which(program), args) for program, args in tools]
    usable = [(path, args) for path, args in found if path]
    if not usable:
        tried = ", ".join(program for program, _ in tools)
        raise ScreenshotUnavailable(f"no screenshot: no screen capture tool found (tried {tried})")
    with tempfile.TemporaryDirectory(prefix="helpdesk-shot-") as tmp:
        target = Path(tmp) / "screenshot.png"
        for path, args in usable:
            try:
                subprocess.run(
                    [str(path), *args, str(target)], capture_output=True, timeout=SCREENSHOT_TIMEOUT_S, check=True
                )
            except (OSError, subprocess.SubprocessError):
                continue
            if target.is_file() and target.stat().st_size > 0:
                return LocalFile(filename="screenshot.png", content_type="image/png", data=target.read_bytes())
    raise ScreenshotUnavailable("no screenshot: the screen capture tool failed (no display?)")
