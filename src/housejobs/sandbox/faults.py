"""Fault injection for the sandbox: what the next requests to a route will suffer.

Set over HTTP (`POST /_sandbox/faults`) or from code. A rule applies to one route path (or "*" for
every admin route) and is consumed request by request, so a test can script "503, 503, then 200".
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("drop_before_commit", "drop_after_commit", "malformed", "truncated")
# How a sharded listing (shard=I/N) misbehaves, for as long as the rule stands: list every org and echo no
# shard (a server that ignores it), list and echo shard I+1 (the wrong shard), or add an org of shard I+1 to
# every page of shard I.
SHARD_FAULTS = ("ignore_shard", "wrong_echo", "foreign_org")
UNFAULTED_BY_WILDCARD = frozenset({"/admin/notifications"})


@dataclass
class Rule:
    statuses: deque[int] = field(default_factory=deque)  # answered before any effect, in order
    retry_after: str | None = None  # header sent with scripted 429/503 answers
    latency_ms: float = 0.0  # added to every request on the route
    hold_ms: float = 0.0  # time between claiming the key and committing the effect (409s for concurrent twins)
    error_rate: float = 0.0  # probability of a 503 before any effect
    drop_before_commit: int = 0  # close the connection without acting
    drop_after_commit: int = 0  # act, commit, then close the connection without an answer
    malformed: int = 0  # act, commit, answer 200 with a body that is not JSON
    truncated: int = 0  # act, commit, answer 200 with half a JSON body
    fail_orgs: dict[str, int] = field(default_factory=dict)  # org slug -> status to answer its sync with
    auth_fail_after: int | None = None  # after this many more requests, answer 401
    shard_fault: str | None = None  # GET /admin/orgs with shard=: one of SHARD_FAULTS


@dataclass
class Decision:
    status: int | None = None
    retry_after: str | None = None
    latency_s: float = 0.0
    hold_s: float = 0.0
    action: str | None = None


class Faults:
    def __init__(self, seed: int | None = None) -> None:
        self._rules: dict[str, Rule] = {}
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def configure(self, spec: dict[str, Any]) -> None:
        route = str(spec.get("route", "*"))
        with self._lock:
            rule = self._rules.setdefault(route, Rule())
            if "statuses" in spec:
                rule.statuses.extend(int(s) for s in spec["statuses"])
            if "retry_after" in spec:
                rule.retry_after = None if spec["retry_after"] is None else str(spec["retry_after"])
            for name in ("latency_ms", "hold_ms", "error_rate"):
                if name in spec:
                    setattr(rule, name, float(spec[name]))
            for name in ACTIONS:
                if name in spec:
                    setattr(rule, name, int(spec[name]))
            if "fail_orgs" in spec:
                orgs = spec["fail_orgs"]
                if isinstance(orgs, list):
                    rule.fail_orgs.update({str(o): 500 for o in orgs})
                else:
                    rule.fail_orgs.update({str(k): int(v) for k, v in dict(orgs).items()})
            if "shard_fault" in spec:
                value = spec["shard_fault"]
                if value is not None and value not in SHARD_FAULTS:
                    raise ValueError(f"shard_fault must be one of {', '.join(SHARD_FAULTS)}")
                rule.shard_fault = value
            if "auth_fail_after" in spec:
                value = spec["auth_fail_after"]
                rule.auth_fail_after = None if value is None else int(value)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def _rules_for(self, route: str) -> list[Rule]:
        # "*" means every route of the API under test; the notification inbox is the sandbox standing in
        # for a sink, so a scripted API failure must not swallow the notification that reports it.
        wildcard = "*" if route not in UNFAULTED_BY_WILDCARD else None
        return [r for key, r in self._rules.items() if key in (route, wildcard)]

    def before(self, route: str) -> Decision:
        """Decide, before any effect, whether this request fails outright."""
        decision = Decision()
        with self._lock:
            for rule in self._rules_for(route):
                decision.latency_s = max(decision.latency_s, rule.latency_ms / 1000)
                decision.hold_s = max(decision.hold_s, rule.hold_ms / 1000)
                if rule.auth_fail_after is not None:
                    if rule.auth_fail_after <= 0:
                        decision.status = 401
                        return decision
                    rule.auth_fail_after -= 1
                if rule.statuses:
                    decision.status = rule.statuses.popleft()
                    decision.retry_after = rule.retry_after
                    return decision
                if rule.error_rate and self._rng.random() < rule.error_rate:
                    decision.status = 503
                    return decision
                for action in ACTIONS:
                    if getattr(rule, action) > 0:
                        setattr(rule, action, getattr(rule, action) - 1)
                        decision.action = action
                        return decision
        return decision

    def shard_fault(self) -> str | None:
        """How the org listing misbehaves when asked for a shard (SHARD_FAULTS), or None."""
        with self._lock:
            return next((r.shard_fault for r in self._rules_for("/admin/orgs") if r.shard_fault), None)

    def org_failure(self, slug: str) -> int | None:
        with self._lock:
            for key, rule in self._rules.items():
                if (key.startswith("/admin/orgs") or key == "*") and slug in rule.fail_orgs:
                    return rule.fail_orgs[slug]
        return None


def parse_specs(raw: str | None) -> list[dict[str, Any]]:
    """One fault spec or a list of them, as JSON (`POST /_sandbox/faults` takes the same), each checked
    on a scratch instance: a bad value raises ValueError naming its kind, before any server starts."""
    if not raw:
        return []
    import json

    try:
        parsed = json.loads(raw)
        specs = parsed if isinstance(parsed, list) else [parsed]
        if not all(isinstance(spec, dict) for spec in specs):
            raise TypeError("not an object")
        for spec in specs:
            Faults().configure(spec)
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as exc:
        # OverflowError: a count of 1e400 (JSON's infinity); RecursionError: JSON nested too deeply.
        raise ValueError(exc.__class__.__name__) from None
    return specs
