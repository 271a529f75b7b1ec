"""The topic page in the terminal: ``topic_document`` rendered with rich, as a clinician reads it.

Every item shows its label, the codes and regions that go with it, its note and the numbers of
the references it cites; the references follow at the end. Text from the knowledge base is never
read as rich markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from alscare.knowledge.document import (
    FINDING_KIND_TITLES,
    INVESTIGATION_TIER_TITLES,
    citation_marks,
    review_status,
)

__all__ = ["topic_page"]

Numbers = Mapping[str, int]
Item = Mapping[str, Any]

_INDICATION_NAMES: Final[Mapping[str, str]] = {
    "umn": "UMN",
    "lmn": "LMN",
    "bulbar": "bulbar",
    "respiratory": "respiratory",
    "cognitive": "cognitive",
    "mimic": "a mimic",
}


def topic_page(document: Mapping[str, Any]) -> RenderableType:
    """The whole rendered page for a topic document."""
    numbers = {ref["id"]: ref["number"] for ref in document["references"]}
    parts: list[RenderableType] = [_header(document)]
    for name, body in document["sections"].items():
        parts.append(Rule(Text(body["title"], style="bold"), align="left"))
        parts.extend(_SECTIONS[name](body, numbers))
    if document["references"]:
        parts.append(Rule(Text("References", style="bold"), align="left"))
        parts.append(_references(document["references"]))
    return Group(*parts)


def _header(document: Mapping[str, Any]) -> Panel:
    status_style = "bold red" if document["review_overdue"] else "dim"
    body = Text.assemble(
        (f"Knowledge version {document['knowledge_version']}", "bold"),
        f" · last reviewed {document['last_reviewed']} · last updated {document['last_updated']}\n",
        (review_status(document), status_style),
    )
    return Panel(body, title=Text(document["title"], style="bold"), title_align="left")


def _heading(title: str) -> Text:
    return Text(title, style="bold underline")


def _entry(label: str, item: Item, numbers: Numbers, *details: str) -> RenderableType:
    """A bulleted item: label, citation numbers and flags, then indented detail lines."""
    head = Text("• ")
    head.append(label, style="bold")
    marks = citation_marks(item["sources"], numbers)
    if marks:
        head.append(f" {marks}", style="cyan")
    if item.get("evidence"):
        head.append(f" evidence: {item['evidence']}", style="green")
    if item.get("verified") is False:
        head.append(" unverified", style="yellow")
    lines: list[RenderableType] = [head]
    lines.extend(Padding(Text(detail), (0, 0, 0, 2), expand=False) for detail in details if detail)
    return Group(*lines)


def _factors(body: Item, numbers: Numbers) -> Iterator[RenderableType]:
    for kind, title in FINDING_KIND_TITLES.items():
        yield _heading(title)
        for item in body["items"]:
            if item["kind"] == kind:
                yield _entry(item["label"], item, numbers, _finding_facts(item), item["note"])
        yield Text()


def _finding_facts(item: Item) -> str:
    facts = [item["id"]]
    if item["hpo"]:
        facts.append(f"{item['hpo']} {item['hpo_label']}")
    if item["region"]:
        facts.append(f"region {item['region']}")
    if item["indicates"]:
        facts.append("indicates " + ", ".join(_INDICATION_NAMES[v] for v in item["indicates"]))
    if item.get("suggests"):
        facts.append("think of " + ", ".join(item["suggests"]).replace("_", " "))
    return " · ".join(facts)


def _risk_factors(body: Item, numbers: Numbers) -> Iterator[RenderableType]:
    for item in body["items"]:
        effect = f"Effect size: {item['effect_size']}" if item["effect_size"] else ""
        yield _entry(item["label"], item, numbers, item["note"], effect)


def _investigations(body: Item, numbers: Numbers) -> Iterator[RenderableType]:
    for tier, title in INVESTIGATION_TIER_TITLES.items():
        items = [item for item in body["items"] if item["tier"] == tier]
        if not items:
            continue
        yield _heading(title)
        for item in items:
            addresses = ", ".join(item["addresses"]).replace("_", " ")
            yield _entry(
                item["label"],
                item,
                numbers,
                f"When: {item['when']}",
                f"Result in ALS: {item['als_result']}",
                f"Addresses: {addresses}" if addresses else "",
            )
        yield Text()


def _differentials(body: Item, numbers: Numbers) -> Iterator[RenderableType]:
    for item in body["items"]:
        tags = [
            tag for tag, on in (("seed", item["seed"]), ("ALS spectrum", item["spectrum"])) if on
        ]
        tests = [f"{test['investigation']}: {test['expected']}" for test in item["tests"]]
        yield _entry(
            item["label"] + (f" ({', '.join(tags)})" if tags else ""),
            item,
            numbers,
            "Features: " + "; ".join(item["features"]),
            *(f"Test {test}" for test in tests),
        )


def _treatment(body: Item, numbers: Numbers) -> Iterator[RenderableType]:
    for group in body["items"]:
        yield _heading(group["label"])
        for step in group["steps"]:
            yield _entry(step["label"], step, numbers, step["summary"])
        yield Text()
    if body["drugs"]:
        yield _heading("Drug availability by jurisdiction")
    for drug in body["drugs"]:
        yield Text(drug["label"], style="bold")
        for status in drug["status"]:
            label = f"{status['jurisdiction']}: {status['status'].replace('_', ' ')}"
            yield Padding(
                _entry(label, status, numbers, status["note"]), (0, 0, 0, 2), expand=False
            )


def _guidelines(body: Item, numbers: Numbers) -> Iterator[RenderableType]:
    for item in body["items"]:
        seed = " (seed topic)" if item["seed"] else ""
        label = f"{item['title']} — {item['issuer']}, {item['year']}{seed}"
        yield _entry(label, item, numbers, item["summary"])


def _sources(body: Item, numbers: Numbers) -> Iterator[RenderableType]:
    for item in body["items"]:
        yield Text.assemble((item["id"], "bold"), f" ({item['kind']}) ", _identifiers(item))


def _about(body: Item, numbers: Numbers) -> Iterator[RenderableType]:
    overview = body["overview"]
    yield _entry("Overview", overview, numbers, overview["summary"], overview["basis"])
    for title, key in (("Contributors", "contributors"), ("Peer reviewers", "peer_reviewers")):
        yield _heading(title)
        for person in body[key]:
            yield Text(f"• {person['name']}: {person['role']}. {person['disclosure']}")
        if not body[key]:
            yield Text("• None yet: the topic awaits external clinical peer review.")
    yield Text(body["disclaimer"], style="italic")


def _references(references: list[Item]) -> Table:
    """Numbered references with a hanging indent."""
    table = Table.grid(padding=(0, 1))
    table.add_column(justify="right", style="cyan")
    table.add_column()
    for ref in references:
        table.add_row(f"{ref['number']}.", Text(_identifiers(ref)))
    return table


def _identifiers(source: Item) -> str:
    parts = [source["citation"]]
    parts.extend(
        f"{prefix}{source[key]}"
        for key, prefix in (("doi", "doi:"), ("pmid", "PMID "))
        if source[key]
    )
    if source["url"]:
        parts.append(source["url"])
    return " ".join(parts)


_SECTIONS: Final[Mapping[str, Callable[[Item, Numbers], Iterator[RenderableType]]]] = {
    "factors": _factors,
    "risk-factors": _risk_factors,
    "investigations": _investigations,
    "differentials": _differentials,
    "treatment": _treatment,
    "guidelines": _guidelines,
    "sources": _sources,
    "about": _about,
}
