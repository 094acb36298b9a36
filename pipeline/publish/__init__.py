"""Publishing approved articles as a static site, swapped in atomically.

``site`` renders the pages and feeds; ``rebuild`` is the one path (CLI, desk, builds) that
rebuilds the site from the store; ``follow_up_form`` is the pages' link to the review desk.
"""
