"""`kill -9` while the static site is rebuilt: readers see the old site or the new, whole.

A child process rebuilds the site over and over, alternating between two entry sets (three
articles, then six), and is SIGKILLed at random moments (seeded). After every kill each file
of the site is read: the folder must equal one of the two complete builds byte for byte, or,
if the kill fell between the two renames of the swap, be absent with one complete site
waiting under its ``.old`` name. The next build must then recover and write the new site.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.publish.site import build_site
from tests.support import tally
from tests.support.site_entries import entries, snapshot

REPO = Path(__file__).resolve().parents[2]
KILLS = 5
CHURN = """
import sys
from pathlib import Path
from pipeline.publish.site import build_site
from tests.support.site_entries import entries
site, n = Path(sys.argv[1]), 0
print("ready", flush=True)
while True:
    build_site(entries()[:3] if n % 2 else entries(), site)
    n += 1
"""


@pytest.mark.slow  # a subprocess or the whole demo set: seconds, not ms
def test_kill_9_during_publishing_never_leaves_a_half_written_site(tmp_path: Path) -> None:
    build_site(entries()[:3], tmp_path / "old")
    build_site(entries(), tmp_path / "new")
    complete = [snapshot(tmp_path / "old"), snapshot(tmp_path / "new")]
    assert complete[0] != complete[1]
    site = tmp_path / "site"
    build_site(entries()[:3], site)
    rng = random.Random(8)
    seen = {"old": 0, "new": 0, "between renames": 0}
    for _ in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, "-c", CHURN, str(site)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 1.5))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        tally.count("faults injected: kill -9 during site build")
        if site.exists():
            found = snapshot(site)
            assert found in complete, sorted(found)
            seen["old" if found == complete[0] else "new"] += 1
        else:
            [waiting] = [p for p in tmp_path.iterdir() if p.name.startswith(".site.old-")]
            assert snapshot(waiting) in complete
            seen["between renames"] += 1
        report = build_site(entries(), site)
        assert report.articles == 6 and snapshot(site) == complete[1]
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site.")] == [".site.lock"]
        tally.count("faults survived: kill -9 during site build")
    assert sum(seen.values()) == KILLS
