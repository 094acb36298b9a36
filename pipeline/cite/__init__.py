"""Citations: numbering and support checks, claim checks, and reference formatting.

``check`` cleans and renumbers a draft's markers and scores each bullet's support; ``claims``
checks every other field and flags misattributed citations; ``references`` formats a source as an
AMA/Vancouver reference.
"""
