"""The page's "Open a result": a saved landscape (of a PyTorch model), spectrum, multistart and
race opened through the API answer the same figures as :mod:`gradscape.figures` and the same
text as the library's sections (the text ``gradscape multistart`` prints); every bad file is one
line (4xx); and the view in a real browser draws a figure from a chosen file."""

from __future__ import annotations

import base64
import html
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
         r"Fit is shown by the report\.html that `gradscape fit` wrote beside it"),
        (_rewrite(saved["race"], tmp_path / "odd.npz", type="Odd"), 400,
         r"A saved Odd cannot be opened here"),
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
    # a file that is not a result: one line beside the input, nothing left of the last result
    # (nor for Save as report)
    page.set_input_files("#o-file", {"name": "notes.npz", "mimeType": "application/zip",
                                     "buffer": b"not a zip"})  # fmt: skip
    page.wait_for_selector("#o-error:not([hidden])")
    assert "notes.npz is truncated or damaged" in page.locator("#o-error").inner_text()
    assert page.locator("#o-results").is_hidden() and page.locator("#o-title").inner_text() == ""
    assert page.locator("#o-sections").inner_html() == page.locator("#o-figures").inner_html() == ""
    page.click("#save-report")
    page.wait_for_function(
        "document.getElementById('toast')?.textContent.includes('nothing to save')"
    )
    screenshot(page, "opened-bad-file")


# -- damaged files: one check, in the library, for every kind ------------------------------------
def _edit(src: Path, dst: Path, fields: dict[str, Any] | None = None, **arrays: Any) -> Path:
    """``src`` with arrays replaced (a function of the old array, or the new one) and header
    fields replaced, saved as NumPy saves it (no check of gradscape's on the way)."""
    with np.load(src) as z:
        found = {k: z[k] for k in z.files}
    for k, v in arrays.items():
        found[k] = v(found[k]) if callable(v) else v
    meta = json.loads(str(found["__gradscape_meta__"]))
    meta["fields"].update(fields or {})
    found["__gradscape_meta__"] = np.array(json.dumps(meta))
    np.savez_compressed(dst, **found)
    return dst


def _nan_at(a: np.ndarray, v: float = np.nan) -> np.ndarray:
    a = a.copy()
    a.flat[0] = v
    return a


