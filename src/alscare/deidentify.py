"""A record made fit to leave the clinic: who the patient is, taken out.

``identity`` (the name and the hospital numbers) is dropped. The birth date goes too, replaced by
the age in whole years on the record's first dated entry (``age_years`` with ``age_on``, as
record v2 holds the age of a patient whose birth date is not known). Why: an export keeps the
date of every entry, because the course is what it is for, and a full birth date beside those
dates is a strong key back to the person, while the engine needs only years of age (the age at
onset of the ENCALS model, the age risk factor); with the age on the first entry every age the
engine computes moves by less than a year. Keeping the birth year alone would not help: the
year and the visit dates give the age to the year anyway, and a made-up day and month would be
a false date in the record.

The record id stays, so that the clinic can tie an export back to its patients: an id must not
be a hospital number (those belong in ``identity``). The result is de-identified, not
anonymous: dated clinical data stays under the data-sharing agreement it is sent under.
"""

from __future__ import annotations

from alscare.engine.state import years_of_age
from alscare.schemas.patient import PatientRecord
from alscare.schemas.records import parse_record

__all__ = ["deidentified"]


def deidentified(record: PatientRecord) -> PatientRecord:
    """The record without its identity and with the birth date as an age on the first entry."""
    data = record.to_json_dict()
    data.pop("identity", None)
    birth = record.birth_date
    if birth is not None:
        del data["birth_date"]
        entries = [when for _, when in record.dated_entries()]
        if entries:
            first = min(entries)
            data["age_years"] = int(years_of_age(birth, first))
            data["age_on"] = first.isoformat()
    return parse_record(data)
