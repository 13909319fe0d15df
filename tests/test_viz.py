"""softlib.book.viz.explore: the kernel-free frames, the live redraw, and when the frames are computed."""

import base64
import io
import json
import re
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from PIL import Image

from softlib.book.viz import (BOOK_BUILD_ENV, MIN_FONT_PT, book_style, explore, panels,
                              redraw_report, show_source, table)


def draw(fig, scale, style="-"):
    ax = fig.subplots()
    ax.plot(np.arange(5) * scale, style)
    ax.set_title(f"scale {scale} {style}")


def frames_of(html):
    """The frames, shape and labels embedded in a kernel-free figure."""
    data = json.loads(re.search(r"parentElement, (\{.*?\}), \[", html).group(1))
    return data


def test_frames_html_has_one_distinct_frame_per_value():
    fx = explore(draw, {"scale": [1.0, 2.0, 3.0], "style": ["-", "--"]})
    data = frames_of(fx.frames_html())
    assert data["shape"] == [3, 1] and data["labels"][0] == ["1", "2", "3"]
    assert len(set(data["frames"])) == 3


def test_frames_are_pngs_of_twice_the_figure_size_on_white():
    fx = explore(draw, {"scale": [1.0, 2.0]}, figsize=(4, 3), dpi=50)
    html = fx.frames_html()
    assert 'width="200" height="150"' in html  # shown at the figure's size, rendered at 2x
    for frame in frames_of(html)["frames"]:
        image = Image.open(io.BytesIO(base64.b64decode(frame))).convert("RGB")
        assert image.size == (400, 300)
        # An opaque white background (the palette may round it to 254): legible on a dark page.
        assert min(image.getpixel((0, 0))) >= 250


def test_grid_of_two_controls_has_every_pair_and_buttons_for_strings():
    fx = explore(draw, {"scale": [1.0, 2.0, 3.0], "style": ["-", "--"]}, second="style")
    html = fx.frames_html()
    data = frames_of(html)
    assert data["shape"] == [3, 2] and len(set(data["frames"])) == 6
    assert html.count("<button") == 2 and html.count('type="range"') == 1


def test_the_shown_frame_is_the_default_and_values_are_restored():
    fx = explore(draw, {"scale": [1.0, 2.0, 3.0]}, defaults={"scale": 3.0})
    html = fx.frames_html()
    data = frames_of(html)
    assert f'src="data:image/png;base64,{data["frames"][2]}"' in html and 'value="2"' in html
    assert fx.values == {"scale": 3.0}


def test_frames_record_their_redraw_times():
    html = explore(draw, {"scale": [1.0, 2.0]}).frames_html()
    p95 = float(re.search(r'data-redraw-p95-ms="([0-9.]+)"', html).group(1))
    assert p95 > 0


def test_update_redraws_and_reports_its_time():
    fx = explore(draw, {"scale": [1.0, 2.0]})
    fig = fx.new_figure()
    seconds = fx.update(fig, scale=2.0)
    assert fx.values["scale"] == 2.0 and len(fig.axes) == 1 and seconds > 0
    assert fx._png.startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="unknown control"):
        fx.update(fig, scael=1.0)


def test_redraw_times_cover_the_control_and_restore_it():
    fx = explore(draw, {"scale": [1.0, 2.0, 3.0], "style": ["-", "--", ":"]}, defaults={"style": "--"})
    times = fx.redraw_times("style")
    assert times.shape == (3,) and np.all(times > 0) and fx.values["style"] == "--"
    assert re.fullmatch(r"redraw over 3 values of scale: median \d+ ms, p95 \d+ ms, max \d+ ms \(CPU p95 \d+ ms\)",
                        redraw_report(fx))


def test_frames_are_computed_only_for_the_book_build(monkeypatch):
    fx = explore(draw, {"scale": [1.0, 2.0]})
    monkeypatch.delenv(BOOK_BUILD_ENV, raising=False)
    bundle = fx._repr_mimebundle_()
    assert "text/html" not in bundle and "image/png" in bundle
    assert "application/vnd.jupyter.widget-view+json" in bundle
    monkeypatch.setenv(BOOK_BUILD_ENV, "1")
    bundle = fx._repr_mimebundle_()
    assert "softlib-explorer" in bundle["text/html"] and "image/png" not in bundle
    assert "text/html" in explore(draw, {"scale": [1.0]}, frames=True)._repr_mimebundle_()
    monkeypatch.setenv(BOOK_BUILD_ENV, "0")
    assert "text/html" not in fx._repr_mimebundle_()


