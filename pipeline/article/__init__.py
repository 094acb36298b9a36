"""The article: the house format described once (:mod:`pipeline.article.spec`) and the one
HTML sanitiser every published page goes through (:mod:`pipeline.article.sanitize`)."""
