"""The deploy rehearsal: the real deploy path against an AWS emulator on loopback (issue 14)."""
