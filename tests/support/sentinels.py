"""The secrets every test runs with, as sentinel values, and the check that none of them leaks.

Every secret the project knows is set to a sentinel for every test (tests/conftest.py does it; the
notification sink URLs only where a test sets them), and the autouse check there fails any test whose
output (captured file descriptors and every CLI run) contains one.
"""

from __future__ import annotations

SENTINELS = {
    "CA_ROOT_API_KEY": "sentinel-root-key-5f1e0c9a7b",
    "SCHEDULER_SHARED_SECRET": "sentinel-scheduler-secret-2d8c4e",
    "SUPABASE_ACCESS_TOKEN": "sbp_sentinel_token_9a7c3e1f",
}
# The notification sink URLs embed tokens too, but are not set for every test: every job run would then
# ping a sink (and wait on it). The notification tests put these tokens into the URLs of their local sink
# servers (tests/support/sink_fixtures.py); the leak check looks for them in every test's output all the same.
NOTIFY_TOKENS = {
    "HOUSEJOBS_NOTIFY_URL": "sentinel-hook-token-4b2a",
    "HOUSEJOBS_HEALTHCHECK_URL": "sentinel-check-uuid-7e6d",
}
# A developer's own sink, proxy and CA settings never reach a test: tests/support/hermetic.py removes them.
# The distinctive parts of each sentinel: a leak of any of them counts, even inside a longer text.
SENTINEL_MARKERS = ("sentinel-root-key", "sentinel-scheduler-secret", "sbp_sentinel_token",
                    "sentinel-hook-token", "sentinel-check-uuid")
ROOT_KEY = SENTINELS["CA_ROOT_API_KEY"]
# A proxy password is a secret like any other: it must never reach the output (the network tests check it).
PROXY_USER, PROXY_PASSWORD = "ops", "sentinel-proxy-pass-8c1d"


def assert_no_secret(text: str, where: str = "output") -> None:
    for marker in SENTINEL_MARKERS:
        assert marker not in text, f"secret sentinel {marker!r} leaked into {where}"
