"""Drafting: question → evidence → Draft → citation check → Article.

``engine`` wires the stages (retrieve → draft → cite) into one run and saves each stage's
output; the drafter is the LLM path — ``chain`` (the drafting chain and its repair round),
``llm`` (the chat model provider), ``structured`` (structured-output modes and the house
format check), ``transport`` (streaming and deadlines) — or ``extractive``, the offline
drafter. ``local`` runs the llama.cpp lane (``local_serve`` its server process);
``prompts`` loads and renders the prompt files.
"""
