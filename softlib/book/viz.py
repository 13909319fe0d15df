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
``SOFTLIB_BOOK_BUILD=1`` announces (``make book`` sets it; so does the ``softlib.book.viz`` Sphinx extension
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
The order and the company of the returned artists are this module's business, not the chapter's: the
artists are drawn in the order a full draw paints them (by zorder), together with whatever a full draw
paints over them in the same axes (spines, axis lines and ticks, titles, legends, later lines), which
are kept out of the stored image; so the blitted frames equal full renders pixel for pixel whatever
order ``update`` returns them in.
:meth:`Explorer.redraw_times` times it over every value of a control and :func:`redraw_report` sums it
up; the kernel-free frames record the same timings in their HTML (``data-redraw-*`` attributes), so the
book's tests can report every figure's redraw time without running anything again. A redraw is a movement
of a control on a figure already shown, so neither counts the first render of a figure, which builds it
(it calls ``draw``: the cost of displaying the figure, paid once); the frames record that one apart, as
``data-build-ms``.

The book's figure style
-----------------------
Every figure that :func:`explore` draws is drawn in :data:`BOOK_STYLE` (:func:`book_style`): text of
at least :data:`MIN_FONT_PT` points, whatever relative size (``"x-small"``) a chapter asks for, and
frames rendered at twice their displayed resolution (``scale=2``), so they stay sharp on high-density
screens; the built book shows them as wide as the text column. Controls carry readable names
(``labels={"logit_scale": "largest logit"}``) and the figure a description for readers who cannot see
it (``alt=...``). A chapter numbers and captions a figure through its cell's metadata
(``"mystnb": {"figure": {"caption": ..., "name": "fig-<chapter>-<name>"}}``, see CONTRIBUTING.md).

Tables and algorithms
---------------------
:func:`table` shows rows as a Markdown table and :func:`show_source` shows a function's source as a
highlighted code block; both render as such in the built book and in JupyterLab.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass, field
import html
import inspect
import io
import itertools
import json
import os
import time
import warnings
import weakref

import numpy as np

__all__ = ["explore", "Explorer", "panels", "redraw_report", "book_style", "use_book_style",
           "show_source", "table",
           "BOOK_BUILD_ENV", "BOOK_STYLE", "MIN_FONT_PT"]

#: The environment variable that says the book is being built, so the kernel-free frames are needed.
BOOK_BUILD_ENV = "SOFTLIB_BOOK_BUILD"

#: More frames than this in one figure is refused: the page would be too heavy to load.
MAX_FRAMES = 400

#: Above this many bytes of frames one figure warns: a page should stay under about 5 MB.
WARN_BYTES = 2_500_000


#: The smallest text, in points, that a figure of the book shows (ticks, legends, annotations).
MIN_FONT_PT = 9.0

#: The book's figure style (matplotlib rcParams), applied while :func:`explore` draws and renders.
BOOK_STYLE = {
    "font.size": 10.0,
    "axes.titlesize": 11.0,
    "axes.labelsize": 10.0,
    "xtick.labelsize": 9.0,
    "ytick.labelsize": 9.0,
    "legend.fontsize": 9.0,
    "legend.title_fontsize": 9.0,
    "figure.titlesize": 11.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.8,
    "savefig.facecolor": "white",
    "figure.facecolor": "white",
}


@contextlib.contextmanager
def book_style():
    """Draw in the book's figure style: :data:`BOOK_STYLE`, and no text under :data:`MIN_FONT_PT`.

    Relative sizes (``fontsize="x-small"``) are floored at :data:`MIN_FONT_PT` points inside the
    context, so a chapter's small legend stays legible on the page.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> with book_style():
    ...     fig, ax = plt.subplots()
    ...     legend = ax.legend(handles=ax.plot([0, 1], label="a"), fontsize="xx-small")
    >>> legend.get_texts()[0].get_fontsize() >= MIN_FONT_PT
    True
    >>> plt.close(fig)
    """
    import matplotlib as mpl
    from matplotlib import font_manager

    # Only the style's own settings are restored afterwards (not rc_context's whole copy): a
    # backend activated inside, as pyplot's first figure does, keeps its interactive mode, which
    # the inline backend needs to show later figures.
    saved_rc = {key: mpl.rcParams[key] for key in BOOK_STYLE}
    saved = dict(font_manager.font_scalings)
    base = BOOK_STYLE["font.size"]
    try:
        mpl.rcParams.update(BOOK_STYLE)
        for name, factor in saved.items():
            if factor is not None and factor * base < MIN_FONT_PT:
                font_manager.font_scalings[name] = MIN_FONT_PT / base
        yield
    finally:
        mpl.rcParams.update(saved_rc)
        font_manager.font_scalings.clear()
        font_manager.font_scalings.update(saved)


def use_book_style() -> None:
    """Draw every later matplotlib figure of this session in the book's style, static ones too.

    What :func:`book_style` does for the figures of :func:`explore`, for the whole session: the
    settings of :data:`BOOK_STYLE`, no relative text size under :data:`MIN_FONT_PT`, and, in a
    Jupyter kernel, figures sent at twice their resolution ("retina"), so that the built book can
    show them as wide as its text column and still sharp. A chapter calls it once, in its imports.

    Examples
    --------
    >>> import matplotlib as mpl
    >>> use_book_style()  # doctest: +SKIP
    >>> mpl.rcParams["legend.fontsize"] >= MIN_FONT_PT  # doctest: +SKIP
    True
    """
    import matplotlib as mpl
    from matplotlib import font_manager

    mpl.rcParams.update(BOOK_STYLE)
    base = BOOK_STYLE["font.size"]
    for name, factor in list(font_manager.font_scalings.items()):
        if factor is not None and factor * base < MIN_FONT_PT:
            font_manager.font_scalings[name] = MIN_FONT_PT / base
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None and hasattr(shell, "kernel"):  # a Jupyter kernel, not a plain shell
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


def _floor_font_sizes(fig) -> None:
    """Raise every text of ``fig`` given in absolute points under :data:`MIN_FONT_PT` to it."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        if text.get_text() and text.get_fontsize() < MIN_FONT_PT:
            text.set_fontsize(MIN_FONT_PT)


class _Markdown:
    """Markdown shown as such by Jupyter and by the built book (MyST-NB renders text/markdown)."""

    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def table(rows: Sequence[Sequence], header: Sequence[str], *, align: str | None = None,
          formats: Mapping[int, str] | Sequence[str] | None = None) -> _Markdown:
    """Rows shown as a table (Markdown, so no pandas is needed), in Jupyter and in the built book.

    Parameters
    ----------
    rows : sequence of sequences
        One sequence of cells per row, as many as ``header`` has names.
    header : sequence of str
        The column names.
    align : str, optional
        One letter per column, ``l``, ``c`` or ``r``; by default numbers right, text left.
    formats : sequence of str, optional
        One format spec per column (``".3g"``, ``""``) applied to numbers.

    Examples
    --------
    >>> table([["float32", 88.72], ["float64", 709.78]], ["format", "largest logit"])
    | format | largest logit |
    |:--|--:|
    | float32 | 88.72 |
    | float64 | 709.78 |
    """
    header = [str(h) for h in header]
    rows = [list(r) for r in rows]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells for {len(header)} columns: {row}")
    if formats is None:
        formats = [""] * len(header)
    if len(formats) != len(header):
        raise ValueError(f"give one format per column ({len(header)}), got {len(formats)}")
    if align is None:
        numeric = [all(isinstance(r[i], (int, float, np.number)) for r in rows) and rows
                   for i in range(len(header))]
        align = "".join("r" if n else "l" for n in numeric)
    if len(align) != len(header) or set(align) - set("lcr"):
        raise ValueError(f"align needs one of l, c, r per column ({len(header)}), got {align!r}")

    def cell(value, spec):
        if isinstance(value, (float, np.floating)) and spec:
            return format(value, spec)
        if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            return format(value, spec) if spec else f"{value:.6g}" if isinstance(value, float) else str(value)
        return str(value).replace("|", "\\|").replace("\n", " ")

    rule = {"l": ":--", "c": ":-:", "r": "--:"}
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(rule[a] for a in align) + "|"]
    lines += ["| " + " | ".join(cell(v, f) for v, f in zip(row, formats)) + " |" for row in rows]
    return _Markdown("\n".join(lines))


def show_source(obj, *, docstring: bool = False) -> _Markdown:
    """The source of a function or class, shown as highlighted Python (not printed as plain text).

    Parameters
    ----------
    obj : function or class
        What to show.
    docstring : bool, optional
        Keep the docstring; by default it is left out, since the text around explains the code.

    Examples
    --------
    >>> def double(x):
    ...     "Twice x."
    ...     return 2 * x
    >>> print(show_source(double)._repr_markdown_())  # doctest: +SKIP
    ```python
    def double(x):
        return 2 * x
    ```
    """
    import ast
    import textwrap

    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError) as error:
        raise TypeError(f"show_source needs a function or class defined in Python source: {error}") from None
    if not docstring:
        tree = ast.parse(source)
        node = tree.body[0]
        body = getattr(node, "body", [])
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            lines = source.splitlines()
            start, end = body[0].lineno - 1, body[0].end_lineno
            source = "\n".join(lines[:start] + lines[end:]) + "\n"
    return _Markdown(f"```python\n{source.rstrip()}\n```")


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


def _paint_order(fig, artists) -> list:
    """``artists`` and whatever a full draw paints over them, in the order a full draw paints them.

    A full draw paints each axes' children by zorder (ties in the order of ``get_children``), the
    axes by zorder, then the figure's own legends and texts. Blitting only the changed artists would
    paint them over the spines, ticks, titles and legends drawn after them; so for every axes that
    holds a changed artist, every child that paints after the lowest changed one joins the list.
    Whole axes (as :func:`panels` returns) are drawn as they are.
    """
    from matplotlib.axes import Axes

    chosen = {}
    for artist in artists:  # a legend's text stands for its legend: the legend paints it
        ax = artist.axes if not isinstance(artist, Axes) else None
        if ax is not None and artist not in ax.get_children():
            owner = next((c for c in ax.get_children()
                          if c.findobj(match=lambda o, a=artist: o is a)), None)
            artist = owner if owner is not None else artist
        chosen[id(artist)] = artist
    artists = list(chosen.values())
    lowest: dict = {}
    loose = []
    for artist in artists:
        ax = artist.axes if not isinstance(artist, Axes) else None
        if ax is None or artist.figure is not fig:
            loose.append(artist)
            continue
        lowest[ax] = min(lowest.get(ax, np.inf), artist.get_zorder())
    ordered = []
    axes_order = {ax: i for i, ax in enumerate(fig.axes)}
    for ax in sorted(lowest, key=lambda a: (a.get_zorder(), axes_order.get(a, 0))):
        children = ax.get_children()
        rank = {id(c): i for i, c in enumerate(children)}
        extra = [c for c in children if id(c) in chosen
                 or (c.get_zorder() > lowest[ax] and c is not ax.patch and c.get_visible())]
        extra += [a for a in chosen.values() if getattr(a, "axes", None) is ax and id(a) not in rank]
        extra.sort(key=lambda c: (c.get_zorder(), rank.get(id(c), len(children))))
        ordered += extra
    loose.sort(key=lambda a: a.get_zorder())
    seen = {id(a) for a in ordered}
    ordered += [a for a in loose if id(a) not in seen]
    if any(not isinstance(a, Axes) for a in artists):  # what the figure paints over every axes
        ordered += [a for a in (*fig.legends, *fig.texts) if id(a) not in seen and a.get_visible()
                    and id(a) not in {id(b) for b in ordered}]
    return ordered


class _Live:
    """A drawn figure's updater and, when the updater returns the artists it changed, the stored
    image of everything else (matplotlib's blitting): each redraw then draws only those artists."""

    def __init__(self, updater):
        self.updater = updater
        self.artists: list = []
        self.key: list = []
        self.background = None

    def blit(self, fig, artists) -> bool:
        """Draw ``artists`` over the stored background; False if the canvas cannot blit.

        The artists are drawn in paint order (:func:`_paint_order`), with what paints over them.
        """
        if not artists:
            return False
        if not hasattr(fig.canvas, "copy_from_bbox"):  # a closed pyplot figure has a bare canvas
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            FigureCanvasAgg(fig)
        canvas = fig.canvas
        key = [id(a) for a in artists]
        if key != self.key:  # first time, or other artists
            for artist in self.artists:
                artist.set_animated(False)
            self.key, self.artists = key, _paint_order(fig, artists)
            for artist in self.artists:
                artist.set_animated(True)
            canvas.draw()  # everything but the animated artists
            self.background = canvas.copy_from_bbox(fig.bbox)
        canvas.restore_region(self.background)
        for artist in self.artists:
            if artist.get_visible():
                fig.draw_artist(artist)
        return True

    def blit_off(self):
        """Back to full renders: the artists are drawn with the rest again."""
        for artist in self.artists:
            artist.set_animated(False)
        self.artists, self.key, self.background = [], [], None

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
    #: Readable names of the controls, shown beside the sliders (by default the Python names).
    labels: dict = field(default_factory=dict)
    #: What the figure shows, for readers who cannot see it (the frames' alt text).
    alt: str | None = None
    #: Frames are rendered at ``scale`` times ``dpi`` and shown at ``dpi``: sharp on dense screens.
    scale: int = 2
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

        with book_style():
            fig = plt.figure(figsize=self.figsize, dpi=self.dpi * self.scale)
        plt.close(fig)  # shown through widgets or HTML, never by the inline backend
        FigureCanvasAgg(fig)
        return fig

    def render(self, fig, **changes) -> bytes:
        """Apply ``changes``, redraw ``fig`` and return it as PNG bytes (on white, for dark pages)."""
        unknown = set(changes) - set(self.controls)
        if unknown:
            raise ValueError(f"unknown control(s) {sorted(unknown)}; the controls are {list(self.controls)}")
        self.values.update(changes)
        with book_style():
            return self._render(fig)

    def label(self, name: str) -> str:
        """The readable name of control ``name``."""
        return self.labels.get(name, name)

    def _render(self, fig) -> bytes:
        live = self._updaters.get(fig)
        if live is None:
            fig.clear()
            updater = self.draw(fig, **self.values)
            _floor_font_sizes(fig)
            if callable(updater):
                live = self._updaters[fig] = _Live(updater)
        if live is not None:
            changed = live.updater(**self.values)
            if changed is not None and live.blit(fig, list(changed)):
                return live.png(fig)
            live.blit_off()
        out = io.BytesIO()
        # Fast compression: the widget's PNG travels on the machine; the frames are recompressed.
        fig.savefig(out, format="png", dpi=self.dpi * self.scale, facecolor="white",
                    pil_kwargs={"compress_level": 1})
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
                    description=self.label(name), continuous_update=True,
                    style={"description_width": "initial"},
                    layout=widgets.Layout(width="min(36em, 100%)"),
                )
            else:
                control = widgets.ToggleButtons(options=options, value=self.values[name],
                                                description=self.label(name),
                                                style={"description_width": "initial"})
            control.add_class(f"softlib-control-{name}")
            controls[name] = control
        self.update(fig)
        width = int(round(self.figsize[0] * self.dpi))  # the figure's own size, not stretched
        image = widgets.Image(value=self._png, format="png", width=str(width),
                              layout=widgets.Layout(max_width="100%", height="auto"))

        def redraw_for(name):
            def redraw(change):
                self.update(fig, **{name: change["new"]})
                image.value = self._png
            return redraw

        for name, control in controls.items():
            control.observe(redraw_for(name), names="value")
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
        return f"{fx.label(name)} = {_label(value)}"

    def slider(name, axis, n, at, options):
        label = esc(fx.label(name))
        return (
            f'<label class="softlib-explorer-control"><span class="softlib-explorer-name">{label}</span> '
            f'<input type="range" min="0" max="{n - 1}" step="1" value="{at}" data-axis="{axis}" '
            f'aria-label="{label}"> <output>{esc(_label(options[at]))}</output></label>'
        )

    controls = [slider(fx.main, 0, shape[0], i0, first)]
    if fx.second is not None:
        if _is_numeric(second):
            controls.append(slider(fx.second, 1, shape[1], j0, second))
        else:
            buttons = "".join(
                f'<button type="button" data-index="{j}" aria-pressed="{str(j == j0).lower()}">'
                f"{esc(_label(v))}</button>" for j, v in enumerate(second)
            )
            label = esc(fx.label(fx.second))
            controls.append(
                f'<span class="softlib-explorer-control" role="group" aria-label="{label}" '
                f'data-axis="1"><span class="softlib-explorer-name">{label}</span> {buttons}</span>'
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
    at = label_of(fx.main, first[i0]) + (f", {label_of(fx.second, second[j0])}" if fx.second else "")
    described = fx.alt or f"interactive figure over {' and '.join(fx.label(n) for n in fx.controls)}"
    return (
        f'<div class="softlib-explorer" data-main="{esc(fx.main)}" data-second="{esc(fx.second or "")}" '
        f'data-frames="{len(frames)}" data-redraw-median-ms="{np.median(ms):.1f}" '
        f'data-redraw-p95-ms="{np.percentile(ms, 95):.1f}" data-redraw-max-ms="{ms.max():.1f}" '
        f'data-redraw-cpu-p95-ms="{np.percentile(cpu_ms, 95):.1f}" data-build-ms="{build_ms:.1f}">\n'
        f'<img class="softlib-explorer-frame" width="{width}" height="{height}" '
        f'style="max-width:100%;height:auto" alt="{esc(described)}, at {esc(at)}" '
        f'src="data:image/png;base64,{frames[i0 * shape[1] + j0]}">\n'
        f'<div class="softlib-explorer-controls">{"".join(controls)}</div>\n'
        f"<script>({_SCRUBBER_JS})(document.currentScript.parentElement, {json.dumps(data)}, "
        f"{json.dumps([fx.label(fx.main), fx.label(fx.second) if fx.second else None])}, [{i0}, {j0}], "
        f"{json.dumps(described)});</script>\n</div>"
    )


# Swaps the frame when a range input moves or a button is pressed; frame (i, j) is frames[i * n2 + j].
_SCRUBBER_JS = """function (root, data, names, at, described) {
  var img = root.querySelector("img.softlib-explorer-frame");
  function show() {
    img.src = "data:image/png;base64," + data.frames[at[0] * data.shape[1] + at[1]];
    var alt = names[0] + " = " + data.labels[0][at[0]];
    if (names[1]) alt += ", " + names[1] + " = " + data.labels[1][at[1]];
    img.alt = described + ", at " + alt;
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
            second: str | None = None, frames: bool | None = None,
            labels: Mapping[str, str] | None = None, alt: str | None = None,
            scale: int = 2) -> Explorer:
    """An interactive figure drawn by ``draw(fig, **values)`` over a grid of control values.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **values)`` draws the figure for one value of every control into ``fig``
        (a cleared :class:`matplotlib.figure.Figure`). Keep it fast: every slider movement calls it
        (aim for under 100 ms, see :func:`redraw_report`); compute heavy data once, outside. It may
        return a function ``update(**values)`` that moves the drawn artists to new values in place;
        later movements then call that instead of drawing the figure again from scratch. If
        ``update`` returns the list of artists it changed (in any order), only those are redrawn,
        over a stored image of the rest (blitting), provided the update changes nothing else;
        spines, ticks, titles and legends that a full draw paints over them are redrawn with them.
    controls : mapping
        Control name to the sequence of values it can take: numbers give a slider, strings give
        buttons.
    defaults : mapping, optional
        The starting value of each control; by default the middle of its sequence.
    main : str, optional
        The control scrubbed in the kernel-free version; by default the first.
    figsize, dpi
        The figure's size in inches and its displayed resolution in pixels per inch (the frames are
        rendered at ``scale * dpi``). The built book shows every figure as wide as its text column,
        so ``figsize`` sets the figure's proportions and how large its text looks: about 8 inches
        wide matches the column.
    second : str, optional
        A second control scrubbed in the kernel-free version, for a grid of frames over two
        controls (keep the grid small: every pair of values is one frame). Controls that are neither
        ``main`` nor ``second`` stay at their defaults there.
    frames : bool, optional
        Whether displaying the figure computes the kernel-free frames: by default only while the book
        is built (``SOFTLIB_BOOK_BUILD=1``); elsewhere the live widgets and a still image are shown.
    labels : mapping, optional
        A readable name for each control, shown beside its slider or buttons (``{"T": "temperature
        T"}``); by default the control's Python name.
    alt : str, optional
        What the figure shows, in a sentence, for readers who cannot see it (the frames' alt text,
        completed with the controls' current values).
    scale : int, optional
        Frames are rendered at ``scale`` times ``dpi`` (2: sharp on high-density screens).

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
    labels = dict(labels or {})
    unknown = set(labels) - set(options)
    if unknown:
        raise ValueError(f"labels given for unknown control(s) {sorted(unknown)}")
    if not all(isinstance(v, str) and v.strip() for v in labels.values()):
        raise ValueError("labels must be non-empty strings")
    if alt is not None and (not isinstance(alt, str) or not alt.strip()):
        raise ValueError("alt must be a sentence describing the figure")
    if int(scale) != scale or not 1 <= scale <= 4:
        raise ValueError(f"scale must be an integer from 1 to 4, got {scale}")
    return Explorer(draw, options, values, main, tuple(figsize), dpi, second, frames,
                    labels=labels, alt=alt, scale=int(scale))


def setup(app):
    """Sphinx extension hook (``extra_extensions: [softlib.book.viz]`` in ``_config.yml``).

    The notebooks are executed by kernels that the build starts and that inherit its environment:
    setting :data:`BOOK_BUILD_ENV` here makes every :func:`explore` of the book compute its
    kernel-free frames, however the build was started.
    """
    os.environ.setdefault(BOOK_BUILD_ENV, "1")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
