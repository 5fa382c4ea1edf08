"""Unified Procedure Step (PS3.4 Annex CC): workitems any system can push, claim and follow."""
