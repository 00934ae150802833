"""Figures of the study, one function per paper figure or table."""
