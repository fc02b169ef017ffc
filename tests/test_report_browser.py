"""The HTML report is a page people open in a browser: a real (headless) Chromium loads it, every figure decodes, no
image is broken, and the tables have rows. Skips cleanly where no Chromium is installed (`apt-get install chromium`)."""
import re, shutil, subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from artifact_fastai.metrics import Threshold
from artifact_fastai.report import ModelResult, build_report

BROWSER = next((b for b in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason='no Chromium installed (apt-get install chromium)')

# Appended to a copy of the page: after `load`, the body records how many images it has and how many failed to decode.
PROBE = ("<script>window.addEventListener('load', () => { const im = [...document.images];"
         "document.body.dataset.images = im.length;"
         "document.body.dataset.broken = im.filter(i => !i.complete || i.naturalWidth === 0).length;"
         "document.body.dataset.rows = document.querySelectorAll('table tr').length; });</script>")


def browser_dom(html: Path, tmp: Path) -> str:
    "The DOM of `html` after Chromium has loaded it (with `PROBE` run)."
    page = tmp/'probe.html'
    page.write_text(html.read_text().replace('</body>', PROBE + '</body>'))
    cmd = [BROWSER, '--headless=new', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=10000',
           '--dump-dom', page.as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def browser_screenshot(html: Path, png: Path) -> None:
    subprocess.run([BROWSER, '--headless=new', '--no-sandbox', '--disable-gpu', '--window-size=1280,3000',
                    f'--screenshot={png}', html.as_uri()], capture_output=True, timeout=120)


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    "A report with two models, curves, confusion matrices and a figure section, like the demo's."
    rng, out = np.random.default_rng(0), tmp_path_factory.mktemp('report')
    y = np.array([0] * 20 + [1] * 80)
    results = [ModelResult(name, y, np.clip((y == 0) * s + rng.random(100) * 0.6, 0, 1), Threshold(0.5, 'val:max_f1'))
               for name, s in (('strong', 0.6), ('weak', 0.2))]
    fig = Figure(figsize=(3, 2)); fig.add_subplot().imshow(rng.random((8, 8)))
    return build_report(out, results, n_boot=50, gradcam={'GradCAM, full frame: strong': fig})


def test_report_renders_in_a_browser_with_every_figure(report, tmp_path):
    dom = browser_dom(Path(report['html']), tmp_path)
    attrs = dict(re.findall(r'data-(\w+)="(\d+)"', dom))
    assert attrs, f"the page did not load in {BROWSER}: {dom[:300]!r}"
    n_img = len(re.findall(r'<img\b', Path(report['html']).read_text()))
    assert int(attrs['images']) == n_img >= 3, attrs   # curves, confusion matrices, the GradCAM figure
    assert int(attrs['broken']) == 0, attrs
    assert int(attrs['rows']) >= 3, attrs              # a header and a row per model at least


def test_probe_sees_a_broken_image(tmp_path):
    "The check can fail: a page with an image that cannot decode is counted as broken."
    page = tmp_path/'bad.html'
    page.write_text('<html><body><img src="data:image/png;base64,AAAA"><table><tr><td>x</td></tr></table></body></html>')
    attrs = dict(re.findall(r'data-(\w+)="(\d+)"', browser_dom(page, tmp_path)))
    assert attrs['images'] == '1' and attrs['broken'] == '1'


def test_report_screenshot_is_not_blank(report, tmp_path):
    from PIL import Image
    png = tmp_path/'report.png'
    browser_screenshot(Path(report['html']), png)
    a = np.asarray(Image.open(png).convert('L'), dtype=float)
    assert a.shape == (3000, 1280) and a.std() > 10  # text, tables and plots, not an empty page
