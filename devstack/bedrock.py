"""Amazon Bedrock runtime emulator for the devstack: ``Converse`` answered by a deterministic STAND-IN classifier.

THIS IS NOT A LANGUAGE MODEL. It exists so that ``ai_categorize`` runs end to end on a laptop with the production
adapter unchanged (boto3 ``bedrock-runtime`` pointed here by ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``). It reads the
question the adapter sends (the last user content block: ``{"text": ..., "categories": [...]}``) and scores each
category by keyword evidence:

* a category name is matched to built-in concepts an MSP uses (printer, e-mail, network, password/login,
  hardware, software, phone, access request), by its words or by character-trigram similarity;
* the text's words (lower-cased, accents removed) are compared with the concepts' keywords (English plus common
  German, French, Spanish and Dutch words), by exact word, stem prefix, or trigram similarity for misspellings;
  a category that matches no concept uses its own words as keywords;
* evidence becomes a 0-100 score that grows with the number of hits and shrinks when other categories compete.

Standard library only; no model download; same input, same output. ``python -m bench triage`` measures it against
the labelled set in tests/data/triage.jsonl (and prints the command that measures the real model on AWS).

The HTTP side speaks the Converse wire format: ``POST /model/{modelId}/converse`` -> ``{"output": {"message":
...}}, "stopReason", "usage", "metrics"}``; errors carry ``x-amzn-ErrorType`` like AWS. Fault injection for
tests: :meth:`BedrockEmulator.fail_next` makes the next calls answer a given error (or a refusal).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

STAND_IN_NAME = "devstack stand-in classifier (keyword/trigram similarity, not a language model)"

# concept -> (words that name it in a category, keywords that point to it in a message)
CONCEPTS: dict[str, tuple[str, str]] = {
    "printer": (
        "printer printers printing print scanner scanning copier mfp plotter drucker imprimante impresora printen",
        "print printer printers printing printed prints printout toner ink cartridge cartridges paper jam jammed "
        "tray scan scanner scanning scanned copier copy copies photocopier spooler plotter labelprinter duplex mfp "
        "drucker drucken druckt druckauftrag druckerpatrone papierstau papier stau imprimante imprimer impression "
        "bourrage encre impresora imprimir impresion tinta papel atasco printen afdrukken inkt",
    ),
    "email": (
        "email emails e-mail mail mailbox outlook exchange messaging correo courriel",
        "email emails mail mails mailbox mailboxes inbox outlook exchange attachment attachments spam junk phishing "
        "calendar invite invitation signature bounce bounced bounceback undeliverable ndr smtp imap pop gmail "
        "thunderbird pst ost newsletter forwarding autoreply out-of-office distribution shared-mailbox webmail "
        "correo correos courriel courriels messagerie posteingang postfach anhang emailadresse mailadres",
    ),
    "network": (
        "network networking internet connectivity wifi wi-fi wireless vpn lan wan netzwerk reseau red",
        "internet wifi wi-fi wireless wlan network networks connection connections connect connecting connected "
        "disconnect disconnected disconnects offline online vpn ethernet cable router routers switch firewall "
        "dns dhcp ip ping latency bandwidth hotspot ssid lan wan modem access-point signal netzwerk verbindung "
        "internetverbindung reseau connexion red conexion verbinding netwerk",
    ),
    "password": (
        "password passwords login logins logon account accounts authentication credentials mfa sign-in signin "
        "lockout passwort kennwort contrasena",
        "password passwords passwort kennwort motdepasse passe contrasena wachtwoord locked lock lockout unlock "
        "reset expired expire expires login log logon signin sign username user-name mfa 2fa authenticator otp "
        "verification code codes credentials credential pin gesperrt anmelden anmeldung bloque bloqueado "
        "identifiant connecter forgot forgotten",
    ),
    "hardware": (
        "hardware computer computers laptop laptops desktop device devices peripherals peripheral monitor pc",
        "laptop laptops notebook computer computers pc desktop monitor monitors screen screens display keyboard "
        "mouse battery charger charging power boot boots fan noise overheating overheats hot broken cracked "
        "dock docking station usb port ports hdmi displayport webcam camera headset speakers speaker harddrive "
        "disk ssd ram memory bsod beeping beeps bildschirm tastatur maus akku ecran clavier souris batterie "
        "pantalla teclado raton portatil ordinateur toetsenbord scherm",
    ),
    "software": (
        "software application applications app apps program programs programme install installation",
        "install installation installed installing reinstall uninstall update updates updating upgrade "
        "application applications app apps program programs software crash crashes crashing crashed freezes "
        "frozen freezing hangs license licence licensing activation activate excel word powerpoint adobe acrobat "
        "pdf chrome browser edge firefox quickbooks sage erp crm zoom office onedrive antivirus java plugin macro "
        "macros version error errors opening opens programm anwendung logiciel programa aplicacion",
    ),
    "phone": (
        "phone phones telephony telephone voip mobile voicemail telefon telephone telefono",
        "phone phones telephone telephony deskphone voip voicemail call calls calling caller dial dialing dialtone "
        "extension handset mobile cell cellphone iphone android smartphone sim ring ringing rings transfer hold "
        "softphone yealink polycom 3cx telefon anruf anrufe telefoon bellen appel appels telefono llamada llamadas "
        "movil portable",
    ),
    "access": (
        "access request requests permission permissions rights onboarding new-user new-starter provisioning",
        "access permission permissions rights grant granted give need folder folders share shared sharepoint "
        "group groups add added onboarding starter starts joining joiner new employee hire leaver offboarding "
        "admin administrator privileges role approve approval zugriff zugang berechtigung berechtigungen acces "
        "droits autorisation acceso permisos toegang rechten",
    ),
}

_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    out: list[str] = []
    for w in _WORD.findall(normalize(text)):
        out.append(w)
        if "-" in w:
            out.extend(w.split("-"))
            out.append(w.replace("-", ""))
    return out


@lru_cache(maxsize=4096)
def trigrams(word: str) -> frozenset[str]:
    padded = f"  {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def similarity(a: str, b: str) -> float:
    ta, tb = trigrams(a), trigrams(b)
    return len(ta & tb) / len(ta | tb) if ta and tb else 0.0


@lru_cache(maxsize=256)
def _concept_words(concept: str) -> tuple[frozenset[str], frozenset[str]]:
    names, keywords = CONCEPTS[concept]
    return frozenset(names.split()), frozenset(keywords.split())


@lru_cache(maxsize=1024)
def category_keywords(category: str) -> frozenset[str]:
    """The keywords a category is recognised by: those of the concepts its name matches, plus its own words."""
    own = [w for w in words(category) if len(w) > 2 or w.isdigit()]
    found: set[str] = set(own)
    for concept in CONCEPTS:
        names, keywords = _concept_words(concept)
        if any(w in names or (len(w) >= 5 and max(similarity(w, n) for n in names) >= 0.6) for w in own):
            found |= keywords
    return frozenset(found)


def _hit(word: str, keywords: frozenset[str]) -> str | None:
    if word in keywords:
        return word
    if len(word) >= 5:
        for k in keywords:
            if len(k) >= 4 and (word.startswith(k) or (len(k) >= 5 and k.startswith(word))):
                return k
        best, best_sim = None, 0.0
        for k in keywords:
            if len(k) >= 5 and abs(len(k) - len(word)) <= 2:
                s = similarity(word, k)
                if s > best_sim:
                    best, best_sim = k, s
        if best is not None and best_sim >= 0.5:
            return best
    return None


def evidence(text: str, category: str) -> float:
    keywords = category_keywords(category)
    hits = {k for w in set(words(text)) if (k := _hit(w, keywords)) is not None}
    return float(len(hits))


def score_all(text: str, categories: Iterable[str]) -> dict[str, int]:
    """The stand-in's answer: a 0-100 score per category (deterministic)."""
    cats = list(categories)
    ev = {c: evidence(text, c) for c in cats}
    total = sum(ev.values())
    scores: dict[str, int] = {}
    for c in cats:
        e = ev[c]
        if e <= 0:
            scores[c] = 0
            continue
        strength = 1 - math.exp(-1.5 * e)  # 1 hit 0.78, 2 hits 0.95, 3 hits 0.99
        share = e / total  # other categories with evidence pull it down
        scores[c] = max(0, min(100, round(100 * strength * (0.35 + 0.65 * share) + 12 * share)))
    return scores


