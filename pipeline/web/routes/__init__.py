"""The desk's routes, one module per area: sign-in, articles and the review actions, drafts."""
