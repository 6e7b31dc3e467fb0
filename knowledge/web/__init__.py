"""knowledge.web: a help centre read from a website, politely and incrementally.

`crawl.crawl(source, known)` is the whole interface: `settings.SiteSource` says what to read,
`crawl.Seen` is what the caller keeps of each page between crawls, and `crawl.CrawlResult`
holds the pages as markdown. Inside, one module per job: `scope` (which URLs, spelled how),
`pacing` (the polite rate), `fetching` (one request), `robots` (robots.txt), `sitemaps`
(a sitemap's contents) and `listing` (reading them), `extraction` (a page's main content).
"""
