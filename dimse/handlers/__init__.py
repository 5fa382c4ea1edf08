"""Thin adapters between pynetdicom events and the RIS domain."""
