"""What every part of ``b2bclient demo`` and ``b2bclient report`` works with: the section protocol.

The report is built from **sections**. A section is a function that takes a :class:`Context` and
returns nothing::

    def churn_section(ctx: Context) -> None:
        ctx.out.section("Churn as survival")              # a new section, terminal and report
        model = ...                                       # fit on ctx.base / ctx.features
        ctx.out.line(f"held-out concordance: {c:.3f}")    # a paragraph
        ctx.out.frame(model.explain())                    # a table
        ctx.out.figure(ax, caption="Survival by size band")  # an embedded PNG
        ctx.results["churn_model"] = model                # for the sections after it

How to add a capability to the report:

1. Write the section function in a private module of :mod:`b2bclient.cli` (``_demo_<name>.py``).
   Compute everything as of ``ctx.as_of`` (the report's date: features, scores, suggestions)
   and fit what needs observed outcomes at ``ctx.landmark``, with the outcomes in
   ``[ctx.landmark, ctx.as_of)``. ``ctx.features`` holds the features as of ``ctx.as_of``;
   ``ctx.features_at(t)`` builds (and caches) them at another time.
2. Write through ``ctx.out``: :meth:`Printer.section`, :meth:`Printer.line`,
   :meth:`Printer.note`, :meth:`Printer.frame` and :meth:`Printer.figure` print to the terminal
   *and* add the same content to the HTML report, so the two never disagree.
3. Comparisons with the planted truth of the synthetic base belong only to the demo: guard them
   with ``if ctx.truth is not None``. The ``report`` command runs the same sections on a
   user's data, where ``ctx.truth`` is None.
4. Files go into ``ctx.out_dir`` (portraits as ``portraits.jsonl``, one JSON document per line;
   models under ``models/``); register each in ``ctx.outputs`` (``ctx.outputs["portraits"] =
   path``) so that the summary at the end lists it. Hand results on through ``ctx.results``
   under a documented key (the table below), so that a later section reuses a fit instead of
   fitting again. Long loops use ``ctx.progress.iterate(items, "what")`` for a progress bar.
5. Add the function to ``SECTIONS`` in :mod:`b2bclient.cli._demo` (one line), where the order
   of the list is the order of the report.

The keys of ``ctx.results``, by the section that sets them (a section that cannot run on the data
leaves its keys out, so read them with ``ctx.results.get``):

=====================  ================  =========================================================
key                    set by            value
=====================  ================  =========================================================
``"segments"``         segments          Series of labels (``"segment 0"``, ...) indexed by
                                         ``organisation_id``; the churn curves, the forecast and
                                         the whitespace plot then group by segment instead of size
                                         band
``"segmenter"``        segments          the fitted :class:`~b2bclient.segment.Segmenter`
``"churn"``            churn             a ``ChurnResult``: the fitted pipeline
                                         (``bc.features.preprocessor()`` then a Cox
                                         ``ChurnModel``), its drivers, the survival frame at the
                                         landmark and its held-out rows
``"p_alive"``          buy-till-you-die  Series of P(alive) as of ``as_of`` by organisation
``"clv_12m"``          buy-till-you-die  Series of the 12-month discounted lifetime value
``"win_model"``        pipeline          :class:`~b2bclient.pipeline.WinModel` fitted as of
                                         ``as_of``
``"forecast"``         pipeline          :class:`~b2bclient.pipeline.Forecast` of the 90 days from
                                         ``as_of``
``"wallet_model"``     pipeline          :class:`~b2bclient.potential.WalletModel` fitted as of
                                         ``as_of``
``"cross_sell"``       cross-sell        :class:`~b2bclient.recommend.CrossSell` fitted as of
                                         ``as_of``
``"partner_matcher"``  partners          :class:`~b2bclient.recommend.PartnerMatcher` fitted as of
                                         ``as_of``
``"lifecycle"``        long projects     :class:`~b2bclient.lifecycle.LifecycleModel` fitted at
                                         the landmark (it also raises today's procurement alerts)
``"portraits"``        portraits         DataFrame of every organisation's portrait, one column
                                         per leaf (``"health.band"``), indexed by
                                         ``organisation_id``
=====================  ================  =========================================================

Personal data (contacts' names, e-mails, phones) never goes into a section. A section that fails
with a :class:`~b2bclient.B2BClientError` (a model that does not converge, a table that the
analysis needs but the data lack) does not stop the others: the runner puts the error in its place
in the report, names it in the summary and the command exits with status 3.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

import attrs
import pandas as pd

from b2bclient._exceptions import B2BClientError
from b2bclient.cli._html import Report, Section

__all__ = ["Context", "Printer", "Progress", "SectionFunction", "run_sections"]

T = TypeVar("T")


class Printer:
    """Prints sections, lines and tables to a terminal stream and adds them to a :class:`Report`.

    A closed pipe (``b2bclient report ... | head``) stops the printing quietly; the work and the
    files it writes go on.

    Examples
    --------
    >>> import io
    >>> out = Printer(io.StringIO(), Report("Demo"))
    >>> _ = out.section("Client base")
    >>> out.line("2 organisations")
    >>> out.report.sections[0].blocks[0].html
    '<p>2 organisations</p>'
    """

    def __init__(self, stream: TextIO, report: Report | None = None) -> None:
        self.stream = stream
        self.report = report if report is not None else Report("b2bclient")
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        self.closed = False
        self._current: Section | None = None
        # Set by Progress: clears the progress bars while a line is printed, then redraws them.
        self.pause: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext

    def write(self, text: str) -> None:
        """Print `text` and a newline, unless the reader has gone away."""
        if self.closed:
            return
        try:
            with self.pause():
                print(text, file=self.stream, flush=True)
        except BrokenPipeError:
            self.closed = True
            _silence(self.stream)

    @property
    def current(self) -> Section:
        """The section being written; one called "Notes" is started if there is none."""
        if self._current is None:
            self._current = self.report.section("Notes")
        return self._current

    def section(self, title: str) -> Section:
        """Start a section: a header with the elapsed and CPU time on the terminal, a report part.

        The CPU time (:func:`time.process_time`, every thread of the process) tells the work
        apart from waiting for a loaded machine.
        """
        elapsed = time.perf_counter() - self.started
        cpu = time.process_time() - self.cpu_started
        self.write(
            f"\n== {title} "
            + "=" * max(3, 72 - len(title))
            + f" [{elapsed:6.1f} s, cpu {cpu:6.1f} s]"
        )
        self._current = self.report.section(title)
        return self._current

    def line(self, text: str = "") -> None:
        """Print a line; in the report it is a paragraph (blank lines are only spacing)."""
        self.write(text)
        if text.strip():
            self.current.paragraph(text.strip())

    def note(self, text: str) -> None:
        """Print a caveat or a reading guide; in the report it is highlighted."""
        self.write(f"note: {text}")
        self.current.note(text)

    def error(self, text: str) -> None:
        """Print an error of this part of the analysis; in the report it is an error box."""
        self.write(f"error: {text}")
        self.current.error(text)

    def frame(
        self,
        df: pd.DataFrame | pd.Series,
        *,
        floatfmt: str = "{:,.3f}",
        caption: str | None = None,
        collapsed: bool = False,
        max_rows: int = 40,
    ) -> None:
        """Print a table (at most `max_rows` rows on the terminal); add it to the report.

        With `collapsed` the report shows it folded, for long reference tables.
        """
        table = df.to_frame() if isinstance(df, pd.Series) else df
        if caption:
            self.write(caption + ":")
        with pd.option_context(
            "display.width",
            120,
            "display.max_columns",
            20,
            "display.max_rows",
            max_rows,
            "display.float_format",
            floatfmt.format,
        ):
            self.write(table.to_string(max_rows=max_rows))
        self.current.table(table, caption=caption, floatfmt=floatfmt, collapsed=collapsed)

    def figure(self, fig: Any, *, caption: str) -> None:
        """Add a matplotlib figure or axes to the report (the terminal gets its caption)."""
        self.write(f"[figure] {caption}")
        self.current.figure(fig, caption=caption)


def _silence(stream: TextIO) -> None:
    """Point a closed standard output at /dev/null, so that the interpreter's last flush is quiet."""
    with contextlib.suppress(AttributeError, OSError, ValueError):
        if stream.fileno() == sys.stdout.fileno():
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)


