"""One author-year citation style for the whole book (loaded through ``local_extensions``).

The text cites ``Nguyen et al. (2024a)`` and ``(Nguyen et al., 2024a)`` (sphinxcontrib-bibtex's
author-year referencing style with round brackets, registered here as ``book_author_year`` for
``bibtex_reference_style`` in _config.yml) and the bibliography lists the same paper under the label
``Nguyen et al. 2024a`` (the pybtex formatting style ``book_author_year`` registered here,
``bibtex_default_style``). Papers whose citations would read the same (same first author, same
"et al." or co-author, same year) get the suffixes a, b, c, ... in the order of their titles; the
suffix is written into the year itself when the .bib file is read, so the text, the bibliography and
the tooltips agree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
import re
import string

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle

SUFFIX_FIELD = "year"


def _last(person) -> str:
    """A person's last name as printed, without braces or LaTeX accents."""
    text = " ".join(person.prelast_names + person.last_names)
    return re.sub(r"\\[a-zA-Z]+\s*|[{}\\'\"`^~]", "", text)


def cited_authors(entry) -> str:
    """How the text names the entry's authors: ``A``, ``A and B`` or ``A et al.``."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    if not people:
        return re.sub(r"[{}]", "", entry.fields.get("title", entry.key))
    if len(people) == 1:
        return _last(people[0])
    if len(people) == 2:
        return f"{_last(people[0])} and {_last(people[1])}"
    return f"{_last(people[0])} et al."


def add_year_suffixes(data) -> dict:
    """Give entries cited alike the years 2024a, 2024b, ... (by title); return key -> new year."""
    groups = defaultdict(list)
    for key, entry in data.entries.items():
        year = entry.fields.get("year", "")
        if year and year[-1:].isdigit():
            groups[(cited_authors(entry), year)].append(entry)
    changed = {}
    for (_, year), entries in groups.items():
        if len(entries) < 2:
            continue
        entries.sort(key=lambda e: re.sub(r"[^a-z0-9 ]", "", e.fields.get("title", "").lower()))
        for letter, entry in zip(string.ascii_lowercase, entries):
            entry.fields[SUFFIX_FIELD] = year + letter
            changed[entry.key] = year + letter
    return changed


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels ``Bridle 1990``, ``Mao et al. 2023``, ``Nguyen et al. 2024a``."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield f"{cited_authors(entry)} {entry.fields.get('year', 'n.d.')}"


class AuthorYearSortingStyle(BaseSortingStyle):
    """By cited authors, then year (with its suffix), then title: the order of the labels."""

    def sorting_key(self, entry):
        return (cited_authors(entry).lower(), entry.fields.get("year", ""),
                entry.fields.get("title", "").lower())


class BookAuthorYearStyle(PlainStyle):
    """pybtex's plain entries, labelled and sorted author-year."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = AuthorYearSortingStyle


register_plugin("pybtex.style.formatting", "book_author_year", BookAuthorYearStyle, force=True)


def _round_brackets():
    from sphinxcontrib.bibtex.style.referencing import BracketStyle

    return BracketStyle(left="(", right=")")


def _register_reference_style() -> None:
    """``book_author_year`` for ``bibtex_reference_style``: sphinxcontrib-bibtex's author-year
    citations with round brackets, "Sao (2026)" and "(Sao, 2026)", as textbooks print them."""
    from sphinxcontrib.bibtex.plugin import register_plugin as register_bibtex_plugin
    from sphinxcontrib.bibtex.style.referencing import BracketStyle
    from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle

    @dataclass
    class RoundAuthorYearReferenceStyle(AuthorYearReferenceStyle):
        bracket_textual: BracketStyle = field(default_factory=_round_brackets)
        bracket_parenthetical: BracketStyle = field(default_factory=_round_brackets)
        bracket_author: BracketStyle = field(default_factory=_round_brackets)
        bracket_label: BracketStyle = field(default_factory=_round_brackets)
        bracket_year: BracketStyle = field(default_factory=_round_brackets)

    register_bibtex_plugin("sphinxcontrib.bibtex.style.referencing", "book_author_year",
                           RoundAuthorYearReferenceStyle, force=True)


_register_reference_style()


def _patch_bibtex_reader() -> None:
    """Add the year suffixes whenever sphinxcontrib-bibtex reads the .bib files."""
    from sphinxcontrib.bibtex import bibfile

    if getattr(bibfile.parse_bibdata, "_book_suffixes", False):
        return
    original = bibfile.parse_bibdata

    def parse_bibdata(*args, **kwargs):
        bibdata = original(*args, **kwargs)
        add_year_suffixes(bibdata.data)
        return bibdata

    parse_bibdata._book_suffixes = True
    bibfile.parse_bibdata = parse_bibdata


def setup(app):
    _patch_bibtex_reader()
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
