"""``hdlgen report``: the page's content, and its rendering in a real headless browser."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import hdlgen
from hdlgen.cli import main
from hdlgen.report import collect

ROOT = Path(__file__).resolve().parent.parent


def test_report_figures_match_the_reference(examples: Path):
    c = hdlgen.load(examples / "cd8.json")
    data = collect(c)
    assert data.n_vectors == 2**8 and data.vectors == "every input"
    act = c.activity(hdlgen.ir.reference.enumerate_inputs(c, 0, 256))
    assert sum(data.firing_histogram.values()) == 256 and max(data.firing_histogram) == act.max()
    assert max(data.firing_histogram) == data.resources["energy"]
    assert abs(sum(data.gate_rates.values()) - act.mean()) < 1e-4
    assert data.bound and all(b["holds"] for b in data.bound)


def render(html_path: Path, screenshot: Path | None = None) -> tuple[list[str], list[list]]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is needed for this test: apt-get install -y chromium"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html_path.resolve().as_uri())
        images = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.id, i.naturalWidth, i.complete])")
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return errors, images


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path: Path, capsys, examples: Path):
    out = tmp_path / "report.html"
    assert main(["report", str(examples / "cd8.json"), "-o", str(out), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["output"] == str(out) and data["resources"]["energy_exact"]
    text = out.read_text()
    assert "<script" not in text and "http" not in text.replace("http-equiv", "")  # self-contained
    errors, images = render(out, tmp_path / "shot.png")
    assert errors == []
    assert [i[0] for i in images] == ["fig-histogram", "fig-gates", "fig-levels"]
    assert all(width > 100 and complete for _, width, complete in images)
    assert (tmp_path / "shot.png").stat().st_size > 10_000


def test_report_bad_input(tmp_path: Path, capsys):
    assert main(["report", str(tmp_path / "none.json"), "-o", str(tmp_path / "r.html")]) == 2
    assert "none.json" in capsys.readouterr().err and not (tmp_path / "r.html").exists()


@pytest.mark.slow
def test_report_reads_cleanly_in_headless_chromium(tmp_path: Path, capsys, examples: Path):
    """Labelled charts, kinds as a table, a neutral verdict for relu, and the left-out outputs named.

    With ``HDLGEN_UPDATE_DOCS=1`` the screenshot replaces docs/images/report.png.
    """
    out = tmp_path / "layered.html"
    assert main(["report", str(examples / "layered.json"), "-o", str(out)]) == 0
    text = out.read_text()
    assert "{&#x27;threshold&#x27;" not in text and "{'threshold'" not in text  # kinds is not a Python dict
    assert '<table class="inner"><tr><td>threshold</td><td>5</td></tr><tr><td>relu</td><td>2</td></tr>' in text
    assert "<th>verdict</th>" in text and '<td class="na">not judged (relu: asymptotic)</td>' in text
    assert 'class="ok">not judged' not in text
    assert "Left out: r0, r1." in text
    shot = tmp_path / "report.png"
    errors, images = render(out, shot)
    assert errors == [] and all(width > 100 and complete for _, width, complete in images)
    if os.environ.get("HDLGEN_UPDATE_DOCS") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "images" / "report.png")


def test_gate_chart_names_the_busiest_gates():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hdlgen.report import TOP_GATES, _gate_chart

    rates = {f"g{i}": i / 100 for i in range(TOP_GATES + 5)}
    captured = {}
    real_subplots = plt.subplots

    def spy(*args, **kwargs):
        fig, ax = real_subplots(*args, **kwargs)
        captured["ax"] = ax
        return fig, ax

    plt.subplots = spy
    try:
        png = _gate_chart(plt, rates)
    finally:
        plt.subplots = real_subplots
    ax = captured["ax"]
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert png.startswith("data:image/png;base64,")
    assert len(names) == TOP_GATES and names[0] == f"g{TOP_GATES + 4}" and "g0" not in names
    assert ax.get_xlabel().startswith("firing rate") and ax.get_ylabel() == "gate"
    assert f"most active of {TOP_GATES + 5}" in ax.get_title()
