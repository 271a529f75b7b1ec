"""The topic as a document: JSON-ready data for the CLI, the API and the topic browser, and its
markdown rendering.

``topic_document`` is the one projection of the knowledge base a reader sees: every item with its
id, label and sources, the editorial metadata (``last_reviewed``, ``last_updated``, and
``review_overdue`` on ``as_of``), and the references cited, numbered in order of first citation.
It is pure: the date comes from the caller; without one ``review_overdue`` is null.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from pydantic import BaseModel

from alscare.errors import NotFoundError
from alscare.knowledge.models import KnowledgeBase

__all__ = [
    "FINDING_KIND_TITLES",
    "INVESTIGATION_TIER_TITLES",
    "TOPIC_SCHEMA",
    "TOPIC_SECTIONS",
    "citation_marks",
    "review_status",
    "topic_document",
    "topic_markdown",
]

TOPIC_SCHEMA: Final = "alscare.topic/v1"

FINDING_KIND_TITLES: Final[Mapping[str, str]] = {
    "key": "Key diagnostic factors",
    "other": "Other diagnostic factors",
    "sign": "Further signs",
    "red_flag": "Red flags: features that point away from ALS",
}

INVESTIGATION_TIER_TITLES: Final[Mapping[str, str]] = {
    "first": "First investigations to order",
    "consider": "Investigations to consider",
    "additional": "Further investigations the differential calls for",
}

_INVESTIGATION_FIELDS = {
    "id",
    "label",
    "tier",
    "when",
    "als_result",
    "addresses",
    "sources",
    "evidence",
    "verified",
}
_DIFFERENTIAL_FIELDS = {
    "id",
    "label",
    "seed",
    "spectrum",
    "features",
    "tests",
    "sources",
    "evidence",
    "verified",
}
_STEP_FIELDS = {"id", "label", "summary", "sources", "evidence", "verified"}


def _dump(model: BaseModel, fields: set[str] | None = None) -> dict[str, Any]:
    return model.model_dump(mode="json", include=fields, by_alias=True)


def _factors(kb: KnowledgeBase) -> dict[str, Any]:
    return {"title": "Diagnostic factors", "items": [_dump(item) for item in kb.topic.findings]}


def _risk_factors(kb: KnowledgeBase) -> dict[str, Any]:
    return {"title": "Risk factors", "items": [_dump(item) for item in kb.topic.risk_factors]}


def _investigations(kb: KnowledgeBase) -> dict[str, Any]:
    items = [_dump(item, _INVESTIGATION_FIELDS) for item in kb.diagnosis.investigations]
    return {"title": "Investigations", "items": items}


def _differentials(kb: KnowledgeBase) -> dict[str, Any]:
    items = [_dump(item, _DIFFERENTIAL_FIELDS) for item in kb.diagnosis.differentials]
    return {"title": "Differentials", "items": items}


def _treatment(kb: KnowledgeBase) -> dict[str, Any]:
    groups = [
        {
            "id": group.id,
            "label": group.label,
            "steps": [_dump(step, _STEP_FIELDS) for step in group.steps],
        }
        for group in kb.treatment.groups
    ]
    drugs = [_dump(drug, {"id", "label", "names", "status"}) for drug in kb.treatment.drugs]
    return {"title": "Treatment algorithm", "items": groups, "drugs": drugs}


def _guidelines(kb: KnowledgeBase) -> dict[str, Any]:
    return {"title": "Guidelines", "items": [_dump(item) for item in kb.topic.guidelines]}


def _sources(kb: KnowledgeBase) -> dict[str, Any]:
    return {"title": "Sources", "items": [_dump(source) for source in kb.sources]}


def _about(kb: KnowledgeBase) -> dict[str, Any]:
    about = kb.about
    return {
        "title": "About this topic",
        "overview": _dump(kb.topic.overview),
        "contributors": [_dump(person) for person in about.contributors],
        "previous_contributors": [_dump(person) for person in about.previous_contributors],
        "peer_reviewers": [_dump(person) for person in about.peer_reviewers],
        "disclaimer": about.disclaimer,
    }


_BUILDERS: Final[Mapping[str, Callable[[KnowledgeBase], dict[str, Any]]]] = {
    "factors": _factors,
    "risk-factors": _risk_factors,
    "investigations": _investigations,
    "differentials": _differentials,
    "treatment": _treatment,
    "guidelines": _guidelines,
    "sources": _sources,
    "about": _about,
}

TOPIC_SECTIONS: Final[tuple[str, ...]] = tuple(_BUILDERS)


def topic_document(
    kb: KnowledgeBase, *, as_of: dt.date | None, section: str | None
) -> dict[str, Any]:
    """The whole topic, or one section of it, as JSON-ready data.

    ``review_overdue`` is computed on ``as_of`` (null without a date); an unknown section raises
    NotFoundError naming the sections there are.
    """
    if section is not None and section not in _BUILDERS:
        raise NotFoundError(
            f"no topic section {section!r}; the sections are {', '.join(TOPIC_SECTIONS)}"
        )
    names = TOPIC_SECTIONS if section is None else (section,)
    sections = {name: _BUILDERS[name](kb) for name in names}
    about = kb.about
    return {
        "schema": TOPIC_SCHEMA,
        "title": about.title,
        "knowledge_version": about.knowledge_version,
        "last_reviewed": about.last_reviewed.isoformat(),
        "last_updated": about.last_updated.isoformat(),
        "review_period_months": about.review_period_months,
        "review_due": about.review_due().isoformat(),
        "as_of": as_of.isoformat() if as_of is not None else None,
        "review_overdue": about.review_overdue(as_of) if as_of is not None else None,
        "sections": sections,
        "references": _references(kb, sections),
    }


def _cited_ids(node: object) -> Iterator[str]:
    """Source ids in every ``sources: [{id, where}]`` list inside ``node``, in document order."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "sources" and isinstance(value, list):
                yield from (ref["id"] for ref in value if isinstance(ref, dict) and "where" in ref)
            yield from _cited_ids(value)
    elif isinstance(node, list):
        for item in node:
            yield from _cited_ids(item)


