"""The page's "Open a result": a saved landscape (of a PyTorch model), spectrum, multistart and
race opened through the API answer the same figures as :mod:`gradscape.figures` and the same
text as the library's sections (the text ``gradscape multistart`` prints); every bad file is one
line (4xx); and the view in a real browser draws a figure from a chosen file."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import screenshot
from gradscape import figures, story
from gradscape.cli import main
from gradscape.errors import InputError
from gradscape.saved import SHOWN, load_result, shown
from gradscape.web.common import json_response

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # as tests/test_torch.py: threads fighting over a small model are slower


def _open(client: Any, path: Path, name: str | None = None) -> Any:
    data = base64.b64encode(path.read_bytes()).decode()
    return client.post("/api/opened", json={"name": name or path.name, "content_base64": data})


def _json(v: Any) -> Any:
    """``v`` as the page receives it (NaN as null)."""
    return json.loads(json_response(v).body)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A landscape and a spectrum of a tiny PyTorch MLP, a multistart written by the CLI (its
    stdout kept) and a small race, each saved as its verb saves it."""
    import gradscape as gs
    import gradscape.torch as gt

    folder = tmp_path_factory.mktemp("opened")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    x, y = torch.randn(24, 4), torch.randint(0, 3, (24,))
    out = {
        "landscape": gt.landscape(net, (x, y), grid=5).save(folder / "landscape.npz"),
        "line": gt.landscape(net, (x, y), dims=1, grid=7).save(folder / "line.npz"),
        "spectrum": gt.spectrum(net, (x, y), top=2, bottom=1, steps=20, trace=True,
                                density=True, exact=True).save(folder / "spectrum.npz"),
        "race": gs.race("himmelblau", optimizers=["gd", "adam"], starts=3, budget=1,
                        max_steps=60).save(folder / "race.npz"),
    }  # fmt: skip
    return out


@pytest.fixture(scope="module")
def cli_minima(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("ms") / "ms"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["multistart", "himmelblau", "--starts", "64", "--out", str(folder)]) == 0
    return folder / "minima.npz", printed.getvalue()


@pytest.mark.parametrize("name", ["landscape", "line", "spectrum", "race"])
def test_a_saved_result_answers_the_librarys_figures_and_text(
    client: Any, saved: dict[str, Path], name: str
) -> None:
    import gradscape as gs

    r = _open(client, saved[name])
    assert r.status_code == 200, r.text
    body = r.json()
    result = gs.load_result(saved[name])  # the one dispatch, also the public API
    kind = type(result).__name__
    assert body["kind"] == kind and body["verb"] == SHOWN[kind] and body["name"] == f"{name}.npz"
    built = {"Landscape": figures.landscape, "Spectrum": figures.spectrum,
             "Race": figures.race}[kind](result)  # fmt: skip
    assert [f["figure"] for f in body["figures"]] == _json(list(built.values()))
    sections = {"Landscape": story.landscape_story, "Spectrum": story.spectrum_story,
                "Race": story.race_story}[kind](result)  # fmt: skip
    assert [(s["heading"], s["lines"]) for s in body["sections"]] == sections
    assert all(f["caption"] for f in body["figures"]) and body["title"] == shown(result).title


def test_the_page_shows_a_landscape_and_a_spectrum_in_the_clis_words(
    client: Any, saved: dict[str, Path]
) -> None:
    land = client.post("/api/opened", json={"name": "l.npz", "content_base64": base64.b64encode(
        saved["landscape"].read_bytes()).decode()}).json()  # fmt: skip
    lines = land["sections"][0]["lines"]
    assert lines[0] == "a random plane (two filter-normalised directions)"
    assert lines[1] == "5 × 5 points, the loss on 24 rows"
    assert [f["caption"] for f in land["figures"]] == [
        "Contours of the loss", "The loss surface (drag to turn it)"]  # fmt: skip
    spec = _open(client, saved["spectrum"]).json()["sections"][0]["lines"]
    assert spec[0].startswith("Hessian of the cross_entropy (51 weights), ")
    assert any(line.startswith("trace ≈ ") and "; exact " in line for line in spec)


def test_a_multistart_shows_what_the_cli_printed(client: Any, cli_minima: tuple[Path, str]) -> None:
    path, printed = cli_minima
    r = _open(client, path)
    assert r.status_code == 200, r.text
    body = r.json()
    m = load_result(path)
    assert body["figures"][0]["figure"] == _json(figures.multistart(m, body["figures"][0][
        "figure"]["layout"]["title"]["text"]))["basins"]  # fmt: skip
    assert "himmelblau(x, y): basins of " in body["figures"][0]["figure"]["layout"]["title"]["text"]
    lines = body["sections"][0]["lines"]
    assert (body["sections"][0]["heading"], lines) == story.multistart_story(m)[0]
    # the CLI printed the same lines, under the same heading
    shown_text = "\n".join(f"   {line}" if line else "" for line in lines)
    assert f"Minima\n{shown_text}\n" in printed
    assert lines[0].startswith("himmelblau(x, y) = ") and "up to 1,000 steps each" in lines[1]
    assert body["title"] == "gradscape multistart: himmelblau(x, y)"


