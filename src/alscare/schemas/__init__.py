"""Wire formats: the patient record v1, the assessment v1 and their controlled vocabulary."""
