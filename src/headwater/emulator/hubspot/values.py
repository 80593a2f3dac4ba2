"""Deterministic values: 64-bit hashes, HubSpot's timestamp formats, and the generators that fill
each property of a generated record from ``(seed, object type, id)``.

Every generator has a scalar form (:func:`generator_for`) and, for properties drawn from a small
set of values, a vectorised form (:func:`pool_for`) that picks the same value for a whole page of
ids at once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from headwater.emulator.hubspot import words
from headwater.emulator.hubspot.portal_metadata import PropDef

MASK64 = (1 << 64) - 1
DATA_START_MS = 1_672_531_200_000  # 2023-01-01T00:00:00Z: first generated createdAt
DATA_SPAN_MS = 1_000 * 86_400_000  # generated records are created over 1,000 days (to 2025-09-27)
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
BoolArray = npt.NDArray[np.bool_]


def mix(x: int) -> int:
    """splitmix64 finaliser on Python ints (identical to :func:`mix_array`)."""
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def mix_array(x: U64) -> U64:
    """splitmix64 finaliser over a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def salt(*parts: str | int) -> int:
    """A stable 64-bit salt for a name (independent of PYTHONHASHSEED)."""
    h = 0x6A09E667F3BCC908
    for part in parts:
        for ch in str(part).encode():
            h = mix(h ^ ch)
        h = mix(h ^ 0xFF)
    return h


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


_DAY_PREFIX: dict[int, str] = {}


def iso_ms(ms: int) -> str:
    """Epoch ms to HubSpot's ISO-8601 form with milliseconds: ``2023-02-24T03:00:14.155Z``."""
    s, frac = divmod(int(ms), 1000)
    day, sec = divmod(s, 86_400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))
        if len(_DAY_PREFIX) < 100_000:
            _DAY_PREFIX[day] = prefix
    h, rem = divmod(sec, 3600)
    m, sec = divmod(rem, 60)
    return f"{prefix}{h:02d}:{m:02d}:{sec:02d}.{frac:03d}Z"


def iso_ms_array(ms: I64) -> list[str]:
    """Vectorised :func:`iso_ms`."""
    text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms")
    return [x + "Z" for x in text.tolist()]


