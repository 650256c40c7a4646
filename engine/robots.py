"""The messages group robots and webhooks take, and their signatures (each vendor's documented
custom-robot API): WeCom (企业微信) markdown, no signature; DingTalk (钉钉) markdown, signed with
`timestamp` and `sign` in the address (HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret);
Feishu (飞书) text, `timestamp` and `sign` in the body (HMAC-SHA256 of an empty message keyed by
"timestamp\\nsecret"); a generic JSON webhook, signed `X-CRMFlow-Signature: sha256=<hex>` over
"timestamp.body" keyed by the secret, with `X-CRMFlow-Timestamp` and `X-CRMFlow-Delivery` (the
same for every retry of one notice, so a receiver can drop a repeat)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

KINDS = ("wecom", "dingtalk", "feishu", "webhook")
TIMEOUT = 10.0


@dataclass(frozen=True)
class Notice:
    kind: str  # the notification's kind (assigned, urge, ...)
    title: str
    text: str
    link: str
    delivery: str  # stable per notice: the job's id
    extra: dict[str, Any]


@dataclass(frozen=True)
class Request:
    url: str
    body: bytes
    headers: dict[str, str]


def _b64_hmac(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def build(kind: str, url: str, secret: str | None, notice: Notice, now_ms: int) -> Request:
    """The HTTP request that carries `notice` to a channel of `kind`."""
    headers = {"Content-Type": "application/json; charset=utf-8"}
    markdown = f"### {notice.title}\n\n{notice.text}\n\n[{notice.link}]({notice.link})"
    if kind == "wecom":
        payload: dict[str, Any] = {"msgtype": "markdown", "markdown": {"content": markdown}}
    elif kind == "dingtalk":
        payload = {"msgtype": "markdown", "markdown": {"title": notice.title, "text": markdown}}
        if secret:
            sign = _b64_hmac(secret.encode(), f"{now_ms}\n{secret}".encode())
            url += ("&" if "?" in url else "?") + f"timestamp={now_ms}&sign={quote(sign, safe='')}"
    elif kind == "feishu":
        payload = {"msg_type": "text", "content": {"text": f"{notice.title}\n{notice.text}\n{notice.link}"}}
        if secret:
            seconds = now_ms // 1000
            payload = {"timestamp": str(seconds), "sign": _b64_hmac(f"{seconds}\n{secret}".encode(), b""), **payload}
    elif kind == "webhook":
        payload = {"kind": notice.kind, "title": notice.title, "text": notice.text, "link": notice.link, **notice.extra}
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers["X-CRMFlow-Delivery"] = notice.delivery
        headers["X-CRMFlow-Timestamp"] = str(now_ms // 1000)
        if secret:
            signed = headers["X-CRMFlow-Timestamp"].encode() + b"." + body
            headers["X-CRMFlow-Signature"] = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return Request(url, body, headers)
    else:
        raise ValueError(f"unknown channel kind '{kind}'")
    return Request(url, json.dumps(payload, ensure_ascii=False).encode(), headers)


class DeliveryFailed(Exception):
    """The channel did not take the notice (the job runner retries it)."""


def send(request: Request, timeout: float = TIMEOUT) -> None:
    """POST the request; a status other than 2xx, or a robot's own error code in a 200, fails."""
    http = urllib.request.Request(request.url, data=request.body, headers=request.headers, method="POST")
    try:
        with urllib.request.urlopen(http, timeout=timeout) as response:
            answer = response.read(65536)
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"the channel answered {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise DeliveryFailed(f"the channel could not be reached: {exc}") from None
    try:
        parsed = json.loads(answer) if answer.strip().startswith(b"{") else {}
    except ValueError:
        parsed = {}
    code = parsed.get("errcode", parsed.get("code", 0)) if isinstance(parsed, dict) else 0
    if code not in (0, None):
        raise DeliveryFailed(f"the robot refused the message: {str(parsed)[:300]}")
