def handle_echo(event) -> int:
    """Verification (C-ECHO, PS3.4 A.4): the service is up."""
    return 0x0000