def iso_date(ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(int(ms) // 1000))


def parse_time_ms(value: str) -> int | None:
    """Epoch-ms string, ISO datetime or ``YYYY-MM-DD`` to epoch ms; ``None`` if unparseable."""
    v = value.strip()
    if not v:
        return None
    if v.lstrip("-").isdigit():
        return int(v)
    try:
        parsed = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return (parsed - _EPOCH) // dt.timedelta(milliseconds=1)


# --------------------------------------------------------------------------- value generators

Gen = Callable[[int, int, int], "str | None"]  # (record hash, property hash, id) -> value


def _pick(pool: tuple[str, ...], h: int) -> str:
    return pool[h % len(pool)]


# Record-level values (names, company) come straight from bits of the record hash, so that
# ``email`` agrees with ``firstname``/``lastname`` and ``website`` with ``domain``.
_NF = len(words.FIRST_NAMES)
_NL = len(words.LAST_NAMES)


def _first(h0: int) -> str:
    return words.FIRST_NAMES[(h0 >> 3) % _NF]


def _last(h0: int) -> str:
    return words.LAST_NAMES[(h0 >> 13) % _NL]


def _company(h0: int) -> str:
    a = _pick(words.COMPANY_WORDS_A, h0 >> 23)
    b = _pick(words.COMPANY_WORDS_B, h0 >> 33)
    return f"{a} {b} {_pick(words.COMPANY_SUFFIX, h0 >> 43)}"


def _domain(h0: int) -> str:
    a = _pick(words.COMPANY_WORDS_A, h0 >> 23).lower()
    b = _pick(words.COMPANY_WORDS_B, h0 >> 33).lower()
    return f"{a}{b}.{_pick(words.TLDS, h0 >> 47)}"


def _sentence(h: int) -> str:
    n = 3 + h % 7
    parts = []
    for _ in range(n):
        h = mix(h)
        parts.append(_pick(words.SENTENCE_WORDS, h))
    s = " ".join(parts)
    return s[0].upper() + s[1:]


def generator_for(prop: PropDef, owner_ids: tuple[str, ...]) -> Gen:
    kind = prop.gen
    if kind == "owner":
        pool = owner_ids or ("0",)
        return lambda _h0, h, _i: pool[h % len(pool)]
    if kind.startswith("int:"):
        lo, hi = (int(x) for x in kind[4:].split(":"))
        span = hi - lo + 1
        return lambda _h0, h, _i: str(lo + h % span)
    if kind.startswith("const:"):
        const = kind[6:]
        return lambda _h0, _h, _i: const
    if kind in ("enum", "deal_stage"):
        values = tuple(v for v, _ in prop.options)
        if kind == "deal_stage":
            return _deal_stage
        return lambda _h0, h, _i: values[h % len(values)]
    if kind == "multi":
        values = tuple(v for v, _ in prop.options)

        def multi(_h0: int, h: int, _i: int) -> str:
            chosen = [v for j, v in enumerate(values) if (h >> (j * 3)) % 3 == 0]
            return ";".join(chosen or values[:1])

        return multi
    simple: dict[str, Gen] = {
        "first_name": lambda h0, _h, _i: _first(h0),
        "last_name": lambda h0, _h, _i: _last(h0),
        "email": lambda h0, h, i: (
            f"{_first(h0).lower()}.{_last(h0).lower()}{i}@{_pick(words.EMAIL_DOMAINS, h)}"
        ),
        "phone": lambda _h0, h, _i: (
            f"+1 {200 + h % 800:03d}-{(h >> 10) % 1000:03d}-{(h >> 20) % 10000:04d}"
        ),
        "company_name": lambda h0, _h, _i: _company(h0),
        "domain": lambda h0, _h, _i: _domain(h0),
        "website": lambda h0, _h, _i: "https://www." + _domain(h0),
        "city": lambda _h0, h, _i: _pick(words.CITIES, h),
        "country": lambda _h0, h, _i: _pick(words.COUNTRIES, h),
        "job_title": lambda _h0, h, _i: _pick(words.JOB_TITLES, h),
        "sentence": lambda _h0, h, _i: _sentence(h),
        "money": lambda _h0, h, _i: f"{100 + h % 250_000}.{(h >> 20) % 100:02d}",
        "decimal": lambda _h0, h, _i: f"{h % 100}.{(h >> 12) % 1000:03d}",
        "bool": lambda _h0, h, _i: "true" if h & 1 else "false",
        "date": lambda _h0, h, _i: iso_date(
            DATA_START_MS - 400 * 86_400_000 + (h % 1500) * 86_400_000
        ),
        "datetime": lambda _h0, h, _i: iso_ms(DATA_START_MS + h % DATA_SPAN_MS),
        "deal_name": lambda h0, h, _i: f"{_company(h0)} - {_pick(words.PRODUCT_WORDS, h)}",
        "deal_pipeline": _deal_pipeline,
        "product_name": lambda _h0, h, _i: _pick(words.PRODUCT_WORDS, h),
        "sku": lambda _h0, h, _i: f"SKU-{h % 100_000:05d}",
        "product_ref": lambda _h0, h, _i: str(1 + h % 200),
        "pet_name": lambda _h0, h, _i: _pick(words.PET_NAMES, h),
    }
    if kind in simple:
        return simple[kind]
    raise ValueError(f"unknown generator {kind!r} for property {prop.name}")


def _deal_pipeline(h0: int, _h: int, _i: int) -> str:
    return "enterprise" if (h0 >> 53) % 5 == 0 else "default"


_DEFAULT_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
    "closedwon",
    "closedlost",
)
_ENTERPRISE_STAGES = ("101", "102", "103", "104", "105")


def _deal_stage(h0: int, h: int, i: int) -> str:
    stages = _ENTERPRISE_STAGES if _deal_pipeline(h0, h, i) == "enterprise" else _DEFAULT_STAGES
    return stages[h % len(stages)]


# --------------------------------------------------------------------------- vectorised pools

# (record hashes, property hashes >> 1) -> index into the pool of possible values
PoolIndex = Callable[[U64, U64], U64]


def _u(x: int) -> np.uint64:
    return np.uint64(x)


def pool_for(prop: PropDef, owner_ids: tuple[str, ...]) -> tuple[list[str], PoolIndex] | None:
    """All possible values of a property and a vectorised way to pick one, when the set is small.

    Each index function reproduces exactly what the scalar generator in :func:`generator_for` returns.
    """
    kind = prop.gen

    def by_h(values: list[str]) -> tuple[list[str], PoolIndex]:
        n = _u(len(values))
        return values, lambda _h0, h: h % n

    if kind == "enum":
        return by_h([v for v, _ in prop.options])
    if kind == "multi":
        values = [v for v, _ in prop.options]
        subsets = []
        for mask in range(1 << len(values)):
            chosen = [v for j, v in enumerate(values) if mask >> j & 1]
            subsets.append(";".join(chosen or values[:1]))

        def multi_index(_h0: U64, h: U64) -> U64:
            mask = np.zeros(h.shape, dtype=np.uint64)
            for j in range(len(values)):
                hit = (h >> _u(j * 3)) % _u(3) == _u(0)
                mask |= hit.astype(np.uint64) << _u(j)
            return mask

        return subsets, multi_index
    if kind.startswith("int:"):
        lo, hi = (int(x) for x in kind[4:].split(":"))
        if hi - lo + 1 <= 5_000:
            return by_h([str(lo + k) for k in range(hi - lo + 1)])
        return None
    if kind.startswith("const:"):
        return [kind[6:]], lambda _h0, h: np.zeros(h.shape, dtype=np.uint64)
    pools = {
        "city": words.CITIES,
        "country": words.COUNTRIES,
        "job_title": words.JOB_TITLES,
        "product_name": words.PRODUCT_WORDS,
        "pet_name": words.PET_NAMES,
        "owner": owner_ids or ("0",),
    }
    if kind in pools:
        return by_h(list(pools[kind]))
    if kind == "bool":
        return ["false", "true"], lambda _h0, h: h & _u(1)
    if kind == "product_ref":
        return by_h([str(1 + k) for k in range(200)])
    if kind == "date":
        start = DATA_START_MS - 400 * 86_400_000
        return by_h([iso_date(start + k * 86_400_000) for k in range(1500)])
    if kind == "first_name":
        return list(words.FIRST_NAMES), lambda h0, _h: (h0 >> _u(3)) % _u(_NF)
    if kind == "last_name":
        return list(words.LAST_NAMES), lambda h0, _h: (h0 >> _u(13)) % _u(_NL)
    if kind == "deal_pipeline":
        return ["default", "enterprise"], lambda h0, _h: ((h0 >> _u(53)) % _u(5) == _u(0)).astype(
            np.uint64
        )
    na, nb = len(words.COMPANY_WORDS_A), len(words.COMPANY_WORDS_B)
    if kind == "company_name":
        ns = len(words.COMPANY_SUFFIX)
        values = [
            f"{a} {b} {c}"
            for a in words.COMPANY_WORDS_A
            for b in words.COMPANY_WORDS_B
            for c in words.COMPANY_SUFFIX
        ]
        return (
            values,
            lambda h0, _h: (
                (h0 >> _u(23)) % _u(na) * _u(nb * ns)
                + (h0 >> _u(33)) % _u(nb) * _u(ns)
                + (h0 >> _u(43)) % _u(ns)
            ),
        )
    if kind in ("domain", "website"):
        nt = len(words.TLDS)
        scheme = "https://www." if kind == "website" else ""
        values = [
            f"{scheme}{a.lower()}{b.lower()}.{t}"
            for a in words.COMPANY_WORDS_A
            for b in words.COMPANY_WORDS_B
            for t in words.TLDS
        ]
        return (
            values,
            lambda h0, _h: (
                (h0 >> _u(23)) % _u(na) * _u(nb * nt)
                + (h0 >> _u(33)) % _u(nb) * _u(nt)
                + (h0 >> _u(47)) % _u(nt)
            ),
        )
    return None