# -- bad files -------------------------------------------------------------------------------------
def _rewrite(src: Path, dst: Path, **header: Any) -> Path:
    """``src`` with its header's entries replaced (``fields`` merged)."""
    with np.load(src) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["__gradscape_meta__"]))
    meta["fields"].update(header.pop("fields", {}))
    meta.update(header)
    arrays["__gradscape_meta__"] = np.array(json.dumps(meta))
    np.savez_compressed(dst, **arrays)
    return dst


def test_bad_files_are_one_line_each(client: Any, saved: dict[str, Path], tmp_path: Path) -> None:
    whole = saved["race"].read_bytes()
    (tmp_path / "half.npz").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "text.npz").write_bytes(b"x,y\n1,2\n")
    np.savez(tmp_path / "objects.npz", a=np.array([{"x": 1}], dtype=object))
    np.savez(tmp_path / "plain.npz", a=np.arange(3.0))
    cases = [
        (tmp_path / "half.npz", 400, r"^half\.npz is truncated or damaged \(File is not a zip"),
        (tmp_path / "text.npz", 400, r"text\.npz is truncated or damaged \(File is not a zip"),
        (tmp_path / "objects.npz", 400, r"member 'a\.npy' holds Python objects, not numbers"),
        (tmp_path / "plain.npz", 400, r"'plain\.npz' is not a saved gradscape result \(it has no gradscape header\)"),
        (_rewrite(saved["race"], tmp_path / "fit.npz", type="Fit"), 400,
         r"A saved Fit cannot be opened here: Landscape, Spectrum, Minima, Race results can; a "
         r"Fit is shown by the report\.html that `gradscape fit --out DIR` wrote"),
        (_rewrite(saved["race"], tmp_path / "new.npz", gradscape="9.0.0", fields={"later": 1}),
         400, r"'new\.npz' was written by gradscape 9\.0\.0 \(this is 0\.1\.0\) and holds fields a "
              r"Race here does not have \(later\)"),
    ]  # fmt: skip
    for path, status, match in cases:
        r = _open(client, path)
        assert r.status_code == status, (path.name, r.text)
        error = r.json()["error"]
        assert "\n" not in error and "uploads" not in error, error
        assert re.search(match, error), (match, error)
    # the library's one reader says the same without the page's checks before it
    with pytest.raises(
        InputError,
        match=r"half\.npz' is not a saved gradscape result \(it is truncated or damaged\)",
    ):
        load_result(tmp_path / "half.npz")


def test_sizes_beyond_the_caps_are_refused_naming_the_cap(
    client: Any, saved: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradscape.web import opened

    big = base64.b64encode(b"\0" * (opened.MAX_RESULT_BYTES + 1)).decode()
    r = client.post("/api/opened", json={"name": "big.npz", "content_base64": big})
    assert r.status_code == 413 and "(MAX_RESULT_BYTES = 8 MiB)" in r.json()["error"]
    bad = client.post("/api/opened", json={"name": "b.npz", "content_base64": "%%"})
    assert bad.status_code == 400 and bad.json()["error"] == "content_base64 is not valid base64."
    escape = client.post("/api/opened", json={"name": "../b.npz", "content_base64": ""})
    assert escape.status_code == 400 and "no '..'" in escape.json()["error"]
    monkeypatch.setattr(opened, "MAX_RESULT_UNPACKED_BYTES", 1000)
    bomb = _open(client, saved["landscape"])
    assert bomb.status_code == 400
    assert "over the cap of " in bomb.json()["error"]
    assert "(MAX_RESULT_UNPACKED_BYTES); gradscape did not write it" in bomb.json()["error"]
    monkeypatch.undo()
    monkeypatch.setattr(opened, "MAX_GRID", 4)
    wide = _open(client, saved["landscape"])
    assert wide.status_code == 413
    assert wide.json()["error"].startswith("This landscape has 5 points per side; the page draws "
                                           "at most 4 (MAX_GRID)")  # fmt: skip


def test_the_kinds_and_caps_are_listed(client: Any) -> None:
    body = client.get("/api/opened/kinds").json()
    assert body["kinds"] == SHOWN and body["max_result_bytes"] == 8 * 2**20
    assert "never kept in the page's address" in body["note"]


# -- the page --------------------------------------------------------------------------------------
def test_the_view_opens_a_file_in_a_real_browser(page: Any, saved: dict[str, Path]) -> None:
    page.goto(page.base + "/?view=opened")
    page.wait_for_function("document.getElementById('o-note')?.textContent.includes('--out DIR')")
    screenshot(page, "opened-start")
    page.set_input_files("#o-file", str(saved["landscape"]))
    page.wait_for_function("document.getElementById('o-figure-1')?.data", timeout=60_000)
    text = page.locator("#o-sections").inner_text()
    assert "a random plane (two filter-normalised directions)" in text
    assert "5 × 5 points, the loss on 24 rows" in text
    assert page.locator("#o-title").inner_text() == "gradscape landscape — landscape.npz"
    screenshot(page, "opened-landscape")
    with page.expect_download() as download:
        page.click("#save-report")
    html = Path(download.value.path()).read_text()
    assert "5 × 5 points, the loss on 24 rows" in html and "Contours of the loss" in html
    # a file that is not a result: one line beside the input, the last result still shown
    page.set_input_files("#o-file", {"name": "notes.npz", "mimeType": "application/zip",
                                     "buffer": b"not a zip"})  # fmt: skip
    page.wait_for_selector("#o-error:not([hidden])")
    assert "notes.npz is truncated or damaged" in page.locator("#o-error").inner_text()
    screenshot(page, "opened-bad-file")
