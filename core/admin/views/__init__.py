"""The dashboard's pages and their JSON twins: the handlers (`pages`; the staff, canned replies,
suggestions and actions pages in their own modules; the knowledge API a help centre pushes
articles to), and how results are rendered (`render`: Jinja2 pages and JSON; `charts`: SVG)."""
