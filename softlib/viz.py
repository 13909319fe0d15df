"""Interactive figures that also work where no kernel runs.

A chapter describes a figure as a function ``draw(fig, **values)`` of a few parameters and calls
:func:`explore`. In a live kernel the reader gets ipywidgets controls (a slider for numbers, buttons for
strings) that redraw the figure. The built book has no kernel, so ipywidgets callbacks never run there;
for it the same output carries a self-contained HTML version: the figure precomputed over every value of
the main control (or over a grid of two controls) as small PNG frames, with a scrubber that swaps them.

When the frames are computed
----------------------------
Rendering every frame costs one redraw per value, which a reader in JupyterLab (who has the live widgets)
and the notebook tests (which only need the code to run) would pay for nothing. So by default the frames
are computed only while the book is being built, which the environment variable
``SOFTLIB_BOOK_BUILD=1`` announces (``make book`` sets it; so does the ``softlib.viz`` Sphinx extension
listed in ``_config.yml``, for a plain ``jupyter-book build``). Elsewhere the output carries the live
widgets and a PNG of the current figure, which viewers without widgets (GitHub, nbviewer, a notebook
saved with its outputs) show. ``explore(..., frames=True)`` or ``False`` overrides the choice.

Responsiveness
--------------
:meth:`Explorer.update` is what one widget movement costs: clear the figure, draw it, render it to PNG.
Creating axes and laying them out is a large part of that; a ``draw`` that returns a function
``update(**values)`` which moves its artists in place (``set_data``, ``set_height``, ``set_text``) is
called only once per figure, and every later movement calls that function and renders. When
``update`` also returns the artists it changed (as with ``FuncAnimation(..., blit=True)``), the rest of
the figure is rendered once and kept, and each movement draws only those artists over it: ten times
faster or more. That is only right when the update changes nothing else (axis limits, ticks, layout).
The returned artists are drawn over that image in the order given: list them in the order a full draw
paints them (by zorder), followed by what a full draw paints over them (``*ax.spines.values()``, a
legend), and the blitted frames equal full renders pixel for pixel.
:meth:`Explorer.redraw_times` times it over every value of a control and :func:`redraw_report` sums it
up; the kernel-free frames record the same timings in their HTML (``data-redraw-*`` attributes), so the
book's tests can report every figure's redraw time without running anything again. A redraw is a movement
of a control on a figure already shown, so neither counts the first render of a figure, which builds it
(it calls ``draw``: the cost of displaying the figure, paid once); the frames record that one apart, as
``data-build-ms``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
import html
import io
import itertools
import json
import os
import time
import warnings
import weakref

import numpy as np

__all__ = ["explore", "Explorer", "panels", "redraw_report", "BOOK_BUILD_ENV"]

#: The environment variable that says the book is being built, so the kernel-free frames are needed.
BOOK_BUILD_ENV = "SOFTLIB_BOOK_BUILD"

#: More frames than this in one figure is refused: the page would be too heavy to load.
MAX_FRAMES = 400

#: Above this many bytes of frames one figure warns: a page should stay under about 5 MB.
WARN_BYTES = 2_500_000


def _as_options(values) -> list:
    """A control's values as a plain list (numbers become Python floats or ints)."""
    if isinstance(values, np.ndarray):
        values = values.tolist()
    return list(values)


def _label(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _is_numeric(options) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in options)


def _book_build() -> bool:
    return os.environ.get(BOOK_BUILD_ENV, "") not in ("", "0")


def _compact_png(png: bytes) -> bytes:
    """The same picture as a 256-colour palette PNG: about 3 times lighter for line plots.

    matplotlib's figures use few colours, so the palette loses nothing visible (no dithering).
    """
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    palette = image.quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="png")
    return out.getvalue() if out.tell() < len(png) else png


