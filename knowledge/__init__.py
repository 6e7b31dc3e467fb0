"""knowledge: a library the app uses to index a help centre and search it.

It imports nothing of the app (core, handoff, channels). It is given its settings
(`knowledge.settings`), a data directory and a database session factory, and owns its tables
(`knowledge.tables`, column types in `sql_types`), which the app's one Alembic history creates.
The app holds one `knowledge.base.KnowledgeBase` and sees search results as `knowledge.hits.Hit`.

Inside, by job:
    search/      the index and how it is searched (dense and lexical, fused, with coverage,
                 spelling, a passage's own questions, the shared index version)
    embedding/   texts into vectors: the offline model, ONNX Runtime, batching, encodes begun
                 early (prepared), recent vectors
    ingest/      files, website pages, pushed articles and written answers into indexed chunks
    conversion/  a file of another format (plain text, PDF, Word, slides, JSON…) as sections
    web/         a help centre read from a website
    asking       whether a sentence asks something (what a message is searched for)
    passages     a chunk's markdown as paragraphs, and as the sentences a hit is scored by
    evaluation   how well the index finds each question's expected document (`supporthub eval`)
    file_signatures, archive_limits  the checks ingest shares with customers' attachments
"""