def test_widget_moves_redraw_the_image():
    fx = explore(draw, {"scale": [1.0, 2.0, 3.0], "style": ["-", "--"]})
    box = fx.widget()
    slider, buttons, image = box.children
    before = image.value
    slider.value = 3.0
    assert image.value != before and fx.values["scale"] == 3.0
    buttons.value = "-"
    assert fx.values["style"] == "-"


def test_draw_may_return_an_updater_used_for_later_redraws():
    calls = {"draw": 0, "update": 0}

    def draw_once(fig, scale):
        calls["draw"] += 1
        (line,) = fig.subplots().plot([0, scale])

        def update(scale):
            calls["update"] += 1
            line.set_ydata([0, scale])
        return update

    fx = explore(draw_once, {"scale": [1.0, 2.0, 3.0]})
    data = frames_of(fx.frames_html())
    assert calls == {"draw": 1, "update": 3} and len(set(data["frames"])) == 3
    fig = fx.new_figure()
    fx.update(fig, scale=1.0)
    fx.update(fig, scale=3.0)
    assert calls == {"draw": 2, "update": 5}


def draw_bars(fig, height, blit=True):
    """A bar chart whose update moves the bars and the title, and returns them when ``blit``."""
    ax = fig.subplots()
    bars = ax.bar(["a", "b", "c"], [height, 1.0, 0.5])
    ax.set_ylim(0, 4)

    def update(height, blit=blit):
        bars[0].set_height(height)
        ax.set_title(f"height {height}")
        return [*bars, ax.title] if blit else None
    return update


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float)


def test_blitted_redraws_match_full_ones():
    heights = [1.0, 2.0, 3.0]
    blitted = explore(draw_bars, {"height": heights, "blit": ["yes"]})
    fig = blitted.new_figure()
    for h in heights:  # blitted after the first: only the returned artists are drawn again
        blitted.update(fig, height=h)
        fresh = explore(lambda f, height, blit: draw_bars(f, height, blit=False), {"height": [h], "blit": ["no"]})
        fresh.update(fresh.new_figure())
        difference = np.abs(pixels(blitted._png) - pixels(fresh._png))
        assert difference.mean() < 0.5, f"blitted frame at height {h} differs from a full render"
    assert blitted._updaters[fig].artists  # the blitting path was taken


def test_bad_controls_are_refused():
    with pytest.raises(ValueError, match="no values"):
        explore(draw, {"scale": []})
    with pytest.raises(ValueError, match="not one of"):
        explore(draw, {"scale": [1.0]}, defaults={"scale": 5.0})
    with pytest.raises(ValueError, match="mixes numbers"):
        explore(draw, {"scale": [1.0, "a"]})
    with pytest.raises(ValueError, match="second control"):
        explore(draw, {"scale": [1.0]}, second="scale")
    with pytest.raises(TypeError, match="draw must be a function"):
        explore(None, {"scale": [1.0]})
    with pytest.raises(ValueError, match="at least one control"):
        explore(draw, {})


def test_too_many_frames_are_refused():
    fx = explore(draw, {"scale": list(range(30)), "style": [str(i) for i in range(20)]}, second="style")
    with pytest.raises(ValueError, match="600 frames"):
        fx.frames_html()


def test_redraw_times_leave_out_the_render_that_builds_the_figure():
    def draw_slowly(fig, scale):  # a slow build and a fast updater: only the updater is a redraw
        time.sleep(0.3)
        (line,) = fig.subplots().plot([0, scale])

        def update(scale):
            line.set_ydata([0, scale])
            return [line]
        return update

    fx = explore(draw_slowly, {"scale": [1.0, 2.0, 3.0]})
    assert fx.redraw_times().max() < 0.3 and fx.redraw_times().shape == (3,)
    html = fx.frames_html()
    attributes = dict(re.findall(r'data-(redraw-max-ms|build-ms)="([0-9.]+)"', html))
    assert float(attributes["redraw-max-ms"]) < 300 <= float(attributes["build-ms"])


def test_new_figures_render_on_one_agg_canvas():
    fig = explore(draw, {"scale": [1.0]}).new_figure()
    assert hasattr(fig.canvas, "copy_from_bbox") and fig._get_renderer() is fig._get_renderer()


def draw_scaled(fig, top, style):
    """A figure whose y-axis limits and title follow ``top``: no in-place update could move it."""
    ax = fig.subplots()
    ax.plot([0, 1, 2], [0, top / 2, top], style)
    ax.set(title=f"top {top}", ylabel="value")
    fig.tight_layout()


