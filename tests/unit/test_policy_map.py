"""docs/POLICY.md maps each verifiable promise of the privacy policy to its tests: the map must stay true."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POLICY_MAP = ROOT / "docs" / "POLICY.md"
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def kept_by_code_rows() -> list[str]:
    """The rows of the table under "## Kept by code" (header and rule left out)."""
    section = POLICY_MAP.read_text().split("## Kept by code", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return rows[2:]


@cache
def defined_tests(path: str) -> frozenset[str]:
    """Names of the test functions a file defines (module level or in a class), or none if it is gone."""
    file = ROOT / path
    if not file.is_file():
        return frozenset()
    tree = ast.parse(file.read_text())
    return frozenset(node.name for node in ast.walk(tree)
                     if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"))


def test_every_promise_kept_by_code_names_a_test():
    rows = kept_by_code_rows()
    assert len(rows) >= 40
    assert [row for row in rows if not TEST_REF.search(row.rsplit("|", 2)[-2])] == []


def test_every_test_named_in_the_map_exists():
    named = {ref for row in kept_by_code_rows() for ref in TEST_REF.findall(row)}
    assert [f"{path}::{name}" for path, name in sorted(named) if name not in defined_tests(path)] == []


def test_every_policy_test_is_in_the_map():
    named = {ref for row in kept_by_code_rows() for ref in TEST_REF.findall(row)}
    policy_tests = {(str(f.relative_to(ROOT)), name)
                    for f in sorted((ROOT / "tests" / "api").glob("test_policy_*.py")) for name in defined_tests(str(f.relative_to(ROOT)))}
    assert sorted(policy_tests - named) == []


def test_the_map_reader_sees_a_missing_test():
    assert "test_the_session_cookie" in defined_tests("tests/api/test_sessions.py")
    assert "test_no_such_test" not in defined_tests("tests/api/test_sessions.py")
    assert defined_tests("tests/api/test_no_such_file.py") == frozenset()
