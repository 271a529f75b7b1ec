"""FHIR R4 (4.0.1, R4B accepted) import and export of the patient record and its assessment.

- ``codes.yaml`` / ``codes.py``: the one table of codes (LOINC, SNOMED CT, ICD-10, RxNorm and
  alscare's own code system) that both directions and the docs read;
- ``units.py``: UCUM units converted through pint;
- ``elements.py``: the FHIR datatypes both directions read and write (codings, quantities,
  extensions, dates);
- ``reference.py``: docs/fhir-codes.md, written from the code table;
- ``names.py``: alscare's own FHIR names (code system, extensions, the assessment tag);
- ``record_in.py``: resources (a Bundle, or Bulk Data NDJSON files) to a record v2, with one
  line per resource that could not be mapped;
- ``record_out.py``: a record v2 to resources;
- ``assessment_out.py``: an assessment to resources (stages, criteria, ENCALS, alerts,
  recommendations, Provenance);
- ``bundle.py``: the exported Bundle, record and assessment together.
"""
