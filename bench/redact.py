"""What masking secrets in their encoded forms costs `redact()`, side by side in one run.

Six secrets registered (three keys, a webhook URL, a check-in URL, a proxy password) two ways: as the
values only (with the escapes a JSON line or an exception shows them in, what `register` did before
issue 21), and with every encoded form `register` now adds (base64 at three alignments, URL-safe, URL-,
HTML-, XML- and JSON-escaped, hex). Each is timed on a run's summary log line, a --json document and a
25 KB text (a long history). Prints microseconds per call (best of 7 batches) and the ratio.

    Usage: python -m bench.redact
"""

from __future__ import annotations

import json
import time

from housejobs import redact

SECRETS = ("bench-root-key-not-a-secret-5f1e", "bench-scheduler-secret-2d8c4e", "sbp_bench_token_9a7c3e1f00",
           "https://hooks.example.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX",
           "https://hc-ping.example.com/5f1e0c9a-7b2d-4e8c-9a7c-3e1f5f1e0c9a", "bench-proxy-pass-8c1d")
SUMMARY = json.dumps({"severity": "INFO", "message": "quota-reset applied", "time": "2026-11-24T10:00:00Z",
                      "logging.googleapis.com/labels": {"job": "quota-reset", "env": "stage", "execution": ""},
                      "event": "run_summary", "outcome": "applied", "exit_code": 0, "counts": {"orgs_reset": 25},
                      "attempts": 1, "duration_ms": 41, "target": "stage (https://api-stage.cloudact.example)"})
DOCUMENT = json.dumps({"job": "org-sync-all", "env": "stage", "outcome": "partial", "message": "2 of 25 orgs failed",
                       "failures": [{"unit": f"org-{i}", "reason": "POST /admin/orgs/x/sync: 500 internal: boom"}
                                    for i in range(2)], "counts": {"synced": 23, "failed": 2}}, indent=2)
LONG = "\n".join(f"quota-reset  2026-11-{d:02d} 00:00  ✓ succeeded  housejobs-quota-reset-stage-abc{d}  {d * 13} ms"
                 for d in range(1, 31)) * 10


def plain_forms(value: str) -> set[str]:
    return {value, value.encode("unicode_escape").decode("ascii"), json.dumps(value)[1:-1]}


def per_call_us(text: str, rounds: int) -> float:
    """The best of 7 batches (the machine is shared: the least disturbed batch is the cost)."""
    redact.redact(text)  # the index is built on first use
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(rounds):
            redact.redact(text)
        best = min(best, (time.perf_counter() - start) / rounds)
    return best * 1e6


def main() -> None:
    plain = set().union(*(plain_forms(s) for s in SECRETS))
    encoded = set().union(*(redact.encoded_forms(s) for s in SECRETS))
    print(f"{len(SECRETS)} secrets: {len(plain)} values plain, {len(encoded)} with their encoded forms\n")
    print("| text | plain forms (us) | encoded forms (us) | ratio |\n|---|---|---|---|")
    for name, text, rounds in (("summary log line", SUMMARY, 5000), ("--json document", DOCUMENT, 5000),
                               (f"{len(LONG) // 1000} KB text", LONG, 200)):
        times = []
        for values in (plain, encoded):
            redact._values = set(values)
            times.append(per_call_us(text, rounds))
        print(f"| {name} | {times[0]:.1f} | {times[1]:.1f} | {times[1] / times[0]:.2f}x |")


if __name__ == "__main__":
    main()
