"""Text messages (SMS): what a message says as a text, and the senders that deliver it.

A sender is anything with `send(text)`; the one shipped is `HttpGateway`, a JSON POST with a
bearer token to the clinic's gateway (SMS_GATEWAY_URL, SMS_GATEWAY_TOKEN, SMS_SENDER), the
shape most SMS gateways take. The outbox's claim, retry and back-off (`sending`) are the same
for texts and emails.

How a text is cut: a message's own `text`, else its subject and body without the greeting,
on one line. It must fit two SMS parts: 306 characters of the GSM 7-bit alphabet (2 x 153;
the characters ^{}\\[~]|€ count twice), or 134 UTF-16 units when any other character (an
emoji, a letter outside that alphabet) makes the whole text UCS-2 (2 x 67). A longer text is
cut at the last word that fits, followed by "...".
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
MAX_PARTS = 2
GSM_PART, GSM_SINGLE = 153, 160
UCS2_PART, UCS2_SINGLE = 67, 70
ELLIPSIS = "..."
TIMEOUT_SECONDS = 15


def _is_gsm(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENDED for c in text)


def _units(text: str) -> tuple[int, bool]:
    """The text's length as SMS counts it, and whether it is in the GSM 7-bit alphabet."""
    if _is_gsm(text):
        return sum(2 if c in GSM_EXTENDED else 1 for c in text), True
    return len(text.encode("utf-16-le")) // 2, False


def sms_parts(text: str) -> int:
    """How many SMS parts the text takes."""
    units, gsm = _units(text)
    single, part = (GSM_SINGLE, GSM_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    return 1 if units <= single else -(-units // part)


def fits(text: str, parts: int = MAX_PARTS) -> bool:
    return sms_parts(text) <= parts


def cut(text: str, parts: int = MAX_PARTS) -> str:
    """`text` on one line, cut at a word to fit `parts` SMS parts (see the module's doc)."""
    text = " ".join(text.split())
    if fits(text, parts):
        return text
    words = text.split(" ")
    while words:
        words.pop()
        shorter = " ".join(words).rstrip(",;:-") + ELLIPSIS
        if fits(shorter, parts):
            return shorter
    # One word longer than two parts (a link, say): cut within it.
    shorter = text
    while shorter and not fits(shorter + ELLIPSIS, parts):
        shorter = shorter[:-1]
    return shorter + ELLIPSIS


def short_text(subject: str, body: str, own: str | None = None) -> str:
    """What a message says as a text: its own short wording, or its subject and body without
    the greeting, cut to two SMS parts."""
    if own:
        return cut(own)
    lines = [line.strip().removeprefix("- ").strip() for line in body.splitlines()]
    if lines and lines[0].startswith("Hello "):
        lines = lines[1:]
    return cut(" ".join([subject.rstrip(".") + ":", *(line for line in lines if line)]))


@dataclass(frozen=True, slots=True)
class Text:
    to: str  # E.164
    body: str
    reference: str  # the outbox message's, for the gateway's own duplicate check


class TextNotSent(Exception):
    """The gateway did not take the text; `temporary`: a later try may succeed."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.temporary = temporary


class TextSender(Protocol):
    def send(self, text: Text) -> None:
        """Deliver `text` or raise `TextNotSent`."""


# Answers a later try may change: a timeout, too early, too many requests, the gateway's own
# trouble (5xx). Any other refusal (bad number, bad token) fails the message for good.
TEMPORARY_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class HttpGateway:
    """An SMS gateway taking `{"to", "from", "text", "reference"}` as JSON with
    `Authorization: Bearer <token>`; any 2xx answer means accepted."""

    url: str
    token: str
    sender: str
    timeout: float = TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        # Only a web address: urllib would also open file: and other schemes.
        if urllib.parse.urlsplit(self.url).scheme not in ("http", "https"):
            raise ValueError("SMS_GATEWAY_URL must be an http:// or https:// address.")

    def send(self, text: Text) -> None:
        payload = {
            "to": text.to,
            "from": self.sender,
            "text": text.body,
            "reference": text.reference,
        }
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": text.reference,
            },
        )
        try:
            # The clinic's configured URL, http(s) only (__post_init__).
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310  # nosec B310
                answer.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode(errors="replace")
            temporary = exc.code >= 500 or exc.code in TEMPORARY_STATUSES
            raise TextNotSent(f"HTTP {exc.code} {detail}".strip(), temporary=temporary) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise TextNotSent(f"{type(exc).__name__}: {exc}", temporary=True) from exc
