"""Placeholder: replaced below."""


def routines_needed(source, defined):
    return []
