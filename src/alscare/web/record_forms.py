"""Edit forms for any part of the record v2, built from its schema, so that a correction can
change every field an entry has and loses none it does not touch.

:func:`form_for` turns a model of the record (an entry of a series, or the record itself for its
details) into a tree of controls: a date, number, text or choice per field, a fieldset per
nested part (``symptom_onset``, each region of an examination), a row per item of a list of
parts (``identity.identifiers``) and a box per id of a set (``risk_factors``). Controls are
named after the JSON pointer of their value with dots, as every form of the app
(``regions.cervical.weakness``), so the record's own problems land on their field. A form reads
the posted text back into record JSON (:meth:`Form.read`); only text that cannot be read as its
field's type fails there, every other check is the record schema's, on the whole record.
"""

from __future__ import annotations

import datetime as dt
import inspect
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Final, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from alscare.errors import Problem, RecordError
from alscare.presentation import Wording
from alscare.web.forms import TEST_UNIT_CHOICES
from alscare.web.record_words import field_label, value_label

__all__ = ["Control", "Form", "Group", "Widget", "form_for"]

_YES, _NO, _TICKED = "yes", "no", "on"
# The boxes that say a region was examined (studied) even when nothing was found in it.
_PRESENT: Final = "recorded"
_PRESENT_LABELS: Final = {"examinations": "examined", "emg_studies": "studied"}


class Widget(StrEnum):
    DATE = "date"
    NUMBER = "number"
    TEXT = "text"
    SELECT = "select"
    CHOICE = "choice"  # yes / no (/ not recorded)
    FLAG = "flag"  # a box: ticked is true, else not recorded
    CHECKS = "checks"  # one box per id of a set


@dataclass(frozen=True)
class Control:
    """One field of a form: its name (the dotted pointer), words and how it is entered."""

    name: str
    label: str
    widget: Widget
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    whole: bool = False
    max_length: int | None = None
    presence: bool = False  # the box that keeps its part even when nothing else is in it
    order: tuple[str, ...] = ()  # a set of ids: the order they were recorded in, kept
    is_group: bool = field(default=False, init=False)

    @property
    def key(self) -> str:
        return self.name.rpartition(".")[2]

    def text(self, value: Any) -> dict[str, str]:
        """The posted text that shows ``value`` in this control."""
        if value is None:
            return {}
        if self.widget is Widget.CHECKS:
            return {f"{self.name}.{item}": _TICKED for item in value}
        if self.widget is Widget.FLAG:
            return {self.name: _TICKED} if value else {}
        if self.widget is Widget.CHOICE:
            return {self.name: _YES if value else _NO}
        if isinstance(value, float):
            return {self.name: str(int(value)) if value.is_integer() else repr(value)}
        return {self.name: str(value)}

    def read(self, form: Mapping[str, str], problems: list[Problem]) -> Any:
        """The value the form holds for this control (None: not recorded)."""
        if self.widget is Widget.CHECKS:
            ticked = [value for value, _ in self.options if form.get(f"{self.name}.{value}")]
            kept = [value for value in self.order if value in ticked]
            return [*kept, *(value for value in ticked if value not in kept)] or None
        if self.widget is Widget.FLAG:
            return True if form.get(self.name) == _TICKED else None
        raw = form.get(self.name, "").strip()
        if not raw:
            return None
        try:
            return _READERS[self.widget](raw, self)
        except ValueError as error:
            problems.append(Problem(_pointer(self.name), str(error)))
            return None


@dataclass(frozen=True)
class Group:
    """A fieldset: a nested part of the record (an object), or a list of parts (``rows``)."""

    name: str
    label: str
    nodes: tuple[Control | Group, ...]
    rows: bool = False
    is_group: bool = field(default=True, init=False)

    @property
    def key(self) -> str:
        return self.name.rpartition(".")[2]

    def controls(self) -> Iterator[Control]:
        for node in self.nodes:
            yield from node.controls() if isinstance(node, Group) else (node,)

    def text(self, value: Any) -> dict[str, str]:
        texts: dict[str, str] = {}
        for node in self.nodes:
            if isinstance(node, Control) and node.presence:
                texts.update(node.text(isinstance(value, dict)))
            elif self.rows:
                index = int(node.key)
                texts.update(node.text(value[index] if value and index < len(value) else None))
            else:
                texts.update(node.text(value.get(node.key) if isinstance(value, dict) else None))
        return texts

    def read(self, form: Mapping[str, str], problems: list[Problem]) -> Any:
        if self.rows:
            items = [node.read(form, problems) for node in self.nodes]
            return [item for item in items if item is not None] or None
        present = False
        data: dict[str, Any] = {}
        for node in self.nodes:
            value = node.read(form, problems)
            if isinstance(node, Control) and node.presence:
                present = bool(value)
            elif value is not None:
                data[node.key] = value
        return data if data or present else None