def approx_tokens(text: str) -> int:
    """A rough token count (about 4 characters per token) for the usage block; real models report their own."""
    return max(1, math.ceil(len(text) / 4))


@dataclass
class BedrockEmulator:
    """The WSGI app behind ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` (thread-safe)."""

    calls: int = 0
    _faults: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    scorer: Callable[[str, Iterable[str]], dict[str, int]] = score_all

    def fail_next(self, count: int = 1, kind: str = "ThrottlingException") -> None:
        """The next ``count`` calls fail: an AWS error type (ThrottlingException, ModelTimeoutException,
        AccessDeniedException, ...), ``"refusal"`` (stopReason content_filtered) or ``"garbage"`` (no JSON)."""
        with self._lock:
            self._faults.extend([kind] * count)

    def _fault(self) -> str | None:
        with self._lock:
            self.calls += 1
            return self._faults.pop(0) if self._faults else None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = unquote(environ.get("PATH_INFO", ""))
        match = re.fullmatch(r"/model/(.+)/(converse|invoke)", path)
        if environ.get("REQUEST_METHOD") != "POST" or match is None:
            return _error(start_response, 404, "UnknownOperationException", f"no such operation: {path}")
        if match.group(2) != "converse":
            return _error(start_response, 400, "ValidationException", "the devstack emulates Converse only")
        try:
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(size) or b"{}")
        except (ValueError, KeyError):
            return _error(start_response, 400, "ValidationException", "malformed request body")
        started = time.perf_counter()
        fault = self._fault()
        if fault not in (None, "refusal", "garbage"):
            status = {"ThrottlingException": 429, "ModelTimeoutException": 408, "AccessDeniedException": 403}
            return _error(start_response, status.get(str(fault), 500), str(fault), f"injected {fault}")
        try:
            question = json.loads(body["messages"][-1]["content"][-1]["text"])
            text, categories = str(question["text"]), [str(c) for c in question["categories"]]
        except (KeyError, IndexError, TypeError, ValueError):
            return _error(start_response, 400, "ValidationException", "the stand-in reads the adapter's question only")
        if fault == "refusal":
            answer, stop = "I can't help with that.", "content_filtered"
        elif fault == "garbage":
            answer, stop = "These look like printer problems.", "end_turn"
        else:
            answer = json.dumps({"scores": self.scorer(text, categories)}, ensure_ascii=False)
            stop = "end_turn"
        prompt = " ".join(block.get("text", "") for m in body.get("messages", []) for block in m.get("content", []))
        system = " ".join(block.get("text", "") for block in body.get("system", []))
        usage = {"inputTokens": approx_tokens(system + prompt), "outputTokens": approx_tokens(answer)}
        usage["totalTokens"] = usage["inputTokens"] + usage["outputTokens"]
        doc = {
            "output": {"message": {"role": "assistant", "content": [{"text": answer}]}},
            "stopReason": stop,
            "usage": usage,
            "metrics": {"latencyMs": max(1, round((time.perf_counter() - started) * 1000))},
        }
        raw = json.dumps(doc).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(raw)))])
        return [raw]


class StandInServer:
    """A BedrockEmulator on a free 127.0.0.1 port, in a daemon thread (benchmarks and in-process tests; the
    devstack itself serves it like its other endpoints)."""

    def __init__(self, emulator: BedrockEmulator | None = None) -> None:
        from werkzeug.serving import make_server

        self.emulator = emulator or BedrockEmulator()
        self._server = make_server("127.0.0.1", 0, self.emulator, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="bedrock-stand-in", daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self) -> StandInServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _error(start_response: Callable[..., Any], status: int, kind: str, message: str) -> list[bytes]:
    raw = json.dumps({"message": message}).encode()
    reason = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout", 429: "Too Many Requests"}
    start_response(
        f"{status} {reason.get(status, 'Internal Server Error')}",
        [("Content-Type", "application/json"), ("x-amzn-ErrorType", kind), ("Content-Length", str(len(raw)))],
    )
    return [raw]
