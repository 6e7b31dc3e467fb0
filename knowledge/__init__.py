"""knowledge: a library the app uses to index a help centre and search it.

It imports nothing of the app (core, handoff, channels). It is given its settings
(`knowledge.settings`), a data directory and a database session factory, and owns its tables
(`knowledge.tables`), which the app's one Alembic history creates. The app holds one
`knowledge.base.KnowledgeBase` and sees search results as `knowledge.hits.Hit`.
"""