@dataclass(frozen=True)
class Form:
    """The form of one part of the record: its controls, the text showing a value of the part,
    and the part read back from posted text."""

    group: Group

    @property
    def nodes(self) -> tuple[Control | Group, ...]:
        return self.group.nodes

    def labels(self) -> dict[str, str]:
        """Each control's words by its name (for the summary of a form's problems)."""
        return {control.name: control.label for control in self.group.controls()}

    def text(self, value: Mapping[str, Any]) -> dict[str, str]:
        return self.group.text(dict(value))

    def read(self, form: Mapping[str, str]) -> dict[str, Any]:
        """The part as record JSON; RecordError for text that cannot be read as its field's
        type (one problem per field, pointers relative to the part)."""
        problems: list[Problem] = []
        data = self.group.read(form, problems)
        if problems:
            raise RecordError(problems)
        return data if isinstance(data, dict) else {}


def form_for(
    model: type[BaseModel],
    value: Mapping[str, Any],
    *,
    part: str,
    words: Wording,
    fields: tuple[str, ...] | None = None,
) -> Form:
    """The form of ``model`` (``fields`` of it only, when given) showing ``value``; ``part``
    is the series or field it is in (it decides some words, such as "Drug" for a name)."""
    build = _Builder(part, words)
    wanted = fields if fields is not None else tuple(model.model_fields)
    nodes = tuple(build.node(model, key, key, value.get(key)) for key in wanted)
    return Form(Group("", part, nodes))


def _date(raw: str, control: Control) -> str:
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise ValueError("must be a date (YYYY-MM-DD)") from None


def _number(raw: str, control: Control) -> float | int:
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        raise ValueError("must be a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a number")
    if control.whole:
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


def _text(raw: str, control: Control) -> str:
    return raw


def _option(raw: str, control: Control) -> str:
    if raw not in {value for value, _ in control.options}:
        raise ValueError("choose one of the options")
    return raw


def _choice(raw: str, control: Control) -> bool:
    if raw not in (_YES, _NO):
        raise ValueError("choose yes, no or not recorded")
    return raw == _YES


_READERS: Final[Mapping[Widget, Callable[[str, Control], Any]]] = {
    Widget.DATE: _date,
    Widget.NUMBER: _number,
    Widget.TEXT: _text,
    Widget.SELECT: _option,
    Widget.CHOICE: _choice,
}


def _pointer(name: str) -> str:
    return "/" + name.replace(".", "/")


@dataclass(frozen=True)
class _Type:
    """A field's type without its ``| None`` and ``Annotated`` wrappers, and its bounds."""

    base: Any
    optional: bool
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None


def _type(annotation: Any, metadata: list[Any]) -> _Type:
    optional = False
    found = list(metadata)
    while True:
        origin = get_origin(annotation)
        if origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            optional = optional or len(members) < len(get_args(annotation))
            (annotation,) = members
        elif origin is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                found.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        else:
            break
    bounds = _Type(annotation, optional)
    for item in found:
        if isinstance(item, Ge | Gt):
            bounds = _replace(bounds, minimum=float(getattr(item, "ge", getattr(item, "gt", 0))))
        elif isinstance(item, Le | Lt):
            bounds = _replace(bounds, maximum=float(getattr(item, "le", getattr(item, "lt", 0))))
        elif isinstance(item, MaxLen):
            bounds = _replace(bounds, max_length=item.max_length)
    return bounds


def _replace(bounds: _Type, **changes: Any) -> _Type:
    return _Type(**{**bounds.__dict__, **changes})


