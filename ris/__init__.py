"""The RIS: scheduling and workflow for a radiology department."""
