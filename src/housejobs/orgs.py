"""What an org slug is (docs/api.md): one rule for the client (jobs/org_sync.py: `--org` and every listed org
before its URL is built) and the sandbox (sandbox/app.py: the slug in a sync path, else 400 invalid_org).

The pattern is written as the contract writes it and always matched whole (`fullmatch`): with `match`, its
`$` also matches before a trailing newline, which once let "acme\\n" into a URL.
"""

from __future__ import annotations

import re
from typing import TypeGuard

ORG_SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_ORG_SLUG = re.compile(ORG_SLUG_PATTERN)


def is_org_slug(value: object) -> TypeGuard[str]:
    """Whether `value` is an org slug: a string the whole of which matches ORG_SLUG_PATTERN."""
    return isinstance(value, str) and _ORG_SLUG.fullmatch(value) is not None
