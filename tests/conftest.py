"""Project-wide test policy: a skipped test is a failure.

A skip hides a test that did not run (a missing dependency, a missing data set) behind a green result, so
this hook turns any skip into a failing exit status and names the skipped tests.
"""

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and session.exitstatus == 0:
        names = ", ".join(report.nodeid for report in skipped)
        reporter.write_line(f"FAILED: {len(skipped)} test(s) skipped; every test must run: {names}", red=True)
        session.exitstatus = 1
