"""``press train``: retrieval that learns from the project's own question -> evidence pairs.

What is trained is MiniLM's question encoder, against the index's fixed passage vectors
(:mod:`pipeline.train.query_encoder` explains why and how). The pieces:

* :mod:`pipeline.train.jobs` — what ``press train`` runs: checks the extra is installed,
  prepares the model folder and the data, trains, writes the manifest; no torch at import;
* :mod:`pipeline.train.data` — pairs from a question set or from the store's approved
  articles, the half split, the passage matrix; no torch;
* :mod:`pipeline.train.manifest` — the model folder under ``<home>/models/<name>/`` and its
  manifest; no torch (retrieval reads it);
* :mod:`pipeline.train.loop` — the one training loop (checkpoint, resume, time cap, best
  epoch, export) that both trainers run;
* :mod:`pipeline.train.query_encoder` — the question encoder's model, loss and ONNX export;
* :mod:`pipeline.train.candidates` and :mod:`pipeline.train.reranker` — the second kind
  (``press train --kind reranker``): a cross-encoder trained on the retriever's own top-k
  (gold passages against hard negatives), used by :mod:`pipeline.retrieve.rerank`.

Torch is an optional extra (``pip install torch==2.13.0 && pip install -e '.[train]'``):
only training needs it. A trained model runs on onnxruntime like the stock one, so
retrieval with ``retrieval.query_model`` set needs nothing beyond the core install.
"""
