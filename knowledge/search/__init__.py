"""knowledge.search: the index and how it is searched. The two indexes, chromadb's dense vectors
and bm25s's words (`index`), exact top-n over the local vectors (`brute_force`), how the two
rankings combine (`fusion`), how much of a question a passage holds (`coverage`), a misspelt
word put right (`spelling`), a passage's own questions (`phrasings`), and the index version
hosts sharing a Chroma server follow (`versions`).
"""
