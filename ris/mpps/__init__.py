"""Modality Performed Procedure Step (PS3.4 Annex F): what the modalities report doing."""
