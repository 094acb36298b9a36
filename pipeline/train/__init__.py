"""``press train``: retrieval that learns from the project's own question -> evidence pairs.

Three kinds of model, all MiniLM fine-tuned on CPU: the question encoder alone, against
the index's fixed passage vectors (:mod:`pipeline.train.query_encoder`: nothing is
re-embedded); both sides as a bi-encoder (:mod:`pipeline.train.bi_encoder`: stronger, but
the corpus is re-embedded with it); and a cross-encoder reranker. The pieces:

* :mod:`pipeline.train.jobs` — what ``press train`` runs: checks the extra is installed,
  prepares the model folder and the data, trains, writes the manifest; no torch at import;
* :mod:`pipeline.train.data` — pairs from a question set or from the store's approved
  articles, the half split, the passage matrix; no torch;
* :mod:`pipeline.train.manifest` — the model folder under ``<home>/models/<name>/`` and its
  manifest; no torch (retrieval reads it);
* :mod:`pipeline.train.loop` — the one training loop (checkpoint, resume, time cap, best
  epoch, export) that every trainer runs;
* :mod:`pipeline.train.query_encoder` — the question encoder's model, loss and ONNX export
  (the encoder and export are shared with the bi-encoder);
* :mod:`pipeline.train.bi_encoder` — both towers: in-batch loss with mined hard negatives,
  the epoch chosen against a corpus sample (``press train --kind bi-encoder``, used through
  ``embeddings.model`` after ``press index rebuild``);
* :mod:`pipeline.train.candidates` and :mod:`pipeline.train.reranker` — the second kind
  (``press train --kind reranker``): a cross-encoder trained on the retriever's own top-k
  (gold passages against hard negatives), used by :mod:`pipeline.retrieve.rerank`.

Torch is an optional extra (``pip install torch==2.13.0 && pip install -e '.[train]'``):
only training needs it. A trained model runs on onnxruntime like the stock one, so
retrieval with a trained model set needs nothing beyond the core install.
"""