class _Live:
    """A drawn figure's updater and, when the updater returns the artists it changed, the stored
    image of everything else (matplotlib's blitting): each redraw then draws only those artists."""

    def __init__(self, updater):
        self.updater = updater
        self.artists: list = []
        self.background = None

    def blit(self, fig, artists) -> bool:
        """Draw ``artists`` over the stored background; False if the canvas cannot blit."""
        if not artists:
            return False
        if not hasattr(fig.canvas, "copy_from_bbox"):  # a closed pyplot figure has a bare canvas
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            FigureCanvasAgg(fig)
        canvas = fig.canvas
        if [id(a) for a in artists] != [id(a) for a in self.artists]:  # first time, or other artists
            for artist in self.artists:
                artist.set_animated(False)
            for artist in artists:
                artist.set_animated(True)
            canvas.draw()  # everything but the animated artists
            self.background, self.artists = canvas.copy_from_bbox(fig.bbox), artists
        canvas.restore_region(self.background)
        for artist in artists:
            fig.draw_artist(artist)
        return True

    def blit_off(self):
        """Back to full renders: the artists are drawn with the rest again."""
        for artist in self.artists:
            artist.set_animated(False)
        self.artists, self.background = [], None

    @staticmethod
    def png(fig) -> bytes:
        from PIL import Image

        rgba = Image.fromarray(np.asarray(fig.canvas.buffer_rgba()))
        white = Image.new("RGBA", rgba.size, "white")
        out = io.BytesIO()
        Image.alpha_composite(white, rgba).convert("RGB").save(out, format="png", compress_level=1)
        return out.getvalue()


