"""A deterministic, seedable fault plan: the ways HubSpot misbehaves, on purpose.

From the CLI, ``--faults "429:0.02,503x3:0.01,latency:20ms,reset:0.001"``; from tests,
``FaultPlan([FaultRule("reset", endpoint="objects.list", on_requests={3})])``.

Kinds:

* ``429`` - rate-limit refusal with HubSpot's legacy body, without ``Retry-After`` (``429r`` sends it);
* ``500``/``502``/``503``/``504`` - server errors; ``503x5`` makes a burst of five in a row;
* ``latency:20ms`` - every request is delayed; ``slow:P:500ms`` delays a share ``P`` of them;
* ``reset`` - the connection is aborted (TCP RST) before any byte of the response;
* ``truncate`` - headers promise the full body but only part of it is sent, then the socket closes;
* ``empty`` - a list page comes back with no results but a ``paging.next`` (mid-stream empty page);
* ``repeat`` - a list page repeats the ``after`` cursor it was called with (a paging loop).

Malformed answers (a 200 whose body is wrong; on JSON answers of the API, not the admin API):

* ``malformed`` - the body is cut in half: not JSON any more (the length header matches it);
* ``wrongtype`` - ``results`` is a string; ``nullresults`` - ``results`` is ``null``;
* ``badpaging`` - ``paging.next`` is a string; ``nopaging`` - ``paging`` is left out;
* ``huge`` - 10 MiB of padding in the page (a field HubSpot does not send);
* ``endless`` - a page without records whose ``paging.next.after`` is always a new cursor.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from headwater.emulator.hubspot.values import mix, salt

STATUS_KINDS = ("429", "429r", "500", "502", "503", "504")
BODY_KINDS = ("malformed", "wrongtype", "nullresults", "badpaging", "nopaging", "huge", "endless")
KINDS = (*STATUS_KINDS, "latency", "slow", "reset", "truncate", "empty", "repeat", *BODY_KINDS)
HUGE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class FaultRule:
    """One kind of misbehaviour.

    Fires on request numbers in ``on_requests`` (1-based, counted per ``endpoint`` when one is set,
    across all API requests otherwise), or with ``probability`` per request, or on every request
    when neither is given. ``endpoint`` is an endpoint name such as ``objects.list`` or a prefix
    ending in ``*`` (``objects.*``). A triggered status fault repeats for ``burst`` requests.
    """

    kind: str
    probability: float | None = None
    on_requests: frozenset[int] | None = None
    endpoint: str | None = None
    burst: int = 1
    latency_ms: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(
                f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}"
            )
        if self.on_requests is not None and not isinstance(self.on_requests, frozenset):
            object.__setattr__(self, "on_requests", frozenset(self.on_requests))
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError("fault probability must be between 0 and 1")
        if self.kind in ("latency", "slow") and self.latency_ms <= 0:
            raise ValueError(f"{self.kind} faults need latency_ms > 0")

    def matches(self, endpoint: str) -> bool:
        if self.endpoint is None:
            return True
        if self.endpoint.endswith("*"):
            return endpoint.startswith(self.endpoint[:-1])
        return endpoint == self.endpoint


@dataclass(frozen=True, slots=True)
class Faults:
    """What to do to one request."""

    status: int | None = None
    retry_after: bool = False
    delay_ms: int = 0
    reset: bool = False
    truncate: bool = False
    empty: bool = False
    repeat: bool = False
    body: str | None = None  # one of BODY_KINDS


NO_FAULTS = Faults()


def mangle(kind: str, body: bytes, after: str | None) -> bytes:
    """The 200 body of a ``BODY_KINDS`` fault, made from the real one."""
    if kind == "malformed":
        return body[: max(1, len(body) // 2)]
    if kind == "endless":
        start = int(after) if after is not None and after.isdigit() else 0
        return json.dumps({"results": [], "paging": {"next": {"after": str(start + 100)}}}).encode()
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if not isinstance(doc, dict):
        return body
    if kind == "wrongtype":
        doc["results"] = "results"
    elif kind == "nullresults":
        doc["results"] = None
    elif kind == "badpaging":
        doc["paging"] = {"next": "soon"}
    elif kind == "nopaging":
        doc.pop("paging", None)
    elif kind == "huge":
        doc = {"padding": "x" * HUGE_BYTES, **doc}
    return json.dumps(doc).encode()


def _parse_ms(text: str) -> int:
    t = text.strip().lower()
    if t.endswith("ms"):
        return round(float(t[:-2]))
    if t.endswith("s"):
        return round(float(t[:-1]) * 1000)
    return round(float(t))


def parse_fault_spec(spec: str) -> list[FaultRule]:
    """Parse the CLI syntax, e.g. ``"429:0.02,503x3:0.01,latency:20ms,slow:0.1:300ms,reset:0.001"``."""
    rules: list[FaultRule] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        head, _, rest = item.partition(":")
        burst = 1
        if "x" in head and head.split("x", 1)[0] in STATUS_KINDS:
            head, n = head.split("x", 1)
            burst = int(n)
        if head == "latency":
            rules.append(FaultRule("latency", latency_ms=_parse_ms(rest)))
        elif head == "slow":
            p, _, ms = rest.partition(":")
            rules.append(
                FaultRule("slow", probability=float(p), latency_ms=_parse_ms(ms or "500ms"))
            )
        elif head in KINDS:
            rules.append(FaultRule(head, probability=float(rest) if rest else None, burst=burst))
        else:
            raise ValueError(f"cannot parse fault {item!r}")
    return rules


@dataclass
class FaultPlan:
    """Rules plus the per-endpoint request counters that make them deterministic."""

    rules: list[FaultRule] = field(default_factory=list)
    seed: int = 0
    _counts: dict[str, int] = field(default_factory=dict)
    _total: int = 0
    _burst_left: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def parse(cls, spec: str, seed: int = 0) -> FaultPlan:
        return cls(parse_fault_spec(spec), seed)

    def replace(self, rules: Iterable[FaultRule]) -> None:
        """Swap the rules (and restart the counters) while the emulator runs."""
        with self._lock:
            self.rules = list(rules)
            self._counts.clear()
            self._total = 0
            self._burst_left.clear()

    def decide(self, endpoint: str) -> Faults:
        if not self.rules:
            return NO_FAULTS
        with self._lock:
            self._total += 1
            n_all = self._total
            n_ep = self._counts.get(endpoint, 0) + 1
            self._counts[endpoint] = n_ep
            status: int | None = None
            retry_after = False
            delay = 0
            flags: dict[str, bool] = {}
            for idx, rule in enumerate(self.rules):
                if not rule.matches(endpoint):
                    continue
                n = n_ep if rule.endpoint is not None else n_all
                fired = False
                left = self._burst_left.get(idx, 0)
                if left > 0:
                    self._burst_left[idx] = left - 1
                    fired = True
                elif rule.on_requests is not None:
                    fired = n in rule.on_requests
                elif rule.probability is not None:
                    draw = mix(salt(self.seed, "fault", idx) ^ n) / 2**64
                    fired = draw < rule.probability
                else:
                    fired = True
                if not fired:
                    continue
                if rule.burst > 1 and left == 0:
                    self._burst_left[idx] = rule.burst - 1
                if rule.kind in STATUS_KINDS:
                    if status is None:
                        status = int(rule.kind[:3])
                        retry_after = rule.kind == "429r"
                elif rule.kind in ("latency", "slow"):
                    delay += rule.latency_ms
                else:
                    flags[rule.kind] = True
            if status is None and delay == 0 and not flags:
                return NO_FAULTS
            return Faults(
                status=status,
                retry_after=retry_after,
                delay_ms=delay,
                reset=flags.get("reset", False),
                truncate=flags.get("truncate", False),
                empty=flags.get("empty", False),
                repeat=flags.get("repeat", False),
                body=next((k for k in BODY_KINDS if flags.get(k)), None),
            )
