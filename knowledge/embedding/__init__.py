"""knowledge.embedding: texts into vectors. The model, loaded offline (`embedder`), run on ONNX
Runtime where it can be (`onnx_encoder`), concurrent callers' texts encoded in one batch
(`batching`), a question's encode begun before its search asks for it (`prepared`), and the
vectors of questions searched lately, for whatever reads the same words next (`recent_vectors`).
"""
