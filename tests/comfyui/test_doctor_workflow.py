"""`vivant doctor` shows every problem of a workflow (not the first three), once each, with the file's path."""

from __future__ import annotations

from pathlib import Path

from vivant.doctor import workflow_finding


def test_every_problem_is_shown_with_the_workflow_path(tmp_path: Path) -> None:
    path = tmp_path / "workflows" / "restore.json"
    problems = [f"node {n} (KSampler) input steps: value {n} is not allowed" for n in range(5)]
    report = {"http://a:8188 restore": problems, "http://b:8188 restore": [*problems, "node 9: class 'X' is missing"]}
    finding = workflow_finding("workflow restore", path, report)
    assert not finding.ok
    assert finding.detail.startswith(f"{path}: 6 problem(s): ")
    for p in problems:
        assert finding.detail.count(p) == 1
    assert "node 9: class 'X' is missing (on http://b:8188)" in finding.detail
    ok = workflow_finding("workflow restore", path, {"http://a:8188 restore": []})
    assert ok.ok and ok.detail == f"restore.json: ok on 1 endpoint(s) ({path})"