def _references(kb: KnowledgeBase, sections: dict[str, Any]) -> list[dict[str, Any]]:
    """The sources the sections cite, in order of first citation, numbered from 1."""
    cited = list(dict.fromkeys(_cited_ids(sections)))
    return [{"number": n, **_dump(kb.source(source_id))} for n, source_id in enumerate(cited, 1)]


# --- markdown -------------------------------------------------------------------------------


def topic_markdown(kb: KnowledgeBase, *, as_of: dt.date | None, section: str | None) -> str:
    """The topic (or one section) as a markdown page with numbered references."""
    document = topic_document(kb, as_of=as_of, section=section)
    numbers = {ref["id"]: ref["number"] for ref in document["references"]}
    lines = [f"# {document['title']}", "", *_editorial_lines(document), ""]
    for name, body in document["sections"].items():
        lines.extend(_MARKDOWN_SECTIONS[name](body, numbers))
    if document["references"]:
        lines.extend(["## References", ""])
        lines.extend(f"{ref['number']}. {_reference_text(ref)}" for ref in document["references"])
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def review_status(document: Mapping[str, Any]) -> str:
    """One line on the review status, as the renderers show it."""
    overdue = document["review_overdue"]
    if overdue is None:
        return f"review due {document['review_due']} (give a date to check whether it is overdue)"
    if overdue:
        return f"REVIEW OVERDUE on {document['as_of']} (due {document['review_due']})"
    return f"review up to date on {document['as_of']} (next due {document['review_due']})"


def _editorial_lines(document: Mapping[str, Any]) -> list[str]:
    return [
        f"Knowledge version {document['knowledge_version']} · "
        f"last reviewed {document['last_reviewed']} · last updated {document['last_updated']}",
        "",
        f"*{review_status(document)}*",
    ]


def citation_marks(sources: list[dict[str, Any]], numbers: Mapping[str, int]) -> str:
    """Reference numbers for a list of source refs, e.g. ``[1, 4]``."""
    marks = sorted({numbers[ref["id"]] for ref in sources})
    return "[" + ", ".join(str(n) for n in marks) + "]" if marks else ""


def _reference_text(ref: Mapping[str, Any]) -> str:
    parts = [ref["citation"]]
    if ref.get("doi"):
        parts.append(f"doi:{ref['doi']}")
    if ref.get("pmid"):
        parts.append(f"PMID {ref['pmid']}")
    if ref.get("url") and not ref.get("doi") and not ref.get("pmid"):
        parts.append(f"<{ref['url']}>")
    return " ".join(parts)


def _flags(item: Mapping[str, Any]) -> str:
    flags = []
    if item.get("evidence"):
        flags.append(f"evidence: {item['evidence']}")
    if item.get("verified") is False:
        flags.append("unverified")
    return f" ({'; '.join(flags)})" if flags else ""


def _cited(item: Mapping[str, Any], numbers: Mapping[str, int]) -> str:
    return f"{_flags(item)} {citation_marks(item['sources'], numbers)}"


def _md_factors(body: Mapping[str, Any], numbers: Mapping[str, int]) -> list[str]:
    lines = [f"## {body['title']}", ""]
    for kind, title in FINDING_KIND_TITLES.items():
        items = [item for item in body["items"] if item["kind"] == kind]
        lines.extend([f"### {title}", ""])
        for item in items:
            facts = [f"`{item['id']}`"]
            if item["hpo"]:
                facts.append(f"{item['hpo']} {item['hpo_label']}")
            if item["region"]:
                facts.append(f"region: {item['region']}")
            if item["indicates"]:
                facts.append("indicates: " + ", ".join(item["indicates"]))
            lines.append(f"- **{item['label']}** ({'; '.join(facts)})")
            lines.append(f"  {item['note']}{_cited(item, numbers)}")
        lines.append("")
    return lines