@dataclass
class Explorer:
    """An interactive figure: its drawing function, its controls and their current values.

    Built by :func:`explore`; displaying it in Jupyter shows the live widgets and, while the book is
    built, the kernel-free frames.
    """

    draw: Callable
    controls: dict[str, list]
    values: dict
    main: str
    figsize: tuple[float, float]
    dpi: int
    second: str | None = None
    frames: bool | None = None
    # The in-place updater that ``draw`` returned for each figure it drew, if any.
    _updaters: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary, init=False,
                                                 repr=False, compare=False)

    def new_figure(self):
        """A figure of the explorer's size, closed so that no backend shows it by itself, on an Agg canvas.

        Closing leaves a pyplot figure a bare canvas, on which every layout computation (``tight_layout``
        in ``draw``) makes a renderer of its own; on the Agg canvas that renders the figure they share
        one, and with it matplotlib's cache of text sizes.
        """
        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = plt.figure(figsize=self.figsize, dpi=self.dpi)
        plt.close(fig)  # shown through widgets or HTML, never by the inline backend
        FigureCanvasAgg(fig)
        return fig

    def render(self, fig, **changes) -> bytes:
        """Apply ``changes``, redraw ``fig`` and return it as PNG bytes (on white, for dark pages)."""
        unknown = set(changes) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; the controls are {list(self.controls)}")
        self.values.update(changes)
        live = self._updaters.get(fig)
        if live is None:
            fig.clear()
            updater = self.draw(fig, **self.values)
            if callable(updater):
                live = self._updaters[fig] = _Live(updater)
        if live is not None:
            changed = live.updater(**self.values)
            if changed is not None and live.blit(fig, list(changed)):
                return live.png(fig)
            live.blit_off()
        out = io.BytesIO()
        # Fast compression: the widget's PNG travels on the machine; the frames are recompressed.
        fig.savefig(out, format="png", dpi=self.dpi, facecolor="white", pil_kwargs={"compress_level": 1})
        return out.getvalue()

    def update(self, fig, **changes) -> float:
        """Redraw ``fig`` with ``changes`` applied, as one widget movement does; return its seconds.

        The time covers clearing the figure and calling ``draw`` (or only the updater that ``draw``
        returned, after the first time) and rendering the PNG the widget shows. The CPU time of the
        same work, which other programs running on the machine inflate less, is kept in ``_cpu``.
        """
        start, cpu = time.perf_counter(), time.thread_time()
        self._png = self.render(fig, **changes)
        self._cpu = time.thread_time() - cpu
        return time.perf_counter() - start

    def redraw_times(self, control: str | None = None, *, fig=None, cpu: bool = False) -> np.ndarray:
        """Seconds of :meth:`update` for every value of ``control`` (the main one by default).

        The other controls keep their current values, which are restored afterwards. With
        ``cpu=True``, the CPU seconds of the redraws instead of the wall-clock seconds. A new figure
        (``fig`` not given) is first rendered once at the current values, untimed: that render builds the
        figure, as displaying it does, and is no redraw.

        Examples
        --------
        >>> fx = explore(lambda fig, a: fig.subplots().plot([0, a]), {"a": [1.0, 2.0, 3.0]})
        >>> fx.redraw_times().shape
        (3,)
        """
        wall, cpu_seconds = self._time_control(control, fig)
        return cpu_seconds if cpu else wall

    def _time_control(self, control, fig) -> tuple[np.ndarray, np.ndarray]:
        """Wall-clock and CPU seconds of :meth:`update` over every value of ``control``."""
        control = self.main if control is None else control
        if control not in self.controls:
            raise ValueError(f"unknown control {control!r}; the controls are {list(self.controls)}")
        saved = dict(self.values)
        if fig is None:
            fig = self.new_figure()
            self.render(fig)  # builds the figure (draw), as displaying it does: not a redraw
        try:
            wall, cpu = [], []
            for v in self.controls[control]:
                wall.append(self.update(fig, **{control: v}))
                cpu.append(self._cpu)
            return np.array(wall), np.array(cpu)
        finally:
            self.values = saved

    def _grid(self) -> tuple[list, list]:
        """The values scrubbed in the kernel-free version: the main control's, then the second's."""
        second = self.controls[self.second] if self.second is not None else [None]
        return self.controls[self.main], second

    def frames_html(self) -> str:
        """The self-contained, kernel-free version: PNG frames over the main control (and the second
        one, if any), a scrubber that swaps them, and the redraw timings measured while rendering (the
        first frame, which builds the figure, is timed apart when there are others)."""
        first, second = self._grid()
        n_frames = len(first) * len(second)
        if n_frames > MAX_FRAMES:
            raise ValueError(
                f"the kernel-free figure would have {n_frames} frames (more than {MAX_FRAMES}): "
                "give the scrubbed controls fewer values"
            )
        fig = self.new_figure()
        saved = dict(self.values)
        frames, seconds, cpu = [], [], []
        try:
            for a in first:
                for b in second:
                    changes = {self.main: a} if self.second is None else {self.main: a, self.second: b}
                    seconds.append(self.update(fig, **changes))
                    cpu.append(self._cpu)
                    frames.append(base64.b64encode(_compact_png(self._png)).decode("ascii"))
        finally:
            self.values = saved
        total = sum(len(f) for f in frames)
        if total > WARN_BYTES:
            warnings.warn(
                f"the kernel-free figure over {self.main!r} weighs {total / 1e6:.1f} MB; a page should stay "
                "under about 5 MB: use fewer values, a smaller figsize or dpi", stacklevel=2,
            )
        return _scrubber_html(self, frames, first, second, np.array(seconds), np.array(cpu))

    def widget(self):
        """ipywidgets controls above an image of the figure that every movement redraws."""
        import ipywidgets as widgets

        fig = self.new_figure()
        controls = {}
        for name, options in self.controls.items():
            if _is_numeric(options):
                control = widgets.SelectionSlider(
                    options=[(_label(v), v) for v in options], value=self.values[name],
                    description=name, continuous_update=True,
                )
            else:
                control = widgets.ToggleButtons(options=options, value=self.values[name], description=name)
            controls[name] = control
        self.update(fig)
        width = int(round(self.figsize[0] * self.dpi))  # the figure's own size, not stretched
        image = widgets.Image(value=self._png, format="png", width=str(width),
                              layout=widgets.Layout(max_width="100%", height="auto"))

        def redraw(change):
            self.update(fig, **{change["owner"].description: change["new"]})
            image.value = self._png

        for control in controls.values():
            control.observe(redraw, names="value")
        return widgets.VBox([*controls.values(), image])

    def _repr_mimebundle_(self, include=None, exclude=None):
        # JupyterLab shows the widget view; the built book, whose mime priority drops widget views
        # (see _config.yml), shows the kernel-free frames; other viewers show the PNG.
        frames = _book_build() if self.frames is None else self.frames
        bundle = {"text/plain": f"<interactive figure over {', '.join(self.controls)}>"}
        if frames:
            bundle["text/html"] = self.frames_html()
        try:
            bundle.update(self.widget()._repr_mimebundle_())
        except ImportError:  # no ipywidgets: the HTML frames or a still image
            self.update(self.new_figure())
        if not frames:
            bundle["image/png"] = base64.b64encode(self._png).decode("ascii")
        return bundle


