"""Interactive figures that also work where no kernel runs.

A chapter describes a figure as a function ``draw(fig, **values)`` of a few parameters and calls
:func:`explore`. In a live kernel the reader gets ipywidgets controls that redraw the figure; the same
output also carries a self-contained HTML version (frames precomputed over the main parameter, with a
scrubber), which the built book shows, since ipywidgets callbacks never run in a static page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
import time

import numpy as np

__all__ = ["explore", "Explorer"]


def _as_options(values) -> list:
    """A control's values as a plain list (numbers become Python floats or ints)."""
    if isinstance(values, np.ndarray):
        values = values.tolist()
    return list(values)


def _label(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


@dataclass
class Explorer:
    """An interactive figure: its drawing function, its controls and their current values.

    Built by :func:`explore`; kept so that tests can time :meth:`update` and check the frames.
    """

    draw: Callable
    controls: dict[str, list]
    values: dict
    main: str
    figsize: tuple[float, float]
    dpi: int

    def new_figure(self):
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=self.figsize, dpi=self.dpi)
        plt.close(fig)  # shown through widgets or HTML, never by the inline backend
        return fig

    def update(self, fig, **changes) -> float:
        """Redraw ``fig`` with ``changes`` applied; return the seconds the redraw took."""
        start = time.perf_counter()
        self.values.update(changes)
        fig.clear()
        self.draw(fig, **self.values)
        fig.canvas.draw()
        return time.perf_counter() - start

    def frames_html(self) -> str:
        """A self-contained HTML animation over the main parameter, with a scrubber."""
        from matplotlib.animation import FuncAnimation

        fig = self.new_figure()
        options = self.controls[self.main]
        saved = dict(self.values)

        def frame(i):
            fig.clear()
            self.draw(fig, **{**saved, self.main: options[i]})

        animation = FuncAnimation(fig, frame, frames=len(options), interval=150, repeat=False)
        html = animation.to_jshtml(default_mode="once")
        self.values = saved
        return html

    def widget(self):
        """ipywidgets controls above an output that shows the redrawn figure."""
        import ipywidgets as widgets
        from IPython.display import display

        output = widgets.Output()
        fig = self.new_figure()
        sliders = {}
        for name, options in self.controls.items():
            if all(isinstance(v, (int, float)) for v in options):
                control = widgets.SelectionSlider(
                    options=[(_label(v), v) for v in options], value=self.values[name],
                    description=name, continuous_update=True,
                )
            else:
                control = widgets.ToggleButtons(options=options, value=self.values[name], description=name)
            sliders[name] = control

        def redraw(change=None):
            if change is not None:
                self.update(fig, **{change["owner"].description: change["new"]})
            with output:
                output.clear_output(wait=True)
                display(fig)

        for control in sliders.values():
            control.observe(redraw, names="value")
        self.update(fig)
        redraw()
        return widgets.VBox([*sliders.values(), output])

    def _repr_mimebundle_(self, include=None, exclude=None):
        # Both views in one output: JupyterLab renders the widget, the built book (whose mime
        # priority drops widget views, see _config.yml) renders the HTML frames.
        bundle = {"text/html": self.frames_html(), "text/plain": f"<interactive figure over {self.main}>"}
        try:
            bundle.update(self.widget()._repr_mimebundle_())
        except ImportError:  # no ipywidgets: the HTML frames alone
            pass
        return bundle


def explore(draw: Callable, controls: Mapping[str, Sequence], *, defaults: Mapping | None = None,
            main: str | None = None, figsize: tuple[float, float] = (6.4, 3.6), dpi: int = 80) -> Explorer:
    """An interactive figure drawn by ``draw(fig, **values)`` over a grid of control values.

    Parameters
    ----------
    draw : callable
        ``draw(fig, **values)`` draws the figure for one value of every control into ``fig``
        (a cleared :class:`matplotlib.figure.Figure`).
    controls : mapping
        Control name to the sequence of values it can take: numbers give a slider, strings give
        buttons.
    defaults : mapping, optional
        The starting value of each control; by default the middle of its sequence.
    main : str, optional
        The control scrubbed in the kernel-free version; by default the first.
    figsize, dpi
        The figure's size in inches and its resolution (which sets the page's weight).

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
    options = {name: _as_options(values) for name, values in controls.items()}
    if not options:
        raise ValueError("explore needs at least one control")
    for name, values in options.items():
        if not values:
            raise ValueError(f"control {name!r} has no values")
    values = {name: values[len(values) // 2] for name, values in options.items()}
    for name, value in (defaults or {}).items():
        if name not in options:
            raise ValueError(f"default given for unknown control {name!r}")
        if value not in options[name]:
            raise ValueError(f"default {value!r} of {name!r} is not one of its values")
        values[name] = value
    main = next(iter(options)) if main is None else main
    if main not in options:
        raise ValueError(f"main control {main!r} is not one of {list(options)}")
    return Explorer(draw, options, values, main, tuple(figsize), dpi)