class Progress:
    """Progress bars on standard error through tqdm (extra ``progress``); silent without it.

    Parameters
    ----------
    total : int
        Number of steps of the command.
    enabled : bool
        Show bars at all (the command turns them off when standard error is not a terminal).

    Examples
    --------
    >>> p = Progress(2, enabled=False)
    >>> with p.step("features"):
    ...     pass
    >>> list(p.iterate([1, 2], "portraits"))
    [1, 2]
    """

    def __init__(
        self, total: int, *, enabled: bool, desc: str = "b2bclient", printer: Printer | None = None
    ) -> None:
        self._tqdm: Any = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            self._tqdm = tqdm
        self._bar: Any = None
        if self._tqdm is not None:
            self._bar = self._tqdm(total=total, desc=desc, unit="step", leave=False)
            if printer is not None:
                stream = printer.stream
                printer.pause = lambda: self._tqdm.external_write_mode(file=stream)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Show `name` as the current step; count it done on exit."""
        if self._bar is not None:
            self._bar.set_postfix_str(name)
        try:
            yield
        finally:
            if self._bar is not None:
                self._bar.update(1)

    def iterate(self, items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
        """Iterate over `items` with a bar of its own."""
        if self._tqdm is None:
            yield from items
            return
        yield from self._tqdm(items, desc=desc, total=total, leave=False)

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@attrs.define(kw_only=True)
class Context:
    """Everything a section needs; see the module docstring for the section protocol.

    Parameters
    ----------
    base : ClientBase
        The client base (the full one: compute as of `as_of`, never later).
    features : pandas.DataFrame
        ``build_features(base, as_of=as_of)``.
    as_of : pandas.Timestamp
        The report's date: nothing at or after it is used.
    landmark : pandas.Timestamp
        Where models that need observed outcomes are fitted; outcomes are read in
        ``[landmark, as_of)``.
    out : Printer
        Terminal and report, together.
    progress : Progress
        Progress bars.
    out_dir : pathlib.Path
        The command's output directory (report, models, portraits).
    seed : int
        Seed for anything random (train/test splits).
    truth : SyntheticTruth or None
        The planted truth; only the demo has it.
    results : dict
        What a section hands on to the sections after it (every key is in the table of the
        module docstring).
    outputs : dict
        Files and directories the sections wrote, by name, for the summary.
    """

    base: Any
    features: pd.DataFrame
    as_of: pd.Timestamp
    landmark: pd.Timestamp
    out: Printer
    progress: Progress
    out_dir: Path
    seed: int = 0
    truth: Any = None
    results: dict[str, Any] = attrs.field(factory=dict)
    outputs: dict[str, Path] = attrs.field(factory=dict)
    _cache: dict[pd.Timestamp, pd.DataFrame] = attrs.field(factory=dict, alias="_cache")

    @property
    def report(self) -> Report:
        """The HTML report being built (also reachable as ``out.report``)."""
        return self.out.report

    def features_at(self, t: pd.Timestamp) -> pd.DataFrame:
        """Return the features as of `t` (at most `as_of`), built once and cached."""
        if t == self.as_of:
            return self.features
        if t > self.as_of:
            raise ValueError(f"features_at({t}) is after the report's as_of {self.as_of}")
        if t not in self._cache:
            from b2bclient.features import build_features

            self._cache[t] = build_features(self.base, as_of=t)
        return self._cache[t]


SectionFunction = Callable[[Context], None]


def run_sections(ctx: Context, sections: Sequence[SectionFunction]) -> list[str]:
    """Run every section in order; return the names of those that failed.

    A section that raises a :class:`~b2bclient.B2BClientError` gets the error written in its
    place in the report; the others still run. Any other exception is a bug and propagates.
    """
    failed: list[str] = []
    for function in sections:
        name = function.__name__.removesuffix("_section").replace("_", " ")
        started = len(ctx.report.sections)
        with ctx.progress.step(name), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                function(ctx)
            except B2BClientError as exc:
                failed.append(name)
                if len(ctx.report.sections) == started:  # it failed before its title
                    ctx.out.section(name.capitalize())
                ctx.out.error(f"The {name} analysis could not be run: {type(exc).__name__}: {exc}")
        _report_warnings(ctx, caught)
    return failed


def _report_warnings(ctx: Context, caught: Sequence[warnings.WarningMessage]) -> None:
    """Turn the warnings a section raised into notes of its part of the report, each once.

    Warnings addressed to the user (``UserWarning`` and its subclasses, such as a
    ``ConvergenceWarning``) become notes where they arose, instead of raw interpreter output on
    the terminal. Warnings addressed to developers (deprecations) are raised again unchanged.
    """
    seen: set[tuple[type[Warning], str]] = set()
    for w in caught:
        key = (w.category, str(w.message))
        if key in seen:
            continue
        seen.add(key)
        if issubclass(w.category, UserWarning):
            if not ctx.report.sections:
                ctx.out.section("Warnings")
            ctx.out.note(f"{w.category.__name__}: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