def _scrubber_html(fx: Explorer, frames: list[str], first: list, second: list, seconds: np.ndarray,
                   cpu: np.ndarray) -> str:
    """The HTML of the kernel-free figure; see ``book/_static/softlib.css`` for its looks."""
    shape = (len(first), len(second))
    i0 = first.index(fx.values[fx.main])
    j0 = second.index(fx.values[fx.second]) if fx.second is not None else 0
    width, height = (int(round(s * fx.dpi)) for s in fx.figsize)
    esc = html.escape

    def label_of(name, value):
        return f"{name} = {_label(value)}"

    controls = [
        f'<label class="softlib-explorer-control">{esc(fx.main)} '
        f'<input type="range" min="0" max="{shape[0] - 1}" step="1" value="{i0}" data-axis="0" '
        f'aria-label="{esc(fx.main)}"> <output>{esc(_label(first[i0]))}</output></label>'
    ]
    if fx.second is not None:
        if _is_numeric(second):
            controls.append(
                f'<label class="softlib-explorer-control">{esc(fx.second)} '
                f'<input type="range" min="0" max="{shape[1] - 1}" step="1" value="{j0}" data-axis="1" '
                f'aria-label="{esc(fx.second)}"> <output>{esc(_label(second[j0]))}</output></label>'
            )
        else:
            buttons = "".join(
                f'<button type="button" data-index="{j}" aria-pressed="{str(j == j0).lower()}">'
                f"{esc(_label(v))}</button>" for j, v in enumerate(second)
            )
            controls.append(
                f'<span class="softlib-explorer-control" role="group" aria-label="{esc(fx.second)}" '
                f'data-axis="1">{esc(fx.second)} {buttons}</span>'
            )
    data = {
        "frames": frames,
        "shape": shape,
        "labels": [[_label(v) for v in first], [_label(v) for v in second]],
    }
    build_ms = seconds[0] * 1e3
    if len(seconds) > 1:  # the first frame built the figure (draw): the others are the redraws
        seconds, cpu = seconds[1:], cpu[1:]
    ms, cpu_ms = seconds * 1e3, cpu * 1e3
    alt = label_of(fx.main, first[i0]) + (f", {label_of(fx.second, second[j0])}" if fx.second else "")
    return (
        f'<div class="softlib-explorer" data-main="{esc(fx.main)}" data-second="{esc(fx.second or "")}" '
        f'data-frames="{len(frames)}" data-redraw-median-ms="{np.median(ms):.1f}" '
        f'data-redraw-p95-ms="{np.percentile(ms, 95):.1f}" data-redraw-max-ms="{ms.max():.1f}" '
        f'data-redraw-cpu-p95-ms="{np.percentile(cpu_ms, 95):.1f}" data-build-ms="{build_ms:.1f}">\n'
        f'<img class="softlib-explorer-frame" width="{width}" height="{height}" '
        f'style="max-width:100%;height:auto" alt="interactive figure at {esc(alt)}" '
        f'src="data:image/png;base64,{frames[i0 * shape[1] + j0]}">\n'
        f'<div class="softlib-explorer-controls">{"".join(controls)}</div>\n'
        f"<script>({_SCRUBBER_JS})(document.currentScript.parentElement, {json.dumps(data)}, "
        f"{json.dumps([fx.main, fx.second])}, [{i0}, {j0}]);</script>\n</div>"
    )


