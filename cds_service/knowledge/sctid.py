"""SNOMED CT identifiers: is a code shaped like a real concept id?

An SCTID is 6 to 18 digits with no leading zero; its last digit is a Verhoeff check digit and the two
digits before it are the partition identifier (00 for an International concept, 10 for a concept in
a national extension such as the UK edition or dm+d; 01/11 and 02/12 are description and
relationship ids, never concepts). Source: SNOMED CT Technical Implementation Guide, "SCTID data
type", "Partition identifier" and "Check digit" (Verhoeff's dihedral algorithm). Ids that lost their
last digits in a spreadsheet (1007761000000100 for 1007761000000101) fail the check digit.
"""

from __future__ import annotations

# Verhoeff tables: multiplication in the dihedral group D5, the position permutation, the inverse.
_MULTIPLY = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_PERMUTE = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
CONCEPT_PARTITIONS = frozenset({"00", "10"})
MIN_DIGITS, MAX_DIGITS = 6, 18


def verhoeff_valid(digits: str) -> bool:
    """True when the last digit of `digits` is the Verhoeff check digit of the others."""
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _MULTIPLY[check][_PERMUTE[position % 8][int(digit)]]
    return check == 0


def concept_id_problem(code: str) -> str | None:
    """Why `code` cannot be a SNOMED CT concept id (length, digits, partition, check digit), or None."""
    if not code.isascii() or not code.isdigit():
        return "is not all digits"
    if code.startswith("0"):
        return "starts with 0"
    if not MIN_DIGITS <= len(code) <= MAX_DIGITS:
        return f"has {len(code)} digits (an SCTID has {MIN_DIGITS} to {MAX_DIGITS})"
    partition = code[-3:-1]
    if partition not in CONCEPT_PARTITIONS:
        return f"has partition {partition} (a concept id has 00 or 10)"
    if not verhoeff_valid(code):
        return "fails the SNOMED CT Verhoeff check digit"
    return None
