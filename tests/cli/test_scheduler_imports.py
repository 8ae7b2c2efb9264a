"""The production ``syncline scheduler`` loads no demo code; ``--demo-activity`` loads it.

Each case is a fresh Python process (this one has imported everything already): it runs the
real ``scheduler`` command up to the point where it would start serving, then lists the
demo modules it loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

ROOT = Path(__file__).resolve().parents[2]

#: Run the scheduler command, stopping where it would serve; print the demo modules loaded.
SCRIPT = """
import json, sys
import cli.sync
cli.sync.serve = lambda *args, **kwargs: None
from cli import main
main(sys.argv[1:], standalone_mode=False)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("demo", "faker"))))
"""


def _demo_modules_loaded(folder: Path, *args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, "scheduler", *args],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_production_scheduler_loads_no_demo_code(project: Path, ready: Engine) -> None:
    assert _demo_modules_loaded(project) == []


def test_the_demo_activity_is_loaded_when_asked_for(project: Path, ready: Engine) -> None:
    loaded = _demo_modules_loaded(project, "--demo-activity")
    assert "demo.activity" in loaded
    assert "faker" in loaded
