"""Adapters that connect alscare to electronic health records: FHIR R4 (``interop.fhir``),
CDS Hooks 2.0 (``interop.cds_hooks``) and the SMART on FHIR EHR launch (``interop.smart``).

They sit on top of the pure core like the CLI and the web app: a record comes in, the engine
assesses it, and what it concludes goes out. None of them re-implements a clinical rule.
"""
