"""Pure types and rules: no I/O, imports nothing from Headwater but ``errors``."""