_DAMAGED: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
    # (source, case, header fields, arrays, what the message says)
    ("landscape", "flat", {}, {"values": lambda a: a.ravel()},
     r"values has shape \(25,\), where \(5, 5\) is needed"),
    ("landscape", "cut", {}, {"values": lambda a: a[:, :4]},
     r"values has shape \(5, 4\), where \(5, 5\) is needed"),
    ("landscape", "stacked", {}, {"values": lambda a: np.stack([a, a], -1)},
     r"values has shape \(5, 5, 2\)"),
    ("landscape", "nan-alphas", {}, {"alphas": lambda a: np.full_like(a, np.nan)},
     r"alphas holds NaN or infinite values"),
    ("landscape", "unsorted", {}, {"alphas": lambda a: a[::-1].copy()},
     r"alphas is not strictly increasing"),
    ("landscape", "alphas-2d", {}, {"alphas": lambda a: a[None, :]},
     r"alphas has shape \(1, 5\), where \(any,\) is needed"),
    ("landscape", "empty", {}, {k: np.empty(0) for k in ("alphas", "betas", "values")},
     r"alphas has 0 points; a grid has at least 3"),
    ("landscape", "complex", {}, {"values": lambda a: a + 1j},
     r"values holds complex\d+ values, not real numbers"),
    ("landscape", "text", {}, {"values": lambda a: a.astype(str)},
     r"values holds <U\d+ values, not real numbers"),
    ("landscape", "record", {}, {"values": np.zeros((5, 5), [("a", "f8")])},
     r"values holds \[\('a', '<f8'\)\] values, not real numbers"),
    ("landscape", "dates", {}, {"values": np.zeros((5, 5), "datetime64[s]")},
     r"values holds datetime64\[s\] values, not real numbers"),
    ("landscape", "evil", {"kind": "evil"}, {},
     r"kind is 'evil', not one of random, hessian, pca, between"),
    ("landscape", "rows", {"rows": "24"}, {}, r"rows is '24', not int"),
    ("spectrum", "nan-top", {}, {"top": _nan_at}, r"top holds NaN or infinite values"),
    ("spectrum", "inf-top", {}, {"top": lambda a: _nan_at(a, np.inf)},
     r"top holds NaN or infinite values"),
    ("spectrum", "top-2d", {}, {"top": lambda a: a[None, :]},
     r"top has shape \(1, 2\), where \(any,\) is needed"),
    ("spectrum", "residual", {}, {"top_residual": lambda a: a[:1]},
     r"top_residual has shape \(1,\), where \(2,\) is needed"),
    ("spectrum", "swapped", {}, {"top": lambda a: a - 1e6},
     r"top's largest value is below bottom's smallest"),
    ("minima", "negated", {}, {"counts": lambda a: -a}, r"counts holds negative counts"),
    ("minima", "labels", {}, {"labels": lambda a: a + 10},
     r"labels holds indices outside -2 to 3"),
    ("minima", "float-labels", {}, {"labels": lambda a: a.astype(float)},
     r"labels holds float64 values, not whole numbers"),
    ("minima", "points", {}, {"points": np.zeros((4, 5))},
     r"points has shape \(4, 5\), where \(4, 2\) is needed"),
    ("minima", "short", {}, {"starts": lambda a: a[:10]},
     r"starts has shape \(10, 2\), where \(64, 2\) is needed"),
    ("minima", "grid", {"grid": [4, 4]}, {}, r"grid \(4, 4\) does not hold the 64 starts"),
    ("minima", "counts", {}, {"counts": lambda a: a + 1}, r"counts differ from the starts"),
    ("race", "rate", {}, {"success": np.full(2, 5.0)},
     r"success holds values outside \[0, 1\]"),
    ("race", "cut", {}, {"success": lambda a: a[:1]},
     r"success has shape \(1,\), where \(2,\) is needed"),
    # values that contradict what the engine guarantees, found by an outside trial
    ("spectrum", "stderr", {"trace_stderr": -5.0}, {}, r"trace_stderr is -5\.0, below 0"),
    ("spectrum", "no-samples", {"trace_samples": 0}, {}, r"trace is given but trace_samples is 0"),
    ("spectrum", "small-n", {"n": 1}, {}, r"n is 1, fewer than the eigenvalues given"),
    ("spectrum", "no-steps", {"steps": 0}, {}, r"steps is 0, but Lanczos eigenvalues are given"),
    ("minima", "far", {}, {"points": lambda a: a * 100},
     r"points holds a minimum outside the box lo\.\.hi"),
    ("minima", "lr", {"lr": -5.0}, {}, r"lr is -5\.0, not a number > 0"),
    ("minima", "asked", {"starts_requested": 0}, {}, r"starts_requested is 0, below 1"),
    ("race", "steps", {}, {"median_steps": lambda a: np.where(np.isnan(a), 5.0, np.nan)},
     r"median_steps is not given exactly where some start succeeded"),
    ("race", "minimum", {"minimum": float("nan")}, {}, r"minimum is nan, not a number"),
    ("race", "tol", {"tol": -1.0}, {}, r"tol is -1\.0, not a number > 0"),
    ("race", "lr", {"lr": [float("nan"), float("nan")]}, {},
     r"lr holds a learning rate that is not a number > 0"),
]  # fmt: skip


@pytest.fixture(scope="module")
def sources(saved: dict[str, Path], cli_minima: tuple[Path, str]) -> dict[str, Path]:
    return {**saved, "minima": cli_minima[0]}


def test_a_damaged_file_is_refused_naming_the_field(
    client: Any, sources: dict[str, Path], tmp_path: Path
) -> None:
    import gradscape as gs

    for source, case, fields, arrays, what in _DAMAGED:
        path = _edit(sources[source], tmp_path / f"{case}.npz", fields, **arrays)
        lead = rf"'{re.escape(str(path))}' is not a saved gradscape result \(it is damaged: "
        with pytest.raises(InputError, match=lead + what):
            gs.load_result(path)
        r = _open(client, path)
        assert r.status_code == 400, (case, r.text)
        error = r.json()["error"]
        assert "\n" not in error and re.search(rf"^'{case}\.npz' .*damaged: {what}", error), error


def test_a_damaged_array_header_is_one_line(
    client: Any, saved: dict[str, Path], tmp_path: Path
) -> None:
    import zipfile

    import gradscape as gs

    path = tmp_path / "header.npz"
    with zipfile.ZipFile(saved["landscape"]) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            bb = src.read(info)
            dst.writestr(
                info, bb[:10] + b"garbage" + bb[17:] if info.filename == "values.npy" else bb
            )
    with pytest.raises(InputError, match=r"header\.npz' is not a saved gradscape result \(an "
                                         r"array's header is damaged\)\."):  # fmt: skip
        gs.load_result(path)
    r = _open(client, path)
    assert r.status_code == 400
    assert r.json()["error"] == ("header.npz cannot be read (an array's header is damaged); it "
                                 "is truncated or damaged.")  # fmt: skip


