"""softlib.viz.explore: the kernel-free frames and the live redraw."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from softlib.viz import explore


def draw(fig, scale, style="-"):
    ax = fig.subplots()
    ax.plot(np.arange(5) * scale, style)


def test_frames_html_has_one_frame_per_value():
    fx = explore(draw, {"scale": [1.0, 2.0, 3.0], "style": ["-", "--"]})
    html = fx.frames_html()
    assert html.count("frames[2]") == 1 and "frames[3]" not in html


def test_update_redraws_and_reports_its_time():
    fx = explore(draw, {"scale": [1.0, 2.0]})
    fig = fx.new_figure()
    seconds = fx.update(fig, scale=2.0)
    assert fx.values["scale"] == 2.0 and len(fig.axes) == 1 and seconds > 0


def test_bad_controls_are_refused():
    with pytest.raises(ValueError, match="no values"):
        explore(draw, {"scale": []})
    with pytest.raises(ValueError, match="not one of"):
        explore(draw, {"scale": [1.0]}, defaults={"scale": 5.0})