def test_panels_frames_match_full_redraws():
    controls = {"top": [1.0, 30.0, 1000.0], "style": ["-", "o"]}
    plain = frames_of(explore(draw_scaled, controls, second="style").frames_html())["frames"]
    paneled = frames_of(explore(panels(draw_scaled, controls), controls, second="style").frames_html())["frames"]
    for a, b in zip(plain, paneled):
        diff = np.abs(pixels(base64.b64decode(a)) - pixels(base64.b64decode(b)))
        assert diff.max() <= 2, diff.max()  # blitting may differ from a full render by a rounding level


def test_panels_show_one_panel_per_movement():
    controls = {"top": [1.0, 30.0, 1000.0], "style": ["-", "o"]}
    fx = explore(panels(draw_scaled, controls), controls)
    fig = fx.new_figure()
    fx.render(fig, top=30.0, style="o")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 6 and len(visible) == 1 and visible[0].get_title() == "top 30.0"


def draw_bars_any_order(fig, height):
    """Bars under a line, a legend and spines; update returns only the bars, last one first."""
    ax = fig.subplots()
    bars = ax.bar(["a", "b", "c"], [height, 1.0, 0.5], label="bars")
    ax.axhline(1.5, color="k", linewidth=3, label="line")
    ax.legend(loc="upper right")
    ax.set(ylim=(0, 4), title="bars")
    for spine in ax.spines.values():
        spine.set_visible(True)

    def update(height):
        bars[0].set_height(height)
        return list(bars)[::-1]
    return update


def test_blitting_paints_what_lies_over_the_changed_artists():
    """update returns only the bars, in the wrong order: the line, legend and spines over them
    are still painted, so every frame equals a full render."""
    fx = explore(draw_bars_any_order, {"height": [1.0, 2.0, 3.5]})
    fig = fx.new_figure()
    for h in [1.0, 2.0, 3.5]:
        fx.update(fig, height=h)
        full = explore(lambda f, height: (draw_bars_any_order(f, height), None)[1], {"height": [h]})
        full.update(full.new_figure())
        difference = np.abs(pixels(fx._png) - pixels(full._png))
        assert difference.max() <= 2, f"blitted frame at height {h} differs from a full render"
    assert len(fx._updaters[fig].artists) > 3  # the line, legend, spines joined the bars


def test_text_is_never_smaller_than_the_book_minimum():
    def tiny(fig, a):
        ax = fig.subplots()
        ax.plot([0, a], label="a")
        ax.legend(fontsize="xx-small")
        ax.text(0, 0, "note", fontsize=5)

    fx = explore(tiny, {"a": [1.0, 2.0]})
    fig = fx.new_figure()
    fx.update(fig)
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    assert min(sizes) >= MIN_FONT_PT
    before = dict(matplotlib.font_manager.font_scalings)
    with book_style():
        pass
    assert matplotlib.font_manager.font_scalings == before  # restored afterwards


def test_book_style_keeps_what_a_backend_set_inside_it():
    """pyplot's first figure may activate the inline backend inside the style, which turns
    interactive mode on: leaving the style must not turn it off, or later figures vanish."""
    before = matplotlib.is_interactive()
    try:
        matplotlib.interactive(False)
        with book_style():
            matplotlib.interactive(True)
        assert matplotlib.is_interactive()
    finally:
        matplotlib.interactive(before)


def test_labels_name_the_controls_in_the_widget_and_the_frames():
    fx = explore(draw, {"scale": [1.0, 2.0], "style": ["-", "--"]}, second="style",
                 labels={"scale": "vertical scale", "style": "line style"}, alt="A line.")
    html = fx.frames_html()
    assert "vertical scale" in html and "line style" in html and 'alt="A line., at vertical' in html
    slider, buttons, image = fx.widget().children
    assert slider.description == "vertical scale"
    slider.value = 1.0  # the callback maps the readable name back to the control
    assert fx.values["scale"] == 1.0
    with pytest.raises(ValueError, match="unknown control"):
        explore(draw, {"scale": [1.0]}, labels={"scael": "x"})
    with pytest.raises(ValueError, match="scale must be"):
        explore(draw, {"scale": [1.0]}, scale=0)


def test_table_and_source_render_as_markdown():
    md = table([["a", 1.5], ["b|c", 2]], ["name", "value"])._repr_markdown_()
    assert md.splitlines()[1] == "|:--|--:|" and "b\\|c" in md
    with pytest.raises(ValueError, match="cells"):
        table([[1]], ["a", "b"])

    def double(x):
        """Twice x."""
        return 2 * x

    md = show_source(double)._repr_markdown_()
    assert md.startswith("```python\ndef double(x):") and "Twice" not in md and md.endswith("```")
    with pytest.raises(TypeError, match="source"):
        show_source(len)
