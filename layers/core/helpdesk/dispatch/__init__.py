"""Dispatch use cases (one per work kind). The dispatcher handler routes parsed work messages here."""