def _md_risk_factors(body: Mapping[str, Any], numbers: Mapping[str, int]) -> list[str]:
    lines = [f"## {body['title']}", ""]
    for item in body["items"]:
        effect = f" Effect size: {item['effect_size']}." if item["effect_size"] else ""
        lines.append(f"- **{item['label']}** (`{item['id']}`)")
        lines.append(f"  {item['note']}{effect}{_cited(item, numbers)}")
    return [*lines, ""]


def _md_investigations(body: Mapping[str, Any], numbers: Mapping[str, int]) -> list[str]:
    lines = [f"## {body['title']}", ""]
    for tier, title in INVESTIGATION_TIER_TITLES.items():
        items = [item for item in body["items"] if item["tier"] == tier]
        if not items:
            continue
        lines.extend([f"### {title}", ""])
        for item in items:
            lines.append(f"- **{item['label']}** (`{item['id']}`){_cited(item, numbers)}")
            lines.append(f"  - When: {item['when']}")
            lines.append(f"  - Result in ALS: {item['als_result']}")
            if item["addresses"]:
                lines.append(f"  - Addresses: {', '.join(item['addresses'])}")
        lines.append("")
    return lines


def _md_differentials(body: Mapping[str, Any], numbers: Mapping[str, int]) -> list[str]:
    lines = [f"## {body['title']}", ""]
    for item in body["items"]:
        tags = [
            tag for tag, on in (("seed", item["seed"]), ("ALS spectrum", item["spectrum"])) if on
        ]
        tag_text = f" *{', '.join(tags)}*" if tags else ""
        lines.append(f"- **{item['label']}** (`{item['id']}`){tag_text}{_cited(item, numbers)}")
        lines.append(f"  - Features: {'; '.join(item['features'])}")
        for test in item["tests"]:
            lines.append(f"  - Test `{test['investigation']}`: {test['expected']}")
    return [*lines, ""]


def _md_treatment(body: Mapping[str, Any], numbers: Mapping[str, int]) -> list[str]:
    lines = [f"## {body['title']}", ""]
    for group in body["items"]:
        lines.extend([f"### {group['label']}", ""])
        for step in group["steps"]:
            lines.append(f"- **{step['label']}**: {step['summary']}{_cited(step, numbers)}")
        lines.append("")
    if body["drugs"]:
        lines.extend(["### Drug availability by jurisdiction", ""])
    for drug in body["drugs"]:
        lines.append(f"- **{drug['label']}** (`{drug['id']}`)")
        for status in drug["status"]:
            text = f"{status['jurisdiction']}: {status['status'].replace('_', ' ')}"
            lines.append(f"  - {text}. {status['note']}{_cited(status, numbers)}")
    return [*lines, ""]


def _md_guidelines(body: Mapping[str, Any], numbers: Mapping[str, int]) -> list[str]:
    lines = [f"## {body['title']}", ""]
    for item in body["items"]:
        seed = " *seed topic*" if item["seed"] else ""
        lines.append(f"- **{item['title']}** — {item['issuer']}, {item['year']}{seed}")
        lines.append(f"  {item['summary']}{_cited(item, numbers)}")
    return [*lines, ""]


def _md_sources(body: Mapping[str, Any], numbers: Mapping[str, int]) -> list[str]:
    lines = [f"## {body['title']}", ""]
    lines.extend(
        f"- `{item['id']}` ({item['kind']}): {_reference_text(item)}" for item in body["items"]
    )
    return [*lines, ""]


def _md_about(body: Mapping[str, Any], numbers: Mapping[str, int]) -> list[str]:
    overview = body["overview"]
    lines = [f"## {body['title']}", "", f"{overview['summary']}{_cited(overview, numbers)}", ""]
    lines.extend([overview["basis"], ""])
    for title, key in (
        ("Contributors", "contributors"),
        ("Previous contributors", "previous_contributors"),
        ("Peer reviewers", "peer_reviewers"),
    ):
        people = body[key]
        if not people and key == "previous_contributors":
            continue
        lines.extend([f"### {title}", ""])
        lines.extend(_person_line(person) for person in people)
        if not people:
            lines.append("- None yet: the topic awaits external clinical peer review.")
        lines.append("")
    return [*lines, f"*{body['disclaimer']}*", ""]


def _person_line(person: Mapping[str, Any]) -> str:
    affiliation = f", {person['affiliation']}" if person.get("affiliation") else ""
    return f"- **{person['name']}**{affiliation}: {person['role']}. {person['disclosure']}"


_MARKDOWN_SECTIONS: Final[
    Mapping[str, Callable[[Mapping[str, Any], Mapping[str, int]], list[str]]]
] = {
    "factors": _md_factors,
    "risk-factors": _md_risk_factors,
    "investigations": _md_investigations,
    "differentials": _md_differentials,
    "treatment": _md_treatment,
    "guidelines": _md_guidelines,
    "sources": _md_sources,
    "about": _md_about,
}