class _Builder:
    """Builds the controls of a part of the record. Inside a nested part (``nested``) no
    field is required of the browser: a part left out (no death, no new number) holds none,
    and the record schema says what a part that is there needs."""

    def __init__(self, part: str, words: Wording, *, nested: bool = False) -> None:
        self.part = part
        self.words = words
        self.nested = nested

    def node(self, model: type[BaseModel], key: str, name: str, value: Any) -> Control | Group:
        info = model.model_fields[key]
        kind = _type(info.annotation, info.metadata)
        label = field_label(key, self.part)
        required = info.is_required() and not self.nested
        base, origin = kind.base, get_origin(kind.base)
        if origin is tuple:
            return self._list(name, label, get_args(base)[0], value)
        if origin is dict:
            return self._mapping(name, label, get_args(base), value)
        if inspect.isclass(base) and issubclass(base, BaseModel):
            return self.group(base, name, label, value)
        if base is bool and not required and info.default is False:
            return Control(name, label, Widget.FLAG)
        return self.control(name, label, kind, required=required)

    def control(self, name: str, label: str, kind: _Type, *, required: bool) -> Control:
        base = kind.base
        if base is dt.date:
            return Control(name, label, Widget.DATE, required)
        if base is bool:
            return Control(name, label, Widget.CHOICE, required)
        if base in (int, float):
            return Control(
                name,
                label,
                Widget.NUMBER,
                required,
                minimum=kind.minimum,
                maximum=kind.maximum,
                whole=base is int,
            )
        if inspect.isclass(base) and issubclass(base, StrEnum):
            return Control(name, label, Widget.SELECT, required, options=self._options(base))
        if base is str and name.endswith("unit"):
            units = tuple((unit, unit) for unit in TEST_UNIT_CHOICES)
            return Control(name, label, Widget.SELECT, required, options=units)
        if base is str:
            return Control(name, label, Widget.TEXT, required, max_length=kind.max_length)
        raise TypeError(f"no form control for {name}: {base!r}")  # a new kind of field

    def group(self, model: type[BaseModel], name: str, label: str, value: Any) -> Group:
        # Inside a field of the record's details its own words apply ("FTD in the family").
        inner = _Builder(self.part or name.partition(".")[0], self.words, nested=True)
        data = value if isinstance(value, dict) else {}
        nodes = tuple(
            inner.node(model, key, f"{name}.{key}", data.get(key)) for key in model.model_fields
        )
        return Group(name, label, nodes)

    def _list(self, name: str, label: str, item: Any, value: Any) -> Control | Group:
        """A set of ids as boxes; a list of parts as one row per part and one more, blank."""
        if inspect.isclass(item) and issubclass(item, StrEnum):
            order = tuple(value or ())
            return Control(name, label, Widget.CHECKS, options=self._options(item), order=order)
        count = len(value or ()) + 1
        rows = tuple(
            self.group(item, f"{name}.{index}", f"{label} {index + 1}", None)
            for index in range(count)
        )
        return Group(name, label, rows, rows=True)

    def _mapping(self, name: str, label: str, types_: tuple[Any, Any], value: Any) -> Group:
        """A part keyed by ids: the regions of an examination, the items of a rating."""
        keys, member = types_
        kind = _type(member, [])
        nodes: list[Control | Group] = []
        for key in keys:
            key_name, key_label = f"{name}.{key.value}", field_label(key.value, self.part)
            if inspect.isclass(kind.base) and issubclass(kind.base, BaseModel):
                region = self.group(kind.base, key_name, key_label, None)
                seen = _PRESENT_LABELS.get(self.part, "recorded")
                present = Control(
                    f"{key_name}.{_PRESENT}", seen.capitalize(), Widget.FLAG, presence=True
                )
                nodes.append(Group(key_name, key_label, (present, *region.nodes)))
            else:
                nodes.append(self.control(key_name, key_label, kind, required=False))
        return Group(name, label, tuple(nodes))

    def _options(self, enum: type[StrEnum]) -> tuple[tuple[str, str], ...]:
        return tuple((item.value, value_label(enum, item.value, self.words)) for item in enum)
