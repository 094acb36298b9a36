"""Publishing approved articles as a static site, swapped in atomically.

* ``site`` — :func:`~pipeline.publish.site.build_site`, the build: check, render, swap in;
* ``entries`` — the entries checked (status, slug, reviewer, timestamps) and the site model;
* ``pages`` — the HTML pages (article pages, front page, page shell);
* ``feeds`` — the JSON export, the Atom feed and the sitemap;
* ``related`` — the Related Questions links between articles;
* ``rebuild`` — the one path (CLI, desk, builds) that rebuilds the site from the store;
* ``follow_up_form`` — the pages' link to the review desk.
"""