# Swaps the frame when a range input moves or a button is pressed; frame (i, j) is frames[i * n2 + j].
_SCRUBBER_JS = """function (root, data, names, at) {
  var img = root.querySelector("img.softlib-explorer-frame");
  function show() {
    img.src = "data:image/png;base64," + data.frames[at[0] * data.shape[1] + at[1]];
    var alt = names[0] + " = " + data.labels[0][at[0]];
    if (names[1]) alt += ", " + names[1] + " = " + data.labels[1][at[1]];
    img.alt = "interactive figure at " + alt;
  }
  root.querySelectorAll("input[type=range]").forEach(function (input) {
    var axis = Number(input.dataset.axis), out = input.parentElement.querySelector("output");
    input.addEventListener("input", function () {
      at[axis] = Number(input.value);
      out.textContent = data.labels[axis][at[axis]];
      show();
    });
  });
  root.querySelectorAll("button[data-index]").forEach(function (button, _, all) {
    button.addEventListener("click", function () {
      at[1] = Number(button.dataset.index);
      all.forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
      show();
    });
  });
}"""


def redraw_report(explorer: Explorer, control: str | None = None) -> str:
    """A one-line summary of :meth:`Explorer.redraw_times`: median, p95 and max in milliseconds,
    and the p95 of the CPU time (closer to the wall time on an idle machine).

    A chapter can print it to show how responsive its figure is (show timings; never assert them).

    Examples
    --------
    >>> fx = explore(lambda fig, a: fig.subplots().plot([0, a]), {"a": [1.0, 2.0]})
    >>> redraw_report(fx).startswith("redraw over 2 values of a:")
    True
    """
    control = explorer.main if control is None else control
    wall, cpu = explorer._time_control(control, None)
    ms, cpu_ms = wall * 1e3, cpu * 1e3
    return (f"redraw over {len(ms)} values of {control}: median {np.median(ms):.0f} ms, "
            f"p95 {np.percentile(ms, 95):.0f} ms, max {ms.max():.0f} ms (CPU p95 {np.percentile(cpu_ms, 95):.0f} ms)")


def panels(draw: Callable, controls: Mapping[str, Sequence]) -> Callable:
    """A ``draw`` for :func:`explore` that draws every combination of control values once, each in
    axes of its own, so that a movement only shows one panel and redraws it alone.

    For figures that an in-place update cannot move: where every value changes the axis limits,
    ticks, legend or layout. ``draw(fig, **values)`` is the plain drawing function; it is called once
    per combination of ``controls`` (so keep the grid small), each time on a figure whose earlier
    panels are hidden and whose subplot parameters are the defaults, so its layout
    (``fig.tight_layout()`` included) is the one it would have alone. Showing the figure costs all
    the draws; every later movement costs one blitted panel.

    Examples
    --------
    >>> def draw(fig, top):
    ...     ax = fig.subplots()
    ...     ax.plot([0, top])                      # the y-axis limits follow ``top``
    >>> controls = {"top": [1.0, 10.0, 100.0]}
    >>> fx = explore(panels(draw, controls), controls)
    >>> fig = fx.new_figure()
    >>> _ = fx.render(fig)
    >>> len(fig.axes), sum(ax.get_visible() for ax in fig.axes)
    (3, 1)
    """
    import matplotlib as mpl

    names = list(controls)
    grid = [dict(zip(names, combo)) for combo in itertools.product(*(_as_options(controls[n]) for n in names))]
    defaults = {side: mpl.rcParams[f"figure.subplot.{side}"] for side in ("left", "bottom", "right", "top")}

    def draw_all(fig, **values):
        drawn = []
        for combo in grid:
            for ax in fig.axes:
                ax.set_visible(False)  # a layout sees only the visible axes
            fig.subplots_adjust(**defaults)
            before = set(fig.axes)
            draw(fig, **combo)
            drawn.append((combo, [(ax, ax.get_position()) for ax in fig.axes if ax not in before]))
        for _, axes in drawn:
            for ax, position in axes:
                ax.set_position(position)  # a later layout moved it

        def update(**values):
            for combo, axes in drawn:
                for ax, _ in axes:
                    ax.set_visible(all(values[n] == combo[n] for n in names))
            return [ax for _, axes in drawn for ax, _ in axes]

        return update

    return draw_all


