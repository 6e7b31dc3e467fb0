"""knowledge.ingest: files, pages and written answers into indexed chunks. One run
(`ingestor`) plans what changed (`plan`, with the files it finds in `files`, the website's pages
in `site_sync` and what each run manages in `origins`), cuts documents into passages
(`chunking`), and takes each one's public address (`addresses`) and language (`languages`).
Besides files: articles a help centre pushes (`pushed`) and what people write in the app
(`written`: approved staff answers, customers' wordings linked to a section).
"""
