"""Remote application entities: the DICOM peers the RIS talks to."""
