"""housejobs: run, schedule and deploy a platform's maintenance jobs on Google Cloud Run Jobs."""

import sys

__version__ = "0.1.0"

# `import httpx` also imports httpx's own command-line tool (httpx._main), and with it rich and pygments:
# ~35 ms of every job's start-up, paid on each Cloud Run cold start, for a CLI housejobs never calls.
# httpx imports it as `from ._main import main`, so a stand-in registered first is what it finds. The
# stand-in only says so if called; a process that already loaded the real module keeps it.
if "httpx._main" not in sys.modules:
    # type(sys) is types.ModuleType, without importing `types` ahead of the console script's signal handlers.
    _stand_in = type(sys)("httpx._main", "housejobs: httpx's command-line tool is not loaded")

    def _no_cli() -> None:
        raise RuntimeError("httpx's command-line tool is not available inside housejobs")

    _stand_in.main = _no_cli  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = _stand_in
