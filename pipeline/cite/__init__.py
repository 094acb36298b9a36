"""Citations: inline markers, numbering and support checks, claim checks, misattribution,
and reference formatting.

``markers`` reads and removes inline ``[n]`` markers; ``check`` cleans and renumbers a draft's
citations and scores each bullet's support; ``claims`` checks every other field;
``attribution`` flags a bullet another retrieved source supports better; ``references``
formats a source as an AMA/Vancouver reference.
"""