def test_a_good_file_of_each_kind_loads_as_it_was_saved(sources: dict[str, Path]) -> None:
    import dataclasses

    import gradscape as gs

    for name, path in sources.items():
        a, b = gs.load_result(path), gs.load_result(path)  # the check leaves it as read
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files if not k.startswith("__")}
        assert arrays
        for k, v in arrays.items():
            assert np.array_equal(getattr(a, k), v, equal_nan=v.dtype.kind == "f"), (name, k)
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            same = np.array_equal(x, y, equal_nan=True) if isinstance(x, np.ndarray) else (
                x == y or (x != x and y != y))  # fmt: skip
            assert same, (name, f.name)


def test_a_landscape_says_where_the_loss_is_not_finite(
    client: Any, saved: dict[str, Path], tmp_path: Path
) -> None:
    # the engine keeps NaN and infinity where the loss overflowed: the text always counts them,
    # even where the file's warnings were lost; a plane finite nowhere has no figure to draw
    hole = _edit(saved["landscape"], tmp_path / "hole.npz", {"warnings": []},
                 values=lambda a: _nan_at(a, -np.inf))  # fmt: skip
    body = _open(client, hole).json()
    lines = body["sections"][0]["lines"]
    assert lines[-1] == ("warning: the loss overflowed to NaN or infinity at 1 of 25 grid points; "
                         "shrink the span")  # fmt: skip
    assert len(body["figures"]) == 2 and body["figures"][0]["figure"]["data"][0]["z"][0][0] is None
    none = _edit(saved["landscape"], tmp_path / "none.npz", values=lambda a: a * np.nan)
    body = _open(client, none).json()
    assert body["figures"] == [] and "not finite anywhere on the grid" in body["sections"][0][
        "lines"][2]  # fmt: skip
    assert sum("25 of 25 grid points" in line for line in body["sections"][0]["lines"]) == 1


def test_a_result_that_cannot_be_drawn_is_one_line(
    client: Any, saved: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from gradscape.web import opened

    def broken(result: Any) -> Any:
        raise RuntimeError("no way")

    monkeypatch.setattr(opened, "shown", broken)
    r = _open(client, saved["race"])
    assert r.status_code == 400
    assert r.json()["error"] == ("race.npz was read but could not be drawn (RuntimeError: no way); "
                                 "open the report.html written beside it instead.")  # fmt: skip


# -- the page says what the CLI said ---------------------------------------------------------------
_USER = """import torch
torch.manual_seed(0)
def model():
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
def data():
    g = torch.Generator().manual_seed(1)
    return torch.randn(30, 3, generator=g), torch.randint(0, 2, (30,), generator=g)
"""


def test_the_pages_lines_are_the_clis(
    client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main(["train", "--data", "moons", "--model", "mlp:4", "--epochs", "2", "--out",
                 str(run)]) == 0  # fmt: skip
    user = tmp_path / "mine.py"
    user.write_text(_USER, encoding="utf-8")
    capsys.readouterr()
    verbs = [
        (["landscape", str(run), "--grid", "3"], "landscape", "Loss landscape",
         f"through the best weights of {run}"),
        (["landscape", "--torch", str(user), "--dims", "1", "--grid", "3"], "landscape",
         "Loss landscape", "30 rows of data()"),
        (["spectrum", "--torch", str(user), "--top", "1", "--bottom", "1", "--steps", "6"],
         "spectrum", "Hessian spectrum", f"at the weights of {user}'s model()"),
    ]  # fmt: skip
    for i, (args, verb, heading, said) in enumerate(verbs):
        out = tmp_path / f"o{i}"
        assert main([*args, "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        body = _open(client, out / f"{verb}.npz").json()
        lines = body["sections"][0]["lines"]
        assert body["sections"][0]["heading"] == heading and said in "\n".join(lines)
        text = "\n".join(f"   {line}" if line else "" for line in lines)
        assert f"{heading}\n{text}\n" in printed, (printed, lines)
        report = html.unescape((out / "report.html").read_text())
        assert all(line in report for line in lines)  # and report.html said it too


def test_load_result_reads_every_kind_and_the_page_only_its_own(
    client: Any, tmp_path: Path
) -> None:
    import gradscape as gs

    run = gs.minimize("(x - 1)^2 + y^2", {"x": 0.0, "y": 0.0})
    path = run.save(tmp_path / "run.npz")
    back = gs.load_result(path)
    assert isinstance(back, gs.Run) and np.array_equal(back.params, run.params)
    r = _open(client, path)
    assert r.status_code == 400 and r.json()["error"].startswith(
        "A saved Run cannot be opened here: Landscape, Spectrum, Minima, Race results can; a Run "
        "is shown by the report.html that `gradscape descend or tour` wrote beside it"
    )
