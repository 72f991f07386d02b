"""``avdc report``: the page of a real evaluation, looked at in a real headless Chromium."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest

from avdc_core import InputDataError
from avdc_core.evaluation import EvalOptions, grid_jobs, run_evaluation
from avdc_core.evaluation.report import collect_episodes, render_report
from avdc_core.spec import read_yaml

from paths import ROOT

SPEC = ROOT / "specs" / "miniworld-oracle-simflow.yaml"
ARTIFACTS = Path(os.environ.get("AVDC_TEST_ARTIFACTS", ROOT / "runs" / "test-artifacts"))
"""Where the screenshots are kept for a person to look at."""
CHROMIUM = os.environ.get("AVDC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory) -> Path:
    """A real MiniWorld evaluation (2 seeds: oracle video, exact flow, the solver, the executor)
    with its videos and plan figures."""
    if importlib.util.find_spec("miniworld") is None:
        pytest.skip("needs miniworld (pip install 'avdc[miniworld]')")
    out = tmp_path_factory.mktemp("eval")
    from avdc_plugins.executors.miniworld import MiniWorldExecutor

    jobs = grid_jobs(MiniWorldExecutor.eval_grid, ["one-room"], seeds=2, extra_params={"record": True})
    run_evaluation(jobs, EvalOptions(read_yaml(SPEC), SPEC.parent, out, video=True, plans=True, source="spec"))
    return out


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (the system's, driven by Playwright)."""
    playwright = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("needs a Chromium (Debian: apt-get install chromium; or set AVDC_CHROMIUM)")
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


def open_page(browser, path: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    return page, errors


def test_the_report_shows_table_video_and_plans_in_a_real_browser(evaluation, browser):
    report = render_report(evaluation, evaluation / "report.html")
    page, errors = open_page(browser, report)
    table = page.locator("#success")
    assert table.is_visible() and "one-room" in table.inner_text() and "agent" in table.inner_text()
    assert page.locator("#chart").is_visible() and page.locator("#spec").is_visible()
    first = page.locator("tr.episode").first
    first.locator("td > details > summary").click()
    video = first.locator("video").first
    assert video.is_visible()
    width = video.evaluate("""v => new Promise(done => {
        v.addEventListener('loadeddata', () => done(v.videoWidth));
        v.addEventListener('error', () => done(-1));
        v.load(); })""")
    assert width > 0, "Chromium could not decode the episode video"
    figure = first.locator("img.figure").first
    figure.scroll_into_view_if_needed()
    assert figure.is_visible()
    figure.evaluate("img => img.decode()")
    assert figure.evaluate("img => img.naturalWidth") > 100
    assert errors == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "report.png", full_page=True)
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def test_hundreds_of_episodes_are_paged_and_filtered(evaluation, browser, tmp_path):
    """240 records (copies of the real ones under other seeds, every third a failure): 50 per
    page, and filtering by outcome keeps only that outcome."""
    source = json.loads(next((evaluation / "episodes").rglob("seed_*.json")).read_text())
    folder = tmp_path / "many" / "episodes" / "one-room" / "agent"
    folder.mkdir(parents=True)
    for seed in range(240):
        failed = seed % 3 == 0
        record = {**source, "seed": seed, "success": not failed, "end": "step_limit" if failed else "success"}
        (folder / f"seed_{seed:03d}.json").write_text(json.dumps(record))
    page, errors = open_page(browser, render_report(tmp_path / "many", tmp_path / "many" / "report.html"))
    assert page.locator("tr.episode:visible").count() == 50
    assert page.locator("#pages button").count() == 5
    page.select_option("#outcome", "failure")
    assert page.locator("tr.episode:visible").count() == 50
    assert page.locator("#pages button").count() == 2
    page.locator("#pages button").nth(1).click()
    assert page.locator("tr.episode:visible").count() == 30
    assert set(page.locator("tr.episode:visible td.failure").all_inner_texts()) == {"step_limit"}
    assert errors == []


def test_a_run_folder_reports_its_plans(tmp_path):
    episode = tmp_path / "run" / "episode_0003"
    (episode / "plan_00").mkdir(parents=True)
    (episode / "plan_00" / "tracks.png").write_bytes(b"png")
    (episode / "result.json").write_text(json.dumps(
        {"task": "door-open", "setting": "corner", "seed": 3, "success": False, "end": "stalled"}))
    [entry] = collect_episodes(tmp_path / "run", tmp_path)
    assert entry.record["seed"] == 3 and entry.plans[0].figures == {"tracks": "run/episode_0003/plan_00/tracks.png"}
    html = render_report(tmp_path / "run", tmp_path / "run.html").read_text()
    assert "door-open" in html and "stalled" in html and 'src="run/episode_0003/plan_00/tracks.png"' in html


def test_plan_videos_alone_are_plans_too(tmp_path):
    """``--video`` without ``--plans``: each plan is its video; with both, figures and video meet."""
    record = {"task": "one-room", "setting": "agent", "seed": 0, "success": True, "end": "success"}
    (tmp_path / "episodes" / "one-room" / "agent").mkdir(parents=True)
    (tmp_path / "episodes" / "one-room" / "agent" / "seed_000.json").write_text(json.dumps(record))
    videos = tmp_path / "videos" / "one-room" / "agent" / "seed_000"
    videos.mkdir(parents=True)
    for name in ("episode.webm", "plan_00.webm", "plan_02.webm"):
        (videos / name).write_bytes(b"webm")
    (tmp_path / "plans" / "one-room" / "agent" / "seed_000" / "plan_02").mkdir(parents=True)
    (tmp_path / "plans" / "one-room" / "agent" / "seed_000" / "plan_02" / "flow.png").write_bytes(b"png")
    [entry] = collect_episodes(tmp_path, tmp_path)
    assert entry.video == "videos/one-room/agent/seed_000/episode.webm"
    assert [(plan.index, plan.video, plan.figures) for plan in entry.plans] == [
        (0, "videos/one-room/agent/seed_000/plan_00.webm", {}),
        (2, "videos/one-room/agent/seed_000/plan_02.webm", {"flow": "plans/one-room/agent/seed_000/plan_02/flow.png"})]


def test_a_folder_that_is_no_run_is_a_clear_error(tmp_path):
    with pytest.raises(InputDataError, match="neither an avdc eval folder"):
        render_report(tmp_path, tmp_path / "report.html")
    with pytest.raises(InputDataError, match="is not a folder"):
        render_report(tmp_path / "missing", tmp_path / "report.html")
    with pytest.raises(InputDataError, match="an .html file"):
        render_report(tmp_path, tmp_path / "report.pdf")
