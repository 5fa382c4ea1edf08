"""UPS-RS (PS3.18 11): Unified Procedure Steps over HTTP, on the ris.ups services."""