def explore(draw: Callable, controls: Mapping[str, Sequence], *, defaults: Mapping | None = None,
            main: str | None = None, figsize: tuple[float, float] = (6.4, 3.6), dpi: int = 80,
            second: str | None = None, frames: bool | None = None) -> Explorer:
    """An interactive figure drawn by ``draw(fig, **values)`` over a grid of control values.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **values)`` draws the figure for one value of every control into ``fig``
        (a cleared :class:`matplotlib.figure.Figure`). Keep it fast: every slider movement calls it
        (aim for under 100 ms, see :func:`redraw_report`); compute heavy data once, outside. It may
        return a function ``update(**values)`` that moves the drawn artists to new values in place;
        later movements then call that instead of drawing the figure again from scratch. If
        ``update`` returns the list of artists it changed, only those are redrawn, over a stored
        image of the rest (blitting), provided the update changes nothing else.
    controls : mapping
        Control name to the sequence of values it can take: numbers give a slider, strings give
        buttons.
    defaults : mapping, optional
        The starting value of each control; by default the middle of its sequence.
    main : str, optional
        The control scrubbed in the kernel-free version; by default the first.
    figsize, dpi
        The figure's size in inches and its resolution (which set the redraw time and the page's
        weight: a 6.4 x 3.6 inch frame at 80 dpi weighs about 7 kB).
    second : str, optional
        A second control scrubbed in the kernel-free version, for a grid of frames over two
        controls (keep the grid small: every pair of values is one frame). Controls that are neither
        ``main`` nor ``second`` stay at their defaults there.
    frames : bool, optional
        Whether displaying the figure computes the kernel-free frames: by default only while the book
        is built (``SOFTLIB_BOOK_BUILD=1``); elsewhere the live widgets and a still image are shown.

    Returns
    -------
    Explorer
        Displayed by Jupyter as widgets plus a kernel-free HTML version.

    Examples
    --------
    >>> import numpy as np
    >>> def draw(fig, scale):
    ...     ax = fig.subplots()
    ...     ax.plot(np.arange(3) * scale)
    >>> fx = explore(draw, {"scale": [1.0, 2.0, 3.0]})
    >>> fx.main, fx.values
    ('scale', {'scale': 2.0})
    """
    if not callable(draw):
        raise TypeError(f"draw must be a function draw(fig, **values), not {type(draw).__name__}")
    options = {name: _as_options(values) for name, values in controls.items()}
    if not options:
        raise ValueError("explore needs at least one control")
    for name, values in options.items():
        if not values:
            raise ValueError(f"control {name!r} has no values")
        if not _is_numeric(values) and not all(isinstance(v, str) for v in values):
            raise ValueError(f"control {name!r} mixes numbers and other values; give numbers or strings")
    values = {name: values[len(values) // 2] for name, values in options.items()}
    for name, value in (defaults or {}).items():
        if name not in options:
            raise ValueError(f"default given for unknown control {name!r}")
        if value not in options[name]:
            raise ValueError(f"default {value!r} of {name!r} is not one of its values")
        values[name] = options[name][options[name].index(value)]
    main = next(iter(options)) if main is None else main
    if main not in options:
        raise ValueError(f"main control {main!r} is not one of {list(options)}")
    if second is not None and (second not in options or second == main):
        raise ValueError(f"second control {second!r} must be one of {list(options)} other than {main!r}")
    if figsize[0] <= 0 or figsize[1] <= 0 or dpi <= 0:
        raise ValueError(f"figsize and dpi must be positive, got {figsize} and {dpi}")
    return Explorer(draw, options, values, main, tuple(figsize), dpi, second, frames)


def setup(app):
    """Sphinx extension hook (``extra_extensions: [softlib.viz]`` in ``_config.yml``).

    The notebooks are executed by kernels that the build starts and that inherit its environment:
    setting :data:`BOOK_BUILD_ENV` here makes every :func:`explore` of the book compute its
    kernel-free frames, however the build was started.
    """
    os.environ.setdefault(BOOK_BUILD_ENV, "1")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
